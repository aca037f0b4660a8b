"""The errors paravox raises on purpose. Every one derives from :class:`ParavoxError`, so
``except paravox.ParavoxError`` catches what a user can act on; each message names the input
or option at fault and says what to do.

Each error also keeps the built-in type it always had (``AudioError`` is a ``ValueError``,
``BackendNotFoundError`` a ``KeyError`` ...), so code written against those keeps working.

>>> from paravox.errors import OptionError, ParavoxError
>>> issubclass(OptionError, ParavoxError) and issubclass(OptionError, ValueError)
True
"""

from __future__ import annotations


class ParavoxError(Exception):
    """Base of every error paravox raises on purpose."""


class OptionError(ParavoxError, ValueError):
    """An option value that cannot be used (a threshold, a language, a format ...); raised
    before any input is touched. The CLI turns it into exit status 2."""


class InputListError(ParavoxError, ValueError):
    """A wav.scp or manifest line, or an input path, that cannot be used; the message names
    the file and line."""


class ModelError(ParavoxError, ValueError):
    """A model directory that cannot be loaded (missing file, wrong kind, bad config); the
    message names the directory."""


class ModelUnavailableError(ParavoxError, RuntimeError):
    """A model named by the user is neither on this machine nor downloadable from it (offline);
    the message gives the command that fetches it. The command line exits with status 1 for it,
    not 2: the options were right, the machine lacks the model."""


class DeviceUnavailableError(ParavoxError, RuntimeError):
    """A sound device the user asked for (the microphone) is missing, or the library that
    reads it is not installed; the message says which and what to install. Exit status 1."""
