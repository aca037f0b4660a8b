"""Fine-tune one Whisper-base encoder block for emotion, against the frozen pooled probe.

The shipped emotion head is a logistic regression on mean+std-pooled states of encoder
blocks 1 and 2 (frozen). This benchmark asks whether training block ``--block`` itself helps:
its input is the cached output of the block below (frozen), the block starts from Whisper's
weights (read from the CTranslate2 ``model.bin``) and is trained with a small learning rate,
together with a linear head on the mean+std of its output and of its input.

Protocol: EmoBox folds. Inside each fold one training speaker (or a quarter of them) is held
out to choose the number of epochs by UA; the model is then retrained on the whole training
part for that many epochs and scored once on the test part.

    python benchmarks/finetune_block.py --data ../shared/data/emotion/casia
    python benchmarks/finetune_block.py --data ../shared/data/emotion/casia --lr-block 0   # the same head, block frozen

Frame states come from ``benchmarks/frame_heads.py``'s cache (computed there on first use).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from frame_heads import corpus_arrays, fold_parts, frame_states, ua  # noqa: E402


def whisper_block(index: int):
    """Block ``index`` of the Whisper-base encoder as a torch module, with Whisper's weights."""
    import torch
    from torch import nn

    from paravox.encoder.files import ensure_whisper_base
    from paravox.encoder.numpy_encoder import read_ctranslate2_variables

    v = read_ctranslate2_variables(ensure_whisper_base())
    p = f"encoder/layer_{index}/"

    def t(name):
        return torch.tensor(np.asarray(v[p + name], dtype=np.float32))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(512), nn.LayerNorm(512)
            self.qkv, self.out = nn.Linear(512, 1536), nn.Linear(512, 512)
            self.fc1, self.fc2 = nn.Linear(512, 2048), nn.Linear(2048, 512)
            with torch.no_grad():
                for mod, name in ((self.ln1, "self_attention/layer_norm"), (self.ln2, "ffn/layer_norm")):
                    mod.weight.copy_(t(name + "/gamma"))
                    mod.bias.copy_(t(name + "/beta"))
                for mod, name in ((self.qkv, "self_attention/linear_0"), (self.out, "self_attention/linear_1"),
                                  (self.fc1, "ffn/linear_0"), (self.fc2, "ffn/linear_1")):
                    mod.weight.copy_(t(name + "/weight"))
                    if p + name + "/bias" in v:
                        mod.bias.copy_(t(name + "/bias"))
                    else:
                        mod.bias.zero_()

        def forward(self, x, mask):  # x (B, T, 512), mask (B, T) bool: True = a real frame
            B, T, _ = x.shape
            q, k, val = self.qkv(self.ln1(x)).view(B, T, 3, 8, 64).permute(2, 0, 3, 1, 4)
            att = torch.nn.functional.scaled_dot_product_attention(q, k, val, attn_mask=mask[:, None, None, :])
            x = x + self.out(att.transpose(1, 2).reshape(B, T, 512))
            return x + self.fc2(torch.nn.functional.gelu(self.fc1(self.ln2(x))))

    return Block()


def pooled(h, mask):
    import torch

    m = mask.unsqueeze(-1).float()
    n = m.sum(1).clamp(min=1)
    mean = (h * m).sum(1) / n
    std = (((h - mean.unsqueeze(1)) ** 2 * m).sum(1) / n + 1e-6).sqrt()
    return torch.cat([mean, std], dim=1)


def batch_of(states, idx):
    import torch

    T = max(states[i].shape[0] for i in idx)
    x = np.zeros((len(idx), T, 512), np.float32)
    mask = np.zeros((len(idx), T), bool)
    for j, i in enumerate(idx):
        x[j, : states[i].shape[0]] = states[i]
        mask[j, : states[i].shape[0]] = True
    return torch.from_numpy(x), torch.from_numpy(mask)


def run(states, y, n_classes, tr, ev, epochs, args, seed, log=None):
    """Train on ``tr``; UA on ``ev`` after each epoch (every epoch if ``log``, else at the end)."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    block = whisper_block(args.block)
    stats = torch.from_numpy(np.stack([np.concatenate([s.mean(0), s.std(0)]) for s in (states[i] for i in tr)]))
    mu, sd = stats.mean(0), stats.std(0) + 1e-5  # the input's pooled statistics, standardised
    head = nn.Sequential(nn.Dropout(args.dropout), nn.Linear(4 * 512, n_classes))
    norm_out = nn.LayerNorm(1024, elementwise_affine=False)
    counts = np.bincount(y[tr], minlength=n_classes)
    loss_fn = nn.CrossEntropyLoss(weight=torch.tensor(len(tr) / (n_classes * np.maximum(counts, 1)), dtype=torch.float32))
    opt = torch.optim.AdamW([{"params": block.parameters(), "lr": args.lr_block},
                             {"params": head.parameters(), "lr": args.lr_head}], weight_decay=args.weight_decay)
    yt = torch.tensor(y)
    curve = []

    def forward(idx, train):
        x, m = batch_of(states, idx)
        h = block(x, m)
        feats = torch.cat([norm_out(pooled(h, m)), (pooled(x, m) - mu) / sd], dim=1)
        return head(feats)

    for ep in range(epochs):
        block.train()
        head.train()
        order = rng.permutation(tr)
        for i in range(0, len(order), args.batch):
            idx = order[i : i + args.batch]
            opt.zero_grad()
            loss_fn(forward(idx, True), yt[idx]).backward()
            opt.step()
        if log is not None or ep == epochs - 1:
            block.eval()
            head.eval()
            with torch.no_grad():
                pred = np.concatenate([forward(ev[i : i + 64], False).argmax(1).numpy() for i in range(0, len(ev), 64)])
            curve.append(ua(y[ev], pred, n_classes))
            if log:
                log(f"  epoch {ep + 1}: UA {100 * curve[-1]:.1f}")
    return curve


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="emotion corpus folder (manifest.jsonl, folds.json)")
    ap.add_argument("--block", type=int, default=2, help="the block to fine-tune (default 2; its input is block 1's output)")
    ap.add_argument("--epochs", type=int, default=8, help="most epochs tried (default 8)")
    ap.add_argument("--lr-block", type=float, default=2e-5)
    ap.add_argument("--lr-head", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--dropout", type=float, default=0.3)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--window", type=float, default=5.0)
    ap.add_argument("--folds", nargs="*", help="only these folds")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("-o", "--output", type=Path)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    rows, folds, names, y, spk, pos = corpus_arrays(args.data)
    t0 = time.perf_counter()
    states = [s[args.block - 1].astype(np.float32) for s in frame_states(args.data, rows, args.window)]
    print(f"block {args.block - 1} states: {len(states)} clips ({time.perf_counter() - t0:.0f} s)", flush=True)
    results = []
    for name, tr, te, inner_fit, inner_val, held in fold_parts(folds, pos, spk, args.folds):
        print(f"fold {name}: choosing epochs on held-out training speakers {held}", flush=True)
        curve = run(states, y, len(names), inner_fit, inner_val, args.epochs, args, 0, log=lambda m: print(m, flush=True))
        best = int(np.argmax(curve)) + 1
        score = run(states, y, len(names), tr, te, best, args, 0)[-1]
        results.append({"fold": name, "epochs": best, "inner_ua": max(curve), "ua": score})
        print(f"fold {name}: {best} epochs (inner UA {100 * max(curve):.1f}); test UA {100 * score:.1f}  "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)
    mean = float(np.mean([r["ua"] for r in results]))
    how = "frozen (--lr-block 0)" if args.lr_block == 0 else "fine-tuned"
    print(f"{args.data.name}: block {args.block} {how}, mean test UA {100 * mean:.1f} over {len(results)} folds")
    if args.output:
        args.output.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "folds": results,
                                           "mean_ua": mean}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
