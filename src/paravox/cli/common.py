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
