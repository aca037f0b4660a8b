"""The HTTP service, tested over real HTTP on loopback.

One ``paravox serve`` child process with the real Whisper model (and no event model, so
that these tests do not depend on one) answers the API and reliability tests. Small
in-process servers show the rest: tags in the OpenAI text (real Whisper, a stand-in event
detector), and the queue (503), the deadline (408) and the duration limit (413) with a
deliberately slow fake recogniser, without waiting on Whisper.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the 'serve' extra is not installed: pip install 'paravox[serve]'")
httpx = pytest.importorskip("httpx")

from serve_helpers import fake_asr, serve_in_subprocess, serve_in_thread  # noqa: E402

from paravox.audio import load_audio  # noqa: E402
from paravox.backends import registry  # noqa: E402
from paravox.options import AnalyzeOptions  # noqa: E402
from paravox.result import Event  # noqa: E402
from paravox.testing import tone, truncate, wav_bytes  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "samples" / "demo.flac"
MAX_UPLOAD_MB = 2


@pytest.fixture(scope="module")
def speech() -> bytes:
    """The demo's first sentence, 0-3 s: "He was not an ill-disposed young man." (WAV)."""
    return wav_bytes(load_audio(DEMO).samples[: 3 * 16000])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``paravox serve`` in a child process, real models, a 2 MiB upload limit."""
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    args = ["--events", "none", "--emotion", "none", "--threads", "2", "--max-upload-mb", str(MAX_UPLOAD_MB), "--timeout", "120", "--concurrency", "1", "--queue", "4"]
    with serve_in_subprocess(*args, log=log) as (url, proc):
        yield url, proc


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server[0], timeout=120) as c:
        yield c


def _error(resp: httpx.Response) -> dict:
    body = resp.json()
    assert set(body) == {"error"} and {"type", "message"} <= set(body["error"]), body
    return body["error"]


# ---- the API with the real model -------------------------------------------------------------


def test_healthz_says_ready_and_names_the_models(client):
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["models"]["asr"] == "whisper-base"
    assert "asr:whisper-base" in body["loaded"]  # loaded at startup, before the first request
    assert body["limits"]["max_upload_mb"] == MAX_UPLOAD_MB
    assert body["limits"]["trim_memory"] is True  # on by default (docs/benchmarks.md, "Where the memory goes")


def test_analyze_multipart_returns_the_analysis(client, speech):
    resp = client.post("/v1/analyze", files={"file": ("talk.wav", speech, "audio/wav")})
    assert resp.status_code == 200, resp.text
    doc = resp.json()
    assert doc["source"] == "talk.wav"
    assert doc["language"] == "en"
    assert "ill-disposed young man" in doc["text"]
    words = [w for s in doc["segments"] for w in s["words"]]
    assert words[0]["text"] == "He" and 0 <= words[0]["start"] < 1.0
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "src" / "paravox" / "data" / "analysis.schema.json").read_text())
    jsonschema.validate(doc, schema)


def test_analyze_raw_body_with_query_options(client, speech):
    resp = client.post(
        "/v1/analyze",
        params={"language": "en", "word_timestamps": "false", "beam_size": 2, "vad_keep_loud": "false",
                "laugh_words": "false", "sound_words": "true", "name": "../clips/raw.wav"},
        content=speech,
        headers={"content-type": "application/octet-stream"},
    )
    assert resp.status_code == 200, resp.text
    doc = resp.json()
    assert doc["source"] == "raw.wav"  # only the last part of a name is kept
    assert doc["options"]["transcribe"]["language"] == "en"
    assert doc["options"]["transcribe"]["beam_size"] == 2
    assert doc["options"]["transcribe"]["vad_keep_loud"] is False
    assert doc["options"]["laugh_words"] is False
    assert doc["options"]["transcribe"]["sound_words"] is True
    assert all(s["words"] == [] for s in doc["segments"])
    assert "young man" in doc["text"]


def test_curl_style_data_binary_is_audio_whatever_the_content_type(client, speech):
    # curl --data-binary @a.wav sends application/x-www-form-urlencoded
    resp = client.post("/v1/analyze", content=speech, headers={"content-type": "application/x-www-form-urlencoded"})
    assert resp.status_code == 200, resp.text
    assert "young man" in resp.json()["text"]


@pytest.mark.parametrize("fmt", ["json", "text", "srt", "vtt", "verbose_json"])
def test_openai_transcriptions_formats(client, speech, fmt):
    resp = client.post(
        "/v1/audio/transcriptions",
        files={"file": ("talk.wav", speech, "audio/wav")},
        data={"model": "whisper-1", "response_format": fmt, "language": "en"},
    )
    assert resp.status_code == 200, resp.text
    if fmt == "json":
        assert resp.json() == {"text": "He was not an ill-disposed young man."}
    elif fmt == "verbose_json":
        body = resp.json()
        assert body["task"] == "transcribe" and body["language"] == "en"
        assert body["segments"][0]["text"] == body["text"] == "He was not an ill-disposed young man."
        assert body["words"][0]["word"] == "He" and body["events"] == []
        assert all(0.0 < w["probability"] <= 1.0 for w in body["words"])  # word confidences, as faster-whisper gives
    elif fmt == "text":
        assert resp.text == "He was not an ill-disposed young man.\n"
    elif fmt == "srt":
        assert resp.text.startswith("1\n00:00:00,") and "young man." in resp.text
    else:
        assert resp.text.startswith("WEBVTT\n\n00:00:00.") and resp.headers["content-type"].startswith("text/vtt")


def test_openai_transcriptions_rejects_an_unknown_format_before_analysing(client, speech):
    resp = client.post("/v1/audio/transcriptions", files={"file": ("a.wav", speech)}, data={"response_format": "xml"})
    assert resp.status_code == 422
    assert "response_format" in _error(resp)["message"]


@pytest.mark.parametrize(
    "params, words",
    [
        ({"beam_size": 0}, "beam_size"),
        ({"events": "no-such-detector"}, "no events backend named 'no-such-detector'"),
        ({"vad": "maybe"}, "vad"),
        ({"vad_keep_loud": "perhaps"}, "vad_keep_loud"),
        ({"laugh_words": "sometimes"}, "laugh_words"),
        ({"events_threshold": "loud"}, "events_threshold"),
    ],
)
def test_bad_options_get_422_naming_the_option(client, speech, params, words):
    resp = client.post("/v1/analyze", params=params, content=speech)
    assert resp.status_code == 422
    assert words in _error(resp)["message"]


def test_openapi_document_lists_the_routes(client):
    doc = client.get("/openapi.json").json()
    assert {"/v1/analyze", "/v1/audio/transcriptions", "/healthz"} <= set(doc["paths"])
    analyze = doc["paths"]["/v1/analyze"]["post"]
    assert "multipart/form-data" in analyze["requestBody"]["content"]
    assert {"200", "408", "413", "422", "503"} <= set(analyze["responses"])
    assert {p["name"] for p in analyze["parameters"]} >= {"language", "events", "emotion", "beam_size"}


def test_web_page_and_assets_are_served_without_any_cdn(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for asset in ("static/app.js", "static/style.css"):
        assert asset in page.text
        body = client.get("/" + asset)
        assert body.status_code == 200 and len(body.text) > 500
        assert "http://" not in body.text and "https://" not in body.text
    assert "http://" not in page.text and "https://" not in page.text


def test_unknown_route_gets_the_same_error_shape(client):
    resp = client.get("/v2/nothing")
    assert resp.status_code == 404 and _error(resp)["type"] == "not_found"


class ReferenceLaugh:
    """Stand-in event detector: the demo clip's laugh (3.14-5.74 s, samples/README.md)."""

    name = "test-reference-laugh"

    def detect(self, samples, sample_rate, segments):
        return [Event("laugh", 3.14, 5.74, 0.9)] if len(samples) / sample_rate > 5.74 else []


def test_openai_text_carries_the_event_tags(speech):
    from paravox.serve.app import create_app

    registry.register("events", ReferenceLaugh.name)(ReferenceLaugh)
    try:
        clip = wav_bytes(load_audio(DEMO).samples[: 7 * 16000])  # sentence, laugh, "Unless..."
        app = create_app(AnalyzeOptions(events=ReferenceLaugh.name, emotion=None, threads=2))
        with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=120) as c:
            def transcribe(fmt):
                r = c.post("/v1/audio/transcriptions", files={"file": ("demo.wav", clip)}, data={"response_format": fmt})
                assert r.status_code == 200, r.text
                return r

            text = transcribe("json").json()["text"]
            assert text.startswith("He was not an ill-disposed young man. [laugh] ")
            assert "[laugh]" in transcribe("srt").text
            verbose = transcribe("verbose_json").json()
            # the reference laugh (3.14-5.74 s), widened to the "Ha-ha-ha-ha-ha!" Whisper spells it as
            # (where that word starts moves by a few hundredths between CTranslate2 releases)
            [laugh] = verbose["events"]
            assert (laugh["tag"], laugh["score"]) == ("laugh", 0.9)
            assert 3.0 <= laugh["start"] <= 3.14 and 5.74 <= laugh["end"] < 6.5
            assert "Ha-ha" not in verbose["text"]
            assert any("[laugh]" in seg["text"] for seg in verbose["segments"])
            # /v1/analyze can turn the server's events off for one request
            doc = c.post("/v1/analyze", params={"events": "none"}, files={"file": ("demo.wav", clip)}).json()
            assert doc["events"] == [] and "[laugh]" not in doc["tagged_text"]
    finally:
        registry.unregister("events", ReferenceLaugh.name)


# ---- 20 corrupt or hostile uploads --------------------------------------------------------------


def _wav_header(*, data_size: int, rate: int = 16000, channels: int = 1, bits: int = 16, body: bytes = b"\0" * 2000) -> bytes:
    block = max(1, channels * bits // 8)
    fmt = struct.pack("<HHIIHH", 1, channels, rate, (rate * block) & 0xFFFFFFFF, block & 0xFFFF, bits)
    return b"RIFF" + struct.pack("<I", 36 + len(body)) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", data_size) + body


def _hostile_uploads() -> list[tuple[str, dict, int | tuple[int, ...]]]:
    """(id, httpx request kwargs, expected status or statuses)."""
    rng = np.random.default_rng(0)
    demo = DEMO.read_bytes()
    good_wav = wav_bytes(tone(440, seconds=2.0))
    big = bytes(rng.integers(0, 256, (MAX_UPLOAD_MB + 1) * 1024 * 1024, dtype=np.uint8))

    def part(data, name="a.wav", ctype="audio/wav"):
        return {"files": {"file": (name, data, ctype)}}

    return [
        ("zero-bytes-raw-body", {"content": b""}, 422),
        ("zero-bytes-multipart-file", part(b""), 422),
        ("text-file-named-wav", part(b"this is not audio at all\n" * 40), 422),
        ("random-bytes", part(bytes(rng.integers(0, 256, 100_000, dtype=np.uint8)), "noise.mp3", "audio/mpeg"), 422),
        ("truncated-wav", part(truncate(good_wav, 0.5)), 422),
        ("truncated-flac", part(demo[: len(demo) // 4], "demo.flac", "audio/flac"), 422),
        ("wav-header-claims-1-GiB", part(_wav_header(data_size=1 << 30)), 422),
        ("wav-header-claims-0-Hz", part(_wav_header(data_size=2000, rate=0)), 422),
        ("wav-header-claims-65535-channels", part(_wav_header(data_size=2000, channels=65535)), 422),
        ("wav-header-claims-0-bits", part(_wav_header(data_size=2000, bits=0)), 422),
        ("png-image-as-audio", part(b"\x89PNG\r\n\x1a\n" + bytes(2000), "a.png", "image/png"), 422),
        ("mp4-without-index", part(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(500), "a.m4a", "audio/mp4"), 422),
        ("path-traversal-filename", part(b"root:x:0:0:root:/root:/bin/bash\n", "../../../../etc/passwd", "audio/wav"), 422),
        ("windows-traversal-filename", part(b"[fonts]\n", "..\\..\\Windows\\win.ini"), 422),
        ("file-field-is-a-path-string", {"data": {"file": "/etc/passwd"}}, 422),
        ("raw-body-is-a-path", {"content": b"/etc/passwd"}, 422),
        ("multipart-without-boundary", {"content": good_wav, "headers": {"content-type": "multipart/form-data"}}, (400, 422)),
        ("giant-multipart-text-field", {"files": {"file": ("a.wav", good_wav)}, "data": {"prompt": "x" * 200_000}}, 400),
        ("two-files-in-one-form", {"files": [("file", ("a.wav", good_wav)), ("file", ("b.wav", good_wav))]}, 400),
        ("upload-over-the-size-limit", part(big, "big.wav"), 413),
        ("chunked-upload-over-the-limit", {"content": iter([big[i : i + 65536] for i in range(0, len(big), 65536)])}, 413),
    ]


HOSTILE = _hostile_uploads()


@pytest.mark.parametrize("request_kwargs, expected", [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_upload_gets_a_4xx(client, request_kwargs, expected):
    resp = client.post("/v1/analyze", **request_kwargs)
    allowed = expected if isinstance(expected, tuple) else (expected,)
    assert resp.status_code in allowed, resp.text
    err = _error(resp)
    assert "root:" not in err["message"] and "/etc/" not in err["message"] and "Windows" not in err["message"]


def test_content_length_claiming_10_gib_is_refused_before_reading(server):
    host, port = server[0].removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(
            b"POST /v1/analyze HTTP/1.1\r\nHost: x\r\nContent-Type: audio/wav\r\n"
            b"Content-Length: 10737418240\r\n\r\nRIFF"
        )
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
        reply = reply.decode("latin-1")
    assert reply.startswith("HTTP/1.1 413"), reply[:200]
    assert '"too_large"' in reply


def test_server_keeps_serving_after_the_hostile_uploads(server, client, speech):
    assert len(HOSTILE) >= 20
    assert server[1].poll() is None, "the server process died"
    resp = client.post("/v1/analyze", files={"file": ("after.wav", speech)})
    assert resp.status_code == 200 and "young man" in resp.json()["text"]
    assert client.get("/healthz").json()["queue"]["running"] == 0


def test_a_path_traversal_name_on_good_audio_is_only_a_label(client, speech, tmp_path):
    resp = client.post("/v1/analyze", files={"file": ("../../../tmp/evil/x.wav", speech)})
    assert resp.status_code == 200
    assert resp.json()["source"] == "x.wav"
    assert not Path("/tmp/evil").exists()


# ---- queue, deadline and duration limits, with a slow fake recogniser ------------------------------


@pytest.fixture
def slow_asr():
    names = []

    def make(seconds: float) -> str:
        cls = fake_asr(seconds)
        registry.register("asr", cls.name)(cls)
        names.append(cls.name)
        return cls.name

    yield make
    for name in names:
        registry.unregister("asr", name)


def test_full_queue_gets_503_at_once_and_the_server_recovers(slow_asr):
    from paravox.serve.app import create_app

    audio = wav_bytes(tone(300, seconds=2.0))
    app = create_app(AnalyzeOptions(asr=slow_asr(1.5), events=None, emotion=None), max_concurrency=1, max_queue=1, request_timeout_s=30)
    with serve_in_thread(app) as url:
        barrier = threading.Barrier(6)

        def post(_):
            with httpx.Client(base_url=url, timeout=30) as c:
                barrier.wait()
                t0 = time.monotonic()
                r = c.post("/v1/analyze", files={"file": ("a.wav", audio)})
                return r, time.monotonic() - t0

        with ThreadPoolExecutor(6) as ex:
            results = list(ex.map(post, range(6)))
        codes = sorted(r.status_code for r, _ in results)
        assert codes == [200, 200, 503, 503, 503, 503], codes  # 1 running + 1 waiting, the rest refused
        for r, seconds in results:
            if r.status_code == 503:
                assert seconds < 1.0, "a full queue must answer at once, not after waiting"
                assert r.headers["retry-after"] == "2" and _error(r)["type"] == "overloaded"
        with httpx.Client(base_url=url, timeout=30) as c:
            assert c.post("/v1/analyze", files={"file": ("a.wav", audio)}).status_code == 200
            assert c.get("/healthz").json()["queue"] == {"running": 0, "waiting": 0, "max_concurrency": 1, "max_queue": 1}


def test_healthz_answers_while_analyses_run(slow_asr):
    from paravox.serve.app import create_app

    app = create_app(AnalyzeOptions(asr=slow_asr(2.0), events=None, emotion=None), max_concurrency=1, max_queue=2)
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=30) as c:
        with ThreadPoolExecutor(1) as ex:
            pending = ex.submit(c.post, "/v1/analyze", files={"file": ("a.wav", wav_bytes(tone(300, seconds=2.0)))})
            time.sleep(0.5)
            t0 = time.monotonic()
            health = c.get("/healthz").json()
            assert time.monotonic() - t0 < 0.5, "the event loop is blocked by the analysis"
            assert health["queue"]["running"] == 1
            assert pending.result().status_code == 200


def test_request_past_the_timeout_gets_408_and_its_analysis_stops(slow_asr):
    from paravox.serve.app import create_app

    app = create_app(AnalyzeOptions(asr=slow_asr(5.0), events=None, emotion=None), request_timeout_s=0.5, max_concurrency=1, max_queue=0)
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=30) as c:
        t0 = time.monotonic()
        resp = c.post("/v1/analyze", files={"file": ("a.wav", wav_bytes(tone(300, seconds=2.0)))})
        assert resp.status_code == 408 and _error(resp)["type"] == "timeout"
        assert time.monotonic() - t0 < 2.0
        # The worker is told to stop at its next progress step, so the slot comes back
        # long before the fake recogniser's 5 s would be up.
        deadline = time.monotonic() + 2.0
        while c.get("/healthz").json()["queue"]["running"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert c.get("/healthz").json()["queue"]["running"] == 0
        assert time.monotonic() - t0 < 3.0


def test_audio_longer_than_max_duration_gets_413(slow_asr):
    from paravox.serve.app import create_app

    app = create_app(AnalyzeOptions(asr=slow_asr(0.0), events=None, emotion=None, max_duration=5.0))
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=30) as c:
        resp = c.post("/v1/analyze", files={"file": ("long.wav", wav_bytes(tone(300, seconds=8.0)))})
        assert resp.status_code == 413
        err = _error(resp)
        assert err["type"] == "invalid_audio" and err["reason"] == "too_large" and "long.wav" in err["message"]
        assert c.post("/v1/analyze", files={"file": ("ok.wav", wav_bytes(tone(300, seconds=2.0)))}).json()["text"] == "hello"


@pytest.mark.parametrize("trim", [True, False])
def test_freed_memory_is_handed_back_after_each_analysis_unless_turned_off(slow_asr, monkeypatch, trim):
    from paravox.serve import pool as pool_module
    from paravox.serve.app import create_app

    calls = []
    monkeypatch.setattr(pool_module, "release_freed_heap", lambda: calls.append(1) or True)
    app = create_app(AnalyzeOptions(asr=slow_asr(0.0), events=None, emotion=None), trim_memory=trim)
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=30) as c:
        for _ in range(3):
            assert c.post("/v1/analyze", files={"file": ("a.wav", wav_bytes(tone(300, seconds=1.0)))}).status_code == 200
        assert c.get("/healthz").json()["limits"]["trim_memory"] is trim
    assert len(calls) == (3 if trim else 0)


# ---- 5xx found by fuzzing the API (tests/test_serve_fuzz.py, benchmarks/serve_fuzz.py) ---------------


@pytest.mark.parametrize("value", ["inf", "1e400", "Infinity", "nan"])
def test_an_infinite_events_min_duration_gets_422_not_500(slow_asr, value):
    # It passed ge=0 and came back in the Analysis's options, which JSON cannot carry: 500.
    from paravox.serve.app import create_app

    app = create_app(AnalyzeOptions(asr=slow_asr(0.0), events=None, emotion=None))
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=30) as c:
        audio = wav_bytes(tone(300, seconds=1.0))
        resp = c.post("/v1/analyze", params={"events_min_duration": value}, files={"file": ("a.wav", audio)})
        assert resp.status_code == 422, resp.text
        assert resp.json() == {"error": {"type": "invalid_request", "message": "events_min_duration: Input should be a finite number"}}
        ok = c.post("/v1/analyze", params={"events_min_duration": "0.25"}, files={"file": ("a.wav", audio)})
        assert ok.status_code == 200 and ok.json()["options"]["events_min_duration"] == 0.25


def test_a_float_wav_with_nan_samples_gets_422_not_500(slow_asr):
    # The emotion model turned the NaN samples into NaN scores, which JSON cannot carry: 500.
    from paravox.serve.app import create_app

    samples = load_audio(DEMO).samples[: 3 * 16000].copy()
    samples[::1000] = np.nan
    broken = wav_bytes(samples, subtype="FLOAT")
    app = create_app(AnalyzeOptions(asr=slow_asr(0.0), events=None, emotion="paravox-emotion"))
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=60) as c:
        for endpoint in ("/v1/analyze", "/v1/audio/transcriptions"):
            resp = c.post(endpoint, files={"file": ("nan.wav", broken)}, data={"response_format": "verbose_json"})
            assert resp.status_code == 422, resp.text
            assert resp.json() == {
                "error": {
                    "type": "invalid_audio",
                    "message": "nan.wav: cannot be read (samples contain NaN or infinity); "
                    "export it again from a signal without NaN or infinite values",
                    "reason": "unreadable",
                }
            }
        repaired = wav_bytes(np.nan_to_num(samples), subtype="FLOAT")
        assert c.post("/v1/analyze", files={"file": ("ok.wav", repaired)}).status_code == 200


def test_serve_command_refuses_an_unknown_backend_at_once():
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "paravox.cli.main", "serve", "--events", "no-such-detector"],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 2
    assert "no events backend named 'no-such-detector'" in out.stderr


def test_load_run_200_requests_8_concurrent_has_no_5xx(slow_asr):
    """200 real uploads (decoded for real, a fast fake recogniser), 8 clients at once, on loopback.

    The capacity (2 running + 8 waiting) covers 8 clients, so every request must succeed;
    the latency table is printed. benchmarks/serve_latency.py does the same with the real
    models.
    """
    from paravox.serve.app import create_app

    audio = wav_bytes(tone(300, seconds=2.0))
    app = create_app(AnalyzeOptions(asr=slow_asr(0.01), events=None, emotion=None), max_concurrency=2, max_queue=8)
    with serve_in_thread(app) as url:

        def client_run(_):
            out = []
            with httpx.Client(base_url=url, timeout=60) as c:
                for _ in range(25):
                    t0 = time.monotonic()
                    r = c.post("/v1/analyze", files={"file": ("a.wav", audio)})
                    out.append((r.status_code, time.monotonic() - t0))
            return out

        t0 = time.monotonic()
        with ThreadPoolExecutor(8) as ex:
            results = [x for batch in ex.map(client_run, range(8)) for x in batch]
        wall = time.monotonic() - t0
    codes = [c for c, _ in results]
    latencies = np.array([s for _, s in results]) * 1000
    print(
        f"\n| requests | concurrent | 2xx | 4xx | 5xx | p50 ms | p95 ms | max ms | req/s |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        f"| {len(codes)} | 8 | {sum(200 <= c < 300 for c in codes)} | {sum(400 <= c < 500 for c in codes)} "
        f"| {sum(c >= 500 for c in codes)} | {np.percentile(latencies, 50):.0f} | {np.percentile(latencies, 95):.0f} "
        f"| {latencies.max():.0f} | {len(codes) / wall:.1f} |"
    )
    assert len(codes) == 200
    assert not [c for c in codes if c >= 500]
    assert codes.count(200) == 200


def test_the_recogniser_gets_one_worker_per_concurrent_analysis():
    from paravox.serve.pool import AnalysisPool

    class WithWorkers:
        def __init__(self, threads=0, workers=1):
            self.threads, self.workers = threads, workers

    class WithoutWorkers:
        def __init__(self, threads=0):
            self.threads = threads

    registry.register("asr", "test-with-workers")(WithWorkers)
    registry.register("asr", "test-without-workers")(WithoutWorkers)
    try:
        pool = AnalysisPool(AnalyzeOptions(asr="test-with-workers", events=None, emotion=None, threads=1), max_concurrency=2)
        asr = pool.analyzer(pool.options).asr
        assert (asr.threads, asr.workers) == (1, 2)  # two transcriptions may run at once
        pool.close()
        pool = AnalysisPool(AnalyzeOptions(asr="test-without-workers", events=None, emotion=None), max_concurrency=2)
        assert pool.analyzer(pool.options).asr.threads == 0  # built without the keyword it lacks
        pool.close()
    finally:
        registry.unregister("asr", "test-with-workers")
        registry.unregister("asr", "test-without-workers")


def test_whisper_with_two_workers_transcribes_two_requests_at_once_with_the_same_text():
    from paravox.backends.whisper import WhisperBaseASR

    samples = load_audio(DEMO).samples[: 3 * 16000]
    asr = WhisperBaseASR(threads=1, workers=2)
    assert asr.model.model.num_workers == 2
    with ThreadPoolExecutor(2) as ex:
        texts = list(ex.map(lambda _: asr.transcribe(samples).segments[0].text, range(2)))
    assert texts == ["He was not an ill-disposed young man."] * 2


def test_identical_uploads_get_identical_transcripts_even_when_sent_together(client):
    """Issue 19: three identical POSTs of one file once gave three transcripts (Whisper's sampled
    fallback moved on with every request). A clip on which the fallback runs, sent 10 times (4 at
    a time, once as FLAC), must come back with one text."""
    from conftest import clip

    from paravox.testing import encode

    path, _ = clip("nvasr/dev", "nv38k-yawn-1")
    samples = load_audio(path).samples
    body = wav_bytes(samples)

    def post(data: bytes, name: str) -> str:
        r = client.post("/v1/analyze", files={"file": (name, data)}, timeout=300)
        assert r.status_code == 200, r.text
        return r.json()["text"]

    texts = []
    for _ in range(2):  # 10 requests, 4 at a time, as issue 19's target asks
        with ThreadPoolExecutor(4) as ex:
            texts += list(ex.map(lambda i: post(body, f"yawn{i}.wav"), range(4)))
    texts.append(post(encode(samples, 16000, "flac"), "yawn.flac"))
    texts.append(post(body, "yawn-last.wav"))
    assert len(texts) == 10 and texts[0] and len(set(texts)) == 1, texts
