"""The isolated-vocalization classifier: averaged MLPs, recipe choice by inner CV, `paravox train isolated`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from paravox.bench import vocal_events as bench  # noqa: E402
from paravox.training import classifier, vocal_cache
from paravox.vocal_events import features
from paravox.vocal_events.model import default_model_dir, load_classifier  # noqa: E402


def _logits(clf, X):
    w = clf.weights
    h = np.maximum(((X - w["mean"]) / w["scale"]) @ w["hidden_w"].T + w["hidden_b"], 0.0)
    return h @ w["out_w"].T + w["out_b"]


def test_members_are_separately_seeded_mlps_whose_logits_are_averaged():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 8)).astype(np.float32)
    y = [("cough", "laugh", "sigh")[i % 3] for i in range(60)]
    X[:, 0] += np.array([i % 3 for i in range(60)])
    one = [classifier.fit_classifier(X, y, hidden=16, epochs=3, seed=s) for s in (4, 5)]
    both = classifier.fit_classifier(X, y, hidden=16, epochs=3, seed=4, members=2)
    assert both.config["hidden"] == 32 and both.config["members"] == 2 and "members" not in one[0].config
    np.testing.assert_allclose(_logits(both, X), (_logits(one[0], X) + _logits(one[1], X)) / 2, atol=1e-5)
    # and inference needs nothing new: the wide MLP is an ordinary classifier
    np.testing.assert_allclose(both.predict_features(X).sum(axis=1), 1.0, atol=1e-6)
    with pytest.raises(ValueError, match="members must be 1 or more"):
        classifier.fit_classifier(X, y, hidden=16, epochs=1, members=0)


def _clip_set(tmp_path: Path, speakers: int = 4, per: int = 6, noise: float = 0.5):
    """A folded clip set whose features say the tag (coughs +1, laughs -1, plus noise)."""
    rows, folds = [], {}
    for s in range(speakers):
        for i in range(per):
            rows.append({"id": f"s{s}-{i}", "audio": f"s{s}-{i}.wav", "tag": "cough" if i % 2 else "laugh", "speaker": f"s{s}"})
    for s in range(speakers):
        folds[str(s + 1)] = {"train": [r["id"] for r in rows if r["speaker"] != f"s{s}"],
                             "test": [r["id"] for r in rows if r["speaker"] == f"s{s}"]}
    (tmp_path / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "folds.json").write_text(json.dumps(folds))
    for r in rows:  # the features are faked; the files only have to exist
        (tmp_path / r["audio"]).write_bytes(b"")
    rng = np.random.default_rng(0)
    X = np.stack([np.full(8, 1.0 if r["tag"] == "cough" else -1.0) + rng.normal(0, noise, 8) for r in rows]).astype(np.float32)
    return rows, X


def test_bench_classify_trains_on_augmented_copies_and_tests_on_recorded_clips(tmp_path, monkeypatch):
    rows, base = _clip_set(tmp_path, speakers=3, per=4, noise=0.1)

    def pooled(clips, layers, *, augment="clean", framing="short", **_):
        seen["framing"].add(framing)
        X = base.copy()
        X[:, 0] = 0.0 if augment == "clean" else 1000.0  # marks an augmented row
        return X

    seen = {"fit": [], "scored": [], "framing": set(), "config": []}
    real_fit = classifier.fit_classifier

    def fit(X, labels, **kw):
        seen["fit"].append((len(X), int((X[:, 0] == 1000.0).sum())))
        clf = real_fit(X, labels, **kw)
        seen["config"].append(clf.config.get("framing", "short"))
        real_predict = clf.label_probabilities

        def predict(Xt):
            seen["scored"].append(int((Xt[:, 0] == 1000.0).sum()))
            return real_predict(Xt)

        clf.label_probabilities = predict
        return clf

    monkeypatch.setattr(vocal_cache, "pooled_for_clips", pooled)
    monkeypatch.setattr(classifier, "fit_classifier", fit)
    res = bench.bench_classify(tmp_path, augment=["speed90", "speed110"])
    assert res["augment"] == ["speed90", "speed110"] and "speed90 + speed110 copies" in res["markdown"]
    assert seen["fit"] == [(24, 16)] * 3  # 8 training clips, each with two copies
    assert seen["scored"] == [0, 0, 0]
    # choosing the augmentation: inner folds hold whole training speakers out, test clips untouched
    seen["fit"].clear(), seen["scored"].clear()
    res = bench.bench_classify(tmp_path, select_augment=True)
    assert all(set(f["inner_uar"]) == {"none", "speed90+speed110", "speed90+speed110+noise"} for f in res["folds"])
    assert len(seen["fit"]) == 3 * (3 * 2 + 1)  # per fold: 3 candidates x 2 inner parts (2 training speakers), then the final fit
    assert not any(seen["scored"])
    assert seen["framing"] == {"short"} and set(seen["config"]) == {"short"} and res["framing"] == "short"
    # the padded_fast framing reaches the features, the classifiers' configs and the report
    seen["framing"].clear(), seen["config"].clear()
    res = bench.bench_classify(tmp_path, augment=[], framing="padded_fast")
    assert seen["framing"] == {"padded_fast"} and seen["config"] == ["padded_fast"] * 3
    assert res["framing"] == "padded_fast" and "padded_fast framing" in res["markdown"]


@pytest.fixture
def fake_features(tmp_path, monkeypatch):
    rows, X = _clip_set(tmp_path)
    seen = {"fits": []}

    def pooled(clips, layers, *, augment="clean", framing="short", **_):
        return X + (0.0 if augment == "clean" else 0.01)

    real_fit = classifier.fit_classifier

    def fit(Xtr, labels, **kw):
        seen["fits"].append((len(Xtr), kw.get("members", 1)))
        return real_fit(Xtr, labels, **{**kw, "hidden": 16, "epochs": 60})

    monkeypatch.setattr(vocal_cache, "pooled_for_clips", pooled)
    monkeypatch.setattr(classifier, "fit_classifier", fit)
    return tmp_path, seen


def test_bench_chooses_members_and_copies_by_inner_cv_and_jobs_change_nothing(fake_features):
    data, seen = fake_features
    sets = [["none"], ["speed90", "speed110"]]
    res = bench.bench_classify(data, select_augment=sets, members=[1, 2])
    names = {"none x1", "none x2", "speed90+speed110 x1", "speed90+speed110 x2"}
    assert all(set(f["inner_uar"]) == names for f in res["folds"])
    for f in res["folds"]:  # the recipe each fold used is the one its inner CV scored best (first of equals)
        best = max(f["inner_uar"].values())
        first = next(k for k, v in f["inner_uar"].items() if v == best)
        assert first == f"{'+'.join(f['augment']) or 'none'} x{f['members']}"
    assert len(seen["fits"]) == 4 * (4 * 3 + 1)  # per fold: 4 candidates x 3 inner parts, then the final fit
    assert {m for _, m in seen["fits"]} == {1, 2}
    assert res["members"] == "chosen per fold by inner CV" and res["members_candidates"] == [1, 2]
    assert res["augment_candidates"] == [[], ["speed90", "speed110"]] and res["seed"] == 0
    assert "1 or 2 MLPs averaged" in res["markdown"]
    parallel = bench.bench_classify(data, select_augment=sets, members=[1, 2], jobs=2)
    assert [f["uar"] for f in parallel["folds"]] == [f["uar"] for f in res["folds"]]
    assert parallel["per_class"] == res["per_class"]


def test_train_isolated_chooses_fits_calibrates_and_paravox_classify_uses_it(fake_features, monkeypatch):
    import paravox
    from paravox.training import isolated

    data, seen = fake_features
    bench_json = data / "bench.json"
    res = bench.bench_classify(data, select_augment=[["none"], ["speed90"]], members=[1, 2], framing="padded_fast")
    bench_json.write_text(json.dumps(res))
    seen["fits"].clear()
    out = data / "model"
    report = isolated.train_isolated(data, out, augment_sets=[[], ["speed90"]], members=[1, 2], framing="padded_fast",
                                     bench_report=bench_json, log=lambda m: None)
    assert len(seen["fits"]) == 4 * 3 + 1  # 4 candidates x 3 speaker-grouped parts, then all clips
    assert seen["fits"][-1][0] == 24 * (1 + len(report["chosen"]["augment"]))  # every clip, and its copies
    assert set(report["cv_uar"]) == {"none x1", "none x2", "speed90 x1", "speed90 x2"}
    assert report["bench"]["uar"] == res["uar"] and report["temperature"] > 0
    card = (out / "MODEL_CARD.md").read_text()
    assert f"UAR {100 * res['uar']:.1f}%" in card
    assert "paravox bench classify --data" in card and "--select-augment none speed90 --members 1 2" in card
    clf = load_classifier(str(out))
    assert clf.config["framing"] == "padded_fast" and clf.tags == ["cough", "laugh"]
    # paravox.classify frames the audio as the model says and answers with its tags
    framed = []

    def pooled_states(samples, layers, framing="short"):  # loud: a cough, quiet: a laugh
        framed.append(framing)
        return np.full(8, 1.0 if np.abs(samples).max() > 0.2 else -1.0, np.float32)

    monkeypatch.setattr(features, "pooled_states", pooled_states)
    tone = np.sin(np.arange(16000) / 5).astype(np.float32)
    assert paravox.classify((0.5 * tone, 16000), model=out).label == "cough"
    assert paravox.classify((0.05 * tone, 16000), model=out).label == "laugh"
    assert framed == ["padded_fast", "padded_fast"]
    # a benchmark of another recipe is refused, naming what differs
    with pytest.raises(ValueError, match="bench.json: that benchmark measured another recipe .*framing padded_fast, not short"):
        isolated.train_isolated(data, data / "other", augment_sets=[[], ["speed90"]], members=[1, 2], framing="short",
                                bench_report=bench_json, log=lambda m: None)
    assert not (data / "other").exists()  # refused before anything was trained or written
    # one speaker, or one tag, leaves nothing to choose a recipe on
    rows = [json.loads(line) for line in (data / "manifest.jsonl").read_text().splitlines()]
    (data / "manifest.jsonl").write_text("".join(json.dumps({**r, "speaker": "s0"}) + "\n" for r in rows))
    with pytest.raises(ValueError, match="2 tags, 1 speakers; training needs .* two speakers or more"):
        isolated.train_isolated(data, data / "other", framing="padded_fast", log=lambda m: None)


def test_classify_prefers_an_events_models_isolated_classifier(tmp_path):
    from paravox.vocal_events.api import isolated_classifier_path

    for part in ("classifier", "isolated"):
        (tmp_path / part).mkdir()
        (tmp_path / part / "config.json").write_text("{}")
    assert isolated_classifier_path(tmp_path) == str(tmp_path / "isolated")
    (tmp_path / "isolated" / "config.json").unlink()
    assert isolated_classifier_path(tmp_path) == str(tmp_path / "classifier")  # a model from 'paravox train events'
    assert isolated_classifier_path(tmp_path / "classifier") == str(tmp_path / "classifier")  # a classifier directory itself
    if (default_model_dir() / "isolated" / "config.json").is_file():
        assert isolated_classifier_path(None) == str(default_model_dir() / "isolated")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "paravox.cli.main", *args], capture_output=True, text=True)


def test_recipe_options_are_checked_before_any_work(tmp_path):
    r = _cli("train", "isolated", "--data", str(tmp_path), "-o", str(tmp_path / "m"), "--select-augment", "speed77")
    assert r.returncode == 2 and "--select-augment speed77: unknown kind speed77" in r.stderr
    r = _cli("bench", "classify", "--data", str(tmp_path), "--augment", "speed90", "--select-augment")
    assert r.returncode == 2 and "give one" in r.stderr
    r = _cli("bench", "classify", "--data", str(tmp_path), "--members", "0")
    assert r.returncode == 2 and "--members 0" in r.stderr
    r = _cli("train", "isolated", "--data", str(tmp_path), "-o", str(tmp_path / "m"))
    assert r.returncode == 2 and "no manifest.jsonl" in r.stderr
    (tmp_path / "manifest.jsonl").write_text(json.dumps({"audio": "gone.wav", "tag": "cough"}) + "\n")
    r = _cli("train", "isolated", "--data", str(tmp_path), "-o", str(tmp_path / "m"))
    assert r.returncode == 2 and "entry 1: audio file" in r.stderr and "gone.wav not found" in r.stderr
    (tmp_path / "gone.wav").write_bytes(b"")
    (tmp_path / "manifest.jsonl").write_text(json.dumps({"path": "gone.wav"}) + "\n")
    r = _cli("train", "isolated", "--data", str(tmp_path), "-o", str(tmp_path / "m"))
    assert r.returncode == 2 and "entry 1 has no 'audio'" in r.stderr
    assert not (tmp_path / "m").exists()
    r = _cli("train", "isolated", "--help")
    assert r.returncode == 0 and "--bench-report" in r.stdout and "speaker-grouped" in r.stdout


def test_classify_list_tags_names_what_classify_answers_with(tmp_path):
    from paravox.vocal_events.model import CLASSIFIER_KIND

    for part, tags in (("classifier", ["cough", "gasp", "laugh"]), ("isolated", ["cough", "laugh"])):
        (tmp_path / part).mkdir()
        (tmp_path / part / "config.json").write_text(json.dumps({"kind": CLASSIFIER_KIND, "tags": tags, "layers": [1]}))
        n = len(tags)
        np.savez(tmp_path / part / "weights.npz", out_w=np.zeros((n, 4)), out_b=np.zeros(n), mean=np.zeros(4), scale=np.ones(4))
    r = _cli("classify", "--list-tags", "--model", str(tmp_path))
    assert r.returncode == 0 and r.stdout.split() == ["cough", "laugh"]
    r = _cli("classify", "--list-tags", "--model", str(tmp_path / "classifier"))
    assert r.returncode == 0 and r.stdout.split() == ["cough", "gasp", "laugh"]


# ---- the reject class `none`: negatives ------------------------------------------------------


def _speech_corpus(path: Path, speakers: int = 3, clips: int = 2) -> Path:
    """A tiny plain-speech folder (manifest.jsonl: audio, speaker), tones standing in for speech."""
    import soundfile as sf

    path.mkdir()
    rows = []
    for s in range(speakers):
        for i in range(clips):
            name = f"sp{s}-{i}.wav"
            sf.write(path / name, 0.1 * np.sin(np.arange(16000) * (0.05 + 0.01 * s)).astype(np.float32), 16000)
            rows.append({"audio": name, "speaker": f"sp{s}", "duration": 1.0})
    (path / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_negatives_are_drawn_the_same_each_time_and_folded_by_speaker(tmp_path):
    from paravox.training.negatives import NONE, NegativeSpec, assign_folds, draw_negatives
    from paravox.vocal_events.api import too_little_to_judge

    spec = NegativeSpec((str(_speech_corpus(tmp_path / "talk", speakers=5)),), per_corpus=12, generated=12, seed=3)
    negs = draw_negatives(spec)
    assert negs == draw_negatives(spec) and len(negs) == 24 and {n.tag for n in negs} == {NONE}
    crops = [n for n in negs if n.source == "talk"]
    assert {n.group for n in crops} == {f"talk:sp{s}" for s in range(5)}  # every speaker gives crops
    for n in negs:
        x = n.samples()
        assert 0.5 * 16000 - 1 <= len(x) <= 30 * 16000 + 1 and np.abs(x).max() <= 1.0
        assert not too_little_to_judge(x)  # every negative reaches the model: none is below the silence gate
    np.testing.assert_array_equal(negs[-1].samples(), negs[-1].samples())
    folds = assign_folds(negs, ["1", "2", "3", "4", "5"])
    for g in {n.group for n in negs}:  # a speaker's crops share one fold
        assert len({folds[n.id] for n in negs if n.group == g}) == 1
    assert {folds[n.id] for n in crops} == {"1", "2", "3", "4", "5"}  # 5 speakers, dealt one per fold
    assert draw_negatives(NegativeSpec(spec.speech, 12, 12, seed=4)) != negs


def test_bench_and_training_with_negatives_learn_none_and_classify_answers_it(tmp_path, monkeypatch):
    """With fake features (vocalizations +-1 on every dimension, negatives +1 on half), the none class is learnt,
    scored on each fold's unseen speakers, reported apart from the tags' UAR, and answered by classify."""
    import paravox
    from paravox.training import isolated
    from paravox.training.negatives import NegativeSpec

    rows, X = _clip_set(tmp_path, speakers=5, per=6, noise=0.3)
    NEG = np.array([1.0] * 4 + [-1.0] * 4, np.float32)  # negatives: neither all +1 (cough) nor all -1 (laugh)
    spec = NegativeSpec((str(_speech_corpus(tmp_path / "talk", speakers=5)),), per_corpus=10, generated=10)
    rng = np.random.default_rng(1)

    def pooled(clips, layers, *, augment="clean", framing="short", **_):
        return X + (0.0 if augment == "clean" else 0.01)

    def pooled_negatives(negs, layers, *, augment="clean", framing="short", **_):
        return (NEG + rng.normal(0, 0.1, (len(negs), X.shape[1]))).astype(np.float32)

    real_fit = classifier.fit_classifier
    monkeypatch.setattr(vocal_cache, "pooled_for_clips", pooled)
    monkeypatch.setattr(vocal_cache, "pooled_for_negatives", pooled_negatives)
    monkeypatch.setattr(classifier, "fit_classifier", lambda *a, **kw: real_fit(*a, **{**kw, "hidden": 16}))
    res = bench.bench_classify(tmp_path, select_augment=[["none"], ["speed90"]], negatives=spec)
    assert res["n"] == 30 and res["negatives"]["n"] == 20 and res["n_none"] == 20
    assert sum(f["n_none"] for f in res["folds"]) == 20 and sum(f["n_test"] for f in res["folds"]) == 30
    assert res["uar"] == 1.0 and res["none_recall"] == 1.0 and res["false_none"] == 0
    assert "none" in res["per_class"] and "none recall" in res["markdown"] and "vocalizations called none" in res["markdown"]
    assert set(res["none_recall_by_source"]) == {"talk", "generated"}
    bench_json = tmp_path / "bench.json"
    bench_json.write_text(json.dumps(res))
    out = tmp_path / "model"
    report = isolated.train_isolated(tmp_path, out, augment_sets=[[], ["speed90"]], framing="short", bench_report=bench_json,
                                     negatives=spec, log=lambda m: None)
    assert report["tags"] == ["cough", "laugh"] and report["reject"] == "none" and report["negatives"]["n"] == 20
    assert "--negatives " + spec.speech[0] in report["command"] and "--negatives" in report["bench_command"]
    card = (out / "MODEL_CARD.md").read_text()
    assert "`none`: 100.0% of 20 negatives" in card and "0 of 30 vocalizations called none" in card
    clf = load_classifier(str(out))
    assert clf.tags == ["cough", "laugh"] and clf.labels == ["cough", "laugh", "none"] and clf.reject == "none"
    # the benchmark of a recipe without negatives is refused for one with them
    with pytest.raises(ValueError, match="negatives None, not"):
        plain = tmp_path / "plain.json"
        plain.write_text(json.dumps({**res, "negatives": None}))
        isolated.train_isolated(tmp_path, tmp_path / "other", augment_sets=[[], ["speed90"]], framing="short",
                                bench_report=plain, negatives=spec, log=lambda m: None)

    def pooled_states(samples, layers, framing="short"):  # loud: a cough; a hum: none
        return np.full(8, 1.0, np.float32) if np.abs(samples).max() > 0.2 else NEG

    monkeypatch.setattr(features, "pooled_states", pooled_states)
    tone = np.sin(np.arange(16000) / 5).astype(np.float32)
    got = paravox.classify((0.5 * tone, 16000), model=out)
    assert got.label == "cough" and set(got.scores) == {"cough", "laugh", "none"}
    got = paravox.classify((0.05 * tone, 16000), model=out)
    assert got.label == "none" and got.score == got.scores["none"] > 0.5 and sum(got.scores.values()) == pytest.approx(1)
    # tags restrict the tags; none stays an answer
    assert set(paravox.classify((0.05 * tone, 16000), model=out, tags=["laugh"]).scores) == {"laugh", "none"}
    assert set(paravox.classify((0.05 * tone, 16000), model=out, tags="none,laugh").scores) == {"laugh", "none"}


def test_negatives_can_leave_the_detectors_held_out_speakers_out(tmp_path):
    """With skip_held_out, a corpus named like one the detector holds speakers out of gives no crops of them."""
    from paravox.training.mixtures import HELD_OUT_SPEAKERS
    from paravox.training.negatives import NegativeSpec, draw_negatives

    folder = _speech_corpus(tmp_path / "emodb", speakers=4)  # speakers sp0..sp3; pretend sp1 is held out
    HELD_OUT_SPEAKERS_BEFORE = dict(HELD_OUT_SPEAKERS)
    HELD_OUT_SPEAKERS["emodb"] = frozenset({"sp1"})
    try:
        every = draw_negatives(NegativeSpec((str(folder),), per_corpus=8, generated=0))
        kept = draw_negatives(NegativeSpec((str(folder),), per_corpus=8, generated=0, skip_held_out=True))
    finally:
        HELD_OUT_SPEAKERS.clear()
        HELD_OUT_SPEAKERS.update(HELD_OUT_SPEAKERS_BEFORE)
    assert "emodb:sp1" in {n.group for n in every}
    assert {n.group for n in kept} == {"emodb:sp0", "emodb:sp2", "emodb:sp3"} and len(kept) == 8
    assert "held-out" in NegativeSpec((str(folder),), skip_held_out=True).describe()
