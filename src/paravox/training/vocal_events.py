"""Training the vocal-event models (the 'train' extra: torch). Inference never imports this.

Two models, written as NumPy weights into one model directory:

- ``classifier/``: pooled encoder states of an isolated clip -> tag (a one-hidden-layer MLP,
  probabilities calibrated with a temperature fitted on a validation split);
- ``detector/``: per-frame encoder states over fixed chunks -> a probability per tag per
  20-ms frame (two 1-D convolutions), trained on realistic mixtures
  (:mod:`paravox.training.mixtures`), with per-tag thresholds chosen on validation
  mixtures for event-based F1.

Training is deterministic for a given seed: torch runs single-threaded with
deterministic algorithms, and every random draw comes from seeded generators.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from paravox.vocal_events import features
from paravox.vocal_events.model import CLASSIFIER_KIND, DETECTOR_KIND, EventDetector, VocalizationClassifier

try:
    import torch
    from torch import nn
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError("training needs torch: pip install 'paravox[train]'") from exc

__all__ = [
    "CLASSIFIER_LAYERS",
    "DETECTOR_LAYER",
    "fit_classifier",
    "fit_detector",
    "calibrate_thresholds",
    "save_model",
    "features_cache_dir",
]

CLASSIFIER_LAYERS = (0, 1, 2, 3)
#: Augmented copies the shipped classifier also trains on: none. Speed copies (``speed90``,
#: ``speed110``) score higher on isolated Deeply clips and on mixtures, but the classifier so
#: trained named fewer events right on real tagged speech (see the README), so it is not shipped.
CLASSIFIER_AUGMENT: tuple[str, ...] = ()
DETECTOR_LAYER = 1
CHUNK_SECONDS = 10.0
HOP_SECONDS = 8.0


def features_cache_dir() -> Path:
    base = os.environ.get("PARAVOX_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "paravox")
    path = Path(base) / "features"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _seed(seed: int) -> None:
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)


def save_model(directory: str | Path, config: dict[str, Any], weights: dict[str, np.ndarray]) -> Path:
    """Write ``config.json`` and ``weights.npz`` (float16 where that loses nothing that matters)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / "weights.tmp.npz"
    np.savez_compressed(tmp, **{k: v.astype(np.float16 if v.size > 4096 else np.float32) for k, v in weights.items()})
    os.replace(tmp, directory / "weights.npz")
    (directory / "config.json.tmp").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(directory / "config.json.tmp", directory / "config.json")
    return directory


# --------------------------------------------------------------------------- classifier


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


def _fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
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
) -> VocalizationClassifier:
    """Train the isolated-vocalization classifier on pooled features ``X`` (n, D).

    ``calibration``: features and labels (not trained on) to fit the softmax temperature;
    without it the temperature stays 1. ``framing``: how ``X`` was computed
    (:data:`paravox.vocal_events.features.FRAMINGS`); saved in the config, so that the classifier
    frames audio the same way.

    ``members``: train that many MLPs (seeds ``seed``, ``seed + 1``, ...) and average their
    logits. The average is itself one MLP, ``members`` times as wide (hidden units side by
    side, output weights divided by ``members``), so inference is unchanged. At the Deeply
    sample's size one MLP's UAR moves by about a point with its seed (the README's seed runs).
    """
    if members < 1:
        raise ValueError(f"members must be 1 or more, not {members}")
    tags = sorted(set(labels)) if tags is None else list(tags)
    index = {t: i for i, t in enumerate(tags)}
    unknown = sorted(set(labels) - set(index))
    if unknown:
        raise ValueError(f"labels not in the tag list: {', '.join(unknown)}")
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
        _seed(seed + member)
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
    if framing != "short":  # absent means short, as in every model written before the key existed
        config["framing"] = framing
    clf = VocalizationClassifier(config, weights)
    if calibration is not None:
        Xc, lc = calibration
        keep = [i for i, t in enumerate(lc) if t in index]
        if keep:
            probs = clf.predict_features(Xc[keep])
            logits = np.log(np.maximum(probs, 1e-12))  # temperature 1: log-softmax = logits + const
            clf.config["temperature"] = _fit_temperature(logits, np.array([index[lc[i]] for i in keep]))
    return clf


# --------------------------------------------------------------------------- detector


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
    from paravox.training.mixtures import make_mixture

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
    _seed(seed)
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


def file_digest(paths: Sequence[str | Path], extra: str = "") -> str:
    h = hashlib.sha1(extra.encode())
    for p in paths:
        st = Path(p).stat()
        h.update(f"{p}:{st.st_size}:{int(st.st_mtime)}".encode())
    return h.hexdigest()[:16]


@contextmanager
def timed(log: Callable[[str], None], what: str):
    """Log how long the ``with`` block took."""
    started = time.perf_counter()
    yield
    log(f"{what}: {time.perf_counter() - started:.1f} s")


# --------------------------------------------------------------------------- the shipped models


def _recipe_text(module, *functions: Callable[..., Any]) -> str:
    """The code a cached set of mixtures or crops comes from (a module's text and the source
    of the functions that draw from it), so that editing any of it rebuilds the cache."""
    return Path(module.__file__).read_text() + "".join(inspect.getsource(f) for f in functions)


def _cached(name: str, build: Callable[[], dict[str, Any]], log: Callable[[str], None]) -> dict[str, Any]:
    """Load ``name`` from the feature cache, or build and store it (atomically)."""
    import pickle

    path = features_cache_dir() / f"{name}.pkl"
    if path.is_file():
        with open(path, "rb") as f:
            log(f"cached: {path}")
            return pickle.load(f)
    value = build()
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        pickle.dump(value, f, protocol=4)
    os.replace(tmp, path)
    return value


def _bar(total: int, desc: str, quiet: bool):
    import sys

    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="item", file=sys.stderr, disable=quiet or not sys.stderr.isatty())


def pooled_for_clips(clips, layers: Sequence[int], *, quiet: bool = True, log=print, augment: str = "clean",
                     framing: str = "short") -> np.ndarray:
    """Pooled classifier features of ``clips``, cached. ``augment`` (``speed90``, ``speed110``,
    ``noise``, ``gain``: :func:`paravox.training.augment.augment_samples`) features a copy of
    each clip so changed, with a per-clip deterministic seed. ``framing``: see
    :data:`paravox.vocal_events.features.FRAMINGS`."""
    from paravox.audio import load_audio
    from paravox.training.augment import augment_keyed

    key = "nv-pooled-" + file_digest([c.path for c in clips], extra=repr(tuple(layers)) + ("" if augment == "clean" else augment)
                                     + ("" if framing == "short" else f"|{framing}"))

    def build():
        out = []
        with _bar(len(clips), "pooled features" + ("" if augment == "clean" else f" ({augment})"), quiet) as bar:
            for c in clips:
                x = load_audio(c.path).samples
                if augment != "clean":
                    x = augment_keyed(x, augment, f"{c.id}|{augment}")
                out.append(features.pooled_states(x, layers, framing))
                bar.update(1)
        return {"X": np.stack(out)}

    return _cached(key, build, log)["X"]


def _train_detector(vocal, speech, tags: list[str], *, n_train: int, n_val: int, n_test: int, seed: int,
                    epochs: int, quiet: bool, log: Callable[[str], None]) -> tuple[EventDetector, dict[str, Any]]:
    """The detector: mixtures of training voices; thresholds on validation mixtures; test on
    held-out voices. Returns the detector and its report section."""
    from paravox.evaluation.events import evaluate_events
    from paravox.training import mixtures as mx

    def bank(held_out: bool):
        v = [c for c in vocal if c.held_out == held_out]
        s = [c for c in speech if c.held_out == held_out]
        with _bar(len(v) + len(s), "decoding clips", quiet) as bar:
            return mx.Bank(v, s, progress=lambda: bar.update(1))

    def mixtures(name: str, held_out: bool, n: int, mix_seed: int) -> MixtureSet:
        key = f"nv-mix-{name}-{n}-{mix_seed}-L{DETECTOR_LAYER}-" + file_digest(
            [c.path for c in vocal + speech], extra=_recipe_text(mx, draw_mixture, build_mixtures)
        )

        def build():
            b = bank(held_out)
            with _bar(n, f"{name} mixtures", quiet) as bar:
                m = build_mixtures(b, tags, n, seed=mix_seed, progress=lambda: bar.update(1))
            return {"m": m}

        return _cached(key, build, log)["m"]

    with timed(log, "mixtures"):
        tr = mixtures("train", False, n_train, seed + 1)
        va = mixtures("val", False, n_val, seed + 2)
        te = mixtures("test", True, n_test, seed + 3)
    with timed(log, "detector training"):
        det = fit_detector(tr, epochs=epochs, seed=seed, log=log)
    thresholds = calibrate_thresholds(det, va)
    log("thresholds: " + ", ".join(f"{t} {v:.1f}" for t, v in thresholds.items()))
    scores = mixture_scores(det, te)
    hyps = {str(i): [(e.tag, e.start, e.end) for e in det.events(s)] for i, s in enumerate(scores)}
    refs = {str(i): ev for i, ev in enumerate(te.events)}
    ev_rep = evaluate_events(refs, hyps, canonicalize=False)
    log(f"detector held-out mixtures: event F1 {ev_rep.event.f1:.3f}, segment F1 {ev_rep.segment_counts.f1:.3f}")
    return det, {
        "mixtures": {"train": n_train, "val": n_val, "test": n_test},
        "held_out_event_f1": ev_rep.event.f1,
        "held_out_event_precision": ev_rep.event.precision,
        "held_out_event_recall": ev_rep.event.recall,
        "held_out_segment_f1": ev_rep.segment_counts.f1,
        "per_tag_event_f1": {t: c.f1 for t, c in ev_rep.event_per_class.items()},
        "thresholds": thresholds,
    }


def _train_classifier(vocal, tags: list[str], report: dict[str, Any], *, seed: int, classifier_augment: Sequence[str],
                      quiet: bool, log: Callable[[str], None]) -> VocalizationClassifier:
    """The classifier: train on training voices, calibrate on a slice of them, test on held-out
    voices (``report["classifier"]``)."""
    from paravox.evaluation.classification import evaluate_classification

    X = pooled_for_clips(vocal, CLASSIFIER_LAYERS, quiet=quiet, log=log)
    train_idx = [i for i, c in enumerate(vocal) if not c.held_out]
    test_idx = [i for i, c in enumerate(vocal) if c.held_out]
    speakers = sorted({vocal[i].speaker for i in train_idx})
    rng = np.random.default_rng(seed)
    calib_speakers = set(rng.choice(speakers, size=len(speakers) // 8, replace=False).tolist())
    fit_idx = [i for i in train_idx if vocal[i].speaker not in calib_speakers]
    cal_idx = [i for i in train_idx if vocal[i].speaker in calib_speakers]
    X_aug = [pooled_for_clips(vocal, CLASSIFIER_LAYERS, quiet=quiet, log=log, augment=a) for a in classifier_augment]
    with timed(log, "classifier training"):
        clf = fit_classifier(
            np.concatenate([X[fit_idx]] + [a[fit_idx] for a in X_aug]),
            [vocal[i].tag for i in fit_idx] * (1 + len(X_aug)), tags=tags, seed=seed,
            calibration=(X[cal_idx], [vocal[i].tag for i in cal_idx]),
        )
    probs = clf.predict_features(X[test_idx])
    pred = [tags[j] for j in probs.argmax(axis=1)]
    ref = [vocal[i].tag for i in test_idx]
    rep = evaluate_classification(ref, pred)
    deeply = [k for k, i in enumerate(test_idx) if vocal[i].id.startswith("deeply-")]
    rep_d = evaluate_classification([ref[k] for k in deeply], [pred[k] for k in deeply])
    report["classifier"] = {
        "held_out_all": {"n": len(ref), "uar": rep.uar, "macro_f1": rep.macro_f1, "accuracy": rep.accuracy},
        "held_out_deeply": {"n": len(deeply), "uar": rep_d.uar, "macro_f1": rep_d.macro_f1, "accuracy": rep_d.accuracy},
        "temperature": clf.config["temperature"],
        "augment": list(classifier_augment),
    }
    log(f"classifier held-out: UAR {rep.uar:.3f} (Deeply fold-1 test voices: {rep_d.uar:.3f})")
    return clf


#: how the model card describes a classifier's framing (``short`` needs no note)
_FRAMING_NOTES = {
    "padded_fast": "as at the start of a zero-padded 30-s window, approximated at about 1.4 times the encoder cost "
                   "of a short clip",
}


def train_default(
    data_root: str | Path,
    out_dir: str | Path,
    *,
    n_train: int = 1200,
    n_val: int = 250,
    n_test: int = 250,
    seed: int = 0,
    epochs: int = 25,
    classifier_augment: Sequence[str] = CLASSIFIER_AUGMENT,
    keep_detector: str | Path | None = None,
    keep_classifier: str | Path | None = None,
    quiet: bool = False,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train both shipped models on the data pack and measure them on held-out voices.

    ``classifier_augment``: the classifier also trains on copies of its training clips so
    augmented (e.g. ``("speed90", "speed110")``; default: none). ``keep_detector``: a model directory whose
    detector (and its report section) is reused instead of training one: the classifier alone
    is retrained in minutes; the detector does not depend on it. ``keep_classifier``: the same for
    the classifier (the detector alone is trained).

    Returns the report written to ``out_dir/report.json`` (the model card's figures).
    """
    from paravox.training import mixtures as mx

    t0 = time.perf_counter()
    root = Path(data_root)
    vocal = mx.vocalization_clips(root)
    speech = mx.speech_clips(root)
    tags = sorted({c.tag for c in vocal})
    report: dict[str, Any] = {"seed": seed, "tags": tags, "held_out": mx.HELD_OUT}

    if keep_detector is not None and keep_classifier is not None:
        raise ValueError("keep_detector and keep_classifier together would train nothing")
    card_path = Path(out_dir) / "MODEL_CARD.md"
    old_card = card_path.read_text(encoding="utf-8") if card_path.is_file() else ""
    kept = None
    if keep_detector is not None:  # read before anything is written (it may be out_dir itself)
        kept_dir = Path(keep_detector)
        kept_report = json.loads((kept_dir / "report.json").read_text(encoding="utf-8"))
        card = kept_dir / "MODEL_CARD.md"
        kept = (EventDetector.load(kept_dir / "detector"),
                {**kept_report["detector"], "full_run_seconds": kept_report["detector"].get("full_run_seconds", kept_report.get("seconds"))},
                card.read_text(encoding="utf-8") if card.is_file() else "")
        old_card = kept[2]
    if keep_classifier is not None:  # likewise
        kept_dir = Path(keep_classifier)
        clf = VocalizationClassifier.load(kept_dir / "classifier")
        report["classifier"] = {**json.loads((kept_dir / "report.json").read_text(encoding="utf-8"))["classifier"], "kept": True}
        card = kept_dir / "MODEL_CARD.md"
        old_card = card.read_text(encoding="utf-8") if card.is_file() else ""
        log(f"classifier kept from {keep_classifier}")
    else:
        clf = _train_classifier(vocal, tags, report, seed=seed, classifier_augment=classifier_augment, quiet=quiet, log=log)

    if kept is not None:
        det, report["detector"] = kept[0], kept[1]
        log(f"detector kept from {keep_detector}")
    else:
        det, report["detector"] = _train_detector(vocal, speech, tags, n_train=n_train, n_val=n_val, n_test=n_test,
                                                  seed=seed, epochs=epochs, quiet=quiet, log=log)

    out = Path(out_dir)
    save_model(out / "classifier", clf.config, clf.weights)
    save_model(out / "detector", det.config, det.weights)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    command = f"paravox train events --data {data_root} -o {out_dir} --mixtures {n_train} --epochs {epochs} --seed {seed}"
    if list(classifier_augment) != list(CLASSIFIER_AUGMENT):
        command += " --classifier-augment " + (" ".join(classifier_augment) or "none")
    (out / "MODEL_CARD.md").write_text(model_card(report, command, carried=_carried_section(old_card)), encoding="utf-8")
    return report


# --------------------------------------------------------------------------- a user's own labels


def _read_manifest(path: str | Path, need_label: bool) -> list[dict[str, Any]]:
    from paravox.evaluation.io import read_jsonl  # parsing and its errors, as for every JSONL input

    path = Path(path)
    rows = []
    for record in read_jsonl(path):
        row, n = record.data, record.line
        if "audio" not in row or (need_label and "label" not in row):
            want = "'audio' and 'label'" if need_label else "'audio'"
            raise ValueError(f"{path}:{n}: each line needs {want}")
        audio = Path(row["audio"])
        row["_path"] = audio if audio.is_absolute() else path.parent / audio
        if not row["_path"].is_file():
            raise ValueError(f"{path}:{n}: audio file {row['_path']} not found")
        rows.append(row)
    return rows


def train_user(
    manifest: str | Path,
    speech: str | Path | None,
    out_dir: str | Path,
    *,
    n_train: int = 1200,
    seed: int = 0,
    epochs: int = 25,
    quiet: bool = False,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train an events model on a user's labelled clips (and speech for the detector).

    Validation: a fifth of the speakers when rows name a ``speaker`` (speaker-independent),
    else a fifth of the clips. The classifier's temperature and the detector's thresholds
    are fitted there, and the figures reported are measured there.
    """
    from paravox.evaluation.classification import evaluate_classification
    from paravox.evaluation.events import evaluate_events
    from paravox.taxonomy import canonical_tag
    from paravox.training import mixtures as mx

    rows = _read_manifest(manifest, need_label=True)
    labels = [canonical_tag(str(r["label"])) or str(r["label"]) for r in rows]
    tags = sorted(set(labels))
    if len(tags) < 2:
        raise ValueError(f"{manifest}: found only the label {tags[0]!r}; a classifier needs at least two labels")
    rng = np.random.default_rng(seed)
    speakers = [str(r.get("speaker", f"clip-{i}")) for i, r in enumerate(rows)]
    unique = sorted(set(speakers))
    val_speakers = set(rng.choice(unique, size=max(1, len(unique) // 5), replace=False).tolist())
    clips = [mx.Clip(str(r.get("id", i)), r["_path"], t, s, s in val_speakers) for i, (r, t, s) in enumerate(zip(rows, labels, speakers))]
    fit = [i for i, c in enumerate(clips) if not c.held_out]
    val = [i for i, c in enumerate(clips) if c.held_out]
    X = pooled_for_clips(clips, CLASSIFIER_LAYERS, quiet=quiet, log=log)
    clf = fit_classifier(X[fit], [labels[i] for i in fit], tags=tags, seed=seed, calibration=(X[val], [labels[i] for i in val]))
    pred = [tags[j] for j in clf.predict_features(X[val]).argmax(axis=1)]
    rep = evaluate_classification([labels[i] for i in val], pred)
    report: dict[str, Any] = {
        "tags": tags,
        "n_clips": len(rows),
        "validation": "speakers" if any("speaker" in r for r in rows) else "clips",
        "classifier": {"n_val": len(val), "uar": rep.uar, "macro_f1": rep.macro_f1, "accuracy": rep.accuracy},
    }
    log(f"classifier validation: UAR {rep.uar:.3f} on {len(val)} clips")
    out = Path(out_dir)
    save_model(out / "classifier", clf.config, clf.weights)
    if speech is None:
        log("no --speech given: only the classifier was trained (events in recordings need a detector)")
        report["detector"] = None
    else:
        srows = _read_manifest(speech, need_label=False)
        sclips = [mx.Clip(str(r.get("id", i)), r["_path"], None, str(r.get("speaker", i)), i % 5 == 0) for i, r in enumerate(srows)]
        train_bank = mx.Bank([c for c in clips if not c.held_out], [c for c in sclips if not c.held_out] or sclips)
        val_bank = mx.Bank([c for c in clips if c.held_out], [c for c in sclips if c.held_out] or sclips)
        if not train_bank.vocal or not val_bank.vocal:
            raise ValueError(f"{manifest}: no clip with sound in the training or validation part")
        tr = build_mixtures(train_bank, tags, n_train, seed=seed + 1)
        va = build_mixtures(val_bank, tags, max(4, n_train // 5), seed=seed + 2)
        det = fit_detector(tr, epochs=epochs, seed=seed, log=log)
        calibrate_thresholds(det, va)
        scores = mixture_scores(det, va)
        ev = evaluate_events(
            {str(i): e for i, e in enumerate(va.events)},
            {str(i): [(x.tag, x.start, x.end) for x in det.events(s)] for i, s in enumerate(scores)},
            canonicalize=False,
        )
        report["detector"] = {"n_train": n_train, "n_val": len(va.states), "event_f1": ev.event.f1, "segment_f1": ev.segment_counts.f1}
        log(f"detector validation mixtures: event F1 {ev.event.f1:.3f}")
        save_model(out / "detector", det.config, det.weights)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


TAG_SOURCES = {
    "laugh": "Deeply `laughing` (20 clips) + EmoGator Amusement (750)",
    "sigh": "Deeply `sighing` (35) + EmoGator Relief (750)",
    "gasp": "EmoGator Surprise, negative and positive (1,500; some are interjections such as \"oh!\")",
}


#: A model card section kept when the card is rewritten: its table is printed by
#: ``benchmarks/events_mixtures.py`` (not by training), so it is updated by hand from that.
CARRIED_SECTION = "### The shipped labelling on the same mixtures"


def _carried_section(card: str) -> str:
    """``CARRIED_SECTION`` of an existing card, up to the next heading ('' if absent)."""
    if CARRIED_SECTION not in card:
        return ""
    rest = card[card.index(CARRIED_SECTION):]
    ends = [i for i in (rest.find("\n## ", 1), rest.find("\n### ", 1), rest.find("\nSpeaker-independent 5-fold", 1)) if i > 0]
    return rest[: min(ends)].rstrip() + "\n" if ends else rest.rstrip() + "\n"


def model_card(report: dict[str, Any], command: str, carried: str = "") -> str:
    """The shipped model's card, written from the training report (so every figure comes from the
    command); ``carried`` (the :data:`CARRIED_SECTION` of the previous card) goes after the per-tag table."""
    from paravox.taxonomy import load_taxonomy

    tax = load_taxonomy()
    all_tags = list(tax.tags)
    c, d = report["classifier"], report["detector"]
    lines = [
        "# paravox events model (classifier + detector)",
        "",
        "Two small heads on the frozen Whisper-base encoder (the model paravox already ships for",
        "transcription; its states computed by ONNX Runtime in float32, equal to the NumPy reference",
        "encoder to 1e-5), the heads run in NumPy:",
        "",
        f"- `classifier/`: one isolated vocalization -> tag. Input: mean+std of encoder layers "
        f"{', '.join(map(str, CLASSIFIER_LAYERS))} over the clip; one hidden layer (256, ReLU); softmax with a fitted "
        f"temperature ({c['temperature']:.2f})."
        + (f" Trained also on {' and '.join(c['augment'])} copies of its training clips (speed perturbation: "
           "tempo and pitch move together)." if c.get("augment") else ""),
        f"- `detector/`: a recording -> per-tag probability every 20 ms. Input: layer-{DETECTOR_LAYER} states of "
        f"{CHUNK_SECONDS:g}-s chunks every {HOP_SECONDS:g} s (unpadded); two 1-D convolutions; per-tag thresholds "
        "chosen on validation mixtures; runs shorter than 0.1 s dropped, gaps under 0.2 s joined.",
        "- How events are named (the shipped setting): the detector's frame scores mark regions of vocal "
        "activity (any tag above 0.3); each region is named by classifier and detector together and kept "
        "only when both pick the same tag. On validation mixtures this ties frame thresholds on event F1 "
        "with far higher precision (`python benchmarks/events_mixtures.py` prints both).",
        "- Both choices were made on validation mixtures (training voices): the encoder layer "
        "(`python benchmarks/experiments/events_detector_layers.py`: deeper layers scored lower) and the labelling "
        "(`python benchmarks/events_mixtures.py --sweep --sets val`: a weighted vote, or the classifier alone, "
        "scored lower).",
        "",
        "## Tags",
        "",
        "| tag | trained on real examples | data |",
        "|---|---|---|",
    ]
    trained = set(report["tags"])
    for tag in all_tags:
        if tag in trained:
            src = TAG_SOURCES.get(tag, "Deeply Nonverbal Vocalization sample")
            lines.append(f"| `{tag}` | yes | {src} |")
        else:
            lines.append(f"| {tag} | no: never emitted | — |")
    lines += [
        "",
        "## Data and licences",
        "",
        "- **Deeply Nonverbal Vocalization Dataset** (sample subset in the paravox data pack): CC BY-NC-ND 4.0. "
        "Non-commercial; no derivatives may be *distributed*. Weights trained on it are arguably a derivative: "
        "treat this model as **research / non-commercial use only**, and do not redistribute it in a "
        "commercial product. Retrain on data you may use (`paravox train events`) for anything else.",
        "- **EmoGator** vocal bursts (contributors 000001-000250): Apache-2.0.",
        "- Speech in the detector's mixtures: CASIA (licence unclear, research use), EmoDB (no licence stated, "
        "research use), RAVDESS (CC BY-NC-SA 4.0).",
        "",
        "Held out from all training (the figures below are measured on these voices only): "
        + "; ".join(f"{k}: {v}" for k, v in report["held_out"].items())
        + ".",
        "",
        "## Measured",
        "",
        f"Classifier on held-out voices: UAR {100 * c['held_out_all']['uar']:.1f}%, macro-F1 "
        f"{100 * c['held_out_all']['macro_f1']:.1f}% over {c['held_out_all']['n']} clips (Deeply only: UAR "
        f"{100 * c['held_out_deeply']['uar']:.1f}%, {c['held_out_deeply']['n']} clips).",
        "",
        f"Detector on {d['mixtures']['test']} held-out mixtures (held-out voices and speakers): event-based F1 "
        f"{100 * d['held_out_event_f1']:.1f}% (P {100 * d['held_out_event_precision']:.1f}%, R "
        f"{100 * d['held_out_event_recall']:.1f}%, 200-ms onset collar), segment-based F1 (1 s) "
        f"{100 * d['held_out_segment_f1']:.1f}%.",
        "",
        "Per tag, with per-tag frame thresholds (the training report):",
        "",
        "| tag | event F1 (held-out mixtures) | threshold |",
        "|---|---|---|",
    ]
    for tag in report["tags"]:
        f1 = d["per_tag_event_f1"].get(tag)
        lines.append(f"| {tag} | {'—' if f1 is None else f'{100 * f1:.1f}%'} | {d['thresholds'][tag]:.1f} |")
    if carried:
        lines += ["", carried.rstrip()]
    lines += [
        "",
        "Speaker-independent 5-fold figures of the classifier (voc2vec protocol) and the tagged-transcript",
        "figures on real speech are in the README (`paravox bench classify`, `paravox bench nvasr`).",
        "",
        "## Reproduce",
        "",
        "```",
        command,
        "```",
        "",
        f"Deterministic for a seed (seed {report['seed']}; torch single-threaded, deterministic algorithms); "
        + (f"this copy's detector was trained alone ({report['seconds'] / 60:.0f} min on a 2-core CPU) with the same "
           "command plus `--keep-classifier src/paravox/vocal_events/weights`, which reuses the classifier of the "
           "model before it, trained by the same recipe. The full command should give the same model; it was not "
           "re-run as one piece."
           if c.get("kept") else
           f"took {report['seconds'] / 60:.0f} min on a 2-core CPU (features cached under `~/.cache/paravox/features`)."
           if "full_run_seconds" not in d else
           f"the full run took {d['full_run_seconds'] / 60:.0f} min on a 2-core CPU. This copy's classifier was then "
           f"retrained alone ({report['seconds'] / 60:.0f} min) with the same command plus `--keep-detector "
           "src/paravox/vocal_events/weights`, which reuses the detector. The detector does not depend on the "
           "classifier and its training is deterministic, so the full command should give the same model; it was "
           "not re-run for this copy."),
        "",
    ]
    return "\n".join(lines)
