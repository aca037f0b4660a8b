"""Attentive-pooling heads on frozen frame states, against the shipped pooled heads.

The shipped emotion and vocalization heads read *pooled* encoder states (mean and std over
time of a few blocks). This benchmark asks whether a small head that reads the frame
states themselves does better under the same protocols:

- a softmax-weighted sum of the six Whisper-base blocks (each block layer-normalised),
- one projection (512 -> ``--hidden``) with GELU,
- attentive statistics pooling (attention-weighted mean and std over time),
- a linear layer to the classes.

Protocols: EmoBox folds for the emotion corpora, the pack's speaker-independent Deeply
folds for vocalizations. Inside each fold, one group of training speakers is held out to
choose the number of epochs (by UA on it); the head is then retrained on the whole training
part for that many epochs and scored on the test part, which is never used for a choice.

    python benchmarks/frame_heads.py --data ../shared/data/emotion/casia
    python benchmarks/frame_heads.py --data ../shared/data/nonverbal/deeply

Frame states are cached (float16) under paravox's feature cache (``frames-v1``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

LAYERS = (0, 1, 2, 3, 4, 5)


def load_rows(folder: Path) -> tuple[list[dict], dict]:
    from paravox.evaluation.io import read_jsonl

    rows = [r.data for r in read_jsonl(folder / "manifest.jsonl")]
    folds = json.loads((folder / "folds.json").read_text())
    return rows, folds


def corpus_arrays(folder: Path):
    """``rows, folds, names, y, speakers, position by id`` of a corpus folder."""
    rows, folds = load_rows(folder)
    labels = [label_of(folder, r) for r in rows]
    names = sorted(set(labels))
    y = np.array([names.index(l) for l in labels])
    spk = np.array([str(r.get("speaker", r["id"])) for r in rows])
    return rows, folds, names, y, spk, {r["id"]: i for i, r in enumerate(rows)}


def inner_split(tr: np.ndarray, spk: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """A quarter of a fold's training speakers (at least one) held out to choose epochs:
    ``(fit rows, validation rows, held-out speakers)``."""
    speakers = sorted(set(spk[tr]))
    held = sorted(np.random.default_rng(0).permutation(speakers)[: max(1, len(speakers) // 4)].tolist())
    inside = np.isin(spk[tr], held)
    return tr[~inside], tr[inside], held


def fold_parts(folds: dict, pos: dict, spk: np.ndarray, only=None):
    """Per fold (``only`` these, if given): ``name, train rows, test rows, inner fit rows,
    inner validation rows, held-out speakers`` (:func:`inner_split`)."""
    for name in sorted(folds, key=str):
        if only and name not in only:
            continue
        tr = np.array([pos[i] for i in folds[name]["train"]])
        te = np.array([pos[i] for i in folds[name]["test"]])
        yield (name, tr, te, *inner_split(tr, spk))


def label_of(folder: Path, row: dict) -> str:
    if "tag" in row:
        from paravox.taxonomy import canonical_tag

        return canonical_tag(str(row["tag"])) or str(row["tag"])
    return str(row["label"])


def frame_states(folder: Path, rows: list[dict], window: float) -> list[np.ndarray]:
    """``(6, T, 512)`` float16 states per row, cached per corpus."""
    from paravox.audio import load_audio
    from paravox.speech_emotion.features import FeatureConfig, FeatureExtractor, cache_root

    ident = hashlib.sha1(("|".join(f"{r['audio']}:{os.path.getsize(folder / r['audio'])}" for r in rows)
                          + f"|w{window}").encode()).hexdigest()[:12]
    path = cache_root() / "frames-v1" / f"{folder.name}-{ident}.npz"
    if path.is_file():
        with np.load(path) as z:
            flat, lengths = z["flat"], z["lengths"]
        return np.split(flat, np.cumsum(lengths)[:-1], axis=1)
    from tqdm import tqdm

    ex = FeatureExtractor(FeatureConfig(layers=LAYERS, prosody=False, window_seconds=window))
    out = []
    for r in tqdm(rows, desc=f"frame states {folder.name}", unit="clip"):
        st = ex.frame_states(load_audio(folder / r["audio"]).samples)
        out.append(np.stack([st[x] for x in LAYERS]).astype(np.float16))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(tmp, flat=np.concatenate(out, axis=1), lengths=np.array([o.shape[1] for o in out]))
    os.replace(tmp, path)
    return out


def build_head(classes: int, hidden: int, dropout: float, layers: int):
    import torch
    from torch import nn

    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer_w = nn.Parameter(torch.zeros(layers))
            self.proj = nn.Linear(512, hidden)
            self.att = nn.Sequential(nn.Linear(hidden, 64), nn.Tanh(), nn.Linear(64, 1))
            self.drop = nn.Dropout(dropout)
            self.out = nn.Linear(2 * hidden, classes)

        def forward(self, x, mask):  # x (B, L, T, 512) layer-normalised, mask (B, T) bool
            w = torch.softmax(self.layer_w, 0)
            h = torch.einsum("bltd,l->btd", x, w)
            h = self.drop(nn.functional.gelu(self.proj(self.drop(h))))
            a = self.att(h).squeeze(-1).masked_fill(~mask, -1e9)
            a = torch.softmax(a, dim=1).unsqueeze(-1)
            mean = (a * h).sum(1)
            std = ((a * (h - mean.unsqueeze(1)) ** 2).sum(1) + 1e-6).sqrt()
            return self.out(self.drop(torch.cat([mean, std], dim=1)))

    return Head()


def prepare(states: list[np.ndarray], pool: int) -> list[np.ndarray]:
    """Layer-normalise each block's states (no affine: the head's first step, done once)
    and average ``pool`` neighbouring frames."""
    out = []
    for s in states:
        s = s.astype(np.float32)
        if pool > 1 and s.shape[1] >= pool:
            T = s.shape[1] // pool * pool
            s = s[:, :T].reshape(s.shape[0], T // pool, pool, -1).mean(2)
        s = (s - s.mean(-1, keepdims=True)) / np.sqrt(s.var(-1, keepdims=True) + 1e-5)
        out.append(np.ascontiguousarray(s, dtype=np.float32))
    return out


def batches(states: list[np.ndarray], idx: np.ndarray, size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of clips of similar length (less padding)."""
    order = rng.permutation(idx)
    chunks = [order[i : i + size * 8] for i in range(0, len(order), size * 8)]
    out = []
    for c in chunks:
        c = c[np.argsort([states[i].shape[1] for i in c], kind="stable")]
        out += [c[i : i + size] for i in range(0, len(c), size)]
    return [out[i] for i in rng.permutation(len(out))]


def batchify(states: list[np.ndarray], idx: np.ndarray, rng: np.random.Generator | None, crop: int):
    import torch

    parts = []
    for i in idx:
        s = states[i]
        if rng is not None and s.shape[1] > crop:  # random crop: a cheap augmentation
            a = rng.integers(0, s.shape[1] - crop + 1)
            s = s[:, a : a + crop]
        parts.append(s)
    T = max(p.shape[1] for p in parts)
    x = np.zeros((len(parts), parts[0].shape[0], T, 512), np.float32)
    mask = np.zeros((len(parts), T), bool)
    for j, p in enumerate(parts):
        x[j, :, : p.shape[1]] = p
        mask[j, : p.shape[1]] = True
    return torch.from_numpy(x), torch.from_numpy(mask)


def ua(y, pred, n):
    return float(np.mean([np.mean(pred[y == c] == c) for c in range(n) if np.any(y == c)]))


def train_eval(states, y, n_classes, tr, ev, epochs, args, seed):
    """Train on ``tr``; return UA on ``ev`` after each epoch (and the final logits)."""
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = build_head(n_classes, args.hidden, args.dropout, len(LAYERS))
    counts = np.bincount(y[tr], minlength=n_classes)
    w = torch.tensor(len(tr) / (n_classes * np.maximum(counts, 1)), dtype=torch.float32)
    loss_fn = torch.nn.CrossEntropyLoss(weight=w, label_smoothing=0.05)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    curve, logits = [], None
    yt = torch.tensor(y)
    for ep in range(epochs):
        model.train()
        for b in batches(states, tr, args.batch, rng):
            x, m = batchify(states, b, rng, args.crop)
            opt.zero_grad()
            loss_fn(model(x, m), yt[b]).backward()
            opt.step()
        if ev is not None and (args.every_epoch or ep == epochs - 1):
            model.eval()
            outs = []
            with torch.no_grad():
                for i in range(0, len(ev), 64):
                    x, m = batchify(states, ev[i : i + 64], None, args.crop)
                    outs.append(model(x, m).numpy())
            logits = np.concatenate(outs)
            curve.append(ua(y[ev], logits.argmax(1), n_classes))
    return curve, logits, model


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="corpus folder with manifest.jsonl and folds.json")
    ap.add_argument("--window", type=float, default=5.0, help="encoder window in seconds (default 5)")
    ap.add_argument("--epochs", type=int, default=40, help="most epochs tried (default 40)")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--dropout", type=float, default=0.3)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=0.05)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--crop", type=int, default=10_000, help="random crop in frames while training (default: none)")
    ap.add_argument("--pool", type=int, default=2, help="average this many neighbouring frames (default 2: 40 ms)")
    ap.add_argument("--seeds", type=int, default=1, help="heads per fold, logits averaged (default 1)")
    ap.add_argument("--folds", nargs="*", help="only these folds")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("-o", "--output", type=Path, help="write the results as JSON")
    args = ap.parse_args(argv)
    args.every_epoch = True
    import torch

    torch.set_num_threads(args.threads)
    rows, folds, names, y, spk, pos = corpus_arrays(args.data)
    t0 = time.perf_counter()
    states = prepare(frame_states(args.data, rows, args.window), args.pool)
    print(f"states: {len(states)} clips in {time.perf_counter() - t0:.0f} s", flush=True)
    results = []
    for name, tr, te, inner_fit, inner_val, _ in fold_parts(folds, pos, spk, args.folds):
        curve, _, _ = train_eval(states, y, len(names), inner_fit, inner_val, args.epochs, args, 0)
        # constant learning rate, so "epoch k of this run" is "a run of k epochs"
        best_ep = int(np.argmax(curve)) + 1
        logits = 0
        for s in range(args.seeds):
            _, lg, _ = train_eval(states, y, len(names), tr, te, best_ep, argparse.Namespace(**{**vars(args), "every_epoch": False}), s)
            logits = logits + lg
        score = ua(y[te], logits.argmax(1), len(names))
        results.append({"fold": name, "epochs": best_ep, "inner_ua": max(curve), "ua": score})
        print(f"fold {name}: inner UA {100 * max(curve):.1f} at epoch {best_ep}; test UA {100 * score:.1f}  "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)
    mean = float(np.mean([r["ua"] for r in results]))
    print(f"{args.data.name}: mean test UA {100 * mean:.1f} over {len(results)} folds")
    if args.output:
        args.output.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "folds": results, "mean_ua": mean}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
