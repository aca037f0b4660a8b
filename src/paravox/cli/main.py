"""The ``paravox`` command. A thin layer: parse, call the library, format.

Heavy modules (faster-whisper, numpy, PyAV) are imported inside the commands, so
``paravox --help`` is instant.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from paravox import __version__
from paravox.cli.common import add_input_arguments

EXAMPLES = """\
examples:
  paravox analyze talk.mp3 -f json             full result as JSON
  paravox analyze a.wav b.flac -f srt -o out/  one subtitle file per input
  paravox transcribe interview.m4a             the (tagged) transcript
  cat clip.wav | paravox analyze - -f jsonl    read stdin
  paravox analyze --manifest list.jsonl -o results.jsonl
  paravox models                               installed models and the cache
"""


from paravox.cli.common import UsageError as CLIError  # noqa: E402  (one usage error for every command)

# ---- argument groups shared by analysis commands ----------------------------------------


def _add_outputs(p: argparse.ArgumentParser, default_format: str) -> None:
    from_formats = ("json", "jsonl", "txt", "srt", "vtt")
    g = p.add_argument_group("output")
    g.add_argument("-f", "--format", choices=from_formats, default=default_format, help=f"output format (default: {default_format})")
    g.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="a .jsonl file (one line per input, failures recorded as {'id', 'error'}), "
        "a folder (one file per input, named by id), or a file for a single input; default: stdout",
    )
    g.add_argument(
        "--tag-style",
        choices=("bracket", "sensevoice", "paren", "angle"),
        default="bracket",
        help="how events are written inline: [laugh] (default, MNV-17), <|Laughter|>, (laughs), <laugh>",
    )
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def _add_model_options(p: argparse.ArgumentParser, *, emotion: bool = True) -> None:
    g = p.add_argument_group("models and decoding")
    g.add_argument("-l", "--language", help="spoken language code (zh, en, ...); default: detect")
    g.add_argument("--beam-size", type=int, default=None, help="beam width (default 5)")
    g.add_argument("--initial-prompt", default=None, help="text that primes the recogniser (style, spelling, names)")
    g.add_argument("--no-vad", action="store_true", help="do not skip non-speech with the Silero VAD")
    g.add_argument(
        "--vad-strict", action="store_true",
        help="skip everything Silero calls non-speech, even stretches as loud as the speech (default: keep those)",
    )
    g.add_argument("--no-word-timestamps", action="store_true", help="segment times only (a little faster)")
    g.add_argument("--keep-traditional", action="store_true", help="do not fold Traditional Chinese output to Simplified")
    g.add_argument("--asr", default=None, help="speech recogniser backend (default: whisper-base)")
    g.add_argument("--events", default=None, metavar="NAME", help="vocal-event backend (default: paravox-events; 'none' turns events off)")
    g.add_argument("--events-model", default=None, metavar="DIR", help="an events model directory from 'paravox train events'")
    g.add_argument(
        "--keep-laugh-words", action="store_true",
        help="leave laughter the recogniser spelled out (哈哈哈, Ha-ha!) in the text (default: it becomes a [laugh] event)",
    )
    g.add_argument(
        "--threshold", dest="events_threshold", default=None, metavar="T",
        help="event threshold: one number for every tag (default 0.3) or the lowest score kept per tag (laugh=0.4,cough=0.7)",
    )
    g.add_argument("--tags", dest="events_tags", default=None, metavar="TAGS", help="only these event tags, comma-separated (laugh,cough)")
    g.add_argument("--min-duration", dest="events_min_duration", type=float, default=None, metavar="SECONDS", help="drop shorter events")
    if emotion:
        g.add_argument("--emotion", default=None, metavar="NAME", help="emotion backend (see 'paravox models')")
    g.add_argument("--threads", type=int, default=None, help="CPU threads for the models (default: all cores)")
    g.add_argument("--max-duration", type=float, default=None, metavar="SECONDS", help="refuse inputs longer than this")
    g.add_argument("--config", metavar="JSON", help="options saved by --save-config (flags given here override it)")
    g.add_argument("--save-config", metavar="JSON", help="write the options of this run to a JSON file")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paravox",
        description="Hear what is said and how: transcripts with inline nonverbal tags, vocal events, emotion. Offline.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"paravox {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "analyze",
        help="full analysis: segments, words with times, events, emotion",
        description="Analyse audio: transcript with word timestamps, vocal events and emotion where those models are chosen.",
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
        description="Transcribe audio. Prints the transcript; with -o x.jsonl writes {'id', 'text', 'language'} per input.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_input_arguments(p)
    _add_outputs(p, "txt")
    _add_model_options(p, emotion=False)
    p.set_defaults(handler=cmd_transcribe)

    p = sub.add_parser("models", help="installed models, backends and the cache", description="List backends and model files.")
    p.add_argument("--prepare", action="store_true", help="assemble the Whisper model in the cache now")
    p.add_argument("--json", action="store_true", help="print one JSON object")
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


def _options_from_args(args: argparse.Namespace):
    from paravox.options import AnalyzeOptions

    base: dict[str, Any] = {}
    if args.config:
        try:
            base = json.loads(Path(args.config).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise CLIError(f"cannot read options from {args.config}: {exc}") from None
    flat: dict[str, Any] = {}
    if args.language:
        flat["language"] = args.language
    if args.beam_size is not None:
        flat["beam_size"] = args.beam_size
    if args.initial_prompt is not None:
        flat["initial_prompt"] = args.initial_prompt
    if args.no_vad:
        flat["vad"] = False
    if args.vad_strict:
        flat["vad_keep_loud"] = False
    if args.no_word_timestamps:
        flat["word_timestamps"] = False
    if args.keep_traditional:
        flat["chinese_script"] = "keep"
    if getattr(args, "keep_laugh_words", False):
        flat["laugh_words"] = False
    for name in ("asr", "events", "emotion", "threads", "max_duration", "events_model", "events_tags", "events_min_duration"):
        value = getattr(args, name, None)
        if value is not None:
            flat[name] = value
    if getattr(args, "events_threshold", None) is not None:
        from paravox.vocal_events.api import parse_threshold

        try:
            flat["events_threshold"] = parse_threshold(args.events_threshold)
        except ValueError as exc:
            raise CLIError(str(exc)) from None
    try:
        opts = AnalyzeOptions.from_dict(base) if base else AnalyzeOptions()
        opts = opts.with_overrides(**flat)
    except (TypeError, ValueError) as exc:
        raise CLIError(str(exc)) from None
    if args.save_config:
        from paravox.formats import write_atomic

        write_atomic(args.save_config, opts.to_json() + "\n")
    return opts


def _run_analysis(args: argparse.Namespace, *, transcript_only: bool) -> int:
    from paravox import formats
    from paravox.analyzer import Analyzer
    from paravox.audio import AudioError
    from paravox.backends.registry import BackendNotFoundError
    from paravox.cli.progress import Progress
    from paravox.encoder.files import ModelFilesError
    from paravox.inputs import InputListError, collect

    try:
        items = collect(args.inputs, args.scp, args.manifest)
    except InputListError as exc:
        raise CLIError(str(exc)) from None
    if not items:
        raise CLIError("no input given: name audio files, '-' for stdin, --scp or --manifest (see --help)")
    fmt = args.format
    out = args.output
    mode = _output_mode(out, fmt, len(items))
    if mode == "dir":
        names = [_file_name(i.key) + formats.extension(fmt) for i in items]
        clash = {n for n in names if names.count(n) > 1}
        if clash:
            raise CLIError(f"several inputs would write {sorted(clash)[0]} in {out}; give them distinct ids with --manifest")

    opts = _options_from_args(args)
    analyzer = Analyzer(opts)
    failures = 0
    jsonl_file = None
    if mode == "jsonl":
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        jsonl_file = open(out, "w", encoding="utf-8")
    progress = Progress(total_items=len(items), enabled=not args.quiet)
    try:
        for item in items:
            progress.start_item(item.key, item.source)
            try:
                analysis = analyzer.analyze(item.source, name=item.key, progress=progress.update_seconds)
            except (BackendNotFoundError, ModelFilesError) as exc:
                raise CLIError(str(exc)) from None
            except Exception as exc:  # noqa: BLE001 - one bad input must not stop the run
                failures += 1
                detail = str(exc) if isinstance(exc, AudioError) else f"{item.key}: {type(exc).__name__}: {exc}"
                progress.write(f"paravox: error: {detail}")
                if jsonl_file is not None:
                    jsonl_file.write(json.dumps(formats.error_record(item.key, exc), ensure_ascii=False) + "\n")
                    jsonl_file.flush()
                continue
            finally:
                progress.end_item()
            if transcript_only and (fmt in ("json", "jsonl") or mode == "jsonl"):
                record = formats.transcript_record(analysis, key=item.key, style=args.tag_style)
                text = json.dumps(record, ensure_ascii=False, indent=2 if fmt == "json" and mode != "jsonl" else None) + "\n"
            elif mode == "jsonl":
                text = formats.render(analysis, "jsonl", style=args.tag_style, key=item.key)
            else:
                text = formats.render(analysis, fmt, style=args.tag_style, key=item.key if fmt in ("json", "jsonl") else None)
            if mode == "jsonl":
                jsonl_file.write(text)
                jsonl_file.flush()
            elif mode == "dir":
                formats.write_atomic(Path(out) / (_file_name(item.key) + formats.extension(fmt)), text)
            elif mode == "file":
                formats.write_atomic(out, text)
            else:
                progress.clear()
                sys.stdout.write(text)
                sys.stdout.flush()
    finally:
        progress.close()
        if jsonl_file is not None:
            jsonl_file.close()
    if failures:
        print(f"paravox: {failures} of {len(items)} inputs failed", file=sys.stderr)
        return 1
    return 0


def _output_mode(out: str | None, fmt: str, n: int) -> str:
    if out is None:
        if fmt in ("srt", "vtt", "json") and n > 1:
            raise CLIError(f"{n} inputs with -f {fmt}: give -o DIR for one file per input, or use -f jsonl")
        return "stdout"
    if out.endswith(".jsonl"):
        return "jsonl"
    path = Path(out)
    if path.is_dir() or out.endswith(("/", os.sep)) or n > 1 or not path.suffix:
        if path.exists() and not path.is_dir():
            raise CLIError(f"-o {out}: {n} inputs need a folder (or a .jsonl file), but {out} is a file")
        return "dir"
    return "file"


def _file_name(key: str) -> str:
    """A safe file name from an id: its last path part, without the audio extension."""
    name = Path(key.replace("\\", "/")).name or "input"
    stem = Path(name).stem if Path(name).suffix.lower() in {
        ".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aac", ".webm", ".mp4"
    } else name
    safe = "".join(c if c.isalnum() or c in "-_.+" else "_" for c in stem).lstrip(".")
    return safe or "input"


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
            raise CLIError(str(exc)) from None
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
    for kind in registry.KINDS:
        names = registry.available(kind)
        print(f"{kind}:")
        if not names:
            print("  (none installed yet)")
        for name, b in sorted(names.items()):
            print(f"  {name:<16} {b.description}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except CLIError as exc:
        print(f"paravox: error: {exc}", file=sys.stderr)
        return 2
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
    # Run the imported module's main, not this __main__ copy: command modules import
    # CLIError from paravox.cli.main, and there must be one such class for except to match.
    from paravox.cli.main import main as _main

    sys.exit(_main())
