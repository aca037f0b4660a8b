#!/usr/bin/env python3
"""Levers for the dimensional head the issue names, measured against the shipped ridge (TAVA,
leave-one-speaker-out over the 16 speakers, pooled held-out predictions, as the benchmark).

    python benchmarks/experiments/emotion_dimensions_ccc.py            # about 35 min on 2 cores
    python benchmarks/experiments/emotion_dimensions_ccc.py --quick    # one seed, fewer rows (..._quick.json)

Rows (options fixed before measuring, not chosen on these folds; seeds 0-2 where training is
random, reported as the mean and spread of the three seeds' pooled CCC):

* ``ridge``: the shipped head's recipe with fixed options (alpha 300, class log-probabilities
  stacked, stretched to the targets' spread by leave-one-speaker-out inside the 15): the
  reference every row is read against;
* ``ccc-linear``: the same inputs, a linear head trained by gradient descent on the CCC loss
  itself (1 - CCC per dimension over the whole training part, averaged), weight decay 1e-2 and
  1e-1, 400 full-batch AdamW steps at lr 1e-2 (a first run at 1e-3 stopped far short: valence
  0.39);
* ``ccc-mlp``: one hidden layer (64, GELU, dropout 0.3 on its input and output) on the same
  inputs, the CCC loss, 400 steps at lr 1e-3; ``ensemble``: the mean of the three seeds' heads;
* ``ccc-mlp + categorical``: the same trunk also feeds a 9-class head trained on every CASIA,
  EmoDB and RAVDESS clip (an 8-class head, the labels those corpora map to; cross-entropy,
  weight 0.5 and 1.0): the categorical corpora as auxiliary targets. Its inputs are those
  clips' features and the shipped classifier's log-probabilities on them, which that classifier
  was trained on (over-confident): the class head can lean on those columns and push the trunk
  less than features alone would, so this may understate the lever;
* ``ridge + AudioSet``: the ridge with the EfficientAT mn04 AudioSet tagger's 527 logits and
  its 512-d penultimate embedding (``../shared/models/efficientat-mn04``, mean over the clip)
  appended to the features.

Each row also gives, per dimension, the change in pooled CCC against the ridge row with a 95%
interval from a paired bootstrap over the 16 speakers (2000 draws): the interval says whether
the 16 speakers back the change.

Needs torch (``make install``). Prints a Markdown table and writes
``benchmarks/results/emotion_dimensions_ccc.json``. Result (2026-12-06): none replaces the ridge
(the one-hidden-layer heads gain 0.03-0.04 valence, interval reaching zero, and lose 0.01
arousal, interval clear of zero); see docs/emotion.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "benchmarks" / "experiments"))
DATA = ROOT.parent / "shared" / "data" / "emotion"
OUT = ROOT / "benchmarks" / "results" / "emotion_dimensions_ccc.json"
NAMES = ("valence", "arousal", "dominance")


def ccc_torch(p, y):
    pm, ym = p.mean(0), y.mean(0)
    cov = ((p - pm) * (y - ym)).mean(0)
    return 2 * cov / (p.var(0, unbiased=False) + y.var(0, unbiased=False) + (pm - ym) ** 2)


def train_head(A, Y, seed, *, hidden=0, wd=1e-2, lr=1e-3, steps=400, cat=None, cat_weight=0.0):
    """A head on inputs ``A`` (already standardised on the training part) for targets ``Y``,
    trained on 1 - CCC; ``cat`` = (inputs, class indices) adds a class head on the same trunk."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    d, k = A.shape[1], Y.shape[1]
    if hidden:
        trunk = nn.Sequential(nn.Dropout(0.3), nn.Linear(d, hidden), nn.GELU(), nn.Dropout(0.3))
        width = hidden
    else:
        trunk, width = nn.Identity(), d
    head = nn.Linear(width, k)
    parts = [trunk, head]
    if cat is not None:
        classes = nn.Linear(width, int(cat[1].max()) + 1)
        parts.append(classes)
        CA = torch.tensor(cat[0], dtype=torch.float32)
        CY = torch.tensor(cat[1], dtype=torch.long)
    params = [p for m in parts for p in m.parameters()]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=wd)
    At = torch.tensor(A, dtype=torch.float32)
    Yt = torch.tensor(Y, dtype=torch.float32)
    gen = torch.Generator().manual_seed(seed)
    for m in parts:
        m.train()
    for _ in range(steps):
        opt.zero_grad()
        loss = (1 - ccc_torch(head(trunk(At)), Yt)).mean()
        if cat is not None:
            pick = torch.randint(0, len(CA), (256,), generator=gen)
            loss = loss + cat_weight * nn.functional.cross_entropy(classes(trunk(CA[pick])), CY[pick])
        loss.backward()
        opt.step()
    for m in parts:
        m.eval()

    def predict(B):
        with torch.no_grad():
            return head(trunk(torch.tensor(B, dtype=torch.float32))).numpy().astype(np.float64)

    return predict


def audioset_features(paths):
    """EfficientAT mn04 over each clip: 527 logits and the 512-d embedding before them."""
    import torch

    from efficientat import build_torch_model, logmel, to_32k
    from paravox.audio import load_audio

    model = build_torch_model()
    out = []
    for p in paths:
        x = torch.tensor(logmel(to_32k(load_audio(p).samples)))[None, None]
        with torch.no_grad():
            pooled = model.classifier[:2](model.features(x))
            emb = model.classifier[3](model.classifier[2](pooled))
            logits = model.classifier[5](emb)
        out.append(np.concatenate([logits[0].numpy(), emb[0].numpy()]))
    return np.array(out, dtype=np.float64)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="one seed and fewer rows (a smoke run)")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(2)
    from emotion_dimensions import load, metrics

    from paravox.bench.speech_emotion import LABEL_MAPS, load_corpus
    from paravox.speech_emotion.model import EmotionModel, log_probs
    from paravox.training.emotion_dimensions import DimensionOptions, fit, predict
    from paravox.training.feature_cache import extract_files

    model = EmotionModel.load()
    X, Y, spk = load(model)
    Z = (X - model.mean) / model.scale
    logp = log_probs(model.predict_proba(X))
    A_all = np.hstack([Z, logp])
    CX, CL = [], []
    for c in ("casia", "emodb", "ravdess"):
        corp = load_corpus(DATA / c)
        CX.append(extract_files(corp.paths, model.features, progress=True))
        CL += [LABEL_MAPS[c][lab] for lab in corp.labels]
    CX = np.vstack(CX)
    classes = sorted(set(CL))
    CI = np.array([classes.index(c) for c in CL])
    CA_all = np.hstack([(CX - model.mean) / model.scale, log_probs(model.predict_proba(CX))])
    seeds = [0] if args.quick else [0, 1, 2]
    speakers = sorted(set(spk))

    def loso(make):
        pred = np.zeros_like(Y)
        for s in speakers:
            out = spk == s
            pred[out] = make(~out, out)
        return np.clip(pred, -1, 1)

    def ridge(extra=None):
        def make(tr, te):
            if extra is None:
                Zx = Z
            else:  # the extra columns scaled on the training part only
                Zx = np.hstack([Z, (extra - extra[tr].mean(0)) / np.maximum(extra[tr].std(0), 1e-6)])
            W, P, b = fit(Zx[tr], logp[tr], Y[tr], spk[tr].tolist(), DimensionOptions(300.0, True, True))
            return predict(Zx[te], logp[te], W, P, b)
        return make

    def torch_head(seed, **kw):
        def make(tr, te):
            m, sd = A_all[tr].mean(0), np.maximum(A_all[tr].std(0), 1e-6)
            cat = None
            if kw.get("cat_weight"):
                cat = ((CA_all - m) / sd, CI)
            f = train_head((A_all[tr] - m) / sd, Y[tr], seed, cat=cat, **kw)
            return f((A_all[te] - m) / sd)
        return make

    rows = []
    rng = np.random.default_rng(0)
    draws = [rng.choice(len(speakers), len(speakers)) for _ in range(2000)]
    where = {s: np.flatnonzero(spk == s) for s in speakers}
    reference: list[np.ndarray] = []

    def interval(pred, k):
        from paravox.evaluation.classification import ccc

        if not reference:
            return None
        diffs = []
        for d in draws:
            idx = np.concatenate([where[speakers[i]] for i in d])
            diffs.append(ccc(pred[idx, k], Y[idx, k]) - ccc(reference[0][idx, k], Y[idx, k]))
        return [float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5))]

    def report(name, preds, seconds, ensemble=False):
        per_seed = [metrics(p, Y, spk) for p in preds]
        row = {"head": name, "seeds": len(preds), "seconds": round(seconds, 1)}
        for d in NAMES:
            v = [m[d]["ccc"] for m in per_seed]
            row[d] = {"ccc_mean": float(np.mean(v)), "ccc_std": float(np.std(v)), "ccc_seeds": v,
                      "speaker_ccc_mean": float(np.mean([m[d]["ccc_speaker_mean"] for m in per_seed])),
                      "change_95": interval(preds[0], NAMES.index(d)) if len(preds) == 1 else None}
        rows.append(row)
        if not reference:
            reference.append(preds[0])

        def cell(d):
            c = f"{row[d]['ccc_mean']:.3f} ± {row[d]['ccc_std']:.3f}"
            if row[d]["change_95"]:
                c += " [{:+.3f}, {:+.3f}]".format(*row[d]["change_95"])
            return c
        cells = " | ".join(cell(d) for d in NAMES)
        print(f"| {name} | {len(preds)} | {cells} | {seconds:.0f} |", flush=True)
        if ensemble and len(preds) > 1:
            report(name + ", ensemble of the seeds", [np.clip(np.mean(preds, 0), -1, 1)], 0.0)

    print("| head | seeds | valence CCC | arousal CCC | dominance CCC | seconds |\n|---|---|---|---|---|---|", flush=True)
    t = time.time()
    report("ridge, alpha 300, stacked, stretched (the shipped recipe, fixed options)", [loso(ridge())], time.time() - t)
    configs = [("ccc-linear, wd 1e-2, lr 1e-2", {"hidden": 0, "wd": 1e-2, "lr": 1e-2}),
               ("ccc-linear, wd 1e-1, lr 1e-2", {"hidden": 0, "wd": 1e-1, "lr": 1e-2}),
               ("ccc-mlp 64", {"hidden": 64, "wd": 1e-2}),
               ("ccc-mlp 64 + categorical, weight 0.5", {"hidden": 64, "wd": 1e-2, "cat_weight": 0.5}),
               ("ccc-mlp 64 + categorical, weight 1.0", {"hidden": 64, "wd": 1e-2, "cat_weight": 1.0})]
    if args.quick:
        configs = configs[::2]
    for name, kw in configs:
        t = time.time()
        report(name, [loso(torch_head(s, **kw)) for s in seeds], time.time() - t, ensemble=True)
    t = time.time()
    tava = [json.loads(x) for x in (DATA / "tava" / "manifest.jsonl").read_text().splitlines() if x.strip()]
    AS = audioset_features([str(DATA / "tava" / r["audio"]) for r in tava])
    report("ridge + AudioSet logits and embedding", [loso(ridge(AS))], time.time() - t)
    out = OUT.with_name(OUT.stem + "_quick.json") if args.quick else OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "rows": rows}, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
