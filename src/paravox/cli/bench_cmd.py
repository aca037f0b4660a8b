"""``paravox bench classify|nvasr|emotion``: fold benchmarks that print a markdown table and write JSON.

Only argparse is imported here; each command imports what it needs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from paravox.cli.common import UsageError, fail, guard
from paravox.cli.train_cmd import _negative_opts, _negative_spec, _recipe_args, _recipe_opts
from paravox.training.augment import COPIES


def register_bench(bsub: argparse._SubParsersAction) -> None:
    """``paravox bench classify|nvasr|emotion``."""
    register_events(bsub)
    register_emotion(bsub)


def register_events(bsub: argparse._SubParsersAction) -> None:
    p = bsub.add_parser(
        "classify",
        help="vocalization classifier per fold (voc2vec protocol: UAR, macro-F1)",
        description="Train the classifier on each fold's training part, score its test part; UAR and macro-F1 per fold and class. "
        "With --negatives it also learns 'none' (no vocalization): each negative gets a fold by its speaker, and the report "
        "adds the share of negatives called none and how many vocalizations were called none.",
        epilog="examples:\n  paravox bench classify --data ../shared/data/nonverbal/deeply -o bench.json\n"
        "  paravox bench classify --data held_out/ --backends paravox,voc2vec --backend-model voc2vec=my_head/ -o side.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", required=True, metavar="DIR", help="folder with manifest.jsonl (audio, tag or label, speaker) and folds.json")
    p.add_argument("--folds", metavar="JSON", help="folds file (default: DIR/folds.json)")
    p.add_argument("--extra", metavar="JSONL", action="append", default=[], help="more training clips (never tested on), e.g. EmoGator")
    _recipe_opts(p, default_framing="short", framing_note="short = the events model's classifier")
    _negative_opts(p)
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="train N folds side by side (one process and one core each; default 1; same results)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0); same seed, same figures")
    _backends_opts(p, "classify", "paravox,voc2vec", "the fold options are not used: each backend classifies every clip "
                   "of --data as it is (clips none of them was trained on)")
    p.add_argument("-o", "--output", metavar="JSON", help="write the results as JSON")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(handler=guard(cmd_bench_classify))

    p = bsub.add_parser(
        "nvasr",
        help="tagged transcripts on an NV-ASR set: Joint CER, text CER, NV exact match, tag F1",
        description="Transcribe every clip of one or more NV-tagged sets with events inline and score them: MNV-17 "
        "metrics and NVVSpeech Track 1 (position-aware F1, mNTD, Track1Score), per group (real, synthetic), per source, "
        "and the mean and spread over the real sources (docs/vocal-events-protocol.md).",
        epilog="examples:\n  paravox bench nvasr --data ../shared/data/nvasr/dev ../shared/data/nvasr/tts-demos -o nvasr.json\n"
        "  paravox bench nvasr --data ../shared/data/nvasr/dev --backends paravox,sensevoice-small,qwen2.5-omni-mnv17 "
        "-o side.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", required=True, nargs="+", action="extend", metavar="DIR",
                   help="one or more folders with manifest.jsonl (audio, text; synthetic, source, language optional); "
                        "each source is scored on its own, with the mean and spread over the real ones")
    p.add_argument("--asr", default="whisper-base",
                   help="speech recogniser backend, e.g. a hub model (sensevoice-small, qwen2.5-omni-mnv17; docs/backends.md)")
    p.add_argument("--events", default="paravox-events", help="event backend ('none' for plain transcripts)")
    p.add_argument("--filler-words", action="store_true", help="um, 嗯 as [uhm] events (as 'paravox analyze --filler-words')")
    p.add_argument("--sound-words", action="store_true",
                   help="Whisper's sound descriptions, (laughs) or *cough*, as events (as 'paravox analyze --sound-words')")
    p.add_argument("--keep-laugh-words", action="store_true", help="leave spelled-out laughter as text")
    p.add_argument("--events-model", metavar="DIR", help="events model directory")
    p.add_argument("--language", help="force the language (default: detect)")
    p.add_argument("--hyp-output", metavar="JSONL", help="also write the hypotheses ({'id', 'text'}) here")
    _backends_opts(p, "asr", "paravox,sensevoice-small,qwen2.5-omni-mnv17",
                   "--asr is then not used; recognisers that write no tags run with --events")
    p.add_argument("--threads", type=int, default=0, help="--backends: CPU threads per backend (default: the runtime's)")
    p.add_argument("--device", choices=("cpu", "cuda", "auto"), default=None,
                   help="--backends: where Whisper-family recognisers run (the audio LLMs take a GPU when there is one)")
    p.add_argument("-o", "--output", metavar="JSON", help="write the results as JSON")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(handler=guard(cmd_bench_nvasr))


def _backends_opts(p: argparse.ArgumentParser, kind: str, example: str, note: str) -> None:
    g = p.add_argument_group("backends side by side")
    g.add_argument("--backends", metavar="A,B,...",
                   help=f"run each of these {kind} backends on the same clips, each in a process of its own, and print "
                   f"one table: the figures, RTF and peak memory per backend ('paravox' is the offline default), e.g. "
                   f"{example}; a backend that cannot run gets a row saying why and the exit status is 1; {note}")
    g.add_argument("--backend-model", action="append", default=[], metavar="NAME=DIR",
                   help="--backends: the model directory NAME is built with (its --model / --asr-model); repeatable")


def _side_by_side(args: argparse.Namespace) -> tuple[list[str], dict[str, str], object]:
    """The --backends names and --backend-model directories, checked before anything runs."""
    from paravox.bench.side_by_side import check_backends

    try:
        names = check_backends(args.bench_task, args.backends.split(","))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    models = {}
    for item in args.backend_model:
        name, sep, folder = item.partition("=")
        if not sep or not folder:
            raise UsageError(f"--backend-model {item}: write NAME=DIR")
        if name not in names:
            raise UsageError(f"--backend-model {item}: {name} is not among --backends")
        models[name] = folder
    log = None if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    return names, models, log


def _print_side_by_side(args: argparse.Namespace, result: dict) -> int:
    print(result["markdown"])
    if args.output:
        from paravox.formats import write_atomic

        write_atomic(args.output, json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    if result["failed"]:
        print(f"paravox: error: not run: {', '.join(result['failed'])} (the table says why)", file=sys.stderr)
        return 1
    return 0


def cmd_bench_classify(args: argparse.Namespace) -> int:
    from paravox.bench import vocal_events as bench

    if args.backends:
        from paravox.bench.side_by_side import compare_classify

        args.bench_task = "classify"
        names, models, log = _side_by_side(args)
        return _print_side_by_side(args, compare_classify(args.data, names, models=models, quiet=args.quiet, log=log))

    select, members = _recipe_args(args)
    negatives = _negative_spec(args)
    if args.jobs < 1:
        raise UsageError(f"--jobs {args.jobs}: give 1 or more")
    result = bench.bench_classify(args.data, folds=args.folds, extra=args.extra, augment=args.augment,
                                  select_augment=select, framing=args.framing, members=members,
                                  seed=args.seed, jobs=args.jobs, negatives=negatives, quiet=args.quiet)
    print(result["markdown"])
    if args.output:
        from paravox.formats import write_atomic

        write_atomic(args.output, json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return 0


def cmd_bench_nvasr(args: argparse.Namespace) -> int:
    from paravox.bench import vocal_events as bench

    if args.backends:
        from paravox.bench.side_by_side import compare_nvasr

        if args.sound_words:
            raise UsageError("--sound-words is for paravox's own recogniser; run it without --backend")
        args.bench_task = "nvasr"
        names, models, log = _side_by_side(args)
        return _print_side_by_side(args, compare_nvasr(
            args.data, names, events=None if args.events == "none" else args.events, events_model=args.events_model,
            language=args.language, filler_words=args.filler_words, laugh_words=not args.keep_laugh_words,
            models=models, threads=args.threads, device=args.device, quiet=args.quiet, log=log))

    result = bench.bench_nvasr(
        args.data, asr=args.asr, events=None if args.events == "none" else args.events, events_model=args.events_model,
        language=args.language, filler_words=args.filler_words, laugh_words=not args.keep_laugh_words,
        sound_words=args.sound_words, hyp_output=args.hyp_output, quiet=args.quiet,
    )
    print(result["markdown"])
    if args.output:
        from paravox.formats import write_atomic

        write_atomic(args.output, json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return 0


def register_emotion(bsub: argparse._SubParsersAction) -> None:
    p = bsub.add_parser(
        "emotion",
        help="EmoBox protocol on a corpus folder (manifest.jsonl + folds.json); --backends: emotion models side by side",
        description="Train a head on each fold's training part, score its test part, print UA/WA/macro-F1 "
        "averaged over folds as a markdown table. Hyper-parameters are chosen by speaker-grouped CV "
        "inside each training part.",
    )
    p.add_argument("--data", required=True, nargs="+", metavar="DIR", help="corpus folder(s), e.g. ../shared/data/emotion/casia")
    p.add_argument("--layers", type=int, nargs="+", default=None, help="encoder blocks (default: the shipped model's)")
    p.add_argument("--no-prosody", action="store_true", help="leave out the prosody statistics")
    p.add_argument("--select-features", action="store_true",
                   help="also choose blocks/prosody per fold by inner CV among a few candidates")
    p.add_argument("--speaker-norm", action="store_true",
                   help="add a row with per-speaker feature standardisation (uses the test speakers' unlabelled clips)")
    p.add_argument("--extra", nargs="+", default=(), metavar="DIR",
                   help="other corpus folders added to every training part (multi-corpus training, labels mapped)")
    p.add_argument("--augment", nargs="+", default=(), metavar="KIND", choices=COPIES,
                   help="also train on copies of each training clip so augmented (noise, gain, speed90, speed110); "
                        "test clips stay as recorded")
    p.add_argument("--grid", type=float, nargs="+", default=None, metavar="C",
                   help="the head's regularisation values tried by inner CV (default: 0.001 0.003 0.01)")
    _backends_opts(p, "emotion", "paravox,emotion2vec-plus-base,emotion2vec-plus-large",
                   "one --data folder; the file-level emotion of each clip is scored against its label (no training)")
    p.add_argument("--label-map", metavar="NAME|FILE",
                   help="--backends: the corpus labels -> the nine emotion labels (default: the built-in map named like "
                        "the folder: casia, emodb, ravdess)")
    p.add_argument("-o", "--output", metavar="JSON", help="write all results as JSON")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(handler=guard(cmd_bench_emotion))


def cmd_bench_emotion(args: argparse.Namespace) -> int:
    if args.backends:
        from paravox.bench.side_by_side import compare_emotion

        if len(args.data) != 1:
            raise UsageError("--backends scores one corpus folder at a time; give one --data")
        if args.label_map:
            from paravox.evaluation.label_maps import load_label_map

            try:
                load_label_map(args.label_map)
            except (ValueError, OSError) as exc:
                raise UsageError(f"--label-map {args.label_map}: {exc}") from None
        args.bench_task = "emotion"
        names, models, log = _side_by_side(args)
        return _print_side_by_side(args, compare_emotion(args.data[0], names, label_map=args.label_map, models=models,
                                                         quiet=args.quiet, log=log))

    try:
        import sklearn  # noqa: F401
    except ImportError:
        return fail("the benchmark trains heads and needs scikit-learn: pip install 'paravox[train]'")
    from paravox.bench.speech_emotion import CorpusError, markdown_table, run_benchmark
    from paravox.speech_emotion.features import FeatureConfig
    from paravox.speech_emotion.model import ModelError, load_model

    if args.layers is None:
        try:
            base = load_model(None).features
        except ModelError:
            base = FeatureConfig()
        features = FeatureConfig(layers=base.layers, prosody=base.prosody and not args.no_prosody,
                                 window_seconds=base.window_seconds)
    else:
        features = FeatureConfig(layers=tuple(args.layers), prosody=not args.no_prosody)
    results = []
    log = None if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    for folder in args.data:
        for norm in (False, True) if args.speaker_norm else (False,):
            try:
                results.append(run_benchmark(folder, features=features, select_features=args.select_features,
                                             speaker_norm=norm, progress=not args.quiet, log=log,
                                             augment=args.augment, **({"grid": args.grid} if args.grid else {}),
                                             extra=[e for e in args.extra if Path(e).resolve() != Path(folder).resolve()]))
            except CorpusError as exc:
                return fail(str(exc))
    print(markdown_table(results))
    if args.output:
        from paravox.formats import write_atomic

        write_atomic(args.output, json.dumps(results, indent=2) + "\n")
    return 0
