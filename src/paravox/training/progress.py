"""Progress for long training steps: a bar on an interactive stderr, and a logged duration."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import Callable

__all__ = ["bar", "timed"]


def bar(total: int, desc: str, quiet: bool):
    """A tqdm bar of ``total`` items on stderr; silent when ``quiet`` or stderr is not a terminal."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="item", file=sys.stderr, disable=quiet or not sys.stderr.isatty())


@contextmanager
def timed(log: Callable[[str], None], what: str):
    """Log how long the ``with`` block took."""
    started = time.perf_counter()
    yield
    log(f"{what}: {time.perf_counter() - started:.1f} s")
