"""Turn any supported input into float32 mono samples at the model rate.

This is the only place in paravox that decodes, downmixes, resamples or
validates audio. Everything else receives an :class:`Audio` (or blocks of
samples from :func:`stream_audio`) and can rely on it being float32, mono,
1-D and at the requested rate.

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

Truncated files. A cut-off file is reported ``"truncated"`` when its
container says how long it should be and less than 90% of that decodes, when
the container's end marker is missing, or when decoding fails at the end (a
damaged packet followed by more audio is skipped, as FFmpeg does, so stitched
or slightly damaged files still load). Per container:

* WAV: the ``data`` chunk size. FFmpeg clamps the duration it reports to the
  bytes actually present, so the header is read here directly; a short WAV
  is rejected before any decoding. Streamed WAVs (size 0 or 0xFFFFFFFF)
  declare nothing and decode to what is there.
* FLAC: STREAMINFO's sample count (``stream.duration``); in practice a cut
  FLAC already fails on its last, partial frame.
* MP3: only with a Xing/Info/VBRI header (LAME writes one). Without it FFmpeg
  estimates the duration from the file size, which tells nothing, so a cut
  raw MP3 decodes to what is there.
* MP4/M4A: the ``moov`` box. When it sits at the end (the default), a cut
  file cannot be opened; a file that starts with ``ftyp`` but cannot be opened
  is reported ``"truncated"``.
* Matroska/WebM: the segment ``Duration`` element, when written.
* Ogg (vorbis, opus): FFmpeg takes the duration from the last page present,
  so a cut file looks complete; instead the last page must carry the
  end-of-stream flag. A file cut inside its headers cannot be opened
  (FFmpeg hits the end of file) and is ``"truncated"`` too.

Example:
    >>> from paravox.audio import load_audio
    >>> from paravox.testing import tone, encode
    >>> audio = load_audio(encode(tone(440, seconds=2.0, sample_rate=44100), 44100, "mp3"))
    >>> audio.sample_rate, round(audio.duration, 2)
    (16000, 2.0)
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import numbers
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from paravox.errors import ParavoxError

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

REASONS = {  # reason -> (what went wrong, what to do about it)
    "not_found": ("not found", "check the path"),
    "empty": ("is empty", "check that the file was written completely, or export it again"),
    "not_audio": (
        "not audio",
        "check that the file is a wav/flac/mp3/ogg/opus/m4a/aac/webm recording",
    ),
    "truncated": (
        "truncated",
        "the file was probably cut off while copying, downloading or recording: fetch or export it again",
    ),
    "unsupported_codec": (
        "unsupported codec",
        "convert it first, e.g. `ffmpeg -i INPUT -ac 1 -ar 16000 output.wav`",
    ),
    "invalid_array": (
        "invalid array",
        "pass (samples, sample_rate) with finite float samples (or int16/int32 PCM) "
        "shaped (n,), (n, channels) or (channels, n), and sample_rate > 0",
    ),
    "too_large": (
        "too long",
        "split the recording, use stream_audio() for long input, or raise max_duration",
    ),
    "unreadable": ("cannot be read", "check that it is a readable audio file"),
}

MAX_CHANNELS = 8  # the most channels an array may have (to tell channels from time)
TRUNCATION_RATIO = 0.9  # decoded / declared below this -> "truncated"
_SPOOL_BYTES = 32 * 1024 * 1024  # stdin and pipes beyond this go to a temp file

# Containers that carry video; one without an audio stream is reported
# "unsupported_codec" (a video with no sound) rather than "not_audio" (an
# image, a text file, ... which FFmpeg also opens, as video).
_VIDEO_CONTAINERS = {"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "avi", "flv", "asf", "mpeg", "mpegts"}

# Containers whose reported duration comes from the file's own header (or, for
# ogg, from its last page) rather than a bitrate estimate; mp3 only with a
# Xing/Info/VBRI header. Used for max_duration before decoding and for truncation.
_KNOWN_LENGTH = {"flac", "mp3", "ogg", "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"}


class AudioError(ParavoxError, ValueError):
    """Raised for any input that cannot be turned into audio.

    ``source`` names the input (see :func:`source_name`), ``reason`` is one of
    :data:`REASONS`; the message says what went wrong and what to do.

    Example:
        >>> err = AudioError("talk.mp3", "not_audio", "no audio stream found")
        >>> print(err)
        talk.mp3: not audio (no audio stream found); check that the file is a wav/flac/mp3/ogg/opus/m4a/aac/webm recording
        >>> err.reason
        'not_audio'
    """

    def __init__(self, source: str, reason: str, detail: str = "", fix: str | None = None):
        if reason not in REASONS:
            raise ValueError(f"unknown AudioError reason {reason!r}; use one of {sorted(REASONS)}")
        problem, default_fix = REASONS[reason]
        self.source = source
        self.reason = reason
        self.detail = detail
        self.fix = fix or default_fix
        super().__init__(f"{source}: {problem}{f' ({detail})' if detail else ''}; {self.fix}")

    def __reduce__(self):  # keep it picklable for worker processes
        return type(self), (self.source, self.reason, self.detail, self.fix)


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
            samples = _resample(audio.samples, audio.sample_rate, sample_rate)
            audio = Audio(samples, sample_rate, label)
        _check_length(len(audio.samples) / sample_rate, max_duration, label)
        return audio
    if isinstance(source, (tuple, dict, np.ndarray)):
        samples, rate = _array_input(source, label)
        _check_length(len(samples) / rate, max_duration, label)
        return Audio(_resample(samples, rate, sample_rate), sample_rate, label)
    decoder = _Decoder(source, label, sample_rate, max_duration)
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
    return _windows(_Decoder(source, label, sample_rate, max_duration).chunks(), window)


def probe_duration(source: Any) -> float | None:
    """The length in seconds a file declares (or FFmpeg estimates), without decoding it.

    For progress bars and planning, not for trust: None when unknown. Raises
    :class:`AudioError` like :func:`load_audio` for unusable input.
    """
    label = source_name(source)
    if isinstance(source, (Audio, tuple, dict, np.ndarray)):
        return load_audio(source, name=label).duration
    decoder = _Decoder(source, label, SAMPLE_RATE)
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


def _check_length(seconds: float, max_duration: float | None, label: str, how: str = "") -> None:
    if max_duration is not None and seconds > max_duration:
        detail = f"{seconds:.1f} s{how}, more than max_duration={max_duration:g} s"
        raise AudioError(label, "too_large", detail)


def _array_input(source: Any, label: str) -> tuple[np.ndarray, int]:
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


def _resample(samples: np.ndarray, rate: int, sample_rate: int) -> np.ndarray:
    """Resample float32 mono with libswresample (the same path files take)."""
    if rate == sample_rate:
        return samples
    import av

    resampler, chunks, step = _Resampler(sample_rate), [], 1 << 18
    for start in range(0, len(samples), step):
        piece = np.ascontiguousarray(samples[start : start + step], dtype=np.float32).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(piece, format="fltp", layout="mono")
        frame.sample_rate = rate
        chunks.append(resampler.push(frame))
    chunks.append(resampler.flush())
    return np.concatenate(chunks)


# ---------------------------------------------------------------------------
# files, bytes, streams


class _Resampler:
    """Decoded frames in any format/layout/rate -> float32 mono at ``sample_rate``.

    Channels are averaged after resampling (libswresample's own downmix scales
    float output by 1/sqrt(2) per channel, which would change loudness). The
    total output length is exactly round(input length * ratio): libswresample
    emits nothing for inputs shorter than its filter, so those are padded with
    zeros at the end.
    """

    def __init__(self, sample_rate: int):
        self.sample_rate = sample_rate
        self.setup = None  # (format, layout, rate) of the frames going in
        self.resampler = None
        self.expected = 0.0  # output samples the input so far should give
        self.emitted = 0

    def push(self, frame) -> np.ndarray:
        import av

        out = []
        setup = (frame.format.name, frame.layout.name, frame.sample_rate)
        if setup != self.setup:  # the first frame, or the stream changed format mid-way
            out += self._drain()
            self.setup = setup
            self.resampler = av.AudioResampler(format="fltp", layout=frame.layout, rate=self.sample_rate)
        self.expected += frame.samples * self.sample_rate / frame.sample_rate
        frame.pts = None
        out += [self._mono(converted) for converted in self.resampler.resample(frame)]
        return self._emit(out)

    def flush(self) -> np.ndarray:
        out = self._drain()
        missing = round(self.expected) - self.emitted - sum(map(len, out))
        if missing > 0:
            out.append(np.zeros(missing, dtype=np.float32))
        return self._emit(out)

    def _drain(self) -> list[np.ndarray]:
        if self.resampler is None:
            return []
        out = [self._mono(converted) for converted in self.resampler.resample(None)]
        self.resampler = self.setup = None
        return out

    @staticmethod
    def _mono(frame) -> np.ndarray:
        planes = frame.to_ndarray()  # (channels, n) float32
        return planes[0] if len(planes) == 1 else planes.mean(axis=0, dtype=np.float32)

    def _emit(self, chunks: list[np.ndarray]) -> np.ndarray:
        out = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
        self.emitted += len(out)
        return out


class _Decoder:
    """An opened, validated container; :meth:`chunks` decodes it incrementally."""

    def __init__(self, source: Any, label: str, sample_rate: int, max_duration: float | None = None):
        import av

        self.label = label
        self.sample_rate = sample_rate
        self.max_duration = max_duration
        self.file, self.owned = _open_binary(source, label)
        self.container = None
        try:
            try:
                self.container = av.open(self.file, mode="r", metadata_errors="ignore")
            except av.error.InvalidDataError:
                if _peek(self.file, lambda file: file.read(8)[4:]) == b"ftyp":
                    detail = "an MP4/M4A file whose index (moov box) is missing"
                    raise AudioError(label, "truncated", detail) from None
                raise AudioError(label, "not_audio", "FFmpeg does not recognise the format") from None
            except av.error.EOFError:
                raise AudioError(label, "truncated", "the file ends inside its headers") from None
            except (av.error.FFmpegError, OSError) as err:
                raise AudioError(label, "unreadable", (err.strerror or str(err)).lower()) from None
            self.stream = self._audio_stream()
            self.declared = self._declared_seconds()
            if self.declared is not None:
                _check_length(self.declared, max_duration, label, " declared")
        except BaseException:
            self.close()
            raise

    def _audio_stream(self):
        container = self.container
        streams = container.streams
        decodable = [s for s in streams.audio if s.codec_context is not None]
        if decodable:
            return decodable[0]
        if streams.audio:
            raise AudioError(self.label, "unsupported_codec", "FFmpeg has no decoder for its audio stream")
        if streams.video and container.format.name in _VIDEO_CONTAINERS:
            codec = streams.video[0].codec_context
            raise AudioError(
                self.label,
                "unsupported_codec",
                f"no audio track, only video ({codec.name if codec else 'unknown codec'})",
                "pass a recording that has sound",
            )
        kinds = ", ".join(sorted({s.type for s in streams})) or "nothing"
        found = f"no audio stream found; FFmpeg reads it as {container.format.name} holding {kinds}"
        raise AudioError(self.label, "not_audio", found)

    def _declared_seconds(self) -> float | None:
        """The length the container declares, or None when it does not know it."""
        fmt = self.container.format.name
        if fmt == "wav":
            lengths = _peek(self.file, _wav_lengths)
            if lengths is not None:
                declared, present = lengths
                if present < TRUNCATION_RATIO * declared:
                    raise AudioError(
                        self.label, "truncated",
                        f"{present:.2f} s of audio present, the header declares {declared:.2f} s",
                    )
                return declared
            return None
        if fmt == "ogg" and not _peek(self.file, _ogg_has_end):
            present = f", about {self.container.duration / 1e6:.2f} s present" if self.container.duration else ""
            raise AudioError(self.label, "truncated", f"no complete final Ogg page{present}")
        if fmt not in _KNOWN_LENGTH or (fmt == "mp3" and not _peek(self.file, _has_mp3_length_header)):
            return None
        stream = self.stream
        if stream.duration is not None and stream.time_base:
            return float(stream.duration * stream.time_base)
        if self.container.duration is not None:
            return self.container.duration / 1_000_000
        return None

    def chunks(self) -> Iterator[np.ndarray]:
        """Decode the chosen stream, yielding float32 mono chunks at the target rate."""
        resampler = _Resampler(self.sample_rate)
        emitted = 0
        try:
            for frame in itertools.chain(self._frames(), [None]):
                chunk = resampler.flush() if frame is None else resampler.push(frame)
                emitted += len(chunk)
                if self.max_duration is not None and emitted > self.max_duration * self.sample_rate:
                    detail = f"longer than max_duration={self.max_duration:g} s, stopped decoding there"
                    raise AudioError(self.label, "too_large", detail)
                if len(chunk):
                    yield chunk
            if self.declared and self.decoded < TRUNCATION_RATIO * self.declared:
                raise AudioError(
                    self.label, "truncated",
                    f"decoded {self.decoded:.2f} s, the header declares {self.declared:.2f} s",
                )
        finally:
            self.close()

    def _frames(self):
        """Decoded frames. A damaged packet is skipped, as FFmpeg does, when audio follows
        it; a failure at the end is "truncated" (or "not_audio" if nothing decoded)."""
        import av

        self.decoded = 0.0  # seconds of input decoded
        failure = None  # the last decoding error that no audio has followed yet
        packets = self.container.demux(self.stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except av.error.FFmpegError as err:  # the demuxer gave up
                failure = err
                break
            try:
                frames = packet.decode()
            except av.error.FFmpegError as err:
                failure = err
                continue
            for frame in frames:
                if packet.size:  # not the decoder's final flush
                    failure = None
                self.decoded += frame.samples / frame.sample_rate
                yield frame
        if failure is not None:
            why = (failure.strerror or str(failure)).lower()
            if self.decoded == 0:
                raise AudioError(self.label, "not_audio", f"nothing could be decoded: {why}")
            detail = f"decoding stopped after {self.decoded:.2f} s: {why}"
            raise AudioError(self.label, "truncated", detail)

    def close(self) -> None:
        if self.container is not None:
            self.container.close()
            self.container = None
        if self.owned and self.file is not None:
            self.file.close()
        self.file = None


def _open_binary(source: Any, label: str):
    """-> (seekable binary file object, whether we own it). Checks missing and empty input."""
    if isinstance(source, str) and source == "-":
        return _spool(sys.stdin.buffer, label), True
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if os.path.isdir(path):
            raise AudioError(label, "unreadable", "a directory, not a file", "pass the path of an audio file")
        try:
            file = open(path, "rb")
        except FileNotFoundError:
            fix = "check the path and that the file exists"
            raise AudioError(label, "not_found", "no such file", fix) from None
        except OSError as err:
            detail = err.strerror or str(err)
            raise AudioError(label, "unreadable", detail, "check the file's permissions") from None
        if os.fstat(file.fileno()).st_size == 0:
            file.close()
            raise AudioError(label, "empty", "0 bytes")
        return file, True
    if isinstance(source, (bytes, bytearray, memoryview)):
        if memoryview(source).nbytes == 0:
            raise AudioError(label, "empty", "0 bytes")
        return io.BytesIO(source), True
    if hasattr(source, "read"):
        if isinstance(source, io.TextIOBase):
            fix = "open it in binary mode: open(path, 'rb')"
            raise AudioError(label, "unreadable", "a text-mode file", fix)
        seekable = getattr(source, "seekable", lambda: False)()
        file, owned = (source, False) if seekable else (_spool(source, label), True)
        if file.seek(0, io.SEEK_END) == 0:
            raise AudioError(label, "empty", "0 bytes")
        file.seek(0)
        return file, owned
    raise TypeError(
        f"cannot load audio from {type(source).__name__}; pass a path, '-', bytes, a binary file object, "
        "(samples, sample_rate), {'waveform': ..., 'sample_rate': ...} or an Audio"
    )


def _spool(stream, label: str):
    """Copy a non-seekable stream (stdin, a pipe) to memory, or disk past a size limit."""
    spooled = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)
    try:
        shutil.copyfileobj(stream, spooled)
    except OSError as err:
        spooled.close()
        raise AudioError(label, "unreadable", err.strerror or str(err)) from None
    if spooled.tell() == 0:
        spooled.close()
        raise AudioError(label, "empty", "0 bytes")
    spooled.seek(0)
    return spooled


def _peek(file, parse):
    """Run ``parse(file)`` from the start and put the position back (FFmpeg reads on from it)."""
    position = file.tell()
    try:
        file.seek(0)
        return parse(file)
    finally:
        file.seek(position)


def _wav_lengths(file) -> tuple[float, float] | None:
    """(declared, present) seconds from a RIFF/WAVE header, or None if it declares no length."""
    head = file.read(12)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    byte_rate = 0
    while len(chunk := file.read(8)) == 8:
        size = int.from_bytes(chunk[4:], "little")
        if chunk[:4] == b"fmt ":
            byte_rate = int.from_bytes(file.read(size + size % 2)[8:12], "little")
        elif chunk[:4] == b"data":
            # 0 and 0xFFFFFFFF-ish sizes are placeholders of streamed wav: length unknown
            if not byte_rate or size == 0 or size >= 0x7FFF0000:
                return None
            start = file.tell()
            present = min(size, file.seek(0, io.SEEK_END) - start)
            return size / byte_rate, present / byte_rate
        else:
            file.seek(size + size % 2, io.SEEK_CUR)
    return None


def _has_mp3_length_header(file) -> bool:
    """Whether an MP3 starts with a Xing/Info/VBRI frame, i.e. declares its length."""
    head = file.read(10)
    if head[:3] == b"ID3" and len(head) == 10:  # skip an ID3v2 tag (syncsafe size)
        size = (head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7 | (head[9] & 0x7F)
        file.seek(10 + size)
    else:
        file.seek(0)
    first = file.read(4096)
    return any(tag in first for tag in (b"Xing", b"Info", b"VBRI"))


def _ogg_has_end(file) -> bool:
    """Whether the last Ogg page is complete and carries the end-of-stream flag."""
    size = file.seek(0, io.SEEK_END)
    file.seek(max(0, size - 70_000))  # an Ogg page is at most 65,307 bytes
    tail = file.read()
    last = tail.rfind(b"OggS")
    if last < 0 or len(tail) < last + 27:
        return False
    flags, n_segments = tail[last + 5], tail[last + 26]  # 27-byte page header
    table = tail[last + 27 : last + 27 + n_segments]  # then one length byte per segment
    page_end = last + 27 + n_segments + sum(table)
    return bool(flags & 0x04) and len(table) == n_segments and page_end <= len(tail)


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
