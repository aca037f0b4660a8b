"""Memory figures of a process from Linux's ``/proc/PID/status``, for tests and benchmarks."""

from __future__ import annotations

from pathlib import Path


def memory_mb(pid: int | str = "self", fields: tuple[str, ...] = ("VmRSS",)) -> dict[str, float]:
    """``{field: MB}`` for the ``kB`` fields asked for (``VmRSS``, ``VmHWM``, ``RssAnon`` ...).

    Fields the kernel does not report, and a process that is gone, are left out.

    >>> memory_mb(fields=("VmRSS", "NoSuchField"))["VmRSS"] > 0     # doctest: +SKIP
    True
    """
    out: dict[str, float] = {}
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        name, _, value = line.partition(":")
        if name in fields:
            out[name] = int(value.split()[0]) / 1024
    return out
