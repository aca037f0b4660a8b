"""Inputs of the vocal-event models: Whisper-base encoder states, read in NumPy.

Both models read the offline Whisper-base encoder (:mod:`paravox.encoder.numpy_encoder`)
on *unpadded* audio, so the cost follows the length of the audio rather than a fixed 30-s
window, and only the blocks up to the deepest layer a model uses are computed.

- The **classifier** (one isolated vocalization) reads mean+std-pooled states of a few
  layers over the whole clip: :func:`pooled_states`. Its config may name another framing
  (:data:`FRAMINGS`): ``padded_fast``, the clip as at the start of a zero-padded 30-s window,
  approximated at about 1.4 times the short cost.
- The **detector** (events inside a recording) reads per-frame states (one per 20 ms) of
  one layer over fixed chunks: :func:`chunk_spans` says where the chunks lie, and a model
  trained on chunks of that length is run on chunks of that length (the encoder's states
  depend on how long its input is, so training and inference use the same framing).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from paravox.encoder.framing import MIN_SAMPLES, STATE_SECONDS, windows
from paravox.encoder.numpy_encoder import log_mel
from paravox.encoder.onnx_encoder import OnnxWhisperEncoder, shared_encoder

__all__ = ["FRAME_SECONDS", "FRAMINGS", "encoder", "layer_states", "padded_fast_states", "pooled_states", "chunk_spans"]

#: one encoder state per 20 ms (:mod:`paravox.encoder.framing`)
FRAME_SECONDS = STATE_SECONDS


def encoder() -> OnnxWhisperEncoder:
    """The Whisper-base encoder (ONNX Runtime, float32; same states as the NumPy one), one per process."""
    return shared_encoder()


def _at_least_one_state(samples: np.ndarray) -> np.ndarray:
    """``samples`` as float32, zero-padded to :data:`MIN_SAMPLES` when shorter."""
    samples = np.asarray(samples, dtype=np.float32)
    if len(samples) < MIN_SAMPLES:
        samples = np.pad(samples, (0, MIN_SAMPLES - len(samples)))
    return samples


def _pieces(samples: np.ndarray) -> list[np.ndarray]:
    """``samples`` in near-equal pieces of at most 30 s (one window each)."""
    return windows(_at_least_one_state(samples), 30.0)


def layer_states(samples: np.ndarray, layers: Sequence[int]) -> dict[int, np.ndarray]:
    """``{layer: (frames, 512)}`` encoder states of ``samples`` (16 kHz mono, up to 30 s)."""
    return encoder().forward(log_mel(_at_least_one_state(samples)), layers=list(layers))


def padded_fast_states(samples: np.ndarray, layers: Sequence[int]) -> dict[int, np.ndarray]:
    """``{layer: (frames, 512)}`` states of ``samples`` close to those of each piece inside a
    zero-padded 30-s window (as transcription frames it), at about 1.4 times the cost of
    :func:`layer_states`'s for a 3-s clip (``benchmarks/encoder_speed.py``; the padded window
    itself costs about 11 times more): each piece of at most 30 s is encoded alone, but every
    block's attention also reads a silent window's keys and values after it
    (``OnnxWhisperEncoder.forward(..., silence_after=True)``), so that it sees what it would
    see at the start of a padded window except the padding's reaction to it."""
    pieces = [encoder().forward(log_mel(p), layers=list(layers), silence_after=True) for p in _pieces(samples)]
    return {layer: np.concatenate([piece[layer] for piece in pieces]) for layer in layers}


#: How :func:`pooled_states` frames its input: ``short`` encodes the clip as it is (the cost
#: follows its length); ``padded_fast`` as at the start of a zero-padded 30-s window, at about
#: 1.4 times the cost of ``short`` (:func:`padded_fast_states`).
FRAMINGS = ("short", "padded_fast")

_STATES = {"short": layer_states, "padded_fast": padded_fast_states}


def pooled_states(samples: np.ndarray, layers: Sequence[int], framing: str = "short") -> np.ndarray:
    """Mean and standard deviation over time of each layer's states, concatenated.

    ``len(layers) * 1024`` values, in the order of ``layers``. ``framing``: one of :data:`FRAMINGS`.
    """
    if framing not in FRAMINGS:
        raise ValueError(f"framing {framing!r}: choose one of {', '.join(FRAMINGS)}")
    states = _STATES[framing](samples, layers)
    return np.concatenate(
        [np.concatenate([states[layer].mean(axis=0), states[layer].std(axis=0)]) for layer in layers]
    ).astype(np.float32)


def chunk_spans(n_samples: int, chunk: int, hop: int) -> list[tuple[int, int]]:
    """``(start, end)`` sample spans of chunks ``chunk`` long every ``hop`` samples.

    The last chunk ends at the end of the input (it is moved back rather than cut short,
    when the input is long enough), so every chunk but a lone short one is full length.

    >>> chunk_spans(25, 10, 8)
    [(0, 10), (8, 18), (15, 25)]
    >>> chunk_spans(6, 10, 8)
    [(0, 6)]
    """
    if n_samples <= chunk:
        return [(0, n_samples)] if n_samples > 0 else []
    spans = []
    start = 0
    while start + chunk < n_samples:
        spans.append((start, start + chunk))
        start += hop
    spans.append((n_samples - chunk, n_samples))
    return spans
