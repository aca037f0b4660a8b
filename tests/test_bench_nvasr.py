"""paravox bench nvasr: several sets, every source scored on its own, the spread over the real ones."""

from __future__ import annotations

import json

import pytest

from paravox.backends import registry
from paravox.backends.registry import ASRResult
from paravox.result import Segment, Word
from paravox.testing import tone, wav_bytes


class _EchoASR:
    """Hears "hello world" in anything."""

    name = "echo-asr"

    def __init__(self, threads: int = 0) -> None:
        pass

    def transcribe(self, samples, *, offset=0.0, options=None, progress=None):
        words = [Word(offset + 0.1, offset + 0.5, "hello", 0.9), Word(offset + 0.6, offset + 1.0, "world", 0.9)]
        return ASRResult([Segment(offset + 0.1, offset + 1.0, "hello world", words, "en")], "en", 1.0)


@pytest.fixture
def echo():
    registry.register("asr", "echo-asr")(_EchoASR)
    yield
    registry.unregister("asr", "echo-asr")


def _set(folder, rows):
    folder.mkdir()
    for r in rows:
        (folder / r["audio"]).write_bytes(wav_bytes(tone(220, seconds=2.0)))
    (folder / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def test_two_sets_are_scored_per_source_with_the_spread_over_the_real_ones(tmp_path, echo):
    from paravox.bench.vocal_events import bench_nvasr

    a = _set(tmp_path / "dev", [
        {"id": "a1", "audio": "a1.wav", "text": "hello world", "source": "alpha", "language": "en"},
        {"id": "a2", "audio": "a2.wav", "text": "hello [laugh] world", "source": "alpha", "language": "en"},
        {"id": "g1", "audio": "g1.wav", "text": "hello world", "source": "gamma", "language": "en"},
    ])
    b = _set(tmp_path / "beta", [{"id": "b1", "audio": "b1.wav", "text": "goodbye", "synthetic": True}])
    res = bench_nvasr([a, b], asr="echo-asr", events=None)
    assert set(res["sources"]) == {"alpha", "gamma", "beta"}  # a row's source, else its folder's name
    assert res["sources"]["beta"]["kind"] == "synthetic" and res["sources"]["alpha"]["kind"] == "real"
    assert res["sources"]["alpha"]["nv_exact_match"] == pytest.approx(0.5)  # a1 right, a2 misses its laugh
    assert res["sources"]["gamma"]["nv_exact_match"] == pytest.approx(1.0)
    spread = res["real_sources"]
    assert spread["sources"] == ["alpha", "gamma"] and spread["nv_exact_match"]["mean"] == pytest.approx(0.75)
    assert spread["nv_exact_match"]["std"] == pytest.approx(0.25)
    assert "| alpha (real) |" in res["markdown"] and "| beta (synthetic) |" in res["markdown"]
    assert "track1_score" in res["sources"]["alpha"] and res["groups"]["real"]["n"] == 3
    with pytest.raises(ValueError, match="share clip ids"):
        bench_nvasr([a, a], asr="echo-asr", events=None)
