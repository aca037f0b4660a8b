"""Files, bytes and streams through FFmpeg (PyAV): open and validate a container, then decode
its audio stream incrementally into float32 mono chunks at the target rate.

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
"""

from __future__ import annotations

import io
import itertools
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

import numpy as np

from paravox.audio.errors import AudioError, check_length
from paravox.audio.headers import has_mp3_length_header, ogg_has_end, peek, wav_lengths
from paravox.audio.resample import Resampler

__all__ = ["TRUNCATION_RATIO", "Decoder", "open_binary"]

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


class Decoder:
    """An opened, validated container; :meth:`chunks` decodes it incrementally."""

    def __init__(self, source: Any, label: str, sample_rate: int, max_duration: float | None = None):
        import av

        self.label = label
        self.sample_rate = sample_rate
        self.max_duration = max_duration
        self.file, self.owned = open_binary(source, label)
        self.container = None
        try:
            try:
                self.container = av.open(self.file, mode="r", metadata_errors="ignore")
            except av.error.InvalidDataError:
                if peek(self.file, lambda file: file.read(8)[4:]) == b"ftyp":
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
                check_length(self.declared, max_duration, label, " declared")
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
            lengths = peek(self.file, wav_lengths)
            if lengths is not None:
                declared, present = lengths
                if present < TRUNCATION_RATIO * declared:
                    raise AudioError(
                        self.label, "truncated",
                        f"{present:.2f} s of audio present, the header declares {declared:.2f} s",
                    )
                return declared
            return None
        if fmt == "ogg" and not peek(self.file, ogg_has_end):
            present = f", about {self.container.duration / 1e6:.2f} s present" if self.container.duration else ""
            raise AudioError(self.label, "truncated", f"no complete final Ogg page{present}")
        if fmt not in _KNOWN_LENGTH or (fmt == "mp3" and not peek(self.file, has_mp3_length_header)):
            return None
        stream = self.stream
        if stream.duration is not None and stream.time_base:
            return float(stream.duration * stream.time_base)
        if self.container.duration is not None:
            return self.container.duration / 1_000_000
        return None

    def chunks(self) -> Iterator[np.ndarray]:
        """Decode the chosen stream, yielding float32 mono chunks at the target rate."""
        resampler = Resampler(self.sample_rate)
        emitted = 0
        try:
            for frame in itertools.chain(self._frames(), [None]):
                chunk = resampler.flush() if frame is None else resampler.push(frame)
                emitted += len(chunk)
                if self.max_duration is not None and emitted > self.max_duration * self.sample_rate:
                    detail = f"longer than max_duration={self.max_duration:g} s, stopped decoding there"
                    raise AudioError(self.label, "too_large", detail)
                if not np.isfinite(chunk).all():  # a float recording can hold them; no model copes
                    fix = "export it again from a signal without NaN or infinite values"
                    raise AudioError(self.label, "unreadable", "samples contain NaN or infinity", fix)
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


def open_binary(source: Any, label: str):
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
