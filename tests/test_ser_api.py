"""paravox.emotion, the CLI and the analyze backend on real clips (loads the Whisper encoder)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from paravox.speech_emotion.model import EMOTION2VEC_LABELS, default_model_dir
from tests.conftest import DATA, manifest

pytestmark = pytest.mark.slow
SR = 16000


def _casia(speaker: str, label: str, n: int) -> list[dict]:
    rows = [r for r in manifest("emotion/casia") if r["speaker"] == speaker and r["label"] == label]
    return rows[:n]


@pytest.fixture(scope="session")
def user_manifest(tmp_path_factory):
    """A user's own two-label manifest: 'loud' (CASIA angry) vs 'quiet' (CASIA sad), 3 speakers."""
    d = tmp_path_factory.mktemp("user")
    lines = []
    for spk in ("ZhaoZuoxiang", "liuchanhg", "wangzhe"):
        for label, user_label in (("angry", "loud"), ("sad", "quiet")):
            for r in _casia(spk, label, 3):
                lines.append({"audio": str(DATA / "emotion/casia" / r["audio"]), "label": user_label, "speaker": spk})
    m = d / "my_labels.jsonl"
    m.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    return m


@pytest.fixture(scope="session")
def user_model(user_manifest, tmp_path_factory):
    import os

    from paravox.cli.main import main

    out = tmp_path_factory.mktemp("model") / "my_model"
    cache = tmp_path_factory.mktemp("features")
    old = os.environ.get("PARAVOX_FEATURE_CACHE")
    os.environ["PARAVOX_FEATURE_CACHE"] = str(cache)  # extract afresh, leave the user's cache alone
    try:
        assert main(["train", "emotion", "--manifest", str(user_manifest), "-o", str(out), "--C", "0.01", "-q"]) == 0
    finally:
        if old is None:
            os.environ.pop("PARAVOX_FEATURE_CACHE")
        else:
            os.environ["PARAVOX_FEATURE_CACHE"] = old
    assert len(list(cache.rglob("*.npz"))) == 18  # one cached feature file per training clip
    return out


@pytest.fixture(scope="session")
def shipped():
    if not (default_model_dir() / "weights.npz").exists():
        pytest.skip("shipped model not built yet")
    return default_model_dir()


def test_train_cli_writes_a_model_that_loads_with_the_users_labels(user_model):
    from paravox.speech_emotion.model import EmotionModel

    model = EmotionModel.load(user_model)
    assert model.labels == ("loud", "quiet")
    report = json.loads((user_model / "train_report.json").read_text())
    assert report["n_train"] == 18 and report["n_val"] > 0


def test_user_model_tells_its_labels_apart_on_an_unseen_speaker(user_model):
    import paravox

    angry = [str(DATA / "emotion/casia" / r["audio"]) for r in _casia("zhaoquanyin", "angry", 4)]
    sad = [str(DATA / "emotion/casia" / r["audio"]) for r in _casia("zhaoquanyin", "sad", 4)]
    res = paravox.emotion(angry + sad, model=str(user_model))
    assert [r.id for r in res] == angry + sad  # the path as given, as every entry point names it
    assert all(set(r.emotion.scores) == {"loud", "quiet"} for r in res)
    top = [r.emotion.label for r in res]
    assert sum(t == "loud" for t in top[:4]) + sum(t == "quiet" for t in top[4:]) >= 6


def test_utterance_result_has_the_emotion2vec_shape(shipped):
    import paravox

    path = DATA / "emotion/ravdess" / manifest("emotion/ravdess")[0]["audio"]
    (res,) = paravox.emotion(str(path), extract_embedding=True, format="emotion2vec")
    assert res["key"] == str(path)
    assert res["labels"] == list(EMOTION2VEC_LABELS)
    assert len(res["scores"]) == 9 and abs(sum(res["scores"]) - 1) < 1e-4
    assert res["feats"].ndim == 1 and res["feats"].shape[0] > 500
    (no_feats,) = paravox.emotion(str(path), format="emotion2vec")
    assert no_feats["feats"] is None and no_feats["scores"] == pytest.approx(res["scores"], abs=1e-6)
    # the same clip as a result: the file-level emotion is the emotion2vec scores' argmax
    result = paravox.emotion(str(path), extract_embedding=True)
    assert result.id == str(path) and result.spans == []
    assert result.emotion.label == res["labels"][int(np.argmax(res["scores"]))]
    assert [result.emotion.scores[k] for k in res["labels"]] == pytest.approx(res["scores"], abs=1e-6)
    assert result.embedding == pytest.approx(res["feats"], abs=1e-6)
    assert result.to_dict()["emotion"]["speech"] > 0


def test_shipped_model_hears_anger_more_than_in_sad_speech(shipped):
    import paravox

    rows = [r for r in manifest("emotion/ravdess") if r["speaker"] == "Actor_01" and r["intensity"] == "strong"]
    angry = [str(DATA / "emotion/ravdess" / r["audio"]) for r in rows if r["label"] == "angry"]
    sad = [str(DATA / "emotion/ravdess" / r["audio"]) for r in rows if r["label"] == "sad"]
    p_angry = np.mean([r.emotion.scores["angry"] for r in paravox.emotion(angry)])
    p_sad = np.mean([r.emotion.scores["angry"] for r in paravox.emotion(sad)])
    assert p_angry > 0.4 and p_angry > 3 * p_sad


def _call(parts: list[np.ndarray], gap: float = 1.5) -> np.ndarray:
    silence = np.zeros(int(gap * SR), dtype=np.float32)
    out = [silence]
    for p in parts:
        out += [p, silence]
    return np.concatenate(out)


def test_segment_granularity_gives_emotion_over_time(user_model):
    import paravox
    from paravox.audio import load_audio

    a = load_audio(DATA / "emotion/casia" / _casia("zhaoquanyin", "angry", 1)[0]["audio"]).samples
    s = load_audio(DATA / "emotion/casia" / _casia("zhaoquanyin", "sad", 1)[0]["audio"]).samples
    call = _call([a, s, a])
    res = paravox.emotion((call, SR), granularity="segment", model=str(user_model))
    segs = res.spans
    assert len(segs) == 3
    first_end = (1.5 * SR + len(a)) / SR
    assert abs(segs[0].start - 1.5) < 0.4 and abs(segs[0].end - first_end) < 0.4
    assert all(x.start < x.end <= len(call) / SR + 1e-6 for x in segs)
    assert segs[0].label == "loud" and segs[2].label == "loud"
    # the file-level emotion is the speech-weighted mean of those segments, as analyze gives it
    w = np.array([x.end - x.start for x in segs])
    mean = {k: float(np.dot(w, [x.scores[k] for x in segs]) / w.sum()) for k in ("loud", "quiet")}
    assert res.emotion.scores == pytest.approx(mean, abs=1e-4)
    assert res.emotion.speech == pytest.approx(w.sum(), abs=1e-3)


def test_frame_granularity_scores_at_a_fixed_hop(user_model):
    import paravox

    path = DATA / "emotion/casia" / _casia("wangzhe", "angry", 1)[0]["audio"]
    from paravox.audio import load_audio

    duration = load_audio(path).duration
    res = paravox.emotion(str(path), granularity="frame", model=str(user_model), extract_embedding=True)
    assert len(res.spans) == int(np.ceil(duration / 0.5))
    assert res.span_embeddings.shape[0] == len(res.spans)
    assert [s.start for s in res.spans[:3]] == [0.0, 0.0, 0.0]  # 2-s spans centred on 0, 0.5, 1.0
    speech = [s for s in res.spans if s.label is not None]
    assert len(speech) >= len(res.spans) // 2
    assert all(abs(sum(s.scores.values()) - 1) < 1e-4 for s in speech)
    assert all(s.score is None and s.scores == {} and s.reason == "no speech" for s in res.spans if s.label is None)
    (e2v,) = paravox.emotion(str(path), granularity="frame", model=str(user_model), format="emotion2vec")
    assert len(e2v["scores"]) == len(res.spans)
    assert e2v["segments"][1] == {"start": 0.0, "end": round(res.spans[1].end, 3)}  # centred on 0.5, clipped


def test_bad_and_empty_input_raise_audio_errors(user_model, tmp_path):
    import paravox
    from paravox.audio import AudioError

    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF....WAVEfmt garbage")
    with pytest.raises(AudioError, match="broken.wav"):
        paravox.emotion(str(bad), model=str(user_model))
    with pytest.raises(AudioError, match="empty"):
        paravox.emotion((np.zeros(0, dtype=np.float32), SR), model=str(user_model))
    with pytest.raises(ValueError, match="granularity"):
        paravox.emotion(str(bad), granularity="word")


def test_cli_records_a_bad_input_and_carries_on(user_model, tmp_path, capsys):
    from paravox.cli.main import main

    good = DATA / "emotion/casia" / _casia("wangzhe", "sad", 1)[0]["audio"]
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"not audio at all")
    scp = tmp_path / "wav.scp"
    scp.write_text(f"utt_good {good}\nutt_bad {bad}\n")
    out = tmp_path / "pred.jsonl"
    code = main(["emotion", "--scp", str(scp), "--model", str(user_model), "--embeddings", str(tmp_path / "emb"),
                 "-o", str(out), "-q"])
    assert code == 1
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["id"] for x in lines] == ["utt_good", "utt_bad"]
    assert lines[0]["label"] in ("loud", "quiet") and set(lines[0]["emotion"]["scores"]) == {"loud", "quiet"}
    assert lines[0]["label"] == lines[0]["emotion"]["label"]  # the file-level label, on top for 'paravox eval emotion'
    assert lines[1]["error"]["type"] == "AudioError"
    emb = np.load(tmp_path / "emb" / "utt_good.npy")
    assert emb.ndim == 1 and not (tmp_path / "emb" / "utt_bad.npy").exists()


def test_a_short_input_with_one_segment_is_encoded_once(user_model):
    """An input of at most 5 s is one clip for the file-level emotion; its single segment gets
    that score (same probabilities, the segment's own times) without a second encoder pass."""
    from paravox.audio import load_audio
    from paravox.backends import registry
    from paravox.result import Segment

    backend = registry.create("emotion", "paravox-emotion", model=str(user_model))
    x = load_audio(DATA / "emotion/casia" / _casia("zhaoquanyin", "angry", 1)[0]["audio"]).samples
    assert len(x) / SR <= backend.recognizer.window_seconds
    head = backend.recognizer.head
    calls = []
    real = head.clips
    head.clips = lambda clips: (calls.append(len(clips)), real(clips))[1]
    overall, per = backend.score(x, SR, [Segment(0.2, 1.5, "x")])
    assert calls == [1]
    assert per[0].scores == pytest.approx(overall.scores) and per[0].label == overall.label
    assert (per[0].start, per[0].end) == (0.2, 1.5) and (overall.start, overall.end) == (0.0, len(x) / SR)
    # Two segments keep their own passes: each segment on its own, then the whole.
    calls.clear()
    _, per2 = backend.score(x, SR, [Segment(0.0, 0.8, "a"), Segment(0.8, len(x) / SR, "b")])
    assert calls == [1, 1, 1] and len(per2) == 2


def test_cli_rejects_a_model_dir_whose_labels_do_not_match(user_model, tmp_path, capsys):
    import shutil

    from paravox.cli.main import main

    broken = tmp_path / "m"
    shutil.copytree(user_model, broken)
    cfg = json.loads((broken / "config.json").read_text())
    cfg["labels"] = ["loud", "quiet", "bored"]
    (broken / "config.json").write_text(json.dumps(cfg))
    code = main(["emotion", str(DATA / "emotion/casia" / _casia("wangzhe", "sad", 1)[0]["audio"]), "--model", str(broken)])
    assert code == 2
    assert "does not match" in capsys.readouterr().err


def test_backend_fills_segment_and_overall_emotion(user_model):
    from paravox.audio import load_audio
    from paravox.backends import registry
    from paravox.result import Segment

    assert "paravox-emotion" in registry.available("emotion")
    backend = registry.create("emotion", "paravox-emotion", model=str(user_model))
    a = load_audio(DATA / "emotion/casia" / _casia("zhaoquanyin", "angry", 1)[0]["audio"]).samples
    s = load_audio(DATA / "emotion/casia" / _casia("zhaoquanyin", "sad", 1)[0]["audio"]).samples
    x = np.concatenate([a, s])
    cut = len(a) / SR
    overall, per = backend.score(x, SR, [Segment(0.0, cut, "x"), Segment(cut, len(x) / SR, "y")])
    assert [p.label for p in per] == ["loud", "quiet"]
    assert per[1].start == pytest.approx(cut) and per[1].end == pytest.approx(len(x) / SR)
    assert overall.start == 0.0 and abs(sum(overall.scores.values()) - 1) < 1e-4
    # The file-level emotion does not depend on the recogniser's segments: it is the one
    # paravox.emotion gives for the same audio.
    assert backend.score(x, SR, [])[0].scores == pytest.approx(overall.scores)
    import paravox

    assert paravox.emotion((x, SR), model=str(user_model)).emotion.scores == pytest.approx(overall.scores, abs=1e-6)
    # No speech at all (silence): no emotion, rather than a label read off the silence.
    assert backend.score(np.zeros(3 * SR, np.float32), SR, []) == (None, [])
