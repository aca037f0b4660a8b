"""How long emotion takes on this machine.

    python benchmarks/emotion_speed.py             # emotion alone on a 10-s clip (target < 0.3 s)
    python benchmarks/emotion_speed.py --analyze   # also: paravox analyze with and without emotion

The 10-s clip is made of real RAVDESS clips back to back. Timings are the median of
``--repeat`` runs after one warm-up (model files loaded, as in a long-running process).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "emotion" / "ravdess"


def ten_seconds() -> np.ndarray:
    from paravox.audio import load_audio

    rows = [json.loads(x) for x in (DATA / "manifest.jsonl").read_text().splitlines() if x.strip()][:5]
    x = np.concatenate([load_audio(DATA / r["audio"]).samples for r in rows])
    return x[: 10 * 16000]


def timed(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--analyze", action="store_true")
    args = ap.parse_args()
    from paravox.speech_emotion.recognizer import EmotionRecognizer

    x = ten_seconds()
    rec = EmotionRecognizer()
    print(f"machine: {os.cpu_count()} CPU cores; model features: layers {list(rec.model.features.layers)}, "
          f"prosody {rec.model.features.prosody}")
    for name, fn in (
        ("utterance", lambda: rec.utterance(x)),
        ("segment (Silero VAD + per segment)", lambda: rec.segments(x)),
        ("frame (hop 0.5 s)", lambda: rec.frames(x)),
    ):
        print(f"emotion, {name}, 10.0 s clip: {timed(fn, args.repeat):.3f} s")
    if args.analyze:
        from paravox.analyzer import Analyzer

        # events off in both: this measures what emotion adds to transcription
        plain, with_emotion = Analyzer(events=None), Analyzer(events=None, emotion="paravox-emotion")
        a = timed(lambda: plain.analyze((x, 16000)), max(1, args.repeat // 2))
        b = timed(lambda: with_emotion.analyze((x, 16000)), max(1, args.repeat // 2))
        print(f"paravox analyze, 10.0 s clip: {a:.2f} s without emotion, {b:.2f} s with (+{100 * (b - a) / a:.0f}%)")


if __name__ == "__main__":
    main()
