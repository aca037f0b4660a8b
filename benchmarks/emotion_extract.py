"""Fill the feature cache for the emotion corpora (clean, then noise-augmented copies).

    python benchmarks/emotion_extract.py [--augment clean noise] [--layers 0 1 2 3]

Everything later (``paravox bench emotion``, ``paravox train emotion``) reads the cache,
so running this first only moves the cost; it is deterministic.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from paravox.speech_emotion.features import FeatureConfig
from paravox.training.feature_cache import extract_files

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "emotion"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--corpora", nargs="+", default=["casia", "emodb", "ravdess"])
    ap.add_argument("--augment", nargs="+", default=["clean"])
    ap.add_argument("--layers", nargs="+", type=int, default=[0, 1, 2, 3])
    args = ap.parse_args()
    config = FeatureConfig(layers=tuple(args.layers), prosody=True)
    for augment in args.augment:
        for corpus in args.corpora:
            folder = Path(args.data) / corpus
            rows = [json.loads(line) for line in (folder / "manifest.jsonl").read_text().splitlines() if line.strip()]
            paths = [str(folder / r["audio"]) for r in rows]
            t = time.perf_counter()
            X = extract_files(paths, config, augment=augment, progress=True)
            print(f"{corpus} {augment}: {X.shape} in {time.perf_counter() - t:.1f} s", flush=True)


if __name__ == "__main__":
    main()
