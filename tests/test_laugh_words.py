"""Laughter spelled out by the recogniser (哈哈哈, Ha-ha!) becomes a [laugh] event."""

from __future__ import annotations

import numpy as np
import pytest

from paravox.analyzer import Analyzer
from paravox.backends import registry
from paravox.backends.registry import ASRResult
from paravox.result import Event, Segment, Word
from paravox.testing.signals import tone
from paravox.vocal_events.laugh_words import laughs_from_words, merge_laughs


def _segment(*texts: str, start: float = 0.0, step: float = 0.5) -> Segment:
    words = [Word(start + i * step, start + (i + 1) * step, t, 0.8) for i, t in enumerate(texts)]
    joined = "".join(texts) if all(ord(t[0]) > 0x2E80 for t in texts) else " ".join(texts)
    return Segment(words[0].start, words[-1].end, joined, words, "zh")


def test_leading_chinese_laugh_leaves_the_text_and_becomes_a_timed_event():
    segments, laughs = laughs_from_words([_segment("哈", "哈", "哈", "哈", "我们", "来")])
    assert segments[0].text == "我们来"
    assert [w.text for w in segments[0].words] == ["我们", "来"]
    assert segments[0].start == 2.0 and segments[0].end == 3.0  # the segment now starts at its first word
    assert [(e.tag, e.start, e.end) for e in laughs] == [("laugh", 0.0, 2.0)]
    assert laughs[0].score == pytest.approx(0.8)


def test_english_laugh_in_the_middle_keeps_the_words_around_it():
    seg = _segment("young", "man.", "Ha-ha-ha-ha-ha!", "Unless", "to", "be", start=10.0)
    segments, laughs = laughs_from_words([seg])
    assert segments[0].text == "young man. Unless to be"
    assert (segments[0].start, segments[0].end) == (10.0, 13.0)
    assert [(e.start, e.end) for e in laughs] == [(11.0, 11.5)]


@pytest.mark.parametrize(
    "texts",
    [
        ("he", "he", "said"),  # the pronoun twice, not a laugh
        ("ja", "ja", "genau"),  # German "yes, yes"
        ("他", "哈", "哈", "大笑"),  # the idiom "laughed heartily"
        ("哈", "尔", "滨"),  # one 哈 is not a laugh
        ("Ha!", "Nice", "try"),  # one syllable is not a laugh
        ("Harbin", "haha-land"),  # laugh letters inside other words
    ],
)
def test_words_that_are_not_laughter_stay_text(texts):
    seg = _segment(*texts)
    segments, laughs = laughs_from_words([seg])
    assert laughs == [] and segments == [seg]


@pytest.mark.parametrize("texts", [("ha", "ha"), ("hehe",), ("呵呵",), ("嘿", "嘿"), ("jajaja",), ("hee-hee",)])
def test_common_spellings_of_laughter_are_recognised(texts):
    segments, laughs = laughs_from_words([_segment("well", *texts, "ok")])
    assert len(laughs) == 1 and [w.text for w in segments[0].words] == ["well", "ok"]


def test_a_segment_that_is_only_laughter_is_dropped():
    segments, laughs = laughs_from_words([_segment("哈哈哈"), _segment("好", start=3.0)])
    assert [s.text for s in segments] == ["好"] and len(laughs) == 1


def test_segments_without_word_times_are_left_alone():
    seg = Segment(0.0, 1.0, "哈哈哈", [])
    assert laughs_from_words([seg]) == ([seg], [])


def test_detector_events_over_the_laugh_are_the_same_sound():
    laughs = [Event("laugh", 1.0, 2.0, 0.6)]
    detected = [Event("sigh", 1.5, 2.5, 0.7), Event("laugh", 0.8, 1.2, 0.9), Event("cough", 3.0, 3.4, 0.8)]
    merged = merge_laughs(detected, laughs)
    assert [(e.tag, e.start, e.end, e.score) for e in merged] == [("laugh", 0.8, 2.0, 0.9), ("cough", 3.0, 3.4, 0.8)]
    assert laughs[0].start == 1.0  # the input events are not changed


class _LaughingASR:
    """A recogniser that hears "哈哈哈哈 我们来" in any input."""

    name = "laughing-asr"

    def __init__(self, threads: int = 0) -> None:
        pass

    def transcribe(self, samples, *, offset=0.0, options=None, progress=None):
        texts = ["哈", "哈", "哈", "哈", "我们", "来"]
        words = [Word(offset + 0.4 * i, offset + 0.4 * (i + 1), t, 0.9) for i, t in enumerate(texts)]
        return ASRResult([Segment(offset, offset + 2.4, "哈哈哈哈我们来", words, "zh")], "zh", 1.0)


class _SighEvents:
    """An event backend that mistakes the laugh for a sigh and hears a cough later."""

    name = "sigh-events"

    def __init__(self, tags=None) -> None:
        self.tags = tags

    def detect(self, samples, sample_rate, segments):
        return [Event("sigh", 0.2, 1.0, 0.5), Event("cough", 2.5, 2.8, 0.9)]


@pytest.fixture
def fakes():
    registry.register("asr", "laughing-asr")(_LaughingASR)
    registry.register("events", "sigh-events")(_SighEvents)
    yield
    registry.unregister("asr", "laughing-asr")
    registry.unregister("events", "sigh-events")


AUDIO = (tone(220, seconds=3.0), 16000)


def test_analysis_writes_the_spelled_out_laugh_as_a_tag(fakes):
    result = Analyzer(asr="laughing-asr", events="sigh-events", emotion=None).analyze(AUDIO)
    assert result.text == "我们来"
    assert result.tagged_text() == "[laugh] 我们来 [cough]"
    assert [(e.tag, e.start, e.end) for e in result.events] == [("laugh", 0.0, 1.6), ("cough", 2.5, 2.8)]
    assert result.options["laugh_words"] is True


@pytest.mark.parametrize(
    "options",
    [{"laugh_words": False}, {"events": None}],
    ids=["keep-laugh-words", "events-off"],
)
def test_laugh_words_stay_text_when_asked_or_without_events(fakes, options):
    result = Analyzer(asr="laughing-asr", **{"events": "sigh-events", "emotion": None, **options}).analyze(AUDIO)
    assert result.text == "哈哈哈哈我们来"
    assert "laugh" not in [e.tag for e in result.events]


def test_laugh_words_stay_text_when_events_are_restricted_to_other_tags(fakes):
    analyzer = Analyzer(asr="laughing-asr", events="sigh-events", emotion=None)
    analyzer._events = _SighEvents(tags=["cough"])
    result = analyzer.analyze(AUDIO)
    assert result.text == "哈哈哈哈我们来"


def test_cli_flag_keeps_laugh_words(fakes, capsys, tmp_path):
    from paravox.cli.main import main
    from paravox.testing.signals import wav_bytes

    path = tmp_path / "a.wav"
    path.write_bytes(wav_bytes(np.asarray(AUDIO[0]), 16000))
    assert main(["transcribe", str(path), "--asr", "laughing-asr", "--events", "sigh-events", "--keep-laugh-words"]) == 0
    assert "哈哈哈哈我们来" in capsys.readouterr().out
    assert main(["transcribe", str(path), "--asr", "laughing-asr", "--events", "sigh-events"]) == 0
    assert "[laugh] 我们来" in capsys.readouterr().out
