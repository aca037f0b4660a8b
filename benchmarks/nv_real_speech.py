"""Vocal events in transcripts, scored per source: the honest protocol's baseline.

    python benchmarks/nv_real_speech.py                       # run the analyzer, then score
    python benchmarks/nv_real_speech.py --from-hyp benchmarks/results/nv_real_speech_hyp.jsonl

Runs the shipped analyzer (``paravox.analyzer.Analyzer`` with the default
``AnalyzeOptions``: whisper-base, events on, laugh words on) over every clip of the data
pack's ``nvasr/dev`` (49 clips) and ``nvasr/tts-demos`` (50 clips), single process, and
scores the tagged transcripts (``Analysis.tagged_text()``) against the references:

* per source (nonverbalspeech38k, smiip-nv: real recordings; synparaspeech: synthesised;
  affectron, step-audio-editx, sponlm-tts, firered-tts: TTS demo pages, some spliced) and
  per group (``real``; ``synthetic``; ``spliced-real``; ``tts``; ``tts-plain``, the
  untagged TTS inputs of Step-Audio-EditX: every tag there is a false one);
* NV exact match, tag P/R/F1 over tag multisets, position-aware F1 / mNTD / Track1Score
  (NVVSpeech Challenge Track 1, :mod:`paravox.evaluation.nvvspeech`), text CER;
* per-tag recall and precision pooled over the real sources and over the rest;
* what a score threshold would do (an analysis only; nothing is changed): tag P/R/F1 over
  tag multisets when only the events scoring at least 0.3 ... 0.7 are kept, and the
  unmatched (false) tags per minute;
* a bootstrap interval over the real clips (resampled with replacement), since 25 clips
  and 25 tags leave wide error bars;
* mean and spread (population std, and the range) over the real sources: the figure a
  model change has to move, source by source (leave-one-source-out: a source the model
  was tuned on says little about speech it has not heard).

A second pass runs with ``AnalyzeOptions(laugh_words=False)``: the tags then come from the
event detector alone (spelled-out laughter such as 哈哈 stays text), so the laugh tags that
the laugh-words rule writes can be told apart from the detector's.

Hypotheses are cached as JSONL (``-o``, one row per clip and pass, appended as they come;
``--resume`` skips rows already there) and ``--from-hyp`` rescores a cache without running
any model. The report is printed as markdown and written as JSON (``--json``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
RESULTS = REPO / "benchmarks" / "results"

SETS = ("nvasr/dev", "nvasr/tts-demos")
REAL_SOURCES = ("nonverbalspeech38k", "smiip-nv")
SOURCES = ("nonverbalspeech38k", "smiip-nv", "synparaspeech", "affectron", "step-audio-editx", "sponlm-tts", "firered-tts")
GROUPS = ("real", "synthetic", "spliced-real", "tts", "tts-plain")
#: Sources whose reference texts do not match their audio (every recogniser transcribes
#: another sentence: text CER 132%); shown, but left out of every pooled figure.
MISMATCHED = frozenset({"synparaspeech"})
OTHERS = "not real (TTS, spliced; pooled, without mismatched)"
PASSES = {"default": {}, "no_laugh_words": {"laugh_words": False}}


def group_of(row: dict[str, Any]) -> str:
    if row["source"] in REAL_SOURCES:
        return "real"
    if row["source"] == "synparaspeech":
        return "synthetic"
    return row.get("kind") or "tts"


# ------------------------------------------------------------------ running the analyzer


def load_clips(data: Path, sets: list[str]) -> list[dict[str, Any]]:
    clips = []
    for name in sets:
        folder = data / name
        for line in (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            r = json.loads(line)
            clips.append({
                "id": r["id"], "set": name, "audio": str(folder / r["audio"]), "source": r["source"],
                "kind": r.get("kind"), "synthetic": r.get("synthetic"), "language": r.get("language"),
                "duration": r.get("duration"), "ref": r["text"], "ref_tags": r.get("tags", []),
            })
    return clips


def run_passes(clips: list[dict[str, Any]], out: Path, passes: list[str], resume: bool) -> None:
    from paravox.analyzer import Analyzer
    from paravox.options import AnalyzeOptions
    from paravox.vocal_events.laugh_words import laughs_from_words

    done: set[tuple[str, str]] = set()
    if resume and out.exists():
        for line in out.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                done.add((r["pass"], r["id"]))
    elif out.exists():
        out.unlink()
    out.parent.mkdir(parents=True, exist_ok=True)
    for name in passes:
        options = AnalyzeOptions(**PASSES[name])
        analyzer = Analyzer(options)
        todo = [c for c in clips if (name, c["id"]) not in done]
        print(f"[{name}] {len(todo)} clips; options: laugh_words={options.laugh_words}, "
              f"asr={options.asr}, events={options.events}", file=sys.stderr)
        for k, clip in enumerate(todo, 1):
            t0 = time.perf_counter()
            a = analyzer.analyze(clip["audio"], name=clip["id"])
            row = {
                **{key: v for key, v in clip.items() if key != "audio"},
                "pass": name,
                "hyp": a.tagged_text(),
                "asr_language": a.language,
                "events": [e.to_dict() for e in a.events],
                "elapsed": round(time.perf_counter() - t0, 3),
            }
            if name == "no_laugh_words":
                # What the laugh-words rule would take out of this pass's text (same ASR output).
                _, laughs = laughs_from_words(a.segments)
                row["laugh_word_events"] = [e.to_dict() for e in laughs]
            with out.open("a", encoding="utf-8") as f:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
            print(f"  [{name}] {k}/{len(todo)} {clip['id']} {row['elapsed']:.1f}s", file=sys.stderr)
        del analyzer


# ------------------------------------------------------------------ scoring


def score_rows(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    from paravox.evaluation.nvasr import evaluate_nvasr

    if not rows:
        return None
    refs = {r["id"]: r["ref"] for r in rows}
    hyps = {r["id"]: r["hyp"] for r in rows}
    langs = {r["id"]: r.get("language") for r in rows}
    rep = evaluate_nvasr(refs, hyps, languages=langs)
    nvv = rep.nvvspeech
    return {
        "n": rep.n,
        "minutes": round(sum(r.get("duration") or 0.0 for r in rows) / 60, 2),
        "n_ref_tags": rep.tag.n_ref,
        "n_hyp_tags": rep.tag.n_hyp,
        "nv_exact_match": rep.nv_exact_match,
        "tag_precision": rep.tag.precision,
        "tag_recall": rep.tag.recall,
        "tag_f1": rep.tag.f1,
        "position_precision": nvv.pooled.counts.precision,
        "position_recall": nvv.pooled.counts.recall,
        "position_f1": nvv.f1_micro,
        "mntd": nvv.mntd,
        "track1_score": nvv.track1_score,
        "track1_by_language": {k: v.track1_score for k, v in nvv.languages.items()},
        "tagged_err": nvv.err,
        "text_cer": rep.text_cer,
        "joint_cer": rep.joint_cer,
        "per_tag": {
            t: {"support": s.n_ref, "hyp": s.n_hyp, "recall": s.recall, "precision": s.precision}
            for t, s in rep.per_class.items()
        },
        "per_tag_position": {t: c.to_dict() for t, c in nvv.pooled.per_tag.items()},
    }


def bootstrap(rows: list[dict[str, Any]], n: int = 1000, seed: int = 0) -> dict[str, Any]:
    """2.5/97.5 percentiles of the pooled scores over ``n`` resamples of the clips."""
    import random

    if not rows:
        return {}
    rng = random.Random(seed)
    keys = ("nv_exact_match", "tag_f1", "position_f1", "track1_score")
    draws: dict[str, list[float]] = {k: [] for k in keys}
    for _ in range(n):
        pick = [dict(rows[rng.randrange(len(rows))], id=f"{i}") for i in range(len(rows))]
        sc = score_rows(pick)
        for k in keys:
            if sc[k] is not None:
                draws[k].append(sc[k])
    out: dict[str, Any] = {"resamples": n, "clips": len(rows)}
    for k, v in draws.items():
        v.sort()
        out[k] = [v[int(0.025 * (len(v) - 1))], v[int(0.975 * (len(v) - 1))]] if v else None
    return out


WHAT_IF = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def threshold_what_if(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Bag-of-tags scores when only the events scoring at least t are kept (no re-run needed:
    a tag in the text is one event of ``Analysis.events``)."""
    from paravox.evaluation.nvasr import tag_scores

    minutes = sum(r.get("duration") or 0.0 for r in rows) / 60
    out = []
    for t in WHAT_IF:
        hyp = [[e["tag"] for e in r["events"] if e["score"] >= t] for r in rows]
        micro, _ = tag_scores([r["ref_tags"] for r in rows], hyp)
        out.append({"min_score": t, "n_hyp": micro.n_hyp, "tp": micro.tp, "precision": micro.precision,
                    "recall": micro.recall, "f1": micro.f1,
                    "false_per_minute": (micro.n_hyp - micro.tp) / minutes if minutes else None})
    return out


def _spread(values: list[float | None]) -> dict[str, float | None]:
    vals = [v for v in values if v is not None]
    if not vals:
        return {"mean": None, "std": None, "min": None, "max": None}
    return {
        "mean": statistics.fmean(vals),
        "std": statistics.pstdev(vals) if len(vals) > 1 else 0.0,
        "min": min(vals),
        "max": max(vals),
    }


SPREAD_KEYS = ("nv_exact_match", "tag_f1", "position_f1", "mntd", "track1_score", "text_cer")


def _overlaps(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a["start"] < b["end"] and b["start"] < a["end"]


def laugh_word_summary(by_pass: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Laugh tags of the default pass: written from spelled-out laughter, by the detector, or both."""
    default = {r["id"]: r for r in by_pass.get("default", [])}
    plain = {r["id"]: r for r in by_pass.get("no_laugh_words", [])}
    out: dict[str, Any] = {}
    for group in ("real", "other"):  # "other": every non-real source (mismatched ones included)
        counts = Counter()
        clips = []
        for key, d in default.items():
            if (group_of(d) == "real") != (group == "real") or key not in plain:
                continue
            words = plain[key].get("laugh_word_events", [])
            detector = [e for e in plain[key]["events"] if e["tag"] == "laugh"]
            for e in d["events"]:
                if e["tag"] != "laugh":
                    continue
                from_words = any(_overlaps(e, w) for w in words)
                from_det = any(_overlaps(e, x) for x in detector)
                origin = "both" if from_words and from_det else "words" if from_words else "detector"
                counts[origin] += 1
            if words:
                clips.append({"id": key, "ref_tags": d["ref_tags"], "laugh_words": len(words)})
            counts["ref_laugh"] += d["ref_tags"].count("laugh")
        out[group] = {"default_laugh_tags": dict(counts), "clips_with_laugh_words": clips}
    return out


def build_report(rows: list[dict[str, Any]]) -> dict[str, Any]:
    by_pass: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_pass.setdefault(r["pass"], []).append(r)
    report: dict[str, Any] = {"passes": {}}
    for name, prow in by_pass.items():
        entry: dict[str, Any] = {"sources": {}, "groups": {}}
        for s in SOURCES:
            sc = score_rows([r for r in prow if r["source"] == s])
            if sc is not None:
                entry["sources"][s] = sc
        for g in GROUPS:
            sc = score_rows([r for r in prow if group_of(r) == g])
            if sc is not None:
                entry["groups"][g] = sc
        entry["groups"][OTHERS] = score_rows(
            [r for r in prow if group_of(r) != "real" and r["source"] not in MISMATCHED]
        )
        entry["real_bootstrap"] = bootstrap([r for r in prow if group_of(r) == "real"])
        entry["threshold_what_if"] = {
            "real": threshold_what_if([r for r in prow if group_of(r) == "real"]),
            OTHERS: threshold_what_if([r for r in prow if group_of(r) != "real" and r["source"] not in MISMATCHED]),
        }
        real = [entry["sources"][s] for s in REAL_SOURCES if s in entry["sources"]]
        entry["real_source_spread"] = {k: _spread([x[k] for x in real]) for k in SPREAD_KEYS}
        entry["clips"] = [
            {"id": r["id"], "source": r["source"], "language": r.get("language"),
             "ref_tags": r["ref_tags"], "hyp_events": [(e["tag"], e["score"]) for e in r["events"]],
             "ref": r["ref"], "hyp": r["hyp"]}
            for r in prow if group_of(r) == "real"
        ]
        entry["seconds_per_clip"] = statistics.fmean(r.get("elapsed", 0.0) for r in prow)
        report["passes"][name] = entry
    report["laugh_words"] = laugh_word_summary(by_pass)
    from paravox.errors import ParavoxError

    try:
        from paravox.vocal_events.api import model_tags

        emits = sorted(set(model_tags()["detector"]) | {"laugh"})
        report["model_tags"] = emits
        ref_tags = Counter(t for r in by_pass.get("default", []) for t in r["ref_tags"])
        report["reference_tags_the_model_cannot_write"] = {t: n for t, n in ref_tags.items() if t not in emits}
    except (ImportError, OSError, ValueError, ParavoxError) as exc:  # usable without the model files
        report["model_tags"] = f"unavailable: {exc}"
    return report


# ------------------------------------------------------------------ printing


def _p(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}"


def _t(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1f}"


def _by_lang(sc: dict[str, Any]) -> str:
    langs = sc.get("track1_by_language") or {}
    if len(langs) < 2:
        return ""
    return " (" + ", ".join(f"{k} {_t(v)}" for k, v in langs.items()) + ")"


def format_report(report: dict[str, Any]) -> str:
    lines: list[str] = []
    head = ("| {} | clips | min | ref/hyp tags | exact % | tag P / R / F1 % | pos-F1 % | mNTD | Track1 | text CER % |\n"
            "|---|---|---|---|---|---|---|---|---|---|")
    for name, entry in report["passes"].items():
        lines += ["", f"### pass `{name}`", "", head.format("source")]
        rows = [(s + (" (refs do not match audio)" if s in MISMATCHED else ""), entry["sources"][s])
                for s in SOURCES if s in entry["sources"]]
        rows += [(f"**{g}**" + (" (refs do not match audio)" if g == "synthetic" else ""), entry["groups"][g])
                 for g in entry["groups"] if entry["groups"][g]]
        for label, sc in rows:
            lines.append(
                f"| {label} | {sc['n']} | {sc['minutes']:.2f} | {sc['n_ref_tags']}/{sc['n_hyp_tags']} | "
                f"{_p(sc['nv_exact_match'])} | {_p(sc['tag_precision'])} / {_p(sc['tag_recall'])} / {_p(sc['tag_f1'])} | "
                f"{_p(sc['position_f1'])} | {sc['mntd']:.3f} | {_t(sc['track1_score'])}{_by_lang(sc)} | {_p(sc['text_cer'])} |"
            )
        sp = entry["real_source_spread"]
        lines += ["", "real sources, mean ± std [min, max]:", ""]
        for k in SPREAD_KEYS:
            v = sp[k]
            if v["mean"] is None:
                continue
            scale = 1 if k in ("mntd", "track1_score") else 100
            lines.append(f"- {k}: {scale * v['mean']:.2f} ± {scale * v['std']:.2f} "
                         f"[{scale * v['min']:.2f}, {scale * v['max']:.2f}]")
        bs = entry.get("real_bootstrap") or {}
        if bs:
            lines += ["", f"real clips pooled, 95% bootstrap interval ({bs['resamples']} resamples of {bs['clips']} clips):", ""]
            for k in ("nv_exact_match", "tag_f1", "position_f1", "track1_score"):
                lo, hi = bs[k]
                scale = 1 if k == "track1_score" else 100
                lines.append(f"- {k}: [{scale * lo:.1f}, {scale * hi:.1f}]")
        for g, table in entry.get("threshold_what_if", {}).items():
            lines += ["", f"if only events scoring >= t were kept ({g}; bag of tags):", "",
                      "| t | hyp tags | TP | P % | R % | F1 % | false tags/min |", "|---|---|---|---|---|---|---|"]
            for w in table:
                fpm = "n/a" if w["false_per_minute"] is None else f"{w['false_per_minute']:.2f}"
                lines.append(f"| {w['min_score']:g} | {w['n_hyp']} | {w['tp']} | {_p(w['precision'])} | "
                             f"{_p(w['recall'])} | {_p(w['f1'])} | {fpm} |")
        for g in ("real", OTHERS):
            sc = entry["groups"].get(g)
            if not sc:
                continue
            lines += ["", f"per tag, {g} (bag recall/precision; position-aware recall/precision):", "",
                      "| tag | support | hyp | R % | P % | pos R % | pos P % |", "|---|---|---|---|---|---|---|"]
            for t, v in sc["per_tag"].items():
                pos = sc["per_tag_position"].get(t, {})
                lines.append(f"| {t} | {v['support']} | {v['hyp']} | {_p(v['recall'])} | {_p(v['precision'])} | "
                             f"{_p(pos.get('recall'))} | {_p(pos.get('precision'))} |")
        lines.append(f"\nmean seconds per clip: {entry['seconds_per_clip']:.2f}")
    lw = report.get("laugh_words")
    if lw:
        lines += ["", "### laugh tags of the default pass by origin", ""]
        for g, v in lw.items():
            lines.append(f"- {g}: {v['default_laugh_tags']}; clips with spelled-out laughter: "
                         + ", ".join(f"{c['id']} (ref {c['ref_tags']})" for c in v["clips_with_laugh_words"]))
    if isinstance(report.get("model_tags"), list):
        lines += ["", f"tags the model can write: {', '.join(report['model_tags'])}",
                  f"reference tags it cannot write: {report['reference_tags_the_model_cannot_write']}"]
    default = report["passes"].get("default")
    if default:
        lines += ["", "### real clips, default pass (reference tags -> hypothesis events with scores)", ""]
        for c in default["clips"]:
            hyp = ", ".join(f"{t} {s:.2f}" for t, s in c["hyp_events"]) or "-"
            lines.append(f"- {c['id']} ({c['language']}): {' '.join(c['ref_tags']) or '-'} -> {hyp}")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DATA, help="the data pack (default: ../shared/data)")
    ap.add_argument("--sets", default=",".join(SETS), help="comma-separated manifest folders")
    ap.add_argument("-o", "--hyp-out", type=Path, default=RESULTS / "nv_real_speech_hyp.jsonl",
                    help="hypothesis cache to write (JSONL)")
    ap.add_argument("--resume", action="store_true", help="keep the rows already in -o and run the rest")
    ap.add_argument("--from-hyp", type=Path, help="rescore this cache; runs no model")
    ap.add_argument("--passes", default=",".join(PASSES), help=f"passes to run (default: {','.join(PASSES)})")
    ap.add_argument("--limit", type=int, help="first N clips only (a smoke test)")
    ap.add_argument("--json", type=Path, default=RESULTS / "nv_real_speech.json", help="report JSON")
    args = ap.parse_args()

    if args.from_hyp:
        cache = args.from_hyp
    else:
        clips = load_clips(args.data, [s for s in args.sets.split(",") if s])
        if args.limit:
            clips = clips[: args.limit]
        passes = [p for p in args.passes.split(",") if p]
        unknown = [p for p in passes if p not in PASSES]
        if unknown:
            ap.error(f"unknown pass {unknown[0]!r}; known: {', '.join(PASSES)}")
        run_passes(clips, args.hyp_out, passes, args.resume)
        cache = args.hyp_out
    rows = [json.loads(line) for line in cache.read_text(encoding="utf-8").splitlines() if line.strip()]
    report = build_report(rows)
    report["cache"] = str(cache)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, ensure_ascii=False, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    print(format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
