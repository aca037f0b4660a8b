#!/usr/bin/env python3
"""Where `paravox analyze`'s time goes (issue 23): cProfile of the analysis, model loaded first.

- ``--input 60`` (default): issue 23's 60-s input (the first 60 s of the real nvasr/dev clips
  joined, ``transcribe_speed.build_audio``), ``Analyzer.analyze`` with tags and emotion on;
- ``--input short``: the first ``--clips`` clips of ``short_clips_throughput.py --set choose``
  through ``Analyzer.analyze_many`` (packed, as ``paravox batch`` runs them), one thread, as a
  batch worker.

Prints the wall time and the seconds spent in each part: the language readings of the
regions (own frames and padded), the decodes (packed windows, runs or inputs alone), the
CTranslate2 encoder, the event models (the laughter model apart) and the emotion model.

    python benchmarks/experiments/profile_analyze.py --input 60
    python benchmarks/experiments/profile_analyze.py --input short --clips 50
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

PARTS = [  # (label, file suffix, function name): cumulative seconds
    ("language readings, all", "paravox/backends/speech_regions.py", "language_probs"),
    ("  of which padded to 30 s", "paravox/backends/whisper.py", "read_padded"),
    ("packed windows (decoded together)", "paravox/backends/whisper.py", "_decode_windows"),
    ("decodes alone (with the fallback)", "paravox/backends/whisper.py", "_decode"),
    ("CTranslate2 encoder (every call)", "faster_whisper/transcribe.py", "encode"),
    ("event models", "paravox/vocal_events/model.py", "find_events"),
    ("  of which the laughter model", "paravox/vocal_events/laughter.py", "events"),
    ("emotion: scored spans (segments and the whole input's parts)", "paravox/speech_emotion/recognizer.py", "spans"),
    ("emotion: whole input (its spans included)", "paravox/speech_emotion/recognizer.py", "file_emotion"),
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", choices=["60", "short"], default="60")
    ap.add_argument("--clips", type=int, default=50)
    args = ap.parse_args()

    from paravox.analyzer import Analyzer

    with tempfile.TemporaryDirectory() as tmp:
        if args.input == "60":
            from transcribe_speed import build_audio

            path = Path(tmp) / "speech.flac"
            seconds = build_audio(path, 60.0)
            analyzer = Analyzer()
            analyzer.analyze(str(path))  # models loaded, caches warm

            def work():
                analyzer.analyze(str(path))
        else:
            from short_clips_throughput import build_clips

            clips = build_clips("choose", None)[0][: args.clips]
            seconds = sum(c["duration"] for c in clips)
            analyzer = Analyzer(threads=1, pack=32)
            analyzer.analyze(clips[0]["audio"])

            def work():
                analyzer.analyze_many([(c["audio"], c["id"], None) for c in clips])

        profile = cProfile.Profile()
        t0 = time.perf_counter()
        profile.enable()
        work()
        profile.disable()
        wall = time.perf_counter() - t0
    stats = pstats.Stats(profile).stats
    print(f"{args.input} ({seconds:.1f} s of audio): {wall:.2f} s under the profiler")
    print("| part | seconds (cumulative) | calls |")
    print("|---|---:|---:|")
    for label, suffix, name in PARTS:
        hits = [(v[3], v[1]) for (f, _, fn), v in stats.items() if fn == name and f.endswith(suffix)]
        print(f"| {label} | {sum(h[0] for h in hits):.2f} | {sum(h[1] for h in hits)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
