"""What a hub recogniser writes, turned into paravox's results.

Two shapes of output come back from the field's models:

* an **audio LLM's transcript with tags inline** (MNV-17's fine-tuned Qwen2.5-Omni, Qwen2-Audio):
  ``这个理论的悖论之处在于 [cough] 请大家原谅``. The tags have a place in the text but no time.
  :func:`tagged_transcript` reads them through the taxonomy's aliases (``[Laughter]``,
  ``<laugh>``, ``(coughs)`` all work), keeps the words, and gives each tag an
  :class:`~paravox.result.Event` at the word boundary where it was written, its time read off
  a linear spread of the words over the stretch of audio (``timing="text"``), so that
  ``Analysis.tagged_text()`` writes it back exactly where the model put it;
* **SenseVoice's rich transcription**: ``<|zh|><|HAPPY|><|Laughter|><|woitn|>哈哈今天真好``, one
  language, emotion and event token per utterance. :func:`sensevoice_transcript` makes the
  event an Event spanning the utterance (``timing="utterance"``: SenseVoice does not say where
  in it the laugh was), the emotion an :class:`~paravox.result.EmotionScore` and the language
  the segment's.

Neither model gives a confidence for a tag: such events carry ``score`` 1.0.

>>> seg, events = tagged_transcript("结果 [sigh] 很好", 0.0, 3.0)
>>> seg.text, [(e.tag, e.timing) for e in events]
('结果很好', [('sigh', 'text')])
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from paravox.backends.registry import ASRResult
from paravox.result import EmotionScore, Event, Segment, Word, join_words
from paravox.taxonomy import SENSEVOICE_EVENTS, find_tags


@dataclass
class TaggedResult(ASRResult):
    """An :class:`~paravox.backends.registry.ASRResult` with the events the recogniser wrote
    itself; the analyser adds them to the input's events."""

    events: list[Event] = field(default_factory=list)

# A Chinese/Japanese character is a word of its own; anything else runs to the next space.
_WORD = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3040-\u30ff][，。、；：？！…—「」『』《》（）,.!?;:]*|[^\s\u3400-\u9fff\uf900-\ufaff\u3040-\u30ff]+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def tagged_transcript(
    text: str, start: float, end: float, *, language: str | None = None, source: str | None = None
) -> tuple[Segment | None, list[Event]]:
    """A Segment of the words of ``text`` (tags removed) spread evenly over ``start``..``end``,
    and an Event (``timing="text"``) for each tag at the boundary where it was written.

    Known non-events (``[pause]``) are dropped; an unknown bracket label stays in the text as
    written, so nothing the model said is lost. None for the segment when no words remain.
    """
    pieces: list[str] = []  # words in order
    marks: list[tuple[int, str]] = []  # (index of the word the tag precedes, tag)
    pos = 0
    for span in find_tags(text, source):
        pieces.extend(_words(text[pos:span.start]))
        pos = span.end
        if span.kind == "tag":
            marks.append((len(pieces), span.tag))  # type: ignore[arg-type]
        elif span.kind == "unknown":
            pieces.extend(_words(span.raw))
    pieces.extend(_words(text[pos:]))

    duration = max(0.0, end - start)
    weights = [max(1, len(w)) for w in pieces]
    total = sum(weights) or 1
    bounds = [start]
    for w in weights:
        bounds.append(bounds[-1] + duration * w / total)
    words = [Word(bounds[k], bounds[k + 1], w, 1.0) for k, w in enumerate(pieces)]
    events = [Event(tag, bounds[k], bounds[k], 1.0, timing="text") for k, tag in marks]
    if not words:
        return None, events
    return Segment(start, end, join_words(pieces), words, language), events


#: SenseVoice's emotion tokens -> paravox's emotion labels (emotion2vec's nine).
SENSEVOICE_EMOTIONS = {
    "HAPPY": "happy", "SAD": "sad", "ANGRY": "angry", "NEUTRAL": "neutral", "FEARFUL": "fearful",
    "DISGUSTED": "disgusted", "SURPRISED": "surprised", "OTHER": "other",
}
_SV_LANGUAGES = ("zh", "en", "yue", "ja", "ko", "nospeech")
_SV_HEAD = re.compile(r"<\|(?P<name>[^|<>]{1,40})\|>")
_SV_START = re.compile(r"(?=<\|(?:%s)\|>)" % "|".join(_SV_LANGUAGES))


def sensevoice_transcript(
    text: str, start: float, end: float
) -> tuple[list[Segment], list[Event], str | None]:
    """SenseVoice's output for one stretch (``start``..``end``) as paravox results: one Segment
    per utterance it wrote (several when the text holds several ``<|lang|>`` heads, the time
    shared out by length), with its emotion token as the segment's emotion (score None:
    SenseVoice gives a label, not a probability; ``EMO_UNKNOWN`` gives none), its event token
    as an Event over the utterance (``timing="utterance"``), and the language of the first.

    >>> segs, events, lang = sensevoice_transcript("<|zh|><|HAPPY|><|Laughter|><|woitn|>哈哈今天真好", 0.0, 2.0)
    >>> lang, segs[0].text, segs[0].emotion.label, [(e.tag, e.start, e.end, e.timing) for e in events]
    ('zh', '哈哈今天真好', 'happy', [('laugh', 0.0, 2.0, 'utterance')])
    """
    parts = [p for p in _SV_START.split(text) if p.strip()]
    if not parts:
        return [], [], None
    bodies: list[tuple[dict[str, str], str]] = []
    for part in parts:
        heads: dict[str, str] = {}
        pos = 0
        while True:  # the leading <|..|> tokens: language, emotion, event, text normalisation
            m = _SV_HEAD.match(part, pos)
            if m is None:
                break
            name = m.group("name")
            if name in _SV_LANGUAGES:
                heads.setdefault("language", name)
            elif name in SENSEVOICE_EMOTIONS or name in ("EMO_UNKNOWN", "unk"):
                heads.setdefault("emotion", name)
            elif name in ("withitn", "woitn"):
                heads.setdefault("itn", name)
            else:
                heads.setdefault("event", name)
            pos = m.end()
        bodies.append((heads, part[pos:]))

    weights = [max(1, len(body.strip())) for _, body in bodies]
    total = sum(weights)
    segments: list[Segment] = []
    events: list[Event] = []
    t = start
    for (heads, body), w in zip(bodies, weights):
        a, b = t, t + (end - start) * w / total
        t = b
        language = heads.get("language")
        language = None if language == "nospeech" else language
        seg, inline = tagged_transcript(body.strip(), a, b, language=language)
        events.extend(inline)
        tag = SENSEVOICE_EVENTS.get(heads.get("event", ""))
        if tag is not None:
            events.append(Event(tag, a, b, 1.0, timing="utterance"))
        if seg is None:
            continue
        label = SENSEVOICE_EMOTIONS.get(heads.get("emotion", ""))
        if label is not None:
            seg.emotion = EmotionScore(label, None, {}, a, b)
        segments.append(seg)
    first = next((h.get("language") for h, _ in bodies if h.get("language") not in (None, "nospeech")), None)
    return segments, events, first
