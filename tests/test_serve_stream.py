"""``/v1/stream`` over a real WebSocket on loopback: the protocol, its limits and its errors.

One in-process server with the real Whisper model (no event or emotion model, to keep it
quick) and small limits: one stream at a time, a 2-s idle timeout, 11 s of audio at most.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the 'serve' extra is not installed: pip install 'paravox[serve]'")
pytest.importorskip("websockets", reason="the 'serve' extra is not installed: pip install 'paravox[serve]'")

from serve_helpers import serve_in_thread  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402
from websockets.sync.client import connect  # noqa: E402

from paravox.analyzer import Analyzer  # noqa: E402
from paravox.audio import load_audio  # noqa: E402
from paravox.audio.resample import resample  # noqa: E402
from paravox.options import AnalyzeOptions  # noqa: E402
from paravox.streaming import StreamOptions, StreamSession  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "samples" / "demo.flac"
OPTIONS = AnalyzeOptions(events=None, emotion=None, threads=2)
MAX_STREAM_S = 11.0
IDLE_S = 2.0


@pytest.fixture(scope="module")
def demo() -> np.ndarray:
    return load_audio(DEMO).samples


@pytest.fixture(scope="module")
def ws_url():
    from paravox.serve.app import create_app

    app = create_app(OPTIONS, max_streams=1, stream_idle_timeout_s=IDLE_S, max_stream_s=MAX_STREAM_S)
    with serve_in_thread(app) as url:
        yield url.replace("http://", "ws://") + "/v1/stream"


def _pcm(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


def _stream(url: str, pcm: bytes, *, frame: int = 3200, query: str = "") -> tuple[list[dict], int | None]:
    """Send ``pcm`` in frames, then end; every message received and the close code."""
    messages = []
    with connect(url + query, max_size=None) as ws:
        for i in range(0, len(pcm), frame):
            ws.send(pcm[i : i + frame])
        ws.send(json.dumps({"type": "end"}))
        try:
            while True:
                messages.append(json.loads(ws.recv(timeout=120)))
        except ConnectionClosed:
            pass
        return messages, ws.close_code


def _without_timing(doc: dict) -> dict:
    doc = dict(doc)
    doc["options"] = {k: v for k, v in doc["options"].items() if k != "elapsed_seconds"}
    return doc


def test_a_stream_gives_segments_then_done_as_the_session_does(ws_url, demo):
    audio = demo[: 10 * 16000]
    messages, code = _stream(ws_url, _pcm(audio), query="?name=demo&partials=false")
    assert code == 1000
    kinds = [m["type"] for m in messages]
    assert kinds[-1] == "done" and "segment" in kinds and set(kinds) <= {"segment", "event", "done"}
    done = messages[-1]["analysis"]
    assert done["id"] == "demo" and done["duration"] == 10.0
    assert "ill-disposed young man" in done["text"]
    # the same as the library's session on the same samples (the 16-bit rounding included)
    session = StreamSession(Analyzer(OPTIONS), StreamOptions(partials=False), name="demo")
    samples = np.frombuffer(_pcm(audio), dtype="<i2").astype(np.float32) / 32768.0
    local = session.feed(samples, partial=False) + session.finish()
    assert _without_timing(done) == _without_timing(local[-1]["analysis"])


def test_partials_arrive_while_the_audio_is_still_coming(ws_url, demo):
    messages, code = _stream(ws_url, _pcm(demo[: 4 * 16000]), frame=32000)  # 1-s frames
    assert code == 1000
    partials = [m for m in messages if m["type"] == "partial"]
    assert partials and set(partials[0]) == {"type", "start", "end", "text", "tagged_text"}
    assert "was not" in " ".join(p["text"] for p in partials)


def test_a_44k_stream_is_resampled(ws_url, demo):
    audio = resample(demo[: 3 * 16000], 16000, 44100)
    messages, code = _stream(ws_url, _pcm(audio), frame=8820, query="?sample_rate=44100&partials=false")
    assert code == 1000 and "ill-disposed" in messages[-1]["analysis"]["text"]


def _first_error(url: str, *, send=None) -> tuple[dict, int | None]:
    with connect(url, max_size=None) as ws:
        if send is not None:
            ws.send(send)
        try:
            message = json.loads(ws.recv(timeout=30))
            ws.recv(timeout=30)
        except ConnectionClosed:
            pass
        return message, ws.close_code


@pytest.mark.parametrize("query, says", [
    ("?beam_size=0", "beam_size"),
    ("?sample_rate=100", "between 8000 and 192000 Hz"),
    ("?colour=blue", "unknown option(s) colour"),
    ("?events=nope", "no events backend named 'nope'"),
    ("?partials=maybe", "partials must be true or false"),
])
def test_a_bad_option_gets_an_error_and_close_1008(ws_url, query, says):
    message, code = _first_error(ws_url + query)
    assert message["type"] == "error" and says in message["message"], message
    assert code == 1008


def test_a_text_frame_that_is_not_end_gets_1003(ws_url):
    message, code = _first_error(ws_url, send="hello")
    assert message["type"] == "error" and "unexpected text frame" in message["message"]
    assert code == 1003


def test_a_frame_over_the_limit_gets_1003(ws_url):
    message, code = _first_error(ws_url, send=b"\0" * 1_000_000)
    assert "over the limit" in message["message"] and code == 1003


def test_a_silent_client_is_closed_after_the_idle_timeout(ws_url):
    started = time.monotonic()
    message, code = _first_error(ws_url)
    assert message["code"] == "timeout" and code == 1008
    assert IDLE_S <= time.monotonic() - started < IDLE_S + 5


def test_a_stream_past_the_length_limit_is_finished_there(ws_url, demo):
    messages, code = _stream(ws_url, _pcm(demo[: 13 * 16000]), query="?partials=false")
    done = messages[-1]
    assert done["type"] == "done" and done["truncated"] is True and "limit" in done["message"]
    assert done["analysis"]["duration"] == MAX_STREAM_S
    assert code == 1008


def test_one_stream_too_many_is_refused_with_1013_and_the_next_is_served(ws_url, demo):
    with connect(ws_url, max_size=None) as first:
        first.send(_pcm(demo[:1600]))
        message, code = _first_error(ws_url)
        assert message["code"] == "overloaded" and code == 1013
        first.send(json.dumps({"type": "end"}))
        while json.loads(first.recv(timeout=60))["type"] != "done":
            pass
    time.sleep(0.2)
    messages, code = _stream(ws_url, _pcm(demo[: 3 * 16000]), query="?partials=false")
    assert code == 1000 and "ill-disposed" in messages[-1]["analysis"]["text"]


def test_a_client_that_goes_away_mid_stream_frees_its_place(ws_url, demo):
    with connect(ws_url, max_size=None) as ws:
        ws.send(_pcm(demo[: 2 * 16000]))  # and gone, without "end"
    deadline = time.monotonic() + 30
    while True:  # the server notices, then serves the next stream
        try:
            messages, code = _stream(ws_url, _pcm(demo[: 3 * 16000]), query="?partials=false")
        except ConnectionClosed:
            messages, code = [], None
        if code == 1000 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert code == 1000 and messages[-1]["type"] == "done"


def test_streams_and_uploads_share_the_models(ws_url, demo):
    """A stream while an upload runs: both answered, the stream's done as it is alone."""
    import httpx

    from paravox.testing import wav_bytes

    base = ws_url.replace("ws://", "http://").rsplit("/v1/stream", 1)[0]
    alone, _ = _stream(ws_url, _pcm(demo[: 6 * 16000]), query="?partials=false")
    result = {}

    def upload():
        result["resp"] = httpx.post(base + "/v1/analyze", files={"file": ("d.wav", wav_bytes(demo), "audio/wav")},
                                    timeout=120)

    t = threading.Thread(target=upload)
    t.start()
    together, code = _stream(ws_url, _pcm(demo[: 6 * 16000]), query="?partials=false")
    t.join()
    assert result["resp"].status_code == 200
    assert code == 1000 and _without_timing(together[-1]["analysis"]) == _without_timing(alone[-1]["analysis"])
