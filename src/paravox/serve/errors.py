"""Every error the service returns has one JSON shape: ``{"error": {"type", "message"}}``.

=====  ==================  ==============================================================
code   type                when
=====  ==================  ==============================================================
400    invalid_request     malformed multipart, bad header
404    not_found           no such route
405    method_not_allowed  wrong HTTP method
408    timeout             the request ran past the server's ``--timeout``
413    too_large           the upload is over ``--max-upload-mb``, or the audio is longer
                           than the server's ``max_duration`` (``reason: too_large``)
422    invalid_audio       the upload is not usable audio; ``reason`` is the
                           :class:`~paravox.audio.AudioError` reason (empty, not_audio,
                           truncated, unsupported_codec, unreadable)
422    invalid_request     a bad option (unknown backend, beam_size=0, ...) or no file
503    overloaded          the queue is full; retry after ``Retry-After`` seconds
500    internal_error      a bug: the message says what failed, the log has the traceback
=====  ==================  ==============================================================
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse


class ApiError(Exception):
    """An error answered as ``{"error": {"type", "message", ...}}`` with ``status``."""

    def __init__(self, status: int, type: str, message: str, *, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(message)
        self.status = status
        self.type = type
        self.message = message
        self.headers = headers
        self.extra = extra

    def response(self) -> JSONResponse:
        return error_response(self.status, self.type, self.message, headers=self.headers, **self.extra)


def error_response(status: int, type: str, message: str, *, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"type": type, "message": message, **extra}}, status_code=status, headers=headers)


_HTTP_TYPES = {400: "invalid_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large", 422: "invalid_request"}


def http_type(status: int) -> str:
    return _HTTP_TYPES.get(status, "invalid_request" if 400 <= status < 500 else "internal_error")


#: The error object in the OpenAPI document.
ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "type": {"type": "string"},
                "message": {"type": "string"},
                "reason": {"type": "string"},
            },
            "required": ["type", "message"],
        }
    },
    "required": ["error"],
}
