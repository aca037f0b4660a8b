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
from paravox.inputs import InputItem

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
    peak_rss_mb: float = 0.0  #: the worker process's peak resident memory so far (0: not known)


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
        return self.many([InputItem(key, source, language)])[0]

    def many(self, items: "list[InputItem]") -> list[ItemResult]:
        """One :class:`ItemResult` per item, in order. With the option ``pack`` above 1, short
        inputs share the recogniser's windows (:meth:`paravox.analyzer.Analyzer.analyze_many`)."""
        from paravox import formats
        from paravox.inputs import describe, item_language

        options = self.analyzer.options
        jobs = [(item.source, item.key, item_language(options, item)) for item in items]
        try:
            outcomes = self.analyzer.analyze_many(jobs, fatal=self._fatal)
        except self._fatal as exc:
            raise FatalBatchError(str(exc)) from None
        results = []
        for item, outcome in zip(items, outcomes):
            if isinstance(outcome, BaseException):
                results.append(ItemResult(item.key, error_line(item.key, outcome), ok=False,
                                          message=describe(item.key, outcome)))
            else:
                results.append(ItemResult(item.key, formats.json_line(formats.record(outcome, key=item.key)), ok=True,
                                          audio_seconds=outcome.duration))
        return results


def error_line(key: str, exc: BaseException) -> str:
    """The error record of ``key`` as one JSONL line."""
    from paravox.formats import error_record, json_line

    return json_line(error_record(key, exc))
