"""What vocal events and emotion cost: `paravox analyze` wall time with and without them.

    python benchmarks/events_speed.py                       # nvasr/dev real clips + the demo
    python benchmarks/events_speed.py --set demo --repeat 3

Models are loaded once per configuration (first clip warmed up, not timed). The
configurations are interleaved clip by clip, in an order that rotates from clip to clip,
so that a slow spell of the machine falls on all of them alike; the recogniser's cache of
its last encoded window is cleared before every analysis, so no configuration reuses
another's encoding. Each configuration has its own seeded Whisper model, so the
transcripts come out identical in every configuration (spelled-out laughter aside, which
becomes a tag when events are on), which the script checks. The detector's and the emotion model's own
time on the same clips is measured apart. Prints a markdown table
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


def _recognised_text(result) -> str:
    """The transcript as the recogniser wrote it, less spelled-out laughter.

    With events on, laughter Whisper spells out ("Ha-ha!") becomes a tag and leaves the
    text; removing it from every configuration's text leaves what must be identical.
    """
    from paravox.result import join_words
    from paravox.vocal_events.laugh_words import laughs_from_words

    segments, _ = laughs_from_words(result.segments)
    return join_words(s.text for s in segments)


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

    from paravox.analyzer import Analyzer
    from paravox.audio import load_audio
    from paravox.backends.whisper import new_whisper

    paths = clips(args.set)
    audio = [load_audio(p) for p in paths]
    seconds = sum(a.duration for a in audio) * args.repeat
    configs = (
        ("transcription only", "none", "none"),
        ("transcription + events", "paravox-events", "none"),
        ("transcription + emotion", "none", "paravox-emotion"),
        ("transcription + events + emotion (default)", "paravox-events", "paravox-emotion"),
    )
    analyzers = {}
    for name, events, emotion in configs:
        analyzers[name] = Analyzer(events=events, emotion=emotion, threads=args.threads)
        # Each configuration gets its own Whisper model: CTranslate2 keeps one sampler per
        # decoding thread, seeded once, so configurations sharing a model would draw from one
        # stream and hard clips (where the temperature fallback samples) would decode
        # differently. With a model each, seeded alike, every configuration decodes the same.
        analyzers[name].asr.model = new_whisper(args.threads)
        analyzers[name].analyze((audio[0].samples, 16000))  # load the models
    # Inside the default analysis, the time spent in each head, timed where it is called.
    default = analyzers["transcription + events + emotion (default)"]
    inside = {"events": 0.0, "emotion": 0.0, "laughter": 0.0}

    def timed_method(obj, method: str, key: str) -> None:
        original = getattr(obj, method)

        def wrapper(*a, **kw):
            t0 = time.perf_counter()
            try:
                return original(*a, **kw)
            finally:
                inside[key] += time.perf_counter() - t0

        setattr(obj, method, wrapper)

    timed_method(default.events, "detect", "events")
    if default.events.laughter is not None:
        # the laughter second opinion, counted only inside the default analysis's events (the
        # model object is shared by every configuration that loads it)
        original_detect, original_laughs = default.events.detect, default.events.laughter.events
        in_default = [False]

        def detect(*a, **kw):
            in_default[0] = True
            try:
                return original_detect(*a, **kw)
            finally:
                in_default[0] = False

        def laughs(*a, **kw):
            t0 = time.perf_counter()
            try:
                return original_laughs(*a, **kw)
            finally:
                if in_default[0]:
                    inside["laughter"] += time.perf_counter() - t0

        default.events.detect = detect
        default.events.laughter.events = laughs
    timed_method(default.emotion, "score", "emotion")
    results = {name: 0.0 for name, _, _ in configs}
    texts: dict[str, list[str]] = {name: [] for name, _, _ in configs}
    order = [name for name, _, _ in configs]
    for r in range(args.repeat):
        for i, a in enumerate(audio):
            k = (i + r) % len(order)
            for name in order[k:] + order[:k]:
                analyzer = analyzers[name]
                analyzer.asr.model._last_encoded = None  # no encoding carried over from another run
                t = time.perf_counter()
                result = analyzer.analyze((a.samples, 16000))
                results[name] += time.perf_counter() - t
                texts[name].append(_recognised_text(result))
    same = all(texts[name] == texts[order[0]] for name in order)
    det = analyzers["transcription + events"].events
    emo = analyzers["transcription + emotion"].emotion
    t = time.perf_counter()
    for _ in range(args.repeat):
        for a in audio:
            det.detect(a.samples, 16000, [])
    results["events alone"] = time.perf_counter() - t
    from paravox.backends.vocal_events import ParavoxEventsFast

    fast = ParavoxEventsFast()
    t = time.perf_counter()
    for _ in range(args.repeat):
        for a in audio:
            fast.detect(a.samples, 16000, [])
    results["events alone, paravox-events-fast (no laughter second opinion)"] = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(args.repeat):
        for a in audio:
            emo.recognizer.utterance(a.samples)
    results["emotion alone (whole clip)"] = time.perf_counter() - t

    base = results["transcription only"]
    lines = [
        f"{len(paths)} clips, {seconds:.1f} s of audio, repeat {args.repeat}",
        "",
        "| configuration | wall time (s) | real-time factor | vs transcription only |",
        "|---|---|---|---|",
    ]
    for name, wall in results.items():
        rel = "" if name == "transcription only" else f"{100 * wall / base:.1f}% of it" if "alone" in name else f"{100 * (wall - base) / base:+.1f}%"
        lines.append(f"| {name} | {wall:.2f} | {wall / seconds:.4f} | {rel} |")
    lines.append("")
    full = results["transcription + events + emotion (default)"]
    rest = full - inside["events"] - inside["emotion"]
    lines.append(
        f"Inside the default analysis ({full:.2f} s): events {inside['events']:.2f} s and emotion "
        f"{inside['emotion']:.2f} s, i.e. {100 * inside['events'] / rest:+.1f}% and "
        f"{100 * inside['emotion'] / rest:+.1f}% over the rest of it ({rest:.2f} s: decoding, "
        "transcription and placement); of the events' time, the laughter second opinion "
        f"{inside['laughter']:.2f} s."
    )
    lines.append("")
    lines.append("transcripts identical in every configuration: " + ("yes" if same else "NO (timings not comparable)"))
    print("\n".join(lines))
    out = REPO / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "events_speed.json").write_text(json.dumps({"set": args.set, "audio_seconds": seconds, **results,
                                                       "inside_default": inside}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
