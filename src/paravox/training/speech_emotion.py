"""Training the emotion head (needs the ``train`` extra: scikit-learn). Never imported by inference.

The head is a multinomial logistic regression on standardised pooled features
(:mod:`paravox.speech_emotion.features`), with class-balanced weights (the benchmarks rank by UA),
optionally preceded by one hidden layer. Its logits are divided by a temperature fitted
on held-out speakers, so the scores are calibrated probabilities. The result is an
:class:`~paravox.speech_emotion.model.EmotionModel`, saved as ``config.json`` + ``weights.npz``.

``train_from_manifest`` is what ``paravox train emotion`` runs on a user's JSONL
manifest (``audio``, ``label``, optional ``speaker``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from paravox.errors import ParavoxError
from paravox.speech_emotion.features import FeatureConfig
from paravox.speech_emotion.model import EmotionModel, softmax
from paravox.training.feature_cache import extract_files


def _sklearn():
    try:
        import sklearn  # noqa: F401
        from sklearn.linear_model import LogisticRegression
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("training needs scikit-learn: pip install 'paravox[train]'") from exc
    return LogisticRegression


@dataclass
class HeadOptions:
    """Hyper-parameters of the classifier head (saved in the model's config)."""

    C: float = 0.01
    hidden: int = 0  # 0: linear softmax; >0: one ReLU hidden layer (scikit-learn MLP)
    max_iter: int = 300
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"C": self.C, "hidden": self.hidden, "max_iter": self.max_iter, "seed": self.seed}


def standardiser(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale < 1e-6] = 1.0
    return mean.astype(np.float32), scale.astype(np.float32)


def fit_head(X: np.ndarray, y: np.ndarray, n_classes: int, opts: HeadOptions,
             sample_weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """Fit standardisation + head. ``y`` holds class indices ``0..n_classes-1``.

    Returns ``(mean, scale, layers)`` in :class:`EmotionModel`'s layout. Classes missing
    from ``y`` get a bias of -30 (never predicted) so that the weights still score every label.
    """
    mean, scale = standardiser(X)
    Z = (X - mean) / scale
    present = np.unique(y)
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    w = (len(y) / (len(present) * counts[y]))  # balanced class weights
    if sample_weight is not None:
        w = w * sample_weight
    if opts.hidden:
        from sklearn.neural_network import MLPClassifier

        # MLPClassifier has no sample weights: resample to balance classes instead.
        rng = np.random.default_rng(opts.seed)
        per = int(counts[present].max())
        idx = np.concatenate([rng.choice(np.flatnonzero(y == c), per, replace=True) for c in present])
        mlp = MLPClassifier(hidden_layer_sizes=(opts.hidden,), alpha=1.0 / opts.C / len(y), max_iter=opts.max_iter,
                            early_stopping=False, random_state=opts.seed)
        mlp.fit(Z[idx], y[idx])
        W0, b0 = mlp.coefs_[0], mlp.intercepts_[0]
        W1, b1 = _full_classes(mlp.coefs_[1], mlp.intercepts_[1], mlp.classes_, n_classes)
        return mean, scale, [(W0.astype(np.float32), b0.astype(np.float32)), (W1, b1)]
    LogisticRegression = _sklearn()
    clf = LogisticRegression(C=opts.C, max_iter=opts.max_iter, tol=1e-4)
    clf.fit(Z, y, sample_weight=w)
    coef, intercept = clf.coef_, clf.intercept_
    if len(clf.classes_) == 2:  # binary: sklearn keeps one row; make it two symmetric logits
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    W, b = _full_classes(coef.T, intercept, clf.classes_, n_classes)
    return mean, scale, [(W, b)]


def _full_classes(W: np.ndarray, b: np.ndarray, classes: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    Wf = np.zeros((W.shape[0], n), dtype=np.float32)
    bf = np.full(n, -30.0, dtype=np.float32)
    Wf[:, classes] = W
    bf[classes] = b
    return Wf, bf


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature minimising the negative log-likelihood of held-out ``logits``."""
    grid = np.exp(np.linspace(np.log(0.05), np.log(20.0), 121))
    best, best_nll = 1.0, np.inf
    idx = np.arange(len(y))
    for t in grid:
        p = softmax(logits / t)
        nll = -np.mean(np.log(p[idx, y] + 1e-12))
        if nll < best_nll:
            best, best_nll = float(t), nll
    return best


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """ECE over ``bins`` equal-width confidence bins (top-label calibration)."""
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    edges = np.linspace(0, 1, bins + 1)
    ece = 0.0
    for a, b in zip(edges[:-1], edges[1:]):
        m = (conf > a) & (conf <= b)
        if m.any():
            ece += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(ece)


def group_folds(groups: Sequence[str], k: int, seed: int = 0) -> list[np.ndarray]:
    """``k`` folds of item indices with no group split across folds (deterministic)."""
    groups = np.asarray([str(g) for g in groups])
    uniq = sorted(set(groups))
    rng = np.random.default_rng(seed)
    order = list(rng.permutation(len(uniq)))
    k = max(2, min(k, len(uniq)))
    buckets: list[list[str]] = [[] for _ in range(k)]
    sizes = [0] * k
    counts = {g: int((groups == g).sum()) for g in uniq}
    for i in sorted(order, key=lambda i: -counts[uniq[i]]):  # greedy: largest groups first
        j = int(np.argmin(sizes))
        buckets[j].append(uniq[i])
        sizes[j] += counts[uniq[i]]
    return [np.flatnonzero(np.isin(groups, b)) for b in buckets]


def balanced_accuracy(y: np.ndarray, pred: np.ndarray) -> float:
    classes = np.unique(y)
    return float(np.mean([np.mean(pred[y == c] == c) for c in classes]))


def select_head(X: np.ndarray, y: np.ndarray, groups: Sequence[str], n_classes: int,
                grid: Sequence[HeadOptions], k: int = 3, seed: int = 0) -> tuple[HeadOptions, dict[str, float]]:
    """Pick head options by UA in ``k``-fold group (speaker) cross-validation on ``X`` only."""
    folds = [f for f in group_folds(groups, k, seed) if 0 < len(f) < len(y)]
    if not folds:  # one group only: nothing to cross-validate on
        return grid[0], {}
    scores: dict[str, float] = {}
    best, best_ua = grid[0], -1.0
    for opts in grid:
        uas = []
        for test in folds:
            train = np.setdiff1d(np.arange(len(y)), test)
            mean, scale, layers = fit_head(X[train], y[train], n_classes, opts)
            z = _logits(X[test], mean, scale, layers)
            uas.append(balanced_accuracy(y[test], z.argmax(axis=1)))
        ua = float(np.mean(uas))
        scores[json.dumps(opts.to_dict(), sort_keys=True)] = ua
        if ua > best_ua + 1e-9:
            best, best_ua = opts, ua
    return best, scores


def _logits(X: np.ndarray, mean: np.ndarray, scale: np.ndarray, layers) -> np.ndarray:
    h = (X - mean) / scale
    for i, (w, b) in enumerate(layers):
        h = h @ w + b
        if i < len(layers) - 1:
            h = np.maximum(h, 0)
    return h


# --------------------------------------------------------------------------- manifests


@dataclass
class Item:
    audio: str
    label: str | None
    speaker: str | None = None
    id: str | None = None
    targets: tuple[float, ...] = ()


class ManifestError(ParavoxError, ValueError):
    """A training manifest that cannot be used; names the file and line."""


def read_manifest(path: str | Path, label_field: str = "label", targets: Sequence[str] = ()) -> list[Item]:
    """``audio`` (relative to the manifest), ``label``, optional ``speaker`` and ``id`` per line.
    With ``targets`` (numeric column names), each line needs those numbers and ``label`` is
    optional (None where absent)."""
    # parsing and its errors, as for every JSONL input
    from paravox.evaluation.io import EvaluationInputError, read_jsonl

    path = Path(path)
    try:
        records = read_jsonl(path)
    except EvaluationInputError as exc:
        raise ManifestError(str(exc)) from None
    items = []
    for record in records:
        row = record.data
        if "audio" not in row or (label_field not in row and not targets):
            need = "'audio'" if targets else f"'audio' and '{label_field}'"
            raise ManifestError(f"{path}:{record.line}: each line needs {need}")
        values = []
        for name in targets:
            v = row.get(name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
                raise ManifestError(f"{path}:{record.line}: --targets needs a number in '{name}', got {v!r}")
            values.append(float(v))
        audio = Path(str(row["audio"])).expanduser()
        audio = audio if audio.is_absolute() else path.resolve().parent / audio
        spk = row.get("speaker")
        label = row.get(label_field)
        items.append(Item(str(audio), None if label is None else str(label), None if spk is None else str(spk),
                          row.get("id"), tuple(values)))
    return items


# --------------------------------------------------------------------------- training


@dataclass
class TrainReport:
    labels: list[str]
    n_train: int
    n_val: int
    val_ua: float | None
    val_wa: float | None
    temperature: float
    ece_before: float | None
    ece_after: float | None
    options: dict[str, Any]
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


def train_model(
    X: np.ndarray,
    labels: Sequence[str],
    y_names: Sequence[str],
    groups: Sequence[str] | None,
    features: FeatureConfig,
    *,
    head: HeadOptions | None = None,
    grid: Sequence[HeadOptions] | None = None,
    val_fraction: float = 0.2,
    seed: int = 0,
    X_extra: np.ndarray | None = None,
    extra_index: np.ndarray | None = None,
    info: dict[str, Any] | None = None,
) -> tuple[EmotionModel, TrainReport]:
    """Train a model on feature rows ``X`` with string labels ``y_names`` (all in ``labels``).

    A speaker-independent validation part (about ``val_fraction`` of the items, whole
    groups; a stratified random part when ``groups`` is None) selects the head options from
    ``grid`` (if given) and fits the temperature; then the head is refitted on everything
    and keeps that temperature. ``X_extra`` are augmented copies of rows ``extra_index``
    (same labels), used for fitting only, never for validation.
    """
    started = time.perf_counter()
    labels = list(labels)
    index = {l: i for i, l in enumerate(labels)}
    unknown = sorted({l for l in y_names if l not in index})
    if unknown:
        raise ValueError(f"labels {unknown} are not in the label set {labels}")
    y = np.array([index[l] for l in y_names])
    n = len(y)
    rng = np.random.default_rng(seed)
    if groups is not None and len(set(groups)) >= 3:
        k = max(2, int(round(1 / max(val_fraction, 1e-3))))
        folds = group_folds(groups, k, seed)
        val = folds[0]
    else:
        val = np.concatenate([rng.permutation(np.flatnonzero(y == c))[: max(1, int(round(val_fraction * (y == c).sum())))]
                              for c in np.unique(y) if (y == c).sum() >= 2]) if n >= 10 else np.zeros(0, dtype=int)
    fit = np.setdiff1d(np.arange(n), val)
    g = np.asarray(groups if groups is not None else [str(i % 5) for i in range(n)])

    def with_extra(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if X_extra is None:
            return X[rows], y[rows]
        keep = np.isin(extra_index, rows)
        return np.vstack([X[rows], X_extra[keep]]), np.concatenate([y[rows], y[extra_index[keep]]])

    head = head or HeadOptions(seed=seed)
    scores: dict[str, float] = {}
    if grid and len(fit) >= 10:
        head, scores = select_head(X[fit], y[fit], g[fit], len(labels), grid, k=3, seed=seed)
    temperature, val_ua, val_wa, ece0, ece1 = 1.0, None, None, None, None
    if len(val):
        Xf, yf = with_extra(fit)
        mean, scale, layers = fit_head(Xf, yf, len(labels), head)
        z = _logits(X[val], mean, scale, layers)
        temperature = fit_temperature(z, y[val])
        pred = z.argmax(axis=1)
        val_ua, val_wa = balanced_accuracy(y[val], pred), float(np.mean(pred == y[val]))
        ece0 = expected_calibration_error(softmax(z), y[val])
        ece1 = expected_calibration_error(softmax(z / temperature), y[val])
    Xa, ya = with_extra(np.arange(n))
    mean, scale, layers = fit_head(Xa, ya, len(labels), head)
    report = TrainReport(labels, n, len(val), val_ua, val_wa, temperature, ece0, ece1, head.to_dict(),
                         round(time.perf_counter() - started, 2), {"selection": scores} if scores else {})
    model = EmotionModel(tuple(labels), features, mean, scale, layers, temperature=temperature,
                         info={**(info or {}), "head": head.to_dict(), "validation": {
                             "items": int(len(val)), "ua": val_ua, "wa": val_wa,
                             "ece_before_temperature": ece0, "ece_after_temperature": ece1}})
    return model, report


DEFAULT_GRID = (HeadOptions(C=0.001), HeadOptions(C=0.003), HeadOptions(C=0.01), HeadOptions(C=0.03))


def train_from_manifest(
    manifest: str | Path,
    out_dir: str | Path,
    *,
    features: FeatureConfig | None = None,
    labels: Sequence[str] | None = None,
    head: HeadOptions | None = None,
    select: bool = True,
    augment: bool = False,
    seed: int = 0,
    progress: bool = False,
    targets: Sequence[str] = (),
    speaker_norm: bool = False,
) -> TrainReport:
    """Train on a JSONL manifest (``audio``, ``label``, optional ``speaker``); write ``out_dir``.

    ``speaker_norm`` trains a head for ``paravox emotion --speaker-norm``: every line needs a
    ``speaker``, each speaker at least :data:`~paravox.speech_emotion.speaker_norm.MIN_CLIPS`
    clips, and every speaker's feature vectors are standardised by its own before training.

    The label set is the sorted set of labels in the manifest unless ``labels`` is given
    (then every manifest label must be in it).

    ``targets`` (numeric column names, e.g. ``("valence", "arousal")``) adds a dimensional head
    (:mod:`paravox.training.emotion_dimensions`). When no line has a ``label``, the classifier
    is the shipped one, kept as it is, and the head may read its scores (``stack``); when the
    classifier is trained here, on these same clips, it does not.
    """
    from paravox.speech_emotion.model import default_model_dir

    items = read_manifest(manifest, targets=targets)
    if targets:
        top = max(abs(v) for it in items for v in it.targets)
        if top > 1:
            raise ManifestError(f"{manifest}: --targets values must lie in [-1, 1] (the range the head predicts); "
                                f"found {top:g}: rescale the column first")
    has_labels = [it.label is not None for it in items]
    if speaker_norm:
        from paravox.speech_emotion.speaker_norm import MIN_CLIPS

        unnamed = [it.id or it.audio for it in items if not it.speaker]
        if unnamed:
            raise ManifestError(f"{manifest}: --speaker-norm needs a 'speaker' on every line; {unnamed[0]} has none")
        if not all(has_labels):
            raise ManifestError(f"{manifest}: --speaker-norm trains a classifier; every line needs a 'label'")
        counts: dict[str, int] = {}
        for it in items:
            counts[it.speaker] = counts.get(it.speaker, 0) + 1
        few = sorted(s for s, n in counts.items() if n < MIN_CLIPS)
        if few:
            raise ManifestError(f"{manifest}: --speaker-norm needs at least {MIN_CLIPS} clips of each speaker; "
                                f"speaker {few[0]!r} has {counts[few[0]]}")
    if targets and not any(has_labels):
        ignored = [name for name, given in (("--labels", labels), ("--C", head), ("--augment", augment)) if given]
        if ignored:
            raise ManifestError(f"{manifest}: no line has a 'label', so only --targets are trained (on top of the "
                                f"shipped classifier) and {', '.join(ignored)} would do nothing; drop "
                                f"{'them' if len(ignored) > 1 else 'it'} or add labels")
        return _train_dimensions_only(manifest, out_dir, items, targets, progress)
    if not all(has_labels):
        where = items[has_labels.index(False)].id or items[has_labels.index(False)].audio
        raise ManifestError(f"{manifest}: {where} has no 'label' while other lines do; give every line a label, "
                            "or none (then only --targets are trained, on top of the shipped classifier)")
    if features is None:
        try:
            features = FeatureConfig.from_dict(json.loads((default_model_dir() / "config.json").read_text())["features"])
        except (OSError, KeyError, ValueError):
            features = FeatureConfig()
    names = [it.label for it in items]
    label_set = list(labels) if labels else sorted(set(names))
    if len(set(names)) < 2:
        raise ValueError(f"{manifest}: needs at least two different labels, found {sorted(set(names))}")
    X = extract_files([it.audio for it in items], features, progress=progress)
    Xe = ei = None
    if augment:
        Xe = extract_files([it.audio for it in items], features, augment="noise", seed=seed, progress=progress)
        ei = np.arange(len(items))
    groups = [it.speaker for it in items] if all(it.speaker for it in items) else None
    if speaker_norm:
        from paravox.speech_emotion.speaker_norm import standardise_by_speaker

        X = standardise_by_speaker(X, groups)
        Xe = standardise_by_speaker(Xe, groups) if Xe is not None else None
    model, report = train_model(X, label_set, names, groups, features, head=head,
                                grid=DEFAULT_GRID if select and head is None else None, seed=seed,
                                X_extra=Xe, extra_index=ei,
                                info={"trained_on": str(manifest), "items": len(items), "augment": augment})
    model.speaker_norm = speaker_norm
    if targets:
        model, dims = _attach_targets(model, X, items, targets, groups, stack=False, manifest=manifest)
        report.extra["dimensions"] = dims
    model.save(out_dir)
    (Path(out_dir) / "train_report.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    return report


def _attach_targets(model: EmotionModel, X: np.ndarray, items: Sequence[Item], targets: Sequence[str],
                    groups: Sequence[str] | None, *, stack: bool, manifest: str | Path) -> tuple[EmotionModel, dict[str, Any]]:
    from paravox.training.emotion_dimensions import attach

    Y = np.array([it.targets for it in items], dtype=np.float64)
    return attach(model, X, Y, list(targets), groups, stack=stack, info={"trained_on": str(manifest)})


def _train_dimensions_only(manifest: str | Path, out_dir: str | Path, items: Sequence[Item], targets: Sequence[str],
                           progress: bool) -> TrainReport:
    from paravox.speech_emotion.model import load_model

    started = time.perf_counter()
    if len(items) < 5:
        raise ManifestError(f"{manifest}: {len(items)} item(s); a dimensional head needs at least 5")
    base = load_model()
    X = extract_files([it.audio for it in items], base.features, progress=progress)
    groups = [it.speaker for it in items] if all(it.speaker for it in items) else None
    model, dims = _attach_targets(base, X, items, targets, groups, stack=True, manifest=manifest)
    model.info = {**model.info, "classifier": "the shipped paravox-emotion classifier, unchanged"}
    model.save(out_dir)
    report = TrainReport(list(model.labels), len(items), 0, None, None, model.temperature, None, None, {},
                         round(time.perf_counter() - started, 2), {"dimensions": dims})
    (Path(out_dir) / "train_report.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    return report
