"""Transcription that holds up on real recordings: the language per speech region, and the
same transcript for the same audio whatever was decoded before and whatever lossless container."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import clip

from paravox.audio import load_audio
from paravox.backends.speech_regions import SpeechRegion, choose_languages, language_runs
from paravox.errors import OptionError
from paravox.options import AnalyzeOptions, TranscribeOptions, parse_languages
from paravox.testing.signals import encode, silence, wav_bytes

# Two Mandarin (CASIA `text`) and two English (RAVDESS `statement`) clips, alternating.
CLIPS = [
    ("emotion/casia", "casia-wangzhe-neutral-235", "zh"),
    ("emotion/ravdess", "ravdess-03-01-01-01-01-01-01", "en"),
    ("emotion/casia", "casia-liuchanhg-neutral-234", "zh"),
    ("emotion/ravdess", "ravdess-03-01-02-01-02-02-04", "en"),
]
GAP = 0.7


def _code_switched() -> tuple[np.ndarray, list[dict]]:
    parts, clips, t = [], [], 0.0
    for folder, clip_id, lang in CLIPS:
        path, row = clip(folder, clip_id)
        samples = load_audio(path).samples
        clips.append({"id": clip_id, "language": lang, "text": row.get("text") or row["statement"],
                      "start": t, "end": t + len(samples) / 16000})
        parts += [samples, silence(GAP)]
        t += len(samples) / 16000 + GAP
    return np.concatenate(parts).astype(np.float32), clips


def _cer(ref: str, hyp: str) -> float:
    from paravox.evaluation.nvasr import evaluate_nvasr

    return evaluate_nvasr({"a": ref}, {"a": hyp}, position_aware=False).text_cer


# ---- options: a set of languages restricts detection --------------------------------------


def test_language_set_restricts_detection_and_round_trips():
    t = TranscribeOptions(language="zh, EN")
    assert (t.language, t.languages) == (None, ("zh", "en"))
    opts = AnalyzeOptions.from_kwargs(language="zh,en")
    assert AnalyzeOptions.from_dict(opts.to_dict()) == opts
    assert opts.to_dict()["transcribe"]["languages"] == ["zh", "en"]
    assert TranscribeOptions(language="en", languages="zh,en").language == "en"  # forced, and allowed
    assert parse_languages(["zh", "zh"]) == ("zh",)
    with pytest.raises(OptionError, match="not among"):
        TranscribeOptions(language="de", languages=("zh", "en"))
    with pytest.raises(OptionError, match="not one Whisper knows"):
        TranscribeOptions(language="zh,english")


# ---- choosing the language of each region (synthetic detections, no model) -----------------


def _region(start: float, speech: float, **probs: float) -> SpeechRegion:
    return SpeechRegion(int(start * 16000), int((start + speech + 0.5) * 16000), speech, probs)


def test_each_region_keeps_a_confident_language_and_the_prior_settles_unsure_ones():
    regions = [
        _region(0, 2.0, zh=0.95, en=0.05),
        _region(3, 2.0, en=0.9, zh=0.02, cy=0.08),
        _region(6, 2.0, zh=0.97, en=0.03),
        _region(9, 1.5, ja=0.5, zh=0.45, en=0.05),  # unsure: Mandarin read as Japanese
        _region(11, 0.3, en=0.6, zh=0.4),  # too short to judge: a neighbour's language
        _region(12, 2.0, zh=0.9, en=0.1),
    ]
    prior = choose_languages(regions)
    assert [r.language for r in regions] == ["zh", "en", "zh", "zh", "zh", "zh"]
    assert max(prior, key=prior.get) == "zh"
    runs = language_runs(regions)
    assert [(lang, len(rs)) for lang, rs in runs] == [("zh", 1), ("en", 1), ("zh", 4)]  # 3 decodes for 6 regions


def test_one_english_sentence_in_a_mandarin_file_stays_english():
    regions = [_region(3 * i, 2.0, zh=0.97, en=0.03) for i in range(20)]
    regions.insert(10, _region(30.5, 2.0, en=0.93, zh=0.04, la=0.03))
    choose_languages(regions)
    assert [r.language for r in regions].count("en") == 1 and regions[10].language == "en"


def test_lossless_containers_decode_to_the_same_samples():
    path, _ = clip("emotion/casia", "casia-wangzhe-neutral-235")
    samples = load_audio(path).samples
    wav = load_audio(wav_bytes(samples, 16000)).samples
    flac = load_audio(encode(samples, 16000, "flac")).samples
    assert np.array_equal(samples, wav) and np.array_equal(samples, flac)


# ---- with the model ---------------------------------------------------------------------


@pytest.mark.slow
def test_code_switched_file_every_clip_recovered_in_its_language():
    from paravox.analyzer import Analyzer

    from paravox.backends.packing import PACK_COUNTS

    audio, clips = _code_switched()
    analyzer = Analyzer(threads=2, events=None, emotion=None)
    packed = PACK_COUNTS["run: packed"]
    result = analyzer.analyze((audio, 16000), name="switch")
    # zh, en, zh, en: the two runs of each language shared a window (WhisperBaseASR._pack_runs),
    # and every word still lies in its own clip.
    assert PACK_COUNTS["run: packed"] - packed >= 2
    for c in clips:
        lo, hi = c["start"] - GAP / 2, c["end"] + GAP / 2
        segs = [s for s in result.segments if lo <= (s.start + s.end) / 2 < hi]
        text = "".join(w.text + ("" if c["language"] == "zh" else " ") for s in segs for w in s.words)
        assert segs and all(s.language == c["language"] for s in segs), (c["id"], [(s.text, s.language) for s in segs])
        assert all(lo <= w.start and w.end <= hi for s in segs for w in s.words), (c["id"], text)
        assert _cer(c["text"], text) <= 0.5, (c["id"], text)
    # Forced (here for this input only, as a manifest line may), the language still forces.
    forced = analyzer.analyze((audio, 16000), language="zh")
    assert forced.segments and {s.language for s in forced.segments} == {"zh"}
    assert forced.options["input_language"] == "zh" and analyzer.options.transcribe.language is None
    assert forced.options["transcribe"]["language"] is None  # the run's own options; this input's language beside them
    # Restricted to zh,en, the same regions get the same languages.
    allowed = Analyzer(threads=2, events=None, emotion=None, language="zh,en").analyze((audio, 16000))
    assert [s.language for s in allowed.segments] == [s.language for s in result.segments]


@pytest.mark.slow
def test_same_transcript_whatever_was_decoded_before(monkeypatch):
    """A, then B, then A again in one model; B in a fresh model: the same words each time.

    Decoded at temperature 0.8 only, every window goes through the fallback's decode. When
    that sampled, A came back as three different sentences in three decodes (啊嗯何总没有语言了好库啊,
    哈哈嗯何宗命我的好狂, 诶诶诶胡志明 我也来了好困), because CTranslate2's per-thread generator had moved on.
    """
    from paravox.backends import whisper as whisper_asr

    fallbacks = []
    real = whisper_asr._NoSamplingWhisper.generate

    def counting(self, features, prompts, **kwargs):
        if kwargs.get("sampling_topk", 1) != 1:
            fallbacks.append(kwargs["sampling_temperature"])
        return real(self, features, prompts, **kwargs)

    monkeypatch.setattr(whisper_asr._NoSamplingWhisper, "generate", counting)
    a_path, _ = clip("nvasr/dev", "nv38k-yawn-1")
    b_path, _ = clip("emotion/ravdess", "ravdess-03-01-01-01-01-01-01")
    a, b = load_audio(a_path).samples, load_audio(b_path).samples
    hot = TranscribeOptions(temperature=(0.8,))
    asr = whisper_asr.WhisperBaseASR(threads=2)

    def words(model, samples):
        return [(w.text, round(w.start, 2)) for s in model.transcribe(samples, options=hot).segments for w in s.words]

    first = words(asr, a)
    assert fallbacks and first
    b_then = words(asr, b)
    assert words(asr, a) == first
    fresh = whisper_asr.WhisperBaseASR.__new__(whisper_asr.WhisperBaseASR)
    fresh.model = whisper_asr.new_whisper(2)
    assert words(fresh, b) == b_then
    assert words(fresh, a) == first
    # The same samples in another lossless container: the same transcript.
    assert words(asr, load_audio(encode(a, 16000, "flac")).samples) == first


def test_manifest_language_is_read_checked_and_kept(tmp_path):
    from paravox.errors import InputListError
    from paravox.inputs import from_manifest

    (tmp_path / "m.jsonl").write_text(
        '{"id": "a", "audio": "a.wav", "language": "ZH"}\n{"id": "b", "audio": "b.wav", "language": "zh, en"}\n'
        '{"id": "c", "audio": "c.wav"}\n'
    )
    assert [i.language for i in from_manifest(str(tmp_path / "m.jsonl"))] == ["zh", "zh,en", None]
    (tmp_path / "bad.jsonl").write_text('{"id": "a", "audio": "a.wav"}\n{"id": "b", "audio": "b.wav", "language": "klingon"}\n')
    with pytest.raises(InputListError, match=r"bad.jsonl:2: language 'klingon'"):
        from_manifest(str(tmp_path / "bad.jsonl"))


def test_a_run_unsure_of_language_and_words_gets_no_words_and_no_second_decode(monkeypatch):
    """zh, en, zh, en runs packed by language; the windows doubt two runs' words ("logprob").
    The one whose language no region is sure of (a cough read as English, say) gets no words
    and its region is listed as empty; the one with a sure region is decoded alone as before."""
    from types import SimpleNamespace

    from paravox.backends import packing
    from paravox.backends.whisper import WhisperBaseASR
    from paravox.result import Segment, Word

    def sure(region: SpeechRegion, p: float) -> SpeechRegion:
        region.confidence = p
        return region

    regions = [sure(_region(0, 2.0, zh=0.9, en=0.1), 0.9), sure(_region(3, 1.0, en=0.5, zh=0.3), 0.5),
               sure(_region(5, 2.0, zh=0.9, en=0.1), 0.9), sure(_region(8, 2.0, en=0.9, zh=0.1), 0.9)]
    runs = [(lang, [{"start": r.start, "end": r.end}], [r]) for lang, r in zip(["zh", "en", "zh", "en"], regions)]

    def windows(self, speeches, language, opts, **kw):  # both English runs doubted, the Mandarin ones heard
        if language == "en":
            return [[(None, "logprob")] * len(w) for w in speeches]
        return [[([SimpleNamespace(start=0.1, end=0.8, words=[SimpleNamespace(start=0.1, end=0.8, word="好",
                                                                             probability=0.9)])], None)] * len(w)
                for w in speeches]

    def window_share(self, segments, chunks, regions, language, offset, opts):
        r = regions[0]
        a, b = r.start / 16000, r.end / 16000
        return [Segment(a, b, "好", words=[Word(a, b, "好", 0.9)], language=language)]

    decoded = []

    def decode(self, audio, chunks, language, offset, opts, progress):
        decoded.append(chunks[0]["start"] / 16000)
        a, b = chunks[0]["start"] / 16000, chunks[0]["end"] / 16000
        return [Segment(a, b, "yes", words=[Word(a, b, "yes", 0.9)], language=language)], \
            SimpleNamespace(language=language, language_probability=0.9)

    monkeypatch.setattr(WhisperBaseASR, "_decode_windows", windows)
    monkeypatch.setattr(WhisperBaseASR, "_window_share", window_share)
    monkeypatch.setattr(WhisperBaseASR, "_decode", decode)
    monkeypatch.setattr(packing, "UNSURE_RUNS", "drop")
    asr = object.__new__(WhisperBaseASR)
    audio = np.zeros(11 * 16000, dtype=np.float32)
    result = asr._decode_runs(audio, runs, {"zh": 0.7, "en": 0.3}, 0.0, TranscribeOptions(), None)
    assert decoded == [8.0]  # the sure English run alone; the unsure one not decoded at all
    assert [(s.start, s.text) for s in result.segments] == [(0.0, "好"), (5.0, "好"), (8.0, "yes")]
    assert result.empty_regions == [(3.0, 4.5, "en")]
    monkeypatch.setattr(packing, "UNSURE_RUNS", "alone")  # as before: both decoded alone
    decoded.clear()
    result = asr._decode_runs(audio, runs, {"zh": 0.7, "en": 0.3}, 0.0, TranscribeOptions(), None)
    assert decoded == [3.0, 8.0] and not result.empty_regions


def test_an_unsure_region_between_sure_regions_of_its_language_is_settled():
    from paravox.backends.speech_regions import settled_by_neighbours

    def region(start: float, language: str, confidence: float, speech: float = 2.0) -> SpeechRegion:
        r = _region(start, speech, **{language: confidence})
        r.language, r.confidence = language, confidence
        return r

    regions = [region(0, "zh", 0.95), region(3, "zh", 0.4), region(6, "zh", 0.3, speech=0.3),
               region(7, "zh", 0.9), region(10, "en", 0.5), region(13, "zh", 0.9), region(16, "zh", 0.6)]
    # zh between sure zh on both sides (an unsure or short region in between does not count)
    assert settled_by_neighbours(regions, 1) and settled_by_neighbours(regions, 2)
    # given en between sure zh: the padded reading may change it; the last one has no sure region after it
    assert not settled_by_neighbours(regions, 4) and not settled_by_neighbours(regions, 6)
    regions[4].language = "zh"  # given zh, between sure zh
    assert settled_by_neighbours(regions, 4)
