"""Emotion of an utterance, of each speech segment, or at a fixed hop: the inference core.

:class:`EmotionRecognizer` joins the feature extractor (Whisper-encoder states + prosody)
and a NumPy :class:`~paravox.speech_emotion.model.EmotionModel`. The model was trained on 1-5 s
clips, each encoded on its own, so inference keeps that framing:

* ``file_emotion``: the file-level emotion, the one definition every entry point uses
  (``paravox emotion``, ``paravox analyze``, batch, the service). Input with no speech (the
  Silero VAD finds none) has none. Otherwise input up to ``window_seconds`` (5 s) is one
  clip; longer input is scored per speech stretch (cut into pieces of at most 5 s) and the
  probabilities are averaged weighted by duration.
* ``utterance``: the same, except that input with no speech is scored as a whole (all of
  it, in 5-s pieces): emotion2vec's ``utterance`` answers for any input.
* ``segments``: each given span (VAD or ASR segment) is scored the same way.
* ``frames``: the input is encoded once (5-s windows) and the states are pooled over a
  sliding ``frame_window`` (2 s) every ``frame_hop`` (0.5 s).

Memory stays bounded on long input (10 minutes and more): nothing longer than one 5-s
window is encoded at a time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from paravox.encoder.framing import MIN_SAMPLES, SAMPLE_RATE, STATES_PER_SECOND, windows
from paravox.errors import OptionError
from paravox.result import EmotionScore
from paravox.speech_emotion.features import FeatureExtractor
from paravox.speech_emotion.model import load_model


@dataclass
class Scored:
    """Probabilities (``(N, L)``), feature vectors (``(N, D)``), spans (seconds) of N items and,
    with a dimensional head, its scores (``(N, K)``)."""

    probs: np.ndarray
    feats: np.ndarray
    spans: list[tuple[float, float]]
    dims: np.ndarray | None = None
    #: frames only: the smoothed label index per row, ``-1`` where the frame holds no speech
    path: np.ndarray | None = None


def emotion_score(labels: Sequence[str], probs: np.ndarray, start: float | None, end: float | None,
                  speech: float | None = None, *, dimensions: Sequence[str] = (),
                  dims: np.ndarray | None = None) -> EmotionScore:
    """An :class:`EmotionScore` from one row of probabilities over ``labels`` (and one row of
    dimensional scores over ``dimensions``)."""
    i = int(np.argmax(probs))
    d = None if dims is None or not len(dimensions) else {n: float(v) for n, v in zip(dimensions, dims)}
    return EmotionScore(labels[i], float(probs[i]), {l: float(p) for l, p in zip(labels, probs)}, start, end, speech,
                        dimensions=d)


class EmotionRecognizer:
    """Emotion scores for 16-kHz mono float32 samples with one model.

    >>> rec = EmotionRecognizer()                                  # doctest: +SKIP
    >>> rec.utterance(samples).probs[0].round(2)                   # doctest: +SKIP
    """

    def __init__(self, model: Any = None, encoder: Any = None):
        self.head = _head(model, encoder)
        self.model = self.head.model

    @property
    def labels(self) -> tuple[str, ...]:
        return self.head.labels

    @property
    def dimensions(self) -> tuple[str, ...]:
        return self.head.dimensions

    @property
    def embedding_dim(self) -> int:
        """Length of the feature vectors in :class:`Scored` (0: the model has no embeddings)."""
        return self.head.embedding_dim

    def score(self, scored: "Scored", i: int, start: float | None, end: float | None,
              speech: float | None = None) -> EmotionScore:
        """Row ``i`` of ``scored`` as an :class:`EmotionScore`; a frame without speech gets
        none (label None, with the reason), a smoothed frame the label of its path."""
        if scored.path is not None and scored.path[i] < 0:
            return EmotionScore(None, None, {}, start, end, reason="no speech")
        out = emotion_score(self.labels, scored.probs[i], start, end, speech, dimensions=self.dimensions,
                            dims=None if scored.dims is None else scored.dims[i])
        if scored.path is not None:
            k = int(scored.path[i])
            out.label, out.score = self.labels[k], float(scored.probs[i][k])
        return out

    @property
    def window_seconds(self) -> float:
        return self.head.window_seconds

    # ---- pieces ----------------------------------------------------------------------------
    def _span_clips(self, samples: np.ndarray, start: float, end: float) -> list[np.ndarray]:
        """``samples[start:end]`` cut into clips of at most ``window_seconds``."""
        a = max(0, int(round(start * SAMPLE_RATE)))
        b = min(len(samples), int(round(end * SAMPLE_RATE)))
        piece = samples[a:b]
        if len(piece) < MIN_SAMPLES:  # too short to carry emotion: widen it around its centre
            mid = (a + b) // 2
            a, b = max(0, mid - MIN_SAMPLES // 2), min(len(samples), mid + MIN_SAMPLES // 2)
            piece = samples[a:b]
        return windows(piece, self.window_seconds)

    def spans(self, samples: np.ndarray, spans: Sequence[tuple[float, float]]) -> Scored:
        """One score per span (seconds into ``samples``); long spans are cut into 5-s clips
        whose probabilities are averaged, weighted by length."""
        samples = _as_samples(samples)
        probs, feats, dims = [], [], []
        for start, end in spans:
            clips = self._span_clips(samples, start, end)
            w = np.array([len(c) for c in clips], dtype=np.float64)
            p, f, d = self.head.clips(clips)
            probs.append((p * w[:, None]).sum(0) / w.sum())
            feats.append((f * w[:, None]).sum(0) / w.sum())
            if d is not None:
                dims.append((d * w[:, None]).sum(0) / w.sum())
        L, D, K = len(self.labels), self.embedding_dim, len(self.dimensions)
        return Scored(np.array(probs, dtype=np.float32).reshape(len(spans), L),
                      np.array(feats, dtype=np.float32).reshape(len(spans), D),
                      [(float(s), float(e)) for s, e in spans],
                      np.array(dims, dtype=np.float32).reshape(len(spans), K) if K else None)

    def file_emotion(self, samples: np.ndarray, *, segments: Scored | None = None,
                     speech: Sequence[tuple[float, float]] | None = None) -> tuple[Scored, float] | None:
        """The file-level emotion and the seconds of speech it was read from; None when the
        input holds no speech. See the module docstring: this is the one definition.

        ``segments``: :meth:`segments` of the same samples, when the caller has it; its
        speech stretches and their scores are then used rather than found and scored again.
        ``speech``: :func:`speech_spans` of the same samples, when the caller has found them.
        """
        samples = _as_samples(samples)
        if segments is not None:
            speech = list(segments.spans)
        elif speech is None:
            speech = speech_spans(samples)
        speech = list(speech)
        if not speech:
            return None
        return self._whole(samples, speech, segments), float(sum(e - s for s, e in speech))

    def utterance(self, samples: np.ndarray) -> Scored:
        """One score for the whole input: :meth:`file_emotion`, or with no speech found, the
        whole input scored as it is."""
        samples = _as_samples(samples)
        long = len(samples) / SAMPLE_RATE > self.window_seconds  # short input is one clip anyway
        return self._whole(samples, speech_spans(samples) if long else [])

    def _whole(self, samples: np.ndarray, speech: list[tuple[float, float]], scored_speech: Scored | None = None) -> Scored:
        duration = len(samples) / SAMPLE_RATE
        if duration <= self.window_seconds:
            parts = [(0.0, duration)]
        else:
            parts = speech or [(0.0, duration)]
        reuse = scored_speech is not None and duration > self.window_seconds and speech
        scored = scored_speech if reuse else self.spans(samples, parts)
        w = np.array([max(e - s, 1e-3) for s, e in parts])[:, None]
        probs = (scored.probs * w).sum(0, keepdims=True) / w.sum()
        feats = (scored.feats * w).sum(0, keepdims=True) / w.sum()
        dims = None if scored.dims is None else ((scored.dims * w).sum(0, keepdims=True) / w.sum()).astype(np.float32)
        return Scored(probs.astype(np.float32), feats.astype(np.float32), [(0.0, duration)], dims)

    def segments(self, samples: np.ndarray) -> Scored:
        """One score per speech segment found by the Silero VAD (emotion over time)."""
        samples = _as_samples(samples)
        return self.spans(samples, speech_spans(samples))

    def frames(self, samples: np.ndarray, *, hop: float = 0.5, window: float = 2.0,
               smooth: bool = True, speech: Sequence[tuple[float, float]] | None = None) -> Scored:
        """Scores of a ``window``-second span every ``hop`` seconds (spans centred on
        ``k * hop``, clipped to the input), from one encoder pass, with the label path
        (:mod:`paravox.speech_emotion.smoothing`): -1 where the frame holds no speech, else the
        smoothed label (``smooth=False``: the frame's own top label). ``speech``: the input's
        :func:`speech_spans`, when the caller has already found them."""
        from paravox.speech_emotion.smoothing import SWITCH, label_path, speech_frames

        samples = _as_samples(samples)
        if hop <= 0 or window <= 0:
            raise ValueError("hop and window must be positive")
        duration = len(samples) / SAMPLE_RATE
        centres = np.arange(0.0, max(duration, 1e-9), hop) if duration > 0 else np.zeros(1)
        spans = [(float(max(0.0, c - window / 2)), float(min(duration, c + window / 2))) for c in centres]
        probs, feats, dims = self.head.frames(samples, spans)
        in_speech = speech_frames(centres, hop, speech_spans(samples) if speech is None else speech)
        path = label_path(probs, in_speech, min(0.8, SWITCH * hop / 0.5) if smooth else None)
        return Scored(probs, feats, spans, dims, path)


class _WhisperHead:
    """The shipped kind of model: Whisper-encoder states + prosody, a NumPy head."""

    def __init__(self, model: Any, encoder: Any = None):
        self.model = load_model(model)
        if self.model.speaker_norm:
            raise OptionError(f"{self.model.source}: this head reads features standardised over a speaker's "
                              "clips, not one clip's own; use it through 'paravox emotion --speaker-norm --model DIR'")
        self.extractor = FeatureExtractor(self.model.features, encoder=encoder)
        self.labels, self.dimensions = self.model.labels, self.model.dimensions
        self.window_seconds = self.model.features.window_seconds
        self.embedding_dim = self.model.features.dim

    def _scores(self, feats: np.ndarray):
        probs = np.atleast_2d(self.model.predict_proba(feats))
        return probs, feats, self.model.predict_dimensions(feats, probs)

    def clips(self, clips: Sequence[np.ndarray]):
        """``(probs, feats, dims)`` of clips of at most ``window_seconds``, each encoded alone."""
        return self._scores(np.stack([self.extractor(c) for c in clips]))

    def frames(self, samples: np.ndarray, spans: Sequence[tuple[float, float]]):
        """``(probs, feats, dims)`` of spans of ``samples``, pooled from one encoder pass."""
        states = self.extractor.frame_states(samples)
        n_states = len(next(iter(states.values())))
        feats = []
        for s, e in spans:
            t0 = min(int(s * STATES_PER_SECOND), n_states - 1)
            t1 = max(t0 + 2, int(np.ceil(e * STATES_PER_SECOND)))
            feats.append(self.extractor.pool(states, samples, t0, min(t1, n_states)))
        return self._scores(np.stack(feats))


class _TinyHead:
    """The tiny edge model (:mod:`paravox.speech_emotion.tiny`): log-mel, a small ONNX network,
    no Whisper and no embeddings (feature vectors have length 0)."""

    embedding_dim = 0

    def __init__(self, model: Any):
        from paravox.speech_emotion.tiny import TinyEmotionModel

        builtin = isinstance(model, str) and model == "tiny" and not os.path.isdir(model)
        self.model = model if isinstance(model, TinyEmotionModel) else TinyEmotionModel.load(None if builtin else model)
        self.labels, self.dimensions = self.model.labels, self.model.dimensions
        self.window_seconds = self.model.window_seconds

    def clips(self, clips: Sequence[np.ndarray]):
        probs, dims = self.model.clip_scores(clips)
        return probs, np.zeros((len(probs), 0), dtype=np.float32), dims

    def frames(self, samples: np.ndarray, spans: Sequence[tuple[float, float]]):
        return _frames_by_clips(self, samples, spans)


class _Emotion2VecHead:
    """emotion2vec+ (``emotion2vec-plus-base`` / ``-large``; :class:`~paravox.speech_emotion.
    emotion2vec.Emotion2Vec`, the model the ``--emotion`` backend of that name runs too: the same
    catalogue entry, cache and error lines): its nine labels, no dimensions, and as feature
    vectors its utterance embedding (``feats``, the mean of its frame features) of each clip.

    emotion2vec reads utterances of any length, so a clip is up to 10 s (the longest speech
    stretch :func:`speech_spans` gives): each stretch is one utterance to it."""

    dimensions: tuple[str, ...] = ()
    window_seconds = 10.0

    def __init__(self, model: Any):
        if isinstance(model, str):
            from paravox.speech_emotion.emotion2vec import Emotion2Vec

            model = Emotion2Vec.from_name(model)
        self.model = model
        labels, probs, feats = model.utterance(np.zeros(SAMPLE_RATE // 2, dtype=np.float32))
        if not labels or len(probs) != len(labels):
            from paravox.errors import ModelError

            raise ModelError(f"{model.name}: the model gives no emotion scores (a checkpoint without its "
                             "classifier); use emotion2vec-plus-base or emotion2vec-plus-large")
        self.labels, self.embedding_dim = tuple(labels), len(feats)

    def clips(self, clips: Sequence[np.ndarray]):
        """``(probs, feats, None)``: emotion2vec's utterance answer for each clip."""
        out = [self.model.utterance(c) for c in clips]
        return np.stack([p for _, p, _ in out]), np.stack([f for _, _, f in out]), None

    def frames(self, samples: np.ndarray, spans: Sequence[tuple[float, float]]):
        return _frames_by_clips(self, samples, spans)


def _frames_by_clips(head: Any, samples: np.ndarray, spans: Sequence[tuple[float, float]]):
    """``(probs, feats, dims)`` of spans of ``samples`` for a head without one encoder pass
    to pool from: each span scored as :meth:`EmotionRecognizer.spans` scores one, cut into
    clips of at most ``window_seconds`` (a ``--window`` longer than that), averaged by length."""
    probs, feats, dims = [], [], []
    for s, e in spans:
        a = int(s * SAMPLE_RATE)
        clips = windows(samples[a:max(a + 1, int(e * SAMPLE_RATE))], head.window_seconds)
        w = np.array([len(c) for c in clips], dtype=np.float64)[:, None]
        p, f, d = head.clips(clips)
        probs.append((p * w).sum(0) / w.sum())
        feats.append((f * w).sum(0) / w.sum())
        if d is not None:
            dims.append((d * w).sum(0) / w.sum())
    return (np.array(probs, dtype=np.float32),
            np.array(feats, dtype=np.float32).reshape(len(spans), head.embedding_dim),
            np.array(dims, dtype=np.float32) if dims else None)


def is_tiny(model: Any) -> bool:
    """Whether ``model`` names the tiny edge model: ``"tiny"`` (unless a directory of that name
    exists: then that directory is the model), a loaded one, or a directory whose
    ``config.json`` says ``"format": "paravox-emotion-tiny"`` (what
    ``benchmarks/emotion_tiny.py --train`` writes)."""
    import json
    from pathlib import Path

    if type(model).__name__ == "TinyEmotionModel":
        return True
    if not isinstance(model, (str, os.PathLike)):
        return False
    d = Path(model)
    if not d.is_dir():
        return str(model) == "tiny"
    try:
        return json.loads((d / "config.json").read_text(encoding="utf-8")).get("format") == "paravox-emotion-tiny"
    except (OSError, ValueError, AttributeError):
        return False


def is_emotion2vec(model: Any) -> bool:
    """Whether ``model`` names emotion2vec+ (``emotion2vec-plus-base`` or ``-large``, unless a
    directory of that name exists) or is its ``--emotion`` backend."""
    from paravox.speech_emotion.emotion2vec import Emotion2Vec

    if isinstance(model, Emotion2Vec):
        return True
    if not isinstance(model, str) or os.path.isdir(model):
        return False
    from paravox.model_hub import CATALOGUE

    entry = CATALOGUE.get(model)
    return entry is not None and (entry.implementation or "").endswith(":Emotion2VecEmotion")


def _head(model: Any, encoder: Any):
    if is_emotion2vec(model):
        return _Emotion2VecHead(model)
    return _TinyHead(model) if is_tiny(model) else _WhisperHead(model, encoder)


def _as_samples(samples: np.ndarray) -> np.ndarray:
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"samples must be 1-D mono at 16 kHz, got shape {x.shape} (use paravox.audio.load_audio)")
    if len(x) == 0:
        raise ValueError("no samples: an empty input has no emotion")
    return x


def speech_spans(samples: np.ndarray, *, threshold: float = 0.5, min_silence_ms: int = 500,
                 max_speech_s: float = 10.0, pad_ms: int = 200) -> list[tuple[float, float]]:
    """Speech stretches (seconds) from faster-whisper's Silero VAD, at most ``max_speech_s`` long."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    opts = VadOptions(threshold=threshold, min_silence_duration_ms=min_silence_ms,
                      max_speech_duration_s=max_speech_s, speech_pad_ms=pad_ms)
    stamps = get_speech_timestamps(np.asarray(samples, dtype=np.float32), opts, sampling_rate=SAMPLE_RATE)
    return [(t["start"] / SAMPLE_RATE, t["end"] / SAMPLE_RATE) for t in stamps]
