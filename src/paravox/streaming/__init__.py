"""Live analysis: audio arriving piece by piece in, partial text, final segments, events,
emotion and a closing Analysis out (:class:`StreamSession`)."""

from paravox.streaming.session import StreamOptions, StreamSession

__all__ = ["StreamOptions", "StreamSession"]
