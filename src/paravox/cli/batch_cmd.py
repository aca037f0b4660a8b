"""``paravox batch``: a whole corpus into one JSONL file, on local workers or on Ray.

Only argparse is imported here at module level; the command imports the rest when it runs.
"""

from __future__ import annotations

import argparse

EXAMPLES = """\
examples:
  paravox batch corpus/ -o results.jsonl                  every audio file under corpus/
  paravox batch wav.scp -o results.jsonl --workers 2      Kaldi list, two worker processes
  paravox batch corpus/ -o results.jsonl --workers auto   one worker per core, as memory allows
  paravox batch wav.scp -o results.jsonl --resume         after a crash: do only what is missing
  paravox batch manifest.jsonl -o results.jsonl --engine ray --address auto

INPUT is a folder (searched recursively for audio files; ids are paths relative to it),
a Kaldi wav.scp ('<id> <path>' per line), a JSONL manifest ('id' and 'audio' per line), or
an audio file. Each input gets one line in the results file: the analysis (as written by
'paravox analyze -o x.jsonl') or {"id", "error": {"type", "message"}}. Exit code 0 when
every input was analysed, 1 when some failed (their error lines say why), 2 for a usage error.
"""


def register(sub: argparse._SubParsersAction) -> None:
    from paravox.cli.main import _add_model_options

    p = sub.add_parser(
        "batch",
        help="analyse a folder, wav.scp or manifest into one JSONL file; parallel, resumable",
        description="Analyse many inputs into one JSONL results file, with worker processes or on a Ray "
        "cluster. Models load once per worker; bad files are recorded and the job goes on; a job that "
        "was killed continues with --resume.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="folder, wav.scp, JSONL manifest or audio file (several allowed)")
    p.add_argument("-o", "--output", required=True, metavar="RESULTS.jsonl", help="the JSONL results file")
    p.add_argument(
        "--resume",
        action="store_true",
        help="keep the results already in the output and analyse only the inputs missing from it "
        "(a line cut off by a crash is repaired); without it an existing non-empty output is refused",
    )
    p.add_argument("-w", "--workers", type=_workers, default=None, metavar="N",
                   help="parallel workers, each with its own models: processes (local, default 1) "
                   "or actors (ray, default: the cluster's CPUs); 'auto': one per core, as many as memory allows "
                   "(about 0.9 GB each); without --threads, local workers share the cores equally")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local worker processes (default) or Ray Data (needs: pip install 'paravox[ray]')")
    p.add_argument("--address", metavar="ADDR",
                   help="Ray cluster to run on ('auto', 'HOST:6379', 'ray://HOST:10001'); default: a local Ray")
    p.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                   help="import MODULE in every worker before the models load (for backends you register yourself)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no per-file error lines")
    _add_model_options(p)
    p.set_defaults(handler=cmd_batch)


def _workers(text: str) -> int | str:
    if text.strip().lower() == "auto":
        return "auto"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number or 'auto', got {text!r}") from None
    return _positive_int(str(value))


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def cmd_batch(args: argparse.Namespace) -> int:
    import sys

    from paravox.cli.main import CLIError

    # Usage errors are printed here rather than raised: under ``python -m paravox.cli.main``
    # the running main module is not the one imported here, so its handler would miss them.
    try:
        return _run(args)
    except CLIError as exc:
        print(f"paravox: error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    import sys

    from paravox.batch import FatalBatchError, OutputExistsError, ResumeError, list_inputs, run_batch
    from paravox.cli.main import CLIError, _options_from_args
    from paravox.inputs import InputListError

    if args.address and args.engine != "ray":
        raise CLIError("--address is for --engine ray; add --engine ray or drop --address")
    if args.engine == "ray":
        from paravox.batch.ray_engine import RayNotInstalledError, import_ray

        try:
            import_ray()
        except RayNotInstalledError as exc:
            raise CLIError(str(exc)) from None
    try:
        items = list_inputs(args.inputs)
    except InputListError as exc:
        raise CLIError(str(exc)) from None
    options = _options_from_args(args)
    bar = _BatchProgress(enabled=not args.quiet)
    try:
        summary = run_batch(
            items,
            args.output,
            options=options,
            engine=args.engine,
            workers=args.workers,
            resume=args.resume,
            address=args.address,
            plugins=args.plugin,
            on_start=bar.start,
            on_result=bar.update,
        )
    except (OutputExistsError, ResumeError, FatalBatchError) as exc:
        raise CLIError(str(exc)) from None
    except OSError as exc:  # the results file could not be written (disk full, permissions)
        where = exc.filename or args.output
        raise CLIError(f"cannot write {where}: {exc.strerror or exc}; fix that, then run again with --resume") from None
    finally:
        bar.close()

    if summary.repaired_bytes:
        print(f"paravox: {args.output}: cut off an incomplete last line ({summary.repaired_bytes} bytes) "
              "left by an interrupted run; that input was analysed again", file=sys.stderr)
    if summary.changed_options:
        shown = ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in list(summary.changed_options.items())[:5])
        print(f"paravox: warning: {args.output} was started with other options ({shown}); "
              "its lines now come from both", file=sys.stderr)
    if summary.other_ids:
        print(f"paravox: {args.output}: kept {summary.other_ids} line(s) whose ids are not inputs of this job",
              file=sys.stderr)
    rate = (f", {_duration(summary.audio_seconds)} of audio in {_duration(summary.elapsed)}"
            if summary.analysed else "")
    if summary.analysed and args.workers == "auto" and summary.workers:
        rate += f" on {summary.workers} worker{'s' if summary.workers > 1 else ''}"
    done = f", {summary.skipped} already done" if summary.skipped else ""
    line = (f"paravox: {summary.total} inputs: {summary.analysed} analysed, {summary.failed} failed{done}{rate}"
            f" -> {args.output}")
    if summary.failed_total:
        print(line, file=sys.stderr)
        print(f"paravox: {summary.failed_total} of {summary.total} inputs failed; "
              f"their lines in {args.output} have an 'error' field", file=sys.stderr)
        return 1
    if not args.quiet:
        print(line, file=sys.stderr)
    return 0


class _BatchProgress:
    """Files done with rate and ETA: a tqdm bar on a terminal, a line every 30 s otherwise."""

    LOG_EVERY = 30.0

    def __init__(self, *, enabled: bool) -> None:
        import sys

        self.enabled = enabled
        self.tty = enabled and sys.stderr.isatty()
        self._bar = None
        self.total = self.done = self.failed = 0
        self._initial = 0
        self._started = self._last_log = 0.0

    def start(self, total: int, already_done: int) -> None:
        import sys
        import time

        self.total, self.done, self._initial = total, already_done, already_done
        self._started = self._last_log = time.monotonic()
        if self.tty:
            from tqdm import tqdm

            self._bar = tqdm(total=total, initial=already_done, unit="file", desc="batch", file=sys.stderr,
                             dynamic_ncols=True, smoothing=0.1)

    def update(self, result) -> None:
        import sys
        import time

        self.done += 1
        if not result.ok:
            self.failed += 1
            if self.enabled:
                self._write(f"paravox: error: {result.message}")
        if self._bar is not None:
            self._bar.update(1)
            if self.failed:
                self._bar.set_postfix(failed=self.failed, refresh=False)
        elif self.enabled and time.monotonic() - self._last_log >= self.LOG_EVERY:
            self._last_log = now = time.monotonic()
            rate = (self.done - self._initial) / max(now - self._started, 1e-9)
            left = (self.total - self.done) / rate if rate > 0 else float("inf")
            eta = "?" if left == float("inf") else _duration(left)
            print(f"paravox: {self.done}/{self.total} inputs ({self.failed} failed), {rate:.2f} files/s, ETA {eta}",
                  file=sys.stderr, flush=True)

    def _write(self, message: str) -> None:
        import sys

        if self._bar is not None:
            self._bar.write(message, file=sys.stderr)
        else:
            print(message, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    seconds = int(seconds)
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
