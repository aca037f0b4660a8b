"""Valence/arousal/dominance (the dimensional head) and emotion over time (smoothing, no speech)."""

from __future__ import annotations

import numpy as np
import pytest

from paravox.evaluation.classification import ccc
from paravox.result import EmotionScore
from paravox.speech_emotion.features import FeatureConfig
from paravox.speech_emotion.model import EmotionModel, ModelError
from paravox.speech_emotion.smoothing import NO_SPEECH, changes_per_2s, label_path, speech_frames, viterbi
from paravox.training.emotion_dimensions import DimensionOptions, attach, fit, predict, select
from tests.conftest import clip

TINY = FeatureConfig(layers=(2,), prosody=False)


def _data(n_spk: int = 6, per: int = 12, seed: int = 0):
    """Features whose first columns carry two targets linearly, plus noise; speaker groups."""
    rng = np.random.default_rng(seed)
    Y = rng.uniform(-0.8, 0.8, (n_spk * per, 2))
    X = rng.normal(0, 1, (n_spk * per, TINY.dim)).astype(np.float32)
    X[:, :20] += np.repeat(Y[:, :1], 10, axis=1).repeat(2, axis=1)[:, :20] * 3
    X[:, 20:40] += np.repeat(Y[:, 1:], 20, axis=1) * 3
    groups = [f"s{i // per}" for i in range(len(Y))]
    return X, Y, groups


def _model(X) -> EmotionModel:
    mean, scale = X.mean(0), X.std(0)
    layers = [(np.zeros((TINY.dim, 2), np.float32), np.zeros(2, np.float32))]
    return EmotionModel(("calm", "tense"), TINY, mean, scale, layers)


def test_ridge_head_learns_held_out_speakers_and_rescale_restores_the_spread():
    X, Y, g = _data()
    Z = (X - X.mean(0)) / X.std(0)
    held = np.asarray(g) == "s0"
    tr = [x for x, h in zip(g, held) if not h]
    plain = fit(Z[~held], None, Y[~held], None, DimensionOptions(3000.0, False, False))
    stretched = fit(Z[~held], None, Y[~held], tr, DimensionOptions(3000.0, False, True))
    p0 = predict(Z[held], None, *plain)
    p1 = predict(Z[held], None, *stretched)
    assert ccc(p1[:, 0], Y[held, 0]) > 0.6
    # a strong ridge shrinks predictions; the stretch brings their spread back towards the targets'
    assert p1.std(0).mean() > p0.std(0).mean() * 1.2
    assert ccc(p1[:, 1], Y[held, 1]) > ccc(p0[:, 1], Y[held, 1])


def test_selection_uses_groups_and_rescale_needs_them():
    X, Y, g = _data()
    Z = (X - X.mean(0)) / X.std(0)
    opts, scores = select(Z, None, Y, g, [DimensionOptions(a, False, r) for a in (10.0, 1e6) for r in (False, True)])
    assert opts.alpha == 10.0 and len(scores) == 4  # an absurdly strong ridge loses
    with pytest.raises(ValueError, match="at least 3"):
        fit(Z, None, Y, ["a", "b"] * (len(Y) // 2), DimensionOptions(stack=False, rescale=True))
    with pytest.raises(ValueError, match="log-probabilities"):
        fit(Z, None, Y, None, DimensionOptions(stack=True, rescale=False))


def test_attached_head_saves_loads_and_clips_to_the_range(tmp_path):
    X, Y, g = _data()
    model, report = attach(_model(X), X, Y, ("valence", "arousal"), g)
    assert report["options"]["alpha"] in (100.0, 300.0, 1000.0, 3000.0) and report["selection"]
    model.save(tmp_path / "m")
    back = EmotionModel.load(tmp_path / "m")
    assert back.dimensions == ("valence", "arousal")
    d = back.predict_dimensions(X[:5])
    assert d.shape == (5, 2) and np.allclose(d, model.predict_dimensions(X[:5]), atol=1e-5)
    assert np.abs(back.predict_dimensions(X * 50)).max() <= 1.0  # clipped
    with pytest.raises(ValueError, match="column"):
        attach(_model(X), X, Y, ("valence",), g)


def test_a_head_that_does_not_fit_the_features_is_refused(tmp_path):
    X, Y, g = _data()
    m = _model(X)
    with pytest.raises(ModelError, match="D_W"):
        EmotionModel(m.labels, m.features, m.mean, m.scale, m.layers, dimensions=("valence",),
                     dimension_head=(np.zeros((5, 1), np.float32), np.zeros((0, 1), np.float32), np.zeros(1, np.float32)))
    with pytest.raises(ModelError, match="names dimensions"):
        EmotionModel(m.labels, m.features, m.mean, m.scale, m.layers, dimensions=("valence",))


def test_shipped_model_scores_arousal_in_the_right_order():
    """TAVA is the head's training data: a sanity check of the wiring, not an accuracy figure
    (that is benchmarks/emotion_dimensions.py --eval, leave-one-speaker-out)."""
    import paravox

    high, _ = clip("emotion/tava", "tava-s01-enraged")
    low, _ = clip("emotion/tava", "tava-s01-tranquil")
    a = paravox.emotion(str(high)).emotion.dimensions
    b = paravox.emotion(str(low)).emotion.dimensions
    assert set(a) == {"valence", "arousal", "dominance"}
    assert a["arousal"] > b["arousal"] + 0.3
    assert all(-1.0 <= v <= 1.0 for v in (*a.values(), *b.values()))


def test_viterbi_keeps_a_label_through_noise_and_follows_a_real_change():
    rng = np.random.default_rng(0)
    truth = np.array([0] * 20 + [2] * 20)
    p = np.full((40, 3), 0.2)
    p[np.arange(40), truth] = 0.5
    p += rng.uniform(0, 0.35, p.shape)  # frame-level flicker
    p /= p.sum(1, keepdims=True)
    raw, smooth = p.argmax(1), viterbi(p, 0.05)
    assert np.sum(raw[1:] != raw[:-1]) > 3
    assert np.sum(smooth[1:] != smooth[:-1]) == 1 and (smooth == truth).mean() >= 0.9
    with pytest.raises(ValueError):
        viterbi(p, 1.0)


def test_frames_without_speech_get_no_label_and_runs_restart():
    speech = speech_frames(np.arange(8) * 0.5, 0.5, [(0.0, 1.2), (2.6, 4.0)])
    assert speech.tolist() == [True, True, True, False, False, False, True, True]
    p = np.tile([[0.6, 0.4]], (8, 1))
    p[6:] = [0.1, 0.9]
    path = label_path(p, speech)
    assert path.tolist() == [0, 0, 0, NO_SPEECH, NO_SPEECH, NO_SPEECH, 1, 1]
    assert changes_per_2s(path, 0.5) == (0, 2.5)  # no change counted across the pause


def test_score_without_speech_round_trips():
    s = EmotionScore(None, None, {}, 1.0, 3.0, reason="no speech")
    d = s.to_dict()
    assert d["label"] is None and d["score"] is None and d["reason"] == "no speech"
    assert EmotionScore.from_dict(d) == s
    v = EmotionScore("sad", 0.7, {"sad": 0.7}, 0.0, 1.0, dimensions={"valence": -0.4})
    assert EmotionScore.from_dict(v.to_dict()).dimensions == {"valence": -0.4}


def test_silence_and_noise_frames_have_no_emotion():
    from paravox.speech_emotion.recognizer import EmotionRecognizer

    rec = EmotionRecognizer()
    noise = (0.1 * np.random.default_rng(1).standard_normal(48000)).astype(np.float32)
    for x in (np.zeros(16000, np.float32), noise):
        scored = rec.frames(x)
        assert (scored.path == NO_SPEECH).all()
        assert all(rec.score(scored, i, *span).label is None for i, span in enumerate(scored.spans))
        assert rec.file_emotion(x) is None


def test_train_targets_on_a_rated_manifest_keeps_the_shipped_classifier(tmp_path):
    import json

    import paravox
    from paravox.training.speech_emotion import ManifestError, train_from_manifest
    from tests.conftest import DATA, manifest

    all_rows = manifest("emotion/tava")
    four = sorted({r["speaker"] for r in all_rows})[:4]
    rows = [r for r in all_rows if r["speaker"] in four]
    m = tmp_path / "rated.jsonl"
    m.write_text("".join(json.dumps({"audio": str(DATA / "emotion/tava" / r["audio"]), "speaker": r["speaker"],
                                     "valence": r["valence"], "arousal": r["arousal"]}) + "\n" for r in rows))
    report = train_from_manifest(m, tmp_path / "model", targets=("valence", "arousal"))
    assert report.extra["dimensions"]["selection"]  # chosen by leave-one-speaker-out over the 4 speakers
    res = paravox.emotion(str(DATA / "emotion/tava" / rows[0]["audio"]), model=str(tmp_path / "model"))
    assert set(res.emotion.dimensions) == {"valence", "arousal"}
    assert res.emotion.label in paravox.emotion(str(DATA / "emotion/tava" / rows[0]["audio"])).emotion.scores
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"audio": str(DATA / "emotion/tava" / rows[0]["audio"]), "valence": 3.0}) + "\n")
    with pytest.raises(ManifestError, match=r"\[-1, 1\]"):
        train_from_manifest(bad, tmp_path / "m2", targets=("valence",))


def test_eval_dimensional_scores_ccc_and_counts_missing_answers(tmp_path, capsys):
    import json

    from paravox.cli.eval_cmd import main

    ref = tmp_path / "ref.jsonl"
    hyp = tmp_path / "hyp.jsonl"
    vals = [-0.5, -0.1, 0.2, 0.6]
    ref.write_text("".join(json.dumps({"id": f"c{i}", "valence": v, "arousal": -v}) + "\n" for i, v in enumerate(vals)))
    hyp.write_text("".join(json.dumps({"id": f"c{i}", "emotion": {"label": "sad", "dimensions": {"valence": v, "arousal": -v}}}) + "\n"
                           for i, v in enumerate(vals[:3]))
                   + json.dumps({"id": "c3", "label": None, "emotion": None}) + "\n")
    assert main(["emotion", "--ref", str(ref), "--hyp", str(hyp), "--dimensional", "valence,arousal", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["no_answer"] == 1 and out["items"] == 4
    assert out["dimensions"]["valence"]["mae"] == pytest.approx(0.15)
    assert 0.5 < out["dimensions"]["valence"]["ccc"] < 1.0
    with pytest.raises(SystemExit):
        main(["emotion", "--ref", str(ref), "--hyp", str(hyp), "--dimensional", "dominance"])


def test_tiny_model_through_every_entry_point(tmp_path):
    """`--model tiny`: the same result shape (labels, dimensions, smoothing, no speech) from the
    edge model, in the library, the CLI and as an analyze backend; no embeddings to write."""
    import json
    import subprocess
    import sys

    import paravox
    from paravox.backends import registry
    from tests.conftest import SAMPLES

    res = paravox.emotion(str(SAMPLES / "demo.flac"), granularity="frame", model="tiny")
    assert res.emotion.label in res.emotion.scores and set(res.emotion.dimensions) == {"valence", "arousal", "dominance"}
    assert any(s.label is None for s in res.spans) and any(s.label for s in res.spans)
    silent = paravox.emotion((np.zeros(16000, np.float32), 16000), granularity="frame", model="tiny")
    assert silent.emotion is None and all(s.label is None for s in silent.spans)
    cli = [sys.executable, "-m", "paravox.cli.main", "emotion", str(SAMPLES / "demo.flac"), "--model", "tiny"]
    out = subprocess.run(cli + ["-f", "json"], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["label"] == res.emotion.label
    bad = subprocess.run(cli + ["--embeddings", str(tmp_path / "emb")], capture_output=True, text=True)
    assert bad.returncode == 2 and "no embeddings" in bad.stderr and not (tmp_path / "emb").exists()
    backend = registry.create("emotion", "paravox-emotion-tiny")
    from paravox.audio import load_audio

    whole, _ = backend.score(load_audio(str(SAMPLES / "demo.flac")).samples, 16000, [])
    assert whole.label == res.emotion.label


def test_long_input_merge_keeps_dimensions_and_user_dirs_are_not_taken_for_tiny(tmp_path):
    import json

    from paravox.analyzer import merge_emotions
    from paravox.speech_emotion.recognizer import EmotionRecognizer, is_tiny

    a = EmotionScore("sad", 0.6, {"sad": 0.6, "happy": 0.4}, 0, 600, speech=300.0, dimensions={"valence": -0.5})
    b = EmotionScore("happy", 0.7, {"sad": 0.3, "happy": 0.7}, 0, 300, speech=100.0, dimensions={"valence": 0.3})
    merged = merge_emotions([(a, 600.0), (b, 300.0)], 900.0)
    assert merged.dimensions == pytest.approx({"valence": -0.3})  # weighted by seconds of speech
    user = tmp_path / "mine"
    user.mkdir()
    (user / "model.onnx").write_bytes(b"not a tiny model")
    (user / "config.json").write_text(json.dumps({"format": "paravox-emotion"}))
    assert not is_tiny(str(user)) and is_tiny("tiny")
    rec = EmotionRecognizer("tiny")  # a --window longer than the 5-s clips is cut like spans are
    x = np.random.default_rng(0).standard_normal(16000 * 9).astype(np.float32) * 0.01
    assert rec.frames(x, window=8.0).probs.shape == (18, 9)
