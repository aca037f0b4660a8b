"""Semi-supervised training of the emotion head: self-training on unlabelled feature rows.

Needs the ``train`` extra (scikit-learn); never imported by inference.

:func:`self_train` fits the head of :mod:`paravox.training.speech_emotion` on labelled rows,
labels the unlabelled rows it is most confident about (the same number per predicted class,
so that no emotion floods the training set), refits on both and, with ``rounds`` > 1, repeats,
re-labelling every unlabelled row each round from the latest head. It returns
``(mean, scale, layers)`` in the layout of :func:`~paravox.training.speech_emotion.fit_head`.

What was measured (2026-12-04, ``benchmarks/experiments/emotion_semisupervised.py``, figures and protocol in
``docs/emotion-semisupervised.md``): EmoBox folds with 10/25/50% of each training part
labelled, the rest given unlabelled, three label-subset seeds, knobs (these defaults: one
round, share 1, weight 0.5) chosen on EmoDB. On the speaker-independent corpora it does not
help: UA change CASIA -1.2/-1.2/+0.0, RAVDESS -0.7/-0.0/+0.3 points (spread 0.3-2.0); only
EmoDB, the tuning corpus, whose test speakers are also in the training part, gains
(+3.1/+3.0/+1.8). So ``paravox train emotion`` has no ``--unlabelled`` option; this module
is kept to reproduce the measurement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from paravox.speech_emotion.model import softmax
from paravox.training.speech_emotion import HeadOptions, _logits, fit_head


@dataclass
class SelfTrainOptions:
    """Knobs of :func:`self_train` (saved with a model trained this way).

    ``rounds``: fit / pseudo-label / refit cycles. ``share``: the fraction of the unlabelled
    rows pseudo-labelled by the last round (round ``r`` of ``R`` takes ``share * r / R``,
    split equally between the classes). ``threshold``: a row is never taken below this
    top-class probability. ``weight``: the sample weight of a pseudo-labelled row relative
    to a labelled one.
    """

    rounds: int = 1
    share: float = 1.0
    threshold: float = 0.0
    weight: float = 0.5

    def __post_init__(self) -> None:
        if not isinstance(self.rounds, (int, np.integer)) or self.rounds < 1:
            raise ValueError(f"rounds must be a positive integer, got {self.rounds!r}")
        if not 0.0 < self.share <= 1.0:
            raise ValueError(f"share must be in (0, 1], got {self.share!r}")
        if not 0.0 <= self.threshold < 1.0:
            raise ValueError(f"threshold must be in [0, 1), got {self.threshold!r}")
        if not self.weight > 0.0:
            raise ValueError(f"weight must be positive, got {self.weight!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"rounds": int(self.rounds), "share": self.share, "threshold": self.threshold, "weight": self.weight}


def select_pseudo_labels(probs: np.ndarray, per_class: int, threshold: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Rows to pseudo-label and their labels: for each class, the ``per_class`` rows predicted
    as that class with the highest probability, at least ``threshold``. Returns
    ``(rows, labels)``, rows in increasing order."""
    probs = np.asarray(probs)
    if probs.ndim != 2:
        raise ValueError(f"probs must be a (rows, classes) matrix, got shape {probs.shape}")
    pred = probs.argmax(axis=1)
    conf = probs[np.arange(len(probs)), pred]
    rows = []
    for c in range(probs.shape[1]):
        cand = np.flatnonzero((pred == c) & (conf >= threshold))
        cand = cand[np.argsort(-conf[cand], kind="stable")][: max(0, int(per_class))]
        rows.append(cand)
    sel = np.sort(np.concatenate(rows)) if rows else np.zeros(0, dtype=int)
    return sel.astype(int), pred[sel]


def _check(X_lab: np.ndarray, y_lab: np.ndarray, X_unlab: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X_lab, y_lab, X_unlab = np.asarray(X_lab), np.asarray(y_lab), np.asarray(X_unlab)
    if X_lab.ndim != 2 or X_unlab.ndim != 2:
        raise ValueError(f"X_lab and X_unlab must be (rows, features) matrices, got shapes {X_lab.shape} and {X_unlab.shape}")
    if X_unlab.shape[1] != X_lab.shape[1]:
        raise ValueError(f"X_unlab has {X_unlab.shape[1]} features per row, X_lab has {X_lab.shape[1]}; "
                         "extract both with the same FeatureConfig")
    if y_lab.ndim != 1 or len(y_lab) != len(X_lab):
        raise ValueError(f"y_lab must hold one class index per row of X_lab ({len(X_lab)}), got shape {y_lab.shape}")
    if not np.issubdtype(y_lab.dtype, np.integer):
        raise ValueError(f"y_lab must hold integer class indices 0..{n_classes - 1}, got dtype {y_lab.dtype}")
    if len(y_lab) and (y_lab.min() < 0 or y_lab.max() >= n_classes):
        raise ValueError(f"y_lab holds class indices outside 0..{n_classes - 1}")
    if len(np.unique(y_lab)) < 2:
        raise ValueError("self-training needs labelled rows of at least two classes")
    if not (np.isfinite(X_lab).all() and np.isfinite(X_unlab).all()):
        raise ValueError("X_lab and X_unlab must be finite (no NaN or inf)")
    return X_lab, y_lab.astype(int), X_unlab


def self_train(
    X_lab: np.ndarray,
    y_lab: np.ndarray,
    X_unlab: np.ndarray,
    n_classes: int,
    head_options: HeadOptions,
    options: SelfTrainOptions | None = None,
) -> tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """Fit the head on labelled rows plus confidently pseudo-labelled unlabelled rows.

    ``y_lab`` holds class indices ``0..n_classes-1``; ``head_options`` are the head's
    (choose ``C`` on the labelled rows only, e.g. with
    :func:`~paravox.training.speech_emotion.select_head`). Returns ``(mean, scale, layers)``
    as :func:`~paravox.training.speech_emotion.fit_head` does; with no unlabelled rows it
    is exactly ``fit_head(X_lab, y_lab, ...)``. Deterministic.
    """
    options = options or SelfTrainOptions()
    X_lab, y_lab, X_unlab = _check(X_lab, y_lab, X_unlab, n_classes)
    head = fit_head(X_lab, y_lab, n_classes, head_options)
    if len(X_unlab) == 0:
        return head
    present = len(np.unique(y_lab))
    for r in range(1, options.rounds + 1):
        probs = softmax(_logits(X_unlab, *head))
        per_class = int(round(options.share * r / options.rounds * len(X_unlab) / present))
        rows, labels = select_pseudo_labels(probs, per_class, options.threshold)
        if len(rows) == 0:
            break
        X = np.vstack([X_lab, X_unlab[rows]])
        y = np.concatenate([y_lab, labels])
        w = np.concatenate([np.ones(len(y_lab)), np.full(len(rows), options.weight)])
        head = fit_head(X, y, n_classes, head_options, sample_weight=w)
    return head
