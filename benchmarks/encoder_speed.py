#!/usr/bin/env python3
"""Wall time of the Whisper-base encoder: paravox's NumPy and ONNX Runtime passes against CTranslate2 int8.

For each input length (mel frames; 100 frames = 1 s) and thread count it times, on the same
features, batch 1:

- ``numpy, all layers``: :meth:`paravox.encoder.numpy_encoder.WhisperEncoder.forward` with
  every block and the final norm (float32);
- ``numpy, layers 0-2``: the same stopped after block 2 (``layers=[2]``);
- ``numpy, layers 0-3``: stopped after block 3 (``layers=[0, 1, 2, 3]``, what the vocal-event
  and emotion heads read);
- ``ort f32, layers 0-3``: :class:`paravox.encoder.onnx_encoder.OnnxWhisperEncoder` on the
  same layers (float32, the pass the heads read);
- ``ort f32 padded_fast, 0-3``: the float32 graph with ``silence_after=True`` (each block also
  attends to a silent 30-s window's keys and values after the input: the classifier's
  ``padded_fast`` framing); a padded window costs what the 3000-frame row's ``ort f32`` costs;
- ``ctranslate2 int8``: ``ctranslate2.models.Whisper(..., compute_type="int8").encode``, the
  runtime faster-whisper uses (final output only, all 6 blocks).

The features are the log-mel of a fixed pseudo-random signal (the cost does not depend on
content). Each cell is the median of ``--repeat`` runs after one warm-up run (which also
builds the ONNX Runtime sessions; their build time is printed separately). Each thread
count runs in its own process, since BLAS reads its thread count when NumPy is imported.

    python benchmarks/encoder_speed.py [--frames 240 500 1000 3000] [--threads 1 2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, nargs="+", default=[240, 500, 1000, 3000])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    if len(args.threads) > 1:  # one process per thread count
        for threads in args.threads:
            command = [sys.executable, __file__, "--threads", str(threads), "--repeat", str(args.repeat)]
            subprocess.run(command + ["--frames", *map(str, args.frames)], check=True)
            print()
        return
    threads = args.threads[0]

    # BLAS reads these when NumPy is first imported, so set them before that import.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)

    import ctranslate2
    import numpy as np

    from paravox.encoder.files import ensure_whisper_base
    from paravox.encoder.numpy_encoder import WhisperEncoder, log_mel
    from paravox.encoder.onnx_encoder import OnnxWhisperEncoder

    path = ensure_whisper_base()
    encoder = WhisperEncoder.load(path)
    ct2 = ctranslate2.models.Whisper(str(path), device="cpu", compute_type="int8", intra_threads=threads)
    ort_f32 = OnnxWhisperEncoder(encoder, threads=threads)
    early = [0, 1, 2, 3]
    builds = []
    for silence in (False, True):
        start = time.perf_counter()
        ort_f32.session(max(early) + 1, silence_after=silence)
        builds.append(time.perf_counter() - start)

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

    print(f"Whisper-base encoder, batch 1, {threads} thread(s), median of {args.repeat} runs (seconds); "
          f"ORT session build for layers 0-3: float32 {builds[0]:.2f} s, float32 padded_fast {builds[1]:.2f} s\n")
    print("| frames (audio) | numpy, all layers | numpy, layers 0-2 | numpy, layers 0-3 | ort f32, layers 0-3 "
          "| ort f32 padded_fast, 0-3 | ctranslate2 int8 (all) | numpy / ort f32 (0-3) |")
    print("|---|---|---|---|---|---|---|---|")
    for frames in args.frames:
        mel = np.ascontiguousarray(mel_all[:, :frames])
        full = median_seconds(lambda: encoder.forward(mel))
        upto2 = median_seconds(lambda: encoder.forward(mel, layers=[2]))
        upto3 = median_seconds(lambda: encoder.forward(mel, layers=early))
        f32 = median_seconds(lambda: ort_f32.forward(mel, layers=early))
        fast = median_seconds(lambda: ort_f32.forward(mel, layers=early, silence_after=True))
        view = ctranslate2.StorageView.from_array(mel[None])
        ct = median_seconds(lambda: np.array(ct2.encode(view, to_cpu=True)))
        print(
            f"| {frames} ({frames / 100:g} s) | {full:.3f} | {upto2:.3f} | {upto3:.3f} | {f32:.3f} "
            f"| {fast:.3f} | {ct:.3f} | {upto3 / f32:.1f}x |",
            flush=True,
        )


if __name__ == "__main__":
    main()
