"""What every command of the CLI shares: the input and output flags, the event threshold's
help, the options every analysis reads, where records go, and the one loop over inputs.

The conventions, the same for ``analyze``, ``transcribe``, ``events``, ``classify`` and
``emotion`` (and, where they apply, ``batch`` and ``serve``):

* inputs: audio files, ``-`` (stdin), ``--scp wav.scp``, ``--manifest list.jsonl``;
* ``-f/--format``: each command's formats; ``json`` is one object for one input and an array
  for several, ``jsonl`` one line per input; without ``-f`` the format follows ``-o``'s
  extension, else the command's default;
* ``-o/--output``: ``-`` or nothing for stdout, ``FILE`` for one file (atomically, except
  ``.jsonl``, which is written line by line as inputs finish), ``DIR/`` for one file per input
  named by its id; ``-q`` no progress bar;
* every record carries ``id``; a failed input is ``{"id", "error": {"type", "message"}}`` in
  JSON(L) output and a ``paravox: error:`` line on stderr, and the run goes on;
* exit status 0 when every input worked, 1 when some failed (after the run), 2 for a usage
  error, a bad option or a model that cannot be loaded: one ``paravox: error:`` line, checked
  before any input is read and with nothing written.

Only argparse is imported at module level; the rest when a command runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Callable

#: The one help text of ``--threshold`` (events, analyze, transcribe, batch, serve).
THRESHOLD_HELP = (
    "keep events whose score (as printed) is at least T; one number for every tag "
    "or per tag (laugh=0.4,cough=0.7)"
)

#: Formats that several inputs can share one file in (an array, lines, rows, tables one after another).
_SHARED_FILE_FORMATS = ("json", "jsonl", "csv", "table")
_EXTENSIONS = {"json": ".json", "jsonl": ".jsonl", "csv": ".csv", "txt": ".txt", "srt": ".srt", "vtt": ".vtt",
               "table": ".txt"}
_BY_EXTENSION = {".json": "json", ".jsonl": "jsonl", ".csv": "csv", ".txt": "txt", ".srt": "srt", ".vtt": "vtt"}
_AUDIO_SUFFIXES = {".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aac", ".webm", ".mp4"}


# ---- errors ---------------------------------------------------------------------------------


class UsageError(Exception):
    """A problem with how the command was called: one line on stderr, exit status 2."""


def fail(message: str) -> int:
    """Print one usage-error line and return exit status 2."""
    print(f"paravox: error: {message}", file=sys.stderr)
    return 2


def guard(fn):
    """Run a command; a usage problem, a model that cannot load or a bad value is one line, exit 2."""

    def run(args: argparse.Namespace) -> int:
        from paravox.errors import ModelError

        try:
            return fn(args)
        except (UsageError, ModelError, ValueError) as exc:
            return fail(str(exc))

    return run


class Parser(argparse.ArgumentParser):
    """argparse with paravox's error line: ``paravox: error: <message>``, exit status 2."""

    def error(self, message: str):  # noqa: D401 - argparse's hook
        self.exit(2, f"paravox: error: {message} (see '{self.prog} --help')\n")


# ---- flags ------------------------------------------------------------------------------------


def add_input_arguments(p: argparse.ArgumentParser, audio_help: str | None = None) -> None:
    """The input flags every analysis command shares: files and ``-``, ``--scp``, ``--manifest``."""
    g = p.add_argument_group("inputs (any mix)")
    g.add_argument(
        "inputs", nargs="*", metavar="AUDIO",
        help=audio_help or "audio files (wav, flac, mp3, ogg/opus, m4a/aac, webm); '-' reads stdin",
    )
    g.add_argument("--scp", metavar="WAV_SCP", help="Kaldi wav.scp list: '<id> <path>' per line")
    g.add_argument("--manifest", metavar="JSONL", help="JSONL list with 'id' and 'audio' (relative to the list) per line")


def add_output_arguments(p: argparse.ArgumentParser, formats: tuple[str, ...], default: str,
                         *, default_help: str | None = None) -> argparse._ArgumentGroup:
    """``-f/--format``, ``-o/--output`` and ``-q/--quiet``, the same for every analysis command."""
    one_each = [f for f in formats if f not in _SHARED_FILE_FORMATS]
    folder_note = f"; several inputs in {', '.join(one_each)} always go to a folder" if one_each else ""
    g = p.add_argument_group("output")
    g.add_argument(
        "-f", "--format", choices=formats, default=None, metavar="FORMAT",
        help=f"{', '.join(formats)}; default: from -o's extension, else {default_help or default} "
        "(json: one object, an array for several inputs; jsonl: one line per input)",
    )
    g.add_argument(
        "-o", "--output", metavar="PATH",
        help="FILE (written whole at the end; a .jsonl file line by line as inputs finish), "
        f"DIR/ (one file per input, named by its id{folder_note}), or '-' for stdout (the default)",
    )
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return g


def add_threshold_argument(g: argparse._ArgumentGroup, dest: str = "threshold") -> None:
    g.add_argument("--threshold", dest=dest, default=None, metavar="T", help=THRESHOLD_HELP)


# ---- options -----------------------------------------------------------------------------------


def analyze_options(args: argparse.Namespace, **fixed: Any):
    """The :class:`~paravox.options.AnalyzeOptions` of the flags given (and ``--config``), validated.

    Whatever flags the command has are read (``serve`` has fewer than ``analyze``); ``fixed``
    overrides them. A bad value raises :class:`~paravox.errors.OptionError` (exit status 2).
    ``--save-config`` is written only once the options are valid.
    """
    import json

    from paravox.options import AnalyzeOptions, parse_threshold

    def given(name: str) -> Any:
        return getattr(args, name, None)

    base: dict[str, Any] = {}
    if given("config"):
        try:
            base = json.loads(Path(args.config).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise UsageError(f"cannot read options from {args.config}: {exc}") from None
        if not isinstance(base, dict):
            raise UsageError(f"{args.config}: not a file written by --save-config (expected a JSON object)")
    flat: dict[str, Any] = {}
    switches = {"no_vad": ("vad", False), "vad_strict": ("vad_keep_loud", False),
                "no_word_timestamps": ("word_timestamps", False), "keep_traditional": ("chinese_script", "keep"),
                "keep_laugh_words": ("laugh_words", False), "filler_words": ("filler_words", True),
                "sound_words": ("sound_words", True),
                "one_language": ("language_per_region", False),
                "no_condition_on_previous_text": ("condition_on_previous_text", False)}
    for flag, (name, value) in switches.items():
        if given(flag):
            flat[name] = value
    for name in ("language", "beam_size", "initial_prompt", "asr", "events", "emotion", "threads", "max_duration",
                 "events_model", "events_tags", "events_min_duration", "vad_threshold", "vad_min_silence_ms", "hotwords", "asr_model", "device",
                 "compute_type", "pack"):
        if given(name) is not None:
            flat[name] = given(name)
    if given("temperature") is not None:
        from paravox.errors import OptionError

        try:
            flat["temperature"] = tuple(float(t) for t in str(args.temperature).split(",") if t.strip())
        except ValueError:
            raise OptionError(f"--temperature: give numbers separated by commas (0,0.4,0.8), got {args.temperature!r}") from None
    if given("events_threshold") is not None:
        flat["events_threshold"] = parse_threshold(args.events_threshold, "--threshold")
    flat.update(fixed)
    try:
        opts = AnalyzeOptions.from_dict(base) if base else AnalyzeOptions()
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{args.config}: {exc}") from None
    opts = opts.with_overrides(**flat)
    if given("save_config"):
        from paravox.formats import write_atomic

        write_atomic(args.save_config, opts.to_json() + "\n")
    return opts


def positive(value: float, flag: str) -> float:
    from paravox.errors import OptionError

    if not value > 0:
        raise OptionError(f"{flag} must be a positive number, got {value}")
    return value


# ---- inputs -------------------------------------------------------------------------------------


def read_inputs(args: argparse.Namespace):
    """The inputs named on the command line (files, ``-``, ``--scp``, ``--manifest``); at least one."""
    from paravox.inputs import collect

    items = collect(args.inputs, args.scp, args.manifest)
    if not items:
        raise UsageError("no input given: name audio files, '-' for stdin, --scp or --manifest (see --help)")
    return items


def file_name(key: str) -> str:
    """A safe file name from an id: its last path part, without the audio extension."""
    name = Path(key.replace("\\", "/")).name or "input"
    stem = Path(name).stem if Path(name).suffix.lower() in _AUDIO_SUFFIXES else name
    safe = "".join(c if c.isalnum() or c in "-_.+" else "_" for c in stem).lstrip(".")
    return safe or "input"


def check_file_names(items, folder: str, extension: str) -> None:
    """Refuse inputs whose ids would write the same file in ``folder``."""
    names = [file_name(i.key) + extension for i in items]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise UsageError(f"several inputs would write {name} in {folder}; give them distinct ids with --manifest")
        seen.add(name)


# ---- outputs ------------------------------------------------------------------------------------


class Render:
    """How one command writes its results: a record for json/jsonl, text for the other formats."""

    def __init__(self, record: Callable[[Any, Any], dict], text: Callable[[Any, Any, str, bool], str] | None = None,
                 header: Callable[[str], str] | None = None) -> None:
        self.record = record  #: (item, result) -> dict
        self.text = text  #: (item, result, fmt, several) -> str
        self.header = header or (lambda fmt: "")  #: fmt -> text written once at the top (text formats)


def pick_format(args: argparse.Namespace, formats: tuple[str, ...], default: str) -> str:
    """``-f``, else ``-o``'s extension, else the default (for ``table``: jsonl in a file, json per file in a folder).

    A ``.jsonl`` output is always JSON lines.
    """
    out = args.output if args.output not in (None, "-") else None
    suffix = Path(out).suffix.lower() if out else ""
    if suffix == ".jsonl" and "jsonl" in formats:
        return "jsonl"
    if args.format:
        return args.format
    if _BY_EXTENSION.get(suffix) in formats:
        return _BY_EXTENSION[suffix]
    if out and default == "table":
        return "json" if _is_folder(out) else "jsonl"
    return default


def _is_folder(out: str) -> bool:
    return out.endswith(("/", os.sep)) or Path(out).is_dir() or not Path(out).suffix


class Output:
    """Where a command's results go: stdout, one file, or one file per input in a folder.

    Nothing is opened before the first result, so a run stopped by a usage error writes
    nothing. JSONL goes out line by line (a ``.jsonl`` file through the batch writer, each line
    on disk as its input finishes); a single file is written whole, atomically, at the end.
    """

    def __init__(self, path: str | None, fmt: str, items, render: Render, progress) -> None:
        self.path = None if path in (None, "-") else path
        self.fmt = fmt
        self.render = render
        self.progress = progress
        self.several = len(items) > 1
        self.mode = self._mode(len(items))
        if self.mode == "dir":
            check_file_names(items, self.path, _EXTENSIONS[fmt])
        self._records: list[dict] = []  # json: written at the end
        self._texts: list[str] = []  # a single file: written at the end
        self._lines = None  # a .jsonl file: a ResultWriter
        self._started = False

    def _mode(self, n: int) -> str:
        fmt, out = self.fmt, self.path
        if out is None:
            if fmt not in _SHARED_FILE_FORMATS and fmt != "txt" and n > 1:
                raise UsageError(f"{n} inputs with -f {fmt}: give -o DIR/ for one file per input, or use -f jsonl")
            return "stdout"
        path = Path(out)
        if _is_folder(out) or (fmt != "jsonl" and n > 1 and fmt not in _SHARED_FILE_FORMATS):
            if path.exists() and not path.is_dir():
                raise UsageError(f"-o {out}: {n} inputs need a folder (or a .jsonl file), but {out} is a file")
            return "dir"
        return "jsonl" if fmt == "jsonl" else "file"

    # ---- per input ----------------------------------------------------------------------------

    def write(self, item, result) -> None:
        if self.fmt in ("json", "jsonl"):
            self._record(item, self.render.record(item, result))
        else:
            self._text(item, self.render.text(item, result, self.fmt, self.several))

    def error(self, item, exc: BaseException) -> None:
        """A failed input: an error record in JSON(L) output; text formats leave it to stderr."""
        if self.fmt in ("json", "jsonl"):
            from paravox.formats import error_record

            self._record(item, error_record(item.key, exc))

    def _record(self, item, record: dict) -> None:
        import json

        from paravox.formats import json_line

        if self.mode == "jsonl":
            if self._lines is None:
                from paravox.batch.writer import ResultWriter

                self._lines = self._guard(lambda: ResultWriter(self.path, fresh=True))
            self._guard(lambda: self._lines.write(json_line(record)))
        elif self.fmt == "jsonl":
            self._text(item, json_line(record))
        elif self.mode == "dir" or (self.mode == "stdout" and not self.several):
            self._text(item, json.dumps(record, ensure_ascii=False, indent=2) + "\n")
        else:
            self._records.append(record)

    def _text(self, item, text: str) -> None:
        header = "" if self.fmt in ("json", "jsonl") else self.render.header(self.fmt)
        if self.mode == "dir":
            target = Path(self.path) / (file_name(item.key) + _EXTENSIONS[self.fmt])
            self._atomic(target, header + text)
            return
        if not self._started:
            text = header + text
            self._started = True
        if self.mode == "stdout":
            self.progress.stdout(text)
        else:
            self._texts.append(text)

    # ---- the end ------------------------------------------------------------------------------

    def close(self) -> None:
        """Write what waited for the end (a JSON array, a single file) and close the JSONL file."""
        import json

        if self._lines is not None:
            self._lines.close()
            self._lines = None
        if self._records:
            doc = self._records[0] if not self.several else self._records
            text = json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
            if self.mode == "stdout":
                self.progress.stdout(text)
            else:
                self._texts.append(text)
        if self.mode == "file" and self._texts:
            self._atomic(self.path, "".join(self._texts))

    def _atomic(self, path, text: str) -> None:
        from paravox.formats import write_atomic

        self._guard(lambda: write_atomic(path, text))

    def _guard(self, fn):
        try:
            return fn()
        except OSError as exc:
            raise UsageError(f"cannot write {exc.filename or self.path}: {exc.strerror or exc}") from None


# ---- the loop over inputs ------------------------------------------------------------------------


def run_inputs(items, work: Callable[[Any], Any], output: Output, progress, *, fatal: tuple = ()) -> int:
    """Run ``work`` over ``items`` (:class:`paravox.inputs.each`), writing each result or error
    to ``output``; returns the exit status: 0, or 1 when some inputs failed."""
    from paravox.inputs import describe, each

    def one(item):
        progress.start_item(item.key, item.source)
        return work(item)

    run = each(items, one, fatal=fatal)
    try:
        for item, result, error in run:
            progress.end_item(None if error is None else describe(item.key, error))
            if error is None:
                output.write(item, result)
            else:
                output.error(item, error)
    finally:
        progress.close()
    output.close()
    if run.failed:
        print(f"paravox: {run.failed} of {len(items)} inputs failed", file=sys.stderr)
        return 1
    return 0
