#!/usr/bin/env python3
"""Throughput of `paravox batch` with 1 and 2 local workers, and memory per worker.

Runs the CLI (a fresh process each time, models loaded once per worker) on the first N
RAVDESS clips of ../shared/data/emotion/ravdess and prints one markdown table: wall time
(start-up included), clips per second, audio hours per hour, the speed-up over one worker,
and the RSS of the worker processes (sampled from /proc every 0.2 s): the peak, and the
workers' RSS level between 10 and 20% of the run against the level in its last tenth, which
shows whether memory grows over a long batch (``--clips 1000 --workers 2``). The level is the
median of the samples of each worker in the window (the largest worker's): a worker's RSS
rises by 50-150 MB while an item is analysed and falls back after it, so the maximum of a
window measures the biggest item in it, not growth; the peaks are in the "peak" column.

    python benchmarks/batch_throughput.py [--clips 40] [--workers 1 2] [--rounds 3] [-- extra batch flags]

With ``--rounds N`` the worker counts are run N times, alternating (1, 2, 1, 2, ...), and the
table gives the median round of each; every round's wall time is listed under it. Wall
times on a shared virtual machine move by tens of percent from run to run, so a single
round can mislead.

Each worker gets an equal share of the cores (--threads defaults to cores / workers), so one
worker alone uses every core. ``WxT`` runs W workers with T threads each instead: ``--workers
1x1 2`` compares two workers with one worker held to one core, which measures how the pool
scales apart from how well one worker uses a second core.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "emotion" / "ravdess"


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _rss_mb(pid: int) -> float:
    from paravox.testing.procfs import memory_mb

    return memory_mb(pid).get("VmRSS", 0.0)


def _config(text: str) -> tuple[int, int | None]:
    """``"2"`` -> (2, None): threads by default; ``"1x1"`` -> (1, 1)."""
    workers, _, threads = text.partition("x")
    try:
        return int(workers), (int(threads) if threads else None)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected W or WxT (workers x threads), got {text!r}") from None


def _label(config: tuple[int, int | None]) -> str:
    workers, threads = config
    return str(workers) if threads is None else f"{workers} ({threads} thread{'s' if threads > 1 else ''} each)"


def run(scp: Path, config: tuple[int, int | None], extra: list[str], out_dir: Path) -> dict:
    workers, threads = config
    out = out_dir / f"workers{workers}x{threads}.jsonl"
    out.unlink(missing_ok=True)  # a fresh job every round
    cmd = [sys.executable, "-m", "paravox.cli.main", "batch", str(scp), "-o", str(out), "-q", "--workers", str(workers), *extra]
    if threads is not None:
        cmd += ["--threads", str(threads)]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    peak: dict[int, float] = {}
    samples: list[tuple[float, int, float]] = []  # (seconds since start, worker pid, RSS)
    while proc.poll() is None:
        now = time.perf_counter() - started
        for pid in _children(proc.pid):
            size = _rss_mb(pid)
            if size:
                peak[pid] = max(peak.get(pid, 0.0), size)
                samples.append((now, pid, size))
        time.sleep(0.2)
    wall = time.perf_counter() - started

    def level(lo: float, hi: float) -> float:
        """The largest of the workers' median RSS over ``[lo, hi]`` of the run."""
        per_worker: dict[int, list[float]] = {}
        for t, pid, size in samples:
            if wall * lo <= t <= wall * hi:
                per_worker.setdefault(pid, []).append(size)
        return max((float(np.median(v)) for v in per_worker.values()), default=0.0)
    err = proc.stderr.read()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"paravox batch failed ({proc.returncode}):\n{err}")
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    ok = [r for r in rows if "error" not in r]
    audio = sum(r["duration"] for r in ok)
    return {
        "workers": _label(config),
        "clips": len(rows),
        "failed": len(rows) - len(ok),
        "wall_s": wall,
        "clips_per_s": len(rows) / wall,
        "audio_h_per_h": audio / wall,
        "peak_rss_mb_per_worker": max(peak.values()) if peak else 0.0,
        "rss_mb_early": level(0.1, 0.2),
        "rss_mb_late": level(0.9, 1.0),
    }


def main() -> int:
    argv = sys.argv[1:]
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=40, help="RAVDESS clips to analyse (default 40)")
    parser.add_argument("--workers", type=_config, nargs="+", default=["1", "2"],
                        help="worker counts to compare, W or WxT (T threads per worker) (default 1 2)")
    parser.add_argument("--rounds", type=int, default=1, help="times to run each worker count, alternating (default 1)")
    args = parser.parse_args(argv)
    manifest = DATA / "manifest.jsonl"
    if not manifest.exists():
        raise SystemExit(f"data pack not found: {manifest}")
    rows = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()][: args.clips]
    with tempfile.TemporaryDirectory() as tmp:
        scp = Path(tmp) / "wav.scp"
        scp.write_text("".join(f"{r['id']} {DATA / r['audio']}\n" for r in rows))
        args.workers = [_config(w) if isinstance(w, str) else w for w in args.workers]
        rounds: dict[tuple, list[dict]] = {w: [] for w in args.workers}
        for _ in range(max(1, args.rounds)):
            for w in args.workers:
                rounds[w].append(run(scp, w, extra, Path(tmp)))
    # The median round of each worker count (by wall time).
    results = [sorted(rounds[w], key=lambda r: r["wall_s"])[len(rounds[w]) // 2] for w in args.workers]
    base = results[0]["audio_h_per_h"]
    print(f"paravox batch on {len(rows)} RAVDESS clips, {os.cpu_count()} CPU cores"
          + (f", extra flags: {' '.join(extra)}" if extra else ""))
    print()
    print("| workers | wall s | clips/s | audio h per h | speed-up | peak RSS per worker "
          "| worker RSS level (median) at 10-20% of run | at 90-100% |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['workers']} | {r['wall_s']:.1f} | {r['clips_per_s']:.2f} | {r['audio_h_per_h']:.2f} "
              f"| {r['audio_h_per_h'] / base:.2f}x | {r['peak_rss_mb_per_worker']:.0f} MB "
              f"| {r['rss_mb_early']:.0f} MB | {r['rss_mb_late']:.0f} MB |")
    if args.rounds > 1:
        print()
        for w in args.workers:
            print(f"{_label(w)} worker(s), wall s per round: " + ", ".join(f"{r['wall_s']:.1f}" for r in rounds[w]))
    failed = sum(r["failed"] for r in results)
    if failed:
        print(f"\n{failed} clip(s) failed; see the error lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
