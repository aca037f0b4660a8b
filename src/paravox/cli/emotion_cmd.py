"""``paravox emotion``.

Only argparse is imported here; each handler imports what it needs.
"""

from __future__ import annotations

import argparse
import json
import sys

from paravox.cli.common import add_input_arguments, fail

EXAMPLES = """\
examples:
  paravox emotion call.wav                                  label + scores for the whole file
  paravox emotion call.wav --granularity segment --json     one result per speech segment
  paravox emotion --scp wav.scp --embeddings out/ -o pred.jsonl
  paravox emotion --manifest list.jsonl -o pred.jsonl --model my_model/
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "emotion",
        help="speech emotion per file, per speech segment or at a fixed hop (emotion2vec's nine labels)",
        description="Speech emotion of each input: one line {'id', 'label', 'scores': {label: p}} per input.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_input_arguments(p)
    p.add_argument("--granularity", choices=("utterance", "segment", "frame"), default="utterance",
                   help="utterance: one result per input (default); segment: per speech segment (Silero VAD); "
                   "frame: every --hop seconds")
    p.add_argument("--hop", type=float, default=0.5, help="frame granularity: seconds between scores (default 0.5)")
    p.add_argument("--window", type=float, default=2.0, help="frame granularity: seconds each score looks at (default 2)")
    p.add_argument("--model", metavar="DIR", help="model directory from 'paravox train emotion' (default: the shipped model)")
    p.add_argument("--embeddings", metavar="DIR", help="write each input's feature vector(s) to DIR/<id>.npy")
    p.add_argument("-o", "--output", metavar="JSONL", help="write one JSON line per input to this file (default: stdout)")
    p.add_argument("--json", action="store_true", help="print JSON lines on stdout instead of a short text line per input")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=cmd_emotion)






# ---- handlers ----------------------------------------------------------------------------



def _safe_name(key: str) -> str:
    from paravox.cli.main import _file_name

    return _file_name(key)


def cmd_emotion(args: argparse.Namespace) -> int:
    from pathlib import Path

    import numpy as np

    from paravox.audio import AudioError, load_audio
    from paravox.cli.progress import Progress
    from paravox.formats import error_record
    from paravox.inputs import InputListError, collect
    from paravox.speech_emotion.model import ModelError
    from paravox.speech_emotion.recognizer import EmotionRecognizer

    try:
        items = collect(args.inputs, args.scp, args.manifest)
    except InputListError as exc:
        return fail(str(exc))
    if not items:
        return fail("no input given: name audio files, '-' for stdin, --scp or --manifest (see --help)")
    try:
        rec = EmotionRecognizer(args.model)
    except ModelError as exc:
        return fail(str(exc))
    if args.embeddings:
        names = [_safe_name(i.key) for i in items]
        clash = {n for n in names if names.count(n) > 1}
        if clash:
            return fail(f"several inputs would write {sorted(clash)[0]}.npy in {args.embeddings}; give them distinct ids")
        Path(args.embeddings).mkdir(parents=True, exist_ok=True)
    out = None
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        out = open(args.output, "w", encoding="utf-8")
    progress = Progress(total_items=len(items), enabled=not args.quiet)
    failures = 0
    try:
        for item in items:
            progress.start_item(item.key, item.source)
            try:
                audio = load_audio(item.source, name=None if item.source != "-" else "<stdin>")
                if len(audio.samples) == 0:
                    raise AudioError(audio.source, "empty", "it decodes to 0 samples")
                if args.granularity == "utterance":
                    scored = rec.utterance(audio.samples)
                elif args.granularity == "segment":
                    scored = rec.segments(audio.samples)
                else:
                    scored = rec.frames(audio.samples, hop=args.hop, window=args.window)
            except Exception as exc:  # noqa: BLE001 - one bad input must not stop the run
                failures += 1
                detail = str(exc) if isinstance(exc, AudioError) else f"{item.key}: {type(exc).__name__}: {exc}"
                progress.write(f"paravox: error: {detail}")
                line = json.dumps(error_record(item.key, exc), ensure_ascii=False)
                if out is not None:
                    out.write(line + "\n")
                    out.flush()
                elif args.json:
                    progress.clear()
                    print(line, flush=True)
                continue
            finally:
                progress.end_item()
            line = _line(item.key, rec.labels, scored, args.granularity)
            if args.embeddings:
                feats = scored.feats[0] if args.granularity == "utterance" else scored.feats
                np.save(Path(args.embeddings) / f"{_safe_name(item.key)}.npy", feats)
            if out is not None:
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
                out.flush()
            else:
                progress.clear()
                if args.json:
                    print(json.dumps(line, ensure_ascii=False), flush=True)
                else:
                    print(_text(line), flush=True)
    finally:
        progress.close()
        if out is not None:
            out.close()
    if failures:
        print(f"paravox: {failures} of {len(items)} inputs failed", file=sys.stderr)
        return 1
    return 0


def _line(key: str, labels, scored, granularity: str) -> dict:
    import numpy as np

    def scores(p) -> dict:
        return {l: round(float(v), 4) for l, v in zip(labels, p)}

    probs = np.asarray(scored.probs, dtype=np.float64)
    if granularity == "utterance":
        p = probs[0]
        return {"id": key, "label": labels[int(p.argmax())], "scores": scores(p)}
    w = np.array([max(e - s, 1e-3) for s, e in scored.spans])[:, None]
    line: dict = {"id": key, "label": None, "scores": None}
    if len(probs):
        p = (probs * w).sum(0) / w.sum()
        line.update(label=labels[int(p.argmax())], scores=scores(p))
    line["segments"] = [
        {"start": round(s, 3), "end": round(e, 3), "label": labels[int(row.argmax())], "scores": scores(row)}
        for (s, e), row in zip(scored.spans, probs)
    ]
    return line


def _text(line: dict) -> str:
    if line.get("label") is None:
        return f"{line['id']}\t(no speech found)"
    head = f"{line['id']}\t{line['label']}\t{line['scores'][line['label']]:.2f}"
    segs = line.get("segments")
    if segs is None:
        return head
    rows = [f"  {s['start']:8.2f}-{s['end']:8.2f}  {s['label']:<10} {s['scores'][s['label']]:.2f}" for s in segs]
    return "\n".join([head] + rows)




