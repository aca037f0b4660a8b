"""The HTTP service: a thin layer that reads an upload, calls the analyser, formats the result.

>>> from paravox.serve.app import create_app
>>> app = create_app(max_upload_mb=50, request_timeout_s=120)       # doctest: +SKIP
>>> import uvicorn; uvicorn.run(app, port=8000)                      # doctest: +SKIP

Routes: ``POST /v1/analyze`` (Analysis JSON), ``POST /v1/audio/transcriptions``
(OpenAI-compatible), the live WebSocket ``/v1/stream`` (:mod:`paravox.serve.stream`),
``GET /healthz``, ``GET /openapi.json`` and the web page at ``/``.
Models are built once, at startup, before the server accepts a connection. See
``docs/serve.md`` for the API and :mod:`paravox.serve.errors` for the error codes.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any, Callable

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from paravox import __version__
from paravox.audio import AudioError
from paravox.backends import registry
from paravox.backends.registry import BackendNotFoundError
from paravox.options import AnalyzeOptions, backend_name
from paravox.result import Analysis
from paravox.serve.errors import ERROR_SCHEMA, ApiError, error_response, http_type
from paravox.serve.pool import AnalysisPool, DeadlineExceeded, InvalidOptions, QueueFull
from paravox.serve.transcriptions import RESPONSE_FORMATS, transcription_body
from paravox.serve.uploads import Upload, read_upload

STATIC = resources.files("paravox.serve") / "static"
#: Seconds a client is told to wait (Retry-After) when the queue is full.
RETRY_AFTER_S = 2


def create_app(
    options: AnalyzeOptions | None = None,
    max_upload_mb: float = 100.0,
    request_timeout_s: float = 300.0,
    max_concurrency: int = 1,
    max_queue: int = 8,
    max_streams: int = 4,
    stream_idle_timeout_s: float = 30.0,
    max_stream_s: float = 3600.0,
    trim_memory: bool = True,
) -> FastAPI:
    """The FastAPI app serving ``options`` (the defaults of every request).

    ``max_upload_mb``: larger uploads get 413. ``request_timeout_s``: a request still
    unanswered after this long (queue wait, upload and analysis together) gets 408.
    ``max_concurrency`` analyses run at once in worker threads; ``max_queue`` more may wait;
    beyond that a request gets 503 at once, before its upload is read.
    ``max_streams`` live streams (``/v1/stream``) may be open at once; a stream that sends
    nothing for ``stream_idle_timeout_s`` is closed; one is finished at ``max_stream_s``
    seconds of audio (:mod:`paravox.serve.stream`). ``trim_memory``: give the C heap's freed
    pages back to the system after every analysis and stream (glibc; :func:`paravox.machine.release_freed_heap`).
    """
    options = options or AnalyzeOptions()
    if max_upload_mb <= 0:
        raise ValueError(f"max_upload_mb must be > 0, got {max_upload_mb}")
    if request_timeout_s <= 0:
        raise ValueError(f"request_timeout_s must be > 0, got {request_timeout_s}")
    pool = AnalysisPool(options, max_concurrency=max_concurrency, max_queue=max_queue, trim_memory=trim_memory)
    max_bytes = int(max_upload_mb * 1024 * 1024)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await asyncio.to_thread(pool.load)  # models load before the first request is accepted
        yield
        pool.close()

    app = FastAPI(
        title="paravox",
        version=__version__,
        description="Hear what is said and how: transcripts with inline nonverbal tags, vocal events, emotion. Offline.",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI and ReDoc load their scripts from a CDN; the service is offline
        redoc_url=None,
    )
    app.state.pool = pool
    app.state.limits = {
        "max_upload_mb": max_upload_mb,
        "request_timeout_s": request_timeout_s,
        "max_concurrency": max_concurrency,
        "max_queue": max_queue,
        "max_streams": max_streams,
        "stream_idle_timeout_s": stream_idle_timeout_s,
        "max_stream_s": max_stream_s,
        "trim_memory": trim_memory,
    }
    _install_error_handlers(app)

    async def run_analysis(
        request: Request, options_for: Callable[[Upload], AnalyzeOptions], name: str | None = None
    ) -> tuple[Analysis, Upload]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + request_timeout_s
        try:
            slot = pool.admit()
        except QueueFull as exc:
            raise ApiError(503, "overloaded", str(exc), headers={"Retry-After": str(RETRY_AFTER_S)}) from None
        try:
            try:
                upload = await asyncio.wait_for(read_upload(request, max_bytes=max_bytes, name=name), request_timeout_s)
            except TimeoutError:
                raise _timeout(request_timeout_s, "while receiving the upload") from None
            try:
                opts = options_for(upload)
            except BaseException:
                upload.close()
                raise
            analysis = await pool.analyze(slot, upload.file, name=upload.filename, options=opts, deadline=deadline)
            return analysis, upload
        except DeadlineExceeded:
            raise _timeout(request_timeout_s, "before the analysis finished") from None
        except AudioError as exc:
            status = 413 if exc.reason == "too_large" else 422
            raise ApiError(status, "invalid_audio", str(exc), reason=exc.reason) from None
        except (BackendNotFoundError, InvalidOptions) as exc:
            raise ApiError(422, "invalid_request", str(exc)) from None
        finally:
            slot.release()

    # ---- routes ---------------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(str(STATIC / "index.html"), media_type="text/html")

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.get("/healthz", summary="Readiness: answers once the models are loaded")
    async def healthz() -> dict[str, Any]:
        return {
            "status": "ok",
            "version": __version__,
            "models": pool.analyzer(options).models(),
            "loaded": pool.backends.loaded(),
            "queue": pool.stats(),
            "limits": app.state.limits,
        }

    @app.post(
        "/v1/analyze",
        summary="Full analysis of one recording: segments, words with times, events, emotion",
        openapi_extra={"requestBody": _AUDIO_BODY},
        responses={200: {"description": "the Analysis", "content": {"application/json": {"schema": _analysis_schema()}}}, **_ERRORS},
    )
    async def analyze(
        request: Request,
        language: str | None = Query(None, description="spoken language code (zh, en, ...); default: detect"),
        events: str | None = Query(None, description="vocal-event backend name, or 'none'; default: the server's"),
        emotion: str | None = Query(None, description="emotion backend name, or 'none'; default: the server's"),
        beam_size: int | None = Query(None, ge=1, le=20, description="beam width"),
        initial_prompt: str | None = Query(None, max_length=2000, description="text that primes the recogniser"),
        vad: bool | None = Query(None, description="skip non-speech with the Silero VAD"),
        vad_keep_loud: bool | None = Query(
            None, description="with the VAD, also keep stretches as loud as the detected speech (default true; "
            "false is the CLI's --vad-strict)"
        ),
        word_timestamps: bool | None = Query(None, description="word times (false is a little faster)"),
        events_threshold: str | None = Query(
            None, max_length=500, description="event threshold: one number (0.6) or per tag (laugh=0.4,cough=0.7)"
        ),
        events_tags: str | None = Query(None, max_length=500, description="only these event tags, comma-separated"),
        events_min_duration: float | None = Query(
            None, ge=0, allow_inf_nan=False, description="drop events shorter than this (seconds)"
        ),
        laugh_words: bool | None = Query(
            None, description="laughter the recogniser spelled out (哈哈, Ha-ha!) becomes a laugh event (default true; "
            "false keeps it as text, the CLI's --keep-laugh-words)"
        ),
        filler_words: bool | None = Query(
            None, description="filled pauses the recogniser wrote (um, 嗯) become uhm events (default false; "
            "the CLI's --filler-words)"
        ),
        sound_words: bool | None = Query(
            None, description="Whisper may describe sounds, (laughs) or *cough*: each leaves the text and a vocal one "
            "becomes an event (default false; the CLI's --sound-words)"
        ),
        name: str | None = Query(None, max_length=1000, description="label for a raw-body upload (default 'upload')"),
    ) -> JSONResponse:
        flat = {
            "language": language,
            "events": events,
            "emotion": emotion,
            "events_threshold": events_threshold,
            "events_tags": events_tags,
            "events_min_duration": events_min_duration,
            "laugh_words": laugh_words,
            "filler_words": filler_words,
            "sound_words": sound_words,
            "beam_size": beam_size,
            "initial_prompt": initial_prompt,
            "vad": vad,
            "vad_keep_loud": vad_keep_loud,
            "word_timestamps": word_timestamps,
        }
        opts = request_options(options, flat)
        analysis, _ = await run_analysis(request, lambda _upload: opts, name)
        return JSONResponse(analysis.to_dict())

    @app.post(
        "/v1/audio/transcriptions",
        summary="OpenAI-compatible transcription, vocal events written inline in the text",
        openapi_extra={"requestBody": _TRANSCRIPTION_BODY},
        responses={200: {"description": "the transcript in the requested response_format", "content": _TRANSCRIPT_CONTENT}, **_ERRORS},
    )
    async def transcriptions(request: Request) -> Response:
        chosen: dict[str, str] = {}

        def options_for(upload: Upload) -> AnalyzeOptions:
            f = upload.fields
            fmt = f.get("response_format", "json").strip() or "json"
            if fmt not in RESPONSE_FORMATS:
                raise ApiError(422, "invalid_request", f"response_format must be one of {', '.join(RESPONSE_FORMATS)}, got {fmt!r}")
            chosen["format"] = fmt
            flat: dict[str, Any] = {"language": f.get("language") or None, "initial_prompt": f.get("prompt") or None}
            if f.get("temperature"):
                try:
                    flat["temperature"] = float(f["temperature"])
                except ValueError:
                    raise ApiError(422, "invalid_request", f"temperature must be a number, got {f['temperature']!r}") from None
            # ``model`` is accepted and ignored: the server runs the models it was started with.
            return request_options(options, flat)

        analysis, _ = await run_analysis(request, options_for)
        body = transcription_body(analysis, chosen["format"])
        if isinstance(body, dict):
            return JSONResponse(body)
        return PlainTextResponse(body, media_type="text/vtt" if chosen["format"] == "vtt" else "text/plain")

    from paravox.serve.stream import install_stream_route

    install_stream_route(app, pool, request_options, max_streams=max_streams, idle_timeout_s=stream_idle_timeout_s,
                         max_stream_s=max_stream_s)
    return app


def request_options(base: AnalyzeOptions, flat: dict[str, Any]) -> AnalyzeOptions:
    """The server's options with one request's overrides; ApiError 422 for a bad one."""
    given = {k: v for k, v in flat.items() if v is not None}
    for kind in ("events", "emotion"):
        if kind in given:
            value = given[kind] = backend_name(given[kind])
            if value is None:
                continue
            have = registry.available(kind)
            if value not in have:
                listed = ", ".join(sorted(have)) or "none installed"
                raise ApiError(422, "invalid_request", f"no {kind} backend named {value!r}; available: {listed}")
            given[kind] = value
    try:
        return base.with_overrides(**given)
    except (TypeError, ValueError) as exc:  # OptionError, and a type the query could not carry
        raise ApiError(422, "invalid_request", str(exc)) from None


def _timeout(seconds: float, when: str) -> ApiError:
    return ApiError(
        408, "timeout", f"the request took longer than the server's limit of {seconds:g} s ({when}); send a shorter recording"
    )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, http_type(exc.status_code), str(exc.detail), headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "body"))
            parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg", "invalid")))
        return error_response(422, "invalid_request", "; ".join(parts) or "invalid request")

    @app.exception_handler(Exception)
    async def internal_error(_request: Request, exc: Exception) -> JSONResponse:
        return error_response(500, "internal_error", f"{type(exc).__name__}: {exc}")


# ---- OpenAPI pieces ---------------------------------------------------------------------------


def _analysis_schema() -> dict[str, Any]:
    """The Analysis JSON Schema with its ``$defs`` written in place: embedded in the OpenAPI
    document, ``#/$defs/...`` would point at the document's root, where there are none."""
    text = (resources.files("paravox") / "data" / "analysis.schema.json").read_text(encoding="utf-8")
    schema = json.loads(text)
    for key in ("$schema", "$id"):
        schema.pop(key, None)
    return _inline_refs(schema, schema.pop("$defs", {}))


def _inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            target = _inline_refs(defs[ref.removeprefix("#/$defs/")], defs)
            rest = {k: _inline_refs(v, defs) for k, v in node.items() if k != "$ref"}
            return {"allOf": [target], **rest} if rest else target
        return {k: _inline_refs(v, defs) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline_refs(v, defs) for v in node]
    return node


_ERROR_CONTENT = {"application/json": {"schema": ERROR_SCHEMA}}
_ERRORS = {
    400: {"description": "malformed request", "content": _ERROR_CONTENT},
    408: {"description": "past the server's request timeout", "content": _ERROR_CONTENT},
    413: {"description": "upload (or audio duration) over the server's limit", "content": _ERROR_CONTENT},
    422: {"description": "not usable audio, or a bad option", "content": _ERROR_CONTENT},
    503: {"description": "queue full; retry after Retry-After seconds", "content": _ERROR_CONTENT},
}

_AUDIO_BODY = {
    "required": True,
    "description": "the recording: a multipart field 'file', or the raw body (any audio type FFmpeg reads)",
    "content": {
        "multipart/form-data": {
            "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}, "required": ["file"]}
        },
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
    },
}

#: ``json`` / ``verbose_json`` are JSON; ``text`` and ``srt`` are text/plain, ``vtt`` is text/vtt.
_TRANSCRIPT_CONTENT = {
    "application/json": {"schema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}},
    "text/plain": {"schema": {"type": "string"}},
    "text/vtt": {"schema": {"type": "string"}},
}

_TRANSCRIPTION_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "model": {"type": "string", "description": "accepted for compatibility; the server's models are used"},
                    "language": {"type": "string"},
                    "prompt": {"type": "string"},
                    "temperature": {"type": "number"},
                    "response_format": {"type": "string", "enum": list(RESPONSE_FORMATS), "default": "json"},
                },
                "required": ["file"],
            }
        }
    },
}
