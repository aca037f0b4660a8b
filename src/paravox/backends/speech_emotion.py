"""The ``paravox-emotion`` backend: emotion for ``paravox analyze`` (``--emotion paravox-emotion``).

Scores every ASR segment on its own (the framing the model was trained on) and the whole
input as the duration-weighted mean of its segments. With no segments (no speech found:
silence, music, a vocalization on its own) there is no emotion to report, so the window
gets none rather than a label read off whatever sound it holds. ``paravox emotion`` (the
emotion2vec-style API) still scores a whole input when asked to.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from paravox.backends import registry
from paravox.result import EmotionScore, Segment


def _score(labels: Sequence[str], probs: np.ndarray, start: float, end: float) -> EmotionScore:
    i = int(np.argmax(probs))
    return EmotionScore(labels[i], float(probs[i]), {l: float(p) for l, p in zip(labels, probs)}, start, end)


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
            raise ValueError(f"paravox-emotion needs 16 kHz samples, got {sample_rate} Hz")
        samples = np.asarray(samples, dtype=np.float32)
        duration = len(samples) / sample_rate
        if len(samples) == 0:
            return None, [None for _ in segments]
        labels = self.recognizer.labels
        spans = [(max(0.0, s.start), min(duration, s.end)) for s in segments]
        if not spans:
            return None, []
        scored = self.recognizer.spans(samples, spans)
        per = [_score(labels, p, s.start, s.end) for p, s in zip(scored.probs, segments)]
        w = np.array([max(e - s, 1e-3) for s, e in spans])[:, None]
        overall = (scored.probs * w).sum(0) / w.sum()
        return _score(labels, overall, 0.0, duration), per
