"""Emotion over time that a person can read: which frames hold speech, and a label path that
changes when the voice does.

Frame scores (a 2-s window every 0.5 s) are noisy: taken one by one, their top label changes
about once per 2 s of ordinary speech (1.09 on real recordings), often back and forth. :func:`viterbi` finds the label sequence that best
explains the frames' calibrated probabilities when each hop has a small probability
``switch`` of changing label (a "sticky" hidden Markov model). Frames outside speech get no
label at all (:func:`speech_frames`): silence, noise or music carry no emotion, and a run of
speech after a pause starts afresh.

``SWITCH`` was chosen on concatenated CASIA and EmoDB clips and is reported on RAVDESS, TAVA
and real recordings by ``benchmarks/emotion_over_time.py`` (see ``docs/emotion.md``).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

#: Probability that the label changes from one hop (0.5 s) to the next.
SWITCH = 0.4
#: A frame counts as speech when at least this share of its hop cell is inside a VAD stretch.
SPEECH_SHARE = 0.5

NO_SPEECH = -1


def speech_frames(centres: Sequence[float], hop: float, speech: Sequence[tuple[float, float]],
                  share: float = SPEECH_SHARE) -> np.ndarray:
    """``(N,)`` bool: whether the hop cell ``[c - hop/2, c + hop/2)`` of each frame centre is
    at least ``share`` inside the speech stretches ``speech`` (seconds)."""
    out = np.zeros(len(centres), dtype=bool)
    for i, c in enumerate(centres):
        a, b = c - hop / 2, c + hop / 2
        inside = sum(max(0.0, min(b, e) - max(a, s)) for s, e in speech)
        out[i] = inside >= share * hop
    return out


def viterbi(probs: np.ndarray, switch: float = SWITCH) -> np.ndarray:
    """The most likely label index per row of ``probs`` ``(N, L)`` when the label stays from one
    row to the next with probability ``1 - switch`` (and moves to each other label with
    ``switch / (L - 1)``). ``switch`` 0 < s < 1; larger values follow the frames more closely."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or not len(p):
        return np.zeros(0, dtype=int)
    if not 0.0 < switch < 1.0:
        raise ValueError(f"switch {switch} must be between 0 and 1")
    n, L = p.shape
    if L == 1:
        return np.zeros(n, dtype=int)
    emit = np.log(np.maximum(p, 1e-12))
    stay, move = np.log1p(-switch), np.log(switch / (L - 1))
    trans = np.full((L, L), move)
    np.fill_diagonal(trans, stay)
    score = emit[0].copy()
    back = np.zeros((n, L), dtype=int)
    for t in range(1, n):
        cand = score[:, None] + trans  # from i (rows) to j (columns)
        back[t] = cand.argmax(axis=0)
        score = cand[back[t], np.arange(L)] + emit[t]
    path = np.zeros(n, dtype=int)
    path[-1] = int(score.argmax())
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def label_path(probs: np.ndarray, speech: np.ndarray, switch: float | None = SWITCH) -> np.ndarray:
    """Label index per frame, :data:`NO_SPEECH` outside speech; each run of speech frames is
    smoothed on its own (``switch`` None: the frame's own top label)."""
    probs = np.asarray(probs)
    path = np.full(len(probs), NO_SPEECH, dtype=int)
    i = 0
    while i < len(probs):
        if not speech[i]:
            i += 1
            continue
        j = i
        while j < len(probs) and speech[j]:
            j += 1
        path[i:j] = probs[i:j].argmax(axis=1) if switch is None else viterbi(probs[i:j], switch)
        i = j
    return path


def changes_per_2s(path: np.ndarray, hop: float) -> tuple[int, float]:
    """``(changes, seconds)``: label changes between consecutive speech frames, and the seconds
    of speech frames they were counted over."""
    path = np.asarray(path)
    both = (path[1:] != NO_SPEECH) & (path[:-1] != NO_SPEECH)
    changes = int(np.sum(both & (path[1:] != path[:-1])))
    return changes, float(np.sum(path != NO_SPEECH) * hop)
