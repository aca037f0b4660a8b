"""``paravox events``, ``paravox classify``, ``paravox train events|isolated``, ``paravox bench classify|nvasr``.

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
from pathlib import Path
from typing import Any, Callable, Iterable

from paravox.training.augment import COPIES

#: the classifier's framings, as :data:`paravox.vocal_events.features.FRAMINGS` names them (a
#: copy, so that ``--help`` needs no NumPy; a test keeps the two equal)
FRAMINGS = ("short", "padded", "padded_fast")

__all__ = ["register", "register_train", "register_bench"]


class _Fail(Exception):
    """A problem with how the command was called: one line on stderr, exit code 2."""


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
    p.set_defaults(handler=_guard(cmd_events))

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
    p.set_defaults(handler=_guard(cmd_classify))


def register_train(tsub: argparse._SubParsersAction) -> None:
    p = tsub.add_parser(
        "events",
        help="train the vocalization classifier and event detector on your clips",
        description=(
            "Train an events model directory (classifier/ and detector/) that --model DIR loads.\n\n"
            "--manifest: isolated vocalization clips, JSONL with 'audio' and 'label' (any label set; "
            "canonical tags such as laugh or cough are recommended), optional 'speaker' for a "
            "speaker-independent validation split. --speech: speech recordings (JSONL with 'audio') "
            "that the detector's training mixtures place the clips between and over; without it only "
            "the classifier is trained.\n\n"
            "--data: the paravox data pack (../shared/data) — reproduces the shipped models."
        ),
        epilog="examples:\n  paravox train events --manifest clips.jsonl --speech speech.jsonl -o my_model/\n"
        "  paravox train events --data ../shared/data -o src/paravox/vocal_events/weights",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--manifest", metavar="JSONL", help="labelled vocalization clips")
    src.add_argument("--data", metavar="DIR", help="the data pack folder (../shared/data)")
    p.add_argument("--speech", metavar="JSONL", help="speech recordings for the detector's mixtures")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="model directory to write")
    p.add_argument("--mixtures", type=int, default=1200, help="training mixtures for the detector (default 1200)")
    p.add_argument("--epochs", type=int, default=25, help="detector training epochs (default 25)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0); same seed, same model")
    p.add_argument("--classifier-augment", nargs="+", metavar="KIND", default=None,
                   choices=("none", *COPIES),
                   help="with --data: copies of the classifier's training clips it also trains on, "
                        "e.g. speed90 speed110 (default: none)")
    p.add_argument("--keep-detector", metavar="DIR",
                   help="with --data: reuse this model directory's detector instead of training one "
                        "(retrains the classifier alone, in minutes)")
    p.add_argument("--classifier-context", type=int, default=0, metavar="N",
                   help="with --data: also train the classifier on the events of N mixtures, cut as the detector's "
                        "regions are, and on stretches of their speech as a reject class (no event) (default: 0, off)")
    p.add_argument("--classifier-framing", choices=FRAMINGS, default="short",
                   help="how the classifier encodes a clip: short = as it is (default, the shipped model); padded = "
                        "inside a zero-padded 30-s window, as transcription does: higher UAR on isolated Deeply clips, "
                        "about 11-16 times the encoder time per clip and per event region; padded_fast = padded "
                        "approximated (the clip also attends to a cached silent window) at about 1.4 times the short cost")
    p.add_argument("--keep-classifier", metavar="DIR",
                   help="with --data: reuse this model directory's classifier (trains the detector alone)")
    p.add_argument("--mixture-channels", action="store_true",
                   help="with --data: give every clip in the detector's training mixtures a random "
                        "channel of its own (equaliser, room), so that it learns the sound, not the microphone")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(handler=_guard(cmd_train))

    p = tsub.add_parser(
        "isolated",
        help="train the classifier 'paravox classify' uses, on isolated clips alone",
        description=(
            "Train a classifier of isolated vocalizations (a model directory that 'paravox classify --model DIR' "
            "loads; the shipped one is the events model's isolated/ folder).\n\n"
            "--data: a folder with manifest.jsonl (one JSON line per clip: 'audio', 'tag' or 'label', 'speaker'). "
            "The recipe (augmented copies, MLPs averaged) is chosen among the ones given by speaker-grouped 3-fold "
            "cross-validation over all its speakers, then fitted on every clip. Run 'paravox bench classify' with "
            "the same options and -o first, and pass its JSON as --bench-report: the model card then carries the "
            "recipe's figures on speakers never trained on."
        ),
        epilog="example (the shipped isolated/ recipe; its MODEL_CARD.md gives the exact commands):\n"
        "  paravox bench classify --data ../shared/data/nonverbal/deeply --framing padded_fast \\\n"
        "      --select-augment none speed90+speed110 --members 1 5 --jobs 2 -o bench.json\n"
        "  paravox train isolated --data ../shared/data/nonverbal/deeply --framing padded_fast \\\n"
        "      --select-augment none speed90+speed110 --members 1 5 --bench-report bench.json -o my_classifier/\n"
        "  paravox classify burst.wav --model my_classifier/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", required=True, metavar="DIR", help="folder with manifest.jsonl (audio, tag or label, speaker)")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="model directory to write")
    _recipe_opts(p, default_framing="padded_fast", framing_note="padded_fast = the shipped isolated/ classifier")
    p.add_argument("--bench-report", metavar="JSON",
                   help="'paravox bench classify -o' JSON of this very recipe: its held-out figures go into the model card")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0); same seed, same model")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(handler=_guard(cmd_train_isolated))


def _recipe_opts(p: argparse.ArgumentParser, *, default_framing: str, framing_note: str) -> None:
    """The options that make a classifier recipe (shared by 'bench classify' and 'train isolated')."""
    p.add_argument("--augment", nargs="+", default=None, metavar="KIND", choices=("none", *COPIES),
                   help="also train on copies of each training clip so augmented, e.g. speed90 speed110 "
                        "(default: none); test clips stay as recorded")
    p.add_argument("--select-augment", nargs="*", default=None, metavar="SET",
                   help="instead, choose the augmentation by speaker-grouped CV inside the training part, among the "
                        "SETs given (each 'none' or kinds joined by '+', e.g. none speed90+speed110); no SET: none; "
                        "speed90+speed110; those + noise")
    p.add_argument("--members", nargs="+", type=int, default=[1], metavar="N",
                   help="average N MLPs trained with seeds seed..seed+N-1 (default 1); several values: chosen by the "
                        "same inner CV, jointly with the augmentation")
    p.add_argument("--framing", choices=FRAMINGS, default=default_framing,
                   help=f"how each clip is encoded (default {default_framing}): short = as it is (cost follows the "
                        "clip's length); padded = inside a zero-padded 30-s window as in transcription (0.5-0.75 s a "
                        f"clip here); padded_fast = padded approximated at about 1.4 times the short cost. {framing_note}")


def _recipe_args(args: argparse.Namespace) -> tuple[bool | list[list[str]], list[int]]:
    """(``select_augment`` for the library: False, True or the sets; members), checked."""
    if args.select_augment is not None and args.augment is not None:
        raise _Fail("--augment fixes the augmentation and --select-augment chooses it; give one")
    if any(m < 1 for m in args.members):
        raise _Fail(f"--members {' '.join(map(str, args.members))}: give whole numbers of 1 or more")
    select: bool | list[list[str]] = False
    if args.select_augment is not None:
        select = [_augment_set(text) for text in args.select_augment] or True
    return select, args.members


def register_bench(bsub: argparse._SubParsersAction) -> None:
    p = bsub.add_parser(
        "classify",
        help="vocalization classifier per fold (voc2vec protocol: UAR, macro-F1)",
        description="Train the classifier on each fold's training part, score its test part; UAR and macro-F1 per fold and class.",
        epilog="example:\n  paravox bench classify --data ../shared/data/nonverbal/deeply -o bench.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", required=True, metavar="DIR", help="folder with manifest.jsonl (audio, tag or label, speaker) and folds.json")
    p.add_argument("--folds", metavar="JSON", help="folds file (default: DIR/folds.json)")
    p.add_argument("--extra", metavar="JSONL", action="append", default=[], help="more training clips (never tested on), e.g. EmoGator")
    _recipe_opts(p, default_framing="short", framing_note="short = the events model's classifier")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="train N folds side by side (one process and one core each; default 1; same results)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0); same seed, same figures")
    p.add_argument("-o", "--output", metavar="JSON", help="write the results as JSON")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(handler=_guard(cmd_bench_classify))

    p = bsub.add_parser(
        "nvasr",
        help="tagged transcripts on an NV-ASR set: Joint CER, text CER, NV exact match, tag F1",
        description="Transcribe every clip of an NV-tagged set with events inline and score it (MNV-17 metrics); "
        "synthetic clips are reported apart.",
        epilog="example:\n  paravox bench nvasr --data ../shared/data/nvasr/dev -o nvasr.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", required=True, metavar="DIR", help="folder with manifest.jsonl (audio, text, synthetic)")
    p.add_argument("--events", default="paravox-events", help="event backend ('none' for plain transcripts)")
    p.add_argument("--events-model", metavar="DIR", help="events model directory")
    p.add_argument("--language", help="force the language (default: detect)")
    p.add_argument("--hyp-output", metavar="JSONL", help="also write the hypotheses ({'id', 'text'}) here")
    p.add_argument("-o", "--output", metavar="JSON", help="write the results as JSON")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(handler=_guard(cmd_bench_nvasr))


# ---- helpers --------------------------------------------------------------------------------


def _guard(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from paravox.vocal_events.model import ModelError

        try:
            return fn(args)
        except (_Fail, ModelError, ValueError) as exc:
            print(f"paravox: error: {exc}", file=sys.stderr)
            return 2

    return run


def _items(args: argparse.Namespace):
    from paravox.inputs import InputListError, collect

    try:
        items = collect(args.inputs, args.scp, args.manifest)
    except InputListError as exc:
        raise _Fail(str(exc)) from None
    if not items and not getattr(args, "list_tags", False):
        raise _Fail("no input given: name audio files, '-' for stdin, --scp or --manifest (see --help)")
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


def cmd_train(args: argparse.Namespace) -> int:
    try:
        from paravox.training import vocal_events as train
    except ImportError as exc:
        raise _Fail(f"{exc}") from None
    log = (lambda m: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    if args.classifier_context < 0:
        raise _Fail(f"--classifier-context {args.classifier_context}: give a number of mixtures, 0 or more")
    if args.data:
        for flag, kept, part in (("--keep-detector", args.keep_detector, "detector"),
                                 ("--keep-classifier", args.keep_classifier, "classifier")):
            if kept and not (Path(kept) / part).is_dir():
                raise _Fail(f"{flag} {kept}: no {part}/ folder there; name an events model directory")
        if args.keep_detector and args.keep_classifier:
            raise _Fail("--keep-detector and --keep-classifier together would train nothing; give one")
        if args.keep_classifier and (args.classifier_augment or args.classifier_context or args.classifier_framing != "short"):
            raise _Fail("--classifier-augment, --classifier-context and --classifier-framing shape the classifier, which "
                        "--keep-classifier keeps as it is; drop one or the other")
        if args.keep_detector and args.mixture_channels:
            raise _Fail("--mixture-channels shapes the detector's mixtures, which --keep-detector keeps "
                        "as it is; drop one or the other")
        aug = train.CLASSIFIER_AUGMENT if args.classifier_augment is None else [a for a in args.classifier_augment if a != "none"]
        report = train.train_default(args.data, args.output, n_train=args.mixtures, seed=args.seed, epochs=args.epochs,
                                     classifier_augment=aug, keep_detector=args.keep_detector,
                                     keep_classifier=args.keep_classifier, mixture_channels=args.mixture_channels,
                                     classifier_context=args.classifier_context,
                                     classifier_framing=args.classifier_framing, quiet=args.quiet, log=log)
    else:
        if args.classifier_augment or args.keep_detector or args.keep_classifier or args.mixture_channels or args.classifier_context:
            raise _Fail("--classifier-augment, --classifier-context, --keep-detector, --keep-classifier and "
                        "--mixture-channels go with --data (the shipped recipe), not --manifest")
        report = train.train_user(args.manifest, args.speech, args.output, n_train=args.mixtures, seed=args.seed, epochs=args.epochs,
                                  classifier_framing=args.classifier_framing, quiet=args.quiet, log=log)
    print(json.dumps(report, indent=2))
    return 0


def cmd_train_isolated(args: argparse.Namespace) -> int:
    try:
        from paravox.training import isolated
    except ImportError as exc:
        raise _Fail(f"{exc}") from None
    select, members = _recipe_args(args)
    sets = isolated.augment_sets(select, args.augment or [])
    log = (lambda m: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    report = isolated.train_isolated(args.data, args.output, augment_sets=sets, members=members, framing=args.framing,
                                     seed=args.seed, bench_report=args.bench_report, quiet=args.quiet, log=log)
    print(json.dumps(report, indent=2))
    return 0


def cmd_bench_classify(args: argparse.Namespace) -> int:
    from paravox.bench import vocal_events as bench

    select, members = _recipe_args(args)
    if args.jobs < 1:
        raise _Fail(f"--jobs {args.jobs}: give 1 or more")
    result = bench.bench_classify(args.data, folds=args.folds, extra=args.extra, augment=args.augment,
                                  select_augment=select, framing=args.framing, members=members,
                                  seed=args.seed, jobs=args.jobs, quiet=args.quiet)
    print(result["markdown"])
    if args.output:
        from paravox.formats import write_atomic

        write_atomic(args.output, json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return 0


def _augment_set(text: str) -> list[str]:
    """``"speed90+speed110"`` -> ``["speed90", "speed110"]``; ``"none"`` -> ``[]``."""
    kinds = [k.strip() for k in text.split("+") if k.strip() and k.strip() != "none"]
    unknown = [k for k in kinds if k not in COPIES]
    if unknown:
        raise _Fail(f"--select-augment {text}: unknown kind {', '.join(unknown)}; known: none, {', '.join(COPIES)}")
    return kinds


def cmd_bench_nvasr(args: argparse.Namespace) -> int:
    from paravox.bench import vocal_events as bench

    result = bench.bench_nvasr(
        args.data, events=args.events, events_model=args.events_model, language=args.language,
        hyp_output=args.hyp_output, quiet=args.quiet,
    )
    print(result["markdown"])
    if args.output:
        from paravox.formats import write_atomic

        write_atomic(args.output, json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return 0
