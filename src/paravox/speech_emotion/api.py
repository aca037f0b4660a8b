"""``paravox.emotion``: emotion2vec-shaped results from the paravox emotion model.

>>> import paravox
>>> res = paravox.emotion("a.wav")                                    # doctest: +SKIP
>>> res[0]["labels"][int(np.argmax(res[0]["scores"]))]               # doctest: +SKIP
'angry'

Each input gives one dict, as emotion2vec's ``model.generate`` does:

``utterance``
    ``{"key", "labels": [L], "scores": [L floats], "feats": (D,) array | None}``
``segment``
    one row per speech segment (Silero VAD): ``"scores"`` is ``[[L floats], ...]``,
    ``"feats"`` ``(S, D)``, and ``"segments"`` ``[{"start", "end"}, ...]`` (seconds).
``frame``
    scores every ``frame_hop`` seconds (a ``frame_window`` span centred there):
    ``"scores"`` ``[[L floats], ...]``, ``"feats"`` ``(F, D)``, ``"segments"`` their spans.

``feats`` (with ``extract_embedding=True``) is the pooled feature vector the classifier
reads: mean+std of the chosen Whisper-encoder blocks, then prosody statistics.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

__all__ = ["emotion", "GRANULARITIES"]

GRANULARITIES = ("utterance", "segment", "frame")


def _inputs(source: Any) -> list[tuple[str, Any]]:
    """``[(key, source)]``: one input, a list of inputs, or a Kaldi ``wav.scp`` path."""
    if isinstance(source, (str, os.PathLike)) and str(source).endswith(".scp"):
        from paravox.inputs import from_scp

        return [(i.key, i.source) for i in from_scp(str(source))]
    if isinstance(source, list):
        return [(_key(s, i), s) for i, s in enumerate(source)]
    return [(_key(source, 0), source)]


def _key(source: Any, i: int) -> str:
    if isinstance(source, (str, os.PathLike)) and str(source) != "-":
        return Path(str(source)).stem or f"input{i}"
    return f"input{i}"


def emotion(
    source: Any,
    granularity: str = "utterance",
    extract_embedding: bool = False,
    model: "str | os.PathLike | Any | None" = None,
    *,
    frame_hop: float = 0.5,
    frame_window: float = 2.0,
) -> list[dict[str, Any]]:
    """Emotion of ``source``: a path, bytes, file object, ``(array, rate)``, a list of
    those, or a ``wav.scp`` path. ``model`` is a model directory (``paravox train emotion``
    output) or ``None`` for the shipped nine-label model.

    Raises :class:`paravox.audio.AudioError` for input that is not usable audio (also for
    an input with no samples) and :class:`paravox.speech_emotion.model.ModelError` for a bad model
    directory.
    """
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity {granularity!r}; use one of {', '.join(GRANULARITIES)}")
    from paravox.audio import AudioError, load_audio
    from paravox.speech_emotion.recognizer import EmotionRecognizer

    rec = EmotionRecognizer(model)
    out = []
    for key, src in _inputs(source):
        audio = load_audio(src)
        if len(audio.samples) == 0:
            raise AudioError(audio.source, "empty", "it decodes to 0 samples")
        if granularity == "utterance":
            scored = rec.utterance(audio.samples)
        elif granularity == "segment":
            scored = rec.segments(audio.samples)
        else:
            scored = rec.frames(audio.samples, hop=frame_hop, window=frame_window)
        out.append(_record(key, rec.labels, scored, granularity, extract_embedding))
    return out


def _record(key: str, labels: Sequence[str], scored, granularity: str, extract_embedding: bool) -> dict[str, Any]:
    probs = np.asarray(scored.probs, dtype=np.float64)
    rec: dict[str, Any] = {"key": key, "labels": list(labels)}
    if granularity == "utterance":
        rec["scores"] = [float(p) for p in probs[0]]
        rec["feats"] = scored.feats[0] if extract_embedding else None
    else:
        rec["scores"] = [[float(p) for p in row] for row in probs]
        rec["feats"] = scored.feats if extract_embedding else None
        rec["segments"] = [{"start": round(s, 3), "end": round(e, 3)} for s, e in scored.spans]
    return rec
