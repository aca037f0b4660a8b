#!/usr/bin/env python3
"""A cheaper padded language reading? (issue 23; a measurement, nothing ships from it)

The second, padded language reading of an unsure region (``speech_regions.language_probs(...,
pad=True)``) encodes the region padded to a 30-s window with CTranslate2: about 0.5 s on 2 cores
(0.9 s on one) for a region of a second or two, the largest cost of the per-region languages
on inputs with many vocalizations and on corpora of short clips (docs/benchmarks.md).

This compares it, region by region, with an approximation: the region's own frames through the
ONNX encoder the heads use, with ``silence_after=True`` (each block also attends to the keys and
values of a silent window after the input, ``OnnxWhisperEncoder.forward``), the remaining
frames of the window taken from the encoding of a silent window, and Whisper's language
detection (CTranslate2's ``detect_language``, which accepts encoder output) on the 1500 frames.
For every region with at least 0.5 s of speech of the inputs of
``padded_language.py --set choose|report`` it prints: regions, regions whose top language
agrees, the same for the regions the own-frames reading is unsure of (those read padded today),
the regions on which the two readings disagree about being sure (``SURE_PROBABILITY``), the
mean absolute difference of the top language's probability, the seconds each took, and how
many of the unsure regions the approximation is sure of (and wrong on): the readings a rule
"trust the cheap reading when it is sure, else read padded" would save.

    python benchmarks/experiments/padded_language_approx.py --set choose
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "benchmarks" / "experiments"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", choices=["choose", "report"], default="choose")
    ap.add_argument("--files", type=int, default=3, help="code-switched files (as padded_language.py)")
    args = ap.parse_args()

    import ctranslate2
    from padded_language import inputs

    from paravox.backends.speech_regions import (MIN_JUDGED_SPEECH, SURE_PROBABILITY, language_probs,
                                                 speech_chunks, speech_regions)
    from paravox.backends.whisper import WhisperBaseASR
    from paravox.encoder.numpy_encoder import FINAL, log_mel
    from paravox.encoder.onnx_encoder import shared_encoder
    from paravox.options import TranscribeOptions

    model = WhisperBaseASR(threads=2).model
    encoder = shared_encoder()
    opts = TranscribeOptions()
    silent = encoder.forward(log_mel(np.zeros(30 * 16000, np.float32), pad_to_30s=True), [FINAL])[FINAL]

    def approx(x: np.ndarray) -> dict[str, float]:
        states = encoder.forward(log_mel(x[: 30 * 16000]), [FINAL], silence_after=True)[FINAL]
        window = np.ascontiguousarray(np.concatenate([states, silent[len(states):]])[None], dtype=np.float32)
        return {t[2:-2]: float(p) for t, p in model.model.detect_language(ctranslate2.StorageView.from_array(window))[0]}

    n = agree = unsure = unsure_agree = sure_differs = trusted = trusted_wrong = 0
    diffs, t_padded, t_approx = [], 0.0, 0.0
    for _, audio, _ in inputs(args.set, args.files):
        chunks = speech_chunks(audio, opts)
        for r in speech_regions(audio, chunks, opts) if chunks else []:
            if r.speech < MIN_JUDGED_SPEECH:
                continue
            x = audio[r.start : r.end]
            t0 = time.perf_counter()
            padded, padded_conf = language_probs(model, x, None, pad=True)
            t1 = time.perf_counter()
            cheap = approx(x)
            t2 = time.perf_counter()
            t_padded, t_approx = t_padded + t1 - t0, t_approx + t2 - t1
            _, own_conf = language_probs(model, x, None)
            top, top_cheap = max(padded, key=padded.get), max(cheap, key=cheap.get)
            n += 1
            agree += top == top_cheap
            if own_conf < SURE_PROBABILITY:
                unsure += 1
                unsure_agree += top == top_cheap
                if cheap[top_cheap] >= SURE_PROBABILITY:  # "trust the cheap reading when it is sure"
                    trusted += 1
                    trusted_wrong += top != top_cheap
            sure_differs += (padded_conf >= SURE_PROBABILITY) != (cheap[top_cheap] >= SURE_PROBABILITY)
            diffs.append(abs(padded_conf - cheap.get(top, 0.0)))
    print(f"set {args.set}: {n} regions; top language agrees on {agree}; on the {unsure} the own-frames "
          f"reading is unsure of: {unsure_agree}; sure/unsure differs on {sure_differs}; mean |p_top "
          f"padded - p_top approx| {np.mean(diffs):.3f}; padded {t_padded:.1f} s, approx {t_approx:.1f} s; "
          f"of the unsure regions the approximation is sure of {trusted}, wrong on {trusted_wrong} of them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
