#!/usr/bin/env python3
"""Peak memory and wall time of `paravox analyze` on a long recording (default: 2 hours).

Builds an MP3 of the requested length in which the bundled demo clip (21 s of real
speech) recurs every ``--every`` seconds over quiet background noise, then runs
`paravox analyze` on it in a fresh process and reports peak RSS, wall time and the
number of segments found (one group per occurrence is expected).

    python benchmarks/long_input_memory.py                 # 2 h, speech every 5 min
    python benchmarks/long_input_memory.py --hours 0.25    # quick check
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build(path: Path, hours: float, every: float) -> int:
    """Write the long MP3 block by block (never the whole signal in memory); return occurrences."""
    import av
    import numpy as np

    from paravox.audio import load_audio

    speech = load_audio(ROOT / "samples" / "demo.flac").samples
    rate, total = 16000, int(hours * 3600 * 16000)
    rng = np.random.default_rng(0)
    occurrences = 0
    with av.open(str(path), "w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=rate, layout="mono")
        stream.bit_rate = 32000
        done = 0
        block = int(every * rate)
        while done < total:
            n = min(block, total - done)
            x = (rng.standard_normal(n) * 0.002).astype(np.float32)
            if n > len(speech) + rate:
                x[rate : rate + len(speech)] += speech
                occurrences += 1
            frame = av.AudioFrame.from_ndarray(x[None, :], format="flt", layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
            done += n
        for packet in stream.encode(None):
            container.mux(packet)
    return occurrences


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=float, default=2.0)
    ap.add_argument("--every", type=float, default=300.0, help="seconds between speech occurrences")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        audio = Path(tmp) / "long.mp3"
        t0 = time.perf_counter()
        occurrences = build(audio, args.hours, args.every)
        built = time.perf_counter() - t0
        out = Path(tmp) / "long.json"
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "paravox.cli.main", "analyze", str(audio), "-q", "-o", str(out),
             "--language", "en", "--threads", str(args.threads)],
            capture_output=True, text=True,
        )
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return 1
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        doc = json.loads(out.read_text())
    starts = [s["start"] for s in doc["segments"]]
    groups = sum(1 for i, s in enumerate(starts) if i == 0 or s - starts[i - 1] > args.every / 2)
    print(f"input: {args.hours:g} h MP3 ({audio.name}), speech every {args.every:g} s "
          f"({occurrences} occurrences of the 21 s demo clip), built in {built:.0f} s\n")
    print("| measure | value |")
    print("|---|---|")
    print(f"| duration analysed | {doc['duration'] / 3600:.2f} h |")
    print(f"| wall time | {wall:.0f} s |")
    print(f"| real-time factor | {wall / doc['duration']:.4f} |")
    print(f"| peak RSS | {peak_mb:.0f} MB |")
    print(f"| speech groups found / expected | {groups} / {occurrences} |")
    return 0 if peak_mb < 2048 else 1


if __name__ == "__main__":
    sys.exit(main())
