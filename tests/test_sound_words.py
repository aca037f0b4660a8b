"""Sounds the recogniser described in brackets ("(laughs)", "*cough*") leave the text; vocal ones become events."""

from __future__ import annotations

import pytest

from paravox.analyzer import Analyzer
from paravox.backends import registry
from paravox.backends.registry import ASRResult
from paravox.backends.whisper import _suppressed
from paravox.options import TranscribeOptions
from paravox.result import Segment, Word
from paravox.testing.signals import tone
from paravox.vocal_events.sound_words import description_tag, sounds_from_words


def _segment(texts, start=0.0, step=0.5, language="en"):
    words = [Word(start + i * step, start + (i + 1) * step, t, 0.8) for i, t in enumerate(texts)]
    return Segment(words[0].start, words[-1].end, " ".join(texts), words, language)


@pytest.mark.parametrize("text,tag", [
    ("(laughs)", "laugh"), ("[LAUGHTER]", "laugh"), ("*chuckles*", "laugh"), ("(nervous laughter).", "laugh"),
    ("*cough*", "cough"), ("[coughing]", "cough"), ("(sighs)", "sigh"), ("(gasps)", "gasp"),
    ("(clears throat)", "ahem"), ("[sobbing]", "cry"), ("(sniffles)", "sniff"), ("*sneezes*", "sneeze"),
    ("(breathing heavily)", "breath"), ("（笑）", "laugh"), ("（咳嗽）", "cough"), ("【叹气】", "sigh"),
])
def test_descriptions_of_vocal_sounds_name_their_tag(text, tag):
    assert description_tag(text) == tag


@pytest.mark.parametrize("text", ["(music)", "[BLANK_AUDIO]", "*inaudible*", "(applause)", "[silence]"])
def test_other_descriptions_name_no_tag(text):
    assert description_tag(text) is None


def test_a_description_leaves_the_text_and_a_vocal_one_is_an_event_over_its_words():
    seg = _segment(["I", "want", "*cough*", "*cough*", "that", "(upbeat", "music)", "car."])
    segments, events = sounds_from_words([seg])
    assert segments[0].text == "I want that car."
    assert [w.text for w in segments[0].words] == ["I", "want", "that", "car."]
    assert [(e.tag, e.start, e.end) for e in events] == [("cough", 1.0, 1.5), ("cough", 1.5, 2.0)]


def test_brackets_that_do_not_close_within_a_few_words_stay_text():
    seg = _segment(["(and", "then", "we", "went", "home", "again", "later", "on)"])
    segments, events = sounds_from_words([seg])
    assert segments == [seg] and events == []
    lone = _segment(["a", "*", "b"])  # an asterisk alone opens nothing it closes
    assert sounds_from_words([lone]) == ([lone], [])


def test_a_segment_of_descriptions_only_is_dropped_and_one_without_words_is_kept():
    bare = Segment(2.0, 3.0, "(laughs)", [], "en")
    segments, events = sounds_from_words([_segment(["[laughs]"]), bare])
    assert segments == [bare]
    assert [(e.tag, e.start, e.end) for e in events] == [("laugh", 0.0, 0.5)]


def test_the_symbols_are_suppressed_unless_sound_words_is_asked_for():
    assert _suppressed(TranscribeOptions()) == [-1]
    assert _suppressed(TranscribeOptions(sound_words=True)) == []


class _DescribingASR:
    """A recogniser that writes "I want *cough* that car (music)" for any input."""

    name = "describing-asr"

    def __init__(self, threads: int = 0) -> None:
        pass

    def transcribe(self, samples, *, offset=0.0, options=None, progress=None):
        texts = ["I", "want", "*cough*", "that", "car", "(music)"]
        words = [Word(offset + 0.4 * i, offset + 0.4 * (i + 1), t, 0.9) for i, t in enumerate(texts)]
        return ASRResult([Segment(offset, offset + 2.4, " ".join(texts), words, "en")], "en", 1.0)


@pytest.fixture
def describing():
    registry.register("asr", "describing-asr")(_DescribingASR)
    yield
    registry.unregister("asr", "describing-asr")


def test_analysis_moves_descriptions_only_when_asked(describing):
    audio = (tone(220, seconds=3.0), 16000)
    plain = Analyzer(asr="describing-asr", events=None, emotion=None).analyze(audio)
    assert "*cough*" in plain.text and plain.events == []
    tagged = Analyzer(asr="describing-asr", events=None, emotion=None, sound_words=True).analyze(audio)
    assert tagged.text == "I want that car"
    assert tagged.tagged_text() == "I want [cough] that car"
    assert [(e.tag, e.start, round(e.end, 6)) for e in tagged.events] == [("cough", 0.8, 1.2)]
    assert tagged.options["transcribe"]["sound_words"] is True


def test_described_sounds_obey_the_tags_threshold_and_shortest_duration(describing):
    audio = (tone(220, seconds=3.0), 16000)
    for extra in ({"events_tags": "laugh"}, {"events_threshold": 0.95}, {"events_min_duration": 0.5}):
        dropped = Analyzer(asr="describing-asr", events=None, emotion=None, sound_words=True, **extra).analyze(audio)
        assert dropped.events == [] and dropped.text == "I want that car"  # the description leaves the text either way


class _Gate:
    """A gate classifier that rejects quiet audio (its mean level below 0.1) as none."""

    def embed(self, samples):
        import numpy as np

        return np.array([[float(np.abs(samples).mean())]])

    def reject_probability(self, features):
        return [1.0 if features[0, 0] < 0.1 else 0.0]


def test_the_gate_drops_described_sounds_it_hears_as_none():
    import numpy as np

    from paravox.result import Event
    from paravox.vocal_events.sound_words import gate_sounds

    samples = np.zeros(16000 * 4, dtype=np.float32)
    samples[16000:32000] = 0.5 * np.sign(np.sin(np.arange(16000) / 5.0))  # loud from 11 s to 12 s (offset 10 s)
    samples[48000:64000] = 0.01 * np.sign(np.sin(np.arange(16000) / 5.0))  # audible but faint from 13 s to 14 s
    sounds = [Event("cough", 11.0, 12.0, 0.9), Event("laugh", 13.0, 14.0, 0.9), Event("sigh", 12.5, 12.52, 0.9)]
    kept = gate_sounds(sounds, samples, 10.0, _Gate(), 0.5)
    assert [e.tag for e in kept] == ["cough"]  # the faint one is none to the gate; 20 ms is too short to judge


class _RejectAll(_Gate):
    def reject_probability(self, features):
        return [1.0]


class _GatedEvents:
    """An event backend that finds nothing itself and gates like paravox-events, rejecting everything."""

    name = "gated-events"

    def __init__(self) -> None:
        from types import SimpleNamespace

        self.tags = None
        self.gate = _RejectAll()
        self.detector = SimpleNamespace(config={"gate_threshold": 0.5}, tags=["cough", "laugh"])

    def detect(self, samples, sample_rate, segments=None):
        return []


def _analyse_with(events_cls, asr_name, asr_cls=None):
    """A 3-s tone analysed with sound words, the event backend ``events_cls`` (and the recogniser
    ``asr_cls``, when given) registered for the call only."""
    backends = [("events", events_cls)] + ([("asr", asr_cls)] if asr_cls else [])
    for kind, cls in backends:
        registry.register(kind, cls.name)(cls)
    try:
        analyzer = Analyzer(asr=asr_name, events=events_cls.name, emotion=None, sound_words=True)
        return analyzer.analyze((tone(220, seconds=3.0), 16000))
    finally:
        for kind, cls in backends:
            registry.unregister(kind, cls.name)


def test_with_the_event_detector_on_its_gate_hears_the_described_sounds_too(describing):
    gated = _analyse_with(_GatedEvents, "describing-asr")
    assert gated.events == [] and gated.text == "I want that car"


class _LaughingASR(_DescribingASR):
    """Spells a laugh out and describes it too: "Ha-ha-ha! [laughs] yes"."""

    name = "laughing-asr"

    def transcribe(self, samples, *, offset=0.0, options=None, progress=None):
        texts = ["Ha-ha-ha!", "[laughs]", "yes"]
        words = [Word(offset + 0.5 * i, offset + 0.5 * (i + 1), t, 0.9) for i, t in enumerate(texts)]
        return ASRResult([Segment(offset, offset + 1.5, " ".join(texts), words, "en")], "en", 1.0)


class _SilentEvents(_GatedEvents):
    name = "silent-events"

    def __init__(self) -> None:
        super().__init__()
        self.gate = None


def test_a_laugh_spelled_out_and_described_is_one_laugh():
    a = _analyse_with(_SilentEvents, "laughing-asr", _LaughingASR)
    assert a.tagged_text() == "[laugh] yes"
    assert [(e.tag, e.start, e.end) for e in a.events] == [("laugh", 0.0, 1.0)]
