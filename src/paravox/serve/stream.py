"""``GET /v1/stream``: live analysis over a WebSocket.

The client sends binary frames of 16-bit little-endian mono PCM at ``sample_rate`` and a
text frame ``{"type": "end"}`` when done. The server sends JSON text frames: ``partial``
(the unstable tail, replaced by the next), ``segment`` (final), ``event``, then ``done``
with the whole Analysis, and closes (1000). A bad frame gets ``error`` and close 1003; a
bad option 1008; a stream silent for ``idle_timeout_s`` 1008; a stream when
``max_streams`` are open already 1013 (try again later). A stream that reaches
``max_stream_s`` is finished there: its segments and ``done`` (with ``truncated: true``)
are sent, then it closes with 1008. See ``docs/serve.md``.

Each stream's audio is analysed in a worker thread of its own, with the models the HTTP
routes share (:class:`paravox.serve.pool.BackendCache`); only its cut decisions decide the
segments (:mod:`paravox.streaming.session`), so the same audio gives the same result.
"""

from __future__ import annotations

import asyncio
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import numpy as np
from fastapi import FastAPI, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from paravox.audio import AudioError
from paravox.audio.pcm import PcmReader
from paravox.machine import release_freed_heap
from paravox.options import AnalyzeOptions
from paravox.serve.errors import ApiError
from paravox.serve.pool import AnalysisPool
from paravox.streaming import StreamOptions, StreamSession
from paravox.streaming.live import BEHIND_SECONDS

log = logging.getLogger(__name__)

#: WebSocket close codes (RFC 6455 and IANA's registry).
NORMAL, UNSUPPORTED_DATA, POLICY, INTERNAL, TRY_AGAIN = 1000, 1003, 1008, 1011, 1013
#: Largest binary frame accepted (bytes): 10 s of 48 kHz PCM.
MAX_FRAME_BYTES = 960_000


class StreamClosed(Exception):
    """Ends a stream with an ``error`` message and a close code."""

    def __init__(self, code: int, type: str, message: str) -> None:
        super().__init__(message)
        self.code, self.type, self.message = code, type, message


def install_stream_route(
    app: FastAPI,
    pool: AnalysisPool,
    request_options: Callable[[AnalyzeOptions, dict[str, Any]], AnalyzeOptions],
    *,
    max_streams: int,
    idle_timeout_s: float,
    max_stream_s: float,
) -> None:
    """Add ``/v1/stream`` to ``app``; streams analyse with ``pool``'s models and options."""
    if max_streams < 0:
        raise ValueError(f"max_streams must be >= 0, got {max_streams}")
    if idle_timeout_s <= 0 or max_stream_s <= 0:
        raise ValueError("idle_timeout_s and max_stream_s must be > 0")
    executor = ThreadPoolExecutor(max_workers=max(1, max_streams), thread_name_prefix="paravox-stream")
    open_streams = {"n": 0}
    app.state.streams = open_streams
    app.router.on_shutdown.append(lambda: executor.shutdown(wait=False, cancel_futures=True))

    @app.websocket("/v1/stream")
    async def stream(websocket: WebSocket) -> None:
        await websocket.accept()
        if max_streams == 0:
            await _close(websocket, StreamClosed(
                POLICY, "not_available", "this server takes no live streams (started with --max-streams 0); "
                "upload the recording to POST /v1/analyze instead"))
            return
        if open_streams["n"] >= max_streams:
            await _close(websocket, StreamClosed(
                TRY_AGAIN, "overloaded", f"the server is busy: {max_streams} streams are open; retry shortly"))
            return
        open_streams["n"] += 1
        try:
            await _run(websocket)
        finally:
            open_streams["n"] -= 1

    async def _run(websocket: WebSocket) -> None:
        try:
            session, reader = _open(websocket)
        except StreamClosed as exc:
            await _close(websocket, exc)
            return
        loop = asyncio.get_running_loop()
        inbox: list[np.ndarray] = []
        state = {"ended": False, "truncated": False, "accepted": 0}
        wake = asyncio.Event()
        limit = int(max_stream_s * 16000)

        async def receive() -> None:
            while not state["ended"]:
                try:
                    message = await asyncio.wait_for(websocket.receive(), idle_timeout_s)
                except TimeoutError:
                    raise StreamClosed(POLICY, "timeout",
                                       f"no audio for {idle_timeout_s:g} s (the server's idle timeout); "
                                       "send audio continuously, or {\"type\": \"end\"} to finish") from None
                if message["type"] == "websocket.disconnect":
                    raise WebSocketDisconnect(message.get("code", 1000))
                data, text = message.get("bytes"), message.get("text")
                if data is not None:
                    if len(data) > MAX_FRAME_BYTES:
                        raise StreamClosed(UNSUPPORTED_DATA, "invalid_request",
                                           f"a binary frame of {len(data)} bytes is over the limit of {MAX_FRAME_BYTES}; "
                                           "send audio in frames of a second or less")
                    samples = reader.push(data)
                    room = limit - state["accepted"]  # counted here, not by the session, which may lag
                    if samples.size > room:
                        samples, state["truncated"] = samples[: max(0, room)], True
                    if samples.size:
                        inbox.append(samples)
                        state["accepted"] += samples.size
                    if state["truncated"]:
                        state["ended"] = True
                elif text is not None:
                    state["ended"] = _control(text)
                wake.set()

        async def process() -> None:
            while True:
                await wake.wait()
                wake.clear()
                if inbox:
                    pending = np.concatenate(inbox)
                    inbox.clear()
                    behind = pending.size > BEHIND_SECONDS * 16000 or state["ended"]
                    for m in await loop.run_in_executor(executor, lambda: session.feed(pending, partial=not behind)):
                        await websocket.send_text(json.dumps(m, ensure_ascii=False))
                if state["ended"] and not inbox:
                    tail = reader.flush()[: max(0, limit - state["accepted"])]
                    if tail.size and not state["truncated"]:
                        await loop.run_in_executor(executor, lambda: session.feed(tail, partial=False))
                    out = await loop.run_in_executor(executor, session.finish)
                    if pool.trim_memory:
                        await loop.run_in_executor(executor, release_freed_heap)
                    if state["truncated"]:
                        out[-1].update(truncated=True, message=f"the stream reached the server's limit of "
                                                               f"{max_stream_s:g} s; the rest was not analysed")
                    for m in out:
                        await websocket.send_text(json.dumps(m, ensure_ascii=False))
                    return

        receiver = asyncio.create_task(receive())
        worker = asyncio.create_task(process())
        try:
            done, _ = await asyncio.wait({receiver, worker}, return_when=asyncio.FIRST_COMPLETED)
            if receiver in done and receiver.exception() is not None:
                raise receiver.exception()
            await worker  # the receiver saw "end": the worker finishes the stream
            code = POLICY if state["truncated"] else NORMAL
            await websocket.close(code, "stream limit reached" if state["truncated"] else None)
        except StreamClosed as exc:
            await _close(websocket, exc)
        except WebSocketDisconnect:
            pass  # the client went away; nothing to send
        except AudioError as exc:
            await _close(websocket, StreamClosed(UNSUPPORTED_DATA, "invalid_audio", str(exc)))
        except Exception as exc:  # noqa: BLE001 - a bug: said to the client, logged with its traceback
            log.exception("stream failed")
            await _close(websocket, StreamClosed(INTERNAL, "internal_error", f"{type(exc).__name__}: {exc}"))
        finally:
            for task in (receiver, worker):
                task.cancel()

    def _open(websocket: WebSocket) -> tuple[StreamSession, PcmReader]:
        q = websocket.query_params
        known = {"sample_rate", "language", "events", "emotion", "beam_size", "initial_prompt", "vad_keep_loud",
                 "events_threshold", "events_tags", "events_min_duration", "laugh_words", "filler_words", "sound_words", "partials",
                 "max_segment", "name"}
        unknown = sorted(set(q) - known)
        if unknown:
            raise StreamClosed(POLICY, "invalid_request",
                               f"unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        flat: dict[str, Any] = {k: q.get(k) for k in ("language", "events", "emotion", "initial_prompt",
                                                      "events_threshold", "events_tags")}
        try:
            rate = int(q.get("sample_rate", "16000"))
            if "beam_size" in q:
                flat["beam_size"] = int(q["beam_size"])
            if "events_min_duration" in q:
                flat["events_min_duration"] = float(q["events_min_duration"])
            for key in ("vad_keep_loud", "laugh_words", "filler_words", "sound_words"):
                if key in q:
                    flat[key] = _boolean(key, q[key])
            stream_opts = StreamOptions(
                partials=_boolean("partials", q.get("partials", "true")),
                max_segment=float(q.get("max_segment", StreamOptions.max_segment)),
            )
            opts = request_options(pool.options, flat)
            analyzer = pool.analyzer(opts)
            analyzer.asr, analyzer.events, analyzer.emotion  # noqa: B018 - a bad backend option fails now
            reader = PcmReader(rate, name=q.get("name") or "stream")
        except ApiError as exc:
            raise StreamClosed(POLICY, exc.type, exc.message) from None
        except AudioError as exc:
            raise StreamClosed(POLICY, "invalid_request", str(exc)) from None
        except (TypeError, ValueError) as exc:
            raise StreamClosed(POLICY, "invalid_request", str(exc)) from None
        return StreamSession(analyzer, stream_opts, name=(q.get("name") or "stream")[:1000]), reader


def _control(text: str) -> bool:
    """A text frame: ``{"type": "end"}`` ends the stream; anything else is refused."""
    try:
        message = json.loads(text)
    except ValueError:
        message = None
    if isinstance(message, dict) and message.get("type") == "end":
        return True
    raise StreamClosed(UNSUPPORTED_DATA, "invalid_request",
                       f"unexpected text frame {text[:80]!r}; send audio as binary frames and {{\"type\": \"end\"}} to finish")


def _boolean(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be true or false, got {value!r}")


async def _close(websocket: WebSocket, exc: StreamClosed) -> None:
    """Send the error message and close with its code (if the client is still there)."""
    if websocket.client_state != WebSocketState.CONNECTED:
        return
    try:
        await websocket.send_text(json.dumps({"type": "error", "code": exc.type, "message": exc.message}, ensure_ascii=False))
        await websocket.close(exc.code, exc.message.encode()[:120].decode(errors="ignore"))
    except (WebSocketDisconnect, RuntimeError):
        pass
