"""Output formats, all rendered from the same :class:`~paravox.result.Analysis`.

``json`` (one indented document), ``jsonl`` (one compact line), ``txt`` (the tagged
transcript, one line, segments separated by a space), ``srt`` and ``vtt`` (subtitles, events written inside the cue text).

>>> from paravox.result import Analysis, Segment, Word, Event
>>> a = Analysis("a.wav", 3.0, "en", [Segment(0.5, 2.0, "hi there",
...     [Word(0.5, 0.9, "hi"), Word(1.4, 2.0, "there")])], [Event("cough", 1.0, 1.3, 0.8)])
>>> print(render(a, "srt"), end="")
1
00:00:00,500 --> 00:00:02,000
hi [cough] there
<BLANKLINE>
>>> render(a, "txt")
'hi [cough] there\\n'
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from paravox.result import Analysis, EmotionResult

FORMATS = ("json", "jsonl", "txt", "srt", "vtt")
_EXTENSIONS = {"json": ".json", "jsonl": ".jsonl", "txt": ".txt", "srt": ".srt", "vtt": ".vtt"}


def extension(fmt: str) -> str:
    return _EXTENSIONS[_check(fmt)]


def _check(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return fmt


def timestamp(seconds: float, *, sep: str = ",") -> str:
    """``HH:MM:SS,mmm`` (srt) or with ``sep="."`` ``HH:MM:SS.mmm`` (vtt)."""
    ms = max(0, int(round(seconds * 1000)))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def analysis_record(analysis: Analysis, *, key: str | None = None) -> dict[str, Any]:
    """The full result as a dict, ``id`` first (``key``, when given, overrides the analysis's id)."""
    d = analysis.to_dict()
    if key is not None:
        d["id"] = key
    return d


def transcript_record(analysis: Analysis, *, key: str | None = None, style: str = "bracket") -> dict[str, Any]:
    """What ``paravox transcribe`` writes per input: ``{"id", "text", "language"}``."""
    return {"id": key if key is not None else analysis.id, "text": analysis.tagged_text(style), "language": analysis.language}


def emotion_record(result: EmotionResult, *, key: str | None = None) -> dict[str, Any]:
    """What ``paravox emotion`` writes per input: ``EmotionResult.to_dict()`` with the file-level
    ``label`` and ``score`` also at the top (``null`` without speech), where ``paravox eval
    emotion`` and a quick ``jq .label`` look for them.

    >>> from paravox.result import EmotionScore
    >>> r = EmotionResult("a.wav", 2.0, EmotionScore("sad", 0.8, {"sad": 0.8, "happy": 0.2}))
    >>> list(emotion_record(r))
    ['id', 'label', 'score', 'duration', 'granularity', 'emotion', 'spans']
    """
    d = result.to_dict()
    emotion = d.get("emotion") or {}
    return {"id": key if key is not None else d["id"], "label": emotion.get("label"), "score": emotion.get("score"),
            **{k: v for k, v in d.items() if k != "id"}}


def record(result: Any, *, key: str | None = None) -> dict[str, Any]:
    """The JSON record of any result (an Analysis, EventsResult, Classification or
    EmotionResult): its ``to_dict()``, ``id`` first (``key``, when given, overrides it)."""
    if isinstance(result, Analysis):
        return analysis_record(result, key=key)
    if isinstance(result, EmotionResult):
        return emotion_record(result, key=key)
    d = result.to_dict()
    if key is not None:
        d = {"id": key, **{k: v for k, v in d.items() if k != "id"}}
    return d


def json_line(record: dict[str, Any]) -> str:
    """One record as one JSONL line, newline included."""
    return json.dumps(record, ensure_ascii=False) + "\n"


def error_record(key: str, exc: BaseException) -> dict[str, Any]:
    """What a batch writes for an input that failed: ``{"id", "error": {"type", "message"}}``."""
    return {"id": key, "error": {"type": type(exc).__name__, "message": str(exc)}}


def wrap_cue(text: str, width: int | None) -> str:
    """``text`` broken into lines of at most ``width`` characters (subtitles): between words,
    and between any two characters of a Chinese or Japanese run; a tag or a word longer than
    the width keeps a line of its own. None or 0: one line.

    >>> wrap_cue("He was not an ill-disposed young man. [laugh]", 20)
    'He was not an\\nill-disposed young\\nman. [laugh]'
    >>> wrap_cue("他对着光 [hum] 仔细端详着，仿佛在欣赏一件稀世珍宝", 12)
    '他对着光 [hum] 仔\\n细端详着，仿佛在欣赏一件\\n稀世珍宝'
    """
    if not width or len(text) <= width:
        return text
    import re

    # pieces: a Latin word or tag with the space before it, or one CJK character
    pieces = re.findall(r"\s*\[[^\]]*\]|\s*<[^>]*>|\s*\([^)]*\)|\s*[\u2e80-\u9fff\uac00-\ud7af\uff00-\uffef\u3000-\u303f]|\s*[^\s\u2e80-\u9fff\uac00-\ud7af\uff00-\uffef\u3000-\u303f]+", text)
    lines, line = [], ""
    for piece in pieces:
        if line and len(line + piece) > width:
            lines.append(line)
            piece = piece.lstrip()
            line = piece
        else:
            line = (line + piece) if line else piece.lstrip()
    if line:
        lines.append(line)
    return "\n".join(lines)


def render(analysis: Analysis, fmt: str, *, style: str = "bracket", key: str | None = None,
           max_line_chars: int | None = None) -> str:
    """The text of one output file (or one JSONL line, newline included); ``max_line_chars``
    wraps the subtitle lines of srt and vtt (:func:`wrap_cue`)."""
    fmt = _check(fmt)
    if fmt == "json":
        return json.dumps(analysis_record(analysis, key=key), ensure_ascii=False, indent=2) + "\n"
    if fmt == "jsonl":
        return json.dumps(analysis_record(analysis, key=key), ensure_ascii=False) + "\n"
    if fmt == "txt":
        # One line per input (several inputs to stdout stay one line each); its segments
        # (events inline) separated by a space: Chinese segments rarely end in punctuation, and
        # joined word to word they ran together.
        return " ".join(c.text for c in analysis.cues(style)) + "\n"
    sep = "," if fmt == "srt" else "."
    blocks = []
    for i, cue in enumerate(analysis.cues(style), 1):
        times = f"{timestamp(cue.start, sep=sep)} --> {timestamp(max(cue.end, cue.start + 0.001), sep=sep)}"
        text = wrap_cue(cue.text, max_line_chars)
        blocks.append(f"{i}\n{times}\n{text}\n" if fmt == "srt" else f"{times}\n{text}\n")
    body = "\n".join(blocks)
    return body if fmt == "srt" else "WEBVTT\n\n" + body


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Write a whole file or nothing: a temp file in the same folder, then a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
