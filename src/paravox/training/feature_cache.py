"""Emotion features of many files for training and benchmarks, computed once and cached on disk.

:class:`FeatureCache` keys each file's pooled vectors by the file's path, size and modification
time, by the feature configuration and by the augmentation, so benchmark reruns are fast.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from paravox.encoder.framing import MIN_SAMPLES
from paravox.speech_emotion.features import FeatureConfig, FeatureExtractor, prosody_features
from paravox.training.augment import augment_keyed

_CACHE_VERSION = 1


def cache_root() -> Path:
    """``$PARAVOX_FEATURE_CACHE`` if set, else ``features/`` in paravox's cache folder."""
    override = os.environ.get("PARAVOX_FEATURE_CACHE")
    if override:
        return Path(override)
    from paravox.encoder.files import cache_dir

    return Path(cache_dir()) / "features"


class FeatureCache:
    """On-disk cache of pooled features, one ``.npz`` per audio file.

    Keyed by the file (absolute path, size, mtime), the framing (encoder, window length),
    the augmentation and a format version. Each file stores the pooled vector of every
    encoder block computed so far (``L0``..``L5``) and the prosody vector, so configurations
    that differ only in their choice of blocks share one cache.
    """

    def __init__(self, config: FeatureConfig, root: str | os.PathLike | None = None, augment: str = "clean"):
        self.config = config
        ident = f"v{_CACHE_VERSION}-{config.encoder}-w{config.window_seconds:g}-{augment}"
        self.dir = (Path(root) if root is not None else cache_root()) / ident

    def _path(self, audio_path: str) -> Path:
        st = os.stat(audio_path)
        ident = f"{os.path.abspath(audio_path)}|{st.st_size}|{int(st.st_mtime)}"
        return self.dir / (hashlib.sha1(ident.encode()).hexdigest() + ".npz")

    def parts(self, audio_path: str) -> dict[str, np.ndarray]:
        p = self._path(audio_path)
        if not p.is_file():
            return {}
        try:
            with np.load(p) as z:
                return {k: z[k] for k in z.files}
        except (OSError, ValueError, EOFError):
            return {}

    def put(self, audio_path: str, parts: dict[str, np.ndarray]) -> None:
        p = self._path(audio_path)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(p.stem + f".{os.getpid()}.tmp.npz")
        np.savez(tmp, **{k: np.asarray(v, dtype=np.float32) for k, v in parts.items()})
        os.replace(tmp, p)


def _needed(config: FeatureConfig) -> list[str]:
    return [f"L{x}" for x in config.layers] + (["prosody"] if config.prosody else [])


def _assemble(parts: dict[str, np.ndarray], config: FeatureConfig) -> np.ndarray:
    return np.concatenate([parts[k] for k in _needed(config)]).astype(np.float32)


def compute_parts(samples: np.ndarray, config: FeatureConfig, extractor: "FeatureExtractor") -> dict[str, np.ndarray]:
    """Pooled vectors of every block up to the deepest in ``config`` (they cost nothing
    extra: the encoder runs through them anyway), plus prosody."""
    full = FeatureConfig(layers=tuple(range(max(config.layers) + 1)), prosody=False,
                         window_seconds=config.window_seconds, encoder=config.encoder)
    ex = FeatureExtractor(full, encoder=extractor.encoder)
    samples = np.asarray(samples, dtype=np.float32)
    states = ex.frame_states(samples)
    parts = {f"L{x}": np.concatenate([s.mean(0), s.std(0)]) for x, s in states.items()}
    parts["prosody"] = prosody_features(samples if len(samples) >= MIN_SAMPLES else np.pad(samples, (0, MIN_SAMPLES - len(samples))))
    return parts


def augmented_copy(samples: np.ndarray, path: str, augment: str, seed: int = 0) -> np.ndarray:
    """The ``augment`` copy of a file's samples exactly as the cache computes it (keyed by the
    file's name, so every model trained on a copy hears the same audio); ``clean`` as it is."""
    if augment == "clean":
        return samples
    return augment_keyed(samples, augment, f"{seed}|{os.path.basename(path)}|{augment}")


def extract_files(
    paths: Sequence[str],
    config: FeatureConfig,
    *,
    cache: bool = True,
    augment: str = "clean",
    seed: int = 0,
    progress: bool = False,
) -> np.ndarray:
    """``(N, config.dim)`` feature vectors for audio files, computed once and cached.

    ``augment`` other than ``"clean"`` applies :func:`augment_samples` with a per-file
    deterministic seed (so the cached copy is reproducible).
    """
    from paravox.audio import load_audio

    store = FeatureCache(config, augment=augment) if cache else None
    extractor = FeatureExtractor(config)
    out = np.zeros((len(paths), config.dim), dtype=np.float32)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(paths), unit="clip", desc=f"features ({augment})", leave=False)
    need = _needed(config)
    for i, path in enumerate(paths):
        parts = store.parts(path) if store else {}
        if not all(k in parts for k in need):
            samples = augmented_copy(load_audio(path).samples, path, augment, seed)
            parts = {**parts, **compute_parts(samples, config, extractor)}
            if store:
                store.put(path, parts)
        out[i] = _assemble(parts, config)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return out
