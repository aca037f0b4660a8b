"""The ``paravox`` command. A thin layer: parse, call the library, format.

Heavy modules (faster-whisper, numpy, PyAV) are imported inside the commands, so
``paravox --help`` is instant.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from paravox import __version__
from paravox.cli.common import (
    Parser,
    UsageError,
    add_input_arguments,
    add_output_arguments,
    add_threshold_argument,
    fail,
)

EXAMPLES = """\
examples:
  paravox analyze talk.mp3                     full result as JSON (segments, words, events, emotion)
  paravox analyze a.wav b.flac -f srt -o out/  one subtitle file per input, named by id
  paravox analyze a.wav b.wav -o all.json      one JSON array, a record per input
  paravox transcribe interview.m4a             the (tagged) transcript
  cat clip.wav | paravox analyze - -f jsonl    read stdin
  paravox transcribe --manifest list.jsonl -o hyp.jsonl    {"id", "text", "language"} per line
  paravox analyze talk.wav --threshold laugh=0.4,cough=0.7 --tags laugh,cough
  paravox models                               installed models, hub models and the cache
  paravox models --download sensevoice-small   fetch a hub model ahead of time (docs/backends.md)

Every record carries "id" (the path as given, or the list's id). A failed input is a
'paravox: error:' line on stderr and {"id", "error": {"type", "message"}} in JSON output;
the run goes on and exits with 1. A bad option exits with 2 before any input is read.
"""

ANALYSIS_FORMATS = ("json", "jsonl", "txt", "srt", "vtt")

# ---- argument groups shared by analysis commands ----------------------------------------


def _add_outputs(p: argparse.ArgumentParser, default_format: str) -> None:
    g = add_output_arguments(p, ANALYSIS_FORMATS, default_format)
    g.add_argument(
        "--tag-style",
        choices=("bracket", "sensevoice", "paren", "angle"),
        default="bracket",
        help="how events are written inline: [laugh] (default, MNV-17), <|Laughter|>, (laughs), <laugh>",
    )
    g.add_argument("--max-line-chars", type=int, default=None, metavar="N",
                   help="srt/vtt: break subtitle lines at N characters (between words; anywhere in Chinese)")


def _add_model_options(p: argparse.ArgumentParser, *, emotion: bool = True) -> None:
    g = p.add_argument_group("models and decoding")
    g.add_argument(
        "-l", "--language",
        help="spoken language code (zh, en, ...) that forces it; several (zh,en) restrict detection to them; "
        "default: detect, per speech region",
    )
    g.add_argument(
        "--one-language", action="store_true",
        help="detect the language once per input, from its first 30 s of speech, instead of per speech region: "
        "faster on single-language audio, loses code-switched stretches",
    )
    g.add_argument("--beam-size", type=int, default=None, help="beam width (default 5)")
    g.add_argument(
        "--temperature", default=None, metavar="T[,T...]",
        help="decoding temperatures tried in turn when a decode looks degenerate (default 0,0.4,0.8; "
        "above 0 the fallback is beam search with a repetition penalty, never sampling)",
    )
    g.add_argument(
        "--no-condition-on-previous-text", action="store_true",
        help="decode each 30-s window without the previous window's text (stops a repetition loop carrying over)",
    )
    g.add_argument("--vad-threshold", type=float, default=None, metavar="P",
                   help="Silero speech probability above which audio counts as speech (default 0.3)")
    g.add_argument("--vad-min-silence-ms", type=int, default=None, metavar="MS",
                   help="pauses shorter than this are bridged into the speech around them (default 2000)")
    g.add_argument("--hotwords", default=None, metavar="TEXT",
                   help="words or names the recogniser should favour (faster-whisper's hotwords; unused with --initial-prompt)")
    g.add_argument("--initial-prompt", default=None, help="text that primes the recogniser (style, spelling, names)")
    g.add_argument("--no-vad", action="store_true", help="do not skip non-speech with the Silero VAD")
    g.add_argument(
        "--vad-strict", action="store_true",
        help="skip everything Silero calls non-speech, even stretches as loud as the speech (default: keep those)",
    )
    g.add_argument("--no-word-timestamps", action="store_true", help="segment times only (a little faster)")
    g.add_argument("--keep-traditional", action="store_true", help="do not fold Traditional Chinese output to Simplified")
    g.add_argument("--asr", default=None, help="speech recogniser backend (default: whisper-base)")
    g.add_argument(
        "--asr-model", default=None, metavar="NAME|DIR",
        help="the Whisper model: a size (small, medium, large-v3, large-v3-turbo, distil-large-v3 ...), a Hugging Face "
        "repo id or a CTranslate2 folder (default: the packaged base, offline); a named model is taken from paravox's "
        "cache, downloaded there when the network allows",
    )
    g.add_argument("--device", default=None, choices=("auto", "cpu", "cuda"),
                   help="where Whisper runs (default cpu; auto: cuda when a GPU is visible)")
    g.add_argument("--compute-type", default=None, metavar="TYPE",
                   help="CTranslate2 compute type (default int8 on cpu, float16 on cuda; e.g. int8_float16, float32)")
    g.add_argument("--events", default=None, metavar="NAME", help="vocal-event backend (default: paravox-events; 'none' turns events off)")
    g.add_argument("--events-model", default=None, metavar="DIR", help="an events model directory from 'paravox train events'")
    g.add_argument(
        "--keep-laugh-words", action="store_true",
        help="leave laughter the recogniser spelled out (哈哈哈, Ha-ha!) in the text (default: it becomes a [laugh] event)",
    )
    g.add_argument(
        "--filler-words", action="store_true",
        help="filled pauses the recogniser wrote (um, uh, 嗯, 呃) become [uhm] events, as NVSpeech writes them "
        "(default: they stay text, as MNV-17 and the NVVSpeech Challenge write them)",
    )
    g.add_argument(
        "--sound-words", action="store_true",
        help="let Whisper describe sounds as subtitles do ((laughs), *cough*): each description leaves the text and "
        "a vocal one becomes an event (default: Whisper may not write the brackets; docs/events.md)",
    )
    add_threshold_argument(g, dest="events_threshold")
    g.add_argument("--tags", dest="events_tags", default=None, metavar="TAGS", help="only these event tags, comma-separated (laugh,cough)")
    g.add_argument("--min-duration", dest="events_min_duration", type=float, default=None, metavar="SECONDS", help="drop shorter events")
    if emotion:
        g.add_argument("--emotion", default=None, metavar="NAME", help="emotion backend (default: paravox-emotion; 'none' turns it off)")
    g.add_argument("--threads", type=int, default=None, help="CPU threads for the models (default: all cores)")
    g.add_argument("--max-duration", type=float, default=None, metavar="SECONDS", help="refuse inputs longer than this")
    g.add_argument("--config", metavar="JSON", help="options saved by --save-config (flags given here override it)")
    g.add_argument("--save-config", metavar="JSON", help="write the options of this run to a JSON file")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="paravox",
        description="Hear what is said and how: transcripts with inline nonverbal tags, vocal events, emotion. Offline.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"paravox {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    p = sub.add_parser(
        "analyze",
        help="full analysis: segments, words with times, events, emotion",
        description="Analyse audio: transcript with word timestamps, vocal events and emotion. -f json/jsonl write "
        "the full record (docs/output-format.md); txt the tagged transcript; srt/vtt subtitles.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_input_arguments(p)
    _add_outputs(p, "json")
    _add_model_options(p)
    p.set_defaults(handler=cmd_analyze)

    p = sub.add_parser(
        "transcribe",
        help="transcript text, with events written inline when an event model is chosen",
        description="Transcribe audio. Prints the transcript (events written inline); -f json/jsonl or -o x.jsonl "
        "write {'id', 'text', 'language'} per input; -f srt/vtt subtitles.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_input_arguments(p)
    _add_outputs(p, "txt")
    _add_model_options(p, emotion=False)
    p.set_defaults(handler=cmd_transcribe)

    p = sub.add_parser("models", help="installed models, backends and the cache", description="List backends and model files.")
    p.add_argument("--prepare", action="store_true", help="assemble the Whisper model in the cache now")
    p.add_argument("--download", nargs="+", metavar="NAME", default=None,
                   help="fetch hub models (sensevoice-small, qwen2.5-omni-mnv17, faster-whisper:large-v3 ...) into the "
                   "cache at their pinned revision, resuming a partial download; for machines that go offline")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("-q", "--quiet", action="store_true", help="no download progress bars")
    p.set_defaults(handler=cmd_models)

    from paravox.cli import eval_cmd

    eval_cmd.register(sub)
    _register_feature_commands(sub)
    return parser


# Modules that add commands. Each may define ``register(sub)`` (top-level commands),
# ``register_train(train_sub)`` (``paravox train <what>``) and ``register_bench(bench_sub)``
# (``paravox bench <what>``). Only argparse is imported at their module level.
COMMAND_MODULES = (
    "paravox.cli.events_cmd",
    "paravox.cli.emotion_cmd",
    "paravox.cli.train_cmd",
    "paravox.cli.bench_cmd",
    "paravox.cli.batch_cmd",
    "paravox.cli.serve_cmd",
    "paravox.cli.stream_cmd",
)


def _register_feature_commands(sub: argparse._SubParsersAction) -> None:
    import importlib
    import importlib.util

    modules = [importlib.import_module(m) for m in COMMAND_MODULES if importlib.util.find_spec(m) is not None]
    for module in modules:
        if hasattr(module, "register"):
            module.register(sub)
    _command_group(
        sub, modules, "register_train", "train",
        help="train a model on your own labels (needs the 'train' extra)",
        description="Train a model on your own labelled audio; writes a model directory that --model DIR loads.",
    )
    _command_group(
        sub, modules, "register_bench", "bench",
        help="benchmark a model on a dataset with its folds; prints a markdown table and writes JSON",
        description="Train on each fold's training part, score on its test part, print a markdown table.",
    )


def _command_group(sub, modules, hook: str, name: str, *, help: str, description: str) -> None:
    """``paravox NAME WHAT``: one sub-command per module that defines ``hook``."""
    providers = [m for m in modules if hasattr(m, hook)]
    if providers:
        p = sub.add_parser(name, help=help, description=description)
        group = p.add_subparsers(dest="what", metavar="WHAT", required=True)
        for module in providers:
            getattr(module, hook)(group)


# ---- commands -------------------------------------------------------------------------


def _run_analysis(args: argparse.Namespace, *, transcript_only: bool) -> int:
    from paravox import formats
    from paravox.cli.common import Output, Render, analyze_options, pick_format, read_inputs, run_inputs
    from paravox.inputs import item_language
    from paravox.cli.progress import Progress

    # The transcript never shows the emotion: transcribe does not compute it.
    opts = analyze_options(args, **({"emotion": None} if transcript_only else {}))
    if opts.threads:
        # --threads bounds every thread pool, as in a batch worker, so that 'paravox analyze'
        # writes the very line 'paravox batch' does; set before the models' libraries load.
        os.environ.setdefault("OMP_NUM_THREADS", str(opts.threads))
    from paravox.analyzer import Analyzer
    from paravox.backends.registry import BackendNotFoundError
    from paravox.encoder.files import ModelFilesError

    fmt = pick_format(args, ANALYSIS_FORMATS, "txt" if transcript_only else "json")
    items = read_inputs(args)
    style = args.tag_style
    width = args.max_line_chars
    if width is not None and width < 1:
        raise UsageError(f"--max-line-chars must be 1 or more, got {width}")
    if transcript_only:
        render = Render(lambda item, a: formats.transcript_record(a, key=item.key, style=style),
                        lambda item, a, fmt, several: formats.render(a, fmt, style=style, max_line_chars=width))
    else:
        render = Render(lambda item, a: formats.record(a, key=item.key),
                        lambda item, a, fmt, several: formats.render(a, fmt, style=style, max_line_chars=width))
    progress = Progress(enabled=not args.quiet, seconds=True)
    output = Output(args.output, fmt, items, render, progress)
    analyzer = Analyzer(opts)
    fatal = (BackendNotFoundError, ModelFilesError)
    analyzer.asr, analyzer.events, analyzer.emotion  # load the models now: a bad one stops the run before any input
    progress.begin(len(items))
    return run_inputs(
        items, lambda item: analyzer.analyze(item.source, name=item.key, progress=progress.update_seconds,
                                             language=item_language(opts, item)),
        output, progress, fatal=fatal,
    )


def cmd_analyze(args: argparse.Namespace) -> int:
    return _run_analysis(args, transcript_only=False)


def cmd_transcribe(args: argparse.Namespace) -> int:
    return _run_analysis(args, transcript_only=True)


def cmd_models(args: argparse.Namespace) -> int:
    from paravox.backends import registry
    from paravox.encoder.files import ModelFilesError, cache_dir, ensure_whisper_base, whisper_base_status

    if args.prepare:
        try:
            ensure_whisper_base()
        except ModelFilesError as exc:
            raise UsageError(str(exc)) from None
    if args.download:
        from paravox.cli.models_cmd import download_models

        return download_models(args.download, quiet=args.quiet)
    status = whisper_base_status()
    backends = {kind: sorted(registry.available(kind)) for kind in registry.KINDS}
    info = {
        "cache_dir": str(cache_dir()),
        "whisper_base": {
            "installed": status.installed,
            "assembled": status.assembled,
            "path": str(status.path),
            "size_bytes": status.size_bytes,
            "detail": status.detail,
        },
        "backends": backends,
    }
    from paravox.cli.models_cmd import hub_rows, print_hub_table

    info["hub"] = hub_rows()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"cache: {info['cache_dir']}  (set PARAVOX_CACHE to move it)")
    state = "ready" if status.assembled else ("installed, joined on first use" if status.installed else "MISSING")
    size = f", {status.size_bytes / 1e6:.1f} MB" if status.size_bytes else ""
    print(f"whisper-base (MIT, CTranslate2 int8): {state}{size}")
    print(f"  {status.path}")
    if not status.installed:
        print(f"  {status.detail}")
    hub = {row["name"] for row in info["hub"]}
    for kind in registry.KINDS:
        names = {n: b for n, b in registry.available(kind).items() if n not in hub}
        print(f"{kind}:")
        if not names:
            print("  (none installed yet)")
        for name, b in sorted(names.items()):
            print(f"  {name:<16} {b.description}")
    print_hub_table(info["hub"])
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the ``paravox`` command; returns the exit status (0 ok, 1 some inputs failed or a named
    model is not on this machine and cannot be downloaded, 2 usage or a broken model)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 2
    from paravox.errors import DeviceUnavailableError, ModelUnavailableError, ParavoxError

    try:
        return int(args.handler(args) or 0)
    except (ModelUnavailableError, DeviceUnavailableError) as exc:
        fail(str(exc))
        return 1
    except (UsageError, ParavoxError) as exc:
        # A bad option, input list or model, or a fatal error: one line, exit status 2.
        return fail(str(exc))
    except KeyboardInterrupt:
        print("paravox: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into `head` and the like: not an error of ours.
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0


if __name__ == "__main__":  # pragma: no cover
    # Run the imported module's main, not this __main__ copy, so that there is one copy of
    # every class the commands raise and catch.
    from paravox.cli.main import main as _main

    sys.exit(_main())
