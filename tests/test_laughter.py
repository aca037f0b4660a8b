"""The laughter second opinion (Switchboard laughter detector, ONNX): features, frame
probabilities, the rule that adds laughs, and what the shipped events model does with it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import paravox
from paravox.audio import load_audio
from paravox.errors import ModelError
from paravox.result import Event
from paravox.vocal_events import laughter
from paravox.vocal_events.api import region_laughter
from paravox.vocal_events.model import default_model_dir, find_events, load_detector

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "samples" / "demo.flac"
DATA = ROOT.parent / "shared" / "data"
LAUGH = (3.14, 5.74)  # samples/README.md: the demo's laugh


def _shipped():
    lg = region_laughter(None, load_detector())
    assert lg is not None, "the shipped detector names a laughter model"
    return lg


def test_features_are_db_below_the_loudest_bin_with_one_frame_per_hop():
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal(16000)).astype(np.float32)  # 1 s at 16 kHz -> 8000 samples at 8 kHz
    f = laughter.features(x)
    assert f.shape == (1 + 8000 // laughter.HOP, laughter.N_MELS) and f.dtype == np.float32
    assert f.max() == pytest.approx(0.0, abs=1e-4) and f.min() >= -laughter.TOP_DB - 1e-4
    assert laughter.features(np.zeros(1, np.float32)).shape == (1, laughter.N_MELS)  # too short to reflect
    assert laughter.features(np.zeros(0, np.float32)).shape == (1, laughter.N_MELS)  # nothing: one silent frame


def test_features_in_blocks_equal_features_at_once(monkeypatch):
    x = load_audio(DEMO).samples
    at_once = laughter.features(x)  # 21 s: one block of 1024 frames
    monkeypatch.setattr(laughter, "BLOCK", 100)
    # equal up to float32 rounding: the BLAS product may sum in another order for another block
    # shape (numpy 2.4.6's OpenBLAS does: 1% of the values differ by under 1e-5 dB)
    np.testing.assert_allclose(laughter.features(x), at_once, rtol=1e-6, atol=1e-4)


def test_the_rate_is_halved_as_scipy_does_it():
    signal = pytest.importorskip("scipy.signal")
    rng = np.random.default_rng(1)
    for n in (1, 2, 3, 41, 16001):
        x = rng.standard_normal(n).astype(np.float32)
        np.testing.assert_allclose(laughter._halve_rate(x), signal.resample_poly(x, 1, 2), atol=1e-6)


def test_the_mel_filters_cover_0_to_4_khz_with_unit_area():
    fb = laughter.mel_filterbank()
    assert fb.shape == (128, 1025) and (fb >= 0).all()
    hz_per_bin = 4000 / 1024
    assert np.allclose(fb.sum(axis=1) * hz_per_bin, 1.0, atol=0.05)  # Slaney normalisation: area 1 per band


def test_frame_probabilities_find_the_demo_laugh_and_stay_low_away_from_it():
    times, p = _shipped().frame_probs(load_audio(DEMO).samples)
    assert len(times) == len(p) and p.min() >= 0 and p.max() <= 1
    inside = (times >= LAUGH[0]) & (times <= LAUGH[1])
    away = (times < LAUGH[0] - 1.0) | (times > LAUGH[1] + 1.0)  # the 1-s windows still reach the laugh near it
    assert p[inside].max() > 0.9
    assert p[away].max() < 0.5


def test_the_rule_needs_the_detectors_activity_and_leaves_found_events_alone():
    lg = _shipped()
    samples = load_audio(DEMO).samples
    assert lg.events(samples, [], []) == []  # no activity anywhere: no laugh
    assert lg.events(samples, [(10.0, 11.0)], []) == []  # activity, but not where the laughter is
    got = lg.events(samples, [(3.2, 5.0)], [])
    assert [e.tag for e in got] == ["laugh"]
    assert LAUGH[0] - 0.3 <= got[0].start < got[0].end <= LAUGH[1] + 0.3 and got[0].score > 0.9
    taken = [Event("sigh", 3.0, 5.5, 0.8)]
    assert lg.events(samples, [(3.2, 5.0)], taken) == []  # the region is already an event


def test_nothing_is_computed_when_every_active_stretch_is_taken(monkeypatch):
    lg = _shipped()
    monkeypatch.setattr(type(lg), "frame_probs", lambda self, x, spans=None: pytest.fail("ran the model"))
    assert lg.events(np.zeros(16000, np.float32), [(0.2, 0.5)], [Event("cough", 0.0, 1.0, 0.9)]) == []
    assert lg.events(np.zeros(0, np.float32), [(0.2, 0.5)], []) == []


def test_two_sure_runs_inside_one_span_are_one_laugh():
    lg = _shipped()
    p = np.zeros(200, np.float32)
    p[40:150] = 0.6  # one laugh ...
    p[50:55] = p[120:125] = 0.95  # ... with two sure bursts 1.5 s apart
    times = (np.arange(200) * laughter.FRAME_SECONDS).astype(np.float32)
    lg2 = laughter.LaughterDetector(lg.path, min_duration=0.1)
    lg2.frame_probs = lambda x, spans=None: (times, p)
    got = lg2.events(np.zeros(16000 * 5, np.float32), [(0.0, 5.0)], [])
    assert len(got) == 1 and got[0].start == pytest.approx(40 * laughter.FRAME_SECONDS - laughter.FRAME_SECONDS / 2, abs=0.01)
    assert got[0].end == pytest.approx(149 * laughter.FRAME_SECONDS + laughter.FRAME_SECONDS / 2, abs=0.01)


def test_the_demo_laugh_comes_from_the_detector_and_disappears_without_the_laughter_model():
    """Issue 20: the detector (not Whisper's spelled-out 'ha-ha') finds the demo's laugh, and nothing else."""
    found = paravox.events(DEMO).events
    assert [e.tag for e in found] == ["laugh"], found
    assert found[0].start < LAUGH[1] and found[0].end > LAUGH[0]
    det = load_detector()
    plain = type(det)({**det.config, "laughter": None}, det.weights)
    from paravox.vocal_events.api import region_classifier, region_gate

    samples = load_audio(DEMO).samples
    without = find_events(samples, plain, region_classifier(None, plain), gate=region_gate(None, plain),
                          laughter=region_laughter(None, plain))
    assert without == []


def test_a_tag_filter_without_laugh_never_runs_it(monkeypatch):
    lg = _shipped()
    monkeypatch.setattr(type(lg), "events", lambda *a, **k: pytest.fail("ran the laughter model"))
    assert all(e.tag == "cough" for e in paravox.events(DEMO, tags=["cough"]).events)


@pytest.mark.skipif(not DATA.is_dir(), reason="the data pack ../shared/data is not beside the repo")
def test_no_laugh_in_read_speech_nor_silence():
    casia = DATA / "emotion/casia"
    rows = [json.loads(line) for line in (casia / "manifest.jsonl").read_text().splitlines()]
    held_out = [r for r in rows if r.get("speaker") == "zhaoquanyin"][:3]  # a voice the detector never heard
    assert len(held_out) == 3
    for r in held_out:
        assert [e for e in paravox.events(casia / r["audio"]).events if e.tag == "laugh"] == [], r["audio"]
    assert paravox.events((np.zeros(16000 * 3, np.float32), 16000)).events == []


def test_a_missing_or_broken_laughter_file(tmp_path):
    det = load_detector()
    cfg = {**det.config, "laughter": {**det.config["laughter"]}}
    assert region_laughter(tmp_path, type(det)(cfg, det.weights)) is None  # a model directory without it
    (tmp_path / "laughter").mkdir()
    (tmp_path / "laughter" / "switchboard.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="switchboard.onnx"):
        region_laughter(tmp_path, type(det)(cfg, det.weights))
    assert (default_model_dir() / "laughter" / "LICENSE").is_file()


def test_probabilities_in_chunks_equal_the_whole_clips(monkeypatch):
    lg = _shipped()
    samples = load_audio(DEMO).samples
    _, whole = lg.frame_probs(samples)  # 21 s: one run of the network
    monkeypatch.setattr(laughter, "CHUNK", 150)
    _, chunked = lg.frame_probs(samples)
    np.testing.assert_allclose(chunked, whole, atol=1e-5)


def test_probabilities_around_spans_equal_the_whole_clips():
    lg = _shipped()
    samples = load_audio(DEMO).samples
    _, whole = lg.frame_probs(samples)
    for spans in ([(3.0, 5.0)], [(0.0, 2.0), (10.0, 12.0)], [(19.0, 30.0)], [(1.0, 1.1)]):
        _, part = lg.frame_probs(samples, spans)
        done = part != 0
        assert done.sum() >= 5
        np.testing.assert_allclose(part[done], whole[done], atol=1e-5)


def test_the_fast_events_backend_is_the_default_without_the_laughter_model():
    from paravox.backends import registry

    default = registry.create("events", "paravox-events")
    fast = registry.create("events", "paravox-events-fast")
    assert default.laughter is not None and fast.laughter is None
    samples = load_audio(DEMO).samples
    assert [e.tag for e in default.detect(samples, 16000, [])] == ["laugh"]
    assert fast.detect(samples, 16000, []) == []
