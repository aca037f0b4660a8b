"""The vocal-event training's on-disk cache: pooled classifier features of clips, and built sets.

Encoding thousands of clips takes most of a training run, so what is computed once is kept
under :func:`features_cache_dir`, keyed by the files it came from (:func:`file_digest`) and,
for drawn sets such as mixtures, by the code that draws them (:func:`recipe_text`).
"""

from __future__ import annotations

import hashlib
import inspect
import os
import pickle
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from paravox.training.progress import bar
from paravox.vocal_events import features

__all__ = ["features_cache_dir", "file_digest", "recipe_text", "cached", "pooled_for_clips", "pooled_for_negatives"]


def features_cache_dir() -> Path:
    """``features/`` under ``$PARAVOX_CACHE`` (default ``~/.cache/paravox``), created if missing."""
    base = os.environ.get("PARAVOX_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "paravox")
    path = Path(base) / "features"
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_digest(paths: Sequence[str | Path], extra: str = "") -> str:
    """A short key for ``paths`` as they are now (name, size, modification time) and ``extra``."""
    h = hashlib.sha1(extra.encode())
    for p in paths:
        st = Path(p).stat()
        h.update(f"{p}:{st.st_size}:{int(st.st_mtime)}".encode())
    return h.hexdigest()[:16]


def recipe_text(module, *functions: Callable[..., Any]) -> str:
    """The code a cached set of mixtures comes from (a module's text and the source
    of the functions that draw from it), so that editing any of it rebuilds the cache."""
    return Path(module.__file__).read_text() + "".join(inspect.getsource(f) for f in functions)


def cached(name: str, build: Callable[[], dict[str, Any]], log: Callable[[str], None]) -> dict[str, Any]:
    """Load ``name`` from the feature cache, or build and store it (atomically)."""
    path = features_cache_dir() / f"{name}.pkl"
    if path.is_file():
        with open(path, "rb") as f:
            log(f"cached: {path}")
            return pickle.load(f)
    value = build()
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        pickle.dump(value, f, protocol=4)
    os.replace(tmp, path)
    return value


def pooled_for_clips(clips, layers: Sequence[int], *, quiet: bool = True, log=print, augment: str = "clean",
                     framing: str = "short", backbone=None) -> np.ndarray:
    """Pooled classifier features of ``clips``, cached. ``augment`` (``speed90``, ``speed110``,
    ``noise``, ``gain``: :func:`paravox.training.augment.augment_samples`) features a copy of
    each clip so changed, with a per-clip deterministic seed. ``framing``: see
    :data:`paravox.vocal_events.features.FRAMINGS`. ``backbone``: a hub backbone's features
    instead (:class:`paravox.vocal_events.backbone.Backbone`; ``layers`` and ``framing`` unused)."""
    from paravox.audio import load_audio

    key = "nv-pooled-" + file_digest([c.path for c in clips], extra=repr(tuple(layers)) + ("" if augment == "clean" else augment)
                                     + ("" if framing == "short" else f"|{framing}")
                                     + ("" if backbone is None else f"|{backbone.key}"))
    return _pooled(clips, lambda c: load_audio(c.path).samples, key, layers, quiet=quiet, log=log, augment=augment,
                   framing=framing, backbone=backbone)


def pooled_for_negatives(negatives, layers: Sequence[int], *, quiet: bool = True, log=print, augment: str = "clean",
                         framing: str = "short", backbone=None) -> np.ndarray:
    """:func:`pooled_for_clips` for negatives made in code (:class:`paravox.training.negatives.Negative`),
    cached under their recipes, the files they are cut from and the code that makes them."""
    from paravox.training import negatives as made

    sources = sorted({p for n in negatives for p in n.sources()})
    key = "nv-negatives-" + file_digest(sources, extra=repr([(n.id, n.recipe) for n in negatives]) + recipe_text(made)
                                        + repr(tuple(layers)) + f"|{augment}|{framing}"
                                        + ("" if backbone is None else f"|{backbone.key}"))
    return _pooled(negatives, lambda n: n.samples(), key, layers, quiet=quiet, log=log, augment=augment, framing=framing,
                   backbone=backbone)


def _pooled(items, samples_of: Callable[[Any], np.ndarray], key: str, layers: Sequence[int], *, quiet: bool, log,
            augment: str, framing: str, backbone=None) -> np.ndarray:
    from paravox.training.augment import augment_keyed

    def build():
        out = []
        with bar(len(items), "pooled features" + ("" if augment == "clean" else f" ({augment})"), quiet) as progress:
            for c in items:
                x = samples_of(c)
                if augment != "clean":
                    x = augment_keyed(x, augment, f"{c.id}|{augment}")
                out.append(features.pooled_states(x, layers, framing) if backbone is None else backbone.pooled(x))
                progress.update(1)
        return {"X": np.stack(out)}

    return cached(key, build, log)["X"]
