"""Levers for vocal events in real speech, measured from a cache (issue 20).

    python benchmarks/experiments/nv_levers.py cache            # Whisper words + detector scores per clip
    python benchmarks/experiments/nv_levers.py regions          # candidate regions + both classifiers' answers
    python benchmarks/experiments/nv_levers.py score [--config NAME ...]

Running the analyzer once per idea costs minutes; most ideas only change what is done with
the recogniser's words, the detector's frame scores and the classifiers' answers on a few
regions. ``cache`` stores the first two per clip (``Analyzer(events=None, emotion=None)``
and ``EventDetector.frame_scores``) for every clip of ``nvasr/dev``, ``nvasr/tts-demos``
and the unseen-voice sample of ``benchmarks/nv_false_tags.py --voices held-out -n 300``;
``regions`` proposes candidate regions (the detector's activity runs at a low threshold;
the gaps between Whisper's words) and stores what the region classifier and the isolated
classifier (with its ``none`` class) say about each; ``score`` turns a configuration into
events, writes them into the transcripts with ``Analysis.tagged_text()`` and scores them
per source as ``benchmarks/nv_real_speech.py`` does, plus false tags per minute on the
unseen voices, split into a *choose* half and a *report* half of the speakers.

    python benchmarks/experiments/nv_levers.py loso             # choose on three development sources, score the fourth
    python benchmarks/experiments/nv_levers.py audioset         # EfficientAT AudioSet tagger on 1-s windows (efficientat.py)
    python benchmarks/experiments/nv_levers.py audioset-isolated   # the tagger on isolated bursts and on read speech
    python benchmarks/experiments/nv_levers.py demo             # what the models make of samples/demo.flac
    python benchmarks/experiments/nv_levers.py cache --sound-words   # transcripts with Whisper's sound descriptions allowed

Cache: ``benchmarks/results/levers/`` (not committed; rebuilt by the commands above, about
25 min on 2 cores). ``score`` shows only the development sources and the choose half unless
``--report`` is given: choices are made without looking at the real sources.

The configurations (:data:`CONFIGS`): ``base`` is the shipped detector before issue 20 (its
events equal ``benchmarks/nv_real_speech.py``'s on every development clip); ``vetoNN``
drops a detector region the isolated classifier gives ``none`` NN% or more (what ships:
``gate`` in the detector's config); ``act15`` finds regions at activity 0.15 instead of 0.3;
``gap*`` classifies the stretches where Whisper placed no word with the isolated classifier;
``iso-names`` / ``trustNN`` name regions by the isolated classifier; ``asNN`` adds events where
the AudioSet tagger's class mapped to a tag (:data:`AUDIOSET_TAGS`) reaches NN% on a 1-s
window (``-sel``: only the tags it detects on isolated clips, ``-iso``: named or vetoed by
the isolated classifier); ``fillers`` writes ``um``/``嗯`` as ``[uhm]``
(:mod:`paravox.vocal_events.filler_words`); ``shipped-sound`` adds the sounds Whisper described
when allowed to (``TranscribeOptions.sound_words``; transcripts from ``cache --sound-words``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "benchmarks" / "experiments"))
DATA = REPO.parent / "shared" / "data"
CACHE = REPO / "benchmarks" / "results" / "levers"


def clip_list() -> list[dict[str, Any]]:
    import nv_false_tags as ft
    import nv_real_speech as rs

    clips = [{**c, "group": "nvasr"} for c in rs.load_clips(DATA, list(rs.SETS))]
    for corpus in ("tava", "ravdess", "emodb", "casia"):  # TAVA first: its speakers make the choose half
        for c in ft.sample_clips(DATA, corpus, 300, 0, held_out_only=True):
            clips.append({**c, "group": "plain", "source": corpus})
    return clips


def cmd_cache(args: argparse.Namespace) -> None:
    from paravox.analyzer import Analyzer
    from paravox.audio import load_audio
    from paravox.vocal_events.model import load_detector

    from paravox.options import AnalyzeOptions, TranscribeOptions

    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / "scores").mkdir(exist_ok=True)
    out = CACHE / ("asr_sound.jsonl" if args.sound_words else "asr.jsonl")
    done = set()
    if out.exists():
        done = {json.loads(l)["id"] for l in out.read_text(encoding="utf-8").splitlines() if l.strip()}
    analyzer = Analyzer(AnalyzeOptions(events=None, emotion=None, transcribe=TranscribeOptions(sound_words=args.sound_words)))
    det = None if args.sound_words else load_detector()  # the detector's scores are the same either way
    clips = [c for c in clip_list() if c["id"] not in done]
    if args.group:
        clips = [c for c in clips if c["group"] == args.group]
    for k, clip in enumerate(clips, 1):
        t0 = time.perf_counter()
        audio = load_audio(clip["audio"])
        a = analyzer.analyze(audio, name=clip["id"])
        if det is not None:
            scores = det.frame_scores(audio.samples)
            np.save(CACHE / "scores" / f"{clip['id']}.npy", scores.astype(np.float16))
        row = {**clip, "duration": a.duration, "language_detected": a.language,
               "segments": [s.to_dict() for s in a.segments]}
        if args.sound_words:  # the analyser moved the descriptions out of the words: keep its events
            row["sounds"] = [e.to_dict() for e in a.events]
        with out.open("a", encoding="utf-8") as f:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(f"{k}/{len(clips)} {clip['id']} {time.perf_counter() - t0:.1f}s", file=sys.stderr)


def rows(name: str) -> list[dict[str, Any]]:
    path = CACHE / name
    return [json.loads(l) for l in path.read_text(encoding="utf-8").splitlines() if l.strip()]


def words_of(row: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted((w for s in row["segments"] for w in s.get("words") or []), key=lambda w: w["start"])


def detector_regions(scores: np.ndarray, det, act_thr: float) -> list[tuple[int, int, float]]:
    """(first frame, end frame, peak activity) of the detector's activity runs, as find_events finds them."""
    from paravox.vocal_events import features
    from paravox.vocal_events.model import _moving_average, _runs

    cfg = det.config
    fs = features.FRAME_SECONDS
    activity = _moving_average(scores.max(axis=1), int(cfg.get("median_frames", 5)))
    gap = int(round(float(cfg.get("merge_gap_seconds", 0.2)) / fs))
    min_dur = float(cfg.get("min_duration_seconds", 0.1))
    return [(a, b, float(activity[a:b].max())) for a, b in _runs(activity >= act_thr, gap) if (b - a) * fs >= min_dur]


def gap_regions(row: dict[str, Any], duration: float, min_gap: float) -> list[tuple[float, float]]:
    """Stretches of at least ``min_gap`` s where Whisper placed no word (before, between, after the words);
    long ones cut into 2-s windows every 1 s."""
    words = words_of(row)
    edges = [0.0] + [x for w in words for x in (w["start"], w["end"])] + [duration]
    out = []
    for a, b in zip(edges[::2], edges[1::2]):
        if b - a < min_gap:
            continue
        if b - a <= 2.5:
            out.append((a, b))
        else:
            t = a
            while t < b - 0.5:
                out.append((t, min(b, t + 2.0)))
                t += 1.0
    return out


def cmd_regions(args: argparse.Namespace) -> None:
    from paravox.audio import load_audio
    from paravox.vocal_events import features
    from paravox.vocal_events.api import isolated_classifier_path, too_little_to_judge
    from paravox.vocal_events.model import load_classifier, load_detector

    det = load_detector()
    clf = load_classifier()
    iso = load_classifier(isolated_classifier_path(None))
    fs = features.FRAME_SECONDS
    out = CACHE / "regions.jsonl"
    done = set()
    if out.exists():
        done = {json.loads(l)["id"] for l in out.read_text(encoding="utf-8").splitlines() if l.strip()}
    todo = [r for r in rows("asr.jsonl") if r["id"] not in done]
    for k, row in enumerate(todo, 1):
        t0 = time.perf_counter()
        samples = load_audio(row["audio"]).samples
        scores = np.load(CACHE / "scores" / f"{row['id']}.npy").astype(np.float32)
        activity = scores.max(axis=1)
        cands = []
        for thr in (0.15, 0.3):
            for a, b, peak in detector_regions(scores, det, thr):
                cands.append((f"det{int(thr * 100)}", a * fs, b * fs))
        for a, b in gap_regions(row, len(samples) / 16000, 0.25):
            cands.append(("gap", a, b))
        regs = []
        for kind, a, b in cands:
            lo, hi = max(0, int((a - 0.1) * 16000)), min(len(samples), int((b + 0.1) * 16000))
            piece = samples[lo:hi]
            fa, fb = int(a / fs), max(int(a / fs) + 1, int(round(b / fs)))
            reg = {"kind": kind, "start": round(a, 2), "end": round(b, 2),
                   "det_p": scores[fa:fb].mean(axis=0).round(4).tolist(),
                   "peak": round(float(activity[fa:fb].max()), 4) if fb > fa else 0.0,
                   "quiet": bool(too_little_to_judge(piece))}
            if not reg["quiet"]:
                reg["clf_p"] = clf.predict_features(clf.embed(piece))[0].round(4).tolist()
                reg["iso_p"] = iso.label_probabilities(iso.embed(samples[int(a * 16000):int(b * 16000)] if b - a >= 0.1 else piece))[0].round(4).tolist()
            regs.append(reg)
        with out.open("a", encoding="utf-8") as f:
            f.write(json.dumps({"id": row["id"], "regions": regs}) + "\n")
        print(f"{k}/{len(todo)} {row['id']} {len(regs)} regions {time.perf_counter() - t0:.1f}s", file=sys.stderr)


#: The configurations measured; ``base`` reproduces the shipped detector (find_events).
CONFIGS: dict[str, dict[str, Any]] = {
    "base": {},
    "veto50": {"iso_veto": 0.5},
    "veto30": {"iso_veto": 0.3},
    "veto70": {"iso_veto": 0.7},
    "veto90": {"iso_veto": 0.9},
    "act15": {"act": 15},
    "act15-veto50": {"act": 15, "iso_veto": 0.5},
    "gap": {"gap": 0.5},
    "gap-veto50": {"iso_veto": 0.5, "gap": 0.5},
    "gap70-veto50": {"iso_veto": 0.5, "gap": 0.7},
    "gap50agree-veto50": {"iso_veto": 0.5, "gap": 0.5, "gap_agree": True},
    "iso-names": {"iso_name": True, "iso_veto": 0.5},
    "iso-names-act15": {"iso_name": True, "iso_veto": 0.5, "act": 15},
    "trust90-veto50": {"iso_veto": 0.5, "iso_trust": 0.9},
    "trust90-veto50-act15": {"iso_veto": 0.5, "iso_trust": 0.9, "act": 15},
    "trust80-veto50-act15": {"iso_veto": 0.5, "iso_trust": 0.8, "act": 15},
    "veto50-as20-sel": {"iso_veto": 0.5, "as": 0.2, "as_tags": ("cough", "scream", "sneeze", "laugh", "cry")},
    "veto50-as20-sel-iso": {"iso_veto": 0.5, "as": 0.2, "as_tags": ("cough", "scream", "sneeze", "laugh", "cry"), "as_iso": True},
    "veto50-as20-iso": {"iso_veto": 0.5, "as": 0.2, "as_iso": True},
    "veto50-as15": {"iso_veto": 0.5, "as": 0.15},
    "veto50-as20": {"iso_veto": 0.5, "as": 0.2},
    "veto50-as25": {"iso_veto": 0.5, "as": 0.25},
    "veto50-as30": {"iso_veto": 0.5, "as": 0.3},
    "veto50-as50": {"iso_veto": 0.5, "as": 0.5},
    "veto50-as70": {"iso_veto": 0.5, "as": 0.7},
    "veto50-as30-new": {"iso_veto": 0.5, "as": 0.3, "as_tags": ("breath", "sniff", "snore", "gasp", "hum")},
    "veto50-as50-new": {"iso_veto": 0.5, "as": 0.5, "as_tags": ("breath", "sniff", "snore", "gasp", "hum")},
    "veto50-lg50": {"iso_veto": 0.5, "lg": 0.5},
    "veto50-lg70": {"iso_veto": 0.5, "lg": 0.7},
    "veto50-lg90": {"iso_veto": 0.5, "lg": 0.9},
    "veto50-lg50-iso": {"iso_veto": 0.5, "lg": 0.5, "lg_iso": True},
    "veto50-lg70-iso": {"iso_veto": 0.5, "lg": 0.7, "lg_iso": True},
    "veto50-lgas50": {"iso_veto": 0.5, "lg": 0.5, "lg_model": "audioset"},
    "veto50-lgas70": {"iso_veto": 0.5, "lg": 0.7, "lg_model": "audioset"},
    "veto50-lgas90": {"iso_veto": 0.5, "lg": 0.9, "lg_model": "audioset"},
    "veto50-lgas70-iso": {"iso_veto": 0.5, "lg": 0.7, "lg_model": "audioset", "lg_iso": True},
    # the Switchboard detector's fast pass (whole-clip map, switchboard_laughter.py), alone or
    # where the event detector's activity reaches 0.15 / 0.3 as well
    "veto50-lgf50": {"iso_veto": 0.5, "lg": 0.5, "lg_model": "switchboard_fast"},
    "veto50-lgf70": {"iso_veto": 0.5, "lg": 0.7, "lg_model": "switchboard_fast"},
    "veto50-lgf90": {"iso_veto": 0.5, "lg": 0.9, "lg_model": "switchboard_fast"},
    "veto50-lgf50-agree15": {"iso_veto": 0.5, "lg": 0.5, "lg_model": "switchboard_fast", "lg_agree": 15},
    "veto50-lgf70-agree15": {"iso_veto": 0.5, "lg": 0.7, "lg_model": "switchboard_fast", "lg_agree": 15},
    "veto50-lgf90-agree15": {"iso_veto": 0.5, "lg": 0.9, "lg_model": "switchboard_fast", "lg_agree": 15},
    "veto50-lgf70-agree30": {"iso_veto": 0.5, "lg": 0.7, "lg_model": "switchboard_fast", "lg_agree": 30},
    "veto50-lgf1-90-agree15": {"iso_veto": 0.5, "lg": 0.9, "lg_model": "switchboard_fast1", "lg_agree": 15},
    "veto50-lgf1-80-agree15": {"iso_veto": 0.5, "lg": 0.8, "lg_model": "switchboard_fast1", "lg_agree": 15},
    "veto50-lgasf70-agree15": {"iso_veto": 0.5, "lg": 0.7, "lg_model": "audioset_fast", "lg_agree": 15},
    "veto50-lgasf90-agree15": {"iso_veto": 0.5, "lg": 0.9, "lg_model": "audioset_fast", "lg_agree": 15},
    # Whisper's own sound descriptions ("(laughs)", "*cough*"; TranscribeOptions.sound_words,
    # transcripts from `cache --sound-words`) on top of what ships; -iso: dropped where the
    # isolated classifier says none
    "shipped-sound": {"iso_veto": 0.5, "lg": 0.9, "lg_model": "switchboard_fast1", "lg_agree": 15, "sound": True},
    "shipped-sound-iso": {"iso_veto": 0.5, "lg": 0.9, "lg_model": "switchboard_fast1", "lg_agree": 15, "sound": True,
                          "sound_iso": True},
    "fillers": {"fillers": True},
    "fillers-veto50": {"fillers": True, "iso_veto": 0.5},
    "fillers-trust90-veto50-act15": {"fillers": True, "iso_veto": 0.5, "iso_trust": 0.9, "act": 15},
}


def plain_half(row: dict[str, Any]) -> str:
    """Unseen voices: TAVA's speakers alternate between the halves; the held-out CASIA, RAVDESS
    and EmoDB voices are all report-only."""
    if row["source"] != "tava":
        return "report"
    import zlib

    return "choose" if zlib.crc32(str(row.get("speaker")).encode()) % 2 == 0 else "report"


def events_for(row: dict[str, Any], regs: list[dict[str, Any]], cfg: dict[str, Any], det_tags, clf_tags, iso_labels):
    from paravox.result import Event

    kind = f"det{cfg.get('act', 30)}"
    veto = cfg.get("iso_veto")
    none_col = iso_labels.index("none")
    out = []
    for r in regs:
        if r["kind"] != kind or r["quiet"]:
            continue
        det_p = np.array(r["det_p"])
        det_p = det_p / max(det_p.sum(), 1e-9)
        clf_p = np.array([r["clf_p"][clf_tags.index(t)] if t in clf_tags else 0.0 for t in det_tags])
        clf_p = clf_p / max(clf_p.sum(), 1e-9)
        iso = np.array(r["iso_p"])
        if veto is not None and iso[none_col] >= veto:
            continue
        trusted = [t for t in iso_labels if t != "none"]
        top = max(trusted, key=lambda t: iso[iso_labels.index(t)])
        if cfg.get("iso_trust") is not None and iso[iso_labels.index(top)] >= cfg["iso_trust"] and top in det_tags:
            out.append(Event(top, r["start"], r["end"], float(iso[iso_labels.index(top)] * r["peak"])))
            continue
        if cfg.get("iso_name"):
            named = np.array([iso[iso_labels.index(t)] if t in iso_labels else 0.0 for t in det_tags])
            named = named / max(named.sum(), 1e-9)
            p = 0.5 * named + 0.5 * det_p
            k = int(p.argmax())
            if int(named.argmax()) != k or int(det_p.argmax()) != k:
                continue
        else:
            p = 0.5 * clf_p + 0.5 * det_p
            k = int(p.argmax())
            if int(clf_p.argmax()) != k or int(det_p.argmax()) != k:
                continue
        out.append(Event(det_tags[k], r["start"], r["end"], float(p[k] * r["peak"])))
    if cfg.get("gap") is not None:
        for r in regs:
            if r["kind"] != "gap" or r["quiet"]:
                continue
            if any(min(e.end, r["end"]) - max(e.start, r["start"]) > 0 for e in out):
                continue
            iso = np.array(r["iso_p"])
            k = int(iso.argmax())
            if k == none_col or iso[k] < cfg["gap"]:
                continue
            tag = iso_labels[k]
            if cfg.get("gap_agree") and (tag not in det_tags or int(np.argmax(r["det_p"])) != det_tags.index(tag)):
                continue
            out.append(Event(tag, r["start"], r["end"], float(iso[k])))
    if cfg.get("lg") is not None:
        found = laughter_events(row["id"], cfg["lg"], cfg.get("lg_model", "switchboard"), cfg.get("lg_min", 0.2), out)
        if cfg.get("lg_iso"):  # the isolated classifier must not say none
            found = [e for e in found if iso_rename(row, e, iso_labels) is not None]
        if cfg.get("lg_agree") is not None:  # the event detector must hear activity there too
            act = [(r["start"], r["end"]) for r in regs if r["kind"] == f"det{cfg['lg_agree']}"]
            found = [e for e in found if any(min(e.end, b) - max(e.start, a) > 0 for a, b in act)]
        out += found
    if cfg.get("as") is not None:
        found = audioset_events(row["id"], cfg["as"], cfg.get("as_tags"), out)
        if cfg.get("as_iso"):
            found = [e for e in (iso_rename(row, e, iso_labels) for e in found) if e is not None]
        out += found
    return sorted(out, key=lambda e: (e.start, e.end))


_ISO_MEMO: dict[str, list[float]] = {}


def iso_rename(row: dict[str, Any], event, iso_labels):
    """The isolated classifier on an AudioSet event's span: None when it says ``none``, else the
    event named by the classifier's most probable tag (AudioSet confuses throat clearing with coughs)."""
    from dataclasses import replace

    key = f"{row['id']}|{event.start}|{event.end}"
    memo_file = CACHE / "iso_memo.json"
    if not _ISO_MEMO and memo_file.exists():
        _ISO_MEMO.update(json.loads(memo_file.read_text()))
    if key not in _ISO_MEMO:
        from paravox.audio import load_audio
        from paravox.vocal_events.api import isolated_classifier_path
        from paravox.vocal_events.model import load_classifier

        iso = load_classifier(isolated_classifier_path(None))
        x = load_audio(row["audio"]).samples[int(event.start * 16000) : int(event.end * 16000)]
        _ISO_MEMO[key] = iso.label_probabilities(iso.embed(x))[0].round(4).tolist()
        memo_file.write_text(json.dumps(_ISO_MEMO))
    p = np.array(_ISO_MEMO[key])
    none = iso_labels.index("none")
    if p[none] >= 0.5:
        return None
    p[none] = 0.0
    return replace(event, tag=iso_labels[int(p.argmax())])


def laughter_events(clip_id: str, thr: float, model: str, min_dur: float, taken) -> list:
    """``laugh`` events where the Switchboard laughter detector (``switchboard_laughter.py``)
    gives ``thr`` or more for at least ``min_dur`` s, not overlapping the events already ``taken``
    (a laugh already there is kept as it is)."""
    from paravox.result import Event

    path = CACHE / "switchboard" / f"{clip_id}.npz"
    if not path.exists():
        return []
    z = np.load(path)
    if model.endswith("_fast1"):  # one pass instead of two: the pass at offset 0 is every 8th frame of the two
        t, p2 = z["times"], z[model.removesuffix("1")]
        p = np.interp(np.arange(len(p2)), np.arange(0, len(p2), 8), p2[::8]).astype(np.float32)
    else:
        t, p = z["times"], z[model]
    from paravox.vocal_events.model import _runs

    step = float(t[1] - t[0]) if len(t) > 1 else 0.023
    # pulses of one laugh less than 0.3 s apart are one run
    runs = [(float(t[k]) - step / 2, float(t[m - 1]) + step / 2, float(p[k:m].max()))
            for k, m in _runs(p >= thr, int(0.3 / step))]
    out = []
    for a, b, peak in runs:
        if b - a >= min_dur and not any(min(e.end, b) - max(e.start, a) > 0 for e in taken):
            out.append(Event("laugh", round(max(a, 0.0), 2), round(b, 2), peak))
    return out


def audioset_events(clip_id: str, thr: float, tags, taken) -> list:
    """Events where the AudioSet tagger's mapped class reaches ``thr`` on its 1-s windows (runs of
    windows joined), not overlapping the events already ``taken``."""
    from paravox.result import Event
    from paravox.vocal_events.model import _runs

    path = CACHE / "audioset" / f"{clip_id}.npy"
    if not path.exists():
        return []
    p = np.load(path).astype(np.float32)
    names = list(AUDIOSET_TAGS)
    out = []
    for j, tag in enumerate(names):
        if tag == "speech" or (tags is not None and tag not in tags):
            continue
        for k, m in _runs(p[:, j] >= thr, 0):
            a = k * AS_HOP + 0.5 * AS_WINDOW - 0.25
            b = (m - 1) * AS_HOP + 0.5 * AS_WINDOW + 0.25
            score = float(p[k:m, j].max())
            if not any(min(e.end, b) - max(e.start, a) > 0 for e in taken + out):
                out.append(Event(tag, round(a, 2), round(b, 2), score))
    # overlapping AudioSet events of different tags: keep the surer one
    out.sort(key=lambda e: -e.score)
    kept = []
    for e in out:
        if not any(min(e.end, k.end) - max(e.start, k.start) > 0 for k in kept):
            kept.append(e)
    return kept


def run_config(cfg: dict[str, Any], asr: list[dict[str, Any]], regions: dict[str, list], laugh_words: bool = True):
    from paravox.result import Analysis, Segment
    from paravox.vocal_events.api import isolated_classifier_path
    from paravox.vocal_events.laugh_words import laughs_from_words, merge_laughs
    from paravox.vocal_events.model import load_classifier, load_detector

    det_tags = load_detector().tags
    clf_tags = load_classifier().tags
    iso_labels = load_classifier(isolated_classifier_path(None)).labels
    sound_rows = {}
    if cfg.get("sound"):
        from paravox.result import Event
        from paravox.vocal_events.sound_words import join_same

        sound_rows = {r["id"]: r for r in rows("asr_sound.jsonl")}
    out = []
    for row in asr:
        if cfg.get("sound"):
            row = sound_rows[row["id"]]
        segments = [Segment.from_dict(s) for s in row["segments"]]
        found = events_for(row, regions[row["id"]], cfg, det_tags, clf_tags, iso_labels)
        laughs = []
        if laugh_words and row["group"] == "nvasr":
            segments, laughs = laughs_from_words(segments)
        if cfg.get("sound"):  # as the analyzer does: after the laugh words, on every clip
            sounds = [Event.from_dict(e) for e in row["sounds"]]
            if cfg.get("sound_iso"):
                sounds = [e for e in sounds if iso_rename(row, e, iso_labels) is not None]
            laughs = join_same(laughs, sounds)
        found = merge_laughs(found, laughs) if laughs else found
        if cfg.get("fillers"):
            from paravox.vocal_events.filler_words import fillers_from_words

            segments, fillers = fillers_from_words(segments)
            found = sorted(found + fillers, key=lambda e: (e.start, e.end))
        a = Analysis(source=row["id"], duration=row["duration"], segments=segments, events=found)
        out.append({**row, "hyp": a.tagged_text(), "events": [e.to_dict() for e in found], "pass": "default"})
    return out


def _fmt(x):
    return "  -  " if x is None else f"{100 * x:5.1f}"


def cmd_score(args: argparse.Namespace) -> None:
    import nv_real_speech as rs

    asr = rows("asr.jsonl")
    regions = {r["id"]: r["regions"] for r in rows("regions.jsonl")}
    asr = [r for r in asr if r["id"] in regions]
    dev = ("affectron", "step-audio-editx", "sponlm-tts", "firered-tts")
    shown = dev + (rs.REAL_SOURCES if args.report else ())
    halves = ("choose", "report") if args.report else ("choose",)
    head = " | ".join(f"{s[:10]:>10} F1/EM/fp" for s in shown)
    print(f"{'config':22} | {head} | dev F1 | " + " | ".join(f"plain {h} /min" for h in halves))
    results = {}
    for name in args.config or list(CONFIGS):
        hyp = run_config(CONFIGS[name], asr, regions)
        cells, f1s = [], []
        for s in shown:
            sc = rs.score_rows([r for r in hyp if r["source"] == s])
            tp = (sc["tag_precision"] or 0) * sc["n_hyp_tags"]
            fp_min = (sc["n_hyp_tags"] - tp) / max(sc["minutes"], 1e-9)
            cells.append(f"{_fmt(sc['tag_f1'])}/{_fmt(sc['nv_exact_match'])}/{fp_min:4.1f}")
            if s in dev:
                f1s.append(sc["tag_f1"] or 0.0)
            results.setdefault(name, {})[s] = sc
        plain = []
        for h in halves:
            pr = [r for r in hyp if r["group"] == "plain" and plain_half(r) == h]
            n = sum(len(r["events"]) for r in pr)
            mins = sum(r["duration"] for r in pr) / 60
            plain.append(f"{n / max(mins, 1e-9):5.2f} ({n}/{mins:.1f}m)")
        print(f"{name:22} | " + " | ".join(f"{c:>19}" for c in cells) + f" | {100 * np.mean(f1s):5.1f} | " + " | ".join(plain))
        if args.per_tag:
            pooled = rs.score_rows([r for r in hyp if r["group"] == "nvasr" and r["source"] in shown])
            print("   per tag (reference / written / right): " + ", ".join(
                f"{t} {v['support']}/{v['hyp']}/{round((v['recall'] or 0) * v['support'])}"
                for t, v in sorted(pooled["per_tag"].items())))
            print("   text CER / position F1 per source: " + ", ".join(
                f"{s} {_fmt(results[name][s]['text_cer'])} / {_fmt(results[name][s]['position_f1'])}" for s in shown))
        if args.show:
            for r in hyp:
                if r["group"] == "nvasr" and (args.report or r["source"] in dev):
                    print(f"   {r['id']}: {r['ref']}\n   {'':{len(r['id'])}}  {r['hyp']}")


def cmd_loso(args: argparse.Namespace) -> None:
    """Leave one development source out: choose the configuration on the other three (mean tag
    F1; ties go to fewer false tags per minute there plus on the choose half of the unseen
    voices, then to the earlier, simpler configuration), score it on the one left out. Only
    configurations with at most ``--max-plain-rate`` false tags per minute on the choose half
    are candidates."""
    import nv_real_speech as rs

    asr = rows("asr.jsonl")
    regions = {r["id"]: r["regions"] for r in rows("regions.jsonl")}
    asr = [r for r in asr if r["id"] in regions]
    dev = ("affectron", "step-audio-editx", "sponlm-tts", "firered-tts")
    names = args.config or list(CONFIGS)
    table = {}
    for name in names:
        hyp = run_config(CONFIGS[name], asr, regions)
        per = {}
        for s in dev:
            sc = rs.score_rows([r for r in hyp if r["source"] == s])
            tp = (sc["tag_precision"] or 0) * sc["n_hyp_tags"]
            per[s] = (sc["tag_f1"] or 0.0, sc["n_hyp_tags"] - tp, sc["minutes"], sc["nv_exact_match"])
        pr = [r for r in hyp if r["group"] == "plain" and plain_half(r) == "choose"]
        table[name] = (per, sum(len(r["events"]) for r in pr), sum(r["duration"] for r in pr) / 60)
    print("left out          | chosen on the other three            | its F1 / EM there")
    for out in dev:
        others = [s for s in dev if s != out]

        def key(name):
            per, n_plain, m_plain = table[name]
            f1 = np.mean([per[s][0] for s in others])
            fp = (sum(per[s][1] for s in others) + n_plain) / (sum(per[s][2] for s in others) + m_plain)
            return (-round(f1, 6), round(fp, 6), names.index(name))

        # precision first (issue 20): a configuration writing more than --max-plain-rate false
        # tags per minute on the choose half of the unseen voices is not a candidate
        ok = [n for n in names if table[n][1] / max(table[n][2], 1e-9) <= args.max_plain_rate] or names
        best = min(ok, key=key)
        per = table[best][0][out]
        print(f"{out:17} | {best:36} | {100 * per[0]:5.1f} / {100 * per[3]:5.1f}   (base: {100 * table[names[0]][0][out][0]:5.1f} / {100 * table[names[0]][0][out][3]:5.1f})")


#: AudioSet classes (EfficientAT's label indices) read as each taxonomy tag: the maximum over them.
AUDIOSET_TAGS = {
    "laugh": (16, 17, 18, 19, 20, 21), "cry": (22, 23, 24), "scream": (14,), "sigh": (26,), "hum": (37,),
    "moan": (25, 38), "breath": (41,), "snore": (43,), "gasp": (44,), "pant": (45,), "cough": (47,),
    "ahem": (48,), "sneeze": (49,), "sniff": (50,), "speech": (0,),
}
AS_WINDOW, AS_HOP = 1.0, 0.25


def cmd_audioset(args: argparse.Namespace) -> None:
    """AudioSet probabilities of the mapped classes on 1-s windows every 0.25 s, per clip."""
    from efficientat import AudioSetTagger

    from paravox.audio import load_audio

    tagger = AudioSetTagger()
    folder = CACHE / "audioset"
    folder.mkdir(exist_ok=True)
    todo = [r for r in rows("asr.jsonl") if not (folder / f"{r['id']}.npy").exists()]
    for k, row in enumerate(todo, 1):
        samples = load_audio(row["audio"]).samples
        total = len(samples) / 16000
        starts = np.arange(0.0, max(total - AS_WINDOW, 0.0) + 1e-9, AS_HOP)
        p = tagger.region_probs(samples, [(t, t + AS_WINDOW) for t in starts])
        cols = np.stack([p[:, list(ix)].max(axis=1) for ix in AUDIOSET_TAGS.values()], axis=1)
        np.save(folder / f"{row['id']}.npy", cols.astype(np.float16))
        if k % 50 == 0:
            print(f"{k}/{len(todo)}", file=sys.stderr)


def cmd_audioset_isolated(args: argparse.Namespace) -> None:
    """What the AudioSet tagger says on data no choice here is made on: isolated vocalizations
    (Deeply, EmoGator; up to 60 clips per tag and source, seeded) and read speech of the
    detector's training voices (400 clips, seeded). Clip score = max over 1-s windows every 0.25 s."""
    import collections
    import random

    from efficientat import AudioSetTagger

    from paravox.audio import load_audio
    from paravox.training.mixtures import speech_clips, vocalization_clips

    tagger = AudioSetTagger()
    names = list(AUDIOSET_TAGS)

    def clip_max(path) -> np.ndarray:
        x = load_audio(str(path)).samples
        starts = np.arange(0.0, max(len(x) / 16000 - AS_WINDOW, 0.0) + 1e-9, AS_HOP)
        p = tagger.region_probs(x, [(t, t + AS_WINDOW) for t in starts])
        return np.stack([p[:, list(ix)].max(axis=1) for ix in AUDIOSET_TAGS.values()], axis=1).max(axis=0)

    speech = [c for c in speech_clips(DATA) if not c.held_out]
    random.Random(0).shuffle(speech)
    neg = np.stack([clip_max(c.path) for c in speech[:400]])
    print(f"read speech, training voices: {len(neg)} clips; highest clip score per tag: "
          + ", ".join(f"{n} {neg[:, j].max():.2f}" for j, n in enumerate(names) if n != "speech"))
    by = collections.defaultdict(list)
    for c in vocalization_clips(DATA):
        if c.tag in names:
            by[(c.tag, "emogator" if c.id.startswith("emogator") else "deeply")].append(c)
    print("| tag | source | clips | median score | >= 0.2 | >= 0.3 | most often the top tag |")
    print("|---|---|---|---|---|---|---|")
    for (tag, src), clips in sorted(by.items()):
        random.Random(0).shuffle(clips)
        m = np.stack([clip_max(c.path) for c in clips[:60]])
        j = names.index(tag)
        top = collections.Counter(names[int(np.argmax(r[:-1]))] for r in m).most_common(2)
        print(f"| {tag} | {src} | {len(m)} | {np.median(m[:, j]):.2f} | {100 * np.mean(m[:, j] >= 0.2):.0f}% "
              f"| {100 * np.mean(m[:, j] >= 0.3):.0f}% | {', '.join(f'{t} {k}' for t, k in top)} |")


def cmd_demo(args: argparse.Namespace) -> None:
    """What the detector and the isolated classifier make of samples/demo.flac (a laugh at
    3.14-5.7 s, a gasp at 17.39 s): the detector's regions at activity 0.15 and 0.3 and the
    stretches without words, each with the detector's top tag and the isolated classifier's answer."""
    from paravox.analyzer import Analyzer
    from paravox.audio import load_audio
    from paravox.vocal_events import features
    from paravox.vocal_events.api import isolated_classifier_path
    from paravox.vocal_events.model import load_classifier, load_detector

    audio = load_audio(REPO / "samples" / "demo.flac")
    row = {"segments": [s.to_dict() for s in Analyzer(events=None, emotion=None).analyze(audio, name="demo").segments]}
    det = load_detector()
    iso = load_classifier(isolated_classifier_path(None))
    scores = det.frame_scores(audio.samples)
    fs = features.FRAME_SECONDS

    def show(kind: str, a: float, b: float, extra: str = "") -> None:
        p = iso.label_probabilities(iso.embed(audio.samples[int(a * 16000) : int(b * 16000)]))[0]
        tags = [t for t in iso.labels if t != "none"]
        top = max(tags, key=lambda t: p[iso.labels.index(t)])
        print(f"{kind:7} {a:6.2f}-{b:6.2f} s {extra}isolated: none {p[iso.labels.index('none')]:.2f}, "
              f"best tag {top} {p[iso.labels.index(top)]:.2f}")

    for thr in (0.15, 0.3):
        for a, b, peak in detector_regions(scores, det, thr):
            top = det.tags[int(scores[a:b].mean(axis=0).argmax())]
            show(f"act{thr:g}", a * fs, b * fs, f"peak activity {peak:.2f}, detector's tag {top}; ")
    for a, b in gap_regions(row, len(audio.samples) / 16000, 0.25):
        show("no word", a, b)
    near = scores[int(17.0 / fs) : int(18.2 / fs)].max(axis=1)
    print(f"detector activity 17.0-18.2 s (the gasp): max {near.max():.2f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("cache")
    c.add_argument("--group", choices=["nvasr", "plain"])
    c.add_argument("--sound-words", action="store_true",
                   help="transcribe with TranscribeOptions(sound_words=True) into asr_sound.jsonl (the 'sound' configurations)")
    sub.add_parser("regions")
    sub.add_parser("audioset")
    sub.add_parser("audioset-isolated")
    sub.add_parser("demo")
    sc = sub.add_parser("score")
    sc.add_argument("--config", action="append", choices=list(CONFIGS))
    sc.add_argument("--report", action="store_true", help="also the real sources and the report half of the unseen voices")
    sc.add_argument("--show", action="store_true", help="print every transcript")
    sc.add_argument("--per-tag", action="store_true", help="per tag over the sources shown: reference, written, right")
    lo = sub.add_parser("loso")
    lo.add_argument("--config", action="append", choices=list(CONFIGS))
    lo.add_argument("--max-plain-rate", type=float, default=0.2,
                    help="false tags per minute on the choose half above which a configuration is no candidate "
                         "(default 0.2: the issue's one per 5 minutes)")
    args = ap.parse_args()
    {"cache": cmd_cache, "regions": cmd_regions, "score": cmd_score, "loso": cmd_loso, "audioset": cmd_audioset, "audioset-isolated": cmd_audioset_isolated, "demo": cmd_demo}[args.cmd](args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
