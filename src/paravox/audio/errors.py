"""Why an input is not audio: :class:`AudioError` and its :data:`REASONS`."""

from __future__ import annotations

from paravox.errors import ParavoxError

__all__ = ["REASONS", "AudioError", "check_length"]

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


def check_length(seconds: float, max_duration: float | None, label: str, how: str = "") -> None:
    """Raise ``too_large`` when ``seconds`` exceeds ``max_duration`` (None: no limit)."""
    if max_duration is not None and seconds > max_duration:
        detail = f"{seconds:.1f} s{how}, more than max_duration={max_duration:g} s"
        raise AudioError(label, "too_large", detail)
