"""EmoBox-protocol benchmark of the emotion features, and the label maps of the corpora.

For one corpus folder (``manifest.jsonl`` + ``folds.json``, as in ``../shared/data/emotion``):
for each fold, the head is trained on the fold's training part and scored on its test
part; UA, WA, macro-F1 and weighted F1 are averaged over folds (EmoBox reports the mean
over folds). Hyper-parameters (the head's ``C`` and, with ``select_features``, the
encoder blocks and prosody) are chosen inside each fold by speaker-grouped
cross-validation on that fold's training part only: the test part is never looked at
until the fold's model is fixed.

Used by ``paravox bench emotion`` (needs the ``train`` extra) and by
``benchmarks/emotion_multicorpus.py``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from paravox.errors import ParavoxError
from paravox.evaluation.label_maps import load_label_map
from paravox.speech_emotion.features import FeatureConfig
from paravox.training.feature_cache import extract_files

#: Each corpus label -> emotion2vec's nine labels: the built-in label maps of ``paravox eval
#: emotion --label-map`` (``paravox/data/label_maps/``), so training and scoring map alike.
LABEL_MAPS: dict[str, dict[str, str]] = {
    name: {k: v for k, v in load_label_map(name).mapping.items() if v is not None} for name in ("casia", "emodb", "ravdess")
}

#: Published frozen-feature EmoBox figures (UA %, full-length originals), for the tables.
EMOBOX_PUBLISHED = {
    "casia": {"Whisper-large-v3": 59.6, "WavLM-large": 52.1},
    "emodb": {"WavLM-large": 92.6, "Whisper-large-v3": 91.3},
    "ravdess": {"Whisper-large-v3": 75.3, "WavLM-large": 72.0},
}


class CorpusError(ParavoxError, ValueError):
    """A corpus folder without a usable manifest.jsonl / folds.json."""


@dataclass
class Corpus:
    name: str
    folder: Path
    rows: list[dict[str, Any]]
    folds: dict[str, dict[str, list[str]]]

    @property
    def paths(self) -> list[str]:
        return [str(self.folder / r["audio"]) for r in self.rows]

    @property
    def labels(self) -> list[str]:
        return [str(r["label"]) for r in self.rows]

    @property
    def speakers(self) -> list[str]:
        return [str(r.get("speaker", r["id"])) for r in self.rows]


def load_corpus(folder: str | Path) -> Corpus:
    folder = Path(folder)
    man, folds = folder / "manifest.jsonl", folder / "folds.json"
    for p in (man, folds):
        if not p.is_file():
            raise CorpusError(f"{folder}: {p.name} is missing; a benchmark folder holds manifest.jsonl and folds.json")
    rows = [json.loads(line) for line in man.read_text(encoding="utf-8").splitlines() if line.strip()]
    for i, r in enumerate(rows, 1):
        if not {"id", "audio", "label"} <= r.keys():
            raise CorpusError(f"{man}:{i}: each line needs 'id', 'audio' and 'label'")
    data = json.loads(folds.read_text(encoding="utf-8"))
    ids = {r["id"] for r in rows}
    for k, f in data.items():
        if not isinstance(f, dict) or "train" not in f or "test" not in f:
            raise CorpusError(f"{folds}: fold {k} needs 'train' and 'test' id lists")
        unknown = (set(f["train"]) | set(f["test"])) - ids
        if unknown:
            raise CorpusError(f"{folds}: fold {k} names {len(unknown)} ids not in the manifest, e.g. {sorted(unknown)[0]}")
    return Corpus(folder.name, folder, rows, data)


# Candidate feature sets compared by inner cross-validation (``select_features``).
FEATURE_CANDIDATES = (
    FeatureConfig(layers=(2,), prosody=False),
    FeatureConfig(layers=(1, 2), prosody=False),
    FeatureConfig(layers=(1, 2), prosody=True),
    FeatureConfig(layers=(0, 1, 2, 3), prosody=True),
)


def run_benchmark(
    folder: str | Path,
    *,
    features: FeatureConfig | None = None,
    select_features: bool = False,
    grid: Sequence[float] = (0.001, 0.003, 0.01),
    inner_folds: int = 3,
    seed: int = 0,
    speaker_norm: bool = False,
    extra: Sequence[str | Path] = (),
    augment: Sequence[str] = (),
    progress: bool = False,
    log=None,
) -> dict[str, Any]:
    """Score one corpus by the EmoBox protocol. Returns a JSON-ready dict (per fold + mean).

    ``speaker_norm`` standardises each speaker's feature vectors by that speaker's own
    mean and deviation, computed separately within the training part and within the test
    part (so the test speaker's *unlabelled* clips are used: a transductive adaptation, not
    comparable with EmoBox's per-utterance figures; reported as a separate row).

    ``extra`` names other corpus folders whose clips are added to every training part
    (never to a test part), their labels carried over through :data:`LABEL_MAPS`; clips
    whose emotion the benchmarked corpus lacks are left out. This is multi-corpus training
    scored by the same per-corpus protocol.
    """
    from paravox.evaluation.classification import evaluate_classification
    from paravox.training.speech_emotion import HeadOptions, _logits, balanced_accuracy, fit_head, group_folds

    started = time.perf_counter()
    corpus = load_corpus(folder)
    features = features or FeatureConfig()
    candidates = list(FEATURE_CANDIDATES) if select_features else [features]
    widest = FeatureConfig(layers=tuple(sorted({x for c in candidates for x in c.layers})), prosody=True,
                           window_seconds=features.window_seconds)
    X_all = extract_files(corpus.paths, widest, progress=progress)
    augment = [a for a in augment if a != "clean"]
    X_aug = [extract_files(corpus.paths, widest, augment=a, seed=seed, progress=progress) for a in augment]

    def columns(cfg: FeatureConfig) -> np.ndarray:
        cols = []
        for layer in cfg.layers:
            j = widest.layers.index(layer)
            cols.append(np.arange(1024 * j, 1024 * (j + 1)))
        if cfg.prosody:
            cols.append(np.arange(1024 * len(widest.layers), widest.dim))
        return np.concatenate(cols)

    labels = sorted(set(corpus.labels))
    index = {l: i for i, l in enumerate(labels)}
    y = np.array([index[l] for l in corpus.labels])
    groups = np.array(corpus.speakers)
    X_extra, y_extra, extra_names = np.zeros((0, widest.dim), np.float32), np.zeros(0, int), []
    if extra:
        if corpus.name not in LABEL_MAPS:
            raise CorpusError(f"--extra needs a label map for {corpus.name}; known: {sorted(LABEL_MAPS)}")
        inv: dict[str, str] = {}
        for l in labels:
            m = LABEL_MAPS[corpus.name][l]
            if m not in inv or l == m:
                inv[m] = l
        xs, ys = [], []
        for folder_e in extra:
            other = load_corpus(folder_e)
            if other.name not in LABEL_MAPS or other.name == corpus.name:
                raise CorpusError(f"--extra {folder_e}: no label map for {other.name} (or it is the benchmarked corpus)")
            keep = [i for i, l in enumerate(other.labels) if LABEL_MAPS[other.name][l] in inv]
            Xo = extract_files([other.paths[i] for i in keep], widest, progress=progress)
            xs.append(Xo)
            ys += [index[inv[LABEL_MAPS[other.name][other.labels[i]]]] for i in keep]
            extra_names.append(f"{other.name} ({len(keep)} clips)")
        X_extra, y_extra = np.vstack(xs), np.array(ys)
    id_pos = {r["id"]: i for i, r in enumerate(corpus.rows)}
    folds_out = []
    X_raw, X_aug_raw = X_all, X_aug
    for name, fold in sorted(corpus.folds.items(), key=lambda kv: kv[0]):
        tr = np.array([id_pos[i] for i in fold["train"]])
        te = np.array([id_pos[i] for i in fold["test"]])
        if speaker_norm:
            X_all = X_raw.copy()
            X_aug = [x.copy() for x in X_aug_raw]
            for src, dst, parts in [(X_raw, X_all, (tr, te))] + [(a, b, (tr,)) for a, b in zip(X_aug_raw, X_aug)]:
                for part in parts:
                    for spk in set(groups[part]):
                        rows = part[groups[part] == spk]
                        dst[rows] = (src[rows] - src[rows].mean(0)) / (src[rows].std(0) + 1e-6)

        def train_rows(Xc_all: np.ndarray, cols: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """Training matrix and labels: ``rows``, their augmented copies, the extra corpora."""
            xs = [Xc_all[rows]] + [a[rows][:, cols] for a in X_aug] + [X_extra[:, cols]]
            return np.vstack(xs), np.concatenate([y[rows]] * (1 + len(X_aug)) + [y_extra])
        inner = group_folds(groups[tr], inner_folds, seed)
        best, best_ua, table = None, -1.0, {}
        for cfg in candidates:
            Xc = X_all[:, columns(cfg)]
            for C in grid:
                uas = []
                for val in inner:
                    fit = np.setdiff1d(np.arange(len(tr)), val)
                    m, s, layers = fit_head(*train_rows(Xc, columns(cfg), tr[fit]), len(labels), HeadOptions(C=C, seed=seed))
                    uas.append(balanced_accuracy(y[tr[val]], _logits(Xc[tr[val]], m, s, layers).argmax(1)))
                ua = float(np.mean(uas))
                table[f"layers={list(cfg.layers)} prosody={cfg.prosody} C={C:g}"] = round(ua, 4)
                if ua > best_ua + 1e-9:
                    best, best_ua = (cfg, C), ua
        cfg, C = best
        Xc = X_all[:, columns(cfg)]
        m, s, layers = fit_head(*train_rows(Xc, columns(cfg), tr), len(labels), HeadOptions(C=C, seed=seed))
        pred = _logits(Xc[te], m, s, layers).argmax(1)
        rep = evaluate_classification([labels[i] for i in y[te]], [labels[i] for i in pred], labels=labels)
        folds_out.append({
            "fold": name, "n_train": int(len(tr)), "n_test": int(len(te)),
            "chosen": {"layers": list(cfg.layers), "prosody": cfg.prosody, "C": C, "inner_ua": round(best_ua, 4)},
            "inner_cv": table,
            "ua": rep.ua, "wa": rep.wa, "macro_f1": rep.macro_f1, "weighted_f1": rep.weighted_f1,
            "confusion": rep.confusion.tolist(),
        })
        if log:
            log(f"{corpus.name} fold {name}: UA {100 * rep.ua:.1f}  WA {100 * rep.wa:.1f}  "
                f"(layers {list(cfg.layers)}, prosody {cfg.prosody}, C {C:g}; inner UA {100 * best_ua:.1f})")
    mean = {k: float(np.mean([f[k] for f in folds_out])) for k in ("ua", "wa", "macro_f1", "weighted_f1")}
    return {
        "corpus": corpus.name,
        "protocol": "EmoBox: per-corpus head trained on each fold's train part, scored on its test part; mean over folds",
        "labels": labels,
        "features": "selected per fold by inner CV" if select_features else features.to_dict(),
        "speaker_norm": speaker_norm,
        "extra_training_data": extra_names,
        "augment": list(augment),
        "grid": list(grid),
        "head": "class-balanced multinomial logistic regression on standardised features; C by inner speaker-grouped CV",
        "folds": folds_out,
        "mean": mean,
        "published_ua": EMOBOX_PUBLISHED.get(corpus.name, {}),
        "seconds": round(time.perf_counter() - started, 1),
    }


def markdown_table(results: Sequence[dict[str, Any]]) -> str:
    """One row per corpus: UA / WA / macro-F1 / weighted F1 (%, mean over folds) and the
    published EmoBox UA beside it."""
    lines = ["| corpus | setting | folds | UA | WA | macro-F1 | weighted F1 | EmoBox published UA |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        m = r["mean"]
        pub = ", ".join(f"{k} {v}" for k, v in r.get("published_ua", {}).items()) or "-"
        setting = "per-speaker norm. (transductive)" if r.get("speaker_norm") else "per utterance"
        if r.get("extra_training_data"):
            setting += " + " + ", ".join(x.split(" ")[0] for x in r["extra_training_data"])
        if r.get("augment"):
            setting += ", trained also on " + " + ".join(r["augment"]) + " copies"
        lines.append(f"| {r['corpus']} | {setting} | {len(r['folds'])} | {100 * m['ua']:.1f} | {100 * m['wa']:.1f} | "
                     f"{100 * m['macro_f1']:.1f} | {100 * m['weighted_f1']:.1f} | {pub} |")
    return "\n".join(lines)
