#!/usr/bin/env python3
"""Emotion over time: how often frame labels change, whether they follow the voice, and
whether silence and noise get none.

    python benchmarks/emotion_over_time.py                  # choose on CASIA+EmoDB, report the rest (~10 min)
    python benchmarks/emotion_over_time.py --sequences 4    # quicker

Material (all from ../shared/data):
* **sequences**: for one speaker, 6 clips of different emotions joined end to end (the clips'
  own leading and trailing silence kept), so the true label is known per frame and changes
  5 times per sequence. CASIA and EmoDB sequences choose the smoothing; RAVDESS (labels) and
  TAVA (affects, change rate only) sequences report.
* **real speech**: the real (non-synthetic) clips of nvasr/dev of at least 4 s: change rate.
* **no speech**: 1 s and 10 s of silence, 10 s of white noise, 10 s of brown noise, and 40
  seeded clips of nonverbal/deeply (a vocalization on its own): frames with no label, and
  whether the file-level emotion is None.

Frames are ``paravox emotion --granularity frame`` (2-s window every 0.5 s). ``switch`` is the
smoothing's per-hop change probability (``none``: each frame's own top label). The choice:
the highest frame accuracy on the choosing set among settings that change at most once per
2 s of speech there.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SWITCHES = (None, 0.4, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005)
HOP = 0.5


def sequences(corpus: str, n: int, seed: int) -> list[tuple[np.ndarray, list[tuple[float, float, str]]]]:
    """``n`` sequences of 6 clips of one speaker, 6 different labels (mapped to the model's)."""
    from paravox.audio import load_audio
    from paravox.bench.speech_emotion import LABEL_MAPS

    folder = DATA / "emotion" / corpus
    rows = [json.loads(x) for x in (folder / "manifest.jsonl").read_text().splitlines() if x.strip()]
    label_key = "affect" if corpus == "tava" else "label"
    rng = random.Random(seed)
    by_spk: dict[str, list[dict]] = {}
    for r in rows:
        by_spk.setdefault(r["speaker"], []).append(r)
    out = []
    speakers = sorted(by_spk)
    for i in range(n):
        spk = speakers[i % len(speakers)]
        pool = by_spk[spk][:]
        rng.shuffle(pool)
        chosen, seen = [], set()
        for r in pool:
            lab = LABEL_MAPS.get(corpus, {}).get(r[label_key], r[label_key])
            if lab not in seen:
                chosen.append((r, lab))
                seen.add(lab)
            if len(chosen) == 6:
                break
        pieces, spans, t = [], [], 0.0
        for r, lab in chosen:
            x = load_audio(str(folder / r["audio"])).samples
            pieces.append(x)
            spans.append((t, t + len(x) / 16000, lab))
            t += len(x) / 16000
        out.append((np.concatenate(pieces), spans))
    return out


def frame_truth(spans, n: int) -> list[str | None]:
    centres = np.arange(n) * HOP
    return [next((lab for s, e, lab in spans if s <= c < e), None) for c in centres]


def run_frames(rec, samples):
    scored = rec.frames(samples, hop=HOP, smooth=False)
    return scored.probs, scored.path >= 0


def evaluate(rec, items, switches, labelled: bool) -> dict:
    from paravox.speech_emotion.smoothing import changes_per_2s, label_path

    res = {}
    frames = [(run_frames(rec, x), spans) for x, spans in items]
    for sw in switches:
        ch = sec = right = total = 0
        for (probs, speech), spans in frames:
            path = label_path(probs, speech, sw)
            c, s = changes_per_2s(path, HOP)
            ch, sec = ch + c, sec + s
            if labelled:
                truth = frame_truth(spans, len(path))
                for k, lab in zip(path, truth):
                    if k >= 0 and lab is not None:
                        total += 1
                        right += rec.labels[k] == lab
        res[sw] = {"changes_per_2s": 2 * ch / max(sec, 1e-9), "frame_accuracy": right / total if total else None,
                   "speech_seconds": sec}
    return res


def table(title: str, res: dict) -> None:
    print(f"\n{title}\n\n| switch | changes per 2 s | frame accuracy | speech s |\n|---|---|---|---|")
    for sw, r in res.items():
        acc = "-" if r["frame_accuracy"] is None else f"{r['frame_accuracy']:.3f}"
        print(f"| {'none' if sw is None else sw} | {r['changes_per_2s']:.2f} | {acc} | {r['speech_seconds']:.0f} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sequences", type=int, default=8, help="sequences per corpus (default 8)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if not DATA.is_dir():
        ap.error(f"{DATA} not found: put the data pack at ../shared beside the repository")
    from paravox.audio import load_audio
    from paravox.speech_emotion.recognizer import EmotionRecognizer
    from paravox.speech_emotion.smoothing import SWITCH

    rec = EmotionRecognizer()
    choose = [s for c in ("casia", "emodb") for s in sequences(c, args.sequences, args.seed)]
    res = evaluate(rec, choose, SWITCHES, True)
    table(f"choosing set: CASIA + EmoDB sequences ({len(choose)} x 6 clips)", res)
    ok = [sw for sw, r in res.items() if r["changes_per_2s"] <= 1.0]
    best = max(ok, key=lambda sw: res[sw]["frame_accuracy"]) if ok else None
    print(f"\nchosen: switch {best} (shipped: {SWITCH})")
    report = (None, SWITCH)
    rav = sequences("ravdess", args.sequences, args.seed)
    table(f"report: RAVDESS sequences ({len(rav)} x 6 clips)", evaluate(rec, rav, report, True))
    tava = sequences("tava", args.sequences, args.seed)
    table(f"report: TAVA sequences ({len(tava)} x 6 affects; change rate only)", evaluate(rec, tava, report, False))
    rows = [json.loads(x) for x in (DATA / "nvasr" / "dev" / "manifest.jsonl").read_text().splitlines() if x.strip()]
    real = [(load_audio(str(DATA / "nvasr" / "dev" / r["audio"])).samples, []) for r in rows
            if not r.get("synthetic") and r.get("duration", 0) >= 4.0]
    table(f"report: real speech, nvasr/dev real clips >= 4 s ({len(real)} clips)", evaluate(rec, real, report, False))
    rng = np.random.default_rng(0)
    white = (0.1 * rng.standard_normal(160000)).astype(np.float32)
    brown = np.cumsum(rng.standard_normal(160000)).astype(np.float32)
    brown = (0.3 * (brown - brown.mean()) / np.abs(brown - brown.mean()).max()).astype(np.float32)
    print("\nno speech\n\n| input | frames | frames with no label | file-level emotion |\n|---|---|---|---|")
    for name, x in (("silence 1 s", np.zeros(16000, np.float32)), ("silence 10 s", np.zeros(160000, np.float32)),
                    ("white noise 10 s", white), ("brown noise 10 s", brown)):
        s = rec.frames(x, hop=HOP)
        found = rec.file_emotion(x)
        print(f"| {name} | {len(s.path)} | {int(np.sum(s.path < 0))} | {'none' if found is None else 'a label'} |")
    rows = [json.loads(x) for x in (DATA / "nonverbal" / "deeply" / "manifest.jsonl").read_text().splitlines() if x.strip()]
    random.Random(args.seed).shuffle(rows)
    frames = unlabelled = files = 0
    for r in rows[:40]:
        x = load_audio(str(DATA / "nonverbal" / "deeply" / r["audio"])).samples
        s = rec.frames(x, hop=HOP)
        frames, unlabelled = frames + len(s.path), unlabelled + int(np.sum(s.path < 0))
        files += rec.file_emotion(x) is None
    print(f"| 40 vocalizations alone (nonverbal/deeply) | {frames} | {unlabelled} | none for {files} of 40 |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
