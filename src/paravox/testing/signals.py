"""Synthetic audio for tests: tones, silence, noise, and encoded files in memory.

Everything here is deterministic and small, so a test can build exactly the
input it needs instead of shipping fixture files.

Example:
    >>> from paravox.testing import tone, encode
    >>> samples = tone(440, seconds=0.5)
    >>> samples.shape, samples.dtype
    ((8000,), dtype('float32'))
    >>> encode(samples, 16000, "flac")[:4]
    b'fLaC'
"""

from __future__ import annotations

import io
import struct
from fractions import Fraction

import numpy as np

__all__ = ["tone", "silence", "noise", "wav_bytes", "encode", "truncate", "FORMATS"]

# fmt -> (container format, encoder). The container decides the bytes on disk;
# the extension of a file written from them is the caller's business.
FORMATS = {
    "wav": ("wav", "pcm_s16le"),
    "flac": ("flac", "flac"),
    "mp3": ("mp3", "libmp3lame"),
    "ogg": ("ogg", "vorbis"),
    "opus": ("ogg", "libopus"),
    "m4a": ("ipod", "aac"),
    "webm": ("webm", "libopus"),
}

_WAV_SUBTYPES = {  # subtype -> (format tag, bytes per sample, numpy dtype)
    "PCM_U8": (1, 1, "<u1"),
    "PCM_16": (1, 2, "<i2"),
    "PCM_24": (1, 3, None),
    "PCM_32": (1, 4, "<i4"),
    "FLOAT": (3, 4, "<f4"),
}


def tone(
    freq: float = 440.0, seconds: float = 1.0, sample_rate: int = 16000, amplitude: float = 0.5
) -> np.ndarray:
    """A sine wave as float32 mono, e.g. ``tone(1000, 0.25, 8000)``."""
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def silence(seconds: float = 1.0, sample_rate: int = 16000) -> np.ndarray:
    """All-zero float32 mono samples."""
    return np.zeros(round(seconds * sample_rate), dtype=np.float32)


def noise(
    seconds: float = 1.0, sample_rate: int = 16000, amplitude: float = 0.1, seed: int = 0
) -> np.ndarray:
    """Reproducible white noise in ``[-amplitude, amplitude]`` (float32 mono)."""
    rng = np.random.default_rng(seed)
    n = round(seconds * sample_rate)
    return rng.uniform(-amplitude, amplitude, n).astype(np.float32)


def _as_frames(samples: np.ndarray, channels: int) -> np.ndarray:
    """(n,) or (n, ch) float -> (n, channels) float64 clipped to [-1, 1]."""
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 1:
        x = np.repeat(x[:, None], channels, axis=1)
    if x.ndim != 2 or x.shape[1] != channels:
        raise ValueError(f"samples of shape {x.shape} do not match channels={channels}")
    return np.clip(x, -1.0, 1.0)


def wav_bytes(
    samples: np.ndarray, sample_rate: int = 16000, channels: int = 1, subtype: str = "PCM_16"
) -> bytes:
    """A complete RIFF/WAVE file in memory.

    ``samples`` is float in [-1, 1], shaped ``(n,)`` (copied to every channel)
    or ``(n, channels)``. ``subtype`` is one of PCM_U8, PCM_16, PCM_24, PCM_32, FLOAT.

    Example:
        >>> data = wav_bytes(tone(seconds=0.1), 16000, channels=2)
        >>> len(data)  # 44-byte header + 1600 frames * 2 channels * 2 bytes
        6444
    """
    if subtype not in _WAV_SUBTYPES:
        raise ValueError(f"unknown wav subtype {subtype!r}; use one of {sorted(_WAV_SUBTYPES)}")
    tag, width, dtype = _WAV_SUBTYPES[subtype]
    x = _as_frames(samples, channels)
    if subtype == "FLOAT":
        data = x.astype(dtype).tobytes()
    elif subtype == "PCM_U8":
        data = np.round(x * 127 + 128).astype(dtype).tobytes()
    else:
        full = 2 ** (8 * width - 1)
        ints = np.clip(np.round(x * full), -full, full - 1).astype("<i4")
        if width == 3:  # keep the low three bytes of each little-endian int32
            data = ints.view("u1").reshape(-1, 4)[:, :3].tobytes()
        else:
            data = ints.astype(dtype).tobytes()
    block = channels * width
    fmt = struct.pack(
        "<HHIIHH", tag, channels, sample_rate, sample_rate * block, block, 8 * width
    )
    return b"".join([
        b"RIFF", struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data)), b"WAVE",
        b"fmt ", struct.pack("<I", len(fmt)), fmt,
        b"data", struct.pack("<I", len(data)), data,
    ])


def encode(samples: np.ndarray, sample_rate: int = 16000, fmt: str = "wav", channels: int = 1) -> bytes:
    """Encode float samples with PyAV into one of :data:`FORMATS` and return the file bytes.

    ``samples`` is shaped ``(n,)`` (copied to every channel) or ``(n, channels)``.
    Opus is encoded at 48 kHz and ogg/vorbis as stereo (encoder limits); the
    decoded signal is the same tone either way. With 0 samples, wav/flac give a
    valid empty file, while the mp3 and m4a muxers write nothing at all.

    Example:
        >>> mp3 = encode(tone(seconds=1.0), 16000, "mp3")
        >>> mp3[:3] in (b"ID3", b"\\xff\\xfb")
        True
    """
    import av  # a runtime dependency of paravox, but keep module import cheap

    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {sorted(FORMATS)}")
    container_format, codec = FORMATS[fmt]
    if codec == "vorbis":  # FFmpeg's built-in vorbis encoder only writes stereo
        channels = 2
    x = _as_frames(samples, channels).astype(np.float32)
    layout = "mono" if channels == 1 else "stereo" if channels == 2 else f"{channels}c"
    rate = 48000 if codec == "libopus" else sample_rate  # opus only runs at 8/12/16/24/48 kHz
    buf = io.BytesIO()
    with av.open(buf, "w", format=container_format) as out:
        options = {"strict": "experimental"} if codec == "vorbis" else {}
        stream = out.add_stream(codec, rate=rate, options=options)
        stream.layout = layout
        resampler = av.AudioResampler(format=stream.format, layout=layout, rate=rate)
        # Encode in modest chunks so long signals do not build one giant frame.
        step = 1 << 16
        for start in range(0, len(x), step):
            chunk = np.ascontiguousarray(x[start : start + step]).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout=layout)
            frame.sample_rate = sample_rate
            frame.pts = start  # timestamps let muxers write priming/length info
            frame.time_base = Fraction(1, sample_rate)
            for converted in resampler.resample(frame):
                out.mux(stream.encode(converted))
        for converted in resampler.resample(None):
            out.mux(stream.encode(converted))
        out.mux(stream.encode(None))
    return buf.getvalue()


def truncate(data: bytes, fraction: float = 0.5) -> bytes:
    """Keep the first ``fraction`` of the bytes, as a cut-off download would."""
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be in [0, 1], got {fraction}")
    return bytes(data[: int(len(data) * fraction)])
