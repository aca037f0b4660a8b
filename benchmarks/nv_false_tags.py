"""False vocal-event tags on plain speech: how many tags per minute the detector writes
where (almost) nobody laughs, coughs or sighs.

    python benchmarks/nv_false_tags.py                        # 60 clips per corpus, seed 0
    python benchmarks/nv_false_tags.py -n 120 --seed 1
    python benchmarks/nv_false_tags.py --from-events benchmarks/results/nv_false_tags_events.jsonl

Runs ``paravox.events()`` (the event detector alone, no recogniser; shipped model and
defaults: no score threshold beyond the model's own) over a fixed, seeded sample of each
emotion corpus of the data pack (CASIA zh, RAVDESS en, EmoDB de, TAVA en: read speech
without vocalizations in their transcripts) and reports

* events per minute of audio, per corpus and per tag, at the default and at score
  thresholds (``--thresholds``, default 0.3, 0.5, 0.7, 0.9: what a threshold would leave);
* the distribution of event scores (so a threshold can be read off);
* events per minute by the clip's emotion label (acted anger, joy or sadness may hold a
  real sigh, laugh, gasp or scream: RAVDESS and TAVA are acted, so not every event is false);
* the top-scoring events with clip ids and audio paths, for a person to listen to.

Every event counts as false here; the listening list is how to find the ones that are not.
CASIA, EmoDB and RAVDESS are the speech of the detector's training mixtures (which hold
speech-only stretches, so the detector was taught not to fire on exactly these voices);
only a few speakers are held out (:data:`paravox.training.mixtures.HELD_OUT`) and TAVA was
never used. Every figure is therefore also given by voice status (``trained``,
``held-out``, ``unseen corpus``); the held-out and unseen rows are the honest ones, and
``--voices held-out`` samples only from them.
Events are cached as JSONL (``-o``); ``--from-events`` rescores a cache.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from itertools import pairwise
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
RESULTS = REPO / "benchmarks" / "results"
CORPORA = ("casia", "ravdess", "emodb", "tava")
BINS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0001)


def voice_status(data: Path) -> dict[str, str]:
    """Clip id -> ``trained`` / ``held-out``: whether the detector's training mixtures used its voice.

    Clips of a corpus the mixtures never read are absent (``unseen corpus``).
    """
    from paravox.training.mixtures import speech_clips

    return {c.id: "held-out" if c.held_out else "trained" for c in speech_clips(data)}


def sample_clips(data: Path, corpus: str, n: int, seed: int, held_out_only: bool = False) -> list[dict[str, Any]]:
    """``n`` clips of ``corpus`` drawn with a seed of its own (the same for any other corpus list)."""
    folder = data / "emotion" / corpus
    rows = [json.loads(line) for line in (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    rows.sort(key=lambda r: r["id"])
    if held_out_only:
        status = voice_status(data)
        rows = [r for r in rows if status.get(r["id"], "unseen corpus") != "trained"]
    picked = random.Random(f"{seed}:{corpus}").sample(rows, min(n, len(rows)))
    return [
        {"id": r["id"], "corpus": corpus, "audio": str(folder / r["audio"]), "duration": r.get("duration"),
         "label": r.get("label") or r.get("affect"), "speaker": r.get("speaker")}
        for r in sorted(picked, key=lambda r: r["id"])
    ]


def run(clips: list[dict[str, Any]], out: Path) -> None:
    import paravox

    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for k, clip in enumerate(clips, 1):
            t0 = time.perf_counter()
            res = paravox.events(clip["audio"], name=clip["id"])
            row = {**clip, "duration": res.duration, "events": [e.to_dict() for e in res.events],
                   "elapsed": round(time.perf_counter() - t0, 3)}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            f.flush()
            print(f"  {k}/{len(clips)} {clip['id']} {len(res.events)} events {row['elapsed']:.1f}s", file=sys.stderr)


def _per_min(count: int, seconds: float) -> float:
    return 60.0 * count / seconds if seconds else 0.0


def build_report(rows: list[dict[str, Any]], thresholds: list[float], top: int,
                 status: dict[str, str] | None = None) -> dict[str, Any]:
    status = status or {}
    for r in rows:
        r["voices"] = status.get(r["id"], "unseen corpus")
    corpora = [c for c in CORPORA if any(r["corpus"] == c for r in rows)]
    corpora += sorted({r["corpus"] for r in rows} - set(corpora))
    levels = [None, *thresholds]

    def kept(e: dict[str, Any], t: float | None) -> bool:
        return t is None or e["score"] >= t

    def name(t: float | None) -> str:
        return "default" if t is None else f">={t:g}"

    report: dict[str, Any] = {"thresholds": [name(t) for t in levels], "corpora": {}}
    all_scores: list[float] = []
    for c in corpora:
        rs = [r for r in rows if r["corpus"] == c]
        seconds = sum(r["duration"] for r in rs)
        events = [e for r in rs for e in r["events"]]
        all_scores += [e["score"] for e in events]
        by_tag: dict[str, dict[str, int]] = defaultdict(dict)
        for t in levels:
            for tag, n in Counter(e["tag"] for e in events if kept(e, t)).items():
                by_tag[tag][name(t)] = n
        by_label: dict[str, dict[str, float]] = {}
        for label in sorted({str(r["label"]) for r in rs}):
            lr = [r for r in rs if str(r["label"]) == label]
            secs = sum(r["duration"] for r in lr)
            n = sum(len(r["events"]) for r in lr)
            by_label[label] = {"clips": len(lr), "minutes": secs / 60, "events": n, "per_minute": _per_min(n, secs)}
        report["corpora"][c] = {
            "clips": len(rs),
            "minutes": seconds / 60,
            "clips_with_events": sum(bool(r["events"]) for r in rs),
            "events": {name(t): sum(kept(e, t) for e in events) for t in levels},
            "per_minute": {name(t): _per_min(sum(kept(e, t) for e in events), seconds) for t in levels},
            "per_tag": {tag: by_tag[tag] for tag in sorted(by_tag, key=lambda k: -by_tag[k].get("default", 0))},
            "per_label": by_label,
            "seconds_per_clip": statistics.fmean(r.get("elapsed", 0.0) for r in rs) if rs else 0.0,
        }
    report["by_voices"] = {}
    for c in corpora:
        for v in ("trained", "held-out", "unseen corpus"):
            rs = [r for r in rows if r["corpus"] == c and r["voices"] == v]
            if not rs:
                continue
            secs = sum(r["duration"] for r in rs)
            evs = [e for r in rs for e in r["events"]]
            report["by_voices"][f"{c} / {v}"] = {
                "clips": len(rs), "minutes": secs / 60,
                "events": {name(t): sum(kept(e, t) for e in evs) for t in levels},
                "per_minute": {name(t): _per_min(sum(kept(e, t) for e in evs), secs) for t in levels},
            }
    for v in ("trained", "held-out", "unseen corpus"):
        rs = [r for r in rows if r["voices"] == v]
        if not rs or len({r["corpus"] for r in rs}) < 2:
            continue
        secs = sum(r["duration"] for r in rs)
        evs = [e for r in rs for e in r["events"]]
        report["by_voices"][f"all / {v}"] = {
            "clips": len(rs), "minutes": secs / 60,
            "events": {name(t): sum(kept(e, t) for e in evs) for t in levels},
            "per_minute": {name(t): _per_min(sum(kept(e, t) for e in evs), secs) for t in levels},
        }
    seconds = sum(r["duration"] for r in rows)
    events = [(r, e) for r in rows for e in r["events"]]
    report["all"] = {
        "clips": len(rows),
        "minutes": seconds / 60,
        "events": {name(t): sum(kept(e, t) for _, e in events) for t in levels},
        "per_minute": {name(t): _per_min(sum(kept(e, t) for _, e in events), seconds) for t in levels},
        "per_tag_per_minute": {
            tag: {name(t): _per_min(sum(1 for _, e in events if e["tag"] == tag and kept(e, t)), seconds) for t in levels}
            for tag in sorted({e["tag"] for _, e in events})
        },
    }
    hist = Counter()
    for s in all_scores:
        for lo, hi in pairwise(BINS):
            if lo <= s < hi:
                hist[f"{lo:.1f}-{min(hi, 1.0):.1f}"] += 1
                break
    q = statistics.quantiles(all_scores, n=10) if len(all_scores) > 1 else []
    report["scores"] = {
        "n": len(all_scores),
        "histogram": {f"{lo:.1f}-{min(hi, 1.0):.1f}": hist.get(f"{lo:.1f}-{min(hi, 1.0):.1f}", 0) for lo, hi in pairwise(BINS)},
        "deciles": q,
        "median": statistics.median(all_scores) if all_scores else None,
    }
    ranked = sorted(events, key=lambda re_: -re_[1]["score"])[:top]
    report["top_events"] = [
        {"id": r["id"], "corpus": r["corpus"], "voices": r["voices"], "label": r["label"], "tag": e["tag"], "score": e["score"],
         "start": e["start"], "end": e["end"], "audio": r["audio"]}
        for r, e in ranked
    ]
    return report


def format_report(rep: dict[str, Any]) -> str:
    levels = rep["thresholds"]
    lines = ["| corpus | clips | min | clips with events | " + " | ".join(f"tags/min {t}" for t in levels) + " |",
             "|---|---|---|---|" + "---|" * len(levels)]
    for c, v in [*rep["corpora"].items(), ("**all**", rep["all"])]:
        with_ev = v.get("clips_with_events", sum(x["clips_with_events"] for x in rep["corpora"].values()))
        lines.append(f"| {c} | {v['clips']} | {v['minutes']:.2f} | {with_ev} | "
                     + " | ".join(f"{v['per_minute'][t]:.2f} ({v['events'][t]})" for t in levels) + " |")
    lines += ["", "by voice status (trained: the detector's training mixtures used these voices):", "",
              "| corpus / voices | clips | min | " + " | ".join(f"tags/min {t}" for t in levels) + " |",
              "|---|---|---|" + "---|" * len(levels)]
    for k, v in rep["by_voices"].items():
        lines.append(f"| {k} | {v['clips']} | {v['minutes']:.2f} | "
                     + " | ".join(f"{v['per_minute'][t]:.2f} ({v['events'][t]})" for t in levels) + " |")
    lines += ["", "per tag, all corpora (tags per minute; default / " + " / ".join(levels[1:]) + "):", "",
              "| tag | " + " | ".join(rep["corpora"]) + " | all, per min |", "|---|" + "---|" * (len(rep["corpora"]) + 1)]
    tags = sorted(rep["all"]["per_tag_per_minute"], key=lambda t: -rep["all"]["per_tag_per_minute"][t]["default"])
    for tag in tags:
        cells = [str(rep["corpora"][c]["per_tag"].get(tag, {}).get("default", 0)) for c in rep["corpora"]]
        pm = rep["all"]["per_tag_per_minute"][tag]
        lines.append(f"| {tag} | " + " | ".join(cells) + " | " + " / ".join(f"{pm[t]:.2f}" for t in levels) + " |")
    s = rep["scores"]
    lines += ["", f"event scores (n={s['n']}, median {s['median'] if s['median'] is None else round(s['median'], 3)}):", "",
              "| score | " + " | ".join(s["histogram"]) + " |", "|---|" + "---|" * len(s["histogram"]),
              "| events | " + " | ".join(str(n) for n in s["histogram"].values()) + " |"]
    lines += ["", "events per minute by the clip's emotion label:", ""]
    for c, v in rep["corpora"].items():
        lines.append(f"- {c}: " + ", ".join(f"{k} {x['per_minute']:.1f} ({x['events']}/{x['clips']} clips)" for k, x in v["per_label"].items()))
    lines += ["", "top-scoring events (listen to these):", "", "| score | tag | clip | voices | label | start-end s |", "|---|---|---|---|---|---|"]
    for e in rep["top_events"]:
        lines.append(f"| {e['score']:.3f} | {e['tag']} | {e['id']} | {e['voices']} | {e['label']} | "
                     f"{e['start']:.2f}-{e['end']:.2f} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DATA, help="the data pack (default: ../shared/data)")
    ap.add_argument("--corpora", default=",".join(CORPORA))
    ap.add_argument("-n", type=int, default=60, help="clips per corpus (default 60)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--voices", choices=("all", "held-out"), default="all",
                    help="held-out: sample only voices the detector's training mixtures never used")
    ap.add_argument("-o", "--events-out", type=Path, default=RESULTS / "nv_false_tags_events.jsonl")
    ap.add_argument("--from-events", type=Path, help="rescore this cache; runs no model")
    ap.add_argument("--thresholds", default="0.3,0.5,0.7,0.9")
    ap.add_argument("--top", type=int, default=25, help="top-scoring events listed")
    ap.add_argument("--json", type=Path, default=RESULTS / "nv_false_tags.json", help="report JSON")
    args = ap.parse_args()

    if args.from_events:
        cache = args.from_events
    else:
        held = args.voices == "held-out"
        clips = [c for corpus in args.corpora.split(",") if corpus
                 for c in sample_clips(args.data, corpus, args.n, args.seed, held)]
        run(clips, args.events_out)
        cache = args.events_out
    rows = [json.loads(line) for line in cache.read_text(encoding="utf-8").splitlines() if line.strip()]
    report = build_report(rows, [float(x) for x in args.thresholds.split(",") if x], args.top, voice_status(args.data))
    report["cache"] = str(cache)
    report["sample"] = ({"n_per_corpus": args.n, "seed": args.seed, "voices": args.voices}
                        if not args.from_events else "from cache")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, ensure_ascii=False, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    print(format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
