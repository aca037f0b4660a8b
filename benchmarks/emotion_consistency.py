#!/usr/bin/env python3
"""Does every entry point give a clip the same file-level emotion?

For a seeded sample of clips from the data pack's emotion corpora (and samples/demo.flac),
compares the file label of
  1. `paravox emotion --manifest LIST -f jsonl`   (the CLI, one process for all clips),
  2. `paravox analyze --manifest LIST -f jsonl`   (`.emotion.label`),
  3. POST /v1/analyze to a real `paravox serve` on loopback (4 requests at a time),
and prints how many clips agree, the largest difference in the winning label's score and in
any dimension (valence, arousal, dominance), and
every clip that disagrees.

    python benchmarks/emotion_consistency.py                   # 8 clips per corpus
    python benchmarks/emotion_consistency.py --per-corpus 20
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT / "tests"))

from serve_helpers import serve_in_subprocess  # noqa: E402

CORPORA = ("emotion/casia", "emotion/ravdess", "emotion/emodb", "emotion/tava", "nvasr/dev")


def _sample(per_corpus: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = [{"id": "demo", "audio": str(ROOT / "samples" / "demo.flac")}]
    for corpus in CORPORA:
        manifest = DATA / corpus / "manifest.jsonl"
        if not manifest.exists():
            continue
        lines = [json.loads(x) for x in manifest.read_text(encoding="utf-8").splitlines() if x.strip()]
        for r in rng.sample(lines, min(per_corpus, len(lines))):
            rows.append({"id": f"{corpus.split('/')[-1]}/{r['id']}", "audio": str(DATA / corpus / r["audio"])})
    return rows


def _cli(args: list[str]) -> dict[str, dict]:
    out = subprocess.run([sys.executable, "-m", "paravox.cli.main", *args, "-f", "jsonl", "-q"],
                         capture_output=True, text=True, check=False)
    if out.returncode not in (0, 1):
        raise SystemExit(f"paravox {' '.join(args)} failed:\n{out.stderr}")
    return {d["id"]: d for d in map(json.loads, out.stdout.splitlines())}


def _label(emotion: dict | None) -> tuple[str | None, float | None]:
    return (None, None) if not emotion else (emotion["label"], emotion["score"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--per-corpus", type=int, default=8, help="clips per corpus (default 8)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    rows = _sample(args.per_corpus, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "clips.jsonl"
        manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
        emo = _cli(["emotion", "--manifest", str(manifest)])
        ana = _cli(["analyze", "--manifest", str(manifest), "--events", "none"])
        with serve_in_subprocess("--events", "none", log=Path(tmp) / "serve.log") as (url, _proc):
            with httpx.Client(base_url=url, timeout=600) as c:

                def post(row: dict) -> tuple[str, dict]:
                    data = Path(row["audio"]).read_bytes()
                    r = c.post("/v1/analyze", content=data, params={"name": row["id"]})
                    r.raise_for_status()
                    return row["id"], r.json()

                with ThreadPoolExecutor(4) as pool:
                    srv = dict(pool.map(post, rows))

    agree, worst, dims_worst, bad = 0, 0.0, 0.0, []
    for r in rows:
        key = r["id"]
        dims = [(e.get("emotion") or {}).get("dimensions") or {} for e in (emo[key], ana[key], srv[key])]
        for name in set().union(*dims):
            values = [d[name] for d in dims if name in d]
            dims_worst = max(dims_worst, max(values) - min(values) if len(values) == 3 else float("inf"))
        got = [_label(emo[key].get("emotion")), _label(ana[key].get("emotion")), _label(srv[key].get("emotion"))]
        labels = {g[0] for g in got}
        if len(labels) == 1:
            agree += 1
            scores = [g[1] for g in got if g[1] is not None]
            if scores:
                worst = max(worst, max(scores) - min(scores))
        else:
            bad.append((key, got))
    print(f"{agree} of {len(rows)} clips: the same file label from paravox emotion, paravox analyze and POST /v1/analyze")
    print(f"largest spread of the winning score among agreeing clips: {worst:.4f}")
    print(f"largest spread of a dimension (valence, arousal, dominance) across the three: {dims_worst:.4f}")
    for key, got in bad:
        print(f"  differs: {key}: emotion {got[0]}, analyze {got[1]}, service {got[2]}")
    return 0 if not bad and dims_worst < 1e-3 else 1


if __name__ == "__main__":
    sys.exit(main())
