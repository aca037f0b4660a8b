"""Read one uploaded recording from a request, within a size limit.

Two ways to send audio, both to every endpoint that takes one:

* ``multipart/form-data`` with the recording in the field ``file`` (what ``curl -F file=@a.wav``
  and the OpenAI clients send); other fields come back as text in :attr:`Upload.fields`;
* anything else: the raw request body is the recording (``curl --data-binary @a.wav``).

The audio's type is always found from its bytes, never from the file name or the
Content-Type. The file name is only a label: it is cut to its last path part and cleaned
(:func:`safe_name`) and nothing is ever written or read under it. The body is counted as it
arrives, so an upload over the limit is stopped there (413) whatever its Content-Length
said, and it is spooled to a temporary file past 1 MiB rather than held in memory.
"""

from __future__ import annotations

import tempfile
import unicodedata
from dataclasses import dataclass, field
from typing import AsyncIterator, BinaryIO

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from paravox.serve.errors import ApiError

#: Text fields of a multipart upload larger than this are refused (the audio is a file part).
MAX_FIELD_BYTES = 64 * 1024
MAX_FIELDS = 32
_SPOOL_BYTES = 1024 * 1024
_MAX_NAME = 200


@dataclass
class Upload:
    """One received recording: a seekable binary file (closed by whoever analyses it)."""

    file: BinaryIO
    filename: str
    size: int
    fields: dict[str, str] = field(default_factory=dict)

    def close(self) -> None:
        self.file.close()


def safe_name(raw: str | None, default: str = "upload") -> str:
    """The label an uploaded file name becomes: its last path part, printable, at most 200 characters.

    >>> safe_name("../../etc/passwd"), safe_name("C:\\\\Users\\\\me\\\\talk.wav"), safe_name(".."), safe_name(None)
    ('passwd', 'talk.wav', 'upload', 'upload')
    >>> safe_name("a\\x00b\\nc.wav")
    'abc.wav'
    """
    if not raw:
        return default
    last = raw.replace("\\", "/").rstrip("/").split("/")[-1]
    cleaned = "".join(c for c in last if unicodedata.category(c)[0] != "C").strip()
    if cleaned in ("", ".", ".."):
        return default
    return cleaned[:_MAX_NAME]


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        "too_large",
        f"the upload is larger than the server's limit of {_mb(limit)}; send a shorter or compressed recording",
    )


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):g} MiB"


async def _limited(request: Request, limit: int) -> AsyncIterator[bytes]:
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise _too_large(limit)
        if chunk:
            yield chunk


async def read_upload(request: Request, *, max_bytes: int, name: str | None = None) -> Upload:
    """The recording sent with ``request`` (multipart field ``file`` or the raw body).

    Raises :class:`ApiError`: 413 over ``max_bytes``, 400 for malformed multipart, 422 when
    no file was sent or ``file`` is a text field rather than a file.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise ApiError(400, "invalid_request", "the Content-Length header is not a number") from None
        if size > max_bytes:
            raise _too_large(max_bytes)
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() == "multipart/form-data":
        return await _read_multipart(request, max_bytes)
    return await _read_raw(request, max_bytes, name)


async def _read_raw(request: Request, max_bytes: int, name: str | None) -> Upload:
    spooled = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)
    size = 0
    try:
        async for chunk in _limited(request, max_bytes):
            spooled.write(chunk)
            size += len(chunk)
    except BaseException:
        spooled.close()
        raise
    spooled.seek(0)
    return Upload(spooled, safe_name(name), size)


async def _read_multipart(request: Request, max_bytes: int) -> Upload:
    parser = MultiPartParser(
        request.headers,
        _limited(request, max_bytes),
        max_files=1,
        max_fields=MAX_FIELDS,
        max_part_size=MAX_FIELD_BYTES,
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise ApiError(400, "invalid_request", f"malformed multipart upload: {exc.message}") from None
    fields: dict[str, str] = {}
    upload: UploadFile | None = None
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            if key == "file":
                upload = value
            else:
                await value.close()
        else:
            fields[key] = value
    if upload is None:
        if "file" in fields:
            raise ApiError(
                422,
                "invalid_request",
                "the form field 'file' must be an uploaded file (curl -F file=@talk.wav), not text",
            )
        raise ApiError(422, "invalid_request", "no audio: send it in the multipart field 'file' or as the request body")
    upload.file.seek(0, 2)
    size = upload.file.tell()
    upload.file.seek(0)
    return Upload(upload.file, safe_name(upload.filename), size, fields)
