"""Responses of ``POST /v1/audio/transcriptions`` in the shapes OpenAI clients expect.

Every format carries the vocal events inline in the text (``[laugh]``), rendered from the
same :class:`~paravox.result.Analysis` as the CLI's outputs.

>>> from paravox.result import Analysis, Segment, Word, Event
>>> a = Analysis("a.wav", 3.0, "en", [Segment(0.5, 2.0, "hi there",
...     [Word(0.5, 0.9, "hi"), Word(1.4, 2.0, "there")])], [Event("laugh", 1.0, 1.3, 0.8)])
>>> transcription_body(a, "json")
{'text': 'hi [laugh] there'}
>>> v = transcription_body(a, "verbose_json")
>>> v["text"], v["segments"][0]["text"], v["words"][1]
('hi [laugh] there', 'hi [laugh] there', {'word': 'there', 'start': 1.4, 'end': 2.0, 'probability': 1.0})
>>> print(transcription_body(a, "vtt"), end="")
WEBVTT
<BLANKLINE>
00:00:00.500 --> 00:00:02.000
hi [laugh] there
"""

from __future__ import annotations

from typing import Any

from paravox.formats import render
from paravox.result import Analysis

RESPONSE_FORMATS = ("json", "text", "srt", "vtt", "verbose_json")


def transcription_body(analysis: Analysis, response_format: str) -> dict[str, Any] | str:
    """A dict for ``json`` / ``verbose_json``, text for ``text`` / ``srt`` / ``vtt``."""
    if response_format == "json":
        return {"text": analysis.tagged_text()}
    if response_format == "text":
        return analysis.tagged_text() + "\n"  # the json's text, as OpenAI clients expect
    if response_format in ("srt", "vtt"):
        return render(analysis, response_format)
    if response_format == "verbose_json":
        return _verbose(analysis)
    raise ValueError(f"unknown response_format {response_format!r}; choose one of {', '.join(RESPONSE_FORMATS)}")


def _verbose(analysis: Analysis) -> dict[str, Any]:
    """OpenAI's verbose_json plus paravox's ``events`` and ``emotion``."""
    d = analysis.to_dict()
    segments = []
    for i, (seg, tagged) in enumerate(zip(analysis.segments, _segment_texts(analysis), strict=True)):
        segments.append(
            {
                "id": i,
                "seek": 0,
                "start": round(seg.start, 3),
                "end": round(seg.end, 3),
                "text": tagged,
                "tokens": [],
                "temperature": 0.0,
                "avg_logprob": seg.avg_logprob if seg.avg_logprob is not None else 0.0,
                "compression_ratio": 0.0,
                "no_speech_prob": seg.no_speech_prob if seg.no_speech_prob is not None else 0.0,
                "emotion": None if seg.emotion is None else seg.emotion.to_dict(),
            }
        )
    words = [
        # "probability" is not in OpenAI's shape (clients ignore it); faster-whisper's users expect it
        {"word": w.text, "start": round(w.start, 3), "end": round(w.end, 3), "probability": round(w.prob, 4)}
        for seg in analysis.segments
        for w in seg.words
    ]
    return {
        "task": "transcribe",
        "language": analysis.language,
        "duration": d["duration"],
        "text": d["tagged_text"],
        "segments": segments,
        "words": words,
        "events": d["events"],
        "emotion": d["emotion"],
    }


def _segment_texts(analysis: Analysis) -> list[str]:
    """Each segment's text with the events that start before the next segment written inline."""
    segs = analysis.segments
    texts = []
    for i, seg in enumerate(segs):
        lo = float("-inf") if i == 0 else seg.start
        hi = segs[i + 1].start if i + 1 < len(segs) else float("inf")
        own = [e for e in analysis.events if lo <= e.start < hi]
        texts.append(Analysis(analysis.source, analysis.duration, segments=[seg], events=own).tagged_text())
    return texts
