"""Backends by name: every model paravox runs is a plug-in registered under a short name.

Four kinds: ``asr`` (speech recogniser), ``events`` (vocal-event detector), ``emotion`` and
``classify`` (names one isolated vocalization).
A factory is registered with :func:`register` and built with
:func:`create`; the pipeline only ever asks for a kind and a name.

>>> from paravox.backends import registry
>>> @registry.register("events", "always-laugh", description="test detector")
... class AlwaysLaugh:
...     name = "always-laugh"
...     def detect(self, samples, sample_rate, segments):
...         return []
>>> isinstance(registry.create("events", "always-laugh"), AlwaysLaugh)
True
>>> registry.unregister("events", "always-laugh")
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence, runtime_checkable

import numpy as np

from paravox.errors import ParavoxError
from paravox.result import Classification, EmotionScore, Event, Segment

KINDS = ("asr", "events", "emotion", "classify")

# Modules that register the built-in backends when imported. Imported lazily so that
# ``import paravox`` and ``paravox --help`` stay instant.
# ``catalogue`` registers the hub models (SenseVoice, emotion2vec+, Qwen ...) without importing
# their runtimes: each is imported when its backend is built.
_BUILTIN_MODULES = {
    "asr": ("paravox.backends.whisper", "paravox.backends.catalogue"),
    "events": ("paravox.backends.vocal_events", "paravox.backends.catalogue"),
    "emotion": ("paravox.backends.speech_emotion", "paravox.backends.catalogue"),
    "classify": ("paravox.backends.vocal_events", "paravox.backends.catalogue"),
}


class BackendNotFoundError(ParavoxError, KeyError):
    """No backend of that kind is registered under that name."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0])


@dataclass(frozen=True)
class BackendInfo:
    kind: str
    name: str
    factory: Callable[..., Any]
    description: str = ""


_REGISTRY: dict[str, dict[str, BackendInfo]] = {kind: {} for kind in KINDS}
_LOADED: set[str] = set()


@runtime_checkable
class ASRBackend(Protocol):
    """Turns 16 kHz mono float32 samples into segments with word timestamps."""

    name: str

    def transcribe(
        self, samples: np.ndarray, *, offset: float = 0.0, options: Any = None, progress: Any = None
    ) -> "ASRResult": ...


@dataclass
class ASRResult:
    segments: list[Segment]
    language: str | None
    language_probability: float | None


@runtime_checkable
class EventBackend(Protocol):
    """Finds vocal events in 16 kHz mono float32 samples; may use the speech segments."""

    name: str

    def detect(self, samples: np.ndarray, sample_rate: int, segments: Sequence[Segment]) -> list[Event]: ...


@runtime_checkable
class EmotionBackend(Protocol):
    """Scores the emotion of the whole input and of each speech segment."""

    name: str

    def score(
        self, samples: np.ndarray, sample_rate: int, segments: Sequence[Segment]
    ) -> tuple[EmotionScore | None, list[EmotionScore | None]]: ...


@runtime_checkable
class ClassifyBackend(Protocol):
    """Names one isolated vocalization (or says ``none``): a :class:`~paravox.result.Classification`."""

    name: str

    def classify(self, source: Any, *, name: str | None = None) -> Classification: ...


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown backend kind {kind!r}; choose one of {', '.join(KINDS)}")


def register(kind: str, name: str, *, description: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: register a backend factory (a class or a function) under ``kind``/``name``."""
    _check_kind(kind)

    def deco(factory: Callable[..., Any]) -> Callable[..., Any]:
        _REGISTRY[kind][name] = BackendInfo(kind, name, factory, description or (factory.__doc__ or "").strip().split("\n")[0])
        return factory

    return deco


def unregister(kind: str, name: str) -> None:
    _check_kind(kind)
    _REGISTRY[kind].pop(name, None)


def _load_builtins(kind: str) -> None:
    if kind in _LOADED:
        return
    _LOADED.add(kind)
    for module in _BUILTIN_MODULES[kind]:
        importlib.import_module(module)


def available(kind: str) -> dict[str, BackendInfo]:
    """The backends registered for ``kind``, built-ins included."""
    _check_kind(kind)
    _load_builtins(kind)
    return dict(_REGISTRY[kind])


def create(kind: str, name: str, **options: Any) -> Any:
    """Build the backend ``name`` of ``kind``; unknown names list what is available."""
    backends = available(kind)
    if name not in backends:
        have = ", ".join(sorted(backends)) or "none installed yet"
        raise BackendNotFoundError(f"no {kind} backend named {name!r}; available: {have}")
    return backends[name].factory(**options)
