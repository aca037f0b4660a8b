"""Per-speaker normalisation (``paravox emotion --speaker-norm``): the arithmetic, the grouping,
its errors, and one real run over CASIA clips of two speakers."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from paravox.errors import OptionError
from paravox.inputs import InputItem, from_manifest
from paravox.result import EmotionResult, EmotionScore
from paravox.speech_emotion.features import FeatureConfig
from paravox.speech_emotion.model import EmotionModel
from paravox.speech_emotion.speaker_norm import (
    MIN_CLIPS,
    ONE_SPEAKER,
    SHIPPED_DIR,
    BySpeaker,
    SpeakerNormError,
    check_groups,
    load_norm_model,
    rescore,
    standardise_by_speaker,
)
from tests.conftest import DATA, manifest

FEATS = FeatureConfig(layers=(0,), prosody=False)  # one encoder block: a small head


def _model(speaker_norm: bool = True, dims: bool = False) -> EmotionModel:
    """A two-label head reading FEATS: 'high' when the first feature is above the mean."""
    d = FEATS.dim
    w = np.zeros((d, 2), np.float32)
    w[0] = (-4.0, 4.0)
    head = (np.full((d, 1), 0.1, np.float32), np.zeros((0, 1), np.float32), np.zeros(1, np.float32)) if dims else None
    return EmotionModel(("low", "high"), FEATS, np.zeros(d, np.float32), np.ones(d, np.float32),
                        [(w, np.zeros(2, np.float32))], dimensions=("valence",) if dims else (),
                        dimension_head=head, speaker_norm=speaker_norm)


def _result(key: str, x0: float, speech: bool = True) -> EmotionResult:
    emb = np.zeros(FEATS.dim, np.float32)
    emb[0], emb[1] = x0, 1.0 + 0.1 * x0
    score = EmotionScore("neutral", 0.5, {"neutral": 0.5}, 0.0, 2.0, 2.0, {"valence": 0.25}) if speech else None
    return EmotionResult(key, 2.0, score, "utterance", [], ["neutral"], emb if speech else None)


def test_each_speaker_is_standardised_by_its_own_clips():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(5, 2, (10, 3)), rng.normal(-3, 0.5, (12, 3))])
    spk = ["a"] * 10 + ["b"] * 12
    Z = standardise_by_speaker(X, spk)
    for s, rows in (("a", slice(0, 10)), ("b", slice(10, 22))):
        np.testing.assert_allclose(Z[rows].mean(0), 0, atol=1e-5)
        np.testing.assert_allclose(Z[rows].std(0), 1, atol=1e-5)
    # statistics from some rows only: those rows set the scale, the others follow it
    Z2 = standardise_by_speaker(X, spk, stats_rows={"a": np.arange(4), "b": np.arange(10, 22)})
    np.testing.assert_allclose(Z2[:4].mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(Z2[10:], Z[10:], atol=1e-6)
    assert not np.allclose(Z2[:10], Z[:10])


def test_a_constant_feature_is_only_centred_and_too_few_clips_name_the_speaker():
    X = np.array([[1.0, 7.0], [3.0, 7.0]])
    Z = standardise_by_speaker(X, ["s", "s"])
    np.testing.assert_allclose(Z[:, 1], 0)
    with pytest.raises(SpeakerNormError, match="'s' has 2 clip"):
        standardise_by_speaker(X, ["s", "s"], min_clips=3)
    with pytest.raises(ValueError, match="2 feature rows but 1 speaker"):
        standardise_by_speaker(X, ["s"])


def test_rescore_reads_each_clip_against_its_speaker():
    # the same raw value 5.0 is "high" among a low-voiced speaker's clips and "low" among a high one's
    low = [_result(f"l{i}", x) for i, x in enumerate([1, 2, 3, 1, 2, 3, 2, 5])]
    high = [_result(f"h{i}", x) for i, x in enumerate([9, 8, 7, 9, 8, 7, 8, 5])]
    model = _model()
    rescore(low, "low voice", model)
    rescore(high, "high voice", model)
    assert low[-1].emotion.label == "high" and high[-1].emotion.label == "low"
    assert low[-1].emotion.speaker_norm == {"speaker": "low voice", "clips": 8}
    assert low[-1].labels == ["low", "high"]
    assert low[-1].emotion.dimensions is None  # a head without dimensions gives none, not the per-clip head's
    assert low[-1].embedding is None  # dropped unless asked for
    d = low[-1].to_dict()["emotion"]
    assert d["speaker_norm"] == {"speaker": "low voice", "clips": 8}
    assert EmotionScore.from_dict(d).speaker_norm == d["speaker_norm"]


def test_rescore_skips_inputs_without_speech_and_refuses_too_few():
    group = [_result(f"c{i}", float(i)) for i in range(MIN_CLIPS)] + [_result("silence", 0.0, speech=False)]
    rescore(group, "s", _model(dims=True), keep_embeddings=True)
    assert group[-1].emotion is None
    assert group[0].emotion.speaker_norm["clips"] == MIN_CLIPS
    assert set(group[0].emotion.dimensions) == {"valence"} and group[0].emotion.dimensions != {"valence": 0.25}
    assert group[0].embedding is not None
    few = [_result(f"c{i}", float(i)) for i in range(MIN_CLIPS - 1)] + [_result("silence", 0.0, speech=False)]
    with pytest.raises(SpeakerNormError, match=f"speaker 's': {MIN_CLIPS - 1} of its {MIN_CLIPS} clip"):
        rescore(few, "s", _model())


def test_by_speaker_scores_a_speaker_together_and_keeps_each_failure_its_own():
    items = [InputItem(f"a{i}", str(i), speaker="A") for i in range(MIN_CLIPS)]
    items += [InputItem(f"b{i}", str(10 + i), speaker="B") for i in range(MIN_CLIPS)]
    items += [InputItem("broken", "-1", speaker="B")]
    calls = []

    def raw(item):
        calls.append(item.key)
        if item.source == "-1":
            raise ValueError("broken: not audio")
        return _result(item.key, float(item.source) % 7)

    work = BySpeaker(items, raw, _model())
    out = work(items[0])
    assert calls == [f"a{i}" for i in range(MIN_CLIPS)]  # the whole speaker at the first of its inputs
    assert out.emotion.speaker_norm == {"speaker": "A", "clips": MIN_CLIPS}
    assert [work(i).id for i in items[1:MIN_CLIPS]] == [f"a{i}" for i in range(1, MIN_CLIPS)]
    assert work(items[MIN_CLIPS]).emotion.speaker_norm == {"speaker": "B", "clips": MIN_CLIPS}
    with pytest.raises(ValueError, match="broken: not audio"):
        work(items[-1])
    assert len(calls) == len(items)  # every input read once


def test_a_speaker_that_fails_as_a_whole_fails_each_input_once():
    items = [InputItem(f"a{i}", str(i), speaker="A") for i in range(MIN_CLIPS)]
    reads = []

    def silent(item):  # every clip decodes, but only 7 hold speech: too few for the statistics
        reads.append(item.key)
        return _result(item.key, 1.0, speech=item.key != "a0")

    work = BySpeaker(items, silent, _model())
    for item in items:
        with pytest.raises(SpeakerNormError, match=f"{item.key}: speaker 'A': {MIN_CLIPS - 1} of its {MIN_CLIPS}"):
            work(item)

    class Broken(_model().__class__):
        def predict_proba(self, x):
            raise RuntimeError("head broke")

    def speech(item):
        reads.append(item.key)
        return _result(item.key, 1.0)

    broken = _model()
    broken.__class__ = Broken
    work = BySpeaker(items, speech, broken)
    reads.clear()
    for item in items:
        with pytest.raises(RuntimeError, match="head broke"):
            work(item)
    assert reads == [i.key for i in items]  # read once, not once per input


def test_repeated_ids_and_half_named_speakers_are_refused():
    same = [InputItem("x", "1", speaker="A")] + [InputItem(f"a{i}", "x", speaker="A") for i in range(MIN_CLIPS)]
    same.append(InputItem("x", "2", speaker="A"))
    with pytest.raises(OptionError, match="id 'x' is given more than once"):
        BySpeaker(same, lambda item: pytest.fail("no audio may be read"), _model())
    half = [InputItem(f"a{i}", "x", speaker="A") for i in range(MIN_CLIPS)] + [InputItem("loose", "x")]
    with pytest.raises(OptionError, match="1 input\\(s\\) name no speaker \\(the first: 'loose'\\) while 8 do"):
        BySpeaker(half, lambda item: pytest.fail("no audio may be read"), _model())


def test_speakers_without_speaker_norm_is_an_option_error():
    import paravox

    with pytest.raises(OptionError, match="speakers= is read only with speaker_norm=True"):
        paravox.emotion(["a.wav"], speakers=["s"])


def test_too_few_clips_of_a_speaker_is_refused_before_any_audio():
    items = [InputItem(f"a{i}", "x", speaker="A") for i in range(MIN_CLIPS)] + [InputItem("b", "x", speaker="B")]
    with pytest.raises(OptionError, match="too few for 'B' \\(1\\)"):
        BySpeaker(items, lambda item: pytest.fail("no audio may be read"), _model())
    with pytest.raises(OptionError, match=re.escape(f"'{ONE_SPEAKER}' (2)")):
        check_groups({ONE_SPEAKER: [1, 2]})


def test_a_manifest_speaker_reaches_the_item(tmp_path):
    m = tmp_path / "m.jsonl"
    m.write_text('{"id": "x", "audio": "x.wav", "speaker": 7}\n{"id": "y", "audio": "y.wav"}\n')
    assert [i.speaker for i in from_manifest(str(m))] == ["7", None]


def test_the_flag_travels_with_the_model_and_a_per_utterance_head_is_refused(tmp_path):
    _model().save(tmp_path / "norm")
    loaded = EmotionModel.load(tmp_path / "norm")
    assert loaded.speaker_norm
    assert json.loads((tmp_path / "norm" / "config.json").read_text())["speaker_norm"] is True
    _model(speaker_norm=False).save(tmp_path / "plain")
    assert not EmotionModel.load(tmp_path / "plain").speaker_norm
    with pytest.raises(OptionError, match="raw features"):
        load_norm_model(tmp_path / "plain")
    with pytest.raises(OptionError, match="features .* differ"):
        load_norm_model(tmp_path / "norm", FeatureConfig())


def test_the_shipped_head_reads_the_shipped_models_features():
    from paravox.speech_emotion.model import default_model_dir

    shipped = EmotionModel.load(default_model_dir())
    head = load_norm_model(None, shipped.features)
    assert head.speaker_norm and head.labels == shipped.labels
    assert (SHIPPED_DIR / "MODEL_CARD.md").is_file()


# ---- the real thing: CASIA clips of two speakers, through the CLI and the Python API -------------


def _two_speakers(tmp_path, per_speaker: int = MIN_CLIPS):
    rows = []
    for spk in ("liuchanhg", "wangzhe"):
        picked = [r for r in manifest("emotion/casia") if r["speaker"] == spk]
        by_label: dict[str, list] = {}
        for r in picked:
            by_label.setdefault(r["label"], []).append(r)
        order = [r for group in zip(*by_label.values()) for r in group][:per_speaker]  # every emotion in turn
        rows += [{"id": f"{spk}-{r['id']}", "audio": str(DATA / "emotion/casia" / r["audio"]), "speaker": spk,
                  "label": r["label"]} for r in order]
    m = tmp_path / "two.jsonl"
    m.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return m, rows


@pytest.mark.slow
def test_cli_reads_each_clip_against_its_speaker(tmp_path, capsys):
    from paravox.cli.main import main

    m, rows = _two_speakers(tmp_path)
    out = tmp_path / "pred.jsonl"
    assert main(["emotion", "--manifest", str(m), "--speaker-norm", "-o", str(out), "-q"]) == 0
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["id"] for r in recs] == [r["id"] for r in rows]
    for r, row in zip(recs, rows):
        assert r["emotion"]["speaker_norm"] == {"speaker": row["speaker"], "clips": MIN_CLIPS}
        assert r["label"] in EmotionModel.load(SHIPPED_DIR).labels
        assert set(r["emotion"]["dimensions"]) == {"valence", "arousal", "dominance"}
    # the same clips as a Python list, speakers given: the same answers
    import paravox

    res = paravox.emotion([row["audio"] for row in rows], speaker_norm=True, speakers=[row["speaker"] for row in rows])
    assert [x.emotion.label for x in res] == [r["label"] for r in recs]
    assert [round(x.emotion.score, 4) for x in res] == [r["score"] for r in recs]


def test_cli_refuses_what_speaker_norm_cannot_do(tmp_path, capsys):
    from paravox.cli.main import main

    m, _ = _two_speakers(tmp_path)
    assert main(["emotion", "--manifest", str(m), "--speaker-norm", "--granularity", "segment", "-q"]) == 2
    assert "whole files only" in capsys.readouterr().err
    assert main(["emotion", "--manifest", str(m), "--speaker-norm", "--model", "tiny", "-q"]) == 2
    assert "model directory trained with" in capsys.readouterr().err
    assert main(["emotion", str(DATA / "emotion/casia" / manifest("emotion/casia")[0]["audio"]), "--speaker-norm",
                 "-q"]) == 2
    assert "at least 8 clips" in capsys.readouterr().err


def test_training_for_speaker_norm_needs_speakers(tmp_path):
    from paravox.training.speech_emotion import ManifestError, train_from_manifest

    m = tmp_path / "m.jsonl"
    m.write_text('{"audio": "a.wav", "label": "x"}\n{"audio": "b.wav", "label": "y", "speaker": "s"}\n')
    with pytest.raises(ManifestError, match="needs a 'speaker' on every line; .*a.wav has none"):
        train_from_manifest(m, tmp_path / "out", speaker_norm=True)
    m.write_text("".join(json.dumps({"audio": f"{i}.wav", "label": "xy"[i % 2], "speaker": "s"}) + "\n"
                         for i in range(3)))
    with pytest.raises(ManifestError, match="speaker 's' has 3"):
        train_from_manifest(m, tmp_path / "out", speaker_norm=True)


@pytest.mark.slow
def test_a_head_trained_with_speaker_norm_is_read_by_the_option(tmp_path, monkeypatch, capsys):
    from paravox.cli.main import main

    monkeypatch.setenv("PARAVOX_FEATURE_CACHE", str(tmp_path / "cache"))  # leave the user's cache alone
    m, rows = _two_speakers(tmp_path)
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps({**r, "label": "loud" if r["label"] in ("angry", "happy", "surprise")
                                         else "quiet"}) + "\n" for r in rows))
    out = tmp_path / "norm_model"
    assert main(["train", "emotion", "--manifest", str(train), "--speaker-norm", "--C", "0.01", "-o", str(out), "-q"]) == 0
    assert EmotionModel.load(out).speaker_norm
    pred = tmp_path / "pred.jsonl"
    assert main(["emotion", "--manifest", str(m), "--speaker-norm", "--model", str(out), "-o", str(pred), "-q"]) == 0
    recs = [json.loads(x) for x in pred.read_text().splitlines()]
    assert {r["label"] for r in recs} <= {"loud", "quiet"} and len(recs) == len(rows)
    # each kind of head is refused where it would read the other kind of features
    assert main(["emotion", "--manifest", str(m), "--speaker-norm", "--model", str(default_dir()), "-q"]) == 2
    assert "raw features" in capsys.readouterr().err
    assert main(["emotion", rows[0]["audio"], "--model", str(out), "-q"]) == 2
    assert "use it through 'paravox emotion --speaker-norm --model DIR'" in capsys.readouterr().err


def default_dir():
    from paravox.speech_emotion.model import default_model_dir

    return default_model_dir()
