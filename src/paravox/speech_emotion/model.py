"""The emotion classifier in plain NumPy, loaded from a model directory.

A model directory holds two files:

``config.json``
    ``{"format": "paravox-emotion", "version": 1, "labels": [...], "features": {...}
    (a :class:`~paravox.speech_emotion.features.FeatureConfig`), "temperature": float,
    "hidden_activation": "relu", "training": {...}}``
``weights.npz``
    ``mean`` and ``scale`` (feature standardisation, ``(D,)`` each), then dense layers
    ``W0, b0, W1, b1, ...`` applied as ``x @ W + b`` with ``hidden_activation`` between
    them. The last layer has one column per label. Logits are divided by ``temperature``
    (fitted on held-out data so that scores are calibrated) before the softmax.
    Optionally the dimensional head (config ``"dimensions": {"names": [...], ...}``):
    ``D_W`` ``(D, K)``, ``D_P`` ``(L, K)`` (or ``(0, K)``) and ``D_b`` ``(K,)``, scoring
    ``z @ D_W + log(p) @ D_P + D_b`` on the standardised features ``z`` and the calibrated
    class probabilities ``p``, clipped to [-1, 1] (valence, arousal, dominance for the
    shipped model; see :mod:`paravox.training.emotion_dimensions`).

Loading checks every shape against the config and raises :class:`ModelError` naming the
directory and the fix, e.g. when ``labels`` lists 4 labels and the weights score 9.

No torch, no scikit-learn: inference is a few matrix products.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from paravox.errors import ModelError
from paravox.speech_emotion.features import FeatureConfig, FeatureExtractor

FORMAT = "paravox-emotion"
VERSION = 1

#: emotion2vec's nine labels, in its order; the shipped model scores exactly these.
EMOTION2VEC_LABELS = ("angry", "disgusted", "fearful", "happy", "neutral", "other", "sad", "surprised", "unknown")


def default_model_dir() -> Path:
    return Path(__file__).resolve().parent / "weights"


@dataclass
class EmotionModel:
    """Standardise -> dense layers -> softmax(logits / temperature)."""

    labels: tuple[str, ...]
    features: FeatureConfig
    mean: np.ndarray
    scale: np.ndarray
    layers: list[tuple[np.ndarray, np.ndarray]]
    temperature: float = 1.0
    hidden_activation: str = "relu"
    info: dict[str, Any] = field(default_factory=dict)
    source: str = "<memory>"
    dimensions: tuple[str, ...] = ()
    dimension_head: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    dimension_info: dict[str, Any] = field(default_factory=dict)
    #: True: the head reads feature vectors standardised per speaker
    #: (:mod:`paravox.speech_emotion.speaker_norm`), never a single clip's raw vector
    speaker_norm: bool = False

    def __post_init__(self) -> None:
        self.labels = tuple(str(x) for x in self.labels)
        self.dimensions = tuple(str(x) for x in self.dimensions)
        self.validate()

    # ---- checks ------------------------------------------------------------------------
    def validate(self) -> None:
        where = self.source

        def fail(msg: str) -> ModelError:
            return ModelError(f"{where}: {msg}; retrain it with 'paravox train emotion' or fix config.json")

        if len(self.labels) < 2:
            raise fail(f"config.json lists {len(self.labels)} label(s); a classifier needs at least 2")
        if len(set(self.labels)) != len(self.labels):
            raise fail(f"config.json lists duplicate labels {list(self.labels)}")
        dim = self.features.dim
        if self.mean.shape != (dim,) or self.scale.shape != (dim,):
            raise fail(
                f"weights.npz standardises {self.mean.shape[0] if self.mean.ndim else 0} features but the "
                f"feature config (layers {list(self.features.layers)}, prosody {self.features.prosody}) gives {dim}"
            )
        if not self.layers:
            raise fail("weights.npz has no dense layers (W0, b0)")
        width = dim
        for i, (w, b) in enumerate(self.layers):
            if w.ndim != 2 or w.shape[0] != width or b.shape != (w.shape[1],):
                raise fail(f"weights.npz layer {i} has W{list(w.shape)} b{list(b.shape)}, expected W[{width}, *]")
            width = w.shape[1]
        if width != len(self.labels):
            raise fail(
                f"the weights score {width} classes but config.json lists {len(self.labels)} labels "
                f"({', '.join(self.labels)}): the label set does not match the weights"
            )
        if not (np.isfinite(self.temperature) and self.temperature > 0):
            raise fail(f"temperature {self.temperature} must be a positive number")
        if self.hidden_activation not in _ACTIVATIONS:
            raise fail(f"hidden_activation {self.hidden_activation!r}; use one of {sorted(_ACTIVATIONS)}")
        if bool(self.dimensions) != (self.dimension_head is not None):
            raise fail("config.json names dimensions but weights.npz has no D_W, D_P, D_b (or the other way round)"
                       if self.dimensions else "weights.npz has a dimensional head but config.json names no dimensions")
        if self.dimension_head is not None:
            W, P, b = self.dimension_head
            k = len(self.dimensions)
            if W.shape != (dim, k) or b.shape != (k,) or P.shape not in ((len(self.labels), k), (0, k)):
                raise fail(f"the dimensional head has D_W{list(W.shape)} D_P{list(P.shape)} D_b{list(b.shape)}; "
                           f"expected D_W[{dim}, {k}], D_P[{len(self.labels)} or 0, {k}], D_b[{k}] for {list(self.dimensions)}")

    # ---- inference ---------------------------------------------------------------------
    def logits(self, x: np.ndarray) -> np.ndarray:
        """``(N, D)`` or ``(D,)`` features -> raw logits (before temperature)."""
        h = (np.asarray(x, dtype=np.float32) - self.mean) / self.scale
        act = _ACTIVATIONS[self.hidden_activation]
        for i, (w, b) in enumerate(self.layers):
            h = h @ w + b
            if i < len(self.layers) - 1:
                h = act(h)
        return h

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Calibrated class probabilities, ``(N, len(labels))`` (or ``(len(labels),)``)."""
        return softmax(self.logits(x) / np.float32(self.temperature))

    def predict_dimensions(self, x: np.ndarray, probs: np.ndarray | None = None) -> np.ndarray | None:
        """``(N, K)`` scores on [-1, 1] for :attr:`dimensions` (None without a dimensional
        head); ``probs`` are :meth:`predict_proba` of the same rows, when already computed."""
        if self.dimension_head is None:
            return None
        W, P, b = self.dimension_head
        x2 = np.atleast_2d(np.asarray(x, dtype=np.float32))
        out = ((x2 - self.mean) / self.scale) @ W + b
        if len(P):
            p = np.atleast_2d(self.predict_proba(x2) if probs is None else probs)
            out = out + log_probs(p) @ P
        return np.clip(out, -1.0, 1.0).astype(np.float32)

    def predict(self, x: np.ndarray) -> list[str]:
        p = np.atleast_2d(self.predict_proba(x))
        return [self.labels[i] for i in p.argmax(axis=1)]

    def extractor(self, encoder: Any = None) -> FeatureExtractor:
        return FeatureExtractor(self.features, encoder=encoder)

    # ---- files ---------------------------------------------------------------------------
    def config_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "labels": list(self.labels),
            "features": self.features.to_dict(),
            "temperature": float(self.temperature),
            "hidden_activation": self.hidden_activation,
            **({"info": self.info} if self.info else {}),
            **({"dimensions": {"names": list(self.dimensions), **self.dimension_info}} if self.dimensions else {}),
            **({"speaker_norm": True} if self.speaker_norm else {}),
        }

    def save(self, directory: str | os.PathLike) -> Path:
        """Write ``config.json`` and ``weights.npz`` (float32) into ``directory``."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        arrays = {"mean": self.mean, "scale": self.scale}
        for i, (w, b) in enumerate(self.layers):
            arrays[f"W{i}"], arrays[f"b{i}"] = w, b
        if self.dimension_head is not None:
            arrays["D_W"], arrays["D_P"], arrays["D_b"] = self.dimension_head
        tmp = d / "weights.tmp.npz"
        np.savez_compressed(tmp, **{k: np.asarray(v, dtype=np.float32) for k, v in arrays.items()})
        os.replace(tmp, d / "weights.npz")
        (d / "config.json").write_text(json.dumps(self.config_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return d

    @classmethod
    def load(cls, directory: str | os.PathLike | None = None) -> "EmotionModel":
        """Load a model directory (default: the shipped model)."""
        d = Path(directory) if directory is not None else default_model_dir()
        where = str(d)
        if not d.is_dir():
            raise ModelError(f"{where}: no such model directory; give the folder 'paravox train emotion -o DIR' wrote")
        cfg_path, w_path = d / "config.json", d / "weights.npz"
        for p in (cfg_path, w_path):
            if not p.is_file():
                raise ModelError(f"{where}: {p.name} is missing; a model directory holds config.json and weights.npz")
        try:
            cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelError(f"{where}: config.json is not valid JSON ({exc})") from None
        if not isinstance(cfg, dict) or cfg.get("format") != FORMAT:
            raise ModelError(f"{where}: config.json is not a {FORMAT} config (its 'format' is {cfg.get('format')!r})"
                             if isinstance(cfg, dict) else f"{where}: config.json is not a JSON object")
        if int(cfg.get("version", 0)) > VERSION:
            raise ModelError(f"{where}: model format version {cfg['version']} is newer than this paravox reads ({VERSION}); upgrade paravox")
        labels = cfg.get("labels")
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise ModelError(f"{where}: config.json needs 'labels', a list of label names")
        try:
            features = FeatureConfig.from_dict(cfg.get("features") or {})
        except (TypeError, ValueError) as exc:
            raise ModelError(f"{where}: config.json 'features' is invalid ({exc})") from None
        try:
            with np.load(w_path) as z:
                arrays = {k: z[k].astype(np.float32) for k in z.files}
        except (OSError, ValueError, EOFError) as exc:
            raise ModelError(f"{where}: weights.npz cannot be read ({exc})") from None
        missing = {"mean", "scale", "W0", "b0"} - arrays.keys()
        if missing:
            raise ModelError(f"{where}: weights.npz lacks {sorted(missing)}")
        layers = []
        i = 0
        while f"W{i}" in arrays:
            if f"b{i}" not in arrays:
                raise ModelError(f"{where}: weights.npz has W{i} but no b{i}")
            layers.append((arrays[f"W{i}"], arrays[f"b{i}"]))
            i += 1
        dims_cfg = cfg.get("dimensions") or {}
        if not isinstance(dims_cfg, dict) or not isinstance(dims_cfg.get("names", []), list):
            raise ModelError(f"{where}: config.json 'dimensions' must be {{\"names\": [...], ...}}")
        dims = tuple(str(x) for x in dims_cfg.get("names", []))
        head = None
        if any(k in arrays for k in ("D_W", "D_P", "D_b")):
            if not all(k in arrays for k in ("D_W", "D_P", "D_b")):
                raise ModelError(f"{where}: weights.npz has part of a dimensional head; it needs D_W, D_P and D_b")
            head = (arrays["D_W"], arrays["D_P"], arrays["D_b"])
        return cls(
            labels=tuple(labels),
            features=features,
            mean=arrays["mean"],
            scale=arrays["scale"],
            layers=layers,
            temperature=float(cfg.get("temperature", 1.0)),
            hidden_activation=str(cfg.get("hidden_activation", "relu")),
            info=dict(cfg.get("info") or {}),
            source=where,
            dimensions=dims,
            dimension_head=head,
            dimension_info={k: v for k, v in dims_cfg.items() if k != "names"},
            speaker_norm=bool(cfg.get("speaker_norm", False)),
        )


def log_probs(p: np.ndarray) -> np.ndarray:
    """``log(p)``, floored at ``log(1e-6)``: the dimensional head's view of the class scores."""
    return np.log(np.maximum(np.asarray(p, dtype=np.float32), 1e-6))


def softmax(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, dtype=np.float32)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


_ACTIVATIONS = {
    "relu": lambda h: np.maximum(h, 0.0),
    "tanh": np.tanh,
    "identity": lambda h: h,
}

_CACHE: dict[str, EmotionModel] = {}


def load_model(model: "str | os.PathLike | EmotionModel | None" = None) -> EmotionModel:
    """A model from a directory (cached per path), the shipped one for ``None``, or as given."""
    if isinstance(model, EmotionModel):
        return model
    d = Path(model).resolve() if model is not None else default_model_dir()
    try:
        stamp = (d / "weights.npz").stat().st_mtime_ns, (d / "config.json").stat().st_mtime_ns
    except OSError:
        stamp = None
    key = f"{d}|{stamp}"
    if key not in _CACHE:
        _CACHE[key] = EmotionModel.load(d)
    return _CACHE[key]
