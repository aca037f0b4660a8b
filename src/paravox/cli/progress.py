"""A progress bar on stderr for long or many inputs; silent when stderr is not a terminal."""

from __future__ import annotations

import sys


class Progress:
    """Seconds of audio done for the current input, and inputs done when there are several."""

    def __init__(self, *, total_items: int, enabled: bool = True) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.total_items = total_items
        self._items = None
        self._seconds = None
        if self.enabled and total_items > 1:
            from tqdm import tqdm

            self._items = tqdm(total=total_items, unit="file", desc="inputs", file=sys.stderr, position=0)

    def start_item(self, key: str, source: str) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        total = _probe_seconds(source)
        self._seconds = tqdm(
            total=round(total, 1) if total else None,
            unit="s",
            desc=key[-30:],
            file=sys.stderr,
            leave=False,
            position=1 if self._items is not None else 0,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s audio [{elapsed}<{remaining}]"
            if total
            else None,
        )

    def update_seconds(self, done: float) -> None:
        if self._seconds is not None:
            self._seconds.n = round(done, 1)
            self._seconds.refresh()

    def end_item(self) -> None:
        if self._seconds is not None:
            self._seconds.close()
            self._seconds = None
        if self._items is not None:
            self._items.update(1)

    def write(self, message: str) -> None:
        if self.enabled:
            from tqdm import tqdm

            tqdm.write(message, file=sys.stderr)
        else:
            print(message, file=sys.stderr)

    def clear(self) -> None:
        if self._items is not None:
            self._items.clear()

    def close(self) -> None:
        if self._items is not None:
            self._items.close()


def _probe_seconds(source: str) -> float | None:
    """The declared duration of a file, for the bar's total; None when unknown."""
    if source == "-":
        return None
    try:
        from paravox.audio import probe_duration
    except ImportError:
        return None
    try:
        return probe_duration(source)
    except Exception:  # noqa: BLE001 - the bar is cosmetic; decoding reports real errors
        return None
