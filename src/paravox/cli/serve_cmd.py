"""``paravox serve``: the HTTP API and the web page. Only argparse is imported at module level."""

from __future__ import annotations

import argparse

from paravox.cli.common import add_threshold_argument, fail


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="HTTP API (Analysis JSON, OpenAI-style transcriptions) and a web page",
        description="Serve the analyser over HTTP: POST /v1/analyze, POST /v1/audio/transcriptions, "
        "live analysis over a WebSocket at /v1/stream, GET /healthz, /openapi.json, and a web page at /. "
        "Needs the 'serve' extra.",
        epilog="examples:\n"
        "  paravox serve --port 8000 --events paravox-events\n"
        "  curl -F file=@a.wav localhost:8000/v1/analyze\n"
        "  curl -F file=@a.wav -F response_format=srt localhost:8000/v1/audio/transcriptions\n"
        "  ws://localhost:8000/v1/stream   live: 16-bit PCM frames in, partial/segment/event/done out (docs/streaming.md)\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 for all)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    g = p.add_argument_group("models (loaded once, before the server accepts requests)")
    g.add_argument("-l", "--language", default=None, help="default spoken language (default: detect)")
    g.add_argument("--asr", default=None, help="speech recogniser backend (default: whisper-base)")
    g.add_argument("--asr-model", default=None, metavar="NAME|DIR",
                   help="the Whisper model: a size (large-v3 ...), a Hugging Face repo id or a CTranslate2 folder "
                        "(default: the packaged base, offline)")
    g.add_argument("--device", default=None, choices=("auto", "cpu", "cuda"), help="where Whisper runs (default cpu)")
    g.add_argument("--compute-type", default=None, metavar="TYPE", help="CTranslate2 compute type (default int8 on cpu)")
    g.add_argument("--config", default=None, metavar="JSON", help="options from a file written by --save-config")
    g.add_argument("--events", default=None, metavar="NAME", help="vocal-event backend ('none' for none; see 'paravox models')")
    g.add_argument("--events-model", default=None, metavar="DIR", help="an events model directory from 'paravox train events'")
    add_threshold_argument(g, dest="events_threshold")
    g.add_argument("--emotion", default=None, metavar="NAME", help="emotion backend ('none' for none; see 'paravox models')")
    g.add_argument(
        "--threads", type=int, default=None,
        help="CPU threads of each analysis (default: the cores shared out among --concurrency)",
    )
    g.add_argument("--max-duration", type=float, default=None, metavar="SECONDS", help="refuse recordings longer than this (413)")
    g = p.add_argument_group("limits")
    g.add_argument("--max-upload-mb", type=float, default=100.0, help="largest upload in MiB; larger gets 413 (default 100)")
    g.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS", help="request timeout; past it 408 (default 300)")
    g.add_argument(
        "--concurrency", type=int, default=None,
        help="analyses run at once, sharing the models (default: 2 where there are 2 cores or more, else 1)",
    )
    g.add_argument("--queue", type=int, default=8, help="requests that may wait beyond those; more get 503 (default 8)")
    g.add_argument("--max-streams", type=int, default=4,
                   help="live streams (/v1/stream) open at once; the next is refused with close code 1013 (default 4)")
    g.add_argument("--stream-idle-timeout", type=float, default=30.0, metavar="SECONDS",
                   help="close a stream that sends nothing for this long (default 30)")
    g.add_argument("--max-stream-minutes", type=float, default=60.0, metavar="MINUTES",
                   help="finish a stream at this much audio: its result so far is sent, then it closes (default 60)")
    g.add_argument("--trim-memory", action=argparse.BooleanOptionalAction, default=True,
                   help="give freed memory back to the system after every analysis and stream (glibc's malloc_trim): "
                        "about 250 MB less resident memory under load at no measured cost (default on; "
                        "docs/benchmarks.md)")
    g.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    p.set_defaults(handler=cmd_serve)


def share_cores(concurrency: int | None, threads: int | None, cores: int) -> tuple[int, int]:
    """The server's analyses at once and threads per analysis, from what was given.

    Two analyses with one core each serve more than one analysis on both cores, which leaves
    part of two cores idle (README, "Service": p95 at 4 clients on 2 cores halved).

    >>> share_cores(None, None, 2), share_cores(None, None, 1), share_cores(None, None, 16)
    ((2, 1), (1, 1), (2, 8))
    >>> share_cores(1, None, 2), share_cores(None, 2, 2), share_cores(4, 1, 16)
    ((1, 2), (2, 2), (4, 1))
    """
    concurrency = concurrency or min(2, cores)
    return concurrency, threads if threads is not None else max(1, cores // concurrency)


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from paravox.serve.app import create_app
    except ImportError as exc:
        return fail(f"needs the 'serve' extra ({exc.name} is missing): pip install 'paravox[serve]'")
    from paravox.backends import registry
    from paravox.cli.common import analyze_options
    from paravox.machine import available_cores

    if args.concurrency is not None and args.concurrency < 1:
        return fail(f"--concurrency must be at least 1, got {args.concurrency}")
    args.concurrency, args.threads = share_cores(args.concurrency, args.threads, available_cores())
    options = analyze_options(args)  # the same flags, parsed the same way, as analyze
    for kind in ("asr", "events", "emotion"):
        name = getattr(options, kind)
        if name and name not in registry.available(kind):
            have = ", ".join(sorted(registry.available(kind))) or "none installed yet"
            return fail(f"no {kind} backend named {name!r}; available: {have}")
    try:
        app = create_app(
            options,
            max_upload_mb=args.max_upload_mb,
            request_timeout_s=args.timeout,
            max_concurrency=args.concurrency,
            max_queue=args.queue,
            max_streams=args.max_streams,
            stream_idle_timeout_s=args.stream_idle_timeout,
            max_stream_s=args.max_stream_minutes * 60,
            trim_memory=args.trim_memory,
        )
    except (TypeError, ValueError) as exc:  # limits out of range
        return fail(str(exc))
    try:  # load the models now, so that a missing one is one clear line, not a traceback
        app.state.pool.load()
    except Exception as exc:  # noqa: BLE001 - whatever a backend raises while loading
        from paravox.errors import ModelUnavailableError

        code = fail(f"cannot load the models: {exc}")
        return 1 if isinstance(exc, ModelUnavailableError) else code
    # uvicorn's own cap on open requests is a backstop above the app's queue: /healthz and
    # the page still answer while the queue is full, and nothing grows without bound.
    limit = args.concurrency + args.queue + args.max_streams + 32
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, limit_concurrency=limit, timeout_graceful_shutdown=5)
    return 0
