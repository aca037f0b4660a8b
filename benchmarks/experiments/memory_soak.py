#!/usr/bin/env python3
"""Where the service's memory goes: the upload clips of ``serve_load.py`` analysed in process.

``serve_load.py --uploads 800`` saw the server's RSS still rising about 2.5-5.7 MB/min after
20 minutes. This runs the same clips, in the same seeded order, through one
:class:`paravox.analyzer.Analyzer` (service defaults: events and emotion on) from THREADS
threads at once, as the service's pool does, and reads the process's RSS after every clip; so
a variant that changes one allocator setting can be compared on the same work without HTTP.

Variants (``--variant``, repeatable; each runs in its own child process so none inherits
another's heap):

* ``base``: the analyzer alone, nothing released by hand;
* ``trim``: glibc's ``malloc_trim(0)`` after every analysis (freed heap pages go back to the system);
* ``tracemalloc``: base with ``tracemalloc`` on, printing the Python allocations that grew most
  between the end of the first fifth and the end of the run (Python-level leaks show here;
  native ones do not);
* ``stream`` / ``stream-trim``: the streams' side instead of the uploads: each "clip" is one
  :class:`~paravox.streaming.StreamSession` fed one of ``serve_load.py``'s stream recordings
  (same seeded order) in 0.1-s frames with partials on, as fast as it goes, then finished
  (``done``), as the service's stream handler drives it; ``stream-trim`` adds the trim after
  each stream.

Printed per variant: RSS at start (after one warm-up clip), median by fifth, end, peak, and
the least-squares slope over the second half, in MB and MB per 100 clips (clips, not minutes:
the slope does not depend on the machine's speed).

    python benchmarks/experiments/memory_soak.py --clips 300 --variant base --variant trim
    python benchmarks/experiments/memory_soak.py --clips 60 --variant stream --variant stream-trim
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _slope(ys: list[float]) -> float | None:
    """Least-squares slope of the second half, per 100 clips."""
    half = ys[len(ys) // 2:]
    if len(half) < 10:
        return None
    x = np.arange(len(half), dtype=float)
    return float(np.polyfit(x, np.asarray(half, dtype=float), 1)[0] * 100.0)


def _stream(analyzer, samples: np.ndarray, name: str) -> None:
    from paravox.streaming.session import StreamSession

    session = StreamSession(analyzer, name=name)
    step = 1600  # 0.1 s, the load's frame
    for i in range(0, samples.size, step):
        session.feed(samples[i : i + step])
    session.finish()


def child(variant: str, n: int, threads: int, seed: int) -> dict:
    from serve_load import DATA, stream_recordings, upload_clips

    from paravox.analyzer import Analyzer
    from paravox.audio import load_audio
    from paravox.machine import release_freed_heap
    from paravox.options import AnalyzeOptions

    streams = variant.startswith("stream")
    clips = stream_recordings(DATA, seed) if streams else upload_clips(DATA, seed)
    audio = {c.path: load_audio(str(c.path)).samples for c in clips} if streams else {}
    trim = release_freed_heap if variant.endswith("trim") else None  # what `paravox serve` calls
    tm = None
    if variant == "tracemalloc":
        import tracemalloc as tm
        tm.start(12)
    analyzer = Analyzer(AnalyzeOptions())

    def work(clip) -> None:
        if streams:
            _stream(analyzer, audio[clip.path], clip.id)
        else:
            analyzer.analyze(str(clip.path))

    work(clips[0])
    start = _rss_mb()
    rss: list[float] = []
    lock = threading.Lock()
    snap = {}

    def one(i: int) -> None:
        work(clips[i % len(clips)])
        if trim is not None:
            trim()
        with lock:
            rss.append(_rss_mb())
            if tm is not None and len(rss) == n // 5:
                snap["first"] = tm.take_snapshot()

    t0 = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(n)))
    out = {"variant": variant, "clips": n, "threads": threads, "seconds": round(time.monotonic() - t0, 1),
           "start_mb": round(start, 1), "end_mb": round(rss[-1], 1), "peak_mb": round(max(rss), 1),
           "fifths_mb": [round(float(np.median(p)), 1) for p in np.array_split(rss, 5)],
           "slope_mb_per_100_clips": None if _slope(rss) is None else round(_slope(rss), 2)}
    if tm is not None and "first" in snap:
        last = tm.take_snapshot()
        stats = last.compare_to(snap["first"], "traceback")[:8]
        out["python_growth"] = [{"kb": round(s.size_diff / 1024, 1), "count": s.count_diff,
                                 "where": [f"{f.filename}:{f.lineno}" for f in s.traceback[-4:]]} for s in stats]
        out["python_traced_mb"] = round(tm.get_traced_memory()[0] / 2**20, 1)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=300, help="analyses per variant (default 300)")
    ap.add_argument("--threads", type=int, default=2, help="analyses at once (default 2, the service's default)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--variant", action="append", choices=["base", "trim", "tracemalloc", "stream", "stream-trim"])
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help="append one JSON line per variant here")
    a = ap.parse_args(argv)
    if a.child:
        print(json.dumps(child(a.child, a.clips, a.threads, a.seed)), flush=True)
        return 0
    for variant in a.variant or ["base"]:
        proc = subprocess.run([sys.executable, __file__, "--child", variant, "--clips", str(a.clips),
                               "--threads", str(a.threads), "--seed", str(a.seed)],
                              capture_output=True, text=True, env=dict(os.environ))
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
            return 1
        line = proc.stdout.strip().splitlines()[-1]
        print(line, flush=True)
        if a.out:
            with a.out.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
