"""Training the dimensional head: valence, arousal, dominance (or any numeric targets).

The head is linear, on the same standardised features the classifier reads, plus (``stack``)
the classifier's own log-probabilities, which carry what three categorical corpora taught it
about valence. It is a ridge regression (L2 strength ``alpha``), and its predictions are then
stretched (``rescale``) so that their spread on held-out speakers matches the targets':
ridge shrinks predictions towards the mean, and the concordance correlation coefficient (CCC)
the field scores with punishes that shrinkage as if it were error.

Every step is linear, so the result folds into three arrays of
:class:`~paravox.speech_emotion.model.EmotionModel` (``D_W``, ``D_P``, ``D_b``). How the
options were chosen, and what was tried and lost, is in ``docs/emotion.md`` (figures from
``benchmarks/emotion_dimensions.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

#: The dimensions the shipped head scores, in this order.
DIMENSIONS = ("valence", "arousal", "dominance")


@dataclass(frozen=True)
class DimensionOptions:
    """Hyper-parameters of the dimensional head (saved in the model's config)."""

    alpha: float = 300.0
    stack: bool = True
    rescale: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "stack": self.stack, "rescale": self.rescale}


#: What nested leave-one-speaker-out chooses from (benchmarks/emotion_dimensions.py).
GRID = tuple(DimensionOptions(a, s, r) for a in (100.0, 300.0, 1000.0, 3000.0) for s in (False, True) for r in (False, True))


def inputs(Z: np.ndarray, logp: np.ndarray | None, stack: bool) -> np.ndarray:
    """The regression's inputs: standardised features, then (``stack``) log-probabilities."""
    if not stack:
        return Z
    if logp is None:
        raise ValueError("stack=True needs the classifier's log-probabilities")
    return np.hstack([Z, logp])


def _ridge(A: np.ndarray, Y: np.ndarray, alpha: float, n_feat: int) -> tuple[np.ndarray, np.ndarray]:
    """Ridge on columns of ``A``; the first ``n_feat`` columns are standardised features, the
    rest (log-probabilities) are standardised here and the weights mapped back."""
    extra_mean = A[:, n_feat:].mean(0)
    extra_sd = A[:, n_feat:].std(0)
    extra_sd[extra_sd < 1e-6] = 1.0
    # Features were standardised on the classifier's corpora, not these clips: centre them here.
    centre = np.concatenate([A[:, :n_feat].mean(0), extra_mean])
    scale = np.concatenate([np.ones(n_feat), extra_sd])
    S = (A - centre) / scale
    ym = Y.mean(0)
    n, d = S.shape
    if n < d:  # the dual form is cheaper with few clips and thousands of features
        coef = S.T @ np.linalg.solve(S @ S.T + alpha * np.eye(n), Y - ym)
    else:
        coef = np.linalg.solve(S.T @ S + alpha * np.eye(d), S.T @ (Y - ym))
    W = coef / scale[:, None]
    b = ym - centre @ W
    return W, b


def fit(Z: np.ndarray, logp: np.ndarray | None, Y: np.ndarray, groups: Sequence[str] | None,
        opts: DimensionOptions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit the head on standardised features ``Z`` ``(N, D)``, log-probabilities ``logp``
    ``(N, L)`` (or None without ``stack``) and targets ``Y`` ``(N, K)``.

    Returns ``(W (D, K), P (L, K) or (0, K), b (K,))``. ``rescale`` needs ``groups`` with at
    least three different values: the spread of held-out predictions is measured by
    leave-one-group-out on the training clips themselves.
    """
    Z = np.asarray(Z, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64).reshape(len(Z), -1)
    A = inputs(Z, None if logp is None else np.asarray(logp, dtype=np.float64), opts.stack)
    W, b = _ridge(A, Y, opts.alpha, Z.shape[1])
    if opts.rescale:
        g = np.asarray(groups if groups is not None else [], dtype=object)
        if len(set(g.tolist())) < 3:
            raise ValueError("rescale needs a speaker (or other group) for every clip, at least 3 different")
        held = np.zeros_like(Y)
        for s in sorted(set(g.tolist())):
            out = g == s
            Wi, bi = _ridge(A[~out], Y[~out], opts.alpha, Z.shape[1])
            held[out] = A[out] @ Wi + bi
        k = Y.std(0) / np.maximum(held.std(0), 1e-6)
        m = Y.mean(0)
        W, b = W * k, (b - m) * k + m  # p' = (p - m) * k + m, folded into the weights
    D = Z.shape[1]
    P = W[D:] if opts.stack else np.zeros((0, Y.shape[1]))
    return W[:D].astype(np.float32), P.astype(np.float32), b.astype(np.float32)


def predict(Z: np.ndarray, logp: np.ndarray | None, W: np.ndarray, P: np.ndarray, b: np.ndarray) -> np.ndarray:
    """What :meth:`EmotionModel.predict_dimensions` computes, before clipping to [-1, 1]."""
    out = np.asarray(Z) @ W + b
    if len(P):
        out = out + np.asarray(logp) @ P
    return out


def select(Z: np.ndarray, logp: np.ndarray | None, Y: np.ndarray, groups: Sequence[str],
           grid: Sequence[DimensionOptions] = GRID) -> tuple[DimensionOptions, dict[str, float]]:
    """The options with the best mean CCC over targets under leave-one-group-out on these
    clips only (call it on a training part; the caller reports on clips it never saw).

    For speed, the stretch of a ``rescale`` variant held out on group ``s`` is measured on the
    other groups' held-out predictions (of models that saw ``s``), not by a second nested loop.
    """
    from paravox.evaluation.classification import ccc

    g = np.asarray(groups, dtype=object)
    Y = np.asarray(Y, dtype=np.float64).reshape(len(Z), -1)
    names = sorted(set(g.tolist()))
    held: dict[tuple[float, bool], np.ndarray] = {}
    for opts in grid:
        key = (opts.alpha, opts.stack)
        if key in held or (opts.stack and logp is None):
            continue
        pred = np.zeros_like(Y)
        plain = DimensionOptions(opts.alpha, opts.stack, False)
        for s in names:
            out = g == s
            W, P, b = fit(Z[~out], None if logp is None else logp[~out], Y[~out], None, plain)
            pred[out] = predict(Z[out], None if logp is None else logp[out], W, P, b)
        held[key] = pred
    scores: dict[str, float] = {}
    best, best_score = grid[0], -np.inf
    for opts in grid:
        if (opts.alpha, opts.stack) not in held:
            continue
        pred = held[(opts.alpha, opts.stack)].copy()
        if opts.rescale:
            for s in names:
                out = g == s
                k = Y[~out].std(0) / np.maximum(pred[~out].std(0), 1e-6)
                m = Y[~out].mean(0)
                pred[out] = (held[(opts.alpha, opts.stack)][out] - m) * k + m
        score = float(np.mean([ccc(np.clip(pred[:, k], -1, 1), Y[:, k]) for k in range(Y.shape[1])]))
        scores[f"alpha={opts.alpha:g} stack={opts.stack} rescale={opts.rescale}"] = round(score, 4)
        if score > best_score:
            best, best_score = opts, score
    return best, scores


def attach(model: Any, X: np.ndarray, Y: np.ndarray, names: Sequence[str], groups: Sequence[str] | None, *,
           opts: DimensionOptions | None = None, stack: bool = True, info: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
    """A copy of ``model`` (an :class:`EmotionModel`) with a dimensional head fitted on
    feature rows ``X`` and targets ``Y`` ``(N, len(names))``.

    ``opts`` None: chosen by leave-one-group-out over ``groups`` (needs at least 3 groups;
    without groups: ``DimensionOptions(stack=stack, rescale=False)``). ``stack=False`` keeps the
    class scores out, as it must when the classifier was trained on these same clips (its
    scores on them would be over-confident). Returns ``(model, report)``.
    """
    from dataclasses import replace

    from paravox.speech_emotion.model import log_probs

    X = np.asarray(X, dtype=np.float32)
    Y = np.asarray(Y, dtype=np.float64).reshape(len(X), -1)
    if Y.shape[1] != len(names) or not len(names):
        raise ValueError(f"targets have {Y.shape[1]} column(s) for {len(names)} name(s) {list(names)}")
    if not np.isfinite(Y).all():
        raise ValueError("targets must be finite numbers")
    Z = (X - model.mean) / model.scale
    logp = log_probs(model.predict_proba(X))
    scores: dict[str, float] = {}
    enough = groups is not None and len(set(groups)) >= 3
    if opts is None:
        if enough:
            grid = [o for o in GRID if stack or not o.stack]
            opts, scores = select(Z, logp if stack else None, Y, list(groups), grid)
        else:
            opts = DimensionOptions(stack=stack, rescale=False)
    if opts.rescale and not enough:
        opts = DimensionOptions(opts.alpha, opts.stack, False)
    W, P, b = fit(Z, logp if opts.stack else None, Y, None if groups is None else list(groups), opts)
    dim_info = {"options": opts.to_dict(), "items": int(len(X)), **(info or {})}
    out = replace(model, dimensions=tuple(names), dimension_head=(W, P, b), dimension_info=dim_info)
    return out, {"options": opts.to_dict(), "selection": scores}
