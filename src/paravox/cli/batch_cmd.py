"""``paravox batch``: a whole corpus into one JSONL file, on local workers or on Ray.

Only argparse is imported here at module level; the command imports the rest when it runs.
"""

from __future__ import annotations

import argparse

EXAMPLES = """\
examples:
  paravox batch corpus/ -o results.jsonl                  every audio file under corpus/
  paravox batch wav.scp -o results.jsonl --workers 2      Kaldi list, two worker processes
  paravox batch corpus/ -o results.jsonl --workers 1      one worker process (default: one per core, as memory allows)
  paravox batch corpus/ -o results.jsonl --pack 1         each input alone, exactly as 'paravox analyze'
  paravox batch wav.scp -o results.jsonl --resume         after a crash: do only what is missing
  paravox batch wav.scp -o results.jsonl --resume --retry-errors     also analyse the failed inputs again
  paravox batch manifest.jsonl -o results.jsonl --engine ray --address auto

INPUT is a folder (searched recursively for audio files; ids are paths relative to it),
a Kaldi wav.scp ('<id> <path>' per line), a JSONL manifest ('id' and 'audio' per line), or
an audio file. Each input gets one line in the results file: the analysis (as written by
'paravox analyze -o x.jsonl') or {"id", "error": {"type", "message"}}. Exit code 0 when
every input was analysed, 1 when some failed (their error lines say why), 2 for a usage error
or a bad option (checked before any input is read; nothing is written).
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
    p.add_argument(
        "--retry-errors",
        action="store_true",
        help="with --resume: also analyse again the inputs whose line is an error; each such line is "
        "replaced, so every id keeps exactly one line",
    )
    p.add_argument("-w", "--workers", type=_workers, default=None, metavar="N",
                   help="parallel workers, each with its own models: processes (local) or actors (ray, default: "
                   "the cluster's CPUs); 'auto' (the local default): one per core, as many as memory allows "
                   "(about 1.2 GB each); without --threads, local workers share the cores equally")
    p.add_argument("--pack", type=_positive_int, default=32, metavar="N",
                   help="analyse N inputs together (default 32): the short ones (one language, at most 20 s of "
                   "speech) share Whisper's 30-s windows, decoded in batches (the recogniser about 1.8x as fast on "
                   "short clips, docs/benchmarks.md); a packed clip's words can differ from what it gives alone (Whisper hears its "
                   "neighbours too), and the same job always packs the same way; 1: each input alone, exactly "
                   "as 'paravox analyze'")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local worker processes (default) or Ray Data (needs: pip install 'paravox[ray]')")
    p.add_argument("--address", metavar="ADDR",
                   help="Ray cluster to run on ('auto', 'HOST:6379', 'ray://HOST:10001'); default: a local Ray")
    p.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                   help="import MODULE in every worker before the models load (for backends you register yourself)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bar and no per-file error lines (the results file has them)")
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

    from paravox.batch import FatalBatchError, OutputExistsError, ResumeError, list_inputs, run_batch
    from paravox.batch.runner import check_backends
    from paravox.cli.common import UsageError, analyze_options
    from paravox.cli.progress import Progress, duration

    # Options first: a bad one stops the job before any input is listed or a line is written.
    if args.address and args.engine != "ray":
        raise UsageError("--address is for --engine ray; add --engine ray or drop --address")
    if args.retry_errors and not args.resume:
        raise UsageError("--retry-errors analyses again the failed inputs of an existing results file; add --resume")
    options = analyze_options(args)
    check_backends(options.to_dict(), args.plugin)
    if args.engine == "ray":
        from paravox.batch.ray_engine import import_ray

        import_ray()
    items = list_inputs(args.inputs)
    progress = Progress(enabled=not args.quiet, errors=not args.quiet, log_every=30.0, desc="batch")
    try:
        summary = run_batch(
            items,
            args.output,
            options=options,
            engine=args.engine,
            workers=args.workers if args.workers is not None or args.engine != "local" else "auto",
            resume=args.resume,
            retry_errors=args.retry_errors,
            address=args.address,
            plugins=args.plugin,
            on_start=progress.begin,
            on_result=lambda result: progress.end_item(None if result.ok else result.message),
        )
    except (OutputExistsError, ResumeError, FatalBatchError):
        raise  # paravox's own errors (OutputExistsError is also an OSError): one line, exit status 2
    except OSError as exc:  # the results file could not be written (disk full, permissions)
        where = exc.filename or args.output
        raise UsageError(f"cannot write {where}: {exc.strerror or exc}; fix that, then run again with --resume") from None
    finally:
        progress.close()

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
    rate = (f", {duration(summary.audio_seconds)} of audio in {duration(summary.elapsed)}"
            if summary.analysed else "")
    if summary.analysed and args.workers in ("auto", None) and summary.workers:
        rate += f" on {summary.workers} worker{'s' if summary.workers > 1 else ''}"
    if summary.analysed:
        rate += f" ({summary.clips_per_second:.2f} inputs/s, {summary.audio_hours_per_hour:.1f} h of audio per hour"
        rate += f", peak {summary.peak_worker_rss_mb:.0f} MiB per worker)" if summary.peak_worker_rss_mb else ")"
    done = f", {summary.skipped} already done" if summary.skipped else ""
    retried = f", {summary.retried} retried" if summary.retried else ""
    line = (f"paravox: {summary.total} inputs: {summary.analysed} analysed, {summary.failed} failed{retried}{done}"
            f"{rate} -> {args.output}")
    if summary.failed_total:
        print(line, file=sys.stderr)
        print(f"paravox: {summary.failed_total} of {summary.total} inputs failed; "
              f"their lines in {args.output} have an 'error' field", file=sys.stderr)
        return 1
    if not args.quiet:
        print(line, file=sys.stderr)
    return 0
