"""``paravox emotion``: the speech emotion of each input, per file and over time.

Only argparse is imported here; the handler imports what it needs.
"""

from __future__ import annotations

import argparse

from paravox.cli.common import add_input_arguments, add_output_arguments

FORMATS = ("table", "json", "jsonl")

EXAMPLES = """\
examples:
  paravox emotion call.wav                                  id, label, score of the whole file
  paravox emotion call.wav --granularity segment            ... and one line per speech segment
  paravox emotion call.wav --granularity frame --hop 0.5 -f json
  paravox emotion --manifest list.jsonl -o pred.jsonl       then: paravox eval emotion --ref list.jsonl --hyp pred.jsonl
  paravox emotion --scp wav.scp --embeddings emb/ -o pred.jsonl --model my_model/
  paravox emotion call.wav --model tiny                     the edge model: no Whisper, 10x+ faster
  paravox emotion --manifest list.jsonl --speaker-norm      each clip read against its own speaker's clips
                                                            (manifest "speaker" field; see below)
  paravox emotion call.wav --model emotion2vec-plus-base --granularity segment --embeddings emb/
                                                            emotion2vec+ (paravox models --download emotion2vec-plus-base)

Records (-f json, -f jsonl, -o): EmotionResult.to_dict(), {"id", "duration", "granularity",
"emotion": {"label", "score", "scores", "dimensions", "speech"}, "spans": [{"start", "end",
"label", "score", "scores", "dimensions"}]}, with the file-level "label" and "score" also at
the top (what 'paravox eval emotion' reads). "dimensions" is {"valence", "arousal",
"dominance"}, each on [-1, 1] (the shipped model; a model trained with --targets scores its
own; emotion2vec+ has none: "dimensions" is null). An input with no speech has no file-level emotion: "emotion", "label" and "score" are
null. Frames (--granularity frame) are smoothed so that the label changes when the voice
does; a frame without speech has "label": null and "reason": "no speech". A failed input is a 'paravox: error:' line on stderr and {"id",
"error": {"type", "message"}} in JSON output; the run goes on and exits with 1. A bad option
or model exits with 2 before any input is read, with nothing written.

--speaker-norm (opt-in, transductive): every input's features are standardised by the mean
and deviation of its own speaker's clips (the manifest's "speaker" field; inputs that name none
are taken as one speaker), then scored by a head trained that way (the shipped one, or a --model
trained with 'paravox train emotion --speaker-norm'). It removes the voice and keeps what
changes between a speaker's clips: on acted corpora, where each speaker performs every emotion,
it adds 3-13 UA points (docs/emotion.md); on a set that is mostly one emotion it reads that
emotion as the speaker's average. Needs at least 8 clips of each speaker and --granularity
utterance; each file-level emotion says "speaker_norm": {"speaker", "clips"}; --embeddings
writes the clip's own (not standardised) feature vector.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "emotion",
        help="speech emotion per file, per speech segment or at a fixed hop (emotion2vec's nine labels)",
        description="Speech emotion of each input: the file-level emotion (label, score, every label's "
        "probability), and with --granularity segment or frame the emotion over time.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_input_arguments(p)
    g = p.add_argument_group("model")
    g.add_argument("--granularity", choices=("utterance", "segment", "frame"), default="utterance",
                   help="utterance: the file-level emotion only (default); segment: also one score per speech "
                   "segment (Silero VAD); frame: also one every --hop seconds")
    g.add_argument("--hop", type=float, default=0.5, help="frame granularity: seconds between scores (default 0.5)")
    g.add_argument("--window", type=float, default=2.0, help="frame granularity: seconds each score looks at (default 2)")
    g.add_argument("--model", metavar="DIR|NAME",
                   help="model directory from 'paravox train emotion' (default: the shipped model); 'tiny': "
                   "the edge model (log-mel, under 100K parameters, no Whisper; no --embeddings); "
                   "'emotion2vec-plus-base' or 'emotion2vec-plus-large': emotion2vec+ through FunASR (nine labels, "
                   "no dimensions; needs the funasr extra and 'paravox models --download NAME')")
    g.add_argument("--speaker-norm", action="store_true",
                   help="read each input against its own speaker's clips (manifest 'speaker' field; at least 8 "
                   "clips each; utterance granularity): better on sets where every speaker shows every "
                   "emotion, misleading on sets that are mostly one (see below)")
    g.add_argument("--embeddings", metavar="DIR",
                   help="write each input's feature vector to DIR/<id>.npy: the file's (utterance; none without "
                   "speech) or one row per span (segment, frame); with emotion2vec+, its utterance embedding")
    add_output_arguments(p, FORMATS, "table", default_help="table on stdout, jsonl in a file, json in a folder")
    # Before -f existed, --json printed JSON lines; kept working, not shown.
    p.add_argument("--json", dest="format", action="store_const", const="jsonl", help=argparse.SUPPRESS)
    p.set_defaults(handler=cmd_emotion)


def _dims(score) -> str:
    """``  valence +0.31 arousal -0.12 ...`` for a score with dimensions, else nothing."""
    if not score.dimensions:
        return ""
    return "  " + " ".join(f"{k} {v:+.2f}" for k, v in score.dimensions.items())


def _table(item, res, fmt: str, several: bool) -> str:
    """``id  label  score`` for the file, then one indented line per span."""
    head = (f"{res.id}\t(no speech found)" if res.emotion is None
            else f"{res.id}\t{res.emotion.label}\t{res.emotion.score:.2f}{_dims(res.emotion)}")
    rows = [f"  {s.start:8.2f}-{s.end:8.2f}  " + (f"({s.reason})" if s.label is None
                                                  else f"{s.label:<10} {s.score:.2f}{_dims(s)}") for s in res.spans]
    return "\n".join([head] + rows) + "\n"


def cmd_emotion(args: argparse.Namespace) -> int:
    from pathlib import Path

    from paravox import formats
    from paravox.cli.common import (
        Output,
        Render,
        check_file_names,
        file_name,
        pick_format,
        positive,
        read_inputs,
        run_inputs,
    )
    from paravox.cli.progress import Progress
    from paravox.speech_emotion.api import emotion_result
    from paravox.speech_emotion.recognizer import EmotionRecognizer

    positive(args.hop, "--hop")
    positive(args.window, "--window")
    fmt = pick_format(args, FORMATS, "table")
    items = read_inputs(args)
    if args.embeddings:
        check_file_names(items, args.embeddings, ".npy")
    render = Render(lambda item, res: formats.record(res, key=item.key), _table)
    progress = Progress(enabled=not args.quiet)
    output = Output(args.output, fmt, items, render, progress)
    norm_model = None
    if args.speaker_norm:  # a bad option or model: exit 2, before any input
        from paravox.errors import OptionError
        from paravox.speech_emotion.speaker_norm import check_groups, load_norm_model, speaker_groups

        if args.granularity != "utterance":
            raise OptionError("--speaker-norm scores whole files only; drop --granularity or use utterance")
        if args.model is not None and not Path(args.model).is_dir():
            raise OptionError(f"--speaker-norm --model {args.model!r}: give a model directory trained with "
                              "'paravox train emotion --speaker-norm', or drop --model for the shipped head")
        check_groups(speaker_groups(items))  # too few clips, mixed or repeated ids: before any model or audio
        recognizer = EmotionRecognizer(None)
        norm_model = load_norm_model(args.model, recognizer.model.features)
    else:
        recognizer = EmotionRecognizer(args.model)  # a bad model directory: exit 2, before any input
    if args.embeddings and not recognizer.embedding_dim:
        from paravox.errors import OptionError

        raise OptionError(f"--embeddings: the model {args.model!r} has no embeddings; drop --embeddings or use the shipped model or emotion2vec+")

    def work(item):
        res = emotion_result(recognizer, item.source, item.key, granularity=args.granularity,
                             extract_embedding=bool(args.embeddings), frame_hop=args.hop, frame_window=args.window)
        if args.embeddings:
            _save_embedding(args.embeddings, file_name(item.key), res)
        return res

    if norm_model is not None:
        from paravox.speech_emotion.speaker_norm import BySpeaker

        def raw(item):
            return emotion_result(recognizer, item.source, item.key, extract_embedding=True)

        by_speaker = BySpeaker(items, raw, norm_model, keep_embeddings=bool(args.embeddings))

        def work(item):  # noqa: F811 - the same job, read against the speaker's clips
            res = by_speaker(item)
            if args.embeddings:
                _save_embedding(args.embeddings, file_name(item.key), res)
            return res

    progress.begin(len(items))
    return run_inputs(items, work, output, progress)


def _save_embedding(folder: str, name: str, res) -> None:
    from pathlib import Path

    import numpy as np

    feats = res.embedding if res.granularity == "utterance" else res.span_embeddings
    if feats is None:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    np.save(Path(folder) / f"{name}.npy", np.asarray(feats))
