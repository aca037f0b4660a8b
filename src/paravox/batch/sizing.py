"""How many local workers a batch job starts when asked for ``auto``."""

from __future__ import annotations

from paravox.machine import available_cores, available_memory

#: Peak memory of one batch worker with Whisper base and both heads, packing short inputs,
#: rounded up from the 1.07-1.28 GB that ``benchmarks/short_clips_throughput.py`` measured
#: (docs/benchmarks.md, "Speed on short clips").
WORKER_MEMORY_BYTES = 1200 * 2**20


def auto_workers(threads: int = 0, *, cores: int | None = None, memory: int | None = None) -> int:
    """Local worker processes for ``--workers auto``: one per core (or per ``threads`` cores
    when each worker is given that many threads), and no more than fit in the available
    memory at :data:`WORKER_MEMORY_BYTES` each; at least one.

    >>> auto_workers(cores=2, memory=8 * 2**30), auto_workers(2, cores=8, memory=8 * 2**30)
    (2, 4)
    >>> auto_workers(cores=16, memory=4 * 2**30)  # memory bounds it
    3
    """
    cores = available_cores() if cores is None else cores
    memory = available_memory() if memory is None else memory
    n = max(1, cores // max(1, threads))
    if memory is not None:
        n = min(n, max(1, memory // WORKER_MEMORY_BYTES))
    return int(n)
