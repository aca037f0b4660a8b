"""What the emotion model hears: pooled Whisper-encoder states plus simple prosody.

One utterance becomes one fixed-length vector:

* the hidden states of a few Whisper-base encoder blocks (``layers``), each pooled over
  time by mean and standard deviation (1024 numbers per block), and
* optionally ``prosody``: 23 statistics of pitch (autocorrelation F0), voicing and energy.

Audio longer than ``window_seconds`` is cut into near-equal windows that are encoded
separately (the corpora the model is trained on are 1-5 s clips, so inference sees the
same framing and attention cost stays linear in length); the frame states of all windows
are pooled together.

Which blocks and whether prosody helps was chosen by nested cross-validation on the
training folds only (``paravox bench emotion --select``; see ``docs/emotion.md``).

Training caches these vectors on disk (:mod:`paravox.training.feature_cache`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from paravox.encoder.framing import MIN_SAMPLES, SAMPLE_RATE, STATE_SECONDS, windows


@dataclass(frozen=True)
class FeatureConfig:
    """How an utterance becomes a vector. Saved in a model's ``config.json``."""

    layers: tuple[int, ...] = (0, 1, 2, 3)
    prosody: bool = True
    window_seconds: float = 5.0
    encoder: str = "whisper-base"

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(int(x) for x in self.layers))
        if not self.layers:
            raise ValueError("FeatureConfig.layers is empty; name at least one encoder block (0-5)")
        if any(not 0 <= x <= 5 for x in self.layers):
            raise ValueError(f"FeatureConfig.layers {self.layers}: Whisper-base blocks are 0-5")
        if self.window_seconds < 1.0:
            raise ValueError("window_seconds must be at least 1 s")

    @property
    def dim(self) -> int:
        return 1024 * len(self.layers) + (PROSODY_DIM if self.prosody else 0)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["layers"] = list(self.layers)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "FeatureConfig":
        known = {k: d[k] for k in ("layers", "prosody", "window_seconds", "encoder") if k in d}
        return cls(**known)

    def key(self) -> str:
        return hashlib.sha1(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:12]


# --------------------------------------------------------------------------- prosody

PROSODY_DIM = 23
_FRAME = 400  # 25 ms
_HOP = 160  # 10 ms
_F0_MIN, _F0_MAX = 60.0, 500.0


def _frames(samples: np.ndarray, frame: int = _FRAME, hop: int = _HOP) -> np.ndarray:
    if len(samples) < frame:
        samples = np.pad(samples, (0, frame - len(samples)))
    n = 1 + (len(samples) - frame) // hop
    idx = np.arange(frame)[None, :] + hop * np.arange(n)[:, None]
    return samples[idx]


def _stats(x: np.ndarray) -> list[float]:
    if x.size == 0:
        return [0.0, 0.0, 0.0, 0.0, 0.0]
    p10, p50, p90 = np.percentile(x, [10, 50, 90])
    return [float(x.mean()), float(x.std()), float(p10), float(p50), float(p90)]


def prosody_features(samples: np.ndarray) -> np.ndarray:
    """23 prosodic statistics of 16-kHz mono audio.

    Pitch from the normalised autocorrelation of 25-ms frames (60-500 Hz), on a log scale
    (``12 * ln(f0 / 55)``), over voiced frames: mean, std, 10/50/90th percentiles (5), and
    the same for its absolute frame-to-frame change (5); voiced ratio (1); log energy of the
    frames within 35 dB of the loudest: mean, std, 10/50/90th percentiles (5) and range (1);
    energy change: mean absolute and std (2); zero-crossing rate: mean and std (2); log
    duration (1); mean autocorrelation peak (voicing strength) of those frames (1).

    >>> v = prosody_features(np.sin(2 * np.pi * 200 * np.arange(16000) / 16000).astype(np.float32))
    >>> v.shape, round(float(np.exp(v[0] / 12) * 55)) in range(195, 206)   # mean F0 near 200 Hz
    ((23,), True)
    """
    x = np.asarray(samples, dtype=np.float32)
    frames = _frames(x) * np.hanning(_FRAME).astype(np.float32)
    energy = np.log(np.mean(frames**2, axis=1) + 1e-8)
    # normalised autocorrelation by FFT
    n_fft = 1024
    spec = np.fft.rfft(frames, n=n_fft, axis=1)
    ac = np.fft.irfft(np.abs(spec) ** 2, n=n_fft, axis=1)[:, : _FRAME]
    ac = ac / (ac[:, :1] + 1e-10)
    lo, hi = int(SAMPLE_RATE / _F0_MAX), int(SAMPLE_RATE / _F0_MIN)
    lag = lo + np.argmax(ac[:, lo:hi], axis=1)
    peak = ac[np.arange(len(ac)), lag]
    loud = energy > (energy.max() - 8.0)  # within ~35 dB of the loudest frame
    voiced = (peak > 0.45) & loud
    f0 = SAMPLE_RATE / lag.astype(np.float32)
    semitones = 12.0 * np.log(f0 / 55.0)  # natural-log based, scale only matters for training
    sv = semitones[voiced]
    dsv = np.abs(np.diff(semitones))[voiced[1:] & voiced[:-1]] if voiced.sum() > 1 else np.zeros(0)
    signs = np.signbit(frames)
    zcr = np.mean(signs[:, 1:] != signs[:, :-1], axis=1)
    ev = energy[loud]
    de = np.diff(energy) if len(energy) > 1 else np.zeros(1)
    out = (
        _stats(sv)
        + _stats(dsv)
        + [float(voiced.mean())]
        + _stats(ev)
        + [float(ev.max() - ev.min()) if ev.size else 0.0]
        + [float(np.abs(de).mean()), float(de.std())]
        + [float(zcr.mean()), float(zcr.std())]
        + [float(np.log(len(x) / SAMPLE_RATE + 1e-3))]
        + [float(np.mean(peak[loud])) if loud.any() else 0.0]
    )
    return np.asarray(out, dtype=np.float32)


# --------------------------------------------------------------------------- encoder


class FeatureExtractor:
    """Turns 16-kHz samples into encoder frame states and pooled feature vectors.

    The Whisper encoder is loaded on first use (about 0.3 s) and shared.
    """

    def __init__(self, config: FeatureConfig | None = None, encoder: Any = None):
        self.config = config or FeatureConfig()
        self._encoder = encoder

    @property
    def encoder(self):
        if self._encoder is None:
            self._encoder = _shared_encoder()
        return self._encoder

    def frame_states(self, samples: np.ndarray) -> dict[int, np.ndarray]:
        """``{layer: (T, 512)}`` encoder states of the whole input, windows joined in time."""
        from paravox.encoder.numpy_encoder import log_mel

        samples = np.asarray(samples, dtype=np.float32)
        if len(samples) < MIN_SAMPLES:
            samples = np.pad(samples, (0, MIN_SAMPLES - len(samples)))
        parts: dict[int, list[np.ndarray]] = {layer: [] for layer in self.config.layers}
        pieces = windows(samples, self.config.window_seconds)
        mels = [log_mel(p) for p in pieces]
        same = len({m.shape[1] for m in mels}) == 1
        if same and len(mels) > 1:  # one batched pass when the windows are of equal length
            states = self.encoder.forward(np.stack(mels), layers=list(self.config.layers))
            for layer in self.config.layers:
                parts[layer].extend(states[layer])
        else:
            for mel in mels:
                states = self.encoder.forward(mel, layers=list(self.config.layers))
                for layer in self.config.layers:
                    parts[layer].append(states[layer])
        return {layer: np.concatenate(parts[layer]) for layer in self.config.layers}

    def pool(self, states: dict[int, np.ndarray], samples: np.ndarray | None, t0: int = 0, t1: int | None = None) -> np.ndarray:
        """The feature vector of states ``[t0:t1]`` (and prosody of the matching samples)."""
        vec = []
        for layer in self.config.layers:
            s = states[layer][t0:t1]
            if len(s) == 0:
                s = states[layer][max(0, t0 - 1) : t0 + 1]
            vec.append(np.concatenate([s.mean(0), s.std(0)]))
        if self.config.prosody:
            a = int(t0 * STATE_SECONDS * SAMPLE_RATE)
            b = None if t1 is None else int(t1 * STATE_SECONDS * SAMPLE_RATE)
            vec.append(prosody_features(samples[a:b] if samples is not None else np.zeros(MIN_SAMPLES)))
        return np.concatenate(vec).astype(np.float32)

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        """One feature vector (``config.dim``) for the whole input."""
        samples = np.asarray(samples, dtype=np.float32)
        return self.pool(self.frame_states(samples), samples)


def _shared_encoder():
    from paravox.encoder.onnx_encoder import shared_encoder

    return shared_encoder()
