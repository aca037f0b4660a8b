#!/usr/bin/env python3
"""Where a batch worker's memory goes: peak (VmHWM) and final RSS of one process that analyses
the first ``--clips`` clips of the choose set of ``benchmarks/short_clips_throughput.py``, one
thread, in fresh processes for each configuration:

- the recogniser alone, then with the event models, with the emotion model, with both, inputs
  one by one (``Analyzer.analyze``);
- both heads, inputs packed (``Analyzer.analyze_many``) with 1 and with 4 windows per batch.

    python benchmarks/experiments/worker_memory.py [--clips 32]
"""

from __future__ import annotations

import argparse
import datetime
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_CHILD = r"""
import os, sys
sys.path.insert(0, sys.argv[1])
import paravox.backends.packing as packing
from paravox.analyzer import Analyzer
from short_clips_throughput import build_clips
n, events, emotion, mode = int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
clips, _ = build_clips("choose", max(n, 40))
clips = clips[:n]
a = Analyzer(threads=1, pack=32, events=None if events == "-" else events, emotion=None if emotion == "-" else emotion)
if mode == "one":
    for c in clips:
        a.analyze(c["audio"])
else:
    packing.PACK_BATCH = int(mode)
    a.analyze_many([(c["audio"], c["id"], None) for c in clips])
status = dict(l.split(":", 1) for l in open(f"/proc/{os.getpid()}/status"))
print(int(status["VmHWM"].split()[0]) // 1024, int(status["VmRSS"].split()[0]) // 1024)
"""

CONFIGS = [
    ("recogniser alone, one by one", "-", "-", "one"),
    ("+ event models, one by one", "paravox-events", "-", "one"),
    ("+ emotion model, one by one", "-", "paravox-emotion", "one"),
    ("both heads, one by one", "paravox-events", "paravox-emotion", "one"),
    ("both heads, packed, 1 window per batch", "paravox-events", "paravox-emotion", "1"),
    ("both heads, packed, 4 windows per batch", "paravox-events", "paravox-emotion", "4"),
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=32)
    args = ap.parse_args()
    print(f"{datetime.date.today()}, {args.clips} clips of the choose set, 1 thread\n")
    print("| configuration | peak RSS (MiB) | RSS at the end (MiB) |")
    print("|---|---:|---:|")
    for label, events, emotion, mode in CONFIGS:
        out = subprocess.run([sys.executable, "-c", _CHILD, str(ROOT / "benchmarks"), str(args.clips), events, emotion,
                              mode], capture_output=True, text=True, check=True)
        peak, end = out.stdout.split()[-2:]
        print(f"| {label} | {peak} | {end} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
