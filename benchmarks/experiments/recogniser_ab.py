#!/usr/bin/env python3
"""A/B of a recogniser lever: text CER with it and without it (``--lever``).

- ``resume`` (default): when Whisper base ends a run's decode early, paravox decodes the run's
  unheard tail again, together (``WhisperBaseASR._resume``), before the region-alone decodes;
  without it, ``_resume`` is replaced by the identity.
- ``pack-runs``: the short runs of one language inside an input share Whisper windows
  (``packing.PACK_RUNS``, ``WhisperBaseASR._pack_runs``); without it, each run is a decode of
  its own. "fired" counts the runs a window answered for.
- ``unsure-runs``: a packed run whose language no region is sure of and whose words in the
  window were unsure or absent (``packing.UNSURE_RUNS``): decoded alone with the fallback
  (without) against ``--variant drop`` (with: no words). "fired" counts such runs;
- ``lazy-padded``: an unsure region is read again padded only when its language may change
  (``speech_regions.LAZY_PADDED``: not when the nearest sure regions on both sides have the
  language it was given); "fired" gives the padded readings made, without -> with.

Every clip is decoded twice, once with the lever and once without, transcription only:

- ``nvasr/dev`` and ``nvasr/tts-demos`` (every clip; tags removed when scored);
- ``--casia N`` / ``--ravdess N`` sentences (seeded sample);
- ``--switch K`` code-switched files of ~100 s (``code_switch.build_file``, seeds 0..K-1),
  scored per clip as ``code_switch.py`` does, with the clips that came back with no words;
- ``--joined FOLDER`` (repeatable): the clips of ``FOLDER`` (``nvasr/tts-demos``, or
  ``nvasr/dev``'s real ones) joined 0.7 s apart (as the code-switched files), in manifest order, into files of about
  ``--joined-seconds`` (60), scored per clip the same way: what a recording with vocalizations
  between sentences in two languages looks like to the recogniser. ``--no-single`` leaves out
  the clip-by-clip nvasr sets;
- ``--bursts K`` code-switched files as ``--switch`` builds them (seeds ``--seed``..+K-1), with a
  vocal burst of the Deeply clips (cough, laugh, sigh, sneeze, ...) after about every second
  sentence, 0.7 s apart: the CER is over the sentences; "words on bursts" counts the words
  written over the bursts (their reference is no words).

Prints per set: clips, clips where the resume decoded something, text CER (characters,
MNV-17 normalisation, pooled over the set) without and with it, and every clip whose text
changed.

    python benchmarks/experiments/recogniser_ab.py --casia 150 --ravdess 150 --switch 3
    python benchmarks/experiments/recogniser_ab.py --lever pack-runs --switch 3
    python benchmarks/experiments/recogniser_ab.py --lever pack-runs --timing 60 --rounds 3
    python benchmarks/experiments/recogniser_ab.py --lever unsure-runs --variant drop --no-single \
        --joined nvasr/tts-demos --switch 3

``--timing S`` instead times ``WhisperBaseASR.transcribe`` on the first S seconds of the real
nvasr/dev clips joined (``transcribe_speed.build_audio``), without and with the lever
alternating, ``--rounds`` times each, in one process (the model loaded first).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
DATA = ROOT.parent / "shared" / "data"


def rows_of(folder: str, field: str = "text") -> list[dict]:
    path = DATA / folder / "manifest.jsonl"
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            out.append({"id": r["id"], "audio": str(DATA / folder / r["audio"]), "text": r[field]})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--casia", type=int, default=0)
    ap.add_argument("--ravdess", type=int, default=0)
    ap.add_argument("--switch", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lever", choices=["resume", "pack-runs", "unsure-runs", "lazy-padded"], default="resume")
    ap.add_argument("--variant", choices=["drop"], default="drop", help="unsure-runs: what 'with' does")
    ap.add_argument("--joined", action="append", default=[], help="a folder of ../shared/data whose clips are joined")
    ap.add_argument("--joined-seconds", type=float, default=60.0)
    ap.add_argument("--no-single", action="store_true", help="leave out nvasr/dev and tts-demos clip by clip")
    ap.add_argument("--bursts", type=int, default=0, help="code-switched files with vocal bursts between sentences")
    ap.add_argument("--timing", type=float, default=0.0, help="time the lever on this many seconds of joined speech")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    from code_switch import build_file, per_clip_text

    from paravox.analyzer import Analyzer
    from paravox.backends import packing, speech_regions
    from paravox.backends.whisper import WhisperBaseASR
    from paravox.evaluation.nvasr import evaluate_nvasr

    resume = WhisperBaseASR._resume
    unsure_default, lazy_default = packing.UNSURE_RUNS, speech_regions.LAZY_PADDED
    padded = {"n": 0}
    probs = speech_regions.language_probs

    def counted_probs(*a, pad: bool = False, **kw):  # the padded readings made
        padded["n"] += pad
        return probs(*a, pad=pad, **kw)

    import paravox.backends.whisper as whisper_module

    whisper_module.language_probs = counted_probs
    fired = {"n": 0}

    def counted(self, audio, segments, *a, **kw):
        out = resume(self, audio, segments, *a, **kw)
        fired["n"] += len(out) != len(segments)
        return out

    def identity(self, audio, segments, *a, **kw):
        return segments

    if args.timing:
        import tempfile
        import time

        from transcribe_speed import build_audio

        from paravox.audio import load_audio

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "speech.flac"
            build_audio(path, args.timing)
            audio = load_audio(path).samples
        asr = WhisperBaseASR(threads=args.threads)
        asr.transcribe(audio[: 5 * 16000])
        times: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.rounds):
            for on in (False, True):
                WhisperBaseASR._resume = resume if on or args.lever != "resume" else identity
                packing.PACK_RUNS = on if args.lever == "pack-runs" else True
                packing.UNSURE_RUNS = args.variant if on and args.lever == "unsure-runs" else unsure_default
                speech_regions.LAZY_PADDED = on if args.lever == "lazy-padded" else lazy_default
                t0 = time.perf_counter()
                asr.transcribe(audio)
                times[on].append(time.perf_counter() - t0)
        WhisperBaseASR._resume, packing.PACK_RUNS, packing.UNSURE_RUNS = resume, True, unsure_default
        speech_regions.LAZY_PADDED = lazy_default
        print(f"{args.timing:g} s of joined nvasr/dev speech, {args.threads} threads, {args.lever}")
        for on in (False, True):
            print(f"{'with' if on else 'without'}: " + ", ".join(f"{t:.2f}" for t in times[on])
                  + f" s (median {float(np.median(times[on])):.2f})")
        return 0

    analyzer = Analyzer(threads=args.threads, events=None, emotion=None)
    rng = random.Random(args.seed)
    sets = {} if args.no_single else {"nvasr/dev": rows_of("nvasr/dev"), "nvasr/tts-demos": rows_of("nvasr/tts-demos")}
    if args.casia:
        sets["casia"] = rng.sample(rows_of("emotion/casia"), args.casia)
    if args.ravdess:
        sets["ravdess"] = rng.sample(rows_of("emotion/ravdess", "statement"), args.ravdess)

    def run(items, variant):
        on = variant == "with"
        if args.lever == "resume":
            WhisperBaseASR._resume = counted if on else identity
        elif args.lever == "pack-runs":
            packing.PACK_RUNS = on
        elif args.lever == "unsure-runs":
            packing.UNSURE_RUNS = args.variant if on else "alone"
        else:
            speech_regions.LAZY_PADDED = on
        padded["n"] = 0
        fired["n"] = 0
        packing.PACK_COUNTS.clear()
        texts = {}
        for name, audio, clips in items:
            if clips is None:
                texts[name] = analyzer.analyze(audio, name=name).text
            else:
                result = analyzer.analyze((audio, 16000), name=name)
                for c, t in zip(clips, per_clip_text(result, clips, 0.7)):
                    texts[f"{name}/{c['id']}"] = t
        if args.lever == "resume":
            return texts, fired["n"]
        if args.lever == "pack-runs":
            return texts, packing.PACK_COUNTS["run: packed"]
        if args.lever == "unsure-runs":
            return texts, sum(fired_unsure)
        return texts, padded["n"]

    fired_unsure: list[int] = []
    pack_runs = WhisperBaseASR._pack_runs

    def counted_pack(self, *a, **kw):
        out, unsure = pack_runs(self, *a, **kw)
        fired_unsure.append(len(unsure))
        return out, unsure

    WhisperBaseASR._pack_runs = counted_pack
    report = []
    for folder in args.joined:
        rows = [r for r in rows_of(folder) if not _synthetic(folder, r["id"])]
        items, refs, k = [], {}, 0
        while rows:
            audio, clips = _join(rows, args.joined_seconds)
            rows = rows[len(clips):]
            items.append((f"{folder}-{k}", audio, clips))
            refs.update({f"{folder}-{k}/{c['id']}": c["text"] for c in clips})
            k += 1
        report.append((f"{folder} joined", refs, items))
    for set_name, rows in sets.items():
        items = [(r["id"], r["audio"], None) for r in rows]
        refs = {r["id"]: r["text"] for r in rows}
        report.append((set_name, refs, items))
    for count, prefix, label, build in ((args.switch, "switch", "code-switch", build_file),
                                        (args.bursts, "bursts", "code-switch + bursts", _with_bursts)):
        if count:
            items, refs = [], {}
            for k in range(count):
                audio, clips = build(args.seed + k, 100.0, 0.7)
                items.append((f"{prefix}-{k}", audio, clips))
                refs.update({f"{prefix}-{k}/{c['id']}": c["text"] for c in clips})
            report.append((label, refs, items))

    print(f"| set | clips | {args.lever} fired | CER without | CER with | empty without | empty with "
          "| words on bursts without | with |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    changed = []
    for set_name, refs, items in report:
        fired_unsure.clear()
        base, n_base = run(items, "without")
        fired_unsure.clear()
        new, n = run(items, "with")
        if args.lever == "lazy-padded":
            n = f"{n_base} -> {n}"
        bursts = {k for k in refs if "/burst-" in k}
        spoken = {k: v for k, v in refs.items() if k not in bursts}
        cer_b = evaluate_nvasr(spoken, {k: base[k] for k in spoken}, position_aware=False).text_cer
        cer_n = evaluate_nvasr(spoken, {k: new[k] for k in spoken}, position_aware=False).text_cer
        empty_b = sum(not base[k].strip() for k in spoken)
        empty_n = sum(not new[k].strip() for k in spoken)
        on_b = sum(len(base[k].split()) for k in bursts)
        on_n = sum(len(new[k].split()) for k in bursts)
        print(f"| {set_name} | {len(refs)} | {n} | {cer_b:.4f} | {cer_n:.4f} | {empty_b} | {empty_n} "
              f"| {on_b if bursts else '-'} | {on_n if bursts else '-'} |", flush=True)
        changed += [(set_name, k, refs[k], base[k], new[k]) for k in refs if base[k] != new[k]]
    print("\nclips whose text changed (reference / without / with):")
    for set_name, k, ref, b, n in changed:
        print(f"- {set_name} {k}\n    ref  {ref}\n    w/o  {b}\n    with {n}")
    WhisperBaseASR._resume, WhisperBaseASR._pack_runs = resume, pack_runs
    packing.PACK_RUNS, packing.UNSURE_RUNS, speech_regions.LAZY_PADDED = True, unsure_default, lazy_default
    whisper_module.language_probs = probs
    return 0


def _synthetic(folder: str, clip_id: str) -> bool:
    """nvasr/dev's synthesised clips (their references do not match the audio) are left out."""
    path = DATA / folder / "manifest.jsonl"
    rows = {r["id"]: r for r in map(json.loads, filter(str.strip, path.read_text(encoding="utf-8").splitlines()))}
    return folder == "nvasr/dev" and bool(rows[clip_id].get("synthetic"))


def _with_bursts(seed: int, seconds: float, gap: float) -> tuple[np.ndarray, list[dict]]:
    """A code-switched file (zh, en, zh, ...) with a Deeply burst after about every second
    sentence; the bursts' clips have ids ``burst-...`` and no text."""
    from code_switch import clip_pools

    from paravox.audio import load_audio

    rng = random.Random(seed)
    zh, en = clip_pools()
    pools = {"zh": rng.sample(zh, len(zh)), "en": rng.sample(en, len(en))}
    burst_rows = rows_of("nonverbal/deeply", "tag")
    parts, clips, t, k = [], [], 0.0, 0
    while t < seconds:
        row = pools[("zh", "en")[k % 2]].pop()
        k += 1
        todo = [row]
        if rng.random() < 0.5:
            b = rng.choice(burst_rows)
            todo.append({"id": f"burst-{b['id']}", "audio": b["audio"], "text": ""})
        for r in todo:
            samples = load_audio(r["audio"]).samples
            clips.append({**r, "audio": str(r["audio"]), "start": t, "end": t + len(samples) / 16000})
            parts += [samples, np.zeros(int(gap * 16000), dtype=np.float32)]
            t += len(samples) / 16000 + gap
    return np.concatenate(parts).astype(np.float32), clips


def _join(rows: list[dict], seconds: float, gap: float = 0.7) -> tuple[np.ndarray, list[dict]]:
    """The first clips of ``rows`` joined ``gap`` apart until ``seconds`` are reached."""
    from paravox.audio import load_audio

    parts, clips, t = [], [], 0.0
    for r in rows:
        if t >= seconds:
            break
        samples = load_audio(r["audio"]).samples
        clips.append({**r, "start": t, "end": t + len(samples) / 16000})
        parts += [samples, np.zeros(int(gap * 16000), dtype=np.float32)]
        t += len(samples) / 16000 + gap
    return np.concatenate(parts).astype(np.float32), clips


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
