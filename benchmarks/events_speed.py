"""What vocal events and emotion cost: `paravox analyze` wall time with and without them.

    python benchmarks/events_speed.py                       # nvasr/dev real clips + the demo
    python benchmarks/events_speed.py --set demo --repeat 3

Each configuration runs over the same clips with models loaded once (first clip warmed up
and not timed); the detector's own time is also measured alone. Configurations run one
after another, not clip by clip: the recogniser caches the encoding of the last window, so
a second analysis of the same clip right after the first would skip the encoder. Whisper's
temperature fallback samples at random on a few hard clips, so totals move by a few
percent between runs. Prints a markdown table
and writes benchmarks/results/events_speed.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"


def clips(which: str) -> list[Path]:
    demo = [REPO / "samples" / "demo.flac"]
    if which == "demo":
        return demo
    d = DATA / "nvasr" / "dev"
    rows = [json.loads(line) for line in (d / "manifest.jsonl").read_text().splitlines()]
    return demo + [d / r["audio"] for r in rows if not r.get("synthetic")]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", choices=("nvasr-real", "demo"), default="nvasr-real")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()

    from paravox.audio import load_audio
    from paravox.pipeline import Analyzer

    paths = clips(args.set)
    audio = [load_audio(p) for p in paths]
    seconds = sum(a.duration for a in audio) * args.repeat
    results = {}
    configs = (
        ("transcription only", "none", "none"),
        ("transcription + events", "paravox-events", "none"),
        ("transcription + emotion", "none", "paravox-emotion"),
        ("transcription + events + emotion (default)", "paravox-events", "paravox-emotion"),
    )
    for name, events, emotion in configs:
        analyzer = Analyzer(events=events, emotion=emotion, threads=args.threads)
        analyzer.analyze((audio[0].samples, 16000))  # load the models
        t = time.perf_counter()
        for _ in range(args.repeat):
            for a in audio:
                analyzer.analyze((a.samples, 16000))
        results[name] = time.perf_counter() - t
    det = Analyzer(events="paravox-events", emotion="none").events
    t = time.perf_counter()
    for _ in range(args.repeat):
        for a in audio:
            det.detect(a.samples, 16000, [])
    results["events alone"] = time.perf_counter() - t

    base = results["transcription only"]
    lines = [
        f"{len(paths)} clips, {seconds:.1f} s of audio, repeat {args.repeat}",
        "",
        "| configuration | wall time (s) | real-time factor | vs transcription only |",
        "|---|---|---|---|",
    ]
    for name, wall in results.items():
        rel = "" if name == "transcription only" else f"{100 * (wall - base) / base:+.1f}%" if name != "events alone" else f"{100 * wall / base:.1f}% of it"
        lines.append(f"| {name} | {wall:.2f} | {wall / seconds:.4f} | {rel} |")
    print("\n".join(lines))
    out = REPO / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "events_speed.json").write_text(json.dumps({"set": args.set, "audio_seconds": seconds, **results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
