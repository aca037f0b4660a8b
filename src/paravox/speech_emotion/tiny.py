"""The tiny emotion model: a small convolutional network on log-mel frames, no Whisper.

Distilled from the shipped emotion head (:mod:`paravox.speech_emotion.model`): it scores the
same nine labels, in the same order, from a NumPy log-mel front end and one ONNX graph of
under 100K parameters, about two orders of magnitude faster than the Whisper-based model
(see ``tiny_weights/MODEL_CARD.md`` for its figures and what it costs in accuracy).

A model directory holds two files:

``config.json``
    ``{"format": "paravox-emotion-tiny", "version": 1, "labels": [...9...], "dimensions":
    ["valence", ...] or [], "front_end": {sample_rate, n_fft, win_length, hop_length, n_mels,
    fmin, fmax, top_db}, "temperature": float, "window_seconds": 5.0, "training": {...}}``
``model.onnx``
    input ``mel`` ``(batch, n_mels, frames)`` float32 (this module's :func:`log_mel`);
    outputs ``logits`` ``(batch, labels)`` and, when ``dimensions`` is not empty, ``dims``
    ``(batch, len(dimensions))`` on [-1, 1].

Scores are ``softmax(logits / temperature)``. Inference is NumPy + ONNX Runtime only.

>>> model = TinyEmotionModel.load()                                     # doctest: +SKIP
>>> probs, dims = model.clip_scores([samples])                          # doctest: +SKIP
>>> model.labels[int(probs[0].argmax())]                                # doctest: +SKIP
'angry'
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from paravox.errors import ModelError

__all__ = ["TinyEmotionModel", "FrontEnd", "log_mel", "default_tiny_dir", "FORMAT", "VERSION"]

FORMAT = "paravox-emotion-tiny"
VERSION = 1
_FIX = "restore it with 'git checkout src/paravox/speech_emotion/tiny_weights' or rebuild it with 'python benchmarks/emotion_tiny.py --train'"


def default_tiny_dir() -> Path:
    return Path(__file__).resolve().parent / "tiny_weights"


# --------------------------------------------------------------------------- front end


@dataclass(frozen=True)
class FrontEnd:
    """Log-mel parameters (saved in ``config.json``). Frames are centred every ``hop_length``
    samples (zero padding at both ends), Hann window, power spectrum, triangular mel filters
    (HTK mel scale, area-normalised), ``log10``, floored ``top_db / 10`` below the clip's
    maximum (as Whisper does)."""

    sample_rate: int = 16000
    n_fft: int = 512
    win_length: int = 400
    hop_length: int = 160
    n_mels: int = 64
    fmin: float = 50.0
    fmax: float = 8000.0
    top_db: float = 80.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "FrontEnd":
        fields = cls.__dataclass_fields__
        unknown = set(d) - set(fields)
        if unknown:
            raise ValueError(f"unknown front-end keys {sorted(unknown)}")
        return cls(**{k: type(getattr(cls, k))(v) for k, v in d.items()})


@lru_cache(maxsize=4)
def _mel_filters(fe: FrontEnd) -> np.ndarray:
    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)

    def mel_to_hz(m):
        return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)

    freqs = np.fft.rfftfreq(fe.n_fft, 1.0 / fe.sample_rate)
    edges = mel_to_hz(np.linspace(hz_to_mel(fe.fmin), hz_to_mel(fe.fmax), fe.n_mels + 2))
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs[None, :] - lo) / (mid - lo)
    down = (hi - freqs[None, :]) / (hi - mid)
    fb = np.maximum(0.0, np.minimum(up, down))
    fb *= (2.0 / (hi - lo))  # equal area per filter
    return fb.astype(np.float32)  # (n_mels, n_fft // 2 + 1)


@lru_cache(maxsize=4)
def _window(fe: FrontEnd) -> np.ndarray:
    w = np.hanning(fe.win_length + 1)[:-1]  # periodic Hann
    left = (fe.n_fft - fe.win_length) // 2
    return np.pad(w, (left, fe.n_fft - fe.win_length - left)).astype(np.float32)


def log_mel(samples: np.ndarray, front_end: FrontEnd | None = None) -> np.ndarray:
    """``(n_mels, 1 + len(samples) // hop_length)`` float32 log-mel frames of 16-kHz mono audio.

    >>> log_mel(np.zeros(16000, np.float32)).shape
    (64, 101)
    """
    fe = front_end or FrontEnd()
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"samples must be 1-D mono at 16 kHz; got shape {x.shape} (use paravox.audio.load_audio)")
    half = fe.n_fft // 2
    x = np.pad(x, (half, half))
    frames = np.lib.stride_tricks.sliding_window_view(x, fe.n_fft)[:: fe.hop_length]  # a view, no copy
    spec = np.fft.rfft(frames * _window(fe), axis=1)
    power = (spec.real**2 + spec.imag**2).astype(np.float32, copy=False)
    mel = _mel_filters(fe) @ power.T  # (n_mels, frames)
    np.maximum(mel, 1e-10, out=mel)
    np.log10(mel, out=mel)
    np.maximum(mel, mel.max() - np.float32(fe.top_db / 10.0), out=mel)
    return np.ascontiguousarray(mel, dtype=np.float32)


# --------------------------------------------------------------------------- model


class TinyEmotionModel:
    """The tiny model: log-mel -> ONNX network -> nine-label probabilities (and dimensions).

    Attributes: ``labels`` (the nine labels, emotion2vec's order), ``dimensions`` (names of
    the regression outputs, e.g. ``("valence", "arousal", "dominance")``, or ``()``),
    ``front_end`` (:class:`FrontEnd`), ``temperature``, ``window_seconds`` (5.0: the longest
    clip :meth:`clip_scores` takes, the framing of the big model), ``info`` (the training
    record from ``config.json``), ``source`` (the directory).
    """

    def __init__(self, session: Any, config: dict[str, Any], source: str):
        self._session = session
        self.source = source
        self.labels: tuple[str, ...] = tuple(config["labels"])
        self.dimensions: tuple[str, ...] = tuple(config.get("dimensions") or ())
        self.front_end = FrontEnd.from_dict(config["front_end"])
        self.temperature = float(config.get("temperature", 1.0))
        self.window_seconds = float(config.get("window_seconds", 5.0))
        self.info: dict[str, Any] = dict(config.get("training") or {})

    @classmethod
    def load(cls, directory: str | os.PathLike | None = None, *, threads: int = 1) -> "TinyEmotionModel":
        """Load a tiny-model directory (default: the shipped one). ``threads``: ONNX Runtime's
        intra-op threads (1 is fastest for a network this small)."""
        d = Path(directory) if directory is not None else default_tiny_dir()
        where = str(d)
        if not d.is_dir():
            raise ModelError(f"{where}: no such tiny emotion model directory; {_FIX}")
        cfg_path, onnx_path = d / "config.json", d / "model.onnx"
        for p in (cfg_path, onnx_path):
            if not p.is_file():
                raise ModelError(f"{p}: missing; a tiny emotion model directory holds config.json and model.onnx; {_FIX}")
        try:
            cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelError(f"{cfg_path}: not valid JSON ({exc}); {_FIX}") from None
        if not isinstance(cfg, dict) or cfg.get("format") != FORMAT:
            got = cfg.get("format") if isinstance(cfg, dict) else type(cfg).__name__
            raise ModelError(f"{cfg_path}: not a {FORMAT} config (format {got!r}); {_FIX}")
        if int(cfg.get("version", 0)) > VERSION:
            raise ModelError(f"{cfg_path}: format version {cfg['version']} is newer than this paravox reads ({VERSION}); upgrade paravox")
        labels, dims = cfg.get("labels"), cfg.get("dimensions") or []
        if not isinstance(labels, list) or len(labels) < 2 or not all(isinstance(x, str) for x in labels):
            raise ModelError(f"{cfg_path}: 'labels' must list at least 2 label names; {_FIX}")
        if not isinstance(dims, list) or not all(isinstance(x, str) for x in dims):
            raise ModelError(f"{cfg_path}: 'dimensions' must be a list of names; {_FIX}")
        try:
            FrontEnd.from_dict(cfg.get("front_end") or {})
        except (TypeError, ValueError) as exc:
            raise ModelError(f"{cfg_path}: 'front_end' is invalid ({exc}); {_FIX}") from None
        try:
            import onnxruntime as ort
        except ImportError as exc:  # pragma: no cover - a core dependency
            raise ImportError("the tiny emotion model needs onnxruntime: pip install onnxruntime") from exc
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
        try:
            session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own types for unreadable graphs
            raise ModelError(f"{onnx_path}: cannot be read by ONNX Runtime ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0][:200]}); {_FIX}") from None
        outputs = {o.name: o for o in session.get_outputs()}
        inputs = session.get_inputs()
        if len(inputs) != 1 or inputs[0].name != "mel" or "logits" not in outputs:
            raise ModelError(f"{onnx_path}: expected input 'mel' and output 'logits', found inputs "
                             f"{[i.name for i in inputs]} outputs {sorted(outputs)}; {_FIX}")
        model = cls(session, cfg, where)
        model._check(outputs, onnx_path)
        return model

    def _check(self, outputs: dict[str, Any], onnx_path: Path) -> None:
        probe = np.zeros((1, self.front_end.n_mels, 50), dtype=np.float32)
        names = ["logits"] + (["dims"] if self.dimensions else [])
        if self.dimensions and "dims" not in outputs:
            raise ModelError(f"{onnx_path}: config.json names dimensions {list(self.dimensions)} but the graph has no 'dims' output; {_FIX}")
        try:
            got = self._session.run(names, {"mel": probe})
        except Exception as exc:
            raise ModelError(f"{onnx_path}: does not take ({self.front_end.n_mels}, frames) log-mel input "
                             f"({type(exc).__name__}); {_FIX}") from None
        if got[0].shape != (1, len(self.labels)):
            raise ModelError(f"{onnx_path}: scores {got[0].shape[-1]} classes but config.json lists "
                             f"{len(self.labels)} labels; {_FIX}")
        if self.dimensions and got[1].shape != (1, len(self.dimensions)):
            raise ModelError(f"{onnx_path}: gives {got[1].shape[-1]} dimensions but config.json names "
                             f"{len(self.dimensions)}; {_FIX}")

    def clip_scores(self, clips: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
        """Scores of clips of 16-kHz mono float32 samples, each at most ``window_seconds``
        (cut longer input with :func:`paravox.encoder.framing.windows` first, as the big
        model does). Returns ``probs`` ``(N, len(labels))`` float32 (rows sum to 1) and
        ``dims`` ``(N, len(dimensions))`` float32, or None when the model has no dimensions.
        A clip shorter than 40 ms is zero-padded to 40 ms."""
        limit = int(round(self.window_seconds * self.front_end.sample_rate)) + 1
        logits, dims = [], []
        names = ["logits"] + (["dims"] if self.dimensions else [])
        for i, clip in enumerate(clips):
            x = np.asarray(clip, dtype=np.float32)
            if x.ndim != 1:
                raise ValueError(f"clip {i}: samples must be 1-D mono at 16 kHz, got shape {x.shape}")
            if len(x) > limit:
                raise ValueError(f"clip {i}: {len(x) / self.front_end.sample_rate:.2f} s is longer than "
                                 f"{self.window_seconds:g} s; cut it with paravox.encoder.framing.windows first")
            if len(x) < 640:
                x = np.pad(x, (0, 640 - len(x)))
            out = self._session.run(names, {"mel": log_mel(x, self.front_end)[None]})
            logits.append(out[0][0])
            if self.dimensions:
                dims.append(out[1][0])
        k = len(self.labels)
        z = np.asarray(logits, dtype=np.float32).reshape(-1, k) / np.float32(self.temperature)
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        probs = (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
        if not self.dimensions:
            return probs, None
        return probs, np.asarray(dims, dtype=np.float32).reshape(-1, len(self.dimensions))

    def predict(self, clips: Sequence[np.ndarray]) -> list[str]:
        """The top label of each clip."""
        probs, _ = self.clip_scores(clips)
        return [self.labels[i] for i in probs.argmax(axis=1)]
