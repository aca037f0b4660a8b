"""The progress display of every command, on stderr.

On a terminal: a bar over the inputs (files done, rate, ETA, failures) when there are several,
and, for commands that report it, a bar over the seconds of audio of the current input. When
stderr is not a terminal there are no bars; a long job (``paravox batch``) prints one line
every 30 s instead. Failed inputs are printed as ``paravox: error: <message>`` lines as they
happen. Only the standard library is imported here; tqdm when a bar is drawn.
"""

from __future__ import annotations

import sys
import time


class Progress:
    """Inputs done (and the current input's seconds of audio) for one run of a command.

    ``enabled=False`` (``-q``) draws nothing; ``errors=False`` also keeps the per-input error
    lines off stderr (``paravox batch -q``: they are in the results file). ``log_every``: when
    stderr is not a terminal, a progress line this often (seconds). ``seconds``: a bar over
    the current input's audio, fed by :meth:`update_seconds`.
    """

    def __init__(
        self,
        total: int | None = None,
        *,
        enabled: bool = True,
        errors: bool = True,
        seconds: bool = False,
        log_every: float | None = None,
        desc: str = "inputs",
    ) -> None:
        self.enabled = enabled
        self.tty = enabled and sys.stderr.isatty()
        self.errors = errors
        self.desc = desc
        self.log_every = log_every
        self._want_seconds = seconds
        self._items = None
        self._seconds = None
        self.total = self.done = self.failed = 0
        self._initial = 0
        self._started = self._last_log = time.monotonic()
        if total is not None:
            self.begin(total)

    # ---- the run -----------------------------------------------------------------------

    def begin(self, total: int, done: int = 0) -> None:
        """``total`` inputs, ``done`` of them already done (a resumed batch job)."""
        self.total, self.done, self._initial = total, done, done
        self._started = self._last_log = time.monotonic()
        if self.tty and total > 1:
            from tqdm import tqdm

            self._items = tqdm(total=total, initial=done, unit="file", desc=self.desc, file=sys.stderr,
                               dynamic_ncols=True, smoothing=0.1, position=0)

    def start_item(self, key: str, source: str | None = None) -> None:
        """An input starts: with ``seconds``, a bar over its audio (its length probed from the file)."""
        if not (self.tty and self._want_seconds):
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
        """Seconds of the current input's audio done (the analyser's progress callback)."""
        if self._seconds is not None:
            self._seconds.n = round(done, 1)
            self._seconds.refresh()

    def end_item(self, error: str | None = None) -> None:
        """An input is done; ``error`` (a line naming it) when it failed."""
        if self._seconds is not None:
            self._seconds.close()
            self._seconds = None
        self.done += 1
        if error is not None:
            self.failed += 1
            self.error(error)
        if self._items is not None:
            self._items.update(1)
            if self.failed:
                self._items.set_postfix(failed=self.failed, refresh=False)
        elif self.enabled and self.log_every is not None and not self.tty:
            now = time.monotonic()
            if now - self._last_log >= self.log_every:
                self._last_log = now
                rate = (self.done - self._initial) / max(now - self._started, 1e-9)
                left = (self.total - self.done) / rate if rate > 0 else float("inf")
                eta = "?" if left == float("inf") else duration(left)
                print(f"paravox: {self.done}/{self.total} inputs ({self.failed} failed), {rate:.2f} files/s, ETA {eta}",
                      file=sys.stderr, flush=True)

    # ---- writing around the bars ---------------------------------------------------------------

    def error(self, message: str) -> None:
        """``paravox: error: <message>`` on stderr (unless ``errors=False``), above the bars."""
        if self.errors:
            self.write(f"paravox: error: {message}")

    def write(self, line: str) -> None:
        """A line on stderr that does not tear the bars."""
        if self._items is not None or self._seconds is not None:
            from tqdm import tqdm

            tqdm.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr, flush=True)

    def stdout(self, text: str) -> None:
        """Write ``text`` to stdout with the bars out of its way."""
        if self._items is not None:
            self._items.clear()
        sys.stdout.write(text)
        sys.stdout.flush()
        if self._items is not None:
            self._items.refresh()

    def close(self) -> None:
        if self._seconds is not None:
            self._seconds.close()
            self._seconds = None
        if self._items is not None:
            self._items.close()
            self._items = None

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def duration(seconds: float) -> str:
    """``12.3s``, ``4m05s``, ``2h07m``."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    seconds = int(seconds)
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def _probe_seconds(source: str | None) -> float | None:
    """The declared duration of a file, for the bar's total; None when unknown."""
    if not source or source == "-":
        return None
    try:
        from paravox.audio import probe_duration
    except ImportError:
        return None
    try:
        return probe_duration(source)
    except Exception:  # noqa: BLE001 - the bar is cosmetic; decoding reports real errors
        return None
