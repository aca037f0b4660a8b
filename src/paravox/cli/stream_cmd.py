"""``paravox stream``: live analysis of the microphone, a file at real-time pace, or raw PCM.

Only argparse is imported at module level.
"""

from __future__ import annotations

import argparse
import sys

from paravox.cli.common import guard

EPILOG = """\
examples:
  paravox stream talk.wav --realtime        as if spoken now: partial text in place, final segments as lines
  paravox stream talk.wav -f jsonl          as fast as possible; every message as a JSON line
  paravox stream --mic -l zh                the microphone (needs: pip install 'paravox[mic]'); Ctrl-C ends
  arecord -f S16_LE -r 16000 -c 1 | paravox stream --raw 16000 -

Messages (-f jsonl) are those of the service's /v1/stream: partial, segment, event, then
done with the whole Analysis (docs/streaming.md). Final segments never change; the same
audio gives the same segments and done, whatever the pace.
"""

#: Seconds of audio per piece read from a file or stdin.
PIECE_SECONDS = 0.1


def register(sub: argparse._SubParsersAction) -> None:
    from paravox.cli.main import _add_model_options

    p = sub.add_parser(
        "stream",
        help="live analysis: partial text, final segments with tags and emotion as the audio comes",
        description="Analyse audio as it arrives: from the microphone, from a file (at real-time pace with "
        "--realtime, else as fast as possible) or raw 16-bit PCM. Segments are cut at pauses (or after "
        "--max-segment seconds of speech without one) and printed final as they are cut.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g = p.add_argument_group("input (one)")
    g.add_argument("input", nargs="?", metavar="AUDIO", help="an audio file, or '-' for stdin (with --raw: raw PCM)")
    g.add_argument("--mic", action="store_true", help="record from the default microphone until Ctrl-C")
    g.add_argument("--raw", type=int, default=None, metavar="RATE",
                   help="the input is raw 16-bit little-endian mono PCM at RATE Hz (no header)")
    g.add_argument("--realtime", action="store_true", help="read a file at real-time pace, as if it were spoken now")
    g = p.add_argument_group("stream")
    g.add_argument("--partials", dest="partials", action="store_true", default=None,
                   help="make partial text between segments (default: on for --mic and --realtime, off otherwise)")
    g.add_argument("--no-partials", dest="partials", action="store_false", help="final segments only")
    g.add_argument("--max-segment", type=float, default=None, metavar="SECONDS",
                   help="cut speech that has no pause after this long (default 15; 2 to 30)")
    g = p.add_argument_group("output")
    g.add_argument("-f", "--format", choices=("text", "jsonl"), default="text",
                   help="text: final segments as lines, partials in place on a terminal (default); "
                        "jsonl: every message as a JSON line")
    g.add_argument("-o", "--output", metavar="FILE", help="write there instead of stdout (line by line)")
    g.add_argument("-q", "--quiet", action="store_true", help="no closing summary on stderr")
    _add_model_options(p)
    p.set_defaults(handler=guard(cmd_stream))


def cmd_stream(args: argparse.Namespace) -> int:
    from paravox.cli.common import UsageError, analyze_options

    sources = [bool(args.input), args.mic]
    if sum(sources) != 1:
        raise UsageError("give one input: an audio file, '-', or --mic")
    if args.mic and (args.raw or args.realtime):
        raise UsageError("--mic records live already; --raw and --realtime are for files and stdin")
    if args.input == "-" and args.raw is None:
        raise UsageError("stdin is read as raw PCM: give its rate with --raw RATE (e.g. --raw 16000)")
    opts = analyze_options(args)
    from paravox.streaming import StreamOptions

    stream_opts = StreamOptions(
        partials=args.partials if args.partials is not None else bool(args.mic or args.realtime),
        **({"max_segment": args.max_segment} if args.max_segment is not None else {}),
    )
    if args.mic:
        pieces, name = _microphone(), "microphone"
    elif args.raw is not None:
        pieces, name = _raw(args.input, args.raw), args.input if args.input != "-" else "stdin"
    else:
        pieces, name = _file(args.input, opts.max_duration), args.input
    from paravox.analyzer import Analyzer
    from paravox.streaming import StreamSession
    from paravox.streaming.live import run_live

    session = StreamSession(Analyzer(opts), stream_opts, name=name)
    out = open(args.output, "w", encoding="utf-8") if args.output and args.output != "-" else sys.stdout
    printer = _Printer(out, args.format, tty=out.isatty())
    from paravox.audio import AudioError

    try:
        run_live(session, pieces, printer, realtime=args.realtime)
    except AudioError as exc:
        print(f"paravox: error: {exc}", file=sys.stderr)
        return 1
    finally:
        printer.close()
        if out is not sys.stdout:
            out.close()
    if not args.quiet:
        a = session.analysis()
        print(f"paravox: {name}: {a.duration:.1f} s of audio, {len(a.segments)} segments, {len(a.events)} events",
              file=sys.stderr)
    return 0


class _Printer:
    """Messages out: JSON lines, or text with the partial redrawn in place on a terminal."""

    def __init__(self, out, fmt: str, *, tty: bool) -> None:
        self.out, self.fmt, self.tty = out, fmt, tty
        self._partial = False

    def __call__(self, message: dict) -> None:
        import json

        kind = message["type"]
        if self.fmt == "jsonl":
            self.out.write(json.dumps(message, ensure_ascii=False) + "\n")
        elif kind == "partial":
            if not self.tty:
                return
            import shutil

            width = shutil.get_terminal_size((100, 20)).columns - 4
            text = message["tagged_text"]
            self.out.write("\r\033[K… " + (text if len(text) <= width else "…" + text[-width + 1:]))
            self._partial = True
        elif kind == "segment":
            self._clear()
            emo = message.get("emotion") or {}
            label = f"  ({emo['label']})" if emo.get("label") else ""
            if message.get("tagged_text", "").strip():
                self.out.write(f"[{_clock(message['start'])} - {_clock(message['end'])}] {message['tagged_text']}{label}\n")
        self.out.flush()

    def _clear(self) -> None:
        if self._partial:
            self.out.write("\r\033[K")
            self._partial = False

    def close(self) -> None:
        self._clear()
        self.out.flush()


def _clock(seconds: float) -> str:
    m, s = divmod(seconds, 60)
    return f"{int(m):02d}:{s:05.2f}"


def _file(path: str, max_duration):
    from paravox.audio import SAMPLE_RATE, stream_audio

    step = int(PIECE_SECONDS * SAMPLE_RATE)
    for window in stream_audio(path, window_seconds=30.0, name=path, max_duration=max_duration):
        for i in range(0, len(window), step):
            yield window[i : i + step]


def _raw(path: str, rate: int):
    from paravox.audio.pcm import PcmReader

    reader = PcmReader(rate, name=path)
    size = max(2, int(rate * PIECE_SECONDS) * 2)
    stream = sys.stdin.buffer if path == "-" else open(path, "rb")
    try:
        while True:
            data = stream.read(size)
            if not data:
                break
            yield reader.push(data)
        yield reader.flush()
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def _microphone():
    from paravox.streaming.live import microphone

    return microphone()

