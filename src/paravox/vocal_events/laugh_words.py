"""Laughter that the recogniser spelled out becomes a ``[laugh]`` event.

Whisper often writes a laugh as words: ``哈哈哈哈``, ``呵呵``, ``Ha-ha-ha!``, ``hahaha``. In
the MNV-17 convention (and in every tagged transcript of the data pack) laughter is a tag,
never text, so such words are moved out of the transcript and into ``Analysis.events`` as a
``laugh`` event spanning them, with the mean of their word probabilities as its score.

A run counts as laughter when it has at least two laugh syllables: ``哈哈`` or ``嘿嘿`` but
not a lone ``哈``; ``ha ha`` or ``he-he`` but not ``he he`` written as two words (that is
more often the pronoun twice). ``哈哈`` directly followed by ``大笑`` or ``一笑`` is part of an
idiom ("laughed heartily") and stays text.

>>> from paravox.result import Segment, Word
>>> words = [Word(0.0, 0.4, "哈", 0.9), Word(0.4, 0.8, "哈", 0.7), Word(1.0, 1.3, "我们", 0.9), Word(1.3, 1.6, "来", 0.9)]
>>> segments, laughs = laughs_from_words([Segment(0.0, 1.6, "哈哈我们来", words)])
>>> segments[0].text, [(e.tag, e.start, e.end, round(e.score, 2)) for e in laughs]
('我们来', [('laugh', 0.0, 0.8, 0.8)])
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Sequence

from paravox.result import Event, Segment, Word, join_words

#: Characters Chinese transcripts use to spell laughter.
_CJK_LAUGH = re.compile(r"[哈呵嘿嘻嗬]+")
#: Latin laugh syllables: ha, hah, he, heh, hee, and Spanish ja, je (jaja).
_SYLLABLE = r"(?:h(?:a|ee|e)h?|j[ae])"
_LATIN_SYLLABLE = re.compile(rf"{_SYLLABLE}(?=[hj]|$)")
_LATIN_LAUGH = re.compile(rf"{_SYLLABLE}+")
#: A syllable that is a laugh when it comes twice as separate words ("ha ha"); "he he" and
#: "ja ja" (German "yes, yes") count only when written joined.
_STRONG = re.compile(r"hah?")
#: Punctuation around or inside a word ("Ha-ha-ha!", "哈哈，").
_PUNCT = re.compile(r"[\s\-~～…,，.。!！?？、;；:：'\"“”‘’()（）]+")
#: Words after which a run of 哈 is an idiom, not a laugh (哈哈大笑 "laughed heartily").
_IDIOM_NEXT = ("大笑", "一笑", "笑")


def _syllables(text: str) -> tuple[int, bool, bool] | None:
    """(laugh syllables, has a strong syllable, written joined) of one word, or None."""
    core = _PUNCT.sub("", text).lower()
    if not core:
        return None
    if _CJK_LAUGH.fullmatch(core):
        return len(core), True, len(core) > 1
    if _LATIN_LAUGH.fullmatch(core):
        parts = [p for p in _PUNCT.split(text.lower()) if p]
        syllables = [m.group(0) for p in parts for m in _LATIN_SYLLABLE.finditer(p)]
        strong = any(_STRONG.fullmatch(s) for s in syllables)
        return len(syllables), strong, len(syllables) > 1
    return None


def _is_laugh_run(counts: Sequence[tuple[int, bool, bool]]) -> bool:
    total = sum(c[0] for c in counts)
    strong = any(c[1] for c in counts)
    joined = any(c[2] for c in counts)
    return total >= 2 and (strong or joined)


def _laugh_runs(words: Sequence[Word]) -> list[tuple[int, int]]:
    """[i, j) index ranges of maximal runs of laugh words that read as laughter."""
    counts = [_syllables(w.text) for w in words]
    runs: list[tuple[int, int]] = []
    i = 0
    while i < len(words):
        if counts[i] is None:
            i += 1
            continue
        j = i
        while j < len(words) and counts[j] is not None:
            j += 1
        following = words[j].text.strip() if j < len(words) else ""
        if _is_laugh_run(counts[i:j]) and not following.startswith(_IDIOM_NEXT):
            runs.append((i, j))
        i = j
    return runs


def laughs_from_words(segments: Sequence[Segment]) -> tuple[list[Segment], list[Event]]:
    """Segments with spelled-out laughter removed, and one ``laugh`` event per run removed.

    Segments left with no words are dropped. Segments without word timestamps are left as
    they are (there is no time to give the event).
    """
    return words_to_events(segments, _laugh_runs, lambda run: "laugh")


def words_to_events(segments: Sequence[Segment], find_runs, tag_of) -> tuple[list[Segment], list[Event]]:
    """Segments without the word runs ``find_runs(words)`` gives (``[i, j)`` ranges), and an
    event per run ``tag_of(run)`` names (None: the run leaves the text with no event), spanning
    it, scored by the mean of its word probabilities. Segments left with no words are dropped;
    segments without word timestamps are left as they are (there is no time to give an event)."""
    out: list[Segment] = []
    events: list[Event] = []
    for seg in segments:
        runs = find_runs(seg.words) if seg.words else []
        if not runs:
            out.append(seg)
            continue
        drop: set[int] = set()
        for i, j in runs:
            run = seg.words[i:j]
            tag = tag_of(run)
            if tag is not None:
                events.append(Event(tag, run[0].start, run[-1].end, sum(w.prob for w in run) / len(run)))
            drop.update(range(i, j))
        kept = [w for k, w in enumerate(seg.words) if k not in drop]
        if not kept:
            continue
        start = kept[0].start if 0 in drop else seg.start
        end = kept[-1].end if len(seg.words) - 1 in drop else seg.end
        out.append(replace(seg, start=start, end=end, text=join_words(w.text for w in kept), words=kept))
    return out, events


def merge_laughs(detected: Sequence[Event], laughs: Sequence[Event]) -> list[Event]:
    """Detector events plus spelled-out laughs; a detector event overlapping a laugh is the same sound.

    The laugh keeps the union of the two spans and the higher score when the detector also
    said laugh; a detector event with another tag over the same stretch is dropped, since the
    recogniser heard laughter there. ``laughs`` may hold any events the recogniser wrote
    (:mod:`paravox.vocal_events.sound_words`): each is kept, as a laugh is, over the detector's.
    """
    merged = [replace(e) for e in laughs]
    for ev in detected:
        hit = next((m for m in merged if ev.start < m.end and m.start < ev.end), None)
        if hit is None:
            merged.append(ev)
        elif ev.tag == hit.tag:
            hit.start, hit.end, hit.score = min(hit.start, ev.start), max(hit.end, ev.end), max(hit.score, ev.score)
    return sorted(merged, key=lambda e: (e.start, e.end))
