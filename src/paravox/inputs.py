"""Inputs, one convention for every entry point: files, ``-`` (stdin), a Kaldi ``wav.scp``, a
JSONL manifest, or a folder of audio; and :class:`each`, the one loop that runs a function over
them, recording a bad input's error and going on.

Each input becomes an :class:`InputItem` with a key (the id written to every output) and a
source the audio module accepts. Lists are read in one pass and problems are reported with
file name and line number; paths in a list are relative to the list. Ids must be unique
across everything given, because the id is what ``--resume`` matches on; duplicates are
refused up front, all of them named.

>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> for name in ("b.wav", "sub/a.flac", "notes.txt", ".hidden/c.wav"):
...     (root / name).parent.mkdir(parents=True, exist_ok=True)
...     _ = (root / name).write_bytes(b"")
>>> [item.key for item in list_inputs([str(root)])]
['b.wav', 'sub/a.flac']
"""
from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, NamedTuple

from paravox.errors import InputListError, ModelError, OptionError


@dataclass(frozen=True)
class InputItem:
    key: str
    source: str  # a path, or "-" for stdin
    #: the spoken language a manifest gives for this input ("zh"; "zh,en" restricts detection), for
    #: ``Analyzer.analyze(..., language=item.language)``; None: the run's own setting
    language: str | None = None
    #: the speaker a manifest names for this input (its ``speaker`` field), for
    #: ``paravox emotion --speaker-norm``; None: not given
    speaker: str | None = None


def from_files(paths: Iterable[str]) -> list[InputItem]:
    """Files given on the command line keep their path as id; ``-`` is stdin with id ``stdin``."""
    return [InputItem("stdin" if p == "-" else p, p) for p in paths]


def from_scp(scp: str) -> list[InputItem]:
    """Kaldi ``wav.scp``: ``<key> <path>`` per line; relative paths are relative to the list."""
    base = Path(scp).resolve().parent
    items = []
    for lineno, line in enumerate(_read_lines(scp), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2:
            raise InputListError(f"{scp}:{lineno}: expected '<key> <path>', got {line!r}")
        key, path = parts
        if path.rstrip().endswith("|"):
            raise InputListError(
                f"{scp}:{lineno}: Kaldi pipe commands ({path!r}) are not run; "
                "write the audio to files and list their paths"
            )
        items.append(InputItem(key, str(_resolve(base, path.strip()))))
    return _unique(items, scp)


def from_manifest(manifest: str) -> list[InputItem]:
    """JSONL manifest with ``id`` and ``audio`` per line; ``audio`` relative to the manifest.

    An optional ``language`` per line (``"zh"``, or ``"zh,en"`` to detect among those) is
    checked here and kept on the item; an unknown code is refused with its line number. An
    optional ``speaker`` is kept on the item too (``paravox emotion --speaker-norm`` reads it).
    """
    base = Path(manifest).resolve().parent
    items = []
    for lineno, line in enumerate(_read_lines(manifest), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputListError(f"{manifest}:{lineno}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict) or "audio" not in row:
            raise InputListError(f"{manifest}:{lineno}: each line needs an 'audio' field (and an 'id')")
        key = str(row.get("id") or row.get("key") or Path(str(row["audio"])).stem)
        language = None
        if row.get("language") is not None:
            from paravox.options import parse_languages

            try:
                codes = parse_languages(row["language"])
            except OptionError as exc:
                raise InputListError(f"{manifest}:{lineno}: {exc}") from None
            language = ",".join(codes) if codes else None
        speaker = None if row.get("speaker") is None else str(row["speaker"])
        items.append(InputItem(key, str(_resolve(base, str(row["audio"]))), language, speaker))
    return _unique(items, manifest)


def collect(files: list[str], scp: str | None = None, manifest: str | None = None) -> list[InputItem]:
    items = from_files(files)
    if scp:
        items += from_scp(scp)
    if manifest:
        items += from_manifest(manifest)
    if sum(1 for i in items if i.source == "-") > 1:
        raise InputListError("'-' (stdin) can be given only once")
    return items


def _read_lines(path: str) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputListError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise InputListError(f"{path}: not a UTF-8 text file") from None
    except OSError as exc:
        raise InputListError(f"{path}: cannot read ({exc.strerror})") from None


def _resolve(base: Path, path: str) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else base / p


def _unique(items: list[InputItem], where: str) -> list[InputItem]:
    seen: set[str] = set()
    for item in items:
        if item.key in seen:
            raise InputListError(f"{where}: id {item.key!r} appears more than once; ids must be unique")
        seen.add(item.key)
    return items

#: Extensions taken from a folder (matched case-insensitively). Lists may name any file.
AUDIO_EXTENSIONS = frozenset(
    {".wav", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".webm", ".mp4", ".mka", ".wma", ".aiff", ".aif"}
)
#: File suffixes read as a JSONL manifest; any other non-audio file is read as a wav.scp.
MANIFEST_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json"})


def find_audio(folder: str | os.PathLike) -> list[InputItem]:
    """Audio files under ``folder`` (recursive, hidden files and folders skipped), sorted.

    The id is the path relative to the folder, with ``/`` separators and the extension kept,
    so ``a.wav`` and ``a.flac`` stay two inputs.
    """
    root = Path(folder)
    items = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if name.startswith(".") or Path(name).suffix.lower() not in AUDIO_EXTENSIONS:
                continue
            path = Path(dirpath) / name
            items.append(InputItem(path.relative_to(root).as_posix(), str(path)))
    return sorted(items, key=lambda i: i.key)


def list_inputs(inputs: Iterable[str]) -> list[InputItem]:
    """Every input named: folders are searched, lists are read, audio files are taken as they are.

    Raises :class:`InputListError` for a path that does not exist, a folder with no audio,
    a list line that cannot be used, or ids that appear more than once.
    """
    items: list[InputItem] = []
    for given in inputs:
        path = Path(given)
        if path.is_dir():
            found = find_audio(path)
            if not found:
                exts = " ".join(sorted(AUDIO_EXTENSIONS))
                raise InputListError(f"{given}: no audio files in this folder or below (looked for {exts})")
            items += found
        elif not path.exists():
            raise InputListError(f"{given}: no such file or folder")
        elif path.suffix.lower() in AUDIO_EXTENSIONS:
            items.append(InputItem(given, given))
        elif path.suffix.lower() in MANIFEST_SUFFIXES or _looks_like_json(path):
            items += from_manifest(given)
        else:
            items += from_scp(given)
    return check_unique(items)


def check_unique(items: list[InputItem]) -> list[InputItem]:
    """``items`` unchanged, or :class:`InputListError` naming every id given more than once."""
    counts = Counter(item.key for item in items)
    dups = [key for key, n in counts.items() if n > 1]
    if dups:
        shown = ", ".join(f"{key!r} ({counts[key]}x)" for key in dups[:10])
        more = f" and {len(dups) - 10} more" if len(dups) > 10 else ""
        raise InputListError(
            f"{len(dups)} id(s) appear more than once: {shown}{more}; ids must be unique "
            "because --resume matches results by id"
        )
    return items


def _looks_like_json(path: Path) -> bool:
    """True when the first non-blank line of a list starts with ``{`` (a manifest without .jsonl)."""
    try:
        with open(path, "rb") as f:
            for line in f:
                if line.strip():
                    return line.lstrip().startswith(b"{")
    except OSError:
        return False
    return False


# ---- running over inputs --------------------------------------------------------------------

#: Errors no input can get past (a bad option, a model that cannot be loaded): :func:`each`
#: raises them instead of recording them against one input. Callers add the fatal errors of
#: the layers above this one (an unknown backend name, missing model files).
FATAL_ERRORS: tuple[type[BaseException], ...] = (OptionError, ModelError)


class Outcome(NamedTuple):
    """What became of one input: its result, or the error it raised (never both)."""

    item: InputItem
    result: Any
    error: Exception | None

    @property
    def ok(self) -> bool:
        return self.error is None


def item_language(options: Any, item: InputItem) -> str | None:
    """The language a manifest line gives for ``item``, when the run's options set none
    themselves (no ``-l``); None otherwise (the run's own setting holds)."""
    t = options.transcribe
    return item.language if t.language is None and t.languages is None else None


def attempt(item: InputItem, work: Callable[[InputItem], Any], *, fatal: tuple = ()) -> Outcome:
    """``work(item)`` as an :class:`Outcome`: a failure of this input is returned, not raised.

    Any exception counts as this input's failure (not audio, unreadable, a decoder that
    chokes on it ...) except the fatal ones (:data:`FATAL_ERRORS` and ``fatal``), which
    would fail every input and are raised. ``KeyboardInterrupt`` is never caught.
    """
    try:
        return Outcome(item, work(item), None)
    except FATAL_ERRORS + tuple(fatal):
        raise
    except Exception as exc:  # noqa: BLE001 - one bad input must not stop the run
        return Outcome(item, None, exc)


class each:
    """Run ``work`` over ``items``, yielding an :class:`Outcome` per item and counting failures.

    The one loop behind every command that takes several inputs (the CLI's commands, and
    :mod:`paravox.batch` through :func:`attempt`): a bad input is yielded with its error and
    the run goes on; ``failed`` and ``done`` count them.

    >>> def length(item):
    ...     if not item.source:
    ...         raise ValueError("empty")
    ...     return len(item.source)
    >>> run = each([InputItem("a", "abc"), InputItem("b", "")], length)
    >>> [(o.item.key, o.result, o.error) for o in run]
    [('a', 3, None), ('b', None, ValueError('empty'))]
    >>> run.done, run.failed
    (2, 1)
    """

    def __init__(self, items: Iterable[InputItem], work: Callable[[InputItem], Any], *, fatal: tuple = ()) -> None:
        self.items = items
        self.work = work
        self.fatal = tuple(fatal)
        self.done = 0
        self.failed = 0

    def __iter__(self) -> Iterator[Outcome]:
        for item in self.items:
            outcome = attempt(item, self.work, fatal=self.fatal)
            self.done += 1
            self.failed += not outcome.ok
            yield outcome


def describe(key: str, exc: BaseException) -> str:
    """One line saying which input failed and why (the message alone when it starts with "<id>:").

    >>> describe("a.wav", ValueError("a.wav: empty")), describe("b", RuntimeError("boom"))
    ('a.wav: empty', 'b: RuntimeError: boom')
    """
    message = str(exc)
    return message if message.startswith(f"{key}:") else f"{key}: {type(exc).__name__}: {message}"
