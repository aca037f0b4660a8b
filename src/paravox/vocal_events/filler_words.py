"""Filled pauses the recogniser wrote as words become ``[uhm]`` events (optional).

Whisper sometimes writes a filled pause as a word: ``um``, ``uh``, ``hmm``, ``erm`` in
English, ``嗯`` or ``呃`` in Chinese. Conventions differ on what a transcript should hold:
NVSpeech-style transcripts (and the taxonomy's ``uhm``: "filled pause (uh, um)") write a
tag, ``[uhm]``; MNV-17, NonVerbalSpeech-38K and the NVVSpeech Challenge have no such tag and
keep ``嗯`` as text. paravox keeps them as text by default; ``filler_words=True``
(``paravox analyze --filler-words``) moves them into ``Analysis.events`` as ``uhm`` events
spanning the word, with its probability as the score.

Only a word that is nothing but a filled pause counts (``Um,`` and ``嗯`` do, ``umbrella``
and ``嗯哼`` do not); a run of them (``嗯嗯``, ``uh, um``) is one event.

>>> from paravox.result import Segment, Word
>>> words = [Word(0.0, 0.3, "Um,", 0.8), Word(0.4, 0.8, "what", 0.9), Word(0.8, 1.0, "is", 0.9), Word(1.0, 1.3, "this?", 0.9)]
>>> segments, fillers = fillers_from_words([Segment(0.0, 1.3, "Um, what is this?", words)])
>>> segments[0].text, [(e.tag, e.start, e.end, e.score) for e in fillers]
('what is this?', [('uhm', 0.0, 0.3, 0.8)])
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Sequence

from paravox.result import Event, Segment, Word, join_words
from paravox.vocal_events.model import keep_event

#: The tag filled pauses become (the taxonomy's ``uhm``).
TAG = "uhm"
#: Whole words (punctuation stripped, lower case) that are filled pauses.
#: ("mm", "mhm" and "eh" are left out: more often a listener's "yes" or a question tag.)
_FILLER = re.compile(r"(?:u+h+|u+m+|u+h+m+|h+m+|e+r+m+|嗯+|呃+)")
_PUNCT = re.compile(r"[\s\-~～…,，.。!！?？、;；:：'\"“”‘’()（）]+")


def is_filler(text: str) -> bool:
    """Whether one recognised word is nothing but a filled pause.

    >>> [is_filler(w) for w in ("Um,", "uh...", "Hmm.", "嗯", "呃，", "umbrella", "嗯哼", "her", "mm-hmm", "Mhm.", "eh?")]
    [True, True, True, True, True, False, False, False, False, False, False]
    """
    core = _PUNCT.sub("", text).lower()
    return bool(core) and _FILLER.fullmatch(core) is not None and "-" not in text.strip("-")


def fillers_from_words(segments: Sequence[Segment]) -> tuple[list[Segment], list[Event]]:
    """Segments with filled-pause words removed, and one ``uhm`` event per run of them.

    Segments left with no words are dropped; segments without word timestamps are left as
    they are (there is no time to give the event).
    """
    out: list[Segment] = []
    events: list[Event] = []
    for seg in segments:
        flags = [is_filler(w.text) for w in seg.words]
        if not any(flags):
            out.append(seg)
            continue
        run: list[Word] = []
        for word, flag in zip(seg.words + [None], flags + [False]):  # a sentinel closes the last run
            if flag:
                run.append(word)
                continue
            if run:
                events.append(Event(TAG, run[0].start, run[-1].end, sum(w.prob for w in run) / len(run)))
                run = []
        kept = [w for w, flag in zip(seg.words, flags) if not flag]
        if not kept:
            continue
        start = kept[0].start if flags[0] else seg.start
        end = kept[-1].end if flags[-1] else seg.end
        out.append(replace(seg, start=start, end=end, text=join_words(w.text for w in kept), words=kept))
    return out, events


def keep_filler(event: Event, threshold, min_duration: float | None) -> bool:
    """Whether a filler event passes the run's event threshold (:func:`keep_event`: its printed
    score, the word's probability) and shortest duration, as every event must."""
    if min_duration is not None and event.end - event.start < min_duration:
        return False
    return keep_event(event, threshold)


def drop_overlapping(detected: Sequence[Event], fillers: Sequence[Event]) -> list[Event]:
    """Detector events that do not overlap a filler word: where the recogniser heard ``嗯``, a
    detected sigh or gasp over the same stretch is the same sound.

    >>> drop_overlapping([Event("sigh", 1.0, 1.4), Event("cough", 3.0, 3.2)], [Event("uhm", 1.2, 1.5)])
    [Event(tag='cough', start=3.0, end=3.2, score=1.0)]
    """
    return [e for e in detected if not any(e.start < f.end and f.start < e.end for f in fillers)]
