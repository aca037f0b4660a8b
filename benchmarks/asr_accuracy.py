#!/usr/bin/env python3
"""Text CER of the transcription stage under several decoding settings, against plain faster-whisper.

Tuning is done on the CASIA (Mandarin) and RAVDESS (English) sentences; the tagged
NV-ASR dev clips (nvasr/dev) are the report set, real and synthetic clips apart.

    python benchmarks/asr_accuracy.py --set casia --limit 200        # tune
    python benchmarks/asr_accuracy.py --set nvasr-dev                # report

Prints a markdown table: configuration, clips, text CER (tags removed, MNV-17
normalisation), real-time factor. Writes hypotheses to benchmarks/results/.

When every temperature-0 decode of a clip fails Whisper's checks, the fallback samples at
a higher temperature, and what it samples depends on the state of CTranslate2's random
generator, so on a few hard clips the text changes with the seed and with what was decoded
before. ``--sampling-seeds 0,1,2,3,4`` runs every configuration once per seed, each time on
a freshly loaded model whose sampler starts from that seed, and prints the mean text CER
over the seeds, with each seed's figure in the last column. Below the table, the clips
whose text CER differs between configurations or seeds; ``--from-results`` scores the
hypotheses a run saved, without decoding again:

    python benchmarks/asr_accuracy.py --set nvasr-dev --group real --sampling-seeds 0,1,2,3,4 \
        --configs faster-whisper-defaults,paravox-default,paravox-with-events
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"

# name -> (engine, options). "plain" runs faster-whisper exactly as its README shows
# (default transcribe() arguments); "paravox" runs paravox's pipeline with these options.
CONFIGS: dict[str, tuple[str, dict]] = {
    "faster-whisper-defaults": ("plain", {}),
    "paravox-default": ("paravox", {}),
    # The default with the event model on, as `paravox transcribe` runs: laughter Whisper
    # spells out (哈哈哈, Ha-ha!) becomes a [laugh] tag and leaves the text that is scored.
    "paravox-with-events": ("paravox", {"__events": True}),
    "paravox-lang": ("paravox", {"__force_language": True}),
    "paravox-no-vad": ("paravox", {"vad": False}),
    # The VAD settings compared while choosing the defaults (Silero's own threshold is 0.5).
    "paravox-vad-500ms": ("paravox", {"vad_min_silence_ms": 500, "vad_threshold": 0.5}),
    "paravox-vad-2000ms": ("paravox", {"vad_min_silence_ms": 2000, "vad_threshold": 0.5}),
    "paravox-vad-2000ms-thr0.3": ("paravox", {"vad_min_silence_ms": 2000, "vad_threshold": 0.3}),
    "paravox-vad-2000ms-thr0.15": ("paravox", {"vad_min_silence_ms": 2000, "vad_threshold": 0.15}),
    # The default minus the loudness guard (audio as loud as the speech kept even where Silero scores it low).
    "paravox-vad-only": ("paravox", {"vad_keep_loud": False}),
    "paravox-beam1": ("paravox", {"beam_size": 1, "vad_min_silence_ms": 500, "vad_threshold": 0.5}),
    "paravox-lang-zh-prompt": (
        "paravox",
        {"__force_language": True, "__zh_prompt": "以下是普通话的句子。", "vad_min_silence_ms": 500, "vad_threshold": 0.5},
    ),
}


def load_set(name: str, limit: int | None, seed: int) -> list[dict]:
    """Rows with id, audio (absolute), text (reference, tags kept), language, synthetic."""
    if name == "nvasr-dev":
        folder = DATA / "nvasr" / "dev"
        rows = [json.loads(l) for l in (folder / "manifest.jsonl").read_text().splitlines() if l.strip()]
        out = [
            {"id": r["id"], "audio": str(folder / r["audio"]), "text": r["text"], "language": r["language"],
             "group": "synthetic" if r.get("synthetic") else "real"}
            for r in rows
        ]
    elif name in ("casia", "ravdess"):
        folder = DATA / "emotion" / name
        rows = [json.loads(l) for l in (folder / "manifest.jsonl").read_text().splitlines() if l.strip()]
        field = "text" if name == "casia" else "statement"
        out = [
            {"id": r["id"], "audio": str(folder / r["audio"]), "text": r[field], "language": r.get("language", "en"),
             "group": name}
            for r in rows
        ]
    else:
        raise SystemExit(f"unknown set {name!r}")
    if limit and len(out) > limit:
        out = random.Random(seed).sample(out, limit)
    return out


def run_plain(rows: list[dict], threads: int, seed: int | None) -> tuple[dict[str, str], float]:
    import ctranslate2
    from faster_whisper import WhisperModel, decode_audio

    from paravox.backends.whisper import SAMPLING_SEED
    from paravox.encoder.files import ensure_whisper_base

    # Default settings; only the sampler's seed is fixed, as paravox fixes it when it loads the
    # model, so that a rerun of the same clips in the same order gives the same figures. A new
    # model has new decoding threads, whose samplers start from the seed set here.
    ctranslate2.set_random_seed(SAMPLING_SEED if seed is None else seed)
    model = WhisperModel(str(ensure_whisper_base()), device="cpu", compute_type="int8", cpu_threads=threads)
    hyps, busy = {}, 0.0
    for r in rows:
        audio = decode_audio(r["audio"], sampling_rate=16000)
        t0 = time.perf_counter()
        segments, _ = model.transcribe(audio)
        hyps[r["id"]] = "".join(s.text for s in segments)
        busy += time.perf_counter() - t0
    return hyps, busy


def run_paravox(rows: list[dict], options: dict, threads: int, seed: int | None) -> tuple[dict[str, str], float]:
    from paravox.analyzer import Analyzer
    from paravox.audio import load_audio
    from paravox.backends import whisper as whisper_asr

    if seed is not None:
        # A freshly loaded recogniser (new decoding threads) whose sampler starts from `seed`.
        whisper_asr.reset_whisper(seed)

    force = options.pop("__force_language", False)
    with_events = options.pop("__events", False)
    zh_prompt = options.pop("__zh_prompt", None)
    analyzers: dict[str | None, Analyzer] = {}
    hyps, busy = {}, 0.0
    for r in rows:
        lang = r["language"] if force else None
        if lang not in analyzers:
            extra = {"initial_prompt": zh_prompt} if (zh_prompt and lang == "zh") else {}
            # Transcription only (unless asked): the text is what is scored, and the RTF column
            # compares recognisers.
            events = {} if with_events else {"events": None}
            analyzers[lang] = Analyzer(threads=threads, language=lang, emotion=None, **events, **options, **extra)
        audio = load_audio(r["audio"])
        t0 = time.perf_counter()
        hyps[r["id"]] = analyzers[lang].analyze(audio, name=r["id"]).text
        busy += time.perf_counter() - t0
    return hyps, busy


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default="nvasr-dev", choices=("nvasr-dev", "casia", "ravdess"))
    ap.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated names from: " + ", ".join(CONFIGS))
    ap.add_argument("--limit", type=int, default=None, help="random sample of this many clips (seeded)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--group", default=None, help="only clips of this group (nvasr-dev: real or synthetic)")
    ap.add_argument(
        "--sampling-seeds", default=None, metavar="S,S,...",
        help="run each configuration once per seed of the fallback's sampler, on a freshly loaded model; "
        "the table gives the mean (default: one run, seed 0, models loaded once)",
    )
    ap.add_argument(
        "--from-results", action="store_true",
        help="decode nothing: score the hypotheses an earlier run with the same options saved in benchmarks/results/",
    )
    args = ap.parse_args()
    seeds = [None] if args.sampling_seeds is None else [int(x) for x in args.sampling_seeds.split(",")]
    if not DATA.exists():
        print(f"data pack not found at {DATA}", file=sys.stderr)
        return 2

    from paravox.evaluation.nvasr import evaluate_nvasr

    rows = load_set(args.set, args.limit, args.seed)
    if args.group:
        rows = [r for r in rows if r["group"] == args.group]
        if not rows:
            raise SystemExit(f"no clips of group {args.group!r} in {args.set}")
    audio_seconds = 0.0
    from paravox.audio import load_audio

    audio_seconds = sum(load_audio(r["audio"]).duration for r in rows)
    results_dir = ROOT / "benchmarks" / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    groups = sorted({r["group"] for r in rows})
    header = "| config | " + " | ".join(f"text CER {g} (n={sum(r['group'] == g for r in rows)})" for g in groups)
    header += " | text CER all | RTF |" + (" text CER all, per seed |" if len(seeds) > 1 else "")
    scope = f", sampling seeds {args.sampling_seeds} (mean)" if args.sampling_seeds else ""
    print(f"set: {args.set}, {len(rows)} clips, {audio_seconds / 60:.1f} min of audio, {args.threads} threads{scope}\n")
    print(header)
    print("|" + "---|" * (len(groups) + 3 + (len(seeds) > 1)))
    refs = {r["id"]: r["text"] for r in rows}
    per_clip: dict[str, dict[str, list[float]]] = {}  # config -> id -> text CER per seed
    for name in args.configs.split(","):
        engine, options = CONFIGS[name]
        cers: dict[str | None, list[float]] = {g: [] for g in groups + [None]}
        busy_total = 0.0
        for seed in seeds:
            suffix = "" if seed is None else f"_seed{seed}"
            saved = results_dir / f"asr_{args.set}_{name}{suffix}.jsonl"
            if args.from_results:
                rows_saved = [json.loads(line) for line in saved.read_text(encoding="utf-8").splitlines() if line.strip()]
                hyps, busy = {h["id"]: h["text"] for h in rows_saved}, float("nan")
            elif engine == "plain":
                hyps, busy = run_plain(rows, args.threads, seed)
            else:
                hyps, busy = run_paravox(rows, dict(options), args.threads, seed)
            busy_total += busy
            if not args.from_results:
                saved.write_text(
                    "".join(json.dumps({"id": k, "text": v}, ensure_ascii=False) + "\n" for k, v in hyps.items())
                )
            for i in refs:
                per_clip.setdefault(name, {}).setdefault(i, []).append(evaluate_nvasr({i: refs[i]}, {i: hyps[i]}).text_cer)
            for g in cers:
                ids = [r["id"] for r in rows if g is None or r["group"] == g]
                cers[g].append(evaluate_nvasr({i: refs[i] for i in ids}, {i: hyps[i] for i in ids}).text_cer)
        cells = [f"{100 * sum(v) / len(v):.2f}%" for v in cers.values()]
        line = f"| {name} | " + " | ".join(cells) + f" | {busy_total / len(seeds) / audio_seconds:.3f} |"
        if len(seeds) > 1:
            line += " " + ", ".join(f"{100 * c:.2f}" for c in cers[None]) + " |"
        print(line, flush=True)
    names = list(per_clip)
    moved = [i for i in refs if len({round(c, 4) for n in names for c in per_clip[n][i]}) > 1]
    print(f"\n{len(refs) - len(moved)} of {len(refs)} clips score the same in every configuration and seed; the others "
          "(text CER per seed):\n")
    print("| clip | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for i in moved:
        print(f"| {i} | " + " | ".join(", ".join(f"{100 * c:.0f}" for c in per_clip[n][i]) for n in names) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
