"""``paravox.emotion``: the emotion of each input, as an :class:`~paravox.result.EmotionResult`.

>>> import paravox
>>> res = paravox.emotion("a.wav", granularity="segment")                # doctest: +SKIP
>>> res.emotion.label, [(s.start, s.end, s.label) for s in res.spans]    # doctest: +SKIP
('angry', [(0.3, 2.1, 'angry'), (2.6, 4.0, 'neutral')])

``res.emotion`` is the file-level emotion, the same one ``paravox analyze`` and the service
report (None when the input holds no speech). ``res.spans`` is the emotion over time:

``utterance``
    none: the file-level emotion is the answer;
``segment``
    one per speech segment (Silero VAD);
``frame``
    one every ``frame_hop`` seconds (a ``frame_window`` span centred there).

``format="emotion2vec"`` gives emotion2vec's shape instead, one dict per input as its
``model.generate`` does: ``{"key", "labels": [L], "scores": [L floats] (utterance) or
[[L floats], ...], "feats": array | None, "segments": [{"start", "end"}, ...]}``; there an
input with no speech is still scored as a whole (emotion2vec answers for any input).
``feats``/``embedding`` (with ``extract_embedding=True``) is the pooled feature vector the
classifier reads: mean+std of the chosen Whisper-encoder blocks, then prosody statistics; with
``model="emotion2vec-plus-base"`` (or ``-large``) it is emotion2vec's utterance embedding, and
the scores are emotion2vec+'s (no dimensions).
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from paravox.errors import OptionError
from paravox.result import EmotionResult

__all__ = ["emotion", "emotion_result", "GRANULARITIES", "FORMATS"]

GRANULARITIES = ("utterance", "segment", "frame")
FORMATS = ("result", "emotion2vec")


def check_granularity(granularity: str) -> str:
    if granularity not in GRANULARITIES:
        raise OptionError(f"granularity {granularity!r}; use one of {', '.join(GRANULARITIES)}")
    return granularity


def _inputs(source: Any, name: str | None) -> tuple[list[tuple[str, Any]], bool]:
    """``([(id, source)], many)``: one input, a list of inputs, or a Kaldi ``wav.scp`` path."""
    from paravox.audio import source_name

    if isinstance(source, (str, os.PathLike)) and str(source).endswith(".scp"):
        from paravox.inputs import from_scp

        return [(i.key, i.source) for i in from_scp(str(source))], True
    if isinstance(source, list):
        return [(source_name(s), s) for s in source], True
    return [(name or source_name(source), source)], False


def emotion(
    source: Any,
    granularity: str = "utterance",
    extract_embedding: bool = False,
    model: "str | os.PathLike | Any | None" = None,
    *,
    frame_hop: float = 0.5,
    frame_window: float = 2.0,
    format: str = "result",
    name: str | None = None,
    speaker_norm: bool = False,
    speakers: Sequence[str] | None = None,
) -> "EmotionResult | list[EmotionResult] | list[dict[str, Any]]":
    """Emotion of ``source``: a path, bytes, file object, ``(array, rate)``, a list of
    those, or a ``wav.scp`` path. One input gives an :class:`EmotionResult`, a list or a
    ``wav.scp`` a list of them; ``format="emotion2vec"`` always gives a list of dicts.
    ``model`` is a model directory (``paravox train emotion`` output), ``"tiny"``,
    ``"emotion2vec-plus-base"`` / ``"emotion2vec-plus-large"`` (FunASR, from paravox's cache) or
    ``None`` for the shipped nine-label model; ``name`` sets the id of a single input.

    ``speaker_norm=True`` (opt-in, transductive; :mod:`paravox.speech_emotion.speaker_norm`):
    the inputs' features are standardised by their own speaker's clips and scored by a head
    trained that way (``model``: None for the shipped one, or a directory trained with
    ``--speaker-norm``). ``speakers`` names each input's speaker (default: all one speaker);
    each speaker needs at least 8 clips; utterance granularity, ``format="result"`` only.
    A speaker whose clips hold too little speech fails as a
    :class:`~paravox.speech_emotion.speaker_norm.SpeakerNormError`.

    Raises :class:`paravox.AudioError` for input that is not usable audio (also for an input
    with no samples), :class:`paravox.errors.ModelError` for a bad model directory,
    :class:`paravox.errors.ModelUnavailableError` for emotion2vec+ not in the cache (or its extra
    not installed) and :class:`paravox.errors.OptionError` for a bad option.
    """
    check_granularity(granularity)
    if format not in FORMATS:
        raise OptionError(f"format {format!r}; use one of {', '.join(FORMATS)}")
    from paravox.speech_emotion.recognizer import EmotionRecognizer

    if speaker_norm:
        return _by_speaker(source, model, speakers, granularity, format, extract_embedding)
    if speakers is not None:
        raise OptionError("speakers= is read only with speaker_norm=True; add it, or drop speakers=")
    rec = EmotionRecognizer(model)
    items, many = _inputs(source, name)
    if format == "emotion2vec":
        return [_emotion2vec(rec, key, src, granularity, extract_embedding, frame_hop, frame_window) for key, src in items]
    results = [
        emotion_result(rec, src, key, granularity=granularity, extract_embedding=extract_embedding,
                       frame_hop=frame_hop, frame_window=frame_window)
        for key, src in items
    ]
    return results if many else results[0]


def _by_speaker(source: Any, model: Any, speakers: Sequence[str] | None, granularity: str, format: str,
                extract_embedding: bool) -> list[EmotionResult]:
    from paravox.speech_emotion.recognizer import EmotionRecognizer
    from types import SimpleNamespace

    from paravox.speech_emotion.speaker_norm import check_groups, load_norm_model, rescore, speaker_groups

    if granularity != "utterance" or format != "result":
        raise OptionError("speaker_norm=True scores whole files only: granularity='utterance', format='result'")
    items, many = _inputs(source, None)
    if not many:
        raise OptionError("speaker_norm=True reads a speaker's clips together: give a list of inputs or a wav.scp")
    if speakers is not None and len(speakers) != len(items):
        raise OptionError(f"speakers names {len(speakers)} speakers for {len(items)} inputs; give one per input")
    rec = EmotionRecognizer(None)
    head = load_norm_model(model, rec.model.features)
    tags = [SimpleNamespace(key=f"input {i}", index=i,
                            speaker=None if speakers is None or speakers[i] is None else str(speakers[i]))
             for i in range(len(items))]
    groups = {spk: [t.index for t in g] for spk, g in speaker_groups(tags).items()}
    check_groups(groups)
    out: list[Any] = [None] * len(items)
    for spk, rows in groups.items():
        results = [emotion_result(rec, items[i][1], items[i][0], extract_embedding=True) for i in rows]
        rescore(results, spk, head, keep_embeddings=extract_embedding)
        for i, r in zip(rows, results):
            out[i] = r
    return out


def _samples(source: Any, key: str) -> np.ndarray:
    from paravox.audio import AudioError, load_audio

    audio = load_audio(source, name=key)
    if len(audio.samples) == 0:
        raise AudioError(audio.source, "empty", "it decodes to 0 samples")
    return audio.samples


def emotion_result(
    recognizer: Any,
    source: Any,
    id: str,
    *,
    granularity: str = "utterance",
    extract_embedding: bool = False,
    frame_hop: float = 0.5,
    frame_window: float = 2.0,
) -> EmotionResult:
    """One input's :class:`EmotionResult` with an already loaded
    :class:`~paravox.speech_emotion.recognizer.EmotionRecognizer` (what the CLI calls per input)."""
    from paravox.encoder.framing import SAMPLE_RATE
    from paravox.speech_emotion.recognizer import speech_spans

    samples = _samples(source, id)
    duration = len(samples) / SAMPLE_RATE
    labels = list(recognizer.labels)
    # segment granularity: the speech stretches and their scores serve the file-level emotion too
    by_segment = recognizer.segments(samples) if granularity == "segment" else None
    # frame granularity: the speech stretches serve both the file-level emotion and the frames
    stretches = speech_spans(samples) if granularity == "frame" else None
    found = recognizer.file_emotion(samples, segments=by_segment, speech=stretches)
    file_score, embedding = None, None
    if found is not None:
        whole, speech = found
        file_score = recognizer.score(whole, 0, 0.0, duration, speech)
        embedding = whole.feats[0] if extract_embedding else None
    spans, span_feats = [], None
    if granularity != "utterance":
        scored = by_segment if by_segment is not None else recognizer.frames(samples, hop=frame_hop, window=frame_window, speech=stretches)
        spans = [recognizer.score(scored, i, s, e) for i, (s, e) in enumerate(scored.spans)]
        span_feats = scored.feats if extract_embedding else None
    return EmotionResult(id, duration, file_score, granularity, spans, labels, embedding, span_feats)


def _emotion2vec(rec: Any, key: str, source: Any, granularity: str, extract_embedding: bool,
                 frame_hop: float, frame_window: float) -> dict[str, Any]:
    samples = _samples(source, key)
    if granularity == "utterance":
        scored = rec.utterance(samples)
    elif granularity == "segment":
        scored = rec.segments(samples)
    else:
        scored = rec.frames(samples, hop=frame_hop, window=frame_window)
    return _record(key, rec.labels, scored, granularity, extract_embedding)


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
