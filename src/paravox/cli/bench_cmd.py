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
        epilog="example:\n  paravox bench classify --data ../shared/data/nonverbal/deeply -o bench.json",
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
    p.add_argument("-o", "--output", metavar="JSON", help="write the results as JSON")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(handler=guard(cmd_bench_classify))

    p = bsub.add_parser(
        "nvasr",
        help="tagged transcripts on an NV-ASR set: Joint CER, text CER, NV exact match, tag F1",
        description="Transcribe every clip of one or more NV-tagged sets with events inline and score them: MNV-17 "
        "metrics and NVVSpeech Track 1 (position-aware F1, mNTD, Track1Score), per group (real, synthetic), per source, "
        "and the mean and spread over the real sources (docs/vocal-events-protocol.md).",
        epilog="example:\n  paravox bench nvasr --data ../shared/data/nvasr/dev ../shared/data/nvasr/tts-demos -o nvasr.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", required=True, nargs="+", action="extend", metavar="DIR",
                   help="one or more folders with manifest.jsonl (audio, text; synthetic, source, language optional); "
                        "each source is scored on its own, with the mean and spread over the real ones")
    p.add_argument("--asr", default="whisper-base",
                   help="speech recogniser backend, e.g. a hub model (sensevoice-small, qwen2.5-omni-mnv17; docs/backends.md)")
    p.add_argument("--events", default="paravox-events", help="event backend ('none' for plain transcripts)")
    p.add_argument("--filler-words", action="store_true", help="um, 嗯 as [uhm] events (as 'paravox analyze --filler-words')")
    p.add_argument("--keep-laugh-words", action="store_true", help="leave spelled-out laughter as text")
    p.add_argument("--events-model", metavar="DIR", help="events model directory")
    p.add_argument("--language", help="force the language (default: detect)")
    p.add_argument("--hyp-output", metavar="JSONL", help="also write the hypotheses ({'id', 'text'}) here")
    p.add_argument("-o", "--output", metavar="JSON", help="write the results as JSON")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(handler=guard(cmd_bench_nvasr))


def cmd_bench_classify(args: argparse.Namespace) -> int:
    from paravox.bench import vocal_events as bench

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

    result = bench.bench_nvasr(
        args.data, asr=args.asr, events=None if args.events == "none" else args.events, events_model=args.events_model,
        language=args.language, filler_words=args.filler_words, laugh_words=not args.keep_laugh_words,
        hyp_output=args.hyp_output, quiet=args.quiet,
    )
    print(result["markdown"])
    if args.output:
        from paravox.formats import write_atomic

        write_atomic(args.output, json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return 0


def register_emotion(bsub: argparse._SubParsersAction) -> None:
    p = bsub.add_parser(
        "emotion",
        help="EmoBox protocol on a corpus folder (manifest.jsonl + folds.json)",
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
    p.add_argument("-o", "--output", metavar="JSON", help="write all results as JSON")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(handler=cmd_bench_emotion)


def cmd_bench_emotion(args: argparse.Namespace) -> int:

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
