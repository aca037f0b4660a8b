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
