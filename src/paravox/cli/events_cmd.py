"""``paravox events`` and ``paravox classify``: the timed vocal events of recordings, and the
name of one isolated vocalization per input.

Only argparse is imported here; each command imports what it needs.
"""

from __future__ import annotations

import argparse

from paravox.cli.common import add_input_arguments, add_output_arguments, add_threshold_argument

__all__ = ["register"]

EVENTS_FORMATS = ("table", "json", "jsonl", "csv")
CLASSIFY_FORMATS = ("table", "json", "jsonl")

EVENTS_EXAMPLES = """\
examples:
  paravox events clip.wav                            table: tag, start, end, score
  paravox events clip.wav -f json                    {"id", "duration", "events": [{"tag", "start", "end", "score"}]}
  paravox events a.wav b.wav -o events.csv           id,tag,start,end,score (the format from the extension)
  paravox events --manifest list.jsonl -o ev.jsonl   one line per input, as inputs finish
  paravox events talk.wav --tags laugh,cough --threshold 0.6
  paravox events talk.wav --threshold laugh=0.4,cough=0.7 --min-duration 0.2
  paravox events --list-tags                         the tags the model can emit

A failed input is a 'paravox: error:' line on stderr and {"id", "error": {"type", "message"}}
in JSON output; the run goes on and exits with 1. A bad option (a threshold, a tag the model
does not know, a format) exits with 2 before any input is read, with nothing written.
"""

CLASSIFY_EXAMPLES = """\
examples:
  paravox classify burst.wav                         id, label, score, runner-up
  paravox classify burst.wav -f json                 {"id", "label", "score", "scores": {tag: p}}
  paravox classify --manifest list.jsonl -o pred.jsonl     then: paravox eval classify --ref ... --hyp pred.jsonl
  paravox classify burst.wav --tags laugh,cough      answer among these tags only
  paravox classify --list-tags                       the tags it can answer with

A failed input is a 'paravox: error:' line on stderr and {"id", "error": {"type", "message"}}
in JSON output; the run goes on and exits with 1. A bad option exits with 2 before any input
is read, with nothing written.
"""


def _model_opts(p: argparse.ArgumentParser, *, detector: bool) -> None:
    g = p.add_argument_group("model")
    g.add_argument("--model", metavar="DIR", help=(
        "an events model directory from 'paravox train events' (default: the shipped one)" if detector else
        "an events model directory (its isolated/ classifier is used, else its classifier/), or a classifier "
        "directory, e.g. one from 'paravox train isolated' (default: the shipped isolated/)"))
    g.add_argument("--tags", metavar="TAGS", help="only these tags, comma-separated (laugh,cough)")
    if detector:
        add_threshold_argument(g)
        g.add_argument("--min-duration", type=float, metavar="SECONDS", help="drop events shorter than this")
    g.add_argument("--list-tags", action="store_true", help="print the tags the model can emit and exit")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "events",
        help="timed vocal events (laugh, cough, sigh, ...) in recordings",
        description="Find nonverbal vocalizations in recordings: tag, start and end (seconds), score.",
        epilog=EVENTS_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_input_arguments(p)
    _model_opts(p, detector=True)
    add_output_arguments(p, EVENTS_FORMATS, "table", default_help="table on stdout, jsonl in a file, json in a folder")
    p.set_defaults(handler=cmd_events)

    p = sub.add_parser(
        "classify",
        help="name one isolated vocalization per input (laugh, cough, sneeze, ...)",
        description="Classify isolated vocalizations. One result per input: {'id', 'label', 'score', 'scores': {tag: p}}.",
        epilog=CLASSIFY_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_input_arguments(p)
    _model_opts(p, detector=False)
    add_output_arguments(p, CLASSIFY_FORMATS, "table", default_help="table on stdout, jsonl in a file, json in a folder")
    # Before -f existed, --json printed JSON lines; kept working, not shown.
    p.add_argument("--json", dest="format", action="store_const", const="jsonl", help=argparse.SUPPRESS)
    p.set_defaults(handler=cmd_classify)


# ---- events ---------------------------------------------------------------------------------


def _events_table(item, found, fmt: str, several: bool) -> str:
    rows = [e.to_dict() for e in found.events]
    if fmt == "csv":
        return "".join(f"{found.id},{r['tag']},{r['start']:.2f},{r['end']:.2f},{r['score']:.4f}\n" for r in rows)
    lines = [f"# {found.id}\n"] if several else []
    lines.append(f"{'tag':<14}{'start':>8}{'end':>8}{'score':>7}\n")
    lines.extend(f"{r['tag']:<14}{r['start']:>8.2f}{r['end']:>8.2f}{r['score']:>7.2f}\n" for r in rows)
    if not rows:
        lines.append("(no events)\n")
    return "".join(lines)


def cmd_events(args: argparse.Namespace) -> int:
    from paravox import formats
    from paravox.cli.common import Output, Render, pick_format, read_inputs, run_inputs
    from paravox.cli.progress import Progress
    from paravox.errors import OptionError
    from paravox.options import parse_tags, parse_threshold
    from paravox.vocal_events import api
    from paravox.vocal_events.model import load_detector

    if args.list_tags:
        print("\n".join(api.model_tags(args.model)["detector"]))
        return 0
    # Every option is checked, the detector's tags included, before any input is read.
    threshold = parse_threshold(args.threshold, "--threshold")
    tags = parse_tags(args.tags)
    if args.min_duration is not None and args.min_duration < 0:
        raise OptionError(f"--min-duration must be 0 or more seconds, got {args.min_duration}")
    fmt = pick_format(args, EVENTS_FORMATS, "table")
    items = read_inputs(args)
    render = Render(lambda item, found: formats.record(found, key=item.key), _events_table,
                    lambda fmt: "id,tag,start,end,score\n" if fmt == "csv" else "")
    progress = Progress(enabled=not args.quiet)
    output = Output(args.output, fmt, items, render, progress)
    detector = load_detector(api.model_part(args.model, "detector"))
    api.check_tags(tags, detector.tags, "event detector")
    if isinstance(threshold, dict):
        api.check_tags(list(threshold), detector.tags, "event detector")
    api.region_classifier(args.model, detector)  # loads them now: a bad model directory stops the run here
    api.region_gate(args.model, detector)
    api.region_laughter(args.model, detector)
    progress.begin(len(items))
    return run_inputs(
        items,
        lambda item: api.events(item.source, model=args.model, threshold=threshold, tags=tags,
                                min_duration=args.min_duration, name=item.key),
        output, progress,
    )


# ---- classify -------------------------------------------------------------------------------


def _classify_row(item, res, fmt: str, several: bool) -> str:
    second = list(res.scores.items())[1:2]
    runner = f"{second[0][0]} {second[0][1]:.2f}" if second else ""
    return f"{res.id[-31:]:<32}{res.label:<14}{res.score:>6.2f}  {runner}\n"


def cmd_classify(args: argparse.Namespace) -> int:
    from paravox import formats
    from paravox.cli.common import Output, Render, pick_format, read_inputs, run_inputs
    from paravox.cli.progress import Progress
    from paravox.options import parse_tags
    from paravox.vocal_events import api
    from paravox.vocal_events.model import load_classifier

    if args.list_tags:
        print("\n".join(api.classify_tags(args.model)))
        return 0
    tags = parse_tags(args.tags)
    fmt = pick_format(args, CLASSIFY_FORMATS, "table")
    items = read_inputs(args)
    render = Render(lambda item, res: formats.record(res, key=item.key), _classify_row,
                    lambda fmt: f"{'id':<32}{'label':<14}{'score':>6}  runner-up\n" if fmt == "table" else "")
    progress = Progress(enabled=not args.quiet)
    output = Output(args.output, fmt, items, render, progress)
    classifier = load_classifier(api.isolated_classifier_path(args.model))
    api.check_tags(tags, classifier.tags, "classifier")
    classifier.prepare()  # a head on a hub backbone (voc2vec): absent offline is one line, before any input
    progress.begin(len(items))
    return run_inputs(
        items, lambda item: api.classify(item.source, model=args.model, tags=tags, name=item.key), output, progress
    )
