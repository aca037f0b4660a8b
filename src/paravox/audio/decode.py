"""Turn any supported input into float32 mono samples at the model rate.

:mod:`paravox.audio` is the only place in paravox that decodes, downmixes,
resamples or validates audio. Everything else receives an :class:`Audio` (or
blocks of samples from :func:`stream_audio`) and can rely on it being float32,
mono, 1-D and at the requested rate.

Inputs accepted by :func:`load_audio` and :func:`stream_audio`:

* a path (``str`` or ``os.PathLike``); ``"-"`` reads standard input;
* ``bytes`` / ``bytearray`` / ``memoryview`` holding a whole file;
* a binary file object (anything with ``.read``);
* ``(array, sample_rate)`` or ``{"waveform": array, "sample_rate": int}``;
* an :class:`Audio`, passed through (resampled if needed).

Containers and codecs are whatever FFmpeg (through PyAV) recognises from the
bytes themselves: wav, flac, mp3, ogg/vorbis, opus, m4a/aac, webm, ... The file
extension is never consulted. Downmixing is the plain mean of the channels;
resampling uses libswresample, for files and arrays alike.

Every failure raises :class:`AudioError`, whose ``reason`` is one of
:data:`REASONS` and whose message names the input and says what to do.

Arrays are read by :mod:`paravox.audio.arrays`, files, bytes and streams by
:mod:`paravox.audio.containers` (which says how truncated files are found),
and both resampled by :mod:`paravox.audio.resample`.

Example:
    >>> from paravox.audio import load_audio
    >>> from paravox.testing import tone, encode
    >>> audio = load_audio(encode(tone(440, seconds=2.0, sample_rate=44100), 44100, "mp3"))
    >>> audio.sample_rate, round(audio.duration, 2)
    (16000, 2.0)
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from paravox.audio.arrays import array_input
from paravox.audio.containers import Decoder
from paravox.audio.errors import REASONS, AudioError, check_length
from paravox.audio.resample import resample

__all__ = [
    "SAMPLE_RATE",
    "REASONS",
    "AudioError",
    "Audio",
    "source_name",
    "load_audio",
    "probe_duration",
    "stream_audio",
]

SAMPLE_RATE = 16000


@dataclass
class Audio:
    """Decoded audio: float32 mono samples at ``sample_rate``.

    Example:
        >>> import numpy as np
        >>> Audio(np.zeros(8000, dtype=np.float32), 16000, "<array>").duration
        0.5
    """

    samples: np.ndarray
    sample_rate: int = SAMPLE_RATE
    source: str = "<array>"

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.sample_rate


def source_name(source: Any) -> str:
    """The human-readable name of an input, as used in :class:`AudioError`.

    Example:
        >>> source_name("talk.wav"), source_name("-"), source_name(b"abc")
        ('talk.wav', '<stdin>', '<bytes: 3 B>')
    """
    if isinstance(source, Audio):
        return source.source
    if isinstance(source, str) and source == "-":
        return "<stdin>"
    if isinstance(source, (str, os.PathLike)):
        return os.fsdecode(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"<bytes: {memoryview(source).nbytes} B>"
    if isinstance(source, (tuple, dict, np.ndarray)):
        return "<array>"
    if hasattr(source, "read"):
        name = getattr(source, "name", None)
        return name if isinstance(name, str) and name else "<file object>"
    return f"<{type(source).__name__}>"


def load_audio(
    source: Any,
    *,
    sample_rate: int = SAMPLE_RATE,
    name: str | None = None,
    max_duration: float | None = None,
) -> Audio:
    """Decode ``source`` into float32 mono samples at ``sample_rate``.

    ``name`` overrides the name used in the result and in errors (useful for
    bytes uploaded under a file name). ``max_duration`` (seconds) rejects longer
    input with ``reason="too_large"``, from the declared length when the
    container has one, else as soon as decoding passes it.

    A valid file with no samples gives an :class:`Audio` of length 0; a 0-byte
    input raises ``AudioError(reason="empty")``. Unsupported Python types raise
    ``TypeError``.

    Example:
        >>> import numpy as np
        >>> audio = load_audio((np.zeros((2, 44100), dtype=np.int16), 44100))
        >>> audio.samples.dtype, audio.samples.shape, audio.source
        (dtype('float32'), (16000,), '<array>')
    """
    _check_rate(sample_rate)
    label = name or source_name(source)
    if isinstance(source, Audio):
        audio = dataclasses.replace(source, source=label)
        if audio.sample_rate != sample_rate:
            samples = resample(audio.samples, audio.sample_rate, sample_rate)
            audio = Audio(samples, sample_rate, label)
        check_length(len(audio.samples) / sample_rate, max_duration, label)
        return audio
    if isinstance(source, (tuple, dict, np.ndarray)):
        samples, rate = array_input(source, label)
        check_length(len(samples) / rate, max_duration, label)
        return Audio(resample(samples, rate, sample_rate), sample_rate, label)
    decoder = Decoder(source, label, sample_rate, max_duration)
    chunks = list(decoder.chunks())
    samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    return Audio(samples, sample_rate, label)


def stream_audio(
    source: Any,
    *,
    window_seconds: float = 300.0,
    sample_rate: int = SAMPLE_RATE,
    name: str | None = None,
    max_duration: float | None = None,
) -> Iterator[np.ndarray]:
    """Yield consecutive float32 mono blocks of ``window_seconds`` (the last one shorter).

    Files are decoded incrementally, so memory stays around one window however
    long the recording is. The input is opened and checked at once (missing,
    empty, not audio, truncated WAV, ...); errors found later in the stream are
    raised from the iterator. The blocks joined together equal
    ``load_audio(source).samples`` exactly.

    Example:
        >>> from paravox.testing import silence, wav_bytes
        >>> blocks = stream_audio(wav_bytes(silence(2.5)), window_seconds=1.0)
        >>> [len(block) for block in blocks]
        [16000, 16000, 8000]
    """
    _check_rate(sample_rate)
    window = round(window_seconds * sample_rate)
    if window <= 0:
        raise ValueError(f"window_seconds must give at least one sample, got {window_seconds}")
    label = name or source_name(source)
    if isinstance(source, (Audio, tuple, dict, np.ndarray)):
        samples = load_audio(source, sample_rate=sample_rate, name=label, max_duration=max_duration).samples
        return (samples[start : start + window] for start in range(0, len(samples), window))
    return _windows(Decoder(source, label, sample_rate, max_duration).chunks(), window)


def probe_duration(source: Any) -> float | None:
    """The length in seconds a file declares (or FFmpeg estimates), without decoding it.

    For progress bars and planning, not for trust: None when unknown. Raises
    :class:`AudioError` like :func:`load_audio` for unusable input.
    """
    label = source_name(source)
    if isinstance(source, (Audio, tuple, dict, np.ndarray)):
        return load_audio(source, name=label).duration
    decoder = Decoder(source, label, SAMPLE_RATE)
    try:
        if decoder.declared is not None:
            return decoder.declared
        duration = decoder.container.duration
        return None if duration is None else duration / 1_000_000
    finally:
        decoder.close()


# ---------------------------------------------------------------------------
# arrays


def _check_rate(sample_rate: int) -> None:
    if not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive int, got {sample_rate!r}")


def _windows(chunks: Iterator[np.ndarray], window: int) -> Iterator[np.ndarray]:
    """Re-block a chunk stream into blocks of exactly ``window`` samples (last shorter)."""
    pending: list[np.ndarray] = []
    size = 0
    for chunk in chunks:
        pending.append(chunk)
        size += len(chunk)
        if size >= window:
            joined = np.concatenate(pending)
            starts = range(0, len(joined) - window + 1, window)
            for start in starts:
                yield joined[start : start + window]
            rest = joined[starts[-1] + window :]
            pending, size = [rest], len(rest)
    if size:
        yield np.concatenate(pending)
