"""The event detector on held-out mixtures: event-based and segment-based F1.

    python benchmarks/events_mixtures.py                 # the shipped model, val + test mixtures
    python benchmarks/events_mixtures.py --model my_model/ --sets test

Replays the mixtures `paravox train events --data ../shared/data` builds (same seeds: 2 for
validation, from training voices; 3 for test, from held-out voices) and scores two ways of
turning frame scores into events: per-tag frame thresholds alone, and the labelling
(regions of vocal activity named by classifier and detector together, kept when they agree),
without and (what ships) with the isolated classifier's ``none`` vetoing regions. The isolated
classifier trained on every Deeply clip, the held-out ones included: the gated rows are not
held-out figures for Deeply's tags (EmoGator's laugh, sigh and gasp it never heard).
Prints a markdown table; writes the figures as JSON (``-o``, default
benchmarks/results/events_mixtures.json).

``--sweep`` also scores other labellings of the same activity regions (the classifier's
weight in the vote, with or without agreement, the activity threshold, a minimum winning
probability), each a set of detector-config overrides; choose one on ``val`` and read its
``test`` row only afterwards:

    python benchmarks/events_mixtures.py --sweep
    python benchmarks/events_mixtures.py --sweep --match "vote"   # some variants only
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def _variant(agree: bool, weight: float, activity: float, min_p: float) -> tuple[str, dict]:
    name = f"{'agreement' if agree else 'vote'}, classifier weight {weight}, activity {activity}, min p {min_p}"
    return name, {"require_agreement": agree, "classifier_weight": weight,
                  "activity_threshold": activity, "min_label_probability": min_p}


SWEEP = dict(
    [_variant(True, 0.5, a, 0.0) for a in (0.3, 0.5)]
    + [_variant(False, w, a, m) for w in (0.5, 0.75, 1.0) for a in (0.3, 0.5) for m in (0.0, 0.4, 0.6)]
)


class _MemoClassifier:
    """The classifier with its pooled features remembered per audio region: the variants
    share regions, and the encoder pass is what costs."""

    def __init__(self, clf) -> None:
        self.clf, self.tags, self._seen = clf, clf.tags, {}

    def embed(self, samples):
        key = (len(samples), hash(samples.tobytes()))
        if key not in self._seen:
            self._seen[key] = self.clf.embed(samples)
        return self._seen[key]

    def predict_features(self, x):
        return self.clf.predict_features(x)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--model", default=None, help="events model directory (default: the shipped one)")
    ap.add_argument("--sets", default="val,test")
    ap.add_argument("-n", type=int, default=250, help="mixtures per set (as trained: 250)")
    ap.add_argument("-o", "--output", type=Path, default=REPO / "benchmarks" / "results" / "events_mixtures.json",
                    help="where the figures go as JSON (default: benchmarks/results/events_mixtures.json)")
    ap.add_argument("--sweep", action="store_true", help="also score the labelling variants in SWEEP")
    ap.add_argument("--match", default="", help="with --sweep: only the variants whose name contains this")
    args = ap.parse_args()

    from paravox.evaluation.events import evaluate_events
    from paravox.training import mixtures as mx
    from paravox.training.detector import draw_mixture
    from paravox.vocal_events.api import model_part
    from paravox.vocal_events.model import find_events, load_classifier, load_detector

    det = load_detector(model_part(args.model, "detector"))
    clf = load_classifier(model_part(args.model, "classifier"))
    from paravox.vocal_events.api import region_gate

    gate = region_gate(args.model, det)  # the isolated classifier whose none vetoes a region, if the model has one
    vocal, speech = mx.vocalization_clips(args.data), mx.speech_clips(args.data)
    tags = sorted({c.tag for c in vocal})
    seeds = {"val": (2, False), "test": (3, True)}
    rows, out = [], {}
    for name in args.sets.split(","):
        seed, held = seeds[name]
        bank = mx.Bank([c for c in vocal if c.held_out == held], [c for c in speech if c.held_out == held])
        rng = np.random.default_rng(seed)
        audio, refs = [], {}
        for i in range(args.n):  # the same draws, in the same order, as train.build_mixtures
            x, _, ev = draw_mixture(rng, bank, tags)
            audio.append(x)
            refs[str(i)] = ev
        scores = [det.frame_scores(x) for x in audio]
        minutes = sum(len(x) for x in audio) / 16000 / 60
        methods = {"frame thresholds": None, "labelling (agreement)": {}}
        if gate is not None:
            methods["shipped: labelling + isolated gate"] = {"_gate": True}
        if args.sweep:
            methods.update({k: v for k, v in SWEEP.items() if args.match in k})
        memo = _MemoClassifier(clf)
        for method, overrides in methods.items():
            if overrides is None:
                hyps = {str(i): [(e.tag, e.start, e.end) for e in det.events(s)] for i, s in enumerate(scores)}
            else:
                use_gate = gate if overrides.get("_gate") else None
                variant = replace(det, config={**det.config, **{k: v for k, v in overrides.items() if k != "_gate"}})
                hyps = {str(i): [(e.tag, e.start, e.end) for e in find_events(x, variant, memo, scores=s, gate=use_gate)]
                        for i, (x, s) in enumerate(zip(audio, scores))}
            r = evaluate_events(refs, hyps, canonicalize=False)
            fa = sum(len(hyps[k]) for k, v in refs.items() if not v)
            speech_only_min = sum(len(audio[int(k)]) for k, v in refs.items() if not v) / 16000 / 60
            rows.append((name, method, r, fa / max(speech_only_min, 1e-9)))
            out[f"{name}/{method}"] = {**r.to_dict(), "false_alarms_per_min_speech_only": fa / max(speech_only_min, 1e-9)}
            per_tag = r.event_per_class
            if per_tag:
                print(f"  {name} / {method}: recall per tag " + ", ".join(
                    f"{t} {100 * c.recall:.0f}%" for t, c in sorted(per_tag.items()) if getattr(c, "recall", None) is not None),
                    file=sys.stderr)
        print(f"{name}: {args.n} mixtures, {minutes:.1f} min", file=sys.stderr)
    lines = [
        "| mixtures | labelling | event F1 | precision | recall | segment F1 (1 s) | false alarms / min of speech-only audio |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, method, r, fa in rows:
        lines.append(f"| {name} | {method} | {100 * r.event.f1:.1f} | {100 * r.event.precision:.1f} | {100 * r.event.recall:.1f} "
                     f"| {100 * r.segment_counts.f1:.1f} | {fa:.2f} |")
    print("\n".join(lines))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
