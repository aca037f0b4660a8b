"""FunASR's models as backends (docs/backends.md), run for real on tiny random models: a
SenseVoice-Small and an emotion2vec+ of the real architectures (tests/tiny_funasr.py), placed in
the cache where 'paravox models --download' puts the real ones, loaded by ``funasr.AutoModel``
through the registry, run on a real clip and mapped into paravox's results."""

from __future__ import annotations

import json
import os
from collections import Counter
from importlib import resources

import numpy as np
import pytest

from paravox import model_hub
from paravox.backends.tagged_output import sensevoice_transcript
from paravox.result import Segment

from conftest import clip
from test_hub_backends import _cli, _fake_snapshot

CLIP = ("nvasr/dev", "nv38k-breath-1")  # 12.6 s of Chinese speech with a breath


def _schema() -> dict:
    return json.loads(resources.files("paravox").joinpath("data/analysis.schema.json").read_text())


def _parsed(asr, samples: np.ndarray) -> list[tuple[int, int, str, tuple]]:
    """``(start, end, raw text, sensevoice_transcript(...))`` for each stretch the backend sends,
    the raw text asked of the model directly."""
    from paravox.audio import SAMPLE_RATE
    from paravox.backends.audio_llm import stretches
    from paravox.options import TranscribeOptions

    out = []
    for a, b in stretches(samples, TranscribeOptions()):
        raw = asr.generate(samples[a:b])
        out.append((a, b, raw, sensevoice_transcript(raw, a / SAMPLE_RATE, b / SAMPLE_RATE)))
    return out


@pytest.fixture(scope="module")
def tiny_funasr(tmp_path_factory):
    """A paravox cache holding a tiny SenseVoice-Small (at the catalogue's pinned commit) and a tiny
    emotion2vec+ base, the clip, its samples and the two model folders.

    A random SenseVoice writes random tokens; the first seed whose transcript of the clip holds a
    language, an emotion and an event token is taken, so that each of those ways through the
    backend is exercised (what it wrote is never assumed: the tests read it back from the model)."""
    from paravox.backends.funasr_models import SenseVoiceASR
    from paravox.funasr_runtime import funasr_quiet

    with funasr_quiet():  # FunASR's import prints to stdout and takes over the root logger
        pytest.importorskip("funasr", reason="the FunASR backend tests need funasr (the dev extra has it)")
        from tiny_funasr import build_tiny_emotion2vec, build_tiny_sensevoice
    from paravox.audio import load_audio

    path, _ = clip(*CLIP)
    samples = load_audio(str(path)).samples
    root = tmp_path_factory.mktemp("funasr")
    for seed in range(40):
        folder = build_tiny_sensevoice(root / f"sensevoice{seed}", seed=seed)
        parsed = _parsed(SenseVoiceASR(folder, device="cpu", threads=2), samples)
        segments = [s for *_, (segs, _, _) in parsed for s in segs]
        if (any(lang for *_, (_, _, lang) in parsed) and any(s.emotion for s in segments)
                and any(e.timing == "utterance" for *_, (_, evs, _) in parsed for e in evs)):
            break
    else:
        pytest.fail("no tiny SenseVoice in 40 seeds wrote a language, an emotion and an event")
    emotion2vec = build_tiny_emotion2vec(root / "emotion2vec")
    hub = root / "cache" / "hub"
    for name, model in (("sensevoice-small", folder), ("emotion2vec-plus-base", emotion2vec)):
        entry = model_hub.get(name)
        commit = entry.revision if len(entry.revision) == 40 else "b" * 40  # a pinned commit, or main's
        snap = _fake_snapshot(hub, entry.repo_id, {}, commit=commit)
        for f in model.iterdir():
            (snap / f.name).write_bytes(f.read_bytes())
    return root / "cache", path, samples, folder, emotion2vec


@pytest.fixture
def cache(tiny_funasr, monkeypatch):
    monkeypatch.setenv("PARAVOX_CACHE", str(tiny_funasr[0]))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # whatever is not in the fake cache is not fetched
    return tiny_funasr


def test_both_backends_load_the_weights_of_their_snapshot(cache):
    import torch

    from paravox.backends import registry

    _, _, _, sensevoice, emotion2vec = cache
    for kind, name, folder in (("asr", "sensevoice-small", sensevoice), ("emotion", "emotion2vec-plus-base", emotion2vec)):
        backend = registry.create(kind, name)
        saved = torch.load(folder / "model.pt")
        loaded = backend.model.model.state_dict()  # FunASR skips a tensor of the wrong shape without a word
        assert loaded.keys() == saved.keys(), name
        assert all(torch.equal(loaded[k], saved[k]) for k in saved), name
        assert backend.name == name


def test_sensevoice_through_the_registry_maps_its_language_emotion_and_event_tokens(cache):
    import jsonschema

    from paravox.analyzer import Analyzer

    _, path, samples, _, _ = cache
    analyzer = Analyzer(asr="sensevoice-small", emotion=None, threads=2)
    analysis = analyzer.analyze(str(path))
    assert analyzer.events is None  # SenseVoice writes its own event tokens: no detector beside it

    # What the model wrote for each stretch, asked directly, parsed as sensevoice_transcript says.
    parsed = _parsed(analyzer.asr, samples)
    want_segments = [s for *_, (segs, _, _) in parsed for s in segs]
    want_events = sorted((e for *_, (_, evs, _) in parsed for e in evs), key=lambda e: (e.start, e.end))
    assert [(s.start, s.end, s.text, s.language) for s in analysis.segments] == [
        (s.start, s.end, s.text, s.language) for s in want_segments]
    assert [s.emotion for s in analysis.segments] == [s.emotion for s in want_segments]
    assert [(e.tag, e.start, e.end, e.timing) for e in analysis.events] == [
        (e.tag, e.start, e.end, e.timing) for e in want_events]
    languages = Counter(lang for *_, (_, _, lang) in parsed if lang)
    assert analysis.language == max(languages, key=languages.get)

    # The seed was chosen so that each kind of token came through (see the fixture).
    assert analysis.language in ("zh", "en", "yue", "ja", "ko")
    assert any(s.emotion and s.emotion.label and s.emotion.score is None for s in analysis.segments)
    assert any(e.timing == "utterance" for e in analysis.events)
    assert all(0.0 <= s.start <= s.end <= analysis.duration + 1e-6 for s in analysis.segments)
    assert all(0.0 <= e.start <= e.end <= analysis.duration + 1e-6 for e in analysis.events)
    assert all("<|" not in s.text for s in analysis.segments)
    assert analysis.duration == pytest.approx(len(samples) / 16000, abs=1e-3)
    assert analysis.models == {"asr": "sensevoice-small"}
    jsonschema.validate(json.loads(analysis.to_json()), _schema())


def test_sensevoice_reads_the_language_it_is_given():
    from paravox.backends.funasr_models import SenseVoiceASR
    from paravox.options import TranscribeOptions

    asked = []

    class Model:  # what the backend asks FunASR, without a model
        def generate(self, **kwargs):
            asked.append((kwargs["language"], kwargs["use_itn"]))
            return [{"key": "x", "text": "<|en|><|NEUTRAL|><|Speech|><|withitn|>Okay."}]

    asr = SenseVoiceASR.__new__(SenseVoiceASR)
    asr.name, asr.model = "sensevoice-small", Model()
    tone = 0.1 * np.sin(np.arange(32000) * 2 * np.pi * 220 / 16000).astype(np.float32)
    forced = asr.transcribe(tone, options=TranscribeOptions(language="en", vad=False))
    detected = asr.transcribe(tone, options=TranscribeOptions(vad=False))
    assert asked == [("en", True), ("auto", True)]
    assert forced.language == detected.language == "en" and forced.segments[0].text == "Okay."


def _file_emotion_by_stretches(model, samples: np.ndarray) -> tuple[list, np.ndarray, np.ndarray]:
    """The voice detector's stretches of ``samples`` and emotion2vec's answer over them, asked
    of FunASR directly: each stretch one utterance, averaged by length (the file-level emotion
    of an input longer than one 10-s utterance)."""
    from paravox.speech_emotion.recognizer import speech_spans

    stretches = speech_spans(samples)
    direct = [_direct_emotion2vec(model, samples[int(round(s * 16000)):int(round(e * 16000))]) for s, e in stretches]
    w = np.array([e - s for s, e in stretches])[:, None]
    return (stretches, (np.stack([p for p, _ in direct]) * w).sum(0) / w.sum(),
            (np.stack([f for _, f in direct]) * w).sum(0) / w.sum())


def test_emotion2vec_scores_the_input_and_each_segment_over_its_nine_labels(cache):
    """analyze --emotion emotion2vec-plus-base reads the file-level emotion as paravox emotion
    does (over the speech the voice detector finds); each segment is one utterance to it."""
    import jsonschema

    from paravox.analyzer import Analyzer
    from paravox.speech_emotion.model import EMOTION2VEC_LABELS

    _, path, samples, _, _ = cache
    analyzer = Analyzer(asr="sensevoice-small", emotion="emotion2vec-plus-base", threads=2)
    analysis = analyzer.analyze(str(path))
    model = analyzer.emotion.model  # FunASR's AutoModel, asked directly below

    def direct(audio: np.ndarray) -> dict[str, float]:
        return dict(zip(EMOTION2VEC_LABELS, _direct_emotion2vec(model, audio)[0]))

    whole = analysis.emotion
    stretches, want, _ = _file_emotion_by_stretches(model, samples)
    assert list(whole.scores) == list(EMOTION2VEC_LABELS)
    assert list(whole.scores.values()) == pytest.approx(list(want), abs=1e-5)
    assert whole.speech == pytest.approx(sum(e - s for s, e in stretches))
    assert sum(whole.scores.values()) == pytest.approx(1.0, abs=1e-4)
    assert whole.label == max(whole.scores, key=whole.scores.get) and whole.score == whole.scores[whole.label]
    assert (whole.start, whole.end) == (0.0, pytest.approx(analysis.duration))
    scored = [s for s in analysis.segments if 0.25 <= s.end - s.start <= 10.0]
    assert scored  # the tiny SenseVoice's utterances
    for seg in scored:  # emotion2vec's scores replace the label SenseVoice's token gave
        a, b = int(round(seg.start * 16000)), int(round(seg.end * 16000))
        assert list(seg.emotion.scores) == list(EMOTION2VEC_LABELS)
        assert seg.emotion.scores == pytest.approx(direct(samples[a:b]), abs=1e-5)
        assert (seg.emotion.start, seg.emotion.end) == (seg.start, seg.end)
    assert analysis.models == {"asr": "sensevoice-small", "emotion": "emotion2vec-plus-base"}
    jsonschema.validate(json.loads(analysis.to_json()), _schema())


def test_emotion2vec_gives_no_file_emotion_without_speech_and_scores_even_a_short_segment(cache):
    from paravox.backends import registry

    emotion = registry.create("emotion", "emotion2vec-plus-base")
    blip = np.full(100, 0.1, dtype=np.float32)  # 6 ms: less than one frame of its front end (padded)
    whole, per = emotion.score(blip, 16000, [Segment(0.0, 0.006, "x", [])])
    assert whole is None and len(per) == 1 and len(per[0].scores) == 9
    assert emotion.score(np.zeros(0, dtype=np.float32), 16000, []) == (None, [])
    hum = 0.1 * np.sin(np.arange(16000) * 2 * np.pi * 50 / 16000).astype(np.float32)  # no voice in it
    whole, per = emotion.score(hum, 16000, [Segment(0.0, 0.5, "x", [])])
    assert whole is None and list(per[0].scores) == list(emotion._definitions.recognizer.labels)


def test_the_command_line_writes_clean_json_with_both_tiny_models(cache):
    """FunASR prints on import and on load and takes over the root logger; none of it reaches
    the command's output or, with -q, its stderr."""
    from paravox.analyzer import Analyzer

    root, path, *_ = cache
    out = _cli("analyze", "--asr", "sensevoice-small", "--emotion", "emotion2vec-plus-base", str(path), "-f", "json",
               "-q", "--threads", "2", env={"PARAVOX_CACHE": str(root), "HF_HUB_OFFLINE": "1"})
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    got = json.loads(out.stdout)
    want = Analyzer(asr="sensevoice-small", emotion="emotion2vec-plus-base", threads=2).analyze(str(path)).to_dict()
    assert [(s["start"], s["end"], s["text"]) for s in got["segments"]] == [
        (s["start"], s["end"], s["text"]) for s in want["segments"]]
    assert got["events"] == want["events"] and got["language"] == want["language"]
    assert got["emotion"]["label"] == want["emotion"]["label"]
    assert got["emotion"]["scores"] == pytest.approx(want["emotion"]["scores"], abs=2e-4)


# ---- paravox emotion --model emotion2vec-plus-base ------------------------------------------------


def _emotion_cli(root, *args: str) -> tuple[dict, "subprocess.CompletedProcess"]:
    out = _cli("emotion", "--model", "emotion2vec-plus-base", *args, "-f", "json", "-q",
               env={"PARAVOX_CACHE": str(root), "HF_HUB_OFFLINE": "1"})
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""  # FunASR's prints and log lines stay out of it
    return json.loads(out.stdout), out


def _direct_emotion2vec(model, audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """emotion2vec's own utterance probabilities and embedding of ``audio``, asked of FunASR."""
    out = model.generate(audio, granularity="utterance", extract_embedding=True)[0]
    return np.asarray(out["scores"]), np.asarray(out["feats"])


@pytest.mark.parametrize("granularity", ["utterance", "segment", "frame"])
def test_paravox_emotion_runs_emotion2vec_with_the_recognizers_definitions_and_its_embeddings(cache, tmp_path,
                                                                                            granularity):
    """The file-level emotion is emotion2vec's utterance answer of each speech stretch the voice
    detector finds, averaged by length (the clip is 12.6 s, longer than one 10-s utterance);
    segments are those stretches, each emotion2vec's own answer; frames are every 0.5 s; the
    embeddings are emotion2vec's utterance embeddings, 16 wide in the tiny model."""
    from paravox.backends import registry
    from paravox.speech_emotion.model import EMOTION2VEC_LABELS

    root, path, samples, _, _ = cache
    emb = tmp_path / "emb"
    got, _ = _emotion_cli(root, str(path), "--granularity", granularity, "--embeddings", str(emb))
    model = registry.create("emotion", "emotion2vec-plus-base").model

    stretches, want_probs, want_feats = _file_emotion_by_stretches(model, samples)
    assert len(stretches) >= 2 and all(e - s <= 10.0 + 1e-6 for s, e in stretches)
    direct = [_direct_emotion2vec(model, samples[int(round(s * 16000)):int(round(e * 16000))]) for s, e in stretches]

    whole = got["emotion"]
    assert list(whole["scores"]) == list(EMOTION2VEC_LABELS)
    assert list(whole["scores"].values()) == pytest.approx(list(want_probs), abs=1e-4)
    assert whole["label"] == EMOTION2VEC_LABELS[int(np.argmax(want_probs))] == got["label"]
    assert whole["speech"] == pytest.approx(sum(e - s for s, e in stretches), abs=1e-3)
    assert not whole.get("dimensions")  # emotion2vec+ has no valence/arousal/dominance

    saved = np.load(emb / f"{path.stem}.npy")
    if granularity == "utterance":
        assert got["spans"] == []
        assert saved.shape == (16,) and saved == pytest.approx(want_feats, abs=1e-5)
    elif granularity == "segment":
        assert [(s["start"], s["end"]) for s in got["spans"]] == [
            (pytest.approx(s, abs=1e-3), pytest.approx(e, abs=1e-3)) for s, e in stretches]
        for span, (probs, _) in zip(got["spans"], direct):
            assert list(span["scores"]) == list(EMOTION2VEC_LABELS)
            assert list(span["scores"].values()) == pytest.approx(list(probs), abs=1e-4)
        assert saved.shape == (len(stretches), 16)
        assert saved == pytest.approx(np.stack([f for _, f in direct]), abs=1e-5)
    else:
        n = len(np.arange(0.0, len(samples) / 16000, 0.5))
        assert len(got["spans"]) == n and saved.shape == (n, 16)
        k = 4  # the frame centred on 2 s looks at 1-3 s
        assert (got["spans"][k]["start"], got["spans"][k]["end"]) == (1.0, 3.0)
        probs, feats = _direct_emotion2vec(model, samples[16000:48000])
        assert list(got["spans"][k]["scores"].values()) == pytest.approx(list(probs), abs=1e-4)
        assert saved[k] == pytest.approx(feats, abs=1e-5)
        assert all(s["label"] in EMOTION2VEC_LABELS or s.get("reason") == "no speech" for s in got["spans"])


def test_paravox_emotion_with_emotion2vec_gives_no_file_emotion_to_silence(cache, tmp_path):
    import soundfile as sf

    root, *_ = cache
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(3 * 16000, dtype=np.float32), 16000)
    emb = tmp_path / "emb"
    got, _ = _emotion_cli(root, str(silent), "--granularity", "segment", "--embeddings", str(emb))
    assert got["emotion"] is None and got["label"] is None and got["score"] is None
    assert got["spans"] == [] and got["duration"] == pytest.approx(3.0)
    assert np.load(emb / "silent.npy").shape == (0, 16)  # one row per span: none


def test_paravox_emotion_without_emotion2vec_in_the_cache_says_how_to_fetch_it(tiny_funasr, tmp_path):
    """One line, exit status 1 (the options were right, the machine lacks the model), the same
    line 'analyze --emotion emotion2vec-plus-base' gives, before any input is read."""
    _, path, *_ = tiny_funasr
    env = {"PARAVOX_CACHE": str(tmp_path / "empty"), "HF_HUB_OFFLINE": "1"}
    out = _cli("emotion", "--model", "emotion2vec-plus-base", str(path), "-q", env=env)
    assert out.returncode == 1 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("paravox: error: emotion2vec-plus-base")
    assert "'paravox models --download emotion2vec-plus-base'" in lines[0]
    analyze = _cli("analyze", "--emotion", "emotion2vec-plus-base", str(path), "-q", env=env)
    assert analyze.returncode == 1 and analyze.stderr.strip().splitlines() == lines
