"""The per-item function every engine runs: one input in, one JSONL result line out.

An :class:`ItemAnalyzer` is built once per worker process (one per local worker, one per Ray
actor) from a :class:`WorkerSpec`, loads its models once, and then turns each
``(id, path)`` into an :class:`ItemResult`. A bad input never raises: it becomes an error
record ``{"id", "error": {"type", "message"}}``. Only problems that would fail every item
(an unknown backend name, missing model files) raise :class:`FatalBatchError`.

The lines are exactly what ``paravox analyze -o results.jsonl`` writes.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from paravox.errors import ParavoxError

__all__ = ["FatalBatchError", "ItemAnalyzer", "ItemResult", "WorkerSpec"]


class FatalBatchError(ParavoxError, RuntimeError):
    """A problem that no input can get past (bad backend name, missing model files)."""


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker needs to build its analyser; plain data, so it pickles anywhere."""

    options: dict[str, Any] = field(default_factory=dict)  #: ``AnalyzeOptions.to_dict()``
    #: modules imported in every worker before the models load (backends registered by the user)
    plugins: tuple[str, ...] = ()


@dataclass(frozen=True)
class ItemResult:
    key: str
    line: str  #: one JSON object and a newline
    ok: bool
    audio_seconds: float = 0.0  #: duration analysed (0 for a failed item)
    message: str = ""  #: for a failed item: the error, naming the input


def import_plugins(plugins: tuple[str, ...] | list[str]) -> None:
    for name in plugins:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise FatalBatchError(f"cannot import plugin module {name!r}: {exc}") from None


class ItemAnalyzer:
    """Loads the models of ``spec`` once; ``analyzer(key, source)`` gives one :class:`ItemResult`."""

    def __init__(self, spec: WorkerSpec) -> None:
        from paravox.analyzer import Analyzer
        from paravox.backends.registry import BackendNotFoundError
        from paravox.encoder.files import ModelFilesError
        from paravox.inputs import FATAL_ERRORS
        from paravox.options import AnalyzeOptions

        self._fatal = FATAL_ERRORS + (BackendNotFoundError, ModelFilesError)
        import_plugins(spec.plugins)
        self.analyzer = Analyzer(AnalyzeOptions.from_dict(spec.options))
        try:  # load now: a missing model stops the job before any input is consumed
            self.analyzer.asr, self.analyzer.events, self.analyzer.emotion
        except self._fatal as exc:
            raise FatalBatchError(str(exc)) from None

    def __call__(self, key: str, source: str, language: str | None = None) -> ItemResult:
        from paravox import formats
        from paravox.inputs import InputItem, attempt, describe, item_language

        try:
            outcome = attempt(InputItem(key, source, language),
                              lambda item: self.analyzer.analyze(item.source, name=item.key,
                                                                 language=item_language(self.analyzer.options, item)),
                              fatal=self._fatal)
        except self._fatal as exc:
            raise FatalBatchError(str(exc)) from None
        if outcome.error is not None:
            return ItemResult(key, error_line(key, outcome.error), ok=False, message=describe(key, outcome.error))
        analysis = outcome.result
        return ItemResult(key, formats.json_line(formats.record(analysis, key=key)), ok=True,
                          audio_seconds=analysis.duration)


def error_line(key: str, exc: BaseException) -> str:
    """The error record of ``key`` as one JSONL line."""
    from paravox.formats import error_record, json_line

    return json_line(error_record(key, exc))
