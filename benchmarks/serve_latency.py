#!/usr/bin/env python3
"""Latency of `paravox serve` under concurrent load, on loopback, with the real models.

Starts `paravox serve` in a child process, sends REQUESTS uploads of a 10 s clip (the
first 10 s of samples/demo.flac) with CONCURRENCY clients at once to POST /v1/analyze,
and prints a markdown table: status counts and latency percentiles per request, then the
server's peak RSS.

    python benchmarks/serve_latency.py                       # 4 concurrent, 40 requests
    python benchmarks/serve_latency.py --concurrency 8 --requests 200 --queue 8
    python benchmarks/serve_latency.py --events none         # without the event model

Extra arguments after `--` go to `paravox serve` unchanged.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from serve_helpers import serve_in_subprocess  # noqa: E402

from paravox.audio import load_audio  # noqa: E402
from paravox.testing import wav_bytes  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--concurrency", type=int, default=4, help="clients sending at once (default 4)")
    ap.add_argument("--requests", type=int, default=40, help="requests in all (default 40)")
    ap.add_argument("--seconds", type=float, default=10.0, help="clip length in seconds (default 10)")
    ap.add_argument("--threads", type=int, default=None, help="the server's --threads (default: its default)")
    ap.add_argument("--server-concurrency", type=int, default=None, help="the server's --concurrency (default: its default)")
    ap.add_argument("--queue", type=int, default=8, help="the server's --queue (default 8)")
    ap.add_argument("--events", default=None, help="the server's --events (default: its default)")
    ap.add_argument("serve_args", nargs="*", help="more `paravox serve` arguments (after --)")
    args = ap.parse_args()

    clip = wav_bytes(load_audio(ROOT / "samples" / "demo.flac").samples[: int(args.seconds * 16000)])
    serve = ["--queue", str(args.queue)]
    if args.threads is not None:
        serve += ["--threads", str(args.threads)]
    if args.server_concurrency is not None:
        serve += ["--concurrency", str(args.server_concurrency)]
    if args.events:
        serve += ["--events", args.events]
    serve += args.serve_args
    with tempfile.TemporaryDirectory() as tmp, serve_in_subprocess(*serve, log=Path(tmp) / "serve.log") as (url, proc):
        with httpx.Client(base_url=url, timeout=600) as c:  # warm-up, not counted
            c.post("/v1/analyze", files={"file": ("clip.wav", clip)}).raise_for_status()

        per_client = [args.requests // args.concurrency + (i < args.requests % args.concurrency) for i in range(args.concurrency)]

        def run(n: int) -> list[tuple[int, float]]:
            out = []
            with httpx.Client(base_url=url, timeout=600) as c:
                for _ in range(n):
                    t0 = time.perf_counter()
                    r = c.post("/v1/analyze", files={"file": ("clip.wav", clip)})
                    out.append((r.status_code, time.perf_counter() - t0))
            return out

        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as ex:
            results = [x for batch in ex.map(run, per_client) for x in batch]
        wall = time.perf_counter() - t0
        peak_mb = _peak_rss_mb(proc.pid)

    codes = [c for c, _ in results]
    lat = np.array([s for c, s in results if c == 200])
    pct = (lambda q: f"{np.percentile(lat, q):.2f}") if len(lat) else (lambda q: "-")
    given = " ".join(serve) or "defaults"
    print(f"paravox serve, {args.seconds:g} s clip, {os.cpu_count()} CPUs, server options: {given}")
    print()
    print("| clients | requests | 200 | 503 | other 4xx | 5xx | p50 s | p95 s | max s | clips/s |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {args.concurrency} | {len(codes)} | {codes.count(200)} | {codes.count(503)} "
        f"| {sum(400 <= c < 500 for c in codes)} | {sum(c >= 500 and c != 503 for c in codes)} "
        f"| {pct(50)} | {pct(95)} | {lat.max() if len(lat) else 0:.2f} | {codes.count(200) / wall:.2f} |"
    )
    if peak_mb is not None:
        print(f"\nserver peak RSS: {peak_mb:.0f} MB")
    return 0 if all(c < 500 or c == 503 for c in codes) else 1


def _peak_rss_mb(pid: int) -> float | None:
    """The server process's peak resident memory so far (Linux: VmHWM), in MB."""
    from paravox.testing.procfs import memory_mb

    return memory_mb(pid, ("VmHWM",)).get("VmHWM")


if __name__ == "__main__":
    sys.exit(main())
