"""Schema-driven fuzzing of the HTTP API with schemathesis: whatever it sends, no answer is a 5xx.

A short, deterministic pass against a real server on loopback, with the real event and
emotion models and a fast fake recogniser (seconds, not minutes): every operation in the
OpenAPI document with generated valid and invalid requests (random binary as audio), then
the audio operations with real audio and generated options, so that the 200 path runs too.
``benchmarks/serve_fuzz.py`` does the same longer, with the real Whisper model.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the 'serve' extra is not installed: pip install 'paravox[serve]'")
schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed: pip install schemathesis")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)
from serve_helpers import fake_asr, serve_in_thread  # noqa: E402

from paravox.audio import load_audio  # noqa: E402
from paravox.backends import registry  # noqa: E402
from paravox.options import AnalyzeOptions  # noqa: E402
from paravox.serve.app import create_app  # noqa: E402
from paravox.testing import tone, wav_bytes  # noqa: E402

DEMO = Path(__file__).resolve().parents[1] / "samples" / "demo.flac"
#: No 5xx, a status and a content type the document declares, a body that matches its schema.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 25
#: The document is the same whatever the server's options; building the app loads no model.
DOCUMENT = create_app().openapi()
schema = schemathesis.openapi.from_dict(DOCUMENT)
AUDIO_OPERATIONS = [f"{method.upper()} {path}" for path, ops in DOCUMENT["paths"].items() for method, spec in ops.items() if "requestBody" in spec]


@pytest.fixture(scope="module")
def base_url():
    asr = fake_asr(0.0)
    registry.register("asr", asr.name)(asr)
    try:
        app = create_app(AnalyzeOptions(asr=asr.name, threads=2), max_upload_mb=2, request_timeout_s=60)
        with serve_in_thread(app) as url:
            yield url
    finally:
        registry.unregister("asr", asr.name)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
def test_generated_requests_get_no_5xx(case, base_url):
    # and an invalid request (a wrong type, a missing file, an unknown method) gets a 4xx
    case.call_and_validate(base_url=base_url, checks=[*CHECKS, negative_data_rejection], timeout=60)


def test_the_audio_operations_are_found():
    assert set(AUDIO_OPERATIONS) == {"POST /v1/analyze", "POST /v1/audio/transcriptions"}


@pytest.mark.parametrize("label", AUDIO_OPERATIONS)
def test_real_audio_with_generated_options_gets_no_5xx(base_url, label):
    clips = [wav_bytes(load_audio(DEMO).samples[: 3 * 16000]), wav_bytes(tone(440, seconds=1.0))]
    operation = schema.find_operation_by_label(label)
    generated = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))
    statuses = []

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=generated, clip=st.sampled_from(clips))
    def send(case, clip):
        case.body = {**case.body, "file": clip} if isinstance(case.body, dict) else clip
        response = case.call(base_url=base_url, timeout=60)
        statuses.append(response.status_code)
        case.validate_response(response, checks=CHECKS)

    send()
    assert 200 in statuses, statuses  # the analysis itself ran, not only the option checks
