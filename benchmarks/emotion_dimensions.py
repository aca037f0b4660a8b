#!/usr/bin/env python3
"""Valence, arousal and dominance on TAVA, speaker-independent, and the shipped dimensional head.

    python benchmarks/emotion_dimensions.py --eval     # leave-one-speaker-out table (about 2 min)
    python benchmarks/emotion_dimensions.py --train    # fit on all 16 speakers, write the shipped head

``--eval``: for each of TAVA's 16 speakers, the head is chosen (ridge strength, whether the
classifier's log-probabilities are stacked, whether predictions are stretched to the targets'
spread) by leave-one-speaker-out on the other 15 only, fitted on them, and scores the held-out
speaker. The table pools those held-out predictions (CCC, Pearson, MAE per dimension), gives
the spread of per-speaker CCC, and the same for the ridge floor the issue quotes (alpha 100, no
stacking, no stretch). ``--train`` runs the same choice on all 16 speakers and writes ``D_W``,
``D_P``, ``D_b`` into ``src/paravox/speech_emotion/weights`` (the classifier is unchanged).

``--speaker-norm``: the same for the head ``paravox emotion --speaker-norm`` reads
(``src/paravox/speech_emotion/weights_speaker_norm``): every speaker's feature vectors
standardised by that speaker's own mean and deviation (:mod:`paravox.speech_emotion.speaker_norm`;
the held-out speaker's from its own 16 clips: transductive), the class scores stacked are that
head's; ``--train --speaker-norm`` writes the dimensional head into that folder.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TAVA = ROOT.parent / "shared" / "data" / "emotion" / "tava"


def load(model):
    from paravox.training.feature_cache import extract_files

    rows = [json.loads(line) for line in (TAVA / "manifest.jsonl").read_text().splitlines() if line.strip()]
    X = extract_files([str(TAVA / r["audio"]) for r in rows], model.features, progress=True)
    Y = np.array([[r[d] for d in ("valence", "arousal", "dominance")] for r in rows], dtype=np.float64)
    return X, Y, np.array([r["speaker"] for r in rows], dtype=object)


def metrics(pred: np.ndarray, Y: np.ndarray, spk: np.ndarray) -> dict[str, dict[str, float]]:
    from paravox.evaluation.classification import ccc

    out = {}
    for k, name in enumerate(("valence", "arousal", "dominance")):
        per = [ccc(pred[spk == s, k], Y[spk == s, k]) for s in sorted(set(spk))]
        out[name] = {"ccc": ccc(pred[:, k], Y[:, k]), "pearson": float(np.corrcoef(pred[:, k], Y[:, k])[0, 1]),
                     "mae": float(np.abs(pred[:, k] - Y[:, k]).mean()),
                     "ccc_speaker_mean": float(np.mean(per)), "ccc_speaker_std": float(np.std(per))}
    return out


def evaluate(model, X, Y, spk, speaker_norm: bool = False, quiet: bool = False) -> np.ndarray:
    """The held-out predictions of the shipped recipe (and the table, unless ``quiet``)."""
    from paravox.speech_emotion.model import log_probs
    from paravox.training.emotion_dimensions import DimensionOptions, fit, predict, select

    Z = (X - model.mean) / model.scale
    logp = log_probs(model.predict_proba(X))
    chosen, pred, floor = Counter(), np.zeros_like(Y), np.zeros_like(Y)
    for s in sorted(set(spk)):
        out = spk == s
        opts, _ = select(Z[~out], logp[~out], Y[~out], spk[~out].tolist())
        chosen[f"alpha={opts.alpha:g} stack={opts.stack} rescale={opts.rescale}"] += 1
        W, P, b = fit(Z[~out], logp[~out], Y[~out], spk[~out].tolist(), opts)
        pred[out] = np.clip(predict(Z[out], logp[out], W, P, b), -1, 1)
        W, P, b = fit(Z[~out], None, Y[~out], None, DimensionOptions(100.0, False, False))
        floor[out] = np.clip(predict(Z[out], None, W, P, b), -1, 1)
        print(f"  held out {s}: chose {opts.to_dict()}", file=sys.stderr, flush=True)
    if quiet:
        return pred
    print(f"TAVA, leave-one-speaker-out over {len(set(spk))} speakers, {len(Y)} clips"
          + (", features standardised per speaker (transductive)" if speaker_norm else "") + " "
          f"(pooled held-out predictions; per-speaker CCC as mean +- std)\n")
    print("| head | dimension | CCC | Pearson | MAE | CCC per speaker |")
    print("|---|---|---|---|---|---|")
    for title, p in (("ridge floor (alpha 100)", floor), ("shipped recipe (chosen per fold)", pred)):
        for name, m in metrics(p, Y, spk).items():
            print(f"| {title} | {name} | {m['ccc']:.3f} | {m['pearson']:.3f} | {m['mae']:.3f} | "
                  f"{m['ccc_speaker_mean']:.3f} +- {m['ccc_speaker_std']:.3f} |")
    print("\nchoices made by the inner loop:", dict(chosen))
    return pred


def paired(base: np.ndarray, new: np.ndarray, Y: np.ndarray, spk: np.ndarray) -> None:
    """Per-speaker CCC of ``new`` against ``base`` (the same held-out speakers): how many gain."""
    from paravox.evaluation.classification import ccc

    print("\n| dimension | per-speaker CCC, per utterance | with --speaker-norm | mean change | speakers better |")
    print("|---|---|---|---|---|")
    for k, name in enumerate(("valence", "arousal", "dominance")):
        a = np.array([ccc(base[spk == s, k], Y[spk == s, k]) for s in sorted(set(spk))])
        b = np.array([ccc(new[spk == s, k], Y[spk == s, k]) for s in sorted(set(spk))])
        print(f"| {name} | {a.mean():.3f} | {b.mean():.3f} | {np.mean(b - a):+.3f} (std {np.std(b - a):.3f}) | "
              f"{int((b > a).sum())} of {len(a)} |")


def train(model, X, Y, spk, speaker_norm: bool = False) -> None:
    from paravox.speech_emotion.model import default_model_dir
    from paravox.speech_emotion.speaker_norm import SHIPPED_DIR
    from paravox.training.emotion_dimensions import DIMENSIONS, attach

    out, report = attach(model, X, Y, DIMENSIONS, spk.tolist(), info={
        "trained_on": "TAVA (emotion/tava, 16 speakers, 256 clips), listener means on [-1, 1]"
        + (", features standardised per speaker" if speaker_norm else ""),
        "reproduce": "python benchmarks/emotion_dimensions.py --train" + (" --speaker-norm" if speaker_norm else "")})
    out.save(SHIPPED_DIR if speaker_norm else default_model_dir())
    print(json.dumps(report, indent=2))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--eval", action="store_true", help="leave-one-speaker-out table")
    ap.add_argument("--train", action="store_true", help="fit on all speakers and write the shipped head")
    ap.add_argument("--speaker-norm", action="store_true",
                    help="the --speaker-norm head: each speaker's features standardised by its own clips (transductive)")
    args = ap.parse_args(argv)
    if not (args.eval or args.train):
        ap.error("give --eval, --train or both")
    if not TAVA.is_dir():
        ap.error(f"{TAVA} not found: put the data pack at ../shared beside the repository")
    from paravox.speech_emotion.model import EmotionModel, default_model_dir

    model = EmotionModel.load(default_model_dir())
    X, Y, spk = load(model)
    base = evaluate(model, X, Y, spk, quiet=True) if args.eval and args.speaker_norm else None
    if args.speaker_norm:  # the head that reads per-speaker standardised vectors, and such vectors
        from paravox.speech_emotion.speaker_norm import load_norm_model, standardise_by_speaker

        model = load_norm_model(None, model.features)
        X = standardise_by_speaker(X, spk.tolist())
    if args.eval:
        pred = evaluate(model, X, Y, spk, args.speaker_norm)
        if base is not None:
            paired(base, pred, Y, spk)
    if args.train:
        train(model, X, Y, spk, args.speaker_norm)
    return 0


if __name__ == "__main__":
    sys.exit(main())
