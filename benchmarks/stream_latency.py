#!/usr/bin/env python3
"""Live streaming at real-time pace: how soon text comes, how soon the result is final, and
how far the streamed transcript is from the offline one.

Starts `paravox serve` (the default models: Whisper base, events, emotion) in a child
process and streams each recording to ws://.../v1/stream at real-time pace (100-ms frames
paced by the clock), one at a time, on an otherwise idle server. Each recording is also
uploaded to POST /v1/analyze (the offline analysis, same server, same models).

    python benchmarks/stream_latency.py                          # the report set at real-time pace (~12 min)
    python benchmarks/stream_latency.py --set choose --cer-only --min-segment 1.5,3,4,6,8,10
    python benchmarks/stream_latency.py --cer-only               # the shipped setting on the report set
    python benchmarks/stream_latency.py --limit 5                # quicker

Sets (see :func:`recordings`): ``choose``, the demo and the real clips of nvasr/dev, on which
StreamOptions.min_segment was chosen (--cer-only, final text only: finals do not depend on
the pace); ``report``, nvasr/tts-demos and six monologues joined from CASIA and RAVDESS
clips, on which the figures are reported. Figures:

* **first text**: from sending the frame that holds the first speech (Silero VAD on the
  recording) to receiving the first message with text (a partial or a segment);
* **partial latency**: for each partial, from sending the audio at its ``end`` to receiving it;
* **final**: from sending ``{"type": "end"}`` to receiving ``done``;
* **CER to offline**: the text CER (characters in Chinese, words in English) of the stream's
  ``done`` transcript against the offline analysis of the same recording; and, for the
  joined monologues, of both against the sentences read.

Targets (issue 24): first text within 3 s; done within 3 s of end; CER to offline <= 0.10.
Extra arguments after `--` go to `paravox serve` unchanged.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT / "tests"))

FRAME_SECONDS = 0.1


def _rows(folder: str) -> list[dict]:
    manifest = DATA / folder / "manifest.jsonl"
    if not manifest.exists():
        print(f"note: {manifest} not found; left out", file=sys.stderr)
        return []
    return [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines() if line.strip()]


def recordings(which: str, limit: int | None = None) -> list[tuple[str, np.ndarray, str | None]]:
    """``(id, 16 kHz samples, reference text or None)`` of the ``choose`` or ``report`` set.

    choose: the demo and the real (non-synthetic) clips of nvasr/dev (26; the stream's
    defaults were chosen on them). report: every clip of nvasr/tts-demos (50, 2-9 s) and
    six monologues made by joining one speaker's clips with seeded pauses of 0.4-1.2 s:
    four CASIA speakers (Mandarin, 15 clips each) and two RAVDESS actors (English, 15 each),
    whose sentences are known, so the stream and the offline analysis are also scored
    against the truth.
    """
    import random

    from paravox.audio import load_audio

    out: list[tuple[str, np.ndarray, str | None]] = []
    if which == "choose":
        out.append(("demo", load_audio(ROOT / "samples" / "demo.flac").samples, None))
        out += [(r["id"], load_audio(DATA / "nvasr" / "dev" / r["audio"]).samples, None)
                for r in _rows("nvasr/dev") if not r.get("synthetic")]
    else:
        out += [(r["id"], load_audio(DATA / "nvasr" / "tts-demos" / r["audio"]).samples, None)
                for r in _rows("nvasr/tts-demos")]
        for corpus, n_speakers, text_key in (("casia", 4, "text"), ("ravdess", 2, "statement")):
            rows = _rows(f"emotion/{corpus}")
            speakers = sorted({r["speaker"] for r in rows})[:n_speakers]
            for speaker in speakers:
                rng = random.Random(f"{corpus}-{speaker}")
                picked = rng.sample([r for r in rows if r["speaker"] == speaker], 15)
                parts, texts = [], []
                for r in picked:
                    parts += [load_audio(DATA / "emotion" / corpus / r["audio"]).samples,
                              np.zeros(int(rng.uniform(0.4, 1.2) * 16000), dtype=np.float32)]
                    texts.append(r[text_key])
                out.append((f"{corpus}-{speaker}-joined", np.concatenate(parts), " ".join(texts)))
    return out[:limit] if limit else out


def first_speech(samples: np.ndarray) -> float | None:
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    chunks = get_speech_timestamps(samples, VadOptions(speech_pad_ms=0))
    return chunks[0]["start"] / 16000 if chunks else None


def text_cer(ref: str, hyp: str) -> float:
    from paravox.evaluation.nvasr import edit_counts
    from paravox.evaluation.text import tokenize

    r, h = tokenize(ref, keep_tags=False), tokenize(hyp, keep_tags=False)
    e = edit_counts(r, h)
    return (e.substitutions + e.deletions + e.insertions) / max(1, len(r))


async def stream_one(url: str, samples: np.ndarray) -> dict:
    """Stream ``samples`` at real-time pace; timings (seconds, time.monotonic) and messages."""
    import websockets

    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    frame = int(FRAME_SECONDS * 16000) * 2
    sent_at: list[float] = []  # when the audio up to (i+1) frames had been sent
    received: list[tuple[float, dict]] = []
    async with websockets.connect(url, max_size=None) as ws:
        async def send() -> float:
            start = time.monotonic()
            for k, i in enumerate(range(0, len(pcm), frame)):
                delay = start + k * FRAME_SECONDS - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                await ws.send(pcm[i : i + frame])
                sent_at.append(time.monotonic())
            delay = start + len(samples) / 16000 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)  # the last frame's audio has been spoken
            await ws.send(json.dumps({"type": "end"}))
            return time.monotonic()

        sender = asyncio.create_task(send())
        async for message in ws:
            received.append((time.monotonic(), json.loads(message)))
        ended = await sender
    return {"sent_at": sent_at, "ended": ended, "received": received, "close_code": ws.close_code}


def measure(name: str, samples: np.ndarray, run: dict, offline_text: str, reference: str | None) -> dict:
    sent_at, received = run["sent_at"], run["received"]

    def sent(t_audio: float) -> float:  # when the audio up to t_audio seconds had been sent
        k = min(len(sent_at) - 1, max(0, int(np.ceil(t_audio / FRAME_SECONDS - 1e-9)) - 1))
        return sent_at[k]

    speech = first_speech(samples)
    texts = [(t, m) for t, m in received if m["type"] in ("partial", "segment") and m.get("text", "").strip()]
    first = texts[0][0] - sent(speech + 1 / 16000) if texts and speech is not None else None
    partials = [t - sent(m["end"]) for t, m in received if m["type"] == "partial"]
    done = [(t, m) for t, m in received if m["type"] == "done"]
    final = done[0][0] - run["ended"] if done else None
    text = done[0][1]["analysis"]["text"] if done else ""
    return {
        "id": name,
        "seconds": round(len(samples) / 16000, 2),
        "first_speech": None if speech is None else round(speech, 2),
        "first_text_latency": None if first is None else round(first, 3),
        "partial_latencies": [round(x, 3) for x in partials],
        "final_latency": None if final is None else round(final, 3),
        "close_code": run["close_code"],
        **scores(offline_text, text, reference),
        "stream_text": text,
        "offline_text": offline_text,
    }


def scores(offline: str, stream: str, reference: str | None) -> dict:
    out = {"cer_to_offline": round(text_cer(offline, stream), 4) if offline.strip() else None}
    if reference:
        out["stream_cer"] = round(text_cer(reference, stream), 4)
        out["offline_cer"] = round(text_cer(reference, offline), 4)
    return out


def pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 2) if values else None


def cer_only(items, min_segments: list[float]) -> list[dict]:
    """Finals do not depend on the pace: feed each recording at once, in process, for each
    ``min_segment``; the text CER to the offline analysis (and to the truth where known)."""
    from paravox.analyzer import Analyzer
    from paravox.streaming import StreamOptions, StreamSession

    analyzer = Analyzer(events=None, emotion=None)
    pcm = [(name, _as_pcm16(x), ref) for name, x, ref in items]
    offline = {name: analyzer.analyze((x, 16000)).text for name, x, _ in pcm}
    table = []
    for value in min_segments:
        rows = []
        for name, x, ref in pcm:
            session = StreamSession(analyzer, StreamOptions(partials=False, min_segment=value), name=name)
            messages = session.feed(x, partial=False) + session.finish()
            rows.append({"id": name, "pieces": session.pieces,
                         **scores(offline[name], messages[-1]["analysis"]["text"], ref)})
        table.append({"min_segment": value, **summarise_cer(rows), "recordings": rows})
        t = table[-1]
        print(f"min_segment {value:>4}: CER to offline mean {t['cer_to_offline']['mean']} "
              f"median {t['cer_to_offline']['median']} within 0.10 {t['cer_to_offline']['within_0.10']}/{t['cer_to_offline']['n']}",
              file=sys.stderr)
    return table


def summarise_cer(rows: list[dict]) -> dict:
    cers = [r["cer_to_offline"] for r in rows if r.get("cer_to_offline") is not None]
    out = {"cer_to_offline": {"mean": round(float(np.mean(cers)), 4) if cers else None,
                              "median": round(float(np.median(cers)), 4) if cers else None,
                              "max": max(cers, default=None), "within_0.10": sum(c <= 0.10 for c in cers), "n": len(cers)}}
    truth = [r for r in rows if "stream_cer" in r]
    if truth:
        out["against_reference"] = {"n": len(truth),
                                    "stream": round(float(np.mean([r["stream_cer"] for r in truth])), 4),
                                    "offline": round(float(np.mean([r["offline_cer"] for r in truth])), 4)}
    return out


def _as_pcm16(x: np.ndarray) -> np.ndarray:
    """The samples as the stream carries them (16-bit)."""
    return np.round(np.clip(x, -1, 1) * 32767).astype("<i2").astype(np.float32) / 32768.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--set", dest="which", choices=("choose", "report"), default="report",
                    help="choose: the demo + nvasr/dev real clips (defaults chosen there); report (default): "
                         "nvasr/tts-demos + joined CASIA/RAVDESS monologues")
    ap.add_argument("--limit", type=int, default=None, help="only the first N recordings")
    ap.add_argument("--cer-only", action="store_true",
                    help="no server, no pacing: the final text only, in process, for each --min-segment")
    ap.add_argument("--min-segment", default=None, metavar="S[,S...]",
                    help="with --cer-only: the StreamOptions.min_segment values to compare (default: the shipped one)")
    ap.add_argument("--out", default=None, help="write every figure and transcript to this JSON file")
    ap.add_argument("serve_args", nargs="*", help="more `paravox serve` arguments (after --)")
    args = ap.parse_args()

    from paravox.streaming import StreamOptions

    items = recordings(args.which, args.limit)
    load = os.getloadavg()
    head = {"date": time.strftime("%Y-%m-%d"), "command": "python benchmarks/stream_latency.py " + " ".join(sys.argv[1:]),
            "set": args.which, "recordings": len(items),
            "audio_seconds": round(sum(len(x) for _, x, _ in items) / 16000, 1)}
    if args.cer_only:
        values = [float(v) for v in args.min_segment.split(",")] if args.min_segment else [StreamOptions.min_segment]
        table = cer_only(items, values)
        print(f"\n{head['recordings']} recordings ({args.which} set), {head['audio_seconds']} s of audio; "
              f"final text of the stream against the offline analysis ({head['date']})\n")
        print("| min_segment (s) | seconds per stretch | CER to offline: mean | median | max | within 0.10 | "
              "CER to truth: stream | offline |")
        print("|---|---|---|---|---|---|---|---|")
        for t in table:
            c, ref = t["cer_to_offline"], t.get("against_reference", {})
            per_piece = head["audio_seconds"] / max(1, sum(r["pieces"] for r in t["recordings"]))
            print(f"| {t['min_segment']:g} | {per_piece:.1f} | {c['mean']} | {c['median']} | {c['max']} | "
                  f"{c['within_0.10']}/{c['n']} | {ref.get('stream', '')} | {ref.get('offline', '')} |")
        if args.out:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps({**head, "table": table}, ensure_ascii=False, indent=1) + "\n",
                                      encoding="utf-8")
        return 0

    import httpx
    from serve_helpers import serve_in_subprocess

    from paravox.testing import wav_bytes

    rows = []
    with tempfile.TemporaryDirectory() as tmp, serve_in_subprocess(*args.serve_args, log=Path(tmp) / "serve.log") as (url, _):
        ws_url = url.replace("http://", "ws://") + "/v1/stream"
        with httpx.Client(base_url=url, timeout=600) as client:
            for name, samples, reference in items:
                offline = client.post("/v1/analyze", files={"file": (f"{name}.wav", wav_bytes(samples), "audio/wav")})
                offline.raise_for_status()
                run = asyncio.run(stream_one(ws_url, samples))
                row = measure(name, samples, run, offline.json()["text"], reference)
                rows.append(row)
                print(f"{name:<45} {row['seconds']:>6.1f} s  first text {row['first_text_latency']}  "
                      f"final {row['final_latency']}  CER {row['cer_to_offline']}", file=sys.stderr)
    firsts = [r["first_text_latency"] for r in rows if r["first_text_latency"] is not None]
    partials = [x for r in rows for x in r["partial_latencies"]]
    finals = [r["final_latency"] for r in rows if r["final_latency"] is not None]
    summary = {
        **head,
        "load_average_before": [round(x, 2) for x in load],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "first_text": {"p50": pct(firsts, 50), "p95": pct(firsts, 95), "max": max(firsts, default=None),
                       "within_3s": sum(x <= 3 for x in firsts), "n": len(firsts)},
        "partial": {"n": len(partials), "p50": pct(partials, 50), "p95": pct(partials, 95)},
        "final": {"p50": pct(finals, 50), "p95": pct(finals, 95), "max": max(finals, default=None),
                  "within_3s": sum(x <= 3 for x in finals), "n": len(finals)},
        **summarise_cer(rows),
        "close_codes": sorted({r["close_code"] for r in rows}),
    }
    f, p, d, c = summary["first_text"], summary["partial"], summary["final"], summary["cer_to_offline"]
    print(f"\n{summary['recordings']} recordings ({args.which} set), {summary['audio_seconds']} s of audio, streamed at "
          f"real-time pace ({summary['date']}; load average before {summary['load_average_before'][0]}, after "
          f"{summary['load_average_after'][0]})\n")
    print("| figure | p50 | p95 | max | target met |")
    print("|---|---|---|---|---|")
    print(f"| first text after the first speech (s) | {f['p50']} | {f['p95']} | {f['max']} | "
          f"{f['within_3s']}/{f['n']} within 3 s |")
    print(f"| partial latency (s), {p['n']} partials | {p['p50']} | {p['p95']} | | |")
    print(f"| done after end (s) | {d['p50']} | {d['p95']} | {d['max']} | {d['within_3s']}/{d['n']} within 3 s |")
    print(f"| text CER to offline analyze | mean {c['mean']} | median {c['median']} | {c['max']} | "
          f"{c['within_0.10']}/{c['n']} within 0.10 |")
    if "against_reference" in summary:
        r = summary["against_reference"]
        print(f"| text CER to the truth ({r['n']} joined monologues) | stream {r['stream']} | offline {r['offline']} | | |")
    print(f"\nclose codes: {summary['close_codes']}")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"summary": summary, "recordings": rows}, ensure_ascii=False, indent=1) + "\n",
                                  encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
