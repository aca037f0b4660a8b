"""The emotion model without Whisper: NumPy head files, training, calibration, label maps, prosody."""

from __future__ import annotations

import json

import numpy as np
import pytest

from paravox.speech_emotion.features import PROSODY_DIM, FeatureConfig, prosody_features, windows
from paravox.speech_emotion.model import EMOTION2VEC_LABELS, EmotionModel, ModelError, default_model_dir, softmax
from tests.conftest import manifest

SR = 16000
TINY = FeatureConfig(layers=(2,), prosody=False)  # 1024 features


def _blobs(n_per: int = 20, labels=("calm", "tense", "sad"), seed: int = 0, speakers: int = 6):
    """Separable synthetic feature rows: one mean per label, per-speaker offsets."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1, (len(labels), TINY.dim)).astype(np.float32)
    X, y, g = [], [], []
    for s in range(speakers):
        offset = rng.normal(0, 0.3, TINY.dim)
        for i, label in enumerate(labels):
            for _ in range(n_per // speakers + 1):
                X.append(centres[i] + offset + rng.normal(0, 1.5, TINY.dim))
                y.append(label)
                g.append(f"spk{s}")
    return np.array(X, dtype=np.float32), y, g


@pytest.fixture(scope="module")
def tiny_model():
    from paravox.training.speech_emotion import HeadOptions, train_model

    X, y, g = _blobs()
    model, report = train_model(X, ["calm", "sad", "tense"], y, g, TINY, head=HeadOptions(C=0.01))
    return model, report, X, y


def test_tiny_model_trains_and_separates_classes(tiny_model):
    model, report, X, y = tiny_model
    assert report.n_val > 0 and report.val_ua > 0.9  # held-out speakers, separable data
    assert model.predict(X[:3]) == y[:3]
    p = model.predict_proba(X)
    assert p.shape == (len(X), 3)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)


def test_validation_split_is_speaker_independent():
    from paravox.training.speech_emotion import group_folds

    groups = [f"s{i % 7}" for i in range(70)]
    folds = group_folds(groups, 3, seed=0)
    assert sorted(np.concatenate(folds).tolist()) == list(range(70))
    seen = [{groups[i] for i in f} for f in folds]
    assert not (seen[0] & seen[1]) and not (seen[0] & seen[2]) and not (seen[1] & seen[2])


def test_save_load_round_trip_gives_the_same_scores(tiny_model, tmp_path):
    model, _, X, _ = tiny_model
    model.save(tmp_path / "m")
    loaded = EmotionModel.load(tmp_path / "m")
    assert loaded.labels == ("calm", "sad", "tense")
    assert loaded.features == TINY
    np.testing.assert_allclose(loaded.predict_proba(X[:10]), model.predict_proba(X[:10]), atol=1e-6)
    assert (tmp_path / "m" / "weights.npz").stat().st_size < 100_000


def test_label_set_that_does_not_match_the_weights_is_a_clear_error(tiny_model, tmp_path):
    model, *_ = tiny_model
    d = model.save(tmp_path / "m")
    cfg = json.loads((d / "config.json").read_text())
    cfg["labels"] = ["calm", "sad", "tense", "happy"]
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelError, match=r"score 3 classes but config.json lists 4 labels.*does not match"):
        EmotionModel.load(d)


def test_feature_config_that_does_not_match_the_weights_is_a_clear_error(tiny_model, tmp_path):
    model, *_ = tiny_model
    d = model.save(tmp_path / "m")
    cfg = json.loads((d / "config.json").read_text())
    cfg["features"]["prosody"] = True
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelError, match="standardises 1024 features but the feature config"):
        EmotionModel.load(d)


def test_missing_or_foreign_model_directory(tmp_path):
    with pytest.raises(ModelError, match="no such model directory"):
        EmotionModel.load(tmp_path / "nope")
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "config.json").write_text("{}")
    (tmp_path / "x" / "weights.npz").write_bytes(b"")
    with pytest.raises(ModelError, match="not a paravox-emotion config"):
        EmotionModel.load(tmp_path / "x")


def test_shipped_model_scores_the_nine_emotion2vec_labels():
    d = default_model_dir()
    if not (d / "weights.npz").exists():
        pytest.skip("shipped model not built yet")
    model = EmotionModel.load(d)
    assert model.labels == EMOTION2VEC_LABELS
    assert sum(p.stat().st_size for p in d.iterdir()) < 5_000_000
    assert 0.2 < model.temperature < 10
    # 'unknown' is never trained: it must never win
    p = model.predict_proba(np.random.default_rng(0).normal(0, 1, (50, model.features.dim)) * model.scale + model.mean)
    assert (p.argmax(axis=1) != EMOTION2VEC_LABELS.index("unknown")).all()


def test_temperature_scaling_recovers_an_overconfident_scale():
    from paravox.training.speech_emotion import expected_calibration_error, fit_temperature

    rng = np.random.default_rng(1)
    true_logits = rng.normal(0, 1.5, (4000, 5))
    p = softmax(true_logits)
    y = np.array([rng.choice(5, p=row / row.sum()) for row in p.astype(np.float64)])
    t = fit_temperature(true_logits * 3.0, y)
    assert 2.5 < t < 3.6
    over = expected_calibration_error(softmax(true_logits * 3.0), y)
    fixed = expected_calibration_error(softmax(true_logits * 3.0 / t), y)
    assert fixed < over / 2


def test_training_rejects_labels_outside_the_label_set():
    from paravox.training.speech_emotion import train_model

    X, y, g = _blobs()
    with pytest.raises(ValueError, match=r"\['tense'\] are not in the label set"):
        train_model(X, ["calm", "sad"], y, g, TINY)


def test_read_manifest_names_the_bad_line(tmp_path):
    from paravox.training.speech_emotion import ManifestError, read_manifest

    m = tmp_path / "m.jsonl"
    m.write_text('{"audio": "a.wav", "label": "x"}\n{"audio": "b.wav"}\n')
    with pytest.raises(ManifestError, match=r"m.jsonl:2: each line needs 'audio' and 'label'"):
        read_manifest(m)


@pytest.mark.parametrize("corpus", ["casia", "emodb", "ravdess"])
def test_label_maps_cover_each_corpus_and_land_in_the_nine_labels(corpus):
    from paravox.bench.speech_emotion import LABEL_MAPS

    labels = {r["label"] for r in manifest(f"emotion/{corpus}")}
    assert labels == set(LABEL_MAPS[corpus])
    assert set(LABEL_MAPS[corpus].values()) <= set(EMOTION2VEC_LABELS)
    assert LABEL_MAPS["ravdess"]["calm"] == "neutral" and LABEL_MAPS["emodb"]["boredom"] == "other"


def test_prosody_finds_the_pitch_of_a_tone_and_no_voicing_in_noise():
    t = np.arange(SR) / SR
    tone = (0.5 * np.sin(2 * np.pi * 150 * t)).astype(np.float32)
    v = prosody_features(tone)
    assert v.shape == (PROSODY_DIM,)
    assert 145 < 55 * np.exp(v[0] / 12) < 155  # mean F0 in Hz
    assert v[10] > 0.9  # voiced ratio
    noise = np.random.default_rng(0).normal(0, 0.1, SR).astype(np.float32)
    assert prosody_features(noise)[10] < 0.2
    assert np.isfinite(prosody_features(np.zeros(100, dtype=np.float32))).all()  # shorter than a frame


def test_windows_cut_long_input_into_near_equal_pieces():
    x = np.zeros(int(12.5 * SR), dtype=np.float32)
    pieces = windows(x, 5.0)
    assert len(pieces) == 3 and sum(len(p) for p in pieces) == len(x)
    assert max(len(p) for p in pieces) <= 5 * SR
    assert len(windows(x[: 3 * SR], 5.0)) == 1


def test_feature_config_round_trip_and_validation():
    cfg = FeatureConfig(layers=[1, 2], prosody=True)
    assert FeatureConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert cfg.dim == 2048 + PROSODY_DIM
    with pytest.raises(ValueError, match="blocks are 0-5"):
        FeatureConfig(layers=(7,))


def test_cli_registers_emotion_train_and_bench():
    from paravox.cli.main import build_parser

    parser = build_parser()
    args = parser.parse_args(["emotion", "a.wav", "--granularity", "segment", "-o", "p.jsonl"])
    assert args.granularity == "segment" and args.inputs == ["a.wav"] and callable(args.handler)
    args = parser.parse_args(["train", "emotion", "--manifest", "m.jsonl", "-o", "out"])
    assert args.manifest == "m.jsonl" and callable(args.handler)
    args = parser.parse_args(["bench", "emotion", "--data", "x"])
    assert args.data == ["x"] and callable(args.handler)


def test_bench_rejects_a_folder_without_folds(tmp_path):
    from paravox.bench.speech_emotion import CorpusError, load_corpus

    (tmp_path / "manifest.jsonl").write_text('{"id": "a", "audio": "a.wav", "label": "x"}\n')
    with pytest.raises(CorpusError, match="folds.json is missing"):
        load_corpus(tmp_path)


def test_training_without_speakers_holds_out_a_stratified_part():
    from paravox.training.speech_emotion import HeadOptions, train_model

    X, y, _ = _blobs(seed=3)
    model, report = train_model(X, ["calm", "sad", "tense"], y, None, TINY, head=HeadOptions(C=0.01))
    assert 0.1 * len(y) < report.n_val < 0.3 * len(y)
    assert report.val_ua > 0.9
    assert model.info["validation"]["items"] == report.n_val


def test_training_with_a_single_speaker_still_selects_and_validates():
    from paravox.training.speech_emotion import DEFAULT_GRID, train_model

    X, y, _ = _blobs(seed=4)
    model, report = train_model(X, ["calm", "sad", "tense"], y, ["only"] * len(y), TINY, grid=DEFAULT_GRID[:2])
    assert report.n_val > 0 and report.val_ua > 0.9
    assert report.options["C"] in (DEFAULT_GRID[0].C, DEFAULT_GRID[1].C)


def test_speed_perturbation_moves_tempo_and_pitch_together():
    from paravox.training.augment import augment_samples

    t = np.arange(SR) / SR
    tone = (0.5 * np.sin(2 * np.pi * 150 * t)).astype(np.float32)
    fast = augment_samples(tone, "speed110", np.random.default_rng(0))
    slow = augment_samples(tone, "speed90", np.random.default_rng(0))
    assert abs(len(fast) - SR / 1.1) <= 1 and abs(len(slow) - SR / 0.9) <= 1
    assert 160 < 55 * np.exp(prosody_features(fast)[0] / 12) < 170  # 150 Hz * 1.1
    assert 130 < 55 * np.exp(prosody_features(slow)[0] / 12) < 140  # 150 Hz * 0.9
    with pytest.raises(ValueError, match="speed90"):
        augment_samples(tone, "reverse", np.random.default_rng(0))
    from paravox.training.augment import COPIES  # what the training commands offer in --help

    for kind in COPIES:  # every name offered makes a copy
        assert len(augment_samples(tone, kind, np.random.default_rng(0))) > 0


def test_bench_trains_on_augmented_copies_and_tests_on_recorded_clips(tmp_path, monkeypatch):
    """Augmented copies join every training part (and inner fit part), never a test part or
    an inner validation part."""
    import paravox.bench.speech_emotion as bench
    import paravox.training.speech_emotion as train

    rows, rng = [], np.random.default_rng(0)
    for s in range(4):
        for i in range(6):
            rows.append({"id": f"s{s}-{i}", "audio": f"s{s}-{i}.wav", "label": "ab"[i % 2], "speaker": f"s{s}"})
    (tmp_path / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    folds = {str(k): {"train": [r["id"] for r in rows if r["speaker"] != f"s{k}"],
                      "test": [r["id"] for r in rows if r["speaker"] == f"s{k}"]} for k in range(4)}
    (tmp_path / "folds.json").write_text(json.dumps(folds))
    centres = rng.normal(0, 1, (2, TINY.dim)).astype(np.float32)
    base = np.stack([centres[i % 2] + rng.normal(0, 0.5, TINY.dim) for i in range(len(rows))]).astype(np.float32)

    def fake_extract(paths, config, *, augment="clean", **_):
        X = base.copy()
        if augment != "clean":
            X[:, 0] = 1000.0  # marks an augmented row
        return X

    seen = {"fit": [], "scored": []}
    real_fit, real_logits = train.fit_head, train._logits

    def fit(X, y, n, opts, **kw):
        seen["fit"].append((len(X), int((X[:, 0] == 1000.0).sum())))
        return real_fit(X, y, n, opts, **kw)

    def logits(X, *a):
        seen["scored"].append(int((X[:, 0] == 1000.0).sum()))
        return real_logits(X, *a)

    monkeypatch.setattr(bench, "extract_files", fake_extract)
    monkeypatch.setattr(train, "fit_head", fit)
    monkeypatch.setattr(train, "_logits", logits)
    res = bench.run_benchmark(tmp_path, features=TINY, augment=["speed90", "speed110"], grid=(0.01,), inner_folds=3)
    assert res["augment"] == ["speed90", "speed110"] and len(res["folds"]) == 4
    # every fit: a third of the rows recorded, two thirds augmented copies of those
    assert seen["fit"] and all(marked == 2 * n // 3 for n, marked in seen["fit"])
    assert max(n for n, _ in seen["fit"]) == 3 * 18  # a whole training part (18 clips) and its copies
    assert seen["scored"] and all(m == 0 for m in seen["scored"])
