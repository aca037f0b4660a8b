"""``paravox events`` and ``paravox classify``.

::

    paravox events clip.wav                       table: tag, start, end, score
    paravox events clip.wav -f json | -f csv | -f jsonl
    paravox classify burst.wav                    one isolated vocalization -> tag + scores
    paravox classify --manifest list.jsonl -o pred.jsonl
    paravox train events --manifest clips.jsonl --speech speech.jsonl -o my_model/
    paravox train isolated --data clips/ -o my_classifier/     the classifier 'paravox classify' uses
    paravox bench classify --data ../shared/data/nonverbal/deeply
    paravox bench nvasr --data ../shared/data/nvasr/dev

Only argparse is imported here; each command imports what it needs.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable, Iterable

from paravox.cli.common import UsageError, guard

__all__ = ["register"]



def _inputs(p: argparse.ArgumentParser) -> None:
    from paravox.cli.common import add_input_arguments  # the same input flags as analyze/transcribe

    add_input_arguments(p)


def _model_opts(p: argparse.ArgumentParser, *, detector: bool) -> None:
    g = p.add_argument_group("model")
    g.add_argument("--model", metavar="DIR", help=(
        "an events model directory from 'paravox train events' (default: the shipped one)" if detector else
        "an events model directory (its isolated/ classifier is used, else its classifier/), or a classifier "
        "directory, e.g. one from 'paravox train isolated' (default: the shipped isolated/)"))
    g.add_argument("--tags", metavar="TAGS", help="only these tags, comma-separated (laugh,cough)")
    if detector:
        g.add_argument(
            "--threshold", metavar="T",
            help="one number: how sure the detector must be that a vocalization is there, for every tag (default 0.3); or per tag (laugh=0.4,cough=0.7): the lowest event score kept for those tags",
        )
        g.add_argument("--min-duration", type=float, metavar="SECONDS", help="drop events shorter than this")
    g.add_argument("--list-tags", action="store_true", help="print the tags the model can emit and exit")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "events",
        help="timed vocal events (laugh, cough, sigh, ...) in recordings",
        description="Find nonverbal vocalizations in recordings: tag, start and end (seconds), score.",
        epilog="examples:\n  paravox events clip.wav\n  paravox events a.wav b.wav -f csv -o events.csv\n"
        "  paravox events talk.wav --tags laugh,cough --threshold 0.6",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _inputs(p)
    _model_opts(p, detector=True)
    p.add_argument("-f", "--format", choices=("table", "json", "jsonl", "csv"), default="table", help="output format (default: table)")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout (atomically)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=guard(cmd_events))

    p = sub.add_parser(
        "classify",
        help="name one isolated vocalization per input (laugh, cough, sneeze, ...)",
        description="Classify isolated vocalizations. One result per input: {'id', 'label', 'score', 'scores': {tag: p}}.",
        epilog="examples:\n  paravox classify burst.wav\n  paravox classify --manifest list.jsonl -o pred.jsonl",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _inputs(p)
    _model_opts(p, detector=False)
    p.add_argument("-o", "--output", metavar="JSONL", help="write one JSON line per input here (failures as {'id', 'error'})")
    p.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=guard(cmd_classify))










# ---- helpers --------------------------------------------------------------------------------



def _items(args: argparse.Namespace):
    from paravox.inputs import InputListError, collect

    try:
        items = collect(args.inputs, args.scp, args.manifest)
    except InputListError as exc:
        raise UsageError(str(exc)) from None
    if not items and not getattr(args, "list_tags", False):
        raise UsageError("no input given: name audio files, '-' for stdin, --scp or --manifest (see --help)")
    return items


def _bar(total: int, quiet: bool, unit: str = "file"):
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, file=sys.stderr, disable=quiet or total < 2 or not sys.stderr.isatty())


def _each(items, quiet: bool, work: Callable[[Any], Any]) -> Iterable[tuple[Any, Any, Exception | None]]:
    """Run ``work`` per item; an AudioError or similar is yielded, not raised (the run goes on)."""
    from paravox.audio import AudioError

    with _bar(len(items), quiet) as bar:
        for item in items:
            try:
                yield item, work(item), None
            except (AudioError, OSError) as exc:
                yield item, None, exc
            bar.update(1)


def _tags(args: argparse.Namespace) -> list[str] | None:
    return [t.strip() for t in args.tags.split(",") if t.strip()] if getattr(args, "tags", None) else None


def _write(path: str | None, text: str) -> None:
    if path:
        from paravox.formats import write_atomic

        write_atomic(path, text)
    else:
        sys.stdout.write(text)


# ---- commands ---------------------------------------------------------------------------------


def cmd_events(args: argparse.Namespace) -> int:
    from paravox.vocal_events import api

    if args.list_tags:
        print("\n".join(api.model_tags(args.model)["detector"]))
        return 0
    items = _items(args)
    threshold = api.parse_threshold(args.threshold)
    tags = _tags(args)
    out: list[str] = []
    failures = 0
    if args.format == "csv":
        out.append("id,tag,start,end,score\n")
    for item, found, exc in _each(
        items, args.quiet,
        lambda it: api.events(it.source, model=args.model, threshold=threshold, tags=tags, min_duration=args.min_duration, name=it.key),
    ):
        if exc is not None:
            failures += 1
            print(f"paravox: error: {exc}", file=sys.stderr)
            if args.format in ("jsonl", "json"):
                from paravox.formats import error_record

                out.append(json.dumps(error_record(item.key, exc), ensure_ascii=False) + "\n")
            continue
        rows = [e.to_dict() for e in found]
        if args.format == "table":
            if len(items) > 1:
                out.append(f"# {item.key}\n")
            out.append(f"{'tag':<14}{'start':>8}{'end':>8}{'score':>7}\n")
            out.extend(f"{r['tag']:<14}{r['start']:>8.2f}{r['end']:>8.2f}{r['score']:>7.2f}\n" for r in rows)
            if not rows:
                out.append("(no events)\n")
        elif args.format == "csv":
            out.extend(f"{item.key},{r['tag']},{r['start']:.2f},{r['end']:.2f},{r['score']:.4f}\n" for r in rows)
        else:
            indent = 2 if args.format == "json" and len(items) == 1 else None
            out.append(json.dumps({"id": item.key, "events": rows}, ensure_ascii=False, indent=indent) + "\n")
    _write(args.output, "".join(out))
    if failures:
        print(f"paravox: {failures} of {len(items)} inputs failed", file=sys.stderr)
        return 1
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    from paravox.formats import error_record
    from paravox.vocal_events import api

    if args.list_tags:
        print("\n".join(api.classify_tags(args.model)))
        return 0
    items = _items(args)
    tags = _tags(args)
    lines: list[str] = []
    failures = 0
    as_json = args.json or bool(args.output)
    if not as_json:
        lines.append(f"{'id':<32}{'label':<14}{'score':>6}  runner-up\n")
    for item, res, exc in _each(items, args.quiet, lambda it: api.classify(it.source, model=args.model, tags=tags, name=it.key)):
        if exc is not None:
            failures += 1
            print(f"paravox: error: {exc}", file=sys.stderr)
            if as_json:
                lines.append(json.dumps(error_record(item.key, exc), ensure_ascii=False) + "\n")
            continue
        record = {"id": item.key, "label": res["label"], "score": round(res["score"], 4),
                  "scores": {k: round(v, 4) for k, v in res["scores"].items()}}
        if as_json:
            lines.append(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            second = list(res["scores"].items())[1:2]
            runner = f"{second[0][0]} {second[0][1]:.2f}" if second else ""
            lines.append(f"{item.key[-31:]:<32}{res['label']:<14}{res['score']:>6.2f}  {runner}\n")
    _write(args.output, "".join(lines))
    if failures:
        print(f"paravox: {failures} of {len(items)} inputs failed", file=sys.stderr)
        return 1
    return 0










