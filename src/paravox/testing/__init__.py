"""Helpers for tests across paravox: synthetic signals and in-memory audio files."""

from paravox.testing.signals import FORMATS, encode, noise, silence, tone, truncate, wav_bytes

__all__ = ["FORMATS", "encode", "noise", "silence", "tone", "truncate", "wav_bytes"]
