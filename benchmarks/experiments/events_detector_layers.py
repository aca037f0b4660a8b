#!/usr/bin/env python3
"""Which encoder layer should the event detector read? Layer 1 (shipped): val event F1 44.6; layers 2, 3, 5: 43.0, 43.0, 41.0.

Builds one set of training mixtures and one of validation mixtures (training voices only,
the seeds of `paravox train events`: 1 and 2), computes the states of several encoder
layers for each mixture in one pass, trains the shipped detector head on each layer with
the same seed, calibrates its per-tag thresholds on the validation mixtures and prints
their event F1 there. The held-out test voices are not used: this is a model choice.

    python benchmarks/experiments/events_detector_layers.py                  # 600 mixtures, 10 epochs (~25 min here)
    python benchmarks/experiments/events_detector_layers.py --mixtures 1200 --epochs 25 --layers 1 3

Smaller than the shipped training (1,200 mixtures, 25 epochs) so that it runs in minutes;
compare the rows with each other, not with the model card.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--mixtures", type=int, default=600, help="training mixtures (default 600)")
    ap.add_argument("--val", type=int, default=250, help="validation mixtures (default 250)")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--layers", type=int, nargs="+", default=[1, 2, 3, 5], help="encoder layers (0-5) to compare")
    args = ap.parse_args()

    from paravox.evaluation.events import evaluate_events
    from paravox.training import mixtures as mx
    from paravox.training.detector import (
        MixtureSet,
        calibrate_thresholds,
        draw_mixture,
        fit_detector,
        mixture_scores,
    )
    from paravox.vocal_events import features

    root = Path(args.data)
    if not root.is_dir():
        raise SystemExit(f"data pack not found: {root}")
    vocal, speech = mx.vocalization_clips(root), mx.speech_clips(root)
    tags = sorted({c.tag for c in vocal})
    bank = mx.Bank([c for c in vocal if not c.held_out], [c for c in speech if not c.held_out])

    def build(n: int, seed: int) -> dict[int, MixtureSet]:
        # The same draws, in the same order, as train.build_mixtures.
        rng = np.random.default_rng(seed)
        sets = {layer: MixtureSet([], [], [], list(tags)) for layer in args.layers}
        for _ in range(n):
            x, lab, ev = draw_mixture(rng, bank, tags)
            states = features.layer_states(x, args.layers)
            for layer in args.layers:
                m = min(len(states[layer]), len(lab))
                sets[layer].states.append(states[layer][:m].astype(np.float16))
                sets[layer].labels.append(lab[:m])
                sets[layer].events.append(ev)
        return sets

    started = time.perf_counter()
    train, val = build(args.mixtures, 1), build(args.val, 2)
    print(f"{args.mixtures} training and {args.val} validation mixtures in {time.perf_counter() - started:.0f} s",
          file=sys.stderr)
    print(f"| layer | val event F1 | precision | recall | segment F1 (1 s) |  ({args.mixtures} mixtures, {args.epochs} epochs)")
    print("|---|---|---|---|---|")
    for layer in args.layers:
        det = fit_detector(train[layer], layer=layer, epochs=args.epochs, seed=0)
        calibrate_thresholds(det, val[layer])
        scores = mixture_scores(det, val[layer])
        hyps = {str(i): [(e.tag, e.start, e.end) for e in det.events(s)] for i, s in enumerate(scores)}
        refs = {str(i): ev for i, ev in enumerate(val[layer].events)}
        r = evaluate_events(refs, hyps, canonicalize=False)
        print(f"| {layer} | {100 * r.event.f1:.1f} | {100 * r.event.precision:.1f} | {100 * r.event.recall:.1f} "
              f"| {100 * r.segment_counts.f1:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
