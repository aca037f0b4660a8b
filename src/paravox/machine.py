"""What this machine offers a run: the cores this process may use and the memory available."""

from __future__ import annotations

import os


def available_cores() -> int:
    """CPU cores this process may use (the affinity mask, as set by taskset or a container)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def available_memory() -> int | None:
    """Bytes of memory available for new work (``MemAvailable`` in ``/proc/meminfo``), or None
    where that cannot be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


_LIBC: object | None = None


def release_freed_heap() -> bool:
    """Hand the C heap's freed pages back to the system (glibc's ``malloc_trim(0)``).

    glibc keeps memory that analyses freed for later allocations, so a long-running process
    shows a resident size far above what it uses (``docs/benchmarks.md``, "Where the memory
    goes": about 300 MB after a few hundred analyses). Returns False where the C library has
    no ``malloc_trim`` (not glibc), and does nothing there.
    """
    global _LIBC
    if _LIBC is None:
        import ctypes
        import ctypes.util

        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _LIBC = libc.malloc_trim
        except (OSError, AttributeError):
            _LIBC = False
    if _LIBC is False:
        return False
    _LIBC(0)
    return True
