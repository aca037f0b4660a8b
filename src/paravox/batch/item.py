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
import json
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
        from paravox.options import AnalyzeOptions

        self._fatal = (BackendNotFoundError, ModelFilesError)
        import_plugins(spec.plugins)
        self.analyzer = Analyzer(AnalyzeOptions.from_dict(spec.options))
        try:  # load now: a missing model stops the job before any input is consumed
            self.analyzer.asr, self.analyzer.events, self.analyzer.emotion
        except self._fatal as exc:
            raise FatalBatchError(str(exc)) from None

    def __call__(self, key: str, source: str) -> ItemResult:
        from paravox import formats
        from paravox.audio import AudioError

        try:
            analysis = self.analyzer.analyze(source, name=key)
        except self._fatal as exc:
            raise FatalBatchError(str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - one bad input must not stop the job
            message = str(exc) if isinstance(exc, AudioError) else f"{key}: {type(exc).__name__}: {exc}"
            return ItemResult(key, error_line(key, exc), ok=False, message=message)
        return ItemResult(key, formats.render(analysis, "jsonl", key=key), ok=True, audio_seconds=analysis.duration)


def error_line(key: str, exc: BaseException) -> str:
    """The error record of ``key`` as one JSONL line."""
    from paravox.formats import error_record

    return json.dumps(error_record(key, exc), ensure_ascii=False) + "\n"
