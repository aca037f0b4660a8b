"""Audio input: one place that decodes, downmixes, resamples and validates.

Example:
    >>> from paravox.audio import load_audio, AudioError
    >>> try:
    ...     load_audio(b"")
    ... except AudioError as err:
    ...     print(err.reason)
    empty
"""

from paravox.audio.decode import (
    REASONS,
    SAMPLE_RATE,
    Audio,
    AudioError,
    load_audio,
    probe_duration,
    source_name,
    stream_audio,
)

__all__ = ["SAMPLE_RATE", "REASONS", "AudioError", "Audio", "load_audio", "probe_duration", "stream_audio", "source_name"]
