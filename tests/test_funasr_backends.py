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
    from paravox.backends.funasr_models import SenseVoiceASR, _funasr_quiet

    with _funasr_quiet():  # FunASR's import prints to stdout and takes over the root logger
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


def test_emotion2vec_scores_the_input_and_each_segment_over_its_nine_labels(cache):
    import jsonschema

    from paravox.analyzer import Analyzer
    from paravox.speech_emotion.model import EMOTION2VEC_LABELS

    _, path, samples, _, _ = cache
    analyzer = Analyzer(asr="sensevoice-small", emotion="emotion2vec-plus-base", threads=2)
    analysis = analyzer.analyze(str(path))
    model = analyzer.emotion.model  # FunASR's AutoModel, asked directly below

    def direct(audio: np.ndarray) -> dict[str, float]:
        out = model.generate(audio, granularity="utterance", extract_embedding=False)[0]
        return {label.split("/")[-1].replace("<unk>", "unknown"): s for label, s in zip(out["labels"], out["scores"])}

    whole = analysis.emotion
    assert list(whole.scores) == list(EMOTION2VEC_LABELS)
    assert whole.scores == pytest.approx(direct(samples), abs=1e-6)
    assert sum(whole.scores.values()) == pytest.approx(1.0, abs=1e-4)
    assert whole.label == max(whole.scores, key=whole.scores.get) and whole.score == whole.scores[whole.label]
    assert (whole.start, whole.end) == (0.0, pytest.approx(analysis.duration))
    scored = [s for s in analysis.segments if s.end - s.start >= 0.25]
    assert scored  # the tiny SenseVoice's utterances
    for seg in scored:  # emotion2vec's scores replace the label SenseVoice's token gave
        a, b = int(seg.start * 16000), int(seg.end * 16000)
        assert list(seg.emotion.scores) == list(EMOTION2VEC_LABELS)
        assert seg.emotion.scores == pytest.approx(direct(samples[a:b]), abs=1e-6)
        assert (seg.emotion.start, seg.emotion.end) == (seg.start, seg.end)
    assert analysis.models == {"asr": "sensevoice-small", "emotion": "emotion2vec-plus-base"}
    jsonschema.validate(json.loads(analysis.to_json()), _schema())


def test_emotion2vec_gives_no_score_to_audio_too_short_to_carry_one(cache):
    from paravox.backends import registry

    emotion = registry.create("emotion", "emotion2vec-plus-base")
    blip = np.full(100, 0.1, dtype=np.float32)  # 6 ms: less than one frame of its front end
    assert emotion.score(blip, 16000, [Segment(0.0, 0.006, "x", [])]) == (None, [None])
    assert emotion.score(np.zeros(0, dtype=np.float32), 16000, []) == (None, [])
    whole, per = emotion.score(np.full(8000, 0.1, dtype=np.float32), 16000, [Segment(0.0, 0.1, "x", [])])
    assert whole is not None and len(whole.scores) == 9 and per == [None]  # half a second: scored; 0.1 s: not


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
