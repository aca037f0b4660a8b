"""The result model: the dataclasses every stage produces and every output serialises.

``Word`` and ``Segment`` come from transcription, ``Event`` from a vocal-event model,
``EmotionScore`` from an emotion model. Each entry point returns one record per input, and
every record carries the input's ``id`` (the path as given, or the id a list gave it):

- :class:`Analysis` (``paravox.analyze``): everything heard in one input;
- :class:`EventsResult` (``paravox.events``): the timed vocal events of one input;
- :class:`Classification` (``paravox.classify``): one isolated vocalization named;
- :class:`EmotionResult` (``paravox.emotion``): the file's emotion and its emotion over time.

Times are seconds from the start of the input. ``to_dict()``/``from_dict()`` round-trip
through plain JSON types; the JSON schema of an Analysis is ``paravox/data/analysis.schema.json``.

>>> a = Analysis(source="a.wav", duration=2.0, language="en",
...              segments=[Segment(0.0, 1.5, "hello there", words=[Word(0.0, 0.5, "hello", 0.9),
...                                                                 Word(0.9, 1.5, "there", 0.8)])],
...              events=[Event("laugh", 0.55, 0.85, 0.9)])
>>> a.tagged_text()
'hello [laugh] there'
>>> a.tagged_text(style="paren")
'hello (laughs) there'
>>> Analysis.from_dict(a.to_dict()) == a
True
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Iterable

SCHEMA_VERSION = "1"

# A gap this long between an event and the nearest speech segment gives the event a
# cue of its own in subtitles instead of folding it into a neighbouring cue.
STANDALONE_EVENT_GAP = 1.0


def _r(x: float | None, nd: int = 3) -> float | None:
    return None if x is None else round(float(x), nd)


@dataclass
class Word:
    """One recognised word (for Chinese, usually one or a few characters)."""

    start: float
    end: float
    text: str
    prob: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return {"start": _r(self.start), "end": _r(self.end), "text": self.text, "prob": _r(self.prob, 4)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Word":
        return cls(float(d["start"]), float(d["end"]), str(d["text"]), float(d.get("prob", 1.0)))


@dataclass
class Event:
    """A vocal event (laugh, cough, sigh, ...) with its canonical tag, times and confidence.

    ``timing`` says where the times come from when a detector did not measure them: ``"text"``
    (a tag a recogniser wrote inline; its time is read off its place among the words) or
    ``"utterance"`` (a tag given for a whole utterance, place unknown: SenseVoice's).
    """

    tag: str
    start: float
    end: float
    score: float = 1.0
    timing: str | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        d = {"tag": self.tag, "start": _r(self.start), "end": _r(self.end), "score": _r(self.score, 4)}
        if self.timing is not None:
            d["timing"] = self.timing
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Event":
        return cls(str(d["tag"]), float(d["start"]), float(d["end"]), float(d.get("score", 1.0)), d.get("timing"))


@dataclass
class EmotionScore:
    """Emotion of a stretch of audio: the top label, its probability, and all class probabilities.

    ``speech`` (file-level emotion only) is how many seconds of speech the score was read from.
    ``dimensions`` (models with a dimensional head, such as the shipped one) maps each
    dimension to a score on [-1, 1]: ``{"valence": 0.31, "arousal": -0.12, "dominance": 0.05}``.
    A stretch that holds no speech (a frame of silence, noise or a vocalization alone) has no
    emotion: ``label`` and ``score`` are None, ``scores`` empty and ``reason`` says why.
    """

    label: str | None
    score: float | None
    scores: dict[str, float] = field(default_factory=dict)
    start: float | None = None
    end: float | None = None
    speech: float | None = None
    dimensions: dict[str, float] | None = None
    reason: str | None = None
    #: with ``--speaker-norm``: ``{"speaker": name, "clips": n}``, the speaker whose own clips
    #: (n of them, with speech) standardised this input's features
    speaker_norm: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        d = {
            "label": self.label,
            "score": None if self.score is None else _r(self.score, 4),
            "scores": {k: _r(v, 4) for k, v in self.scores.items()},
            "start": _r(self.start),
            "end": _r(self.end),
        }
        if self.speech is not None:
            d["speech"] = _r(self.speech)
        if self.dimensions is not None:
            d["dimensions"] = {k: _r(v, 4) for k, v in self.dimensions.items()}
        if self.reason is not None:
            d["reason"] = self.reason
        if self.speaker_norm is not None:
            d["speaker_norm"] = dict(self.speaker_norm)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "EmotionScore":
        return cls(
            None if d.get("label") is None else str(d["label"]),
            None if d.get("score") is None else float(d["score"]),
            {str(k): float(v) for k, v in (d.get("scores") or {}).items()},
            None if d.get("start") is None else float(d["start"]),
            None if d.get("end") is None else float(d["end"]),
            None if d.get("speech") is None else float(d["speech"]),
            None if d.get("dimensions") is None else {str(k): float(v) for k, v in d["dimensions"].items()},
            d.get("reason"),
            None if d.get("speaker_norm") is None else dict(d["speaker_norm"]),
        )


@dataclass
class Segment:
    """A stretch of speech as the recogniser returned it, with its words."""

    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)
    language: str | None = None
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    emotion: EmotionScore | None = None
    #: why a segment has no text: a stretch the voice detector calls speech that gave no words
    #: (:data:`NO_WORDS`), so that nothing vanishes from the output unreported
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = {
            "start": _r(self.start),
            "end": _r(self.end),
            "text": self.text,
            "words": [w.to_dict() for w in self.words],
            "language": self.language,
            "avg_logprob": _r(self.avg_logprob, 4),
            "no_speech_prob": _r(self.no_speech_prob, 4),
            "emotion": None if self.emotion is None else self.emotion.to_dict(),
        }
        if self.note is not None:
            d["note"] = self.note
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Segment":
        return cls(
            float(d["start"]),
            float(d["end"]),
            str(d["text"]),
            [Word.from_dict(w) for w in d.get("words") or []],
            d.get("language"),
            None if d.get("avg_logprob") is None else float(d["avg_logprob"]),
            None if d.get("no_speech_prob") is None else float(d["no_speech_prob"]),
            None if d.get("emotion") is None else EmotionScore.from_dict(d["emotion"]),
            d.get("note"),
        )


#: :attr:`Segment.note` of a speech region that the recogniser turned into no words.
NO_WORDS = "speech (voice activity) but no words recognised"


@dataclass
class Cue:
    """One subtitle cue: a segment's text with the events that belong to it written inline."""

    start: float
    end: float
    text: str


@dataclass
class Analysis:
    """Everything paravox heard in one input. ``id`` is the input's id (by default its
    ``source`` label: the path as given)."""

    source: str
    duration: float
    language: str | None = None
    segments: list[Segment] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    emotion: EmotionScore | None = None
    language_probability: float | None = None
    models: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    id: str | None = None

    def __post_init__(self) -> None:
        if self.id is None:
            self.id = self.source

    # ---- text views -------------------------------------------------------------------
    @property
    def text(self) -> str:
        """The plain transcript: :meth:`tagged_text` without the tags (the same words, joined
        by the same spacing rule)."""
        return _insert_events(self._words(), [], "bracket")

    def tagged_text(self, style: str = "bracket") -> str:
        """The transcript with each event written inline at the nearest word boundary.

        ``style``: ``"bracket"`` ``[laugh]`` (MNV-17), ``"sensevoice"`` ``<|Laughter|>``,
        ``"paren"`` ``(laughs)``, ``"angle"`` ``<laugh>``.
        """
        return _insert_events(self._words(), sorted(self.events, key=lambda e: e.start), style)

    def _words(self) -> list[Word]:
        """Every word in order; a segment without word times counts as one word, an empty one as none."""
        return [w for s in self.segments for w in (s.words or ([_segment_as_word(s)] if s.text.strip() else []))]

    def cues(self, style: str = "bracket") -> list[Cue]:
        """Subtitle cues: one per segment with its events inline; far-off events get their own cue."""
        owned, standalone = self._events_by_segment()
        cues = []
        for seg, evs in zip(self.segments, owned):
            if not seg.text.strip() and not evs:
                continue  # an empty segment (a region that gave no words) makes no subtitle
            words = seg.words or [_segment_as_word(seg)]
            start = min([seg.start] + [e.start for e in evs])
            end = max([seg.end] + [e.end for e in evs])
            cues.append(Cue(start, end, _insert_events(words, evs, style)))
        for ev in standalone:
            cues.append(Cue(ev.start, ev.end, _render(ev.tag, style)))
        cues.sort(key=lambda c: (c.start, c.end))
        # Whisper's segments (and an event widening one) may overlap the next by a fraction of a
        # second; a subtitle player would then show two cues at once. Each cue ends where the next begins.
        for cue, nxt in zip(cues, cues[1:]):
            if cue.start < nxt.start < cue.end:
                cue.end = nxt.start
        return cues

    def _events_by_segment(self) -> tuple[list[list[Event]], list[Event]]:
        """Each event goes to the nearest segment, or stands alone when none is near."""
        events = sorted(self.events, key=lambda e: e.start)
        owned: list[list[Event]] = [[] for _ in self.segments]
        standalone: list[Event] = []
        for ev in events:
            best, best_gap = None, None
            for i, seg in enumerate(self.segments):
                gap = _interval_gap(ev.start, ev.end, seg.start, seg.end)
                if best_gap is None or gap < best_gap:
                    best, best_gap = i, gap
            if best is None or best_gap > STANDALONE_EVENT_GAP:
                standalone.append(ev)
            else:
                owned[best].append(ev)
        return owned, standalone

    # ---- serialisation ----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "schema_version": SCHEMA_VERSION,
            "source": self.source,
            "duration": _r(self.duration),
            "language": self.language,
            "language_probability": _r(self.language_probability, 4),
            "text": self.text,
            "tagged_text": self.tagged_text(),
            "segments": [
                {**s.to_dict(), "tagged_text": _insert_events(s.words or [_segment_as_word(s)], evs, "bracket")}
                for s, evs in zip(self.segments, self._events_by_segment()[0])
            ],
            "events": [e.to_dict() for e in self.events],
            "emotion": None if self.emotion is None else self.emotion.to_dict(),
            "models": dict(self.models),
            "options": dict(self.options),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Analysis":
        missing = {"source", "duration"} - d.keys()
        if missing:
            raise ValueError(f"not an Analysis document: missing {sorted(missing)}")
        return cls(
            source=str(d["source"]),
            duration=float(d["duration"]),
            language=d.get("language"),
            segments=[Segment.from_dict(s) for s in d.get("segments") or []],
            events=[Event.from_dict(e) for e in d.get("events") or []],
            emotion=None if d.get("emotion") is None else EmotionScore.from_dict(d["emotion"]),
            language_probability=None
            if d.get("language_probability") is None
            else float(d["language_probability"]),
            models=dict(d.get("models") or {}),
            options=dict(d.get("options") or {}),
            id=None if d.get("id") is None else str(d["id"]),
        )

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    @classmethod
    def from_json(cls, text: str) -> "Analysis":
        return cls.from_dict(json.loads(text))


@dataclass
class EventsResult:
    """The timed vocal events of one input (``paravox.events``), by start time."""

    id: str
    duration: float
    events: list[Event] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "duration": _r(self.duration), "events": [e.to_dict() for e in self.events]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "EventsResult":
        return cls(str(d["id"]), float(d["duration"]), [Event.from_dict(e) for e in d.get("events") or []])


@dataclass
class Classification:
    """One isolated vocalization named (``paravox.classify``): the top tag, its probability,
    and every tag's probability, most probable first.

    >>> Classification("a.wav", "laugh", 0.9, {"laugh": 0.9, "cough": 0.1}).to_dict()["label"]
    'laugh'
    """

    id: str
    label: str
    score: float
    scores: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "score": _r(self.score, 4),
                "scores": {k: _r(v, 4) for k, v in self.scores.items()}}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Classification":
        return cls(str(d["id"]), str(d["label"]), float(d["score"]), {str(k): float(v) for k, v in (d.get("scores") or {}).items()})


@dataclass
class EmotionResult:
    """The emotion of one input (``paravox.emotion``).

    ``emotion`` is the file-level emotion, defined once for every entry point
    (:func:`paravox.speech_emotion.recognizer.EmotionRecognizer.file_emotion`): None when the
    input holds no speech. ``spans`` is the emotion over time at the asked ``granularity``:
    one per speech segment (``segment``), one every hop (``frame``), none for ``utterance``.
    ``embedding`` (with ``extract_embedding``) is the file's feature vector and
    ``span_embeddings`` one per span; they are not part of ``to_dict()``.
    """

    id: str
    duration: float
    emotion: EmotionScore | None
    granularity: str = "utterance"
    spans: list[EmotionScore] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    embedding: Any = field(default=None, repr=False, compare=False)
    span_embeddings: Any = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "duration": _r(self.duration),
            "granularity": self.granularity,
            "emotion": None if self.emotion is None else self.emotion.to_dict(),
            "spans": [s.to_dict() for s in self.spans],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "EmotionResult":
        return cls(
            str(d["id"]),
            float(d["duration"]),
            None if d.get("emotion") is None else EmotionScore.from_dict(d["emotion"]),
            str(d.get("granularity", "utterance")),
            [EmotionScore.from_dict(s) for s in d.get("spans") or []],
        )


# ---- helpers --------------------------------------------------------------------------


def _segment_as_word(seg: Segment) -> Word:
    return Word(seg.start, seg.end, seg.text.strip(), 1.0)


def _interval_gap(a0: float, a1: float, b0: float, b1: float) -> float:
    """Distance between two intervals; 0 when they touch or overlap."""
    return max(0.0, b0 - a1, a0 - b1)


def _inner_boundaries(texts: list[str]) -> set[int]:
    from paravox.wordseg import inner_boundaries

    return inner_boundaries(texts)


def _render(tag: str, style: str) -> str:
    from paravox.taxonomy import render_tag

    return render_tag(tag, style)


def _is_tight(ch: str) -> bool:
    """Characters written without spaces around them (CJK, kana, full-width punctuation)."""
    if not ch:
        return False
    name = unicodedata.name(ch, "")
    return (
        "CJK" in name
        or "HIRAGANA" in name
        or "KATAKANA" in name
        or "FULLWIDTH" in name
        or "IDEOGRAPHIC" in name
        or ch in "。，、；：？！…—「」『』《》（）"
    )


def join_words(texts: Iterable[str]) -> str:
    """Join recognised words: no space between CJK pieces or before closing punctuation."""
    out = ""
    for raw in texts:
        t = raw.strip()
        if not t:
            continue
        if not out:
            out = t
        elif (_is_tight(out[-1]) and _is_tight(t[0])) or t[0] in ",.!?;:%)]}'\"" or (t[:1] == "-" and t[1:2].isalnum() and out[-1].isalnum()):
            # Whisper hands "ill-disposed" over as "ill" + "-disposed"
            out += t
        else:
            out += " " + t
    return out


def _insert_events(words: list[Word], events: list[Event], style: str) -> str:
    """Write each event at the word boundary nearest its start time.

    Boundary k sits before word k (k = 0 .. len(words)); it spans the silent gap between
    word k-1's end and word k's start. An event goes to the boundary whose gap is nearest
    its start (0 when the start falls inside the gap); ties go to the earlier boundary.
    Boundaries inside a Chinese word (:func:`paravox.wordseg.inner_boundaries`) take no tag.

    >>> ws = [Word(0.0, 0.2, "结"), Word(0.5, 0.7, "果"), Word(0.8, 1.0, "很好")]
    >>> _insert_events(ws, [Event("sigh", 0.45, 0.6)], "bracket")
    '结果 [sigh] 很好'
    """
    if not words:
        return " ".join(_render(e.tag, style) for e in events)
    slots: list[list[str]] = [[] for _ in range(len(words) + 1)]
    inside = _inner_boundaries([w.text.strip() for w in words]) if events else set()
    for ev in events:
        best_k, best_d = 0, None
        for k in range(len(words) + 1):
            if k in inside and ev.timing != "text":  # the gap between two pieces of one Chinese word
                continue  # (a tag a recogniser wrote there stays where it wrote it)
            lo = words[k - 1].end if k > 0 else float("-inf")
            hi = words[k].start if k < len(words) else float("inf")
            if lo > hi:  # overlapping word times: the boundary is a point
                lo = hi = (lo + hi) / 2
            d = max(0.0, lo - ev.start, ev.start - hi)
            if best_d is None or d < best_d:
                best_k, best_d = k, d
        slots[best_k].append(_render(ev.tag, style))
    pieces: list[str] = []
    text = ""
    for k in range(len(words) + 1):
        if slots[k]:
            if text:
                pieces.append(text)
                text = ""
            pieces.append(" ".join(slots[k]))
        if k < len(words):
            text = join_words([text, words[k].text]) if text else words[k].text.strip()
    if text:
        pieces.append(text)
    return " ".join(p for p in pieces if p)
