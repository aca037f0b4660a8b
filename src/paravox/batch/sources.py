"""What a batch job runs on: a folder of audio, a Kaldi ``wav.scp``, a JSONL manifest, or files.

Every input becomes an :class:`~paravox.cli.inputs.InputItem` (an id and a path). Lists are
read with the same rules as ``paravox analyze --scp/--manifest`` (paths relative to the list,
line numbers in errors). Ids must be unique across everything given, because the id is what
``--resume`` matches on; duplicates are refused up front, all of them named.

>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> for name in ("b.wav", "sub/a.flac", "notes.txt", ".hidden/c.wav"):
...     (root / name).parent.mkdir(parents=True, exist_ok=True)
...     _ = (root / name).write_bytes(b"")
>>> [item.key for item in list_inputs([str(root)])]
['b.wav', 'sub/a.flac']
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Iterable

from paravox.cli.inputs import InputItem, InputListError, from_manifest, from_scp

#: Extensions taken from a folder (matched case-insensitively). Lists may name any file.
AUDIO_EXTENSIONS = frozenset(
    {".wav", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".webm", ".mp4", ".mka", ".wma", ".aiff", ".aif"}
)
#: File suffixes read as a JSONL manifest; any other non-audio file is read as a wav.scp.
MANIFEST_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json"})

__all__ = ["AUDIO_EXTENSIONS", "InputItem", "InputListError", "find_audio", "list_inputs", "check_unique"]


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
