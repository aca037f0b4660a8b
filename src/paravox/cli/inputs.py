"""One input convention for every analysis command: files, ``-`` (stdin), ``--scp``, ``--manifest``.

Each input becomes an :class:`InputItem` with a key (the id written to outputs) and a
source the audio module accepts. Lists are read lazily-enough (one pass over the file) and
problems are reported with file name and line number.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable


class InputListError(ValueError):
    """A wav.scp or manifest line that cannot be used; the message names file and line."""


@dataclass(frozen=True)
class InputItem:
    key: str
    source: str  # a path, or "-" for stdin


def add_input_arguments(p: argparse.ArgumentParser, audio_help: str | None = None) -> None:
    """The input flags every analysis command shares: files and ``-``, ``--scp``, ``--manifest``."""
    g = p.add_argument_group("inputs (any mix)")
    g.add_argument(
        "inputs", nargs="*", metavar="AUDIO",
        help=audio_help or "audio files (wav, flac, mp3, ogg/opus, m4a/aac, webm); '-' reads stdin",
    )
    g.add_argument("--scp", metavar="WAV_SCP", help="Kaldi wav.scp list: '<id> <path>' per line")
    g.add_argument("--manifest", metavar="JSONL", help="JSONL list with 'id' and 'audio' (relative to the list) per line")


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
    """JSONL manifest with ``id`` and ``audio`` per line; ``audio`` relative to the manifest."""
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
        items.append(InputItem(key, str(_resolve(base, str(row["audio"])))))
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
