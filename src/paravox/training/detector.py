"""Fitting the event detector: per-frame encoder states over fixed chunks -> a probability per
tag per 20-ms frame (two 1-D convolutions), trained on realistic mixtures
(:mod:`paravox.training.mixtures`), with per-tag frame thresholds chosen on validation
mixtures for event-based F1.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Sequence

import numpy as np

from paravox.training.mixtures import make_mixture
from paravox.training.torch_setup import nn, seed_torch, torch
from paravox.vocal_events import features
from paravox.vocal_events.model import DETECTOR_KIND, EventDetector
from paravox.vocal_events.laughter import DEFAULT_CONFIG as LAUGHTER_CONFIG

__all__ = ["DETECTOR_LAYER", "CHUNK_SECONDS", "HOP_SECONDS", "MixtureSet", "draw_mixture", "build_mixtures", "fit_detector",
           "mixture_scores", "calibrate_thresholds"]

DETECTOR_LAYER = 1
CHUNK_SECONDS = 10.0
HOP_SECONDS = 8.0


class _ConvHead(nn.Module):
    def __init__(self, d: int, hidden: int, classes: int, kernel: int = 5, dilation: int = 2):
        super().__init__()
        self.conv1 = nn.Conv1d(d, hidden, kernel, padding=(kernel - 1) // 2)
        self.conv2 = nn.Conv1d(hidden, hidden, kernel, padding=dilation * (kernel - 1) // 2, dilation=dilation)
        self.out = nn.Linear(hidden, classes)
        self.drop = nn.Dropout(0.2)

    def forward(self, x):  # (B, T, D) -> (B, T, C)
        h = torch.nn.functional.gelu(self.conv1(self.drop(x).transpose(1, 2)), approximate="tanh")
        h = torch.nn.functional.gelu(self.conv2(self.drop(h)), approximate="tanh")
        return self.out(h.transpose(1, 2))


@dataclass
class MixtureSet:
    states: list[np.ndarray]  # (frames, 512) float16 each
    labels: list[np.ndarray]  # (frames, tags) float32 each
    events: list[list[tuple[str, float, float]]]
    tags: list[str]


def draw_mixture(rng: np.random.Generator, bank, tags: Sequence[str], *,
                 speech_only_share: float = 0.25) -> tuple[np.ndarray, np.ndarray, list[tuple[str, float, float]]]:
    """The next training mixture from ``rng``: a 10-s chunk 4 times in 5 (else 2-10 s), speech
    only ``speech_only_share`` of the time. Training and every replay of its mixtures draw
    through here, so their draws stay the same."""
    seconds = CHUNK_SECONDS if rng.random() < 0.8 else float(rng.uniform(2.0, CHUNK_SECONDS))
    return make_mixture(rng, bank, tags, seconds, speech_only=rng.random() < speech_only_share)


def build_mixtures(
    bank,
    tags: Sequence[str],
    n: int,
    *,
    seed: int,
    layer: int = DETECTOR_LAYER,
    speech_only_share: float = 0.25,
    progress: Callable[[], None] | None = None,
) -> MixtureSet:
    """``n`` mixtures and the encoder states the detector reads, computed as at inference."""
    rng = np.random.default_rng(seed)
    out = MixtureSet([], [], [], list(tags))
    for _ in range(n):
        x, lab, ev = draw_mixture(rng, bank, tags, speech_only_share=speech_only_share)
        st = features.layer_states(x, [layer])[layer]
        m = min(len(st), len(lab))
        out.states.append(st[:m].astype(np.float16))
        out.labels.append(lab[:m])
        out.events.append(ev)
        if progress:
            progress()
    return out


def fit_detector(
    train: MixtureSet,
    *,
    layer: int = DETECTOR_LAYER,
    hidden: int = 192,
    epochs: int = 25,
    seed: int = 0,
    log: Callable[[str], None] | None = None,
) -> EventDetector:
    seed_torch(seed)
    tags = train.tags
    allx = np.concatenate(train.states).astype(np.float32)
    mean, scale = allx.mean(axis=0), allx.std(axis=0) + 1e-5
    del allx
    pos = np.concatenate(train.labels).mean(axis=0)
    pos_weight = torch.tensor(np.clip((1 - pos) / np.maximum(pos, 1e-4), 1.0, 30.0) ** 0.5, dtype=torch.float32)
    model = _ConvHead(len(mean), hidden, len(tags))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=pos_weight, reduction="none")
    gen = np.random.default_rng(seed)
    frames = max(len(s) for s in train.states)
    batch = 16
    for epoch in range(epochs):
        model.train()
        order = gen.permutation(len(train.states))
        total = 0.0
        for i in range(0, len(order), batch):
            idx = order[i : i + batch]
            x = np.zeros((len(idx), frames, len(mean)), np.float32)
            y = np.zeros((len(idx), frames, len(tags)), np.float32)
            mask = np.zeros((len(idx), frames, 1), np.float32)
            for k, j in enumerate(idx):
                m = len(train.states[j])
                x[k, :m] = (train.states[j].astype(np.float32) - mean) / scale
                y[k, :m] = train.labels[j]
                mask[k, :m] = 1.0
            xt, yt, mt = torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(mask)
            opt.zero_grad()
            loss = (loss_fn(model(xt), yt) * mt).sum() / (mt.sum() * len(tags))
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        sched.step()
        if log:
            log(f"epoch {epoch + 1}/{epochs}: loss {total / len(order):.4f}")
    model.eval()
    weights = {
        "mean": mean.astype(np.float32),
        "scale": scale.astype(np.float32),
        "conv1_w": model.conv1.weight.detach().numpy().copy(),
        "conv1_b": model.conv1.bias.detach().numpy().copy(),
        "conv2_w": model.conv2.weight.detach().numpy().copy(),
        "conv2_b": model.conv2.bias.detach().numpy().copy(),
        "out_w": model.out.weight.detach().numpy().copy(),
        "out_b": model.out.bias.detach().numpy().copy(),
    }
    config = {
        "kind": DETECTOR_KIND,
        "tags": list(tags),
        "layer": layer,
        "chunk_seconds": CHUNK_SECONDS,
        "hop_seconds": HOP_SECONDS,
        "dilation": 2,
        "median_frames": 5,
        "merge_gap_seconds": 0.2,
        "min_duration_seconds": 0.1,
        "thresholds": {t: 0.5 for t in tags},
        # Naming each detected region with the classifier too, and keeping it only when both
        # models agree: the same event F1 on validation mixtures as frame thresholds alone,
        # with precision 0.68 instead of 0.43 (benchmarks/events_mixtures.py).
        "label_with_classifier": True,
        "require_agreement": True,
        "activity_threshold": 0.3,
        # the isolated classifier's none vetoes a region (issue 20: false tags on unseen voices);
        # used when the model directory holds an isolated/ classifier with a reject class
        "gate": "isolated",
        "gate_threshold": 0.5,
        # the Switchboard laughter detector adds laughs where it is sure and this detector hears
        # activity (issue 20, round 3); used when the model directory holds laughter/switchboard.onnx
        "laughter": dict(LAUGHTER_CONFIG),
    }
    return EventDetector(config, weights)


def mixture_scores(detector: EventDetector, data: MixtureSet) -> list[np.ndarray]:
    return [1 / (1 + np.exp(-detector.frame_logits_from_states(s.astype(np.float32)))) for s in data.states]


def calibrate_thresholds(
    detector: EventDetector, val: MixtureSet, grid: Sequence[float] = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
) -> dict[str, float]:
    """Per tag, the threshold with the best event-based F1 (200-ms collar) on ``val``."""
    from paravox.evaluation.events import evaluate_events

    scores = mixture_scores(detector, val)
    refs = {str(i): [e for e in ev] for i, ev in enumerate(val.events)}
    best: dict[str, float] = {}
    for tag in detector.tags:
        f1s = []
        for thr in grid:
            trial = replace(detector, thresholds={tag: thr})  # this frame threshold for the tag
            hyps = {str(i): [(e.tag, e.start, e.end) for e in trial.events(s, tags=[tag])] for i, s in enumerate(scores)}
            r = {k: [e for e in v if e[0] == tag] for k, v in refs.items()}
            report = evaluate_events(r, hyps, canonicalize=False)
            f1s.append(report.event.f1)
        best[tag] = float(grid[int(np.argmax(f1s))]) if max(f1s) > 0 else 0.9
    detector.config["thresholds"] = best
    detector.thresholds = dict(best)
    return best
