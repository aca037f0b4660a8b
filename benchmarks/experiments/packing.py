#!/usr/bin/env python3
"""Choose how short inputs share Whisper's windows (issue 23): the gap, the window, the checks.

Transcribes the clips of ``benchmarks/short_clips_throughput.py`` (``--set choose`` by default:
speakers and sources disjoint from the report set) alone, as ``paravox analyze`` does, and then
packed (``WhisperBaseASR.transcribe_many``) for each ``--gaps`` value, in one process with one
model, the recogniser only (no events, no emotion). Prints per configuration: seconds of
recogniser work per clip, how many clips the window answered for (the others were decoded
alone, and why), Text CER against the references with its insertions (text that crossed from
one input to another would show as insertions), and how many clips' text differs from alone.

    python benchmarks/experiments/packing.py [--set choose] [--clips N] [--gaps 0.5 1.0 2.0]
        [--batches 1 4] [--rounds 1 2] [--crossing 1 0] [--middle 1 0] [--alone-batched 1 0] [--pack 32] [--threads 2]
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", choices=["choose", "report"], default="choose")
    ap.add_argument("--clips", type=int, default=None, help="cap on the clips (default: all 100 of the set)")
    ap.add_argument("--gaps", type=float, nargs="+", default=[1.0], help="silences between inputs, s")
    ap.add_argument("--pack", type=int, default=32, help="inputs analysed together (the batch default)")
    ap.add_argument("--batches", type=int, nargs="+", default=[4], help="windows decoded in one batch")
    ap.add_argument("--rounds", type=int, nargs="+", default=[1], help="rounds of packing")
    ap.add_argument("--crossing", type=int, nargs="+", default=[1],
                    help="1: a word reaching into a neighbour's speech sends its input alone; 0: it is cut to its input")
    ap.add_argument("--alone-batched", type=int, nargs="+", default=[1],
                    help="1: what no window answered for is decoded one input to a window, batched, first")
    ap.add_argument("--middle", type=int, nargs="+", default=[1],
                    help="1: a word whose middle lies more than PACK_SLACK into the silence sends its input alone; "
                    "0: only a word wholly outside its input's speech does (a stretched last word is cut)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()

    import paravox.backends.packing as packing
    import paravox.backends.whisper as whisper
    from paravox.audio import load_audio
    from paravox.evaluation.nvasr import EditCounts, edit_counts
    from paravox.evaluation.text import tokenize
    from paravox.options import TranscribeOptions
    from short_clips_throughput import build_clips

    clips, notes = build_clips(args.set, args.clips)
    audio = [load_audio(c["audio"]).samples for c in clips]
    asr = whisper.WhisperBaseASR(threads=args.threads)
    opts = TranscribeOptions()
    asr.transcribe(audio[0], options=opts)  # warm up

    def text(result) -> str:
        return " ".join(s.text for s in result.segments) if result is not None else ""

    def scored(texts: list[str]) -> EditCounts:
        total = EditCounts()
        for c, t in zip(clips, texts):
            total += edit_counts(tokenize(c["ref"], keep_tags=False), tokenize(t, keep_tags=False))
        return total

    print(f"{datetime.date.today()}, {os.cpu_count()} cores, {args.threads} threads, set {args.set!r}: "
          f"{len(clips)} clips, {sum(len(a) for a in audio) / 16000:.1f} s of audio, pack {args.pack}")
    for note in notes:
        print("note:", note)
    started = time.perf_counter()
    alone = [text(asr.transcribe(a, options=opts)) for a in audio]
    alone_s = (time.perf_counter() - started) / len(clips)
    base = scored(alone)
    print("\n| configuration | recogniser s/clip | answered by the window | decoded alone because | CER | insertions | text differs from alone |")
    print("|---|---:|---:|---|---:|---:|---:|")
    print(f"| alone | {alone_s:.3f} | - | - | {100 * base.rate:.2f}% | {base.insertions} | - |")
    import itertools

    for gap, batch, rounds, crossing, middle, single in itertools.product(args.gaps, args.batches, args.rounds,
                                                                          args.crossing, args.middle, args.alone_batched):
        packing.PACK_ALONE_BATCHED = bool(single)
        packing.PACK_CHECK_MIDDLE = bool(middle)
        packing.PACK_GAP, packing.PACK_BATCH, packing.PACK_ROUNDS = gap, batch, rounds
        packing.PACK_CHECK_CROSSING = bool(crossing)
        packing.PACK_COUNTS.clear()
        started = time.perf_counter()
        packed = [text(r) for r in asr.transcribe_many([(a, opts) for a in audio], pack=args.pack)]
        packed_s = (time.perf_counter() - started) / len(clips)
        e = scored(packed)
        counts = dict(packing.PACK_COUNTS)
        answered = counts.pop("packed", 0)
        batched_alone = counts.pop("alone, batched", 0)
        why = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "-"
        differ = sum(a != p for a, p in zip(alone, packed))
        print(f"| gap {gap:g} s, batch {batch}, rounds {rounds}, crossing check {crossing}, middle check {middle}, alone batched {single} | {packed_s:.3f} | {answered} of {len(clips)} (+{batched_alone} alone, batched) | {why} | {100 * e.rate:.2f}% "
              f"| {e.insertions} | {differ} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
