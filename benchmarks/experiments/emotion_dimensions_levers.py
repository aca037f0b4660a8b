#!/usr/bin/env python3
"""Levers for the dimensional head that were measured and not shipped (TAVA, leave-one-speaker-out).

    python benchmarks/experiments/emotion_dimensions_levers.py      # about 3 min

Each row fits the head with fixed options (ridge alpha 300 and 1000, classifier log-probabilities
stacked, not stretched: the stretch needs a nested loop, too slow with the extra rows) on 15 speakers and scores the 16th:
* the shipped features (encoder blocks 0-3 + prosody);
* blocks 0-5 + prosody (the two deeper blocks cost encoder time);
* the shipped features plus every CASIA/EmoDB/RAVDESS clip as an extra training row, its
  targets the mean ratings of the TAVA affects its label resembles (computed on the training
  speakers only), weighted 0.02 / 0.1 / 0.3 per row.
Result (2026-12-04): neither beats the shipped features; see docs/emotion.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "emotion"
AFFECTS = {"angry": ["enraged", "annoyed"], "happy": ["happy", "joyful"], "sad": ["miserable", "depressed"],
           "fearful": ["frightened", "worried"], "disgusted": ["contemptuous"], "neutral": ["tranquil", "serene", "mellow"],
           "surprised": ["thrilled"], "other": ["depressed", "mellow"]}


def main() -> int:
    from paravox.bench.speech_emotion import LABEL_MAPS, load_corpus
    from paravox.evaluation.classification import ccc
    from paravox.speech_emotion.features import FeatureConfig
    from paravox.speech_emotion.model import EmotionModel, log_probs
    from paravox.training.emotion_dimensions import DimensionOptions, fit, predict
    from paravox.training.feature_cache import extract_files

    model = EmotionModel.load()
    rows = [json.loads(x) for x in (DATA / "tava" / "manifest.jsonl").read_text().splitlines() if x.strip()]
    paths = [str(DATA / "tava" / r["audio"]) for r in rows]
    Y = np.array([[r["valence"], r["arousal"], r["dominance"]] for r in rows])
    spk = np.array([r["speaker"] for r in rows], dtype=object)
    aff = np.array([r["affect"] for r in rows])
    X4 = extract_files(paths, model.features)
    X6 = extract_files(paths, FeatureConfig(layers=(0, 1, 2, 3, 4, 5)))
    logp = log_probs(model.predict_proba(X4))
    CX, CL = [], []
    for c in ("ravdess", "emodb", "casia"):
        corp = load_corpus(DATA / c)
        CX.append(extract_files(corp.paths, model.features))
        CL += [LABEL_MAPS[c][lab] for lab in corp.labels]
    CX, CL = np.vstack(CX), np.array(CL)
    Clogp = log_probs(model.predict_proba(CX))

    def loso(X, lp, alpha, extra=None, weight=0.0):
        Z = (X - X.mean(0)) / np.maximum(X.std(0), 1e-6)
        pred = np.zeros_like(Y)
        for s in sorted(set(spk)):
            out = spk == s
            Zt, Lt, Yt, Gt = Z[~out], lp[~out], Y[~out], spk[~out].tolist()
            if extra is not None:
                means = {k: np.mean([Y[~out & (aff == a)].mean(0) for a in v], axis=0) for k, v in AFFECTS.items()}
                Ce = (extra - X.mean(0)) / np.maximum(X.std(0), 1e-6)
                # rows weighted by sqrt(weight): the ridge then counts each as `weight` of a TAVA row
                r = np.sqrt(weight)
                Zt = np.vstack([Zt, Ce * r])
                Lt = np.vstack([Lt, Clogp * r])
                Yc = np.array([means[lab] for lab in CL])
                Yt = np.vstack([Yt, Yt.mean(0) + (Yc - Yt.mean(0)) * r])
                Gt = Gt + [f"extra{i % 5}" for i in range(len(Ce))]
            W, P, b = fit(Zt, Lt, Yt, Gt, DimensionOptions(alpha, True, False))
            pred[out] = np.clip(predict(Z[out], lp[out], W, P, b), -1, 1)
        return [ccc(pred[:, k], Y[:, k]) for k in range(3)]

    print("| features / data | alpha | valence CCC | arousal CCC | dominance CCC |\n|---|---|---|---|---|")
    for alpha in (300.0, 1000.0):
        for name, X, kw in (("blocks 0-3 + prosody (shipped)", X4, {}), ("blocks 0-5 + prosody", X6, {}),
                            *[(f"0-3 + categorical rows, weight {w}", X4, {"extra": CX, "weight": w}) for w in (0.02, 0.1, 0.3)]):
            v = loso(X, logp, alpha, **kw)
            print(f"| {name} | {alpha:g} | {v[0]:.3f} | {v[1]:.3f} | {v[2]:.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
