"""FunASR's models as backends: SenseVoice-Small (``asr``) and emotion2vec+ (``emotion``).

Registered through :mod:`paravox.backends.catalogue` as ``sensevoice-small``,
``emotion2vec-plus-base`` and ``emotion2vec-plus-large``; needs ``pip install 'paravox[funasr]'``.
FunASR is imported when a backend is built, never before. What SenseVoice writes is read by
:func:`paravox.backends.tagged_output.sensevoice_transcript`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from paravox.audio import SAMPLE_RATE
from paravox.backends.audio_llm import stretches
from paravox.backends.tagged_output import TaggedResult, sensevoice_transcript
from paravox.funasr_runtime import FunASRModel
from paravox.options import TranscribeOptions
from paravox.result import Segment
from paravox.speech_emotion.emotion2vec import Emotion2Vec

log = logging.getLogger(__name__)


class SenseVoiceASR(FunASRModel):
    """SenseVoice-Small through FunASR: each stretch of speech (at most 30 s, cut at pauses) is
    one utterance with its language, emotion and event token."""

    tags_inline = True

    def generate(self, audio: np.ndarray, language: str | None = None) -> str:
        """SenseVoice's rich transcription of one stretch of 16 kHz audio, as it writes it:
        ``<|zh|><|HAPPY|><|Laughter|><|withitn|>哈哈今天真好``."""
        out = self.model.generate(input=np.ascontiguousarray(audio, dtype=np.float32), cache={},
                                  language=language or "auto", use_itn=True)
        return out[0]["text"] if out else ""

    def transcribe(self, samples: np.ndarray, *, offset: float = 0.0, options: TranscribeOptions | None = None,
                   progress: Any = None) -> TaggedResult:
        opts = options or TranscribeOptions()
        audio = np.ascontiguousarray(samples, dtype=np.float32)
        segments, events, languages = [], [], []
        for a, b in stretches(audio, opts):
            text = self.generate(audio[a:b], opts.language)
            log.debug("%s %.2f-%.2f: %s", self.name, offset + a / SAMPLE_RATE, offset + b / SAMPLE_RATE, text)
            segs, evs, language = sensevoice_transcript(text, offset + a / SAMPLE_RATE, offset + b / SAMPLE_RATE)
            segments.extend(segs)
            events.extend(evs)
            if language:
                languages.append(language)
            if progress is not None:
                progress(offset + b / SAMPLE_RATE)
        language = opts.language or (max(set(languages), key=languages.count) if languages else None)
        return TaggedResult(segments, language, None, events)


class Emotion2VecEmotion(Emotion2Vec):
    """emotion2vec+ (base or large) as the ``--emotion`` backend of its name: nine labels for the
    whole input and for each speech segment, by the same definitions as ``paravox emotion
    --model emotion2vec-plus-base`` (:class:`~paravox.speech_emotion.emotion2vec.Emotion2Vec`
    is the model both run)."""

    _definitions: Any = None

    def score(self, samples: np.ndarray, sample_rate: int, segments: Sequence[Segment]):
        """``(file-level emotion, one per segment)`` by paravox-emotion's definitions
        (:class:`~paravox.backends.speech_emotion.ParavoxEmotion`: none for the file without
        speech, each segment scored on its own), emotion2vec's :meth:`utterance` per clip."""
        if self._definitions is None:
            from paravox.backends.speech_emotion import ParavoxEmotion

            self._definitions = ParavoxEmotion(self)
            self._definitions.name = self.name
        return self._definitions.score(samples, sample_rate, segments)
