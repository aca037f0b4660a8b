#!/usr/bin/env python3
"""Corpus throughput on short clips: `paravox batch` against a plain faster-whisper loop.

One invocation runs both on the SAME clips, each in a fresh process, and prints one markdown
table: wall time (interpreter start and model loading included), the work time without the
loading, clips per second, audio hours per hour, throughput against the plain loop, the Text
CER of each (overall, zh, en) and peak RSS.

    python benchmarks/short_clips_throughput.py [--set choose|report] [--clips N] [--rounds N]
        [--threads T] [--give-language] [--variants "default" "--workers 1" ...] [--json PATH]
        [-- extra flags for every paravox batch variant]

Clips (from ../shared/data; deterministic: every k-th row of each pool, no randomness):

- 60 short clips (about 2-3 s: SHORT_S, 1.5-3.5 s): 30 CASIA (Mandarin, field ``text``) and 30 RAVDESS
  (English, field ``statement``). Every RAVDESS clip of the pack is truncated (cut to 2.4 s),
  so its reference often runs past what is spoken: both systems pay the same for it, and the
  CERs compare them, they do not measure Whisper;
- 40 NV-tagged clips of 2-18 s (nvasr, field ``text`` with its ``[tag]`` tags removed), but
  not SynParaSpeech's: its texts are not what its audio says (both systems hear other sentences
  entirely, e.g. "你真的要一个人去？" heard as "营造宁静和平的网络安全空间").

``--set choose`` (for choosing settings) and ``--set report`` (default; for reported figures)
use disjoint speakers and sources: choose = the first two CASIA speakers (sorted), odd RAVDESS
actors and nvasr/tts-demos; report = the other CASIA speakers, even actors and nvasr/dev.
A pool with fewer clips than asked gives what it has, and the output says so. ``--clips N``
caps the total, keeping the pools' proportions.

Systems:

- ``plain faster-whisper loop``: ``WhisperModel(<paravox's whisper-base>, device="cpu",
  compute_type="int8", cpu_threads=T)`` and ``model.transcribe(path, beam_size=5,
  vad_filter=True, word_timestamps=True)`` per clip, segment texts joined; peak RSS from
  ``getrusage`` in that process;
- ``paravox batch MANIFEST -o OUT.jsonl`` with its defaults (events and emotion included) plus
  each ``--variants`` string (``"default"``: no extra flag) plus the flags after ``--``; its
  work time is the sum of the lines' ``options.elapsed_seconds`` (over all workers; none when
  the lines say ``pack`` > 1, whose shared transcription is in no line's time); peak RSS
  is the largest worker's (VmHWM/VmRSS of the batch process's children, read every 0.2 s).

The manifest gives no ``language`` unless ``--give-language`` (then the plain loop gets
``language=`` too). CER is paravox's Text CER (paravox.evaluation: NFKC, Traditional folded to
Simplified, case and punctuation removed, tags dropped), corpus level: total edits / total
reference tokens. A token is one character in Chinese but one WORD in English (MNV-17's
definition), so the en column is a word error rate. With ``--rounds N`` the systems alternate
N times; the table gives each one's median round (by wall time) and lists every round.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SHORT_S = (1.5, 3.5)  # "about 2-3 s"
NV_S = (2.0, 18.0)
QUOTAS = {"casia": 30, "ravdess": 30, "nvasr": 40}
OUR_OPTIONS = {"--set", "--clips", "--threads", "--rounds", "--give-language",
               "--variants", "--json", "-h", "--help"}

_CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
manifest, threads, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
from faster_whisper import WhisperModel
from paravox.encoder.files import ensure_whisper_base
model = WhisperModel(str(ensure_whisper_base()), device="cpu", compute_type="int8", cpu_threads=threads)
t1 = time.perf_counter()
failed = 0
with open(out, "w", encoding="utf-8") as f:
    for line in open(manifest, encoding="utf-8"):
        row = json.loads(line)
        try:
            segments, info = model.transcribe(row["audio"], beam_size=5, vad_filter=True, word_timestamps=True,
                                              language=row.get("language"))
            text = "".join(s.text for s in segments)
        except Exception as exc:  # a bad clip scores as all deletions, as a paravox error line does
            text, failed = "", failed + 1
            print(f"{row['id']}: {exc!r}", file=sys.stderr)
        f.write(json.dumps({"id": row["id"], "text": text}, ensure_ascii=False) + "\n")
t2 = time.perf_counter()
print(json.dumps({"load_s": t1 - t0, "work_s": t2 - t1, "failed": failed,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _rows(folder: Path) -> list[dict]:
    return [json.loads(l) for l in (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines() if l.strip()]


def _spread(rows: list, n: int) -> list:
    """``n`` rows spread evenly over ``rows`` (every k-th), or all of them when there are fewer."""
    if n >= len(rows):
        return list(rows)
    return [rows[i * len(rows) // n] for i in range(n)]


def _quotas(cap: int | None) -> dict[str, int]:
    """The clips per pool: QUOTAS, or scaled to ``cap`` (largest remainder, so they sum to cap)."""
    total = sum(QUOTAS.values())
    if cap is None or cap >= total:
        return dict(QUOTAS)
    exact = {k: cap * v / total for k, v in QUOTAS.items()}
    out = {k: int(v) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: out[k] - exact[k])[: cap - sum(out.values())]:
        out[k] += 1
    return out


def build_clips(which: str, cap: int | None) -> tuple[list[dict], list[str]]:
    quota, clips, notes = _quotas(cap), [], []

    def clip(folder: Path, r: dict, ref: str, pool: str) -> dict:
        return {"id": r["id"], "audio": str((folder / r["audio"]).resolve()), "language": r["language"],
                "ref": ref, "duration": float(r["duration"]), "pool": pool}

    casia = DATA / "emotion" / "casia"
    rows = _rows(casia)
    speakers = sorted({r["speaker"] for r in rows})
    keep = set(speakers[:2] if which == "choose" else speakers[2:])
    pool = [r for r in rows if r["speaker"] in keep and SHORT_S[0] <= r["duration"] <= SHORT_S[1]]
    clips += [clip(casia, r, r["text"], "casia") for r in _spread(pool, quota["casia"])]

    ravdess = DATA / "emotion" / "ravdess"
    rows = _rows(ravdess)
    parity = 1 if which == "choose" else 0
    pool = [r for r in rows if int(r["speaker"].split("_")[-1]) % 2 == parity
            and SHORT_S[0] <= r["duration"] <= SHORT_S[1]]
    clips += [clip(ravdess, r, r["statement"], "ravdess") for r in _spread(pool, quota["ravdess"])]
    notes.append("RAVDESS clips are truncated: their references may run past the audio (the same for every system)")

    nv = DATA / "nvasr" / ("tts-demos" if which == "choose" else "dev")
    pool = [r for r in _rows(nv) if NV_S[0] <= r["duration"] <= NV_S[1] and r.get("source") != "synparaspeech"]
    clips += [clip(nv, r, re.sub(r"\[[^\]]*\]", " ", r["text"]), "nvasr") for r in _spread(pool, quota["nvasr"])]

    for name in quota:
        got = sum(c["pool"] == name for c in clips)
        if got < quota[name]:
            notes.insert(0, f"pool {name} ({which}) gave {got} of the {quota[name]} clips asked")
    return clips, notes


def score(clips: list[dict], hyps: dict[str, str]) -> dict:
    """Corpus-level Text CER overall and per language; the counts stay in the JSON."""
    from paravox.evaluation.nvasr import EditCounts, edit_counts
    from paravox.evaluation.text import tokenize

    totals = {"all": EditCounts(), "zh": EditCounts(), "en": EditCounts()}
    for c in clips:
        e = edit_counts(tokenize(c["ref"], keep_tags=False), tokenize(hyps.get(c["id"], ""), keep_tags=False))
        totals["all"] += e
        totals[c["language"]] = totals.get(c["language"], EditCounts()) + e
    return {k: {"cer": v.rate, **v.to_dict()} for k, v in totals.items()}


def run_plain(manifest: Path, threads: int, out: Path) -> dict:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(manifest), str(threads), str(out)],
                          check=False, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"plain faster-whisper loop failed ({proc.returncode}):\n{proc.stderr}")
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    hyps = {h["id"]: h["text"] for h in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    return {"wall_s": wall, **r, "hyps": hyps}


def run_batch(manifest: Path, flags: list[str], out: Path) -> dict:
    from paravox.testing.procfs import memory_mb

    out.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "paravox.cli.main", "batch", str(manifest), "-o", str(out), "-q", *flags]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    peak: dict[int, float] = {}
    while proc.poll() is None:
        try:
            children = [int(p) for p in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
        except OSError:
            children = []
        for pid in children:
            m = memory_mb(pid, ("VmRSS", "VmHWM"))
            peak[pid] = max(peak.get(pid, 0.0), *m.values(), 0.0)
        time.sleep(0.2)
    wall = time.perf_counter() - started
    err = proc.stderr.read()
    if proc.returncode not in (0, 1) or not out.exists():
        raise SystemExit(f"paravox batch {' '.join(flags)} failed ({proc.returncode}):\n{err}")
    lines = [json.loads(l) for l in out.read_text(encoding="utf-8").splitlines() if l.strip()]
    ok = [l for l in lines if "error" not in l]
    # A packed clip's transcription is shared and is in no line's elapsed_seconds: no work time then.
    packed = any((l.get("options", {}).get("pack") or 1) > 1 for l in ok)
    work = None if packed else sum(l.get("options", {}).get("elapsed_seconds", 0.0) for l in ok)
    return {"wall_s": wall, "work_s": work,
            "failed": len(lines) - len(ok), "peak_rss_mb": max(peak.values(), default=0.0),
            "hyps": {l["id"]: l.get("text", "") for l in ok}}


def _split_argv(argv: list[str]) -> tuple[list[str], list[str], list[str] | None]:
    """(our arguments, flags after ``--``, --variants values): a variant such as ``-q`` or
    ``--workers=2`` would look like an option to argparse, so the values are taken here."""
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    if "--variants" not in argv:
        return argv, extra, None
    i = argv.index("--variants")
    j = i + 1
    while j < len(argv) and argv[j].split("=")[0] not in OUR_OPTIONS:
        j += 1
    return argv[:i] + argv[j:], extra, argv[i + 1:j]


def main() -> int:
    argv, extra, variants = _split_argv(sys.argv[1:])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", choices=["choose", "report"], default="report",
                    help="clip set: 'choose' for tuning, 'report' (default) for figures; disjoint speakers")
    ap.add_argument("--clips", type=int, help="cap on the number of clips (default: all 100), proportions kept")
    ap.add_argument("--threads", type=int, help="CPU threads of the plain loop (default: all cores); "
                    "when given, paravox batch gets --threads too (a variant's own --threads wins)")
    ap.add_argument("--rounds", type=int, default=1, help="times to run every system, alternating (default 1)")
    ap.add_argument("--give-language", action="store_true", help="put each clip's language in the manifest "
                    "(and pass language= to the plain loop); default: both detect it")
    ap.add_argument("--variants", nargs="+", metavar="FLAGS", help='paravox batch configurations, each one string '
                    'of extra flags ("default": none), e.g. --variants "default" "--workers 1" (default: "default")')
    ap.add_argument("--json", type=Path, metavar="PATH", help="also write every figure (and hypothesis) here")
    args = ap.parse_args(argv)
    variants = variants or ["default"]
    for name in ("emotion/casia", "emotion/ravdess", "nvasr/dev", "nvasr/tts-demos"):
        if not (DATA / name / "manifest.jsonl").exists():
            print(f"data pack not found: {DATA / name / 'manifest.jsonl'} (expected ../shared/data next to the "
                  f"repository; see /work/shared/data/README.md)", file=sys.stderr)
            return 2
    clips, notes = build_clips(args.set, args.clips)
    if not clips:
        print("no clips selected", file=sys.stderr)
        return 2
    audio_s = sum(c["duration"] for c in clips)
    threads = args.threads or os.cpu_count() or 1
    common = ["--threads", str(args.threads)] if args.threads else []
    systems = [("plain", "plain faster-whisper loop", None)] + [
        (f"v{i}", "paravox batch" + ("" if v.strip() == "default" and not extra else
                                     " " + " ".join(([] if v.strip() == "default" else [v]) + extra)),
         common + ([] if v.strip() == "default" else shlex.split(v)) + extra) for i, v in enumerate(variants)]
    rounds: dict[str, list[dict]] = {key: [] for key, _, _ in systems}
    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "clips.jsonl"
        manifest.write_text("".join(json.dumps({"id": c["id"], "audio": c["audio"], **(
            {"language": c["language"]} if args.give_language else {})}, ensure_ascii=False) + "\n"
            for c in clips), encoding="utf-8")
        for n in range(max(1, args.rounds)):
            for key, label, flags in systems:
                out = Path(tmp) / f"{key}.jsonl"
                r = run_plain(manifest, threads, out) if flags is None else run_batch(manifest, flags, out)
                r["cer"] = score(clips, r["hyps"])
                print(f"round {n + 1}: {label}: {r['wall_s']:.1f} s", file=sys.stderr)
                rounds[key].append(r)
    results = {key: sorted(rounds[key], key=lambda r: r["wall_s"])[len(rounds[key]) // 2] for key in rounds}
    base = results["plain"]["wall_s"]
    pct = lambda v: "n/a" if v is None else f"{100 * v:.1f}%"
    langs = {lang: sum(c["language"] == lang for c in clips) for lang in ("zh", "en")}
    print(f"{datetime.datetime.now().isoformat(timespec='minutes')}, {os.cpu_count()} CPU cores, "
          f"set '{args.set}': {len(clips)} clips ({langs['zh']} zh, {langs['en']} en; "
          + ", ".join(f"{p} {sum(c['pool'] == p for c in clips)}" for p in QUOTAS)
          + f"), {audio_s:.1f} s of audio; plain loop {threads} threads; language "
          + ("given" if args.give_language else "detected") + (f"; median of {args.rounds} rounds" if args.rounds > 1 else ""))
    for note in notes:
        print(f"note: {note}")
    print()
    print("| system | wall s | work s | clips/s | audio h per h | throughput vs plain loop | CER | CER zh | CER en "
          "| peak RSS (MiB) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for key, label, _ in systems:
        r = results[key]
        cer = r["cer"]
        work = "n/a" if r["work_s"] is None else f"{r['work_s']:.1f}"
        print(f"| {label} | {r['wall_s']:.1f} | {work} | {len(clips) / r['wall_s']:.2f} "
              f"| {audio_s / r['wall_s']:.2f} | {base / r['wall_s']:.2f}x | {pct(cer['all']['cer'])} "
              f"| {pct(cer['zh']['cer'])} | {pct(cer['en']['cer'])} | {r['peak_rss_mb']:.0f} |")
    print("\nwall: the whole process, start-up and model loading included; work: the plain loop's transcribe "
          "loop, paravox's summed per-clip elapsed_seconds (n/a when clips were packed). CER: paravox Text CER (en tokens are words).")
    if args.rounds > 1:
        for key, label, _ in systems:
            print(f"{label}, wall s per round: " + ", ".join(f"{r['wall_s']:.1f}" for r in rounds[key]))
    failed = {label: results[key]["failed"] for key, label, _ in systems if results[key]["failed"]}
    if failed:
        print("\nfailed clips (scored as empty): " + ", ".join(f"{k}: {v}" for k, v in failed.items()))
    if args.json:
        args.json.write_text(json.dumps({
            "date": datetime.datetime.now().isoformat(timespec="seconds"), "cpu_count": os.cpu_count(),
            "set": args.set, "clips": clips, "audio_s": audio_s, "notes": notes, "give_language": args.give_language,
            "threads": threads, "systems": {key: {"label": label, "flags": flags, "median": results[key],
                                                  "rounds": rounds[key]} for key, label, flags in systems},
        }, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
