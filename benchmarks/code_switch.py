#!/usr/bin/env python3
"""Transcription of code-switched speech: Mandarin and English clips alternating in one file.

Builds files from real clips of the data pack (seeded): CASIA sentences (Mandarin, the
manifest's ``text``) alternating with English ones (RAVDESS ``statement`` and the real
English clips of nvasr/dev, tags removed when scored), ``--gap`` seconds of silence between
clips, until a file lasts ``--seconds``. Each file is transcribed by paravox (transcription
only: ``events=None, emotion=None``):

- ``per-region``: the default, the language detected per speech region;
- ``per-run``: as ``per-region``, but each run of consecutive regions of one language
  decoded on its own (``packing.PACK_RUNS = False``: one decode per switch of language, what
  paravox did before 2026-12-05; by default short runs of one language share windows);
- ``per-file``: ``language_per_region=False``, one language detected from the first 30 s
  (what paravox did before per-region detection);
- ``alone``: every clip transcribed by itself with the defaults, the reference point.

The ``per-region`` wall time includes the language detection of every region, printed
apart (``detection``). ``--run 3`` puts three clips of one language in a row (a third of the
switches). ``--pattern zh`` builds Mandarin-only files instead: what per-region
detection costs where the language never changes. ``--formats wav,flac,mp3,m4a`` also
transcribes the first file encoded in each container (lossless ones must give exactly the
transcript of the samples; lossy ones decode to other samples).

Words are given to the clip their midpoint falls in (its span widened by half the gap on
each side). Printed: per clip the text CER of each run against the clip's reference text
(MNV-17 normalisation, characters); the share of segments whose ``language`` is that of the
clip they overlap most; clips that came back with no words; speech regions that decoded to
no words; wall time of each run (the model loaded and warmed up before timing).

    python benchmarks/code_switch.py                          # 3 files of ~100 s, gap 0.7 s
    python benchmarks/code_switch.py --files 1 --per-clip     # the table of every clip
    python benchmarks/code_switch.py --pattern zh --no-alone  # monolingual control
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RATE = 16000


def _rows(folder: str) -> list[dict]:
    path = DATA / folder / "manifest.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def clip_pools() -> tuple[list[dict], list[dict]]:
    """(Mandarin clips, English clips) as dicts with id, audio (path), text, language."""
    zh = [{"id": r["id"], "audio": DATA / "emotion/casia" / r["audio"], "text": r["text"], "language": "zh"}
          for r in _rows("emotion/casia")]
    en = [{"id": r["id"], "audio": DATA / "emotion/ravdess" / r["audio"], "text": r["statement"], "language": "en"}
          for r in _rows("emotion/ravdess")]
    en += [{"id": r["id"], "audio": DATA / "nvasr/dev" / r["audio"], "text": r["text"], "language": "en"}
           for r in _rows("nvasr/dev") if r["language"] == "en" and not r["synthetic"]]
    return zh, en


def build_file(
    seed: int, seconds: float, gap: float, pattern: tuple[str, ...] = ("zh", "en"), run: int = 1
) -> tuple[np.ndarray, list[dict]]:
    """One file of clips whose languages follow ``pattern`` in turn (zh, en, zh, en, ...),
    ``run`` clips of one language before the next.

    Returns the samples and the clips, each with ``start``/``end`` (seconds) in the file.
    """
    from paravox.audio import load_audio

    rng = random.Random(seed)
    zh, en = clip_pools()
    pools = {"zh": rng.sample(zh, len(zh)), "en": rng.sample(en, len(en))}
    parts, clips, t, k = [], [], 0.0, 0
    while t < seconds:
        row = pools[pattern[(k // run) % len(pattern)]].pop()
        samples = load_audio(row["audio"]).samples
        clips.append({**row, "audio": str(row["audio"]), "start": t, "end": t + len(samples) / RATE})
        parts += [samples, np.zeros(int(gap * RATE), dtype=np.float32)]
        t += len(samples) / RATE + gap
        k += 1
    return np.concatenate(parts).astype(np.float32), clips


def per_clip_text(analysis, clips: list[dict], gap: float) -> list[str]:
    from paravox.result import join_words

    words = [w for s in analysis.segments for w in s.words]
    out = []
    for c in clips:
        lo, hi = c["start"] - gap / 2, c["end"] + gap / 2
        out.append(join_words(w.text for w in words if lo <= (w.start + w.end) / 2 < hi))
    return out


def segment_language_hits(analysis, clips: list[dict]) -> tuple[int, int]:
    """(segments whose language is that of the clip they overlap most, segments)."""
    right = 0
    for s in analysis.segments:
        overlap = [max(0.0, min(s.end, c["end"]) - max(s.start, c["start"])) for c in clips]
        right += s.language == clips[int(np.argmax(overlap))]["language"]
    return right, len(analysis.segments)


def cer(ref: str, hyp: str) -> float:
    from paravox.evaluation.nvasr import evaluate_nvasr

    return evaluate_nvasr({"a": ref}, {"a": hyp}, position_aware=False).text_cer


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=3, help="code-switched files to build (seeds seed .. seed+files-1)")
    ap.add_argument("--seconds", type=float, default=100.0, help="length of each file")
    ap.add_argument("--gap", type=float, default=0.7, help="silence between clips, seconds")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--languages", default=None, help="restrict detection to these codes, e.g. zh,en")
    ap.add_argument("--pattern", default="zh,en", help="languages of the clips in turn: zh,en (default) or zh or en")
    ap.add_argument("--run", type=int, default=1, help="clips of one language in a row before switching")
    ap.add_argument("--formats", default="", help="also transcribe the first file in these containers: wav,flac,mp3,m4a")
    ap.add_argument("--no-alone", action="store_true", help="skip transcribing every clip alone")
    ap.add_argument("--no-per-run", action="store_true", help="skip the runs-decoded-apart variant")
    ap.add_argument("--per-clip", action="store_true", help="print every clip's row")
    args = ap.parse_args()
    if not DATA.exists():
        print(f"data pack not found at {DATA}", file=sys.stderr)
        return 2

    from paravox.analyzer import Analyzer
    from paravox.backends import packing, whisper

    detect = {"seconds": 0.0, "calls": 0, "padded": 0}
    language_probs = whisper.language_probs

    def timed_language_probs(*a, **kw):
        t0 = time.perf_counter()
        try:
            return language_probs(*a, **kw)
        finally:
            detect["seconds"] += time.perf_counter() - t0
            detect["calls"] += 1
            detect["padded"] += bool(kw.get("pad"))

    whisper.language_probs = timed_language_probs
    pattern = tuple(args.pattern.split(","))
    common = dict(threads=args.threads, events=None, emotion=None)
    if args.languages:
        common["language"] = args.languages
    runs = {"per-region": Analyzer(**common), "per-run": Analyzer(**common),
            "per-file": Analyzer(**common, language_per_region=False)}
    if args.no_per_run:
        del runs["per-run"]
    alone = Analyzer(threads=args.threads, events=None, emotion=None)
    runs["per-region"].analyze((np.zeros(RATE, np.float32), RATE))  # load the model before timing
    warm, _ = build_file(10_000 + args.seed, 8.0, args.gap)
    runs["per-region"].analyze((warm, RATE))

    totals: dict[str, dict[str, float]] = {}
    detected = {"seconds": 0.0, "calls": 0, "padded": 0}  # inside the per-region runs
    rows_out = []
    audio_seconds = 0.0
    for k in range(args.files):
        audio, clips = build_file(args.seed + k, args.seconds, args.gap, pattern, args.run)
        if k == 0:
            first_file = (audio, clips)
        audio_seconds += len(audio) / RATE
        texts: dict[str, list[str]] = {}
        for name, analyzer in runs.items():
            before = dict(detect)
            packing.PACK_RUNS = name != "per-run"
            t0 = time.perf_counter()
            result = analyzer.analyze((audio, RATE), name=f"switch-{args.seed + k}")
            wall = time.perf_counter() - t0
            packing.PACK_RUNS = True
            if name == "per-region":
                detected["seconds"] += detect["seconds"] - before["seconds"]
                detected["calls"] += detect["calls"] - before["calls"]
                detected["padded"] += detect["padded"] - before["padded"]
            right, n = segment_language_hits(result, clips)
            texts[name] = per_clip_text(result, clips, args.gap)
            tot = totals.setdefault(name, {"wall": 0.0, "right": 0, "segments": 0, "missing": 0})
            tot["wall"] += wall
            tot["right"] += right
            tot["segments"] += n
            tot["missing"] += sum(not t for t in texts[name])
            print(f"file {k} ({len(audio) / RATE:.1f} s, {len(clips)} clips) {name}: {wall:.1f} s, "
                  f"{right}/{n} segments in the right language, language {result.language}", flush=True)
        if not args.no_alone:
            t0 = time.perf_counter()
            texts["alone"] = [alone.analyze(c["audio"], name=c["id"]).text for c in clips]
            totals.setdefault("alone", {"wall": 0.0, "right": 0, "segments": 0, "missing": 0})
            totals["alone"]["wall"] += time.perf_counter() - t0
            totals["alone"]["missing"] += sum(not t for t in texts["alone"])
        for i, c in enumerate(clips):
            rows_out.append({"file": k, "clip": c["id"], "language": c["language"], "ref": c["text"],
                             **{f"cer_{n}": cer(c["text"], texts[n][i]) for n in texts},
                             **{f"hyp_{n}": texts[n][i] for n in texts}})

    names = list(totals)
    formats = [f for f in args.formats.split(",") if f]
    if formats:
        from paravox.audio import load_audio
        from paravox.testing.signals import encode

        audio, clips = first_file
        base = [w.text for s in runs["per-region"].analyze((audio, RATE)).segments for w in s.words]
        print("\n| container (file 0) | samples equal | words equal to the samples' | mean clip CER | clips with no words |")
        print("|---|---|---|---|---|")
        for fmt in formats:
            decoded = load_audio(encode(audio, RATE, fmt)).samples
            same = len(decoded) == len(audio) and bool(np.array_equal(decoded, audio))
            result = runs["per-region"].analyze((decoded, RATE))
            words = [w.text for s in result.segments for w in s.words]
            texts = per_clip_text(result, clips, args.gap)
            mean = np.mean([cer(c["text"], t) for c, t in zip(clips, texts)])
            print(f"| {fmt} | {same} | {words == base} | {100 * mean:.1f}% | {sum(not t for t in texts)} |", flush=True)
    if args.per_clip:
        print("\n| file | clip | lang | " + " | ".join(f"CER {n}" for n in names) + " | per-region text |")
        print("|---|---|---|" + "---|" * (len(names) + 1))
        for r in rows_out:
            print(f"| {r['file']} | {r['clip']} | {r['language']} | "
                  + " | ".join(f"{100 * r['cer_' + n]:.0f}" for n in names) + f" | {r['hyp_per-region']} |")

    n_clips = len(rows_out)
    print(f"\nlanguage detection inside the per-region runs: {detected['seconds']:.1f} s for {detected['calls']} "
          f"detections ({detected['padded']} of them again padded to 30 s, the first being unsure)")
    print(f"\n{args.files} file(s), {audio_seconds:.0f} s of audio, {n_clips} clips "
          f"({sum(r['language'] == 'zh' for r in rows_out)} zh, {sum(r['language'] == 'en' for r in rows_out)} en), "
          f"{sum(a['language'] != b['language'] for a, b in zip(rows_out, rows_out[1:]) if a['file'] == b['file'])} "
          f"language switches, gap {args.gap} s, {args.threads} threads\n")
    print("| run | mean clip CER | zh | en | clips CER > 0.5 | clips with no words | segments, right language | wall time |")
    print("|---|---|---|---|---|---|---|---|")
    for n in names:
        vals = [r[f"cer_{n}"] for r in rows_out]
        by = {L: [r[f"cer_{n}"] for r in rows_out if r["language"] == L] for L in ("zh", "en")}
        tot = totals[n]
        seg = f"{100 * tot['right'] / tot['segments']:.1f}% of {tot['segments']}" if tot["segments"] else "-"
        zh, en = (f"{100 * np.mean(by[L]):.1f}%" if by[L] else "-" for L in ("zh", "en"))
        print(f"| {n} | {100 * np.mean(vals):.1f}% | {zh} | {en} | "
              f"{sum(v > 0.5 for v in vals)} | {int(tot['missing'])} | {seg} | {tot['wall']:.1f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
