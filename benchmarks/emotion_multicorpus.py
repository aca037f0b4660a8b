"""Train (and measure) the shipped nine-label emotion model on CASIA + EmoDB + RAVDESS.

    python benchmarks/emotion_multicorpus.py --eval      # held-out-speaker figures (model card)
    python benchmarks/emotion_multicorpus.py --ship      # train on everything, write the model
    python benchmarks/emotion_multicorpus.py --eval --predictions A.jsonl   # also every held-out clip
    python benchmarks/emotion_multicorpus.py --compare A.jsonl B.jsonl      # B against A, bootstrap over speakers

Labels are mapped to emotion2vec's nine with ``paravox.bench.speech_emotion.LABEL_MAPS``.

``--eval`` runs six rounds; round k holds out, from training, RAVDESS fold k's test actors,
EmoDB speaker group k (two of its ten speakers) and, in rounds 1-4, CASIA fold k's
speaker; every held-out speaker is scored once, by a model that never heard them, on clean
audio and on noise-augmented copies (5-25 dB SNR, -12..+6 dB gain). The head's C and the
temperature are chosen inside each round's training data exactly as for the shipped model
(speaker-grouped CV, a held-out speaker part).

``--speed train|test|both`` (issue 22, 2026-12-06): 0.9x and 1.1x speed copies of every clip
(Kaldi's recipe, as ``paravox bench emotion --augment speed90 speed110``) join the training
rows (``train``), or the calibrated probabilities of a held-out clip are averaged over it and
its two copies (``test``: test-time augmentation), or both.

``--speaker-norm`` (issue 22, 2026-12-06): every speaker's feature vectors standardised by that
speaker's own mean and deviation (:mod:`paravox.speech_emotion.speaker_norm`), in training and
for each held-out speaker (from its own clips: transductive, the opt-in ``paravox emotion
--speaker-norm``); ``--norm-clips K`` gives each held-out speaker as K of its clips drawn at
random (seeded, 5 draws): standardised by themselves and scored, as a user with K clips would
get, to measure how many a user must give; ``--norm-skew neutral`` as a set half neutral (all its
neutral clips, as many others), to measure a set that leans to one emotion. ``--ship --speaker-norm`` writes
the head that option reads.

``--extra-tava`` adds the TAVA clips whose affect names a label (enraged/annoyed = angry, ...)
to every training part. Measured 2026-12-04 with ``--no-augment`` (clean features only):
UA CASIA / EmoDB / RAVDESS 58.0 / 87.0 / 72.3 without, 56.9 / 86.8 / 71.6 with: not shipped. Deterministic; reads the feature cache that
``benchmarks/emotion_extract.py`` fills (computed on first use otherwise).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from paravox.bench.speech_emotion import LABEL_MAPS, load_corpus
from paravox.speech_emotion.features import FeatureConfig
from paravox.speech_emotion.model import EMOTION2VEC_LABELS, default_model_dir
from paravox.speech_emotion.speaker_norm import SHIPPED_DIR, standardise_by_speaker
from paravox.training.feature_cache import extract_files
from paravox.training.speech_emotion import HeadOptions, expected_calibration_error, train_model

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "emotion"
FEATURES = FeatureConfig(layers=(0, 1, 2, 3), prosody=True)
GRID = (HeadOptions(C=0.003), HeadOptions(C=0.01), HeadOptions(C=0.03))
CORPORA = ("casia", "emodb", "ravdess")
#: ``--extra-tava``: TAVA affects that name one of the nine labels (the rest are left out).
TAVA_LABELS = {"enraged": "angry", "annoyed": "angry", "happy": "happy", "joyful": "happy", "miserable": "sad",
               "depressed": "sad", "frightened": "fearful", "worried": "fearful", "contemptuous": "disgusted"}
EMODB_GROUPS = [("03", "08"), ("09", "10"), ("11", "12"), ("13", "14"), ("15", "16")]


SPEEDS = ("speed90", "speed110")
#: ``--norm-clips``: how many random draws of K clips per held-out speaker
NORM_DRAWS = 5


def load_all(data: Path, features: FeatureConfig, augment: bool, extra_tava: bool = False):
    for name in CORPORA + (("tava",) if extra_tava else ()):
        c = load_corpus(data / name) if name != "tava" else _tava(data / name)
        X = extract_files(c.paths, features, progress=True)
        Xn = extract_files(c.paths, features, augment="noise", progress=True) if augment else None
        yield name, c, X, Xn


def speed_copies(corpora, features: FeatureConfig) -> list[np.ndarray]:
    """The 0.9x and 1.1x copies' features, rows in :func:`gather`'s order."""
    return [np.vstack([extract_files(c.paths, features, augment=a, progress=True) for c in corpora.values()])
            for a in SPEEDS]


def _tava(folder: Path):
    """TAVA's clips whose affect names one of the nine labels, as a corpus (training rows only)."""
    from paravox.bench.speech_emotion import Corpus

    rows = [json.loads(x) for x in (folder / "manifest.jsonl").read_text().splitlines() if x.strip()]
    rows = [{**r, "label": r["affect"]} for r in rows if r["affect"] in TAVA_LABELS]
    return Corpus("tava", folder, rows, {})


def gather(data: Path, features: FeatureConfig, augment: bool, extra_tava: bool = False):
    meta, Xs, Xns, corpora = [], [], [], {}
    for name, c, X, Xn in load_all(data, features, augment, extra_tava):
        corpora[name] = c
        for r in c.rows:
            meta.append({"corpus": name, "id": r["id"], "speaker": f"{name}:{r.get('speaker')}",
                         "label": (TAVA_LABELS if name == "tava" else LABEL_MAPS[name])[r["label"]]})
        Xs.append(X)
        if Xn is not None:
            Xns.append(Xn)
    return meta, np.vstack(Xs), (np.vstack(Xns) if Xns else None), corpora


def held_out(round_k: int, meta, corpora) -> np.ndarray:
    ids = set()
    folds = {n: c.folds for n, c in corpora.items()}
    ids |= set(folds["ravdess"][str(round_k)]["test"])
    if round_k <= 4:
        ids |= set(folds["casia"][str(round_k)]["test"])
    speakers = {f"emodb:{s}" for s in EMODB_GROUPS[round_k - 1]} if round_k <= 5 else set()
    return np.array([i for i, m in enumerate(meta) if m["id"] in ids or m["speaker"] in speakers])


def fit(meta, X, Xn, rows: np.ndarray, seed: int = 0, speeds: list[np.ndarray] | None = None):
    names = [meta[i]["label"] for i in rows]
    groups = [meta[i]["speaker"] for i in rows]
    copies = ([Xn] if Xn is not None else []) + (speeds or [])
    return train_model(X[rows], EMOTION2VEC_LABELS, names, groups, FEATURES, grid=GRID, seed=seed,
                       X_extra=np.vstack([c[rows] for c in copies]) if copies else None,
                       extra_index=np.tile(np.arange(len(rows)), len(copies)) if copies else None)


def by_speaker(meta, X: np.ndarray, clips: int | None = None, seed: int = 0, skew: str | None = None,
               chosen: set | None = None) -> np.ndarray:
    """``X`` standardised per speaker; with ``clips``, each speaker's statistics from that many of
    its clips drawn at random (all of them when it has fewer); with ``skew`` (a label), from all
    its clips of that label and as many of its other clips drawn at random: a set half of one
    emotion, as a mostly calm recording would be. ``chosen`` (a set) receives the rows the
    statistics came from: the clips a user would have given, the only ones then scored."""
    spk = np.array([m["speaker"] for m in meta])
    stats = None
    if clips or skew:
        rng = np.random.default_rng(seed)
        stats = {}
        for s in sorted(set(spk.tolist())):
            rows = np.flatnonzero(spk == s)
            if skew:
                own = np.array([i for i in rows if meta[i]["label"] == skew], dtype=int)
                rest = rng.permutation(np.setdiff1d(rows, own))[:len(own)]
                stats[s] = np.sort(np.concatenate([own, rest])) if len(own) else rows
            else:
                stats[s] = np.sort(rng.permutation(rows)[:clips])
    if chosen is not None and stats:
        chosen.update(int(i) for rows in stats.values() for i in rows)
    return standardise_by_speaker(X, spk.tolist(), stats_rows=stats)


def evaluate(args) -> dict:
    from paravox.evaluation.classification import evaluate_classification

    meta, X, Xn, corpora = gather(Path(args.data), FEATURES, args.augment, args.extra_tava)
    speeds = speed_copies(corpora, FEATURES) if args.speed else None
    few: dict[str, list[tuple[np.ndarray, set]]] = {}
    if args.speaker_norm:  # every speaker standardised by all its clips; --norm-clips: held-out ones by K of them
        for d in range(NORM_DRAWS):  # each draw: the clips a user gives, standardised by themselves
            for name, kw in [(f"{K} clips", {"clips": K}) for K in args.norm_clips or []] + \
                            [(f"half {label}", {"skew": label}) for label in args.norm_skew or []]:
                given: set = set()
                few.setdefault(name, []).append((by_speaker(meta, X, seed=d, chosen=given, **kw), given))
        X = by_speaker(meta, X)
        Xn = by_speaker(meta, Xn) if Xn is not None else None
        speeds = [by_speaker(meta, s) for s in speeds] if speeds else None
    few_ua: dict[str, dict[str, list]] = {K: {n: [[] for _ in range(NORM_DRAWS)] for n in CORPORA} for K in few}
    per = {n: {"ref": [], "clean": [], "noisy": [], "p_clean": [], "y": []} for n in CORPORA}
    rounds = []
    for k in range(1, 7):
        t = time.perf_counter()
        test = held_out(k, meta, corpora)
        train = np.setdiff1d(np.arange(len(meta)), test)
        model, report = fit(meta, X, Xn, train, speeds=speeds if args.speed in ("train", "both") else None)
        pc = model.predict_proba(X[test])
        for K, draws in few.items():  # the same model, each held-out speaker known by K of its clips
            for d, (Xk, given) in enumerate(draws):
                rows = np.array([i for i in test if i in given], dtype=int)
                for i, lab in zip(rows, model.predict(Xk[rows])):
                    few_ua[K][meta[i]["corpus"]][d].append((meta[i]["label"], lab))
        if args.speed in ("test", "both"):  # test-time augmentation: the clip and its two copies, averaged
            pc = (pc + sum(model.predict_proba(s[test]) for s in speeds)) / (1 + len(speeds))
        pn = model.predict_proba(Xn[test]) if Xn is not None else None
        for j, i in enumerate(test):
            d = per[meta[i]["corpus"]]
            d["ref"].append(meta[i]["label"])
            d["clean"].append(model.labels[int(pc[j].argmax())])
            d["p_clean"].append(pc[j])
            d["y"].append(model.labels.index(meta[i]["label"]))
            d.setdefault("clips", []).append({"id": meta[i]["id"], "speaker": meta[i]["speaker"], "round": k,
                                              "ref": meta[i]["label"], "pred": d["clean"][-1]})
            if pn is not None:
                d["noisy"].append(model.labels[int(pn[j].argmax())])
        rounds.append({"round": k, "n_train": int(len(train)), "n_test": int(len(test)), "C": report.options["C"],
                       "temperature": report.temperature, "seconds": round(time.perf_counter() - t, 1)})
        print(f"round {k}: train {len(train)}, held out {len(test)}, C {report.options['C']}, "
              f"T {report.temperature:.2f} ({time.perf_counter() - t:.0f} s)", file=sys.stderr, flush=True)
    out = {"features": FEATURES.to_dict(), "augment": args.augment, "speed": args.speed,
           "speaker_norm": args.speaker_norm, "norm_clips": args.norm_clips, "rounds": rounds, "corpora": {}}
    for n in CORPORA:
        d = per[n]
        r = evaluate_classification(d["ref"], d["clean"])
        entry = {"n": r.n, "ua": r.ua, "wa": r.wa, "macro_f1": r.macro_f1, "weighted_f1": r.weighted_f1,
                 "ece": expected_calibration_error(np.array(d["p_clean"]), np.array(d["y"])),
                 "labels": list(r.labels), "confusion": r.confusion.tolist()}
        if d["noisy"]:
            rn = evaluate_classification(d["ref"], d["noisy"])
            entry["noisy"] = {"ua": rn.ua, "wa": rn.wa, "macro_f1": rn.macro_f1}
        out["corpora"][n] = entry
    for K in few:  # UA per corpus, mean and spread over the draws of K clips
        out.setdefault("norm_clips_ua", {})[K] = {
            n: [evaluate_classification([a for a, _ in pairs], [b for _, b in pairs]).ua for pairs in few_ua[K][n]]
            for n in CORPORA}
    if args.predictions:  # one line per held-out clip, for --compare
        with open(args.predictions, "w", encoding="utf-8") as f:
            for n in CORPORA:
                for row in per[n].get("clips", []):
                    f.write(json.dumps({"corpus": n, **row}) + "\n")
    return out


def compare(a_path: str, b_path: str, resamples: int = 2000, seed: int = 0) -> str:
    """UA of two ``--predictions`` files on the same clips, per corpus, with a paired bootstrap
    over held-out speakers: the speakers are drawn with replacement (each with all its clips,
    in both runs), UA of A and of B computed on the draw; the 95% interval of B - A and the share
    of draws where B beats A. Speakers, not clips, are the unit that varies between corpora."""
    from paravox.evaluation.classification import evaluate_classification

    def load(path):
        rows = [json.loads(x) for x in Path(path).read_text().splitlines() if x.strip()]
        return {(r["corpus"], r["id"]): r for r in rows}

    a, b = load(a_path), load(b_path)
    if set(a) != set(b):
        raise SystemExit(f"{a_path} and {b_path} do not hold the same clips ({len(a)} and {len(b)})")
    rng = np.random.default_rng(seed)
    lines = [f"A = {a_path}", f"B = {b_path}",
             f"paired bootstrap over held-out speakers, {resamples} draws, seed {seed}", "",
             "| corpus | speakers | clips | UA A | UA B | B - A | 95% interval of B - A | draws B > A |",
             "|---|---|---|---|---|---|---|---|"]
    for corpus in CORPORA:
        keys = sorted(k for k in a if k[0] == corpus)
        if not keys:
            continue
        by_spk: dict[str, list] = {}
        for k in keys:
            by_spk.setdefault(a[k]["speaker"], []).append(k)
        spk = sorted(by_spk)

        def ua(run, ks):
            return evaluate_classification([run[k]["ref"] for k in ks], [run[k]["pred"] for k in ks]).ua

        ua_a, ua_b = ua(a, keys), ua(b, keys)
        diffs = []
        for _ in range(resamples):
            ks = [k for j in rng.integers(0, len(spk), len(spk)) for k in by_spk[spk[j]]]
            diffs.append(ua(b, ks) - ua(a, ks))
        lo, hi = np.percentile(diffs, [2.5, 97.5])
        lines.append(f"| {corpus} | {len(spk)} | {len(keys)} | {100 * ua_a:.1f} | {100 * ua_b:.1f} | "
                     f"{100 * (ua_b - ua_a):+.1f} | {100 * lo:+.1f} .. {100 * hi:+.1f} | "
                     f"{100 * np.mean(np.array(diffs) > 0):.0f}% |")
    return "\n".join(lines)


def table(result: dict) -> str:
    lines = ["| corpus (held-out speakers) | clips | UA | WA | macro-F1 | ECE | UA, noisy copies |", "|---|---|---|---|---|---|---|"]
    for n, e in result["corpora"].items():
        noisy = f"{100 * e['noisy']['ua']:.1f}" if "noisy" in e else "-"
        lines.append(f"| {n} | {e['n']} | {100 * e['ua']:.1f} | {100 * e['wa']:.1f} | {100 * e['macro_f1']:.1f} | "
                     f"{e['ece']:.3f} | {noisy} |")
    if result.get("norm_clips_ua"):
        lines += ["", "| each held-out speaker given as (and scored on) | " + " | ".join(result["corpora"]) + " |",
                  "|---|" + "---|" * len(result["corpora"])]
        for K, per in result["norm_clips_ua"].items():
            lines.append(f"| {K} (UA, mean +- std over {NORM_DRAWS} draws) | "
                         + " | ".join(f"{100 * np.mean(v):.1f} +- {100 * np.std(v):.1f}" for v in per.values()) + " |")
        lines.append("| all its clips | " + " | ".join(f"{100 * e['ua']:.1f}" for e in result["corpora"].values()) + " |")
    return "\n".join(lines)


def ship(args) -> dict:
    meta, X, Xn, corpora = gather(Path(args.data), FEATURES, args.augment)
    if args.speed not in (None, "train"):
        raise SystemExit("--ship takes --speed train only (test-time copies are not part of the model)")
    speeds = speed_copies(corpora, FEATURES) if args.speed else None
    if args.speaker_norm:
        X, Xn = by_speaker(meta, X), (by_speaker(meta, Xn) if Xn is not None else None)
        speeds = [by_speaker(meta, s) for s in speeds] if speeds else None
    model, report = fit(meta, X, Xn, np.arange(len(meta)), speeds=speeds)
    model.speaker_norm = bool(args.speaker_norm)
    model.info.update({
        "trained_on": "CASIA (1200) + EmoDB (535) + RAVDESS actors 01-20 (1194), labels mapped to emotion2vec's nine",
        "label_maps": LABEL_MAPS,
        "command": "python benchmarks/emotion_multicorpus.py --ship" + (" --speed train" if args.speed else "")
        + (" --speaker-norm" if args.speaker_norm else ""),
        "augment": ("noise+gain copies" if args.augment else "none") + (", 0.9x+1.1x speed copies" if args.speed else ""),
    })
    out = Path(args.out or (SHIPPED_DIR if args.speaker_norm else default_model_dir()))
    model.save(out)
    print(f"wrote {out} (C {report.options['C']}, temperature {report.temperature:.2f}, "
          f"validation UA {100 * report.val_ua:.1f} on {report.n_val} held-out-speaker clips)")
    return report.to_dict()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--eval", action="store_true")
    ap.add_argument("--ship", action="store_true")
    ap.add_argument("--no-augment", dest="augment", action="store_false")
    ap.add_argument("--out", default=None, help="--ship: where to write the model (default: the shipped model's "
                    "folder; with --speaker-norm, src/paravox/speech_emotion/weights_speaker_norm)")
    ap.add_argument("-o", "--output", help="write the --eval figures as JSON")
    ap.add_argument("--extra-tava", action="store_true",
                    help="also train on TAVA clips whose affect names a label (never held out, never scored)")
    ap.add_argument("--layers", type=int, nargs="+", default=None, help="encoder blocks (default: 0 1 2 3)")
    ap.add_argument("--speed", choices=("train", "test", "both"), default=None,
                    help="0.9x/1.1x speed copies in training, averaged over at test time, or both (--ship: train only)")
    ap.add_argument("--speaker-norm", action="store_true",
                    help="standardise every speaker's features by its own clips (training and held-out speakers)")
    ap.add_argument("--norm-clips", type=int, nargs="+", default=None, metavar="K",
                    help="--eval --speaker-norm: also give each held-out speaker as K of its clips (5 random "
                    "draws), standardised by themselves and scored (the model is the same)")
    ap.add_argument("--norm-skew", nargs="+", default=None, metavar="LABEL",
                    help="--eval --speaker-norm: also give each held-out speaker as a set half LABEL (all its "
                    "LABEL clips and as many others), standardised by itself and scored")
    ap.add_argument("--predictions", metavar="PATH",
                    help="--eval: also write every held-out clip's label and prediction (JSON lines), for --compare")
    ap.add_argument("--compare", nargs=2, metavar=("A", "B"),
                    help="two --predictions files: UA per corpus with a paired bootstrap over held-out speakers")
    ap.add_argument("--resamples", type=int, default=2000, help="--compare: bootstrap draws (default 2000)")
    args = ap.parse_args()
    if args.compare:
        print(compare(*args.compare, resamples=args.resamples))
        return
    if args.layers:
        global FEATURES
        FEATURES = FeatureConfig(layers=tuple(args.layers), prosody=True)
    if args.eval:
        res = evaluate(args)
        print(table(res))
        if args.output:
            Path(args.output).write_text(json.dumps(res, indent=2) + "\n")
    if args.ship:
        ship(args)


if __name__ == "__main__":
    main()
