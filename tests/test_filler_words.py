"""Filled pauses the recogniser wrote (um, uh, 嗯) become [uhm] events when asked."""

from __future__ import annotations

import pytest

from paravox.analyzer import Analyzer
from paravox.backends import registry
from paravox.backends.registry import ASRResult
from paravox.result import Segment, Word
from paravox.testing.signals import tone
from paravox.vocal_events.filler_words import fillers_from_words, is_filler


def _segment(texts, start=0.0, step=0.5, language="en"):
    words = [Word(start + i * step, start + (i + 1) * step, t, 0.7) for i, t in enumerate(texts)]
    return Segment(words[0].start, words[-1].end, " ".join(texts), words, language)


@pytest.mark.parametrize("word", ["um", "Um,", "uh...", "Uhm", "Hmm.", "erm", "嗯", "嗯嗯，", "呃"])
def test_filled_pauses_are_recognised(word):
    assert is_filler(word)


@pytest.mark.parametrize("word", ["umbrella", "Uhura", "her", "hum", "嗯哼", "mm-hmm", "uh-huh", "", "...", "嗯是"])
def test_words_that_are_not_filled_pauses_stay_text(word):
    assert not is_filler(word)


def test_a_run_of_fillers_is_one_event_and_the_text_closes_up():
    segments, fillers = fillers_from_words([_segment(["and", "then", "uh,", "um,", "maybe", "dinner."], start=2.0)])
    assert segments[0].text == "and then maybe dinner."
    assert (segments[0].start, segments[0].end) == (2.0, 5.0)
    assert [(e.tag, e.start, e.end) for e in fillers] == [("uhm", 3.0, 4.0)]
    assert fillers[0].score == pytest.approx(0.7)


def test_a_segment_of_fillers_only_is_dropped_and_one_without_words_is_kept():
    bare = Segment(0.0, 1.0, "嗯", [], "zh")
    segments, fillers = fillers_from_words([_segment(["嗯"], language="zh"), bare])
    assert segments == [bare]
    assert [(e.start, e.end) for e in fillers] == [(0.0, 0.5)]


class _HesitantASR:
    """A recogniser that hears "嗯 没有 这 回 事" in any input."""

    name = "hesitant-asr"

    def __init__(self, threads: int = 0) -> None:
        pass

    def transcribe(self, samples, *, offset=0.0, options=None, progress=None):
        texts = ["嗯,", "没有", "这", "回", "事"]
        words = [Word(offset + 0.4 * i, offset + 0.4 * (i + 1), t, 0.9) for i, t in enumerate(texts)]
        return ASRResult([Segment(offset, offset + 2.0, "嗯,没有这回事", words, "zh")], "zh", 1.0)


@pytest.fixture
def hesitant():
    registry.register("asr", "hesitant-asr")(_HesitantASR)
    yield
    registry.unregister("asr", "hesitant-asr")


def test_analysis_keeps_fillers_as_text_by_default_and_tags_them_when_asked(hesitant):
    audio = (tone(220, seconds=3.0), 16000)
    plain = Analyzer(asr="hesitant-asr", events=None, emotion=None).analyze(audio)
    assert plain.text.startswith("嗯") and plain.tagged_text() == plain.text and plain.events == []
    tagged = Analyzer(asr="hesitant-asr", events=None, emotion=None, filler_words=True).analyze(audio)
    assert tagged.text == "没有这回事"
    assert tagged.tagged_text() == "[uhm] 没有这回事"
    assert [(e.tag, e.start, e.end) for e in tagged.events] == [("uhm", 0.0, 0.4)]
    assert tagged.options["filler_words"] is True


def test_fillers_obey_the_event_threshold_and_shortest_duration(hesitant):
    audio = (tone(220, seconds=3.0), 16000)
    kept = Analyzer(asr="hesitant-asr", events=None, emotion=None, filler_words=True, events_threshold=0.9).analyze(audio)
    assert [e.tag for e in kept.events] == ["uhm"]  # its word's probability, 0.9, reaches 0.9
    for extra in ({"events_threshold": 0.95}, {"events_min_duration": 0.5}):
        dropped = Analyzer(asr="hesitant-asr", events=None, emotion=None, filler_words=True, **extra).analyze(audio)
        assert dropped.events == [] and dropped.text == "没有这回事"  # the word leaves the text either way
