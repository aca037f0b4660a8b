#!/usr/bin/env python3
"""How long must the second, padded language reading of an unsure region be? (issue 23)

paravox detects the language of each speech region on the region's own frames; when that
reading is unsure, or names a language rare in the file, the region is read again padded to
Whisper's 30-s window (``speech_regions.PADDED_FRAMES = 3000``), which costs a whole window of
encoder work (about 0.5 s on 2 cores) for a region of a second or two. This experiment plans
every input (speech, regions, languages: ``WhisperBaseASR._plan``, no decoding) with the padded
reading at several lengths and scores the languages chosen against the truth:

- code-switched files built as ``benchmarks/code_switch.py`` builds them (CASIA Mandarin and
  English clips alternating, 0.7 s apart), the truth being the language of the clip under the
  region's middle;
- the short-clip sets of ``benchmarks/short_clips_throughput.py`` (CASIA, RAVDESS, and
  nvasr/tts-demos or nvasr/dev), each clip in its manifest's language.

Printed per setting: the share of judged speech (regions with at least 0.5 s of speech) given
the right language, its regions wrong, the padded readings made and the planning time.
``--set choose`` (code-switch seeds 0-2, the choose clips) is for choosing; ``--set report``
(seeds 100-102, the report clips) for reporting.

    python benchmarks/experiments/padded_language.py --set choose --frames 3000 1500 1000 500 1
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

RATE = 16000


def inputs(which: str, files: int) -> list[tuple[str, np.ndarray, object]]:
    """(name, samples, truth): truth is a language code, or a list of (start, end, language)."""
    from code_switch import build_file
    from short_clips_throughput import build_clips

    from paravox.audio import load_audio

    out = []
    first = 0 if which == "choose" else 100
    for seed in range(first, first + files):
        audio, clips = build_file(seed, 100.0, 0.7)
        out.append((f"switch-{seed}", audio, [(c["start"], c["end"], c["language"]) for c in clips]))
    clips, _ = build_clips(which, None)
    for c in clips:
        out.append((c["id"], load_audio(c["audio"]).samples, c["language"]))
    return out


def truth_at(truth, seconds: float) -> str | None:
    if isinstance(truth, str):
        return truth
    for lo, hi, language in truth:
        if lo - 0.35 <= seconds < hi + 0.35:
            return language
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", choices=["choose", "report"], default="choose")
    ap.add_argument("--frames", type=int, nargs="+", default=[3000, 1500, 1000, 500, 1],
                    help="PADDED_FRAMES to try (1: no padding, the region's own frames read again)")
    ap.add_argument("--files", type=int, default=3, help="code-switched files of 100 s")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    from paravox.backends import speech_regions
    from paravox.backends.whisper import WhisperBaseASR
    from paravox.options import TranscribeOptions

    asr = WhisperBaseASR(threads=args.threads)
    opts = TranscribeOptions()
    data = inputs(args.set, args.files)
    asr._plan(data[0][1], opts)  # warm up
    rows = {}
    for frames in args.frames:
        speech_regions.PADDED_FRAMES = frames
        padded = {"n": 0}
        real = speech_regions.language_probs

        def counted(*a, **kw):
            padded["n"] += bool(kw.get("pad"))
            return real(*a, **kw)

        import paravox.backends.whisper as whisper

        whisper.language_probs = counted
        right = total = wrong_regions = judged = 0.0
        switch_right = switch_total = 0.0
        t0 = time.perf_counter()
        for name, audio, truth in data:
            plan = asr._plan(audio, opts)
            if not isinstance(plan, tuple):
                continue
            for _, _, regions in plan[0]:
                for r in regions:
                    if r.speech < speech_regions.MIN_JUDGED_SPEECH:
                        continue
                    expected = truth_at(truth, (r.start + r.end) / 2 / RATE)
                    if expected is None:
                        continue
                    ok = r.language == expected
                    judged += 1
                    wrong_regions += not ok
                    right += ok * r.speech
                    total += r.speech
                    if not isinstance(truth, str):
                        switch_right += ok * r.speech
                        switch_total += r.speech
        whisper.language_probs = real
        rows[frames] = (time.perf_counter() - t0, padded["n"], right / total, wrong_regions, judged,
                        switch_right / max(switch_total, 1e-9))
        print(f"frames {frames}: done", flush=True)
    print(f"\nset {args.set}: {args.files} code-switched files of 100 s + "
          f"{len(data) - args.files} short clips, {args.threads} threads\n")
    print("| padded reading (frames) | judged speech in the right language | code-switched files only | "
          "regions wrong | padded readings | planning time (s) |")
    print("|---|---:|---:|---:|---:|---:|")
    for frames, (secs, n, share, wrong, judged, switch) in rows.items():
        label = "none (own frames)" if frames <= 1 else f"{frames} ({frames / 100:g} s)"
        print(f"| {label} | {100 * share:.2f}% | {100 * switch:.2f}% | {int(wrong)} of {int(judged)} | {n} | {secs:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
