"""The analysis pipeline on real speech: transcripts, word times, script folding, edge cases, plug points."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DATA, SAMPLES, clip

from paravox.analyzer import Analyzer, _pause_cut
from paravox.audio import AudioError, load_audio
from paravox.backends import registry
from paravox.backends.whisper import to_simplified
from paravox.result import Event
from paravox.testing.signals import noise, silence, tone, truncate, wav_bytes

pytestmark = pytest.mark.slow


def _cer(ref: str, hyp: str) -> float:
    from paravox.evaluation.nvasr import evaluate_nvasr

    return evaluate_nvasr({"a": ref}, {"a": hyp}).text_cer


def _concat(paths, gap=1.0) -> np.ndarray:
    parts = []
    for p in paths:
        parts += [load_audio(p).samples, silence(gap)]
    return np.concatenate(parts).astype(np.float32)


def test_mandarin_sentence_transcribed_in_simplified(analyzer):
    path, row = clip("emotion/casia", "casia-ZhaoZuoxiang-neutral-201")  # 就是下雨也去。
    result = analyzer.analyze(path)
    assert result.language == "zh"
    assert _cer(row["text"], result.text) <= 0.2, result.text
    assert to_simplified(result.text) == result.text
    words = [w for s in result.segments for w in s.words]
    assert words and all(0 <= w.start <= w.end <= result.duration + 0.05 for w in words)


def test_english_sentence_with_word_times(analyzer):
    path, row = clip("emotion/ravdess", "ravdess-03-01-01-01-01-01-01")  # Kids are talking by the door
    result = analyzer.analyze(path)
    assert result.language == "en"
    text = result.text.lower()
    assert "kids" in text and "talking" in text, text
    words = [w for s in result.segments for w in s.words]
    starts = [w.start for w in words]
    assert starts == sorted(starts) and words[-1].end <= result.duration + 0.05
    # the emotion of the file and of each segment carries the dimensions, in the JSON too
    for score in (result.emotion, *(s.emotion for s in result.segments)):
        assert set(score.dimensions) == {"valence", "arousal", "dominance"}
    assert -1 <= result.to_dict()["emotion"]["dimensions"]["arousal"] <= 1


def test_thirty_seconds_of_mandarin_with_forced_language():
    rows = [r for r in __import__("conftest").manifest("nvasr/dev") if r["language"] == "zh" and not r["synthetic"]]
    picked, total = [], 0.0
    for r in rows:
        if total > 28:
            break
        picked.append(DATA / "nvasr" / "dev" / r["audio"])
        total += r["duration"] + 1.0
    audio = _concat(picked)
    result = Analyzer(language="zh", threads=2).analyze((audio, 16000), name="zh30")
    assert result.duration == pytest.approx(len(audio) / 16000, abs=0.01)
    assert len(result.text) > 60 and to_simplified(result.text) == result.text
    seg_starts = [s.start for s in result.segments]
    assert seg_starts == sorted(seg_starts) and result.segments[-1].end > 20


def test_windowed_long_input_matches_sentences():
    """A 75 s input read in 30 s windows: every sentence is transcribed once, times are absolute."""
    from conftest import manifest

    rows = [r for r in manifest("emotion/casia") if r["speaker"] == "wangzhe" and r["label"] == "neutral"][:26]
    paths = [DATA / "emotion" / "casia" / r["audio"] for r in rows]
    audio = _concat(paths, gap=1.2)
    assert len(audio) / 16000 > 60
    result = Analyzer(language="zh", threads=2, window_seconds=30).analyze((audio, 16000))
    ref = "".join(r["text"] for r in rows)
    assert _cer(ref, result.text) < 0.35, result.text
    ends = [s.end for s in result.segments]
    assert ends == sorted(ends) and ends[-1] > 60


def test_pause_cut_lands_in_silence():
    path, _ = clip("emotion/casia", "casia-wangzhe-neutral-201")
    speech = load_audio(path).samples
    buf = np.concatenate([speech, silence(1.0), speech, silence(0.8), speech])
    cut = _pause_cut(buf)
    second_gap = (2 * len(speech) + 16000, 2 * len(speech) + 16000 + 12800)
    assert second_gap[0] <= cut <= second_gap[1]


def test_vad_keeps_loud_voice_that_silero_scores_low():
    # NonVerbalSpeech-38K yawn clip: Silero scores the words after the yawn (4.0-5.8 s) under
    # 0.2, yet they are as loud as the speech before it. Skipping them lost half the sentence.
    from paravox.backends.speech_regions import speech_chunks
    from paravox.options import TranscribeOptions

    path, row = clip("nvasr/dev", "nv38k-yawn-2")
    samples = load_audio(path).samples
    guarded = speech_chunks(samples, TranscribeOptions())
    plain = speech_chunks(samples, TranscribeOptions(vad_keep_loud=False))
    assert max(c["end"] for c in plain) < 3.5 * 16000
    assert any(c["start"] <= 4.6 * 16000 and c["end"] >= 5.6 * 16000 for c in guarded)
    text = Analyzer(threads=2, events=None, emotion=None).analyze(path).text
    assert "你才是" in text  # reference: [yawn]啊，妖怪，你才是妖怪呢。


def test_vad_guard_keeps_loud_noise_but_skips_quiet_noise():
    from paravox.backends.speech_regions import speech_chunks
    from paravox.options import TranscribeOptions

    path, _ = clip("emotion/casia", "casia-wangzhe-neutral-201")
    speech = load_audio(path).samples
    level = float(np.sqrt(np.mean(speech**2)))
    quiet = noise(3.0, amplitude=level * 0.05, seed=2)
    loud = noise(1.0, amplitude=level * 2, seed=3)
    buf = np.concatenate([speech, quiet, loud, quiet]).astype(np.float32)
    chunks = speech_chunks(buf, TranscribeOptions())
    loud_at = len(speech) + len(quiet)
    assert any(c["start"] <= loud_at + 1600 and c["end"] >= loud_at + len(loud) - 1600 for c in chunks)
    covered = np.zeros(len(buf), dtype=bool)
    for c in chunks:
        covered[c["start"] : c["end"]] = True
    tail = covered[loud_at + len(loud) + 16000 :]  # the quiet noise after the burst, past the padding
    assert not tail.any()
    assert speech_chunks(quiet, TranscribeOptions()) == []  # no speech at all: nothing kept


@pytest.mark.parametrize(
    "audio",
    [silence(5.0), silence(0.0), tone(seconds=0.5), noise(3.0, amplitude=0.001, seed=1), np.zeros(1, np.float32)],
    ids=["silence-5s", "zero-length", "tone-0.5s", "quiet-noise", "one-sample"],
)
def test_no_speech_gives_empty_valid_result(analyzer, audio):
    result = analyzer.analyze((audio, 16000))
    assert result.segments == [] and result.text == "" and result.tagged_text() == ""
    assert result.duration == pytest.approx(len(audio) / 16000)
    assert result.to_dict()["segments"] == []


def test_stereo_and_8khz_give_the_same_words(analyzer):
    path, _ = clip("emotion/ravdess", "ravdess-03-01-01-01-01-01-01")
    mono = load_audio(path).samples
    stereo = np.stack([mono, mono], axis=1)
    a = analyzer.analyze(wav_bytes(stereo, 16000, channels=2))
    low = load_audio(path, sample_rate=8000).samples
    b = analyzer.analyze((low, 8000))
    base = analyzer.analyze(path)
    assert a.text == base.text
    assert "talking" in b.text.lower()


def test_bad_input_raises_audio_error_naming_it(analyzer, tmp_path):
    path, _ = clip("emotion/ravdess", "ravdess-03-01-01-01-01-01-01")
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk" + b"\x00" * 100)
    with pytest.raises(AudioError, match="broken.wav"):
        analyzer.analyze(bad)
    text = tmp_path / "notes.mp3"
    text.write_text("this is not audio at all\n" * 50)
    with pytest.raises(AudioError, match="notes.mp3"):
        analyzer.analyze(text)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(truncate(wav_bytes(np.tile(load_audio(path).samples, 3), 16000), 0.4))
    with pytest.raises(AudioError, match="truncated"):
        analyzer.analyze(cut)


class _FixedEvents:
    """A test detector: reports one event at a fixed time of each window it sees."""

    name = "fixed"

    def __init__(self, tag="laugh", start=1.0, end=1.4):
        self.tag, self.start, self.end = tag, start, end
        self.calls = []

    def detect(self, samples, sample_rate, segments):
        self.calls.append((len(samples), [s.start for s in segments]))
        return [Event(self.tag, self.start, self.end, 0.9)]


def test_event_backend_plugs_in_by_name():
    path, _ = clip("emotion/ravdess", "ravdess-03-01-01-01-01-01-01")
    registry.register("events", "fixed-test")(_FixedEvents)
    try:
        analyzer = Analyzer(events="fixed-test", emotion=None, threads=2)
        result = analyzer.analyze(path)
        assert result.models == {"asr": "whisper-base", "events": "fixed-test"}
        assert [e.tag for e in result.events] == ["laugh"]
        tagged = result.tagged_text()
        assert tagged.count("[laugh]") == 1 and not tagged.startswith("[laugh]") and not tagged.endswith("[laugh]")
        assert result.to_dict()["events"][0]["start"] == 1.0
    finally:
        registry.unregister("events", "fixed-test")


def test_unknown_backend_lists_the_available_ones():
    with pytest.raises(registry.BackendNotFoundError, match="whisper-base"):
        Analyzer(asr="whisper-huge").asr


DEMO_REFERENCE = (
    "he was not an ill disposed young man unless to be rather cold hearted and rather selfish is to be ill "
    "disposed had he married a more a amiable woman he might have been made still more respectable than he was "
    "he might even have been made amiable himself"
)  # samples/README.md: pocketsphinx's shipped LibriVox transcripts


def test_bundled_sample_transcribes(analyzer):
    result = analyzer.analyze(SAMPLES / "demo.flac")
    assert result.language == "en"
    assert _cer(DEMO_REFERENCE, result.text) < 0.15, result.text
    words = [w for s in result.segments for w in s.words]
    first_amiable = next(w for w in words if "amiable" in w.text.lower())
    assert 12.3 < first_amiable.start < 13.4  # aligned at 12.65-13.20 in the README


def test_first_window_is_encoded_once_and_transcript_unchanged(monkeypatch):
    """faster-whisper encodes the first window twice when it detects the language; we once."""
    from faster_whisper import WhisperModel

    from paravox.backends.whisper import load_whisper
    from paravox.encoder.files import ensure_whisper_base

    path, _ = clip("emotion/casia", "casia-wangzhe-neutral-203")
    samples = load_audio(path).samples
    plain = WhisperModel(str(ensure_whisper_base()), device="cpu", compute_type="int8", cpu_threads=2)
    expected = [s.text for s in plain.transcribe(samples, word_timestamps=True)[0]]

    calls = []
    real_encode = WhisperModel.encode
    monkeypatch.setattr(WhisperModel, "encode", lambda self, f: calls.append(f.shape) or real_encode(self, f))
    ours = load_whisper(2)
    ours._last_encoded = None
    got = [s.text for s in ours.transcribe(samples, word_timestamps=True)[0]]
    assert got == expected
    assert len(calls) == 1


def test_threads_option_bounds_the_heads_encoder_too():
    from paravox.encoder import onnx_encoder as encoder_onnx

    try:
        Analyzer(threads=1, emotion=None).events  # building the event backend applies it
        assert encoder_onnx.runtime_threads() == 1
        assert encoder_onnx.shared_encoder().threads == 1
    finally:
        encoder_onnx.set_runtime_threads(0)
    with pytest.raises(ValueError, match="threads"):
        encoder_onnx.set_runtime_threads(-2)


def test_reset_whisper_loads_a_fresh_model_with_its_seed_and_new_whisper_is_never_shared(monkeypatch):
    from paravox.backends import whisper as whisper_asr

    monkeypatch.setattr(whisper_asr, "SAMPLING_SEED", whisper_asr.SAMPLING_SEED)  # restored afterwards
    first = whisper_asr.load_whisper(1)
    assert whisper_asr.load_whisper(1) is first
    whisper_asr.reset_whisper(7)
    again = whisper_asr.load_whisper(1)
    assert again is not first and whisper_asr.SAMPLING_SEED == 7
    whisper_asr.reset_whisper()  # no seed: the seed stays
    assert whisper_asr.SAMPLING_SEED == 7 and whisper_asr.load_whisper(1) is not again
    own = whisper_asr.new_whisper(1)
    assert own is not whisper_asr.load_whisper(1) and type(own).__name__ == type(first).__name__ == "_OnceEncodingWhisperModel"


def test_speech_that_gives_no_words_stays_in_the_output_as_an_empty_segment_saying_so():
    """Issue 19: a speech region the recogniser turned into nothing vanished without a trace."""
    from paravox.analyzer import Analyzer
    from paravox.backends import registry
    from paravox.backends.whisper import WhisperResult
    from paravox.formats import render
    from paravox.result import NO_WORDS, Analysis, Segment, Word
    from paravox.testing.signals import tone

    class Mumbling:
        name = "mumbling-asr"

        def __init__(self, threads: int = 0) -> None:
            pass

        def transcribe(self, samples, *, offset=0.0, options=None, progress=None):
            words = [Word(offset + 0.2, offset + 0.6, "hello", 0.9)]
            return WhisperResult([Segment(offset + 0.2, offset + 0.6, "hello", words, "en")], "en", 0.9,
                                 empty_regions=[(offset + 1.0, offset + 2.5, "en")])

    registry.register("asr", "mumbling-asr")(Mumbling)
    try:
        a = Analyzer(asr="mumbling-asr", events=None, emotion=None).analyze((tone(220, seconds=3.0), 16000))
    finally:
        registry.unregister("asr", "mumbling-asr")
    assert [(s.start, s.end, s.text, s.note) for s in a.segments] == [(0.2, 0.6, "hello", None), (1.0, 2.5, "", NO_WORDS)]
    assert a.text == a.tagged_text() == "hello"
    doc = a.to_dict()
    assert doc["segments"][1]["note"] == NO_WORDS and "note" not in doc["segments"][0]
    assert Analysis.from_dict(doc).segments[1].note == NO_WORDS
    assert render(a, "srt").count("-->") == 1  # no empty subtitle
