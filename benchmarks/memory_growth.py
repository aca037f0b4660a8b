#!/usr/bin/env python3
"""Does a batch worker's memory grow item after item? One process, the batch worker's per-item function.

Loads the pipeline once, as a ``paravox batch`` worker does (:class:`paravox.batch.item.ItemAnalyzer`
built from the same :class:`~paravox.batch.item.WorkerSpec`, ``threads`` = 1 as each of two
workers gets on a 2-core machine), runs it over the first N RAVDESS clips of
../shared/data/emotion/ravdess and, every ``--every`` items, prints the process's RSS
(``VmRSS`` of /proc/self/status; ``RssAnon`` beside it), glibc's heap figures (``mallinfo2``:
bytes in use and bytes free but held) and the mean seconds per item since the last line.
The final markdown table compares the RSS after item 50 with the RSS at the end.

    python benchmarks/memory_growth.py [--clips 600] [--threads 1] [--malloc-trim] [--tracemalloc]
    MALLOC_ARENA_MAX=2 python benchmarks/memory_growth.py      # glibc reads it at process start
    MKL_DISABLE_FAST_MM=1 python benchmarks/memory_growth.py   # MKL's buffer cache (CTranslate2 allocates through MKL)

``--malloc-trim`` calls glibc's ``malloc_trim(0)`` after every item; ``--tracemalloc`` traces
Python allocations and prints, at each line, the sites that grew most since item 50
(tracing slows Python and costs memory of its own: compare its RSS only with another traced run).

``--variants baseline malloc-trim arena-max-2 ...`` runs each variant in a fresh
process of its own (``--parallel 2``: two at a time, as two batch workers share the machine)
and prints one table for all of them; the per-item log of each goes to stderr.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "emotion" / "ravdess"
BASE_ITEM = 50  #: growth is measured from the RSS after this item (models loaded, sessions built, warm)

#: variant name -> (extra flags, extra environment)
VARIANTS = {
    "baseline": ([], {}),
    "malloc-trim": (["--malloc-trim"], {}),
    "arena-max-2": ([], {"MALLOC_ARENA_MAX": "2"}),
    #: CTranslate2's CPU build allocates through MKL (mkl_malloc), whose fast memory manager keeps freed buffers
    "mkl-no-fast-mm": ([], {"MKL_DISABLE_FAST_MM": "1"}),
}


def proc_status() -> dict[str, float]:
    """``VmRSS``, ``RssAnon``, ``RssFile`` of this process in MB."""
    from paravox.testing.procfs import memory_mb

    return memory_mb("self", ("VmRSS", "RssAnon", "RssFile"))


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


def _libc():
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


LIBC = _libc()


def heap_mb() -> tuple[float, float, float] | None:
    """glibc ``mallinfo2``: (in use, free but held, mmapped) in MB, over all arenas; None without it."""
    fn = getattr(LIBC, "mallinfo2", None)
    if fn is None:
        return None
    fn.restype = _MallInfo2
    info = fn()
    return info.uordblks / 2**20, info.fordblks / 2**20, info.hblkhd / 2**20


def variant_name(args) -> str:
    parts = []
    if args.malloc_trim:
        parts.append("malloc-trim")
    if os.environ.get("MALLOC_ARENA_MAX"):
        parts.append(f"arena-max-{os.environ['MALLOC_ARENA_MAX']}")
    if os.environ.get("MKL_DISABLE_FAST_MM"):
        parts.append("mkl-no-fast-mm")
    if args.tracemalloc:
        parts.append("tracemalloc")
    return "+".join(parts) or "baseline"


def load_clips(n: int) -> list[tuple[str, str]]:
    manifest = DATA / "manifest.jsonl"
    if not manifest.exists():
        raise SystemExit(f"data pack not found: {manifest}")
    rows = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()][:n]
    return [(r["id"], str(DATA / r["audio"])) for r in rows]


def measure(args) -> dict:
    """One variant in this process; returns its row of the table."""
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # as local._worker_main sets it
    if args.tracemalloc:
        import tracemalloc

        tracemalloc.start(args.frames)
    from paravox.batch.item import ItemAnalyzer, WorkerSpec
    from paravox.machine import release_freed_heap
    from paravox.options import AnalyzeOptions

    trim = release_freed_heap if args.malloc_trim else None
    if trim is not None and not trim():
        raise SystemExit("--malloc-trim needs glibc")
    name = variant_name(args)
    clips = load_clips(args.clips)
    log = sys.stderr if args.json_out else sys.stdout
    spec = WorkerSpec(options=AnalyzeOptions().with_overrides(threads=args.threads).to_dict())
    started = time.perf_counter()
    analyze = ItemAnalyzer(spec)
    print(f"[{name}] models loaded in {time.perf_counter() - started:.1f} s, RSS {proc_status()['VmRSS']:.0f} MB, "
          f"MALLOC_ARENA_MAX={os.environ.get('MALLOC_ARENA_MAX', '(unset)')}", file=log, flush=True)
    points: list[dict] = []
    times: list[float] = []
    failed = 0
    snapshot0 = None
    for index, (key, source) in enumerate(clips, start=1):
        t0 = time.perf_counter()
        result = analyze(key, source)
        if trim is not None:
            trim()
        times.append(time.perf_counter() - t0)
        failed += not result.ok
        del result
        if index % args.every == 0 or index == len(clips):
            status = proc_status()
            heap = heap_mb()
            window = times[-args.every:]
            point = {"item": index, "rss": status["VmRSS"], "anon": status["RssAnon"],
                     "s_per_item": sum(window) / len(window)}
            if heap:
                point.update(heap_used=heap[0], heap_free=heap[1], heap_mmap=heap[2])
            points.append(point)
            line = (f"[{name}] item {index:4d}  RSS {point['rss']:7.1f} MB  anon {point['anon']:7.1f} MB"
                    f"  {point['s_per_item']:.3f} s/item")
            if heap:
                line += f"  malloc in use {heap[0]:6.1f} MB, free held {heap[1]:6.1f} MB, mmapped {heap[2]:6.1f} MB"
            print(line, file=log, flush=True)
            if args.tracemalloc:
                import linecache
                import tracemalloc

                snapshot = tracemalloc.take_snapshot().filter_traces(
                    [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, linecache.__file__)])
                traced = tracemalloc.get_traced_memory()[0] / 2**20
                if index <= BASE_ITEM or snapshot0 is None:
                    snapshot0, snapshot0_item = snapshot, index
                    print(f"[{name}]   traced Python memory {traced:.1f} MB (reference snapshot)", file=log, flush=True)
                else:
                    stats = snapshot.compare_to(snapshot0, "traceback" if args.frames > 1 else "lineno")
                    print(f"[{name}]   traced Python memory {traced:.1f} MB; top growth since item "
                          f"{snapshot0_item}:", file=log, flush=True)
                    for stat in stats[: args.top]:
                        where = stat.traceback.format()[-1].strip() if args.frames == 1 else " <- ".join(
                            f.strip() for f in stat.traceback.format() if f.strip().startswith("File"))
                        print(f"[{name}]     {stat.size_diff / 1024:+9.1f} KiB  {stat.count_diff:+6d} blocks  {where}",
                              file=log, flush=True)
    base = next((p for p in points if p["item"] >= BASE_ITEM), points[0])
    end = points[-1]
    mid = min(points, key=lambda p: abs(p["item"] - (base["item"] + end["item"]) / 2))
    steady = times[BASE_ITEM:] or times
    row = {
        "variant": name,
        "items": len(clips),
        "failed": failed,
        "base_item": base["item"],
        "rss_base": base["rss"],
        "rss_mid": mid["rss"],
        "mid_item": mid["item"],
        "rss_end": end["rss"],
        "rss_peak": max(p["rss"] for p in points),
        "growth_mb": end["rss"] - base["rss"],
        "growth_first_half_mb": mid["rss"] - base["rss"],
        "growth_second_half_mb": end["rss"] - mid["rss"],
        "per_item_kb": (end["rss"] - base["rss"]) * 1024 / max(1, end["item"] - base["item"]),
        "s_per_item": sum(steady) / len(steady),
        "points": points,
    }
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(row))
    return row


def print_table(rows: list[dict], threads: int) -> None:
    print()
    print(f"memory of one batch worker over the first {rows[0]['items']} RAVDESS clips "
          f"(threads={threads}, {os.cpu_count()} CPU cores; RSS sampled every item multiple of the log interval)")
    print()
    print("| variant | RSS after item 50 | RSS at end | peak | growth MB | 1st half / 2nd half MB "
          "| per-item growth KB | s per item (items 51-end) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['variant']} | {r['rss_base']:.0f} MB | {r['rss_end']:.0f} MB | {r['rss_peak']:.0f} MB "
              f"| {r['growth_mb']:+.1f} | {r['growth_first_half_mb']:+.1f} / {r['growth_second_half_mb']:+.1f} "
              f"| {r['per_item_kb']:+.1f} | {r['s_per_item']:.3f} |")
    if any(r["failed"] for r in rows):
        print("\nfailed items: " + ", ".join(f"{r['variant']} {r['failed']}" for r in rows))


def run_variants(args) -> list[dict]:
    """Each variant in a fresh process (so MALLOC_ARENA_MAX takes effect), ``--parallel`` at a time."""
    import tempfile

    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variant(s) {unknown}; known: {', '.join(VARIANTS)}")
    rows: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        queue = list(args.variants)
        running: list[tuple[str, subprocess.Popen, Path]] = []
        while queue or running:
            while queue and len(running) < args.parallel:
                variant = queue.pop(0)
                flags, env = VARIANTS[variant]
                out = Path(tmp) / f"{variant}.json"
                cmd = [sys.executable, __file__, "--clips", str(args.clips), "--every", str(args.every),
                       "--threads", str(args.threads), "--json-out", str(out), *flags]
                environ = {k: v for k, v in os.environ.items() if k not in ("MALLOC_ARENA_MAX", "MKL_DISABLE_FAST_MM")}
                running.append((variant, subprocess.Popen(cmd, env={**environ, **env}), out))
            time.sleep(1)
            for entry in list(running):
                variant, proc, out = entry
                if proc.poll() is not None:
                    running.remove(entry)
                    if proc.returncode != 0:
                        raise SystemExit(f"variant {variant} failed (exit {proc.returncode})")
                    rows[variant] = json.loads(out.read_text())
    return [rows[v] for v in args.variants]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=600, help="RAVDESS clips to analyse (default 600)")
    parser.add_argument("--every", type=int, default=50, help="log every this many items (default 50)")
    parser.add_argument("--threads", type=int, default=1,
                        help="model threads, as a batch worker gets them (default 1: 2 workers on 2 cores)")
    parser.add_argument("--malloc-trim", action="store_true", help="glibc malloc_trim(0) after every item")
    parser.add_argument("--tracemalloc", action="store_true", help="print the Python allocation sites that grew")
    parser.add_argument("--frames", type=int, default=1, help="traceback frames per tracemalloc site (default 1)")
    parser.add_argument("--top", type=int, default=8, help="tracemalloc sites to print (default 8)")
    parser.add_argument("--variants", nargs="+", metavar="NAME",
                        help=f"run these variants, each in its own process: {', '.join(VARIANTS)}")
    parser.add_argument("--parallel", type=int, default=1, help="with --variants: processes at a time (default 1)")
    parser.add_argument("--json-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.every < 1 or args.clips < 1:
        parser.error("--clips and --every must be >= 1")
    rows = run_variants(args) if args.variants else [measure(args)]
    if not args.json_out:
        print_table(rows, args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
