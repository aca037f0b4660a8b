"""``paravox eval``: score prediction files with the field's metrics (docs/metrics.md).

::

    paravox eval nvasr    --ref test.jsonl --hyp pred.jsonl [--source mnv17] [--json] [-o report.json]
    paravox eval emotion  --ref labels.jsonl --hyp pred.jsonl [--label-map ravdess|map.json] [--json]
    paravox eval classify --ref labels.jsonl --hyp pred.jsonl [--label-map map.json] [--json]
    paravox eval events   --ref events_ref.jsonl --hyp events_hyp.jsonl [--collar 0.2] [--segment 1.0]

A readable table goes to stdout; ``--json`` prints one JSON object instead and ``-o``
writes that object to a file. A bad input prints one line to stderr and exits with 2.
Only argparse is imported at module level; each command imports what it needs.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, NoReturn

__all__ = ["register", "run_nvasr", "run_emotion", "run_classify", "run_events", "main"]


def _common(p: argparse.ArgumentParser, *, fields: bool = True) -> None:
    p.add_argument("--ref", required=True, metavar="FILE", help="reference JSONL ('-' for stdin)")
    p.add_argument("--hyp", required=True, metavar="FILE", help="hypothesis JSONL")
    p.add_argument(
        "--id-field", metavar="F",
        help="utterance id field of both files (default: first of id, key, utt, utt_id, "
        "filename, audio, audio_path found in every row)",
    )
    if fields:
        p.add_argument("--ref-field", metavar="F", help="reference value field (default: auto)")
        p.add_argument("--hyp-field", metavar="F", help="hypothesis value field (default: auto)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("-o", "--output", metavar="FILE", help="also write the JSON report to FILE")


EMOTION_EPILOG = """\
examples:
  paravox emotion --manifest ravdess/manifest.jsonl -o hyp.jsonl
  paravox eval emotion --ref ravdess/manifest.jsonl --hyp hyp.jsonl --label-map ravdess
  paravox eval emotion --ref ref.jsonl --hyp hyp.jsonl --label-map my_map.json --json
  paravox eval emotion --ref tava/manifest.jsonl --hyp hyp.jsonl --dimensional      CCC, Pearson, MAE
      with my_map.json = {"disgust": "disgusted", "calm": null}   (calm items left out)

built-in label maps (reference label -> emotion2vec label; paravox/data/label_maps/):
  casia    fear -> fearful, surprise -> surprised
  emodb    anger -> angry, boredom -> other, disgust -> disgusted, fear -> fearful,
           happiness -> happy, sadness -> sad
  ravdess  calm -> neutral, disgust -> disgusted
The map renames reference labels only; labels it does not list are kept as written.
Reference labels that no prediction uses and that are not emotion2vec labels are named
in a warning (and in the report's unmapped_labels): each of their items is an error.
"""

CLASSIFY_EPILOG = """\
examples:
  paravox eval classify --ref ref.jsonl --hyp pred.jsonl --label-field tag
  paravox eval classify --ref ref.jsonl --hyp pred.jsonl --label-map aliases.json
      with aliases.json = {"laughter": "laugh", "speech": null}   (speech items left out)
"""

#: The label set the model of each task emits (reference labels outside it and never
#: predicted are reported); ``classify`` has no fixed set.
_MODEL_LABELS = {"emotion": "emotion2vec"}


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``eval`` and its sub-commands; each sets ``handler`` (and ``func``, the same
    function) to its handler, which returns 0 or raises ``SystemExit(2)`` on bad input."""
    parser = subparsers.add_parser(
        "eval",
        help="score predictions (NV-ASR, emotion, classification, events)",
        description="Score prediction files with the field's metrics (see docs/metrics.md).",
    )
    sub = parser.add_subparsers(dest="eval_command", metavar="TASK", required=True)

    p = sub.add_parser(
        "nvasr",
        help="Joint CER, Text CER, NV exact match, tag P/R/F1, position-aware F1, Track1Score",
        description="Score NV-tagged transcripts (MNV-17 metrics, and the NVVSpeech Challenge "
        "Track 1 position-aware scores: F1_micro, mNTD, tag-aware WER/CER, Track1Score). Reads "
        "MNV-17's test.jsonl and its inference script's output without options.",
    )
    _common(p)
    p.add_argument("--source", help="alias table for tag labels in the reference (e.g. mnv17, nvspeech)")
    p.add_argument("--hyp-source", help="alias table for the hypothesis (default: --source)")
    p.add_argument(
        "--language", choices=("auto", "en", "zh"), default="auto",
        help="units of the position-aware scores (NVVSpeech Track 1): en = words (tag within 2), "
        "zh = characters (within 5); auto (default) reads --language-field, else decides from "
        "each reference (Chinese when it holds a Han character)",
    )
    p.add_argument(
        "--language-field", metavar="F",
        help="reference field holding each utterance's language (default: language or lang when "
        "every reference row has it)",
    )
    p.add_argument("--per-utterance", action="store_true", help="include per-utterance scores in the JSON")
    p.set_defaults(handler=run_nvasr, func=run_nvasr)

    for name, helptext, epilog in (
        ("emotion", "speech emotion: WA, UA, macro-F1, weighted F1, confusion matrix", EMOTION_EPILOG),
        ("classify", "NV classification: UAR, macro-F1 (voc2vec protocol), confusion matrix", CLASSIFY_EPILOG),
    ):
        p = sub.add_parser(
            name, help=helptext, description=helptext, epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _common(p)
        p.add_argument(
            "--label-field", metavar="F",
            help="label field of both files (default: auto; ref: label, emotion, class, ...; "
            "hyp: prediction, pred, label, ...)",
        )
        p.add_argument(
            "--label-map", metavar="NAME|FILE",
            help="rename reference labels before scoring: a built-in map (casia, emodb, ravdess: "
            "each corpus' labels to emotion2vec's nine) or a JSON file {\"ref label\": \"model label\", "
            "...}; a null value drops those items (counted in the report); unlisted labels are kept",
        )
        p.add_argument("--labels", metavar="A,B,...", help="class order of the confusion matrix")
        if name == "emotion":
            p.add_argument(
                "--dimensional", nargs="?", const="valence,arousal,dominance", default=None, metavar="A,B,...",
                help="score dimensions instead of labels: CCC, Pearson and MAE per dimension, the reference's "
                "numeric columns against the hypothesis' emotion.dimensions (default names: valence,arousal,dominance)",
            )
        p.add_argument(
            "--average-over", choices=("reference", "union"), default="reference",
            help="classes averaged by macro-F1 (default: reference classes; union = scikit-learn's default)",
        )
        handler = run_emotion if name == "emotion" else run_classify
        p.set_defaults(handler=handler, func=handler)

    p = sub.add_parser(
        "events",
        help="event-based F1 (onset collar) and segment-based F1",
        description="Score timed events. JSONL rows {id, events: [{tag|label, start, end}]} "
        "or DCASE .tsv files (filename onset offset event_label).",
    )
    _common(p, fields=False)
    p.add_argument("--events-field", metavar="F", help="events field (default: events)")
    p.add_argument("--collar", type=float, default=0.2, help="onset collar in seconds (default 0.2)")
    p.add_argument("--segment", type=float, default=1.0, help="segment length in seconds (default 1.0)")
    p.add_argument(
        "--evaluate-offset", action="store_true",
        help="also require offsets within max(collar, offset-fraction x reference length)",
    )
    p.add_argument("--offset-fraction", type=float, default=0.2, help="default 0.2")
    p.add_argument("--source", help="alias table for event labels")
    p.add_argument(
        "--no-canonical", action="store_true",
        help="compare labels as written (default: map NV labels to canonical tags)",
    )
    p.set_defaults(handler=run_events, func=run_events)
    return parser


def _fail(command: str, exc: BaseException) -> NoReturn:
    print(f"paravox eval {command}: error: {exc}", file=sys.stderr)
    raise SystemExit(2)


def _emit(args: argparse.Namespace, report: dict[str, Any], table: str) -> None:
    text = json.dumps(report, ensure_ascii=False, indent=2, allow_nan=False)
    if args.output == "-":
        print(text)
        return
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as f:
                f.write(text + "\n")
        except OSError as exc:
            _fail(args.eval_command, exc)
    print(text if args.json else table)


def run_nvasr(args: argparse.Namespace) -> int:
    try:
        from paravox.evaluation.io import load_text_pairs_with_languages
        from paravox.evaluation.nvasr import evaluate_nvasr

        refs, hyps, languages = load_text_pairs_with_languages(
            args.ref, args.hyp, id_field=args.id_field, ref_field=args.ref_field,
            hyp_field=args.hyp_field, language_field=args.language_field,
        )
        if args.language != "auto":
            languages = args.language
        report = evaluate_nvasr(
            refs, hyps, source=args.source, hyp_source=args.hyp_source, languages=languages
        )
    except (ValueError, OSError) as exc:
        _fail("nvasr", exc)
    _emit(args, report.to_dict(per_utterance=args.per_utterance), report.format_table())
    return 0


def _run_labels(args: argparse.Namespace, title: str) -> int:
    command = args.eval_command
    try:
        from paravox.evaluation.classification import classification_report
        from paravox.evaluation.io import load_label_pairs
        from paravox.evaluation.label_maps import apply_label_map, load_label_map

        # the map is checked before any input is read
        label_map = load_label_map(args.label_map) if args.label_map is not None else None
        refs, hyps = load_label_pairs(
            args.ref, args.hyp, id_field=args.id_field,
            ref_field=args.ref_field or args.label_field,
            hyp_field=args.hyp_field or args.label_field,
        )
        known: tuple[str, ...] = ()
        if command == "emotion":
            from paravox.speech_emotion.model import EMOTION2VEC_LABELS

            known = EMOTION2VEC_LABELS
        refs, hyps, mapping = apply_label_map(refs, hyps, label_map, known_labels=known)
        labels = [x.strip() for x in args.labels.split(",")] if args.labels else None
        report = classification_report(refs, hyps, labels=labels, average_over=args.average_over)
    except (ValueError, OSError) as exc:
        _fail(command, exc)
    model = _MODEL_LABELS.get(command)
    warning = mapping.warning(model, list_builtin=model is not None)
    if warning:
        print(f"paravox eval {command}: warning: {warning}", file=sys.stderr)
    head, _, rest = report.format_table(title).partition("\n")
    table = "\n".join([head, *mapping.table_lines(), rest])
    _emit(args, {**report.to_dict(), **mapping.to_dict()}, table)
    return 0


def run_emotion(args: argparse.Namespace) -> int:
    if getattr(args, "dimensional", None):
        return _run_dimensions(args)
    return _run_labels(args, "Emotion recognition")


def _run_dimensions(args: argparse.Namespace) -> int:
    try:
        from paravox.evaluation.dimensions import evaluate_dimensions, load_dimension_pairs

        names = [x.strip() for x in args.dimensional.split(",") if x.strip()]
        if not names:
            raise ValueError("--dimensional needs at least one column name")
        refs, hyps = load_dimension_pairs(args.ref, args.hyp, names, id_field=args.id_field)
        report = evaluate_dimensions(refs, hyps, names)
    except (ValueError, OSError) as exc:
        _fail("emotion", exc)
    _emit(args, report.to_dict(), report.format_table())
    return 0


def run_classify(args: argparse.Namespace) -> int:
    return _run_labels(args, "Classification")


def run_events(args: argparse.Namespace) -> int:
    try:
        from paravox.evaluation.events import evaluate_events
        from paravox.evaluation.io import load_event_pairs

        refs, hyps = load_event_pairs(
            args.ref, args.hyp, id_field=args.id_field, events_field=args.events_field
        )
        report = evaluate_events(
            refs, hyps, collar=args.collar, segment=args.segment,
            evaluate_offset=args.evaluate_offset, offset_fraction=args.offset_fraction,
            canonicalize=not args.no_canonical, source=args.source,
        )
    except (ValueError, OSError) as exc:
        _fail("events", exc)
    _emit(args, report.to_dict(), report.format_table())
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``eval`` on its own: ``python -m paravox.cli.eval_cmd nvasr --ref ... --hyp ...``."""
    parser = argparse.ArgumentParser(prog="paravox")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["eval", *(sys.argv[1:] if argv is None else argv)])
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
