"""Does unlabelled speech help the emotion head? Self-training vs labelled-only, EmoBox folds.

    python benchmarks/experiments/emotion_semisupervised.py [--corpora casia emodb ravdess]
        [--fractions 0.1 0.25 0.5] [--seeds 0 1 2] [--extra-unlabelled] [--jobs 2] [--json out.json]

For each corpus and each fold of its ``folds.json``, only ``fraction`` of the fold's training
part keeps its labels (stratified per class, seeded); the rest of the training part is given
as unlabelled rows (with ``--extra-unlabelled`` also every clip of the other corpora and of
TAVA). Two heads are scored on the fold's test part:

- labelled-only: ``C`` chosen by 3-fold speaker-grouped CV on the labelled rows
  (``select_head`` over ``DEFAULT_GRID``, as ``train_model`` does), refit on them;
- self-trained: the same ``C``, then :func:`semisupervised.self_train` (beside this script).

UA (balanced accuracy) and WA are averaged over folds, as EmoBox does; the table gives
their mean and standard deviation over the label-subset seeds, and the paired
difference. The 100%-labels row is the labelled-only head on the whole training part.
Features: the shipped configuration (encoder blocks 0-3 + prosody), read from the feature
cache (``benchmarks/emotion_extract.py`` fills it). Deterministic.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # many small fits: threads only contend (10-30x slower on 2 busy cores)

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
DATA = ROOT / ".." / "shared" / "data" / "emotion"
CORPORA = ("casia", "emodb", "ravdess")
_DATA: dict = {}  # corpus -> (X, y, groups, n_classes, X_other); filled before the worker processes fork


def load(name: str, data: Path):
    from paravox.bench.speech_emotion import load_corpus
    from paravox.speech_emotion.features import FeatureConfig
    from paravox.training.feature_cache import extract_files

    c = load_corpus(data / name)
    X = extract_files(c.paths, FeatureConfig())
    labels = sorted(set(c.labels))
    y = np.array([labels.index(l) for l in c.labels])
    pos = {r["id"]: i for i, r in enumerate(c.rows)}
    folds = [(k, np.array([pos[i] for i in f["train"]]), np.array([pos[i] for i in f["test"]]))
             for k, f in sorted(c.folds.items())]
    return X, y, np.array(c.speakers), labels, folds


def load_other_audio(name: str, data: Path) -> np.ndarray:
    """Feature rows of every clip of the other corpora and TAVA (unlabelled extra audio)."""
    from paravox.speech_emotion.features import FeatureConfig
    from paravox.training.feature_cache import extract_files

    paths = []
    for other in sorted(p.name for p in data.iterdir() if (p / "manifest.jsonl").is_file()):
        if other == name:
            continue
        rows = [json.loads(line) for line in (data / other / "manifest.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
        paths += [str(data / other / r["audio"]) for r in rows]
    return extract_files(paths, FeatureConfig())


def label_subset(y: np.ndarray, fraction: float, seed: int, fold: str) -> np.ndarray:
    """Positions (into ``y``) that keep their label: ``fraction`` of each class, at least 2."""
    rng = np.random.default_rng([seed, int(fold)])
    keep = []
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        keep.append(rng.permutation(rows)[: max(2, int(round(fraction * len(rows))))])
    return np.sort(np.concatenate(keep))


def run_fold(task):
    """One (corpus, fold, fraction, seed): UA and WA of each head on the fold's test part."""
    from semisupervised import SelfTrainOptions, self_train
    from paravox.training.speech_emotion import (
        DEFAULT_GRID,
        _logits,
        balanced_accuracy,
        fit_head,
        select_head,
    )

    name, tr, te, fraction, seed, fold, st = task
    X, y, groups, n_classes, X_other = _DATA[name]
    lab = tr if fraction >= 1.0 else tr[label_subset(y[tr], fraction, seed, fold)]
    unlab = np.setdiff1d(tr, lab)
    head, _ = select_head(X[lab], y[lab], groups[lab], n_classes, DEFAULT_GRID, k=3, seed=0)

    def score(h):
        pred = _logits(X[te], *h).argmax(1)
        return balanced_accuracy(y[te], pred), float(np.mean(pred == y[te]))

    out = {"C": head.C, "n_lab": len(lab), "n_unlab": len(unlab),
           "labelled": score(fit_head(X[lab], y[lab], n_classes, head))}
    if fraction < 1.0:
        Xu = X[unlab] if X_other is None else np.vstack([X[unlab], X_other])
        for key, opts in st.items():
            out[key] = score(self_train(X[lab], y[lab], Xu, n_classes, head, SelfTrainOptions(**opts)))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpora", nargs="+", default=list(CORPORA), choices=CORPORA)
    ap.add_argument("--fractions", nargs="+", type=float, default=[0.1, 0.25, 0.5])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--share", type=float, default=1.0)
    ap.add_argument("--threshold", type=float, default=0.0)
    ap.add_argument("--weight", type=float, default=0.5)
    ap.add_argument("--sweep", action="store_true",
                    help="also score a grid of self-training knobs (for choosing them on one corpus)")
    ap.add_argument("--extra-unlabelled", action="store_true",
                    help="also give every clip of the other corpora and TAVA as unlabelled rows")
    ap.add_argument("--no-reference", action="store_true", help="skip the 100%%-labels row")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--json", type=Path, help="write every fold's figures here")
    args = ap.parse_args(argv)
    from semisupervised import SelfTrainOptions

    chosen = SelfTrainOptions(args.rounds, args.share, args.threshold, args.weight).to_dict()
    st = {"self-trained": chosen}
    if args.sweep:
        for rounds in (1, 3):
            for share in (0.25, 0.5, 1.0):
                for weight in (0.5, 1.0):
                    st[f"r{rounds} s{share:g} w{weight:g}"] = SelfTrainOptions(rounds, share, 0.0, weight).to_dict()
        st["r3 s1 w1 t0.5"] = SelfTrainOptions(3, 1.0, 0.5, 1.0).to_dict()
    started = time.perf_counter()
    tasks, keys = [], []
    for name in args.corpora:
        X, y, groups, labels, folds = load(name, args.data)
        X_other = load_other_audio(name, args.data) if args.extra_unlabelled else None
        _DATA[name] = (X, y, groups, len(labels), X_other)
        fractions = [(f, s) for f in args.fractions for s in args.seeds] + ([] if args.no_reference else [(1.0, 0)])
        for fraction, seed in fractions:
            for fold, tr, te in folds:
                tasks.append((name, tr, te, fraction, seed, fold, st))
                keys.append((name, fraction, seed, fold))
    if args.jobs > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("fork")) as pool:
            results = list(pool.map(run_fold, tasks, chunksize=1))
    else:
        results = [run_fold(t) for t in tasks]
    per = {}
    for (name, fraction, seed, fold), r in zip(keys, results):
        per.setdefault((name, fraction, seed), []).append(r)

    def fold_mean(rs, key, i):
        return float(np.mean([r[key][i] for r in rs]))

    print(f"self-training: {json.dumps(chosen)}; unlabelled = rest of the training part"
          + (" + the other corpora and TAVA" if args.extra_unlabelled else ""))
    print(f"UA / WA in % (mean over folds), mean ± std over seeds {args.seeds}; Δ = self-trained − labelled-only, paired by seed\n")
    print("| corpus | labels | labelled-only UA | self-trained UA | Δ UA | labelled-only WA | self-trained WA | Δ WA |")
    print("|---|---|---|---|---|---|---|---|")
    summary = []
    for name in args.corpora:
        for fraction in args.fractions:
            rows = [per[(name, fraction, s)] for s in args.seeds]
            cells = []
            for i in (0, 1):
                a = np.array([fold_mean(rs, "labelled", i) for rs in rows]) * 100
                b = np.array([fold_mean(rs, "self-trained", i) for rs in rows]) * 100
                cells += [f"{a.mean():.1f} ± {a.std():.1f}", f"{b.mean():.1f} ± {b.std():.1f}",
                          f"{(b - a).mean():+.1f} ± {(b - a).std():.1f}"]
                if i == 0:
                    summary.append({"corpus": name, "fraction": fraction, "labelled_ua": a.tolist(), "self_trained_ua": b.tolist()})
            print(f"| {name} | {100 * fraction:g}% | " + " | ".join([cells[0], cells[1], cells[2], cells[3], cells[4], cells[5]]) + " |")
        if not args.no_reference:
            rs = per[(name, 1.0, 0)]
            print(f"| {name} | 100% | {100 * fold_mean(rs, 'labelled', 0):.1f} | | | {100 * fold_mean(rs, 'labelled', 1):.1f} | | |")
    if args.sweep:
        print("\nknob sweep, Δ UA (self-trained − labelled-only), mean ± std over seeds:\n")
        print("| corpus | labels | " + " | ".join(st) + " |")
        print("|---|---|" + "---|" * len(st))
        for name in args.corpora:
            for fraction in args.fractions:
                rows = [per[(name, fraction, s)] for s in args.seeds]
                a = np.array([fold_mean(rs, "labelled", 0) for rs in rows]) * 100
                cells = []
                for key in st:
                    d = np.array([fold_mean(rs, key, 0) for rs in rows]) * 100 - a
                    cells.append(f"{d.mean():+.1f} ± {d.std():.1f}")
                print(f"| {name} | {100 * fraction:g}% | " + " | ".join(cells) + " |")
    print(f"\n{time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"options": chosen, "extra_unlabelled": args.extra_unlabelled, "summary": summary,
                                         "folds": [{"corpus": k[0], "fraction": k[1], "seed": k[2], "fold": k[3], **r}
                                                   for k, r in zip(keys, results)]}, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
