"""emotion2vec+ (base or large) through FunASR, as paravox's emotion models read it.

:class:`Emotion2Vec` loads a model folder with FunASR (``pip install 'paravox[funasr]'``) and
answers per clip with emotion2vec's nine labels under paravox's names, their probabilities and
the utterance embedding. ``paravox emotion --model emotion2vec-plus-base`` runs it inside
:class:`~paravox.speech_emotion.recognizer.EmotionRecognizer`, and the ``--emotion`` backend of
the same name (:class:`~paravox.backends.funasr_models.Emotion2VecEmotion`) is this model with
the analyser's interface, so both read the file-level emotion one way. The files are found in
paravox's cache through the catalogue (:mod:`paravox.model_hub`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from paravox.funasr_runtime import FunASRModel

#: samples in the first frame of emotion2vec's convolutional front end
FIRST_FRAME = 400


def label_name(label: str) -> str:
    """paravox's name for one of emotion2vec's labels: ``生气/angry`` -> ``angry``,
    ``<unk>`` -> ``unknown`` (the shipped model's names, in emotion2vec's order)."""
    name = str(label).split("/")[-1].strip().lower()
    return "unknown" if name in ("<unk>", "unk") else name


class Emotion2Vec(FunASRModel):
    """An emotion2vec+ model folder loaded with FunASR's ``AutoModel``."""

    @classmethod
    def from_name(cls, name: str, **options: Any) -> Any:
        """The catalogue's model ``name`` (``emotion2vec-plus-base``) from paravox's cache: one
        line naming the model and the ``paravox models --download`` command when it is absent
        (:func:`paravox.model_hub.resolve`)."""
        from paravox.model_hub import get, resolve

        entry = get(name)
        return cls.from_catalogue(entry, resolve(entry), **options)

    def utterance(self, audio: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
        """emotion2vec's utterance answer for one clip of 16 kHz audio: its labels (paravox's
        names), their probabilities and its utterance embedding (the mean of its frame
        features, ``feats``). A clip shorter than its front end's one frame (400 samples) is
        padded with silence."""
        audio = np.ascontiguousarray(audio, dtype=np.float32)
        audio = np.pad(audio, (0, max(0, FIRST_FRAME - len(audio))))
        out = self.model.generate(audio, granularity="utterance", extract_embedding=True)
        out = out[0] if out else {}
        return ([label_name(label) for label in out.get("labels", [])],
                np.asarray(out.get("scores", []), dtype=np.float32),
                np.asarray(out.get("feats", np.zeros(0)), dtype=np.float32).reshape(-1))
