#!/usr/bin/env python3
"""What CTranslate2's spinning OpenMP threads cost the heads that run between its calls.

paravox sets ``OMP_WAIT_POLICY=PASSIVE`` when it is imported before ctranslate2 (see
``paravox/__init__.py``). This runs the same analysis (Whisper, tags and emotion, the first
``--clips`` clips of the choose set of ``benchmarks/short_clips_throughput.py``, one input at a
time) in fresh processes with ``ACTIVE`` (libgomp's spinning, the default without paravox) and
``PASSIVE``, alternating, and prints seconds per clip and the time inside the event detector's
NumPy convolutions.

    python benchmarks/experiments/omp_wait.py [--clips 24] [--rounds 2] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[3])
from paravox.analyzer import Analyzer
import paravox.vocal_events.model as model
from short_clips_throughput import build_clips
clips, _ = build_clips("choose", int(sys.argv[1]))
a = Analyzer(threads=int(sys.argv[2]))
a.analyze(clips[0]["audio"])
spent = [0.0]
conv = model._conv1d_same
def timed(*args, **kwargs):
    t = time.perf_counter(); out = conv(*args, **kwargs); spent[0] += time.perf_counter() - t; return out
model._conv1d_same = timed
t = time.perf_counter()
for c in clips:
    a.analyze(c["audio"])
print(json.dumps({"per_clip": (time.perf_counter() - t) / len(clips), "conv": spent[0] / len(clips)}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=24)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    runs: dict[str, list[dict]] = {"ACTIVE": [], "PASSIVE": []}
    for _ in range(args.rounds):
        for policy in runs:
            env = {**os.environ, "OMP_WAIT_POLICY": policy}
            out = subprocess.run([sys.executable, "-c", _CHILD, str(args.clips), str(args.threads), str(ROOT / "benchmarks")],
                                 env=env, capture_output=True, text=True, check=True)
            runs[policy].append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{args.clips} clips, {args.threads} threads, {args.rounds} rounds (alternating)\n")
    print("| OMP_WAIT_POLICY | s per clip (each round) | in the detector's convolutions, s per clip |")
    print("|---|---|---|")
    for policy, rs in runs.items():
        per_clip = ", ".join(f"{r['per_clip']:.3f}" for r in rs)
        conv = ", ".join(f"{r['conv']:.4f}" for r in rs)
        print(f"| {policy} | {per_clip} | {conv} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
