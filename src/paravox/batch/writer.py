"""The results file of a batch job: append-only JSONL that survives being killed at any moment.

Each result is one line, written with a single ``write`` call and flushed to disk
(``fsync``) before the next item is counted as done. A job killed with SIGKILL can therefore
leave at most one incomplete last line. :func:`read_results` (used by ``--resume``) reads
the ids already written, cuts such a torn last line off the file, and the job carries on
appending. Only one process, the parent of the workers, ever writes the file.
``--retry-errors`` removes the error lines of the inputs to retry with
:func:`drop_error_lines`, an atomic rewrite, before they are analysed and appended again.
The same writer (with ``fresh=True``) writes the ``.jsonl`` outputs of every CLI command.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "r.jsonl")
>>> with ResultWriter(path) as out:
...     out.write('{"id": "a", "text": "hi"}\\n')
...     out.write('{"id": "b", "error": {"type": "AudioError", "message": "b: empty"}}\\n')
>>> with open(path, "a") as f:
...     _ = f.write('{"id": "c", "te')                  # what SIGKILL mid-write leaves
>>> state = read_results(path)
>>> sorted(state.done), state.failed, state.repaired_bytes
(['a', 'b'], {'b'}, 15)
>>> open(path).read().endswith('"b: empty"}}\\n')
True
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from paravox.errors import ParavoxError

__all__ = ["ResultWriter", "ResumeError", "ResumeState", "drop_error_lines", "read_results"]


class ResumeError(ParavoxError, ValueError):
    """The existing results file cannot be resumed; the message names file, line and fix."""


@dataclass
class ResumeState:
    """What a results file already holds."""

    done: set[str] = field(default_factory=set)  #: ids with a line (an analysis or an error)
    failed: set[str] = field(default_factory=set)  #: ids whose line is an error record
    lines: int = 0  #: complete lines kept
    repaired_bytes: int = 0  #: bytes of a torn last line that were cut off
    duplicates: int = 0  #: ids found on more than one line (written by hand or another tool)
    options: dict | None = None  #: the ``options`` of the first analysis line (what the job ran with)


def read_results(path: str | os.PathLike, *, repair: bool = True) -> ResumeState:
    """Ids already in ``path``; a torn (unterminated or unparseable) last line is cut off.

    A damaged line anywhere else is not ours to drop: :class:`ResumeError` names it.
    With ``repair=False`` the file is left as it is and the torn line only ignored.
    """
    path = Path(path)
    state = ResumeState()
    if not path.exists():
        return state
    good_end = 0  # byte offset just past the last complete record
    torn = False
    with open(path, "rb") as f:
        lineno = 0
        for raw in f:  # one line at a time: results files of big corpora run to gigabytes
            lineno += 1
            if raw.strip():
                key, is_error, options = _parse(raw)
                if key is None:
                    if f.read(1):
                        raise ResumeError(
                            f"{path}:{lineno}: not a result line written by paravox batch; "
                            "remove or fix that line, or write to a new file"
                        )
                    torn = True  # the last line, cut short by a kill: dropped below
                    break
                if key in state.done:
                    state.duplicates += 1
                state.done.add(key)
                if state.options is None and options is not None:
                    state.options = options
                if is_error:
                    state.failed.add(key)
                else:
                    state.failed.discard(key)
                state.lines += 1
            good_end += len(raw)
        size = f.seek(0, os.SEEK_END)
        if not torn and size:
            f.seek(size - 1)
            unterminated = f.read(1) != b"\n"
        else:
            unterminated = False
    if torn:
        state.repaired_bytes = size - good_end
        if repair:
            with open(path, "r+b") as f:
                f.truncate(good_end)
                _sync(f)
    elif unterminated and repair:
        # A complete record whose newline was not written before the kill: keep it.
        with open(path, "ab") as f:
            f.write(b"\n")
            _sync(f)
    return state


def _parse(raw: bytes) -> tuple[str | None, bool, dict | None]:
    """(id, is_error, options) of one line; id None when it is not a complete record."""
    try:
        row = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None, False, None
    if not isinstance(row, dict) or not isinstance(row.get("id"), str):
        return None, False, None
    options = row.get("options")
    return row["id"], "error" in row, options if isinstance(options, dict) else None


def drop_error_lines(path: str | os.PathLike, keys: set[str]) -> int:
    """Remove the error lines of ``keys`` from ``path`` (for ``--retry-errors``); returns how many.

    The file is rewritten to a temporary file beside it, which is synced and then renamed
    over the original (and the folder synced), so a kill at any moment leaves either the old
    file or the new one, never a mix: an input is either still recorded as failed or missing
    (and so analysed by the next ``--resume``), never lost or written twice. Lines are copied
    byte for byte; the file should have been read (and repaired) by :func:`read_results` first.
    """
    path = Path(path)
    if not keys:
        return 0
    dropped = 0
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out, open(path, "rb") as f:
            for raw in f:
                key, is_error, _ = _parse(raw) if raw.strip() else (None, False, None)
                if is_error and key in keys:
                    dropped += 1
                    continue
                out.write(raw)
            _sync(out)
        if dropped:
            os.chmod(tmp, path.stat().st_mode & 0o7777)
            os.replace(tmp, path)
            _sync_folder(path.parent)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dropped


class ResultWriter:
    """Appends whole lines to a JSONL file, each one on disk before :meth:`write` returns.

    ``fresh=True`` empties the file first (``paravox analyze -o x.jsonl`` starts over; batch
    jobs append).
    """

    def __init__(self, path: str | os.PathLike, *, fsync: bool = True, fresh: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | (os.O_TRUNC if fresh else 0)
        self._fd = os.open(self.path, flags, 0o644)
        self._fsync = fsync

    def write(self, line: str) -> None:
        """Append one record; ``line`` is one JSON object ending with a newline."""
        if not line.endswith("\n") or "\n" in line[:-1]:
            raise ValueError("a result must be exactly one line ending with a newline")
        data = line.encode("utf-8")
        while data:  # os.write may write less than asked (rare for files; never lose the rest)
            written = os.write(self._fd, data)
            data = data[written:]
        if self._fsync:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "ResultWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _sync(f) -> None:
    f.flush()
    os.fsync(f.fileno())


def _sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
