"""Fitting the vocalization classifier: pooled encoder states of a clip -> tag.

One hidden layer (ReLU), trained with class-balanced, label-smoothed cross-entropy; several
seeds' MLPs can be averaged into one wider MLP; probabilities calibrated with a temperature
fitted on clips it was not trained on. Both the events model's ``classifier/`` and the
``isolated/`` classifier are fitted here.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from paravox.training.torch_setup import nn, seed_torch, torch
from paravox.vocal_events.model import CLASSIFIER_KIND, VocalizationClassifier

__all__ = ["CLASSIFIER_LAYERS", "CLASSIFIER_AUGMENT", "fit_classifier", "fit_temperature"]

CLASSIFIER_LAYERS = (0, 1, 2, 3)
#: Augmented copies the shipped classifier also trains on: none. Speed copies (``speed90``,
#: ``speed110``) score higher on isolated Deeply clips and on mixtures, but the classifier so
#: trained named fewer events right on real tagged speech (docs/history.md), so it is not shipped.
CLASSIFIER_AUGMENT: tuple[str, ...] = ()


class _MLP(nn.Module):
    def __init__(self, d: int, hidden: int, classes: int, dropout: float):
        super().__init__()
        self.drop_in = nn.Dropout(0.2)
        self.hidden = nn.Linear(d, hidden) if hidden else None
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden or d, classes)

    def forward(self, x):
        x = self.drop_in(x)
        if self.hidden is not None:
            x = self.drop(torch.relu(self.hidden(x)))
        return self.out(x)


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The softmax temperature (0.3-5, log grid) with the least negative log-likelihood of ``y``."""
    best, best_nll = 1.0, np.inf
    for t in np.exp(np.linspace(np.log(0.3), np.log(5.0), 60)):
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        nll = -np.mean(z[np.arange(len(y)), y] - np.log(np.exp(z).sum(axis=1)))
        if nll < best_nll:
            best, best_nll = float(t), nll
    return best


def fit_classifier(
    X: np.ndarray,
    labels: Sequence[str],
    *,
    tags: Sequence[str] | None = None,
    layers: Sequence[int] = CLASSIFIER_LAYERS,
    hidden: int = 256,
    epochs: int = 60,
    weight_decay: float = 1e-3,
    dropout: float = 0.3,
    seed: int = 0,
    calibration: tuple[np.ndarray, Sequence[str]] | None = None,
    class_balanced: bool = True,
    framing: str = "short",
    members: int = 1,
    reject: str | None = None,
) -> VocalizationClassifier:
    """Train the isolated-vocalization classifier on pooled features ``X`` (n, D).

    ``calibration``: features and labels (not trained on) to fit the softmax temperature;
    without it the temperature stays 1. ``framing``: how ``X`` was computed
    (:data:`paravox.vocal_events.features.FRAMINGS`); saved in the config, so that the classifier
    frames audio the same way.

    ``members``: train that many MLPs (seeds ``seed``, ``seed + 1``, ...) and average their
    logits. The average is itself one MLP, ``members`` times as wide (hidden units side by
    side, output weights divided by ``members``), so inference is unchanged. At the Deeply
    sample's size one MLP's UAR moves by about a point with its seed (the seed runs in docs/benchmarks.md).

    ``reject``: the one of ``tags`` that means "no vocalization" (e.g. ``none``, trained on
    speech and noise); saved as the config's ``reject``
    (:class:`~paravox.vocal_events.model.VocalizationClassifier` keeps it out of its tags).
    """
    if members < 1:
        raise ValueError(f"members must be 1 or more, not {members}")
    tags = sorted(set(labels)) if tags is None else list(tags)
    index = {t: i for i, t in enumerate(tags)}
    unknown = sorted(set(labels) - set(index))
    if unknown:
        raise ValueError(f"labels not in the tag list: {', '.join(unknown)}")
    if reject is not None and reject not in index:
        raise ValueError(f"the reject class {reject!r} is not in the tag list")
    y = np.array([index[t] for t in labels])
    mean = X.mean(axis=0)
    scale = X.std(axis=0) + 1e-5
    Xs = torch.tensor((X - mean) / scale, dtype=torch.float32)
    yt = torch.tensor(y)
    counts = np.bincount(y, minlength=len(tags)).astype(np.float64)
    w = (len(y) / (len(tags) * np.maximum(counts, 1))) if class_balanced else np.ones(len(tags))
    loss_fn = nn.CrossEntropyLoss(weight=torch.tensor(w, dtype=torch.float32), label_smoothing=0.05)
    parts = []
    for member in range(members):
        seed_torch(seed + member)
        model = _MLP(X.shape[1], hidden, len(tags), dropout)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=weight_decay)
        gen = torch.Generator().manual_seed(seed + member)
        batch = 64
        for _ in range(epochs):
            model.train()
            order = torch.randperm(len(y), generator=gen)
            for i in range(0, len(y), batch):
                idx = order[i : i + batch]
                opt.zero_grad()
                loss_fn(model(Xs[idx]), yt[idx]).backward()
                opt.step()
        model.eval()
        parts.append({name: p.detach().numpy().copy() for name, p in model.named_parameters()})
    weights = {"mean": mean.astype(np.float32), "scale": scale.astype(np.float32)}
    if hidden:  # logits averaged = one wide MLP: hidden units stacked, output weights scaled
        weights["hidden_w"] = np.concatenate([p["hidden.weight"] for p in parts])
        weights["hidden_b"] = np.concatenate([p["hidden.bias"] for p in parts])
        weights["out_w"] = np.concatenate([p["out.weight"] for p in parts], axis=1) / members
    else:  # linear members average to one linear layer
        weights["out_w"] = np.mean([p["out.weight"] for p in parts], axis=0)
    weights["out_b"] = np.mean([p["out.bias"] for p in parts], axis=0)
    config = {"kind": CLASSIFIER_KIND, "tags": tags, "layers": list(layers), "temperature": 1.0, "hidden": hidden * members}
    if members > 1:
        config["members"] = members
    if reject is not None:
        config["reject"] = reject
    if framing != "short":  # absent means short, as in every model written before the key existed
        config["framing"] = framing
    clf = VocalizationClassifier(config, weights)
    if calibration is not None:
        Xc, lc = calibration
        keep = [i for i, t in enumerate(lc) if t in index]
        if keep:
            probs = clf.label_probabilities(Xc[keep])  # every column of ``tags``, the reject class too
            logits = np.log(np.maximum(probs, 1e-12))  # temperature 1: log-softmax = logits + const
            clf.config["temperature"] = fit_temperature(logits, np.array([index[lc[i]] for i in keep]))
    return clf
