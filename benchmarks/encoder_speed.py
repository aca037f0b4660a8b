#!/usr/bin/env python3
"""Wall time of the Whisper-base encoder: paravox's NumPy forward pass against CTranslate2 int8.

For each input length (mel frames; 100 frames = 1 s) it times, on the same features and
thread count:

- ``numpy, all layers``: :meth:`paravox.models.whisper_encoder.WhisperEncoder.forward` with
  every block and the final norm (float32);
- ``numpy, layers 0-2``: the same stopped after block 2 (``layers=[2]``), the cost when a
  head reads an early or middle layer;
- ``ctranslate2 int8``: ``ctranslate2.models.Whisper(..., compute_type="int8").encode``, the
  runtime faster-whisper uses (final output only).

The features are the log-mel of a fixed pseudo-random signal (the cost does not depend on
content). Each cell is the median of ``--repeat`` runs after one warm-up run.

    python benchmarks/encoder_speed.py [--frames 240 500 1000 3000] [--threads 2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, nargs="+", default=[240, 500, 1000, 3000])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    # BLAS reads these when NumPy is first imported, so set them before that import.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    import ctranslate2
    import numpy as np

    from paravox.models.whisper_encoder import WhisperEncoder, log_mel
    from paravox.models.whisper_files import ensure_whisper_base

    path = ensure_whisper_base()
    encoder = WhisperEncoder.load(path)
    ct2 = ctranslate2.models.Whisper(str(path), device="cpu", compute_type="int8", intra_threads=args.threads)

    rng = np.random.default_rng(0)
    samples = (0.1 * rng.standard_normal(max(args.frames) * 160)).astype(np.float32)
    mel_all = log_mel(samples)

    def median_seconds(fn) -> float:
        fn()  # warm-up
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    print(f"Whisper-base encoder, batch 1, {args.threads} threads, median of {args.repeat} runs (seconds)\n")
    print("| frames (audio) | numpy, all layers | numpy, layers 0-2 | ctranslate2 int8 | numpy / ct2 |")
    print("|---|---|---|---|---|")
    for frames in args.frames:
        mel = np.ascontiguousarray(mel_all[:, :frames])
        full = median_seconds(lambda: encoder.forward(mel))
        early = median_seconds(lambda: encoder.forward(mel, layers=[2]))
        view = ctranslate2.StorageView.from_array(mel[None])
        int8 = median_seconds(lambda: np.array(ct2.encode(view, to_cpu=True)))
        print(f"| {frames} ({frames / 100:g} s) | {full:.3f} | {early:.3f} | {int8:.3f} | {full / int8:.1f}x |")


if __name__ == "__main__":
    main()
