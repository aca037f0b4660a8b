"""Audio given as an array (``(samples, rate)`` or ``{"waveform", "sample_rate"}``) -> float32 mono.

Downmixing is the plain mean of the channels; int16 and int32 PCM are scaled to [-1, 1).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from paravox.audio.errors import AudioError

__all__ = ["MAX_CHANNELS", "array_input"]

MAX_CHANNELS = 8  # the most channels an array may have (to tell channels from time)


def array_input(source: Any, label: str) -> tuple[np.ndarray, int]:
    """(array, rate) / {"waveform", "sample_rate"} -> (float32 mono 1-D, rate)."""
    if isinstance(source, np.ndarray):
        raise AudioError(label, "invalid_array", "a bare array has no sample rate")
    if isinstance(source, dict):
        if "waveform" not in source or "sample_rate" not in source:
            keys = sorted(map(str, source))
            detail = f"dict keys {keys}, expected 'waveform' and 'sample_rate'"
            raise AudioError(label, "invalid_array", detail)
        waveform, rate = source["waveform"], source["sample_rate"]
    elif len(source) == 2:
        waveform, rate = source
    else:
        raise AudioError(label, "invalid_array", f"{len(source)} items, expected (samples, sample_rate)")
    is_number = isinstance(rate, numbers.Real) and not isinstance(rate, (bool, np.bool_))
    if not (is_number and rate > 0 and float(rate).is_integer()):
        raise AudioError(label, "invalid_array", f"sample_rate {rate!r} is not a positive integer")
    if waveform is None:
        raise AudioError(label, "invalid_array", "samples is None")
    x = np.asarray(waveform)
    if x.ndim > 2:
        raise AudioError(label, "invalid_array", f"{x.ndim}-D array of shape {x.shape}")
    if x.ndim == 0:
        raise AudioError(label, "invalid_array", "a scalar, not an array of samples")
    x = _to_float32(x, label)
    if x.ndim == 2:
        channel_axis = 0 if x.shape[0] <= x.shape[1] else 1  # (channels, n) when ambiguous
        if x.shape[channel_axis] > MAX_CHANNELS:
            raise AudioError(label, "invalid_array", f"shape {x.shape}: more than {MAX_CHANNELS} channels")
        x = x.mean(axis=channel_axis, dtype=np.float32)
    if not np.isfinite(x).all():
        raise AudioError(label, "invalid_array", "samples contain NaN or infinity")
    return x, int(rate)


def _to_float32(x: np.ndarray, label: str) -> np.ndarray:
    if x.dtype == np.int16:
        return x.astype(np.float32) / 32768.0
    if x.dtype == np.int32:
        return (x / 2147483648.0).astype(np.float32)
    if np.issubdtype(x.dtype, np.floating):
        return x.astype(np.float32, copy=False)
    raise AudioError(label, "invalid_array", f"dtype {x.dtype} is not float, int16 or int32")
