"""What paravox reads from and gives back to the machine."""

from __future__ import annotations

import ctypes
import ctypes.util
import platform

import pytest

from paravox.machine import release_freed_heap

MB = 1024 * 1024


def _rss() -> int:
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * 4096


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_freed_heap_pages_go_back_to_the_system():
    # 80 MB of small blocks freed below one block still in use: glibc keeps those pages
    # (the heap's top cannot shrink past the live block) until they are trimmed.
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    blocks = [libc.malloc(4000) for _ in range(20000)]
    for b in blocks:
        ctypes.memset(b, 1, 4000)  # touched, so resident
    keep = libc.malloc(4000)
    for b in blocks:
        libc.free(b)
    before = _rss()
    assert release_freed_heap() is True
    after = _rss()
    libc.free(keep)
    assert before - after > 40 * MB, (before / MB, after / MB)
