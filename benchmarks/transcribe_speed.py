#!/usr/bin/env python3
"""Wall time, real-time factor and peak memory of `paravox analyze` against plain faster-whisper.

Both run on the same audio in the same invocation, each in a fresh process (so peak RSS
is its own), with the same model files, int8, and the same thread count:

- ``faster-whisper (defaults)``: ``WhisperModel(...).transcribe(path)`` as in its README;
- ``faster-whisper (paravox settings)``: the same call with paravox's decoding settings
  (VAD, word timestamps, bounded temperature fallback), i.e. the cost of the model alone;
- ``paravox analyze``: the CLI, writing the JSON result (``--events none --emotion none``: the
  same job as faster-whisper's; what events and emotion add is measured by
  ``benchmarks/events_speed.py``).

The audio is real speech from ../shared/data/nvasr/dev (the real, non-synthetic clips)
joined with 0.5 s pauses into one file, about 2.5 minutes long.

    python benchmarks/transcribe_speed.py [--repeat 2] [--threads 2] [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"

_CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
mode, path, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
if mode.startswith("paravox"):
    from paravox.cli.main import main
    t1 = time.perf_counter()
    # The transcription job only, like faster-whisper's: events and emotion (on by default)
    # are measured apart, by benchmarks/events_speed.py. --one-language: the language detected
    # once per input, as faster-whisper does, instead of per speech region.
    # paravox-full: tags and emotion on, as users run it (issue 23's target for analyze).
    heads = [] if mode == "paravox-full" else ["--events", "none", "--emotion", "none"]
    code = main(["analyze", path, "-f", "json", "-q", "-o", sys.argv[4], "--threads", str(threads)] + heads
                + (["--one-language"] if mode == "paravox-one-language" else []))
    assert code == 0
    work = time.perf_counter() - t1
else:
    from faster_whisper import WhisperModel
    from paravox.encoder.files import ensure_whisper_base
    from paravox.options import TranscribeOptions
    import ctranslate2
    from paravox.backends.whisper import SAMPLING_SEED
    model = WhisperModel(str(ensure_whisper_base()), device="cpu", compute_type="int8", cpu_threads=threads)
    ctranslate2.set_random_seed(SAMPLING_SEED)  # as paravox does: the fallback samples the same way
    t1 = time.perf_counter()
    if mode == "fw-defaults":
        segments, info = model.transcribe(path)
    else:
        o = TranscribeOptions()
        segments, info = model.transcribe(
            path, beam_size=o.beam_size, temperature=list(o.temperature), word_timestamps=o.word_timestamps,
            vad_filter=o.vad, vad_parameters={"min_silence_duration_ms": o.vad_min_silence_ms, "threshold": o.vad_threshold},
            condition_on_previous_text=o.condition_on_previous_text)
    text = "".join(s.text for s in segments)
    work = time.perf_counter() - t1
total = time.perf_counter() - t0
print(json.dumps({"total": total, "work": work,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

MODES = [
    ("fw-defaults", "faster-whisper (defaults)"),
    ("fw-matched", "faster-whisper (paravox settings)"),
    ("paravox", "paravox analyze"),
    ("paravox-one-language", "paravox analyze --one-language"),
    ("paravox-full", "paravox analyze, tags and emotion on"),
]


def build_audio(out: Path, seconds: float | None = None) -> float:
    import av
    import numpy as np

    from paravox.audio import load_audio

    folder = DATA / "nvasr" / "dev"
    rows = [json.loads(l) for l in (folder / "manifest.jsonl").read_text().splitlines() if l.strip()]
    parts = []
    for r in rows:
        if not r.get("synthetic"):
            parts += [load_audio(folder / r["audio"]).samples, np.zeros(8000, np.float32)]
    audio = np.concatenate(parts)
    if seconds:
        audio = audio[: int(seconds * 16000)]
    pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
    with av.open(str(out), "w", format="flac") as c:
        s = c.add_stream("flac", rate=16000, layout="mono")
        frame = av.AudioFrame.from_ndarray(pcm[None, :], format="s16", layout="mono")
        frame.sample_rate = 16000
        for p in s.encode(frame):
            c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    return len(audio) / 16000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=2, help="runs per engine; the fastest is reported")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--seconds", type=float, default=None, help="cut the joined audio to this long (60: issue 23's clip)")
    args = ap.parse_args()
    if not DATA.exists():
        print(f"data pack not found at {DATA}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        audio = Path(tmp) / "speech.flac"
        seconds = build_audio(audio, args.seconds)
        results: dict[str, dict] = {}
        for _ in range(args.repeat):
            for mode, _label in MODES:
                proc = subprocess.run(
                    [sys.executable, "-c", _CHILD, mode, str(audio), str(args.threads), str(Path(tmp) / "out.json")],
                    capture_output=True, text=True,
                )
                if proc.returncode != 0:
                    print(proc.stderr, file=sys.stderr)
                    return 1
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                best = results.get(mode)
                if best is None or r["total"] < best["total"]:
                    results[mode] = r
    print(f"audio: {seconds:.1f} s of real speech (nvasr/dev real clips), {args.threads} threads, "
          f"best of {args.repeat}\n")
    print("| engine | wall incl. start-up (s) | transcription (s) | RTF | peak RSS (MB) |")
    print("|---|---|---|---|---|")
    for mode, label in MODES:
        r = results[mode]
        print(f"| {label} | {r['total']:.2f} | {r['work']:.2f} | {r['work'] / seconds:.3f} | {r['peak_rss_mb']:.0f} |")
    base = results["fw-matched"]["total"]
    print("\n(transcription: the transcribe call for faster-whisper; for paravox the whole CLI command, "
          "model loading and writing the JSON included)")
    print(f"\nparavox overhead over faster-whisper with the same settings: "
          f"{100 * (results['paravox']['total'] / base - 1):+.1f}% wall time")
    base = results["fw-defaults"]["total"]
    print(f"paravox against faster-whisper defaults: {100 * (results['paravox']['total'] / base - 1):+.1f}% wall time")
    print(f"paravox with tags and emotion against faster-whisper with the same settings: "
          f"{results['paravox-full']['total'] / results['fw-matched']['total']:.2f}x wall time, "
          f"{results['paravox-full']['work'] / results['fw-matched']['work']:.2f}x work time")
    print(f"paravox --one-language against faster-whisper with the same settings: "
          f"{100 * (results['paravox-one-language']['total'] / results['fw-matched']['total'] - 1):+.1f}% wall time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
