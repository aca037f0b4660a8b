"""Vocal events: frame scores -> events, model directories, mixtures, training round trip, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from paravox.vocal_events import features
from paravox.vocal_events.model import (
    CLASSIFIER_KIND,
    DETECTOR_KIND,
    EventDetector,
    ModelError,
    VocalizationClassifier,
    _conv1d_same,
    _gelu,
    default_model_dir,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="the data pack ../shared/data is not beside the repo")


def _detector(tags=("cough", "laugh"), **config) -> EventDetector:
    cfg = {"kind": DETECTOR_KIND, "tags": list(tags), "layer": 1, "chunk_seconds": 10.0, "hop_seconds": 8.0,
           "median_frames": 1, "merge_gap_seconds": 0.2, "min_duration_seconds": 0.1,
           "thresholds": {t: 0.5 for t in tags}}
    cfg.update(config)
    return EventDetector(cfg, {"out_w": np.zeros((len(tags), 4), np.float32)})


def test_frame_scores_become_timed_events():
    det = _detector()
    s = np.zeros((200, 2), np.float32)
    s[50:100, 1] = 0.9  # laugh 1.00-2.00 s
    s[150:153, 0] = 0.9  # a 60-ms cough blip: shorter than min_duration
    events = det.events(s)
    assert [(e.tag, e.start, e.end) for e in events] == [("laugh", 1.0, 2.0)]
    assert events[0].score == pytest.approx(0.9)


def test_short_gaps_are_joined_and_long_gaps_split():
    det = _detector()
    s = np.zeros((300, 2), np.float32)
    s[10:30, 1] = s[35:60, 1] = 0.8  # 100-ms gap: one event
    s[100:120, 1] = s[150:170, 1] = 0.8  # 600-ms gap: two events
    assert [(e.start, e.end) for e in det.events(s)] == [(0.2, 1.2), (2.0, 2.4), (3.0, 3.4)]


def test_threshold_per_tag_global_and_tag_filter():
    det = _detector()
    s = np.zeros((100, 2), np.float32)
    s[10:40, 0] = 0.55
    s[60:90, 1] = 0.7
    s[95:100, 0] = 0.45  # under the calibrated frame threshold (0.5): never an event
    assert [e.tag for e in det.events(s)] == ["cough", "laugh"]
    # a threshold keeps the events whose (printed) score reaches it; it does not move the frame thresholds
    assert [e.tag for e in det.events(s, threshold=0.4)] == ["cough", "laugh"]
    assert [e.tag for e in det.events(s, threshold=0.6)] == ["laugh"]
    assert [e.tag for e in det.events(s, threshold={"laugh": 0.8})] == ["cough"]  # other tags are kept
    assert [e.tag for e in det.events(s, threshold=0.4, tags=["cough"])] == ["cough"]
    assert det.events(s, min_duration=0.7) == []


def test_overlapping_tags_keep_the_surer_one():
    det = _detector()
    s = np.zeros((100, 2), np.float32)
    s[10:50, 0] = 0.6
    s[12:50, 1] = 0.9
    assert [e.tag for e in det.events(s)] == ["laugh"]


def test_conv1d_same_matches_a_direct_sum():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((7, 3)).astype(np.float32)
    w = rng.standard_normal((2, 3, 3)).astype(np.float32)
    b = np.array([0.5, -1.0], np.float32)
    got = _conv1d_same(x, w, b, dilation=2)
    xp = np.pad(x, ((2, 2), (0, 0)))
    want = np.stack([[b[o] + sum(w[o, :, k] @ xp[t + 2 * k] for k in range(3)) for o in range(2)] for t in range(7)])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_gelu_is_the_tanh_approximation_and_leaves_its_input_alone():
    x = np.linspace(-6, 6, 101, dtype=np.float32)
    before = x.copy()
    want = 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x**3)))
    np.testing.assert_allclose(_gelu(x), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(x, before)


def test_detector_head_follows_replaced_weights():
    # The head keeps its convolutions as matrices between calls; new weights must not be
    # answered with the old matrices.
    rng = np.random.default_rng(1)

    def weights():
        return {
            "mean": np.zeros(4, np.float32), "scale": np.ones(4, np.float32),
            "conv1_w": rng.standard_normal((3, 4, 5)).astype(np.float32), "conv1_b": np.zeros(3, np.float32),
            "conv2_w": rng.standard_normal((3, 3, 5)).astype(np.float32), "conv2_b": np.zeros(3, np.float32),
            "out_w": rng.standard_normal((2, 3)).astype(np.float32), "out_b": np.zeros(2, np.float32),
        }

    det = _detector()
    det.weights = weights()
    x = rng.standard_normal((20, 4)).astype(np.float32)
    first = det.frame_logits_from_states(x)
    np.testing.assert_array_equal(det.frame_logits_from_states(x), first)
    det.weights = weights()
    fresh = _detector()
    fresh.weights = det.weights
    np.testing.assert_allclose(det.frame_logits_from_states(x), fresh.frame_logits_from_states(x), rtol=1e-6)
    assert not np.allclose(det.frame_logits_from_states(x), first)


def test_chunk_spans_cover_the_input():
    spans = features.chunk_spans(16000 * 25, 160000, 128000)
    assert spans[0][0] == 0 and spans[-1][1] == 16000 * 25
    assert all(b - a == 160000 for a, b in spans)
    assert features.chunk_spans(0, 10, 8) == []


def _write_model(path: Path, kind: str, tags: list[str], n_out: int) -> None:
    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps({"kind": kind, "tags": tags, "layers": [1]}))
    np.savez(path / "weights.npz", out_w=np.zeros((n_out, 4)), out_b=np.zeros(n_out), mean=np.zeros(4), scale=np.ones(4))


def test_model_directory_errors_name_the_problem(tmp_path):
    with pytest.raises(ModelError, match="no config.json"):
        VocalizationClassifier.load(tmp_path)
    _write_model(tmp_path / "m", CLASSIFIER_KIND, ["cough", "laugh", "sigh"], 2)
    with pytest.raises(ModelError, match="config lists 3 tags but the weights score 2"):
        VocalizationClassifier.load(tmp_path / "m")
    _write_model(tmp_path / "d", DETECTOR_KIND, ["cough"], 1)
    with pytest.raises(ModelError, match="kind is 'paravox-event-detector'"):
        VocalizationClassifier.load(tmp_path / "d")
    (tmp_path / "d" / "config.json").write_text("{not json")
    with pytest.raises(ModelError, match="not valid JSON"):
        EventDetector.load(tmp_path / "d")
    _write_model(tmp_path / "f", CLASSIFIER_KIND, ["cough", "laugh"], 2)
    cfg = json.loads((tmp_path / "f" / "config.json").read_text())
    (tmp_path / "f" / "config.json").write_text(json.dumps({**cfg, "framing": "wide"}))
    with pytest.raises(ModelError, match="'framing' is 'wide'; this paravox knows short, padded_fast"):
        VocalizationClassifier.load(tmp_path / "f")


def test_tiny_classifier_probabilities_sum_to_one(tmp_path):
    _write_model(tmp_path / "m", CLASSIFIER_KIND, ["cough", "laugh"], 2)
    clf = VocalizationClassifier.load(tmp_path / "m")
    clf.weights["out_w"][1, 0] = 3.0
    p = clf.predict_features(np.array([[1.0, 0, 0, 0], [-1.0, 0, 0, 0]], np.float32))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)
    assert p[0, 1] > 0.9 and p[1, 0] > 0.9


def test_a_reject_class_is_never_a_tag_and_vetoes_regions(tmp_path):
    from paravox.vocal_events.model import find_events

    _write_model(tmp_path / "m", CLASSIFIER_KIND, ["cough", "laugh", "none"], 3)
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    (tmp_path / "m" / "config.json").write_text(json.dumps({**cfg, "reject": "none"}))
    clf = VocalizationClassifier.load(tmp_path / "m")
    assert clf.tags == ["cough", "laugh"]
    clf.weights["out_w"][2, 0] = 4.0  # feature 0 says "no vocalization"
    clf.weights["out_w"][1, 1] = 4.0  # feature 1 says laugh
    x = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0]], np.float32)
    p = clf.predict_features(x)
    assert p.shape == (2, 2) and np.allclose(p.sum(axis=1), 1.0) and p[1, 1] > 0.9
    r = clf.reject_probability(x)
    assert r[0] > 0.9 and r[1] < 0.1

    class Says:  # the classifier above, on one fixed feature vector per call
        tags = clf.tags

        def __init__(self, row):
            self.row = row

        def embed(self, samples):
            return x[self.row]

        def predict_features(self, f):
            return clf.predict_features(f)

        def reject_probability(self, f):
            return clf.reject_probability(f)

    det = _detector(label_with_classifier=True, require_agreement=True, activity_threshold=0.3)
    s = np.zeros((250, 2), np.float32)
    s[100:150, 1] = 0.9  # the detector hears a laugh
    audio = np.zeros(16000 * 5, np.float32)
    assert [e.tag for e in find_events(audio, det, Says(1), scores=s)] == ["laugh"]
    assert find_events(audio, det, Says(0), scores=s) == []  # "no vocalization here"

    (tmp_path / "m" / "config.json").write_text(json.dumps({**cfg, "reject": "door"}))
    with pytest.raises(ModelError, match="reject class 'door' is not among"):
        VocalizationClassifier.load(tmp_path / "m")


def test_classify_answers_none_before_the_model_for_what_it_cannot_judge(tmp_path, monkeypatch):
    """Empty, one sample, shorter than 0.1 s, digital silence, near-silence: ``none`` with score 1.0
    and no model asked, whatever the classifier (this one has no reject class)."""
    import soundfile as sf

    import paravox

    _write_model(tmp_path / "m", CLASSIFIER_KIND, ["cough", "laugh"], 2)

    def never(*args, **kwargs):
        raise AssertionError("the model was asked")

    monkeypatch.setattr(features, "pooled_states", never)
    rng = np.random.default_rng(0)
    near_silence = (10 ** (-66 / 20) * rng.standard_normal(32000)).astype(np.float32)  # room tone 6 dB under the -60 dBFS gate
    sf.write(tmp_path / "one.wav", np.array([0.5], np.float32), 16000)
    sf.write(tmp_path / "empty.wav", np.zeros(0, np.float32), 16000)
    cases = {"zeros": (np.zeros(32000, np.float32), 16000), "near silence": (near_silence, 16000),
             "1 sample": tmp_path / "one.wav", "empty": tmp_path / "empty.wav", "90 ms": (0.5 * np.ones(1440, np.float32), 16000),
             "8 kHz stereo zeros": (np.zeros((2, 16000), np.float32), 8000)}
    for what, source in cases.items():
        got = paravox.classify(source, model=tmp_path / "m")
        assert (got.label, got.score) == ("none", 1.0), what
        assert got.scores == {"none": 1.0, "cough": 0.0, "laugh": 0.0} and next(iter(got.scores)) == "none", what
    # just audible: a 50-ms click at -50 dBFS in 2 s of silence goes to the model, which names a tag
    monkeypatch.setattr(features, "pooled_states", lambda samples, layers, framing="short": np.zeros(4, np.float32))
    click = np.zeros(32000, np.float32)
    click[16000:16800] = 10 ** (-50 / 20)
    got = paravox.classify((click, 16000), model=tmp_path / "m")
    assert got.label in ("cough", "laugh") and set(got.scores) == {"cough", "laugh"}  # no reject class: no none


@needs_data
def test_the_silence_gate_lets_every_real_vocalization_through():
    """The quietest Deeply clips (teeth chattering at -65 dBFS whole-clip RMS) are audible: none of the 595 is gated."""
    from paravox.audio import load_audio
    from paravox.vocal_events.api import too_little_to_judge

    rows = [json.loads(line) for line in (DATA / "nonverbal/deeply/manifest.jsonl").read_text().splitlines()]
    gated = [r["id"] for r in rows if too_little_to_judge(load_audio(DATA / "nonverbal/deeply" / r["audio"]).samples)]
    assert len(rows) == 595 and gated == []


def test_classify_reports_a_reject_class_as_none_with_its_probability(tmp_path, monkeypatch):
    import paravox

    _write_model(tmp_path / "m", CLASSIFIER_KIND, ["cough", "laugh", "noise"], 3)
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    (tmp_path / "m" / "config.json").write_text(json.dumps({**cfg, "reject": "noise"}))  # whatever its name: 'none' out
    w = dict(np.load(tmp_path / "m" / "weights.npz"))
    w["out_w"][2, 0] = w["out_w"][1, 1] = 4.0  # feature 0 says no vocalization, feature 1 laugh
    np.savez(tmp_path / "m" / "weights.npz", **w)
    says = {}
    monkeypatch.setattr(features, "pooled_states", lambda samples, layers, framing="short": says["x"])
    audible = (0.1 * np.sin(np.arange(16000) / 3).astype(np.float32), 16000)
    says["x"] = np.array([1.0, 0, 0, 0], np.float32)
    got = paravox.classify(audible, model=tmp_path / "m")
    assert got.label == "none" and got.score == got.scores["none"] > 0.9 and list(got.scores)[0] == "none"
    assert set(got.scores) == {"cough", "laugh", "none"} and sum(got.scores.values()) == pytest.approx(1.0)
    says["x"] = np.array([0, 1.0, 0, 0], np.float32)
    got = paravox.classify(audible, model=tmp_path / "m")
    assert got.label == "laugh" and 0 < got.scores["none"] < 0.1
    assert paravox.classify(audible, model=tmp_path / "m", tags=["cough"]).scores.keys() == {"cough", "none"}
    from paravox.vocal_events.api import classify_tags

    assert classify_tags(tmp_path / "m") == ["cough", "laugh"]  # the tags; none is no tag, and always an answer


@needs_data
def test_mixture_labels_follow_the_inserted_clip():
    from paravox.training import mixtures as mx

    vocal = [c for c in mx.vocalization_clips(DATA) if c.tag == "cough"][:3]
    speech = mx.speech_clips(DATA)[:3]
    bank = mx.Bank(vocal, speech)
    rng = np.random.default_rng(1)
    tags = ["cough", "laugh"]
    x, labels, events = mx.make_mixture(rng, bank, tags, 8.0)
    assert len(x) == 8 * 16000 and labels.shape == (400, 2)
    assert events and all(t == "cough" for t, _, _ in events)
    assert labels[:, 1].sum() == 0
    for _, start, end in events:  # every event's frames are labelled
        assert labels[int(start / 0.02) : int(end / 0.02), 0].mean() > 0.5
    x, labels, events = mx.make_mixture(rng, bank, tags, 8.0, speech_only=True)
    assert events == [] and labels.sum() == 0
    # the same seed, the same mixture: training and its replays draw alike
    plain = mx.make_mixture(np.random.default_rng(5), bank, tags, 8.0)
    again = mx.make_mixture(np.random.default_rng(5), bank, tags, 8.0)
    np.testing.assert_array_equal(plain[0], again[0])


# ---- the shipped models ---------------------------------------------------------------------

shipped = pytest.mark.skipif(
    not (default_model_dir() / "detector" / "config.json").is_file(), reason="no shipped events model in this checkout"
)


@shipped
def test_shipped_models_cover_only_trained_tags():
    from paravox.vocal_events.api import model_tags

    tags = model_tags()
    card = (default_model_dir() / "MODEL_CARD.md").read_text()
    for tag in tags["detector"] + tags["classifier"] + tags["classify"]:
        assert f"`{tag}`" in card  # the card lists every tag it emits, with its training data
    assert "breath" not in tags["detector"]  # no training examples: never emitted


@shipped
@needs_data
@pytest.mark.slow
def test_shipped_classifier_on_voices_it_never_heard():
    import paravox

    folds = json.loads((DATA / "nonverbal/deeply/folds.json").read_text())
    held = set(folds["1"]["test"])
    rows = [json.loads(line) for line in (DATA / "nonverbal/deeply/manifest.jsonl").read_text().splitlines()]
    rows = [r for r in rows if r["id"] in held][::4]
    # the events model's classifier/ held fold 1's test speakers out (isolated/ trained on every speaker)
    model = default_model_dir() / "classifier"
    hits = [paravox.classify(DATA / "nonverbal/deeply" / r["audio"], model=model).label == r["tag"] for r in rows]
    assert len(rows) >= 30
    assert np.mean(hits) >= 0.7, f"accuracy {np.mean(hits):.2f} on {len(rows)} held-out clips"


@needs_data
@pytest.mark.slow
@pytest.mark.skipif(not (default_model_dir() / "isolated" / "config.json").is_file(), reason="no shipped isolated/ classifier")
def test_shipped_isolated_classifier_answers_as_when_it_was_trained():
    """isolated/ was trained on every Deeply speaker, so this is no held-out figure (that is the
    5-fold benchmark in its card): it checks that 'paravox classify' reaches it and frames audio
    as its training did. A framing mismatch would scramble its answers on its own clips."""
    import paravox
    from paravox.vocal_events.api import classify_tags

    card = (default_model_dir() / "isolated" / "MODEL_CARD.md").read_text()
    assert "speakers never trained on" in card and "paravox train isolated" in card
    assert "gasp" not in classify_tags()  # 16 Deeply classes: the tags it was trained on
    rows = [json.loads(line) for line in (DATA / "nonverbal/deeply/manifest.jsonl").read_text().splitlines()][::10]
    got = [paravox.classify(DATA / "nonverbal/deeply" / r["audio"]) for r in rows]
    assert np.mean([g.label == r["tag"] for g, r in zip(got, rows)]) >= 0.95
    assert all(set(g.scores) == set(classify_tags()) | {"none"} for g in got)


shipped_isolated = pytest.mark.skipif(not (default_model_dir() / "isolated" / "config.json").is_file(),
                                      reason="no shipped isolated/ classifier")


@shipped_isolated
def test_shipped_classify_says_none_for_silence_noise_and_a_single_sample():
    """What the shipped classify answered before it had a none class: silence -> lip_pop, one sample ->
    sneeze, white noise -> nose_blow. Now: none, with none's probability among the scores."""
    import paravox

    rng = np.random.default_rng(7)
    white = (0.1 * rng.standard_normal(32000)).astype(np.float32)  # -20 dBFS
    quiet_brown = np.cumsum(rng.standard_normal(32000)).astype(np.float32)
    quiet_brown = 0.003 * (quiet_brown - quiet_brown.mean()) / quiet_brown.std()  # about -50 dBFS: the model's call
    for what, x in {"silence": np.zeros(32000, np.float32), "one sample": np.array([0.3], np.float32),
                    "white noise": white, "quiet brown noise": quiet_brown}.items():
        got = paravox.classify((x, 16000))
        assert got.label == "none", f"{what}: {got.label} {got.score:.2f}"
        assert got.score == got.scores["none"] >= 0.5 and len(got.scores) == 17, what


@shipped_isolated
@needs_data
def test_shipped_classify_names_a_real_laugh_and_calls_read_speech_none():
    import paravox

    rows = [json.loads(line) for line in (DATA / "nonverbal/deeply/manifest.jsonl").read_text().splitlines()]
    laugh = next(r for r in rows if r["tag"] == "laugh")
    got = paravox.classify(DATA / "nonverbal/deeply" / laugh["audio"])
    assert got.label == "laugh" and got.scores["none"] < 0.1
    got = paravox.classify(DATA / "emotion/casia/liuchanhg/neutral/201.flac")  # a read Mandarin sentence
    assert got.label == "none", f"{got.label} {got.score:.2f}"


@shipped
@needs_data
@pytest.mark.slow
@pytest.mark.parametrize(
    "clip, tag, where",
    [
        # "...随即仰天大笑。[laugh]女娲，你果然厉害呀。" : the laugh comes before the last words
        ("nonverbalspeech38k/laughing/2_laughing.flac", "laugh", (7.0, 11.0)),
        # "[sigh] They say time flies when you're having fun, so..." : the sigh opens the clip
        ("nonverbalspeech38k/sigh/2_sigh.flac", "sigh", (0.0, 1.0)),
    ],
)
def test_shipped_detector_on_real_tagged_speech(clip, tag, where):
    import paravox

    events = paravox.events(DATA / "nvasr/dev" / clip).events
    hits = [e for e in events if e.tag == tag and where[0] <= e.start <= where[1]]
    assert hits, f"no {tag} starting in {where}; events: {events}"
    assert len(events) <= 2  # and not a tag on every word


# ---- training and the CLI ---------------------------------------------------------------------


def _deeply_manifest(tmp_path: Path, counts: dict[str, int]) -> tuple[Path, list[dict]]:
    """A training manifest of the first ``counts[tag]`` Deeply clips of each tag; its rows."""
    deeply = DATA / "nonverbal/deeply"
    rows = [json.loads(line) for line in (deeply / "manifest.jsonl").read_text().splitlines()]
    picked = [r for tag, n in counts.items() for r in [r for r in rows if r["tag"] == tag][:n]]
    clips = tmp_path / "clips.jsonl"
    clips.write_text("".join(json.dumps({"audio": str(deeply / r["audio"]), "label": r["label"], "speaker": r["speaker"]}) + "\n"
                             for r in picked))
    return clips, picked


@needs_data
@pytest.mark.slow
def test_train_events_round_trip_through_the_cli(tmp_path):
    pytest.importorskip("torch")
    deeply = DATA / "nonverbal/deeply"
    clips, picked = _deeply_manifest(tmp_path, {"cough": 6, "sneeze": 6})
    ravdess = DATA / "emotion/ravdess"
    srows = [json.loads(line) for line in (ravdess / "manifest.jsonl").read_text().splitlines()][:5]
    speech = tmp_path / "speech.jsonl"
    speech.write_text("".join(json.dumps({"audio": str(ravdess / r["audio"])}) + "\n" for r in srows))
    model = tmp_path / "model"
    cmd = [sys.executable, "-m", "paravox.cli.main"]
    done = subprocess.run(
        cmd + ["train", "events", "--manifest", str(clips), "--speech", str(speech), "-o", str(model),
               "--mixtures", "6", "--epochs", "1", "-q"],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["tags"] == ["cough", "sneeze"]  # 'coughing'/'sneezing' mapped to canonical tags
    assert (model / "classifier" / "weights.npz").is_file() and (model / "detector" / "config.json").is_file()

    done = subprocess.run(cmd + ["classify", str(deeply / picked[0]["audio"]), "--model", str(model), "--json"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert set(record["scores"]) == {"cough", "sneeze"} and sum(record["scores"].values()) == pytest.approx(1, abs=1e-3)

    done = subprocess.run(cmd + ["events", str(ravdess / srows[0]["audio"]), "--model", str(model), "-f", "json"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "events" in json.loads(done.stdout)

    done = subprocess.run(cmd + ["classify", str(deeply / picked[0]["audio"]), "--model", str(model), "--tags", "laugh"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "does not know laugh" in done.stderr


@needs_data
@pytest.mark.slow
def test_a_classifier_trained_with_padded_fast_framing_runs_with_it(tmp_path):
    pytest.importorskip("torch")
    from paravox.audio import load_audio
    from paravox.training.classifier import CLASSIFIER_LAYERS, fit_classifier
    from paravox.training.model_files import save_model

    deeply = DATA / "nonverbal/deeply"
    _, picked = _deeply_manifest(tmp_path, {"cough": 5, "laugh": 5})
    framing = "padded_fast"
    X = np.stack([features.pooled_states(load_audio(deeply / r["audio"]).samples, CLASSIFIER_LAYERS, framing)
                  for r in picked])
    trained = fit_classifier(X, [r["tag"] for r in picked], epochs=5, framing=framing)
    model = tmp_path / "model"
    save_model(model / "classifier", trained.config, trained.weights)
    clf = VocalizationClassifier.load(model / "classifier")
    assert clf.config["framing"] == framing
    audio = deeply / picked[0]["audio"]
    cmd = [sys.executable, "-m", "paravox.cli.main"]
    done = subprocess.run(cmd + ["classify", str(audio), "--model", str(model), "--json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    scores = json.loads(done.stdout)["scores"]
    samples = load_audio(audio).samples
    padded = clf.predict(samples)
    assert all(scores[t] == pytest.approx(p, abs=1e-4) for t, p in padded.items())  # the CLI framed it as trained
    heard = clf.embed(samples)
    clf.config["framing"] = "short"
    assert not np.allclose(clf.embed(samples), heard, atol=1e-2)  # the framing does change what it hears


def test_cli_events_bad_input_is_recorded_and_the_run_goes_on(tmp_path):
    if not (default_model_dir() / "detector" / "config.json").is_file():
        pytest.skip("no shipped events model in this checkout")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF....WAVEfmt garbage")
    done = subprocess.run([sys.executable, "-m", "paravox.cli.main", "events", str(bad), "-f", "jsonl"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    record = json.loads(done.stdout)
    assert record["id"] == str(bad) and "error" in record
    assert "bad.wav" in done.stderr


def test_cli_threshold_must_be_a_probability():
    done = subprocess.run([sys.executable, "-m", "paravox.cli.main", "events", "x.wav", "--threshold", "laugh=2"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "between 0 and 1" in done.stderr


def test_event_options_travel_from_flags_to_the_backend():
    from paravox.options import AnalyzeOptions

    opts = AnalyzeOptions.from_kwargs(events_tags="laugh, cough", events_threshold={"laugh": 0.4}, events_min_duration=0.2)
    assert opts.events == "paravox-events"  # on by default
    assert opts.events_backend_options() == {"threshold": {"laugh": 0.4}, "tags": ("laugh", "cough"), "min_duration": 0.2}
    again = AnalyzeOptions.from_dict(json.loads(opts.to_json()))
    assert again == opts
    assert AnalyzeOptions.from_kwargs(events="none").events is None


class _StubClassifier:
    """Says ``tag`` with probability 0.8 for any audio."""

    def __init__(self, tags, tag):
        self.tags, self.tag = list(tags), tag

    def embed(self, samples):
        return np.zeros(4, np.float32)

    def predict_features(self, x):
        p = np.full((1, len(self.tags)), 0.2 / (len(self.tags) - 1), np.float32)
        p[0, self.tags.index(self.tag)] = 0.8
        return p


def test_regions_are_kept_when_classifier_and_detector_agree():
    from paravox.vocal_events.model import find_events

    det = _detector(label_with_classifier=True, require_agreement=True, activity_threshold=0.3)
    s = np.zeros((250, 2), np.float32)
    s[100:150, 1] = 0.9  # the detector hears a laugh at 2.0-3.0 s
    s[100:150, 0] = 0.2
    audio = np.zeros(16000 * 5, np.float32)
    agree = find_events(audio, det, _StubClassifier(["cough", "laugh"], "laugh"), scores=s)
    assert [(e.tag, e.start, e.end) for e in agree] == [("laugh", 2.0, 3.0)]
    assert agree[0].score == pytest.approx((0.5 * 0.8 + 0.5 * 0.9 / 1.1) * 0.9, rel=1e-3)
    assert find_events(audio, det, _StubClassifier(["cough", "laugh"], "cough"), scores=s) == []  # they disagree
    assert find_events(audio, det, _StubClassifier(["cough", "laugh"], "laugh"), scores=s, threshold={"laugh": 0.9}) == []
    assert find_events(audio, det, _StubClassifier(["cough", "laugh"], "laugh"), scores=s, threshold=0.95) == []
    assert find_events(audio, det, _StubClassifier(["cough", "laugh"], "laugh"), scores=s, tags=["cough"]) == []


def test_models_that_disagree_on_a_region_drop_it_when_agreement_is_required():
    from paravox.vocal_events.model import find_events

    s = np.zeros((250, 2), np.float32)
    s[100:150, 1] = 0.9  # the detector: laugh, 0.9 / (0.9 + 0.1) = 0.9 of its mass
    s[100:150, 0] = 0.1
    audio = np.zeros(16000 * 5, np.float32)

    def found(says: str, **config):
        det = _detector(label_with_classifier=True, activity_threshold=0.3, **config)
        clf = _StubClassifier(["cough", "laugh"], says)
        return [(e.tag, e.start, e.end) for e in find_events(audio, det, clf, scores=s)]

    assert found("cough", require_agreement=True) == []  # they disagree: dropped
    assert found("laugh", require_agreement=True) == [("laugh", 2.0, 3.0)]


def test_vote_weight_and_minimum_probability_name_regions():
    from paravox.vocal_events.model import find_events

    s = np.zeros((250, 2), np.float32)
    s[100:150, 1] = 0.9  # the detector hears a laugh; the classifier below says cough
    audio = np.zeros(16000 * 5, np.float32)
    says_cough = _StubClassifier(["cough", "laugh"], "cough")

    def tags(**config):
        det = _detector(label_with_classifier=True, require_agreement=False, activity_threshold=0.3, **config)
        return [e.tag for e in find_events(audio, det, says_cough, scores=s)]

    assert tags() == ["laugh"]  # equal weights: the detector's 1.0 beats the classifier's 0.8
    assert tags(classifier_weight=1.0) == ["cough"]
    assert tags(classifier_weight=1.0, min_label_probability=0.9) == []  # 0.8 is not enough


def test_a_classifier_frames_audio_as_its_config_says(tmp_path, monkeypatch):
    _write_model(tmp_path / "m", CLASSIFIER_KIND, ["cough", "laugh"], 2)
    clf = VocalizationClassifier.load(tmp_path / "m")
    seen = []
    monkeypatch.setattr(features, "pooled_states",
                        lambda samples, layers, framing="short": seen.append(framing) or np.zeros(4, np.float32))
    clf.predict(np.zeros(16000, np.float32))  # a model without the key: short, as before the key existed
    clf.config["framing"] = "padded_fast"
    clf.predict(np.zeros(16000, np.float32))
    assert seen == ["short", "padded_fast"]


def test_the_command_line_offers_every_framing_the_features_know():
    from paravox.cli import train_cmd

    assert train_cmd.FRAMINGS == features.FRAMINGS


def test_padded_fast_framing_keeps_the_clips_own_frames_and_comes_close_to_a_padded_window():
    from paravox.encoder.numpy_encoder import log_mel

    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal(32000)).astype(np.float32)  # 2 s
    short = features.layer_states(x, [1])[1]
    # the clip inside a zero-padded 30-s window, as transcription frames it; its own frames kept
    padded = features.encoder().forward(log_mel(x, pad_to_30s=True), layers=[1])[1][:100]
    fast = features.padded_fast_states(x, [1])[1]
    assert fast.shape == short.shape == (100, 512)  # the padding's states are dropped
    assert not np.allclose(padded, short, atol=1e-2)  # attention also saw the padding
    assert np.linalg.norm(fast - padded) < np.linalg.norm(short - padded) / 2
    # 31 s: two near-equal windows of 15.5 s; 775 states each
    assert features.padded_fast_states(np.tile(x, 16)[: 31 * 16000], [0])[0].shape == (1550, 512)
    assert features.pooled_states(x, [0, 1], "padded_fast").shape == (2048,)
    with pytest.raises(ValueError, match="framing 'wide'"):
        features.pooled_states(x, [1], "wide")


def test_model_card_rewritten_from_its_report_keeps_the_hand_maintained_section():
    pytest.importorskip("torch")
    from paravox.training.model_card import CARRIED_SECTION, carried_section, model_card

    directory = default_model_dir()
    if not (directory / "report.json").is_file():
        pytest.skip("no shipped events model in this checkout")
    card = (directory / "MODEL_CARD.md").read_text(encoding="utf-8")
    report = json.loads((directory / "report.json").read_text(encoding="utf-8"))
    command = card.split("## Reproduce", 1)[1].split("```")[1].strip()
    carried = carried_section(card)
    assert carried.startswith(CARRIED_SECTION) and "| val | shipped" in carried
    assert model_card(report, command, carried=carried) == card  # retraining loses no section
    assert CARRIED_SECTION not in model_card(report, command)
    # A detector trained alone, beside a kept classifier, says so.
    report["classifier"]["kept"] = True
    report["detector"] = {k: v for k, v in report["detector"].items() if k != "full_run_seconds"}
    other = model_card(report, command)
    assert "--keep-classifier src/paravox/vocal_events/weights" in other
    assert "--keep-classifier" not in card


def test_train_events_keep_detector_goes_with_the_data_pack_only(tmp_path):
    cmd = [sys.executable, "-m", "paravox.cli.main", "train", "events"]
    done = subprocess.run(cmd + ["--manifest", "m.jsonl", "-o", str(tmp_path / "m"), "--keep-detector", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "go with --data" in done.stderr
    done = subprocess.run(cmd + ["--data", str(tmp_path), "-o", str(tmp_path / "m"), "--keep-detector", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "no detector/ folder" in done.stderr
    done = subprocess.run(cmd + ["--manifest", "m.jsonl", "-o", str(tmp_path / "m"), "--classifier-augment", "speed90"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "go with --data" in done.stderr
    done = subprocess.run(cmd + ["--data", str(tmp_path), "-o", str(tmp_path / "m"), "--keep-classifier", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "no classifier/ folder" in done.stderr
    (tmp_path / "detector").mkdir()
    (tmp_path / "classifier").mkdir()
    done = subprocess.run(cmd + ["--data", str(tmp_path), "-o", str(tmp_path / "m"), "--keep-classifier", str(tmp_path),
                                 "--keep-detector", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "would train nothing" in done.stderr
    for flags in (["--keep-classifier", str(tmp_path), "--classifier-augment", "speed90"],):
        done = subprocess.run(cmd + ["--data", str(tmp_path), "-o", str(tmp_path / "m")] + flags,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and "drop one or the other" in done.stderr, (flags, done.stderr)
        assert not (tmp_path / "m").exists()


def test_a_gate_classifier_saying_none_drops_the_detectors_region():
    """The isolated classifier's ``none`` (speech, noise) vetoes a region both other models call a laugh."""
    from paravox.vocal_events.model import VocalizationClassifier, find_events

    def classifier(reject_feature: float):
        weights = {"mean": np.zeros(1, np.float32), "scale": np.ones(1, np.float32),
                   "out_w": np.array([[0.0], [0.0], [reject_feature]], np.float32), "out_b": np.zeros(3, np.float32)}
        return VocalizationClassifier({"tags": ["cough", "laugh", "none"], "reject": "none", "layers": [1]}, weights)

    class Fixed:  # embeds every input as the one feature 1.0
        def __init__(self, clf):
            self.clf = clf
            self.tags = clf.tags

        def embed(self, samples):
            return np.ones((1, 1), np.float32)

        def __getattr__(self, name):
            return getattr(self.clf, name)

    laugh = type("Laugh", (), {"tags": ["cough", "laugh"], "embed": lambda self, x: None,
                               "predict_features": lambda self, f: np.array([[0.1, 0.9]])})()
    det = _detector(label_with_classifier=True, require_agreement=True, activity_threshold=0.3)
    s = np.zeros((250, 2), np.float32)
    s[100:150, 1] = 0.9
    audio = np.zeros(16000 * 5, np.float32)
    assert [e.tag for e in find_events(audio, det, laugh, scores=s)] == ["laugh"]
    assert [e.tag for e in find_events(audio, det, laugh, scores=s, gate=Fixed(classifier(-5.0)))] == ["laugh"]
    assert find_events(audio, det, laugh, scores=s, gate=Fixed(classifier(5.0))) == []  # the gate says none


def test_the_shipped_detector_is_gated_by_the_isolated_classifiers_none(tmp_path):
    from paravox.vocal_events.api import region_gate
    from paravox.vocal_events.model import load_detector

    det = load_detector()
    gate = region_gate(None, det)
    assert det.config["gate"] == "isolated" and gate is not None and gate.reject == "none"
    assert region_gate(tmp_path, det) is None  # a model directory without isolated/: no gate
    ungated = type(det)({**det.config, "gate": None}, det.weights)
    assert region_gate(None, ungated) is None
