"""The ``paravox-emotion`` backend: emotion for ``paravox analyze`` (``--emotion paravox-emotion``).

Scores every ASR segment on its own (the framing the model was trained on; an input of at
most 5 s with one segment is one clip, and its segment gets the input's score), and the whole
input with :meth:`~paravox.speech_emotion.recognizer.EmotionRecognizer.file_emotion`, the
file-level emotion ``paravox emotion`` gives too. With no speech (silence, music, a
vocalization on its own) there is no file-level emotion, rather than a label read off
whatever sound the input holds.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from paravox.backends import registry
from paravox.result import EmotionScore, Segment


@registry.register("emotion", "paravox-emotion", description="nine-label speech emotion (Whisper-base states + prosody, NumPy head)")
class ParavoxEmotion:
    """Emotion backend; ``model`` is a model directory (default: the shipped model)."""

    name = "paravox-emotion"

    def __init__(self, model: Any = None, encoder: Any = None):
        from paravox.speech_emotion.recognizer import EmotionRecognizer

        self.recognizer = EmotionRecognizer(model, encoder=encoder)

    def score(
        self, samples: np.ndarray, sample_rate: int, segments: Sequence[Segment]
    ) -> tuple[EmotionScore | None, list[EmotionScore | None]]:
        if sample_rate != 16000:
            raise ValueError(f"{self.name} needs 16 kHz samples, got {sample_rate} Hz")
        samples = np.asarray(samples, dtype=np.float32)
        duration = len(samples) / sample_rate
        if len(samples) == 0:
            return None, [None for _ in segments]
        rec = self.recognizer
        found = rec.file_emotion(samples)
        if found is not None and len(segments) == 1 and duration <= rec.window_seconds:
            # A short input is scored as one clip (the framing the model was trained on); its
            # one segment is that speech, so it gets the same score rather than a second pass
            # of the encoder over nearly the same samples (a corpus of short clips: issue 23).
            whole, speech = found
            s = segments[0]
            return rec.score(whole, 0, 0.0, duration, speech), [rec.score(whole, 0, s.start, s.end)]
        spans = [(max(0.0, s.start), min(duration, s.end)) for s in segments]
        per: list[EmotionScore | None] = []
        if spans:
            scored = rec.spans(samples, spans)
            per = [rec.score(scored, i, s.start, s.end) for i, s in enumerate(segments)]
        if found is None:
            return None, per
        whole, speech = found
        return rec.score(whole, 0, 0.0, duration, speech), per


@registry.register("emotion", "paravox-emotion-tiny",
                   description="the edge model: nine labels + valence/arousal/dominance from log-mel, under 100K parameters")
class ParavoxEmotionTiny(ParavoxEmotion):
    """The tiny edge model (``paravox emotion --model tiny``) as an analyze backend."""

    name = "paravox-emotion-tiny"

    def __init__(self, model: Any = "tiny", encoder: Any = None):
        super().__init__(model, encoder=encoder)
