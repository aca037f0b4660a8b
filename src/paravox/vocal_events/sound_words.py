"""Sounds the recogniser described in brackets become events (optional: ``sound_words``).

Whisper learnt from subtitles, which describe sounds: ``(laughs)``, ``[coughing]``,
``*sigh*``, ``（笑）``. By default faster-whisper (and paravox) forbid the symbols such
descriptions are written with, so Whisper spells the sound out (``Ha-ha!``) or leaves it out.
With ``TranscribeOptions.sound_words`` those symbols are allowed, so the decoder itself may
write a tag, and this module moves every bracketed description out of the words: one that
names a vocal sound of the taxonomy becomes an event spanning it (score: the mean of its
word probabilities); any other (``(music)``, ``[BLANK_AUDIO]``, ``*inaudible*``) is dropped,
since it is not speech either.

>>> from paravox.result import Segment, Word
>>> words = [Word(0.0, 0.4, "I", 0.9), Word(0.4, 0.8, "want", 0.9), Word(0.9, 1.5, "*cough*", 0.6),
...          Word(1.6, 1.9, "that", 0.9), Word(2.0, 2.4, "(clears", 0.5), Word(2.4, 2.8, "throat)", 0.7)]
>>> segments, sounds = sounds_from_words([Segment(0.0, 2.8, "I want *cough* that (clears throat)", words)])
>>> segments[0].text, [(e.tag, e.start, e.end, round(e.score, 2)) for e in sounds]
('I want that', [('cough', 0.9, 1.5, 0.6), ('ahem', 2.0, 2.8, 0.6)])
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Sequence

from paravox.result import Event, Segment, Word

#: Opening and closing marks of a description, as subtitles write them.
_OPEN = "([*（【"
_CLOSE = ")]*）】"
#: The longest description read, in words ("(clears his throat loudly)").
MAX_WORDS = 6
#: Punctuation a word may carry outside its brackets ("(laughs).", "—(sighs)").
_EDGE = "\"'“”‘’.,，。!！?？:：;；-—…"

#: Words of a description (lower case) -> the taxonomy's tag. A description is read by its
#: first word that is here ("(nervous laughter)" is a laugh); "throat" makes it ``ahem``.
_EN = {
    "laugh": "laugh", "laughs": "laugh", "laughing": "laugh", "laughter": "laugh", "laughed": "laugh",
    "chuckle": "laugh", "chuckles": "laugh", "chuckling": "laugh", "giggle": "laugh", "giggles": "laugh",
    "giggling": "laugh",
    "cough": "cough", "coughs": "cough", "coughing": "cough", "coughed": "cough",
    "sigh": "sigh", "sighs": "sigh", "sighing": "sigh", "sighed": "sigh",
    "gasp": "gasp", "gasps": "gasp", "gasping": "gasp", "gasped": "gasp",
    "sniff": "sniff", "sniffs": "sniff", "sniffing": "sniff", "sniffles": "sniff", "sniffling": "sniff",
    "sneeze": "sneeze", "sneezes": "sneeze", "sneezing": "sneeze", "achoo": "sneeze",
    "cry": "cry", "cries": "cry", "crying": "cry", "sob": "cry", "sobs": "cry", "sobbing": "cry",
    "weeping": "cry", "weeps": "cry",
    "scream": "scream", "screams": "scream", "screaming": "scream", "shrieks": "scream", "shrieking": "scream",
    "yawn": "yawn", "yawns": "yawn", "yawning": "yawn",
    "breath": "breath", "breathes": "breath", "breathing": "breath", "inhales": "breath", "exhales": "breath",
    "pant": "pant", "pants": "pant", "panting": "pant",
    "moan": "moan", "moans": "moan", "moaning": "moan", "groan": "moan", "groans": "moan", "groaning": "moan",
    "hum": "hum", "hums": "hum", "humming": "hum",
    "snore": "snore", "snores": "snore", "snoring": "snore",
    "throat": "ahem", "ahem": "ahem",
}
#: Chinese descriptions: a description holding these characters names the tag (咳 covers 咳嗽, 笑 笑声).
_ZH = (("笑", "laugh"), ("咳", "cough"), ("叹气", "sigh"), ("叹息", "sigh"), ("哭", "cry"), ("抽泣", "cry"),
       ("尖叫", "scream"), ("喷嚏", "sneeze"), ("哈欠", "yawn"), ("喘", "pant"), ("呼吸", "breath"),
       ("吸气", "breath"), ("清嗓", "ahem"), ("呻吟", "moan"), ("哼", "hum"), ("打鼾", "snore"), ("吸鼻", "sniff"))


def description_tag(text: str) -> str | None:
    """The tag a description names (``"(laughs)"`` -> ``laugh``), or None for any other sound."""
    core = text.strip().strip(_EDGE).strip(_OPEN + _CLOSE).strip().lower()
    for word in re.findall(r"[a-z]+", core):
        if word in _EN:
            return _EN[word]
    for chars, tag in _ZH:
        if chars in core:
            return tag
    return None


def _opens(text: str) -> bool:
    t = text.strip().lstrip(_EDGE)
    return bool(t) and t[0] in _OPEN


def _closes(text: str, opener: str) -> bool:
    t = text.strip().rstrip(_EDGE)
    if not t or t[-1] not in _CLOSE:
        return False
    # "*cough*" opens and closes in one word; "*" alone, opening, does not close itself
    return len(t) > 1 or opener != t


def _descriptions(words: Sequence[Word]) -> list[tuple[int, int]]:
    """[i, j) index ranges of the words that make up a bracketed description."""
    runs = []
    i = 0
    while i < len(words):
        if not _opens(words[i].text):
            i += 1
            continue
        j = next((k for k in range(i, min(len(words), i + MAX_WORDS)) if _closes(words[k].text, words[i].text.strip())), None)
        if j is None:
            i += 1
            continue
        runs.append((i, j + 1))
        i = j + 1
    return runs


def sounds_from_words(segments: Sequence[Segment]) -> tuple[list[Segment], list[Event]]:
    """Segments without the bracketed descriptions, and one event per description that names a
    vocal sound. Segments left with no words are dropped; segments without word timestamps are
    left as they are (there is no time to give an event)."""
    from paravox.vocal_events.laugh_words import words_to_events

    return words_to_events(segments, _descriptions, lambda run: description_tag(" ".join(w.text for w in run)))


def gate_sounds(sounds: Sequence[Event], samples, offset: float, gate, threshold: float) -> list[Event]:
    """The described sounds a gate classifier (the detector's, with a ``none`` class) does not
    reject: its ``none`` probability on the sound's own audio (``samples`` start at ``offset``
    seconds) stays below ``threshold``. Audio too short or quiet to judge is rejected."""
    from paravox.audio import SAMPLE_RATE
    from paravox.vocal_events.api import too_little_to_judge

    kept = []
    for e in sounds:
        piece = samples[max(0, int((e.start - offset) * SAMPLE_RATE)) : int((e.end - offset) * SAMPLE_RATE)]
        if too_little_to_judge(piece) or float(gate.reject_probability(gate.embed(piece))[0]) >= threshold:
            continue
        kept.append(e)
    return kept


#: A described sound this close (seconds) to a recogniser's event of the same tag is that event.
JOIN_GAP = 0.3


def join_same(events: Sequence[Event], sounds: Sequence[Event]) -> list[Event]:
    """``events`` (laughs spelled out) plus the described ``sounds``; a sound overlapping or
    within :data:`JOIN_GAP` of an event of the same tag widens it (highest score kept).

    >>> join_same([Event("laugh", 0.0, 0.5, 0.9)], [Event("laugh", 0.5, 1.0, 0.7), Event("cough", 2.0, 2.4, 0.8)])
    [Event(tag='laugh', start=0.0, end=1.0, score=0.9), Event(tag='cough', start=2.0, end=2.4, score=0.8)]
    """
    out = [replace(e) for e in events]
    for s in sounds:
        hit = next((e for e in out if e.tag == s.tag and s.start <= e.end + JOIN_GAP and e.start <= s.end + JOIN_GAP), None)
        if hit is None:
            out.append(replace(s))
        else:
            hit.start, hit.end, hit.score = min(hit.start, s.start), max(hit.end, s.end), max(hit.score, s.score)
    return sorted(out, key=lambda e: (e.start, e.end))
