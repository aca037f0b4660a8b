"""``paravox train events|isolated|emotion``: models trained on your own labelled audio.

Only argparse is imported here; each command imports what it needs (the ``train`` extra).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from paravox.cli.common import UsageError, fail, guard
from paravox.training.augment import COPIES

#: the classifier's framings, as :data:`paravox.vocal_events.features.FRAMINGS` names them (a
#: copy, so that ``--help`` needs no NumPy; a test keeps the two equal)
FRAMINGS = ("short", "padded_fast")


def register_train(tsub: argparse._SubParsersAction) -> None:
    """``paravox train events|isolated|emotion``."""
    register_events(tsub)
    register_emotion(tsub)


def register_events(tsub: argparse._SubParsersAction) -> None:
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
    p.add_argument("--keep-classifier", metavar="DIR",
                   help="with --data: reuse this model directory's classifier (trains the detector alone)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(handler=guard(cmd_train_events))

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
        "  paravox classify burst.wav --model my_classifier/\n"
        "with a 'none' class (no vocalization), learnt from speech crops and generated noise: add to both commands\n"
        "  --negatives ../shared/data/emotion/casia ../shared/data/emotion/ravdess ../shared/data/emotion/emodb "
        "../shared/data/emotion/tava"
        "\na head on the voc2vec backbone (torch + transformers; docs/backends.md):\n"
        "  paravox models --download voc2vec\n"
        "  paravox train isolated --data my_clips/ --backbone voc2vec -o my_voc2vec_head/\n"
        "  paravox bench classify --data held_out/ --backends paravox,voc2vec --backend-model voc2vec=my_voc2vec_head/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", required=True, metavar="DIR", help="folder with manifest.jsonl (audio, tag or label, speaker)")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="model directory to write")
    _recipe_opts(p, default_framing="padded_fast", framing_note="padded_fast = the shipped isolated/ classifier")
    _negative_opts(p)
    p.add_argument("--backbone", choices=("paravox", "voc2vec"), default="paravox",
                   help="the features the head is trained on: paravox = paravox's own Whisper-base states (default); "
                        "voc2vec = the voc2vec wav2vec 2.0 backbone (hub model alkiskoudounas/voc2vec; needs "
                        "pip install 'paravox[transformers]' and its files: paravox models --download voc2vec), "
                        "mean+std of the average of its transformer layers, the clip as it is (no --framing); "
                        "'paravox classify --model DIR' then runs the backbone too (torch)")
    p.add_argument("--bench-report", metavar="JSON",
                   help="'paravox bench classify -o' JSON of this very recipe: its held-out figures go into the model card")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0); same seed, same model")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(handler=guard(cmd_train_isolated), framing=None)  # None: padded_fast, or short with --backbone


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
                        "clip's length); padded_fast = as at the start of a zero-padded 30-s window, as in transcription, "
                        f"approximated at about 1.4 times the short cost. {framing_note}")


def _negative_opts(p: argparse.ArgumentParser) -> None:
    """The options that give a classifier its reject class ``none`` (shared by 'bench classify' and 'train isolated')."""
    p.add_argument("--negatives", nargs="*", default=None, metavar="DIR",
                   help="also learn 'none' (no vocalization) from negatives: crops of plain speech from each DIR (a folder "
                        "with manifest.jsonl: audio, speaker; e.g. ../shared/data/emotion/casia) and generated noise, hum "
                        "and tones; no DIR: generated sounds only")
    p.add_argument("--speech-negatives", type=int, default=None, metavar="N",
                   help="speech crops per negatives DIR (default 75)")
    p.add_argument("--generated-negatives", type=int, default=None, metavar="N",
                   help="generated non-vocal sounds (default 100)")
    p.add_argument("--negatives-skip-held-out", action="store_true",
                   help="take no speech crops from the speakers the event detector holds out (CASIA zhaoquanyin, "
                        "EmoDB 03 and 08, RAVDESS actors 01, 11, 20), so false tags measured on them stay honest")


def _negative_spec(args: argparse.Namespace):
    """The negatives the options name (a NegativeSpec), or None; checked before any work."""
    if args.negatives is None:
        if args.speech_negatives is not None or args.generated_negatives is not None or args.negatives_skip_held_out:
            raise UsageError("--speech-negatives, --generated-negatives and --negatives-skip-held-out go with --negatives")
        return None
    from paravox.training.negatives import NegativeSpec

    default = NegativeSpec()
    spec = NegativeSpec(tuple(args.negatives), default.per_corpus if args.speech_negatives is None else args.speech_negatives,
                        default.generated if args.generated_negatives is None else args.generated_negatives, args.seed,
                        args.negatives_skip_held_out)
    if spec.per_corpus < 0 or spec.generated < 0:
        raise UsageError("--speech-negatives and --generated-negatives: give 0 or more")
    for d in spec.speech:
        if not (Path(d) / "manifest.jsonl").is_file():
            raise UsageError(f"--negatives {d}: no manifest.jsonl there (a folder of plain speech: audio, speaker)")
    if spec.per_corpus * len(spec.speech) + spec.generated == 0:
        raise UsageError("--negatives: that draws no negatives; name a speech folder or keep --generated-negatives above 0")
    return spec


def _recipe_args(args: argparse.Namespace) -> tuple[bool | list[list[str]], list[int]]:
    """(``select_augment`` for the library: False, True or the sets; members), checked."""
    if args.select_augment is not None and args.augment is not None:
        raise UsageError("--augment fixes the augmentation and --select-augment chooses it; give one")
    if any(m < 1 for m in args.members):
        raise UsageError(f"--members {' '.join(map(str, args.members))}: give whole numbers of 1 or more")
    select: bool | list[list[str]] = False
    if args.select_augment is not None:
        select = [_augment_set(text) for text in args.select_augment] or True
    return select, args.members


def cmd_train_events(args: argparse.Namespace) -> int:
    try:
        from paravox.training import vocal_events as train
        from paravox.training.classifier import CLASSIFIER_AUGMENT
    except ImportError as exc:
        raise UsageError(f"{exc}") from None
    log = (lambda m: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    if args.data:
        for flag, kept, part in (("--keep-detector", args.keep_detector, "detector"),
                                 ("--keep-classifier", args.keep_classifier, "classifier")):
            if kept and not (Path(kept) / part).is_dir():
                raise UsageError(f"{flag} {kept}: no {part}/ folder there; name an events model directory")
        if args.keep_detector and args.keep_classifier:
            raise UsageError("--keep-detector and --keep-classifier together would train nothing; give one")
        if args.keep_classifier and args.classifier_augment:
            raise UsageError("--classifier-augment shapes the classifier, which --keep-classifier keeps as it is; "
                             "drop one or the other")
        aug = CLASSIFIER_AUGMENT if args.classifier_augment is None else [a for a in args.classifier_augment if a != "none"]
        report = train.train_default(args.data, args.output, n_train=args.mixtures, seed=args.seed, epochs=args.epochs,
                                     classifier_augment=aug, keep_detector=args.keep_detector,
                                     keep_classifier=args.keep_classifier, quiet=args.quiet, log=log)
    else:
        if args.classifier_augment or args.keep_detector or args.keep_classifier:
            raise UsageError("--classifier-augment, --keep-detector and --keep-classifier go with --data (the shipped "
                             "recipe), not --manifest")
        report = train.train_user(args.manifest, args.speech, args.output, n_train=args.mixtures, seed=args.seed, epochs=args.epochs,
                                  quiet=args.quiet, log=log)
    print(json.dumps(report, indent=2))
    return 0


def cmd_train_isolated(args: argparse.Namespace) -> int:
    try:
        from paravox.training import isolated
    except ImportError as exc:
        raise UsageError(f"{exc}") from None
    select, members = _recipe_args(args)
    negatives = _negative_spec(args)
    backbone = None if args.backbone == "paravox" else args.backbone
    if backbone and args.framing not in (None, "short"):
        raise UsageError(f"--framing {args.framing} frames audio for paravox's own encoder; --backbone {backbone} reads "
                         "each clip as it is: leave --framing out")
    if backbone and args.bench_report:
        raise UsageError(f"--bench-report carries the per-fold benchmark of paravox's own features; measure a "
                         f"{backbone} head with 'paravox bench classify --data HELD_OUT --backends paravox,{backbone} "
                         f"--backend-model {backbone}=DIR'")
    framing = args.framing or ("short" if backbone else "padded_fast")
    sets = isolated.augment_sets(select, args.augment or [])
    log = (lambda m: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    report = isolated.train_isolated(args.data, args.output, augment_sets=sets, members=members, framing=framing,
                                     seed=args.seed, bench_report=args.bench_report, negatives=negatives,
                                     backbone=backbone, quiet=args.quiet, log=log)
    print(json.dumps(report, indent=2))
    return 0


def _augment_set(text: str) -> list[str]:
    """``"speed90+speed110"`` -> ``["speed90", "speed110"]``; ``"none"`` -> ``[]``."""
    kinds = [k.strip() for k in text.split("+") if k.strip() and k.strip() != "none"]
    unknown = [k for k in kinds if k not in COPIES]
    if unknown:
        raise UsageError(f"--select-augment {text}: unknown kind {', '.join(unknown)}; known: none, {', '.join(COPIES)}")
    return kinds


def register_emotion(tsub: argparse._SubParsersAction) -> None:
    p = tsub.add_parser(
        "emotion",
        help="train an emotion model on your own labels (and/or numeric targets such as valence)",
        description="Train an emotion head on a JSONL manifest ('audio' relative to the manifest, 'label', "
        "optional 'speaker' for a speaker-independent validation split). Writes config.json, weights.npz "
        "and train_report.json to -o DIR; load it with --model DIR. With --targets, numeric columns on "
        "[-1, 1] are learnt too (a dimensional head, output as 'dimensions'); a manifest with no 'label' "
        "at all keeps the shipped classifier and adds only your dimensions.",
        epilog="examples:\n"
        "  paravox train emotion --manifest mine.jsonl -o my_model/\n"
        "  paravox train emotion --manifest rated.jsonl --targets valence,arousal -o my_model/\n"
        "  paravox emotion clip.wav --model my_model/ -f json\n"
        "  paravox train emotion --manifest mine.jsonl --speaker-norm -o my_norm/   then: paravox emotion "
        "--manifest mine2.jsonl --speaker-norm --model my_norm/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--manifest", required=True, metavar="JSONL")
    p.add_argument("-o", "--output", required=True, metavar="DIR")
    p.add_argument("--labels", metavar="A,B,...", help="the label set, in order (default: the manifest's labels, sorted)")
    p.add_argument("--C", type=float, default=None, help="inverse L2 strength of the head (default: chosen by CV)")
    p.add_argument("--augment", action="store_true", help="also train on noisy, gain-changed copies (twice the feature time)")
    p.add_argument("--targets", metavar="A,B,...", default=None,
                   help="numeric columns to learn as dimensions (values on [-1, 1]), e.g. valence,arousal,dominance")
    p.add_argument("--speaker-norm", action="store_true",
                   help="train a head for 'paravox emotion --speaker-norm': each speaker's features standardised "
                   "by its own clips (every line needs a 'speaker', at least 8 clips each)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(handler=cmd_train_emotion)


def cmd_train_emotion(args: argparse.Namespace) -> int:
    import json as _json

    try:
        from paravox.training.speech_emotion import HeadOptions, ManifestError, train_from_manifest
    except ImportError as exc:
        return fail(str(exc))
    from paravox.audio import AudioError

    labels = [x.strip() for x in args.labels.split(",") if x.strip()] if args.labels else None
    targets = [x.strip() for x in args.targets.split(",") if x.strip()] if args.targets else []
    if args.targets is not None and not targets:
        return fail("--targets needs column names, e.g. --targets valence,arousal")
    head = HeadOptions(C=args.C, seed=args.seed) if args.C is not None else None
    try:
        report = train_from_manifest(args.manifest, args.output, labels=labels, head=head, augment=args.augment,
                                     seed=args.seed, progress=not args.quiet, targets=targets,
                                     speaker_norm=args.speaker_norm)
    except (ManifestError, ValueError, AudioError) as exc:
        return fail(str(exc))
    r = report.to_dict()
    ua = "n/a" if r["val_ua"] is None else f"{100 * r['val_ua']:.1f}%"
    if not targets or r["n_val"]:
        print(f"trained on {r['n_train']} items, labels {', '.join(r['labels'])}; "
              f"validation ({r['n_val']} held-out items) UA {ua}, temperature {r['temperature']:.2f}")
    if targets:
        dims = r["extra"]["dimensions"]
        best = max(dims["selection"].values()) if dims["selection"] else None
        print(f"dimensions {', '.join(targets)} on {r['n_train']} items: {dims['options']}"
              + (f"; selection score (mean CCC, leave-one-speaker-out, optimistic) {best:.3f}" if best is not None else
                 " (no speaker column: options not chosen by cross-validation)"))
    print(f"wrote {args.output}/config.json, weights.npz, train_report.json  (use: --model {args.output})")
    if not args.quiet:
        print(_json.dumps({k: r[k] for k in ("options", "seconds")}))
    return 0
