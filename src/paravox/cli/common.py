"""What every command of the CLI shares: the input flags."""

from __future__ import annotations

import argparse


def add_input_arguments(p: argparse.ArgumentParser, audio_help: str | None = None) -> None:
    """The input flags every analysis command shares: files and ``-``, ``--scp``, ``--manifest``."""
    g = p.add_argument_group("inputs (any mix)")
    g.add_argument(
        "inputs", nargs="*", metavar="AUDIO",
        help=audio_help or "audio files (wav, flac, mp3, ogg/opus, m4a/aac, webm); '-' reads stdin",
    )
    g.add_argument("--scp", metavar="WAV_SCP", help="Kaldi wav.scp list: '<id> <path>' per line")
    g.add_argument("--manifest", metavar="JSONL", help="JSONL list with 'id' and 'audio' (relative to the list) per line")


class UsageError(Exception):
    """A problem with how the command was called: one line on stderr, exit status 2."""


def fail(message: str) -> int:
    """Print one usage-error line and return exit status 2."""
    import sys

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
