"""paravox: hear what is said and how it is said.

>>> import paravox
>>> result = paravox.analyze("talk.wav")             # doctest: +SKIP
>>> result.tagged_text()                              # doctest: +SKIP
'他对着光 [hum] 仔细端详着'

Public names are imported lazily so that ``import paravox`` stays cheap.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

if "ctranslate2" not in sys.modules:
    # CTranslate2's OpenMP threads (libgomp) spin for a while after each call by default, and
    # the event and emotion heads (ONNX Runtime, NumPy) that run between two recogniser calls
    # then share the cores with threads doing nothing: on 2 cores a short clip took 1.5 times
    # as long to analyse (benchmarks/experiments/omp_wait.py; docs/benchmarks.md, "Speed on
    # short clips"). Passive waiting changes no result. A value set by the user wins; it must
    # be set before ctranslate2 is first imported.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

__all__ = [
    "Analysis",
    "Analyzer",
    "AnalyzeOptions",
    "AudioError",
    "Classification",
    "EmotionResult",
    "EmotionScore",
    "Event",
    "EventsResult",
    "OptionError",
    "ParavoxError",
    "Segment",
    "TranscribeOptions",
    "Word",
    "analyze",
    "classify",
    "emotion",
    "events",
    "load_audio",
    "__version__",
]

_LAZY = {
    "Analysis": "paravox.result",
    "Classification": "paravox.result",
    "EmotionResult": "paravox.result",
    "EventsResult": "paravox.result",
    "ParavoxError": "paravox.errors",
    "OptionError": "paravox.errors",
    "EmotionScore": "paravox.result",
    "Event": "paravox.result",
    "Segment": "paravox.result",
    "Word": "paravox.result",
    "Analyzer": "paravox.analyzer",
    "AnalyzeOptions": "paravox.options",
    "TranscribeOptions": "paravox.options",
    "analyze": "paravox.analyzer",
    "AudioError": "paravox.audio",
    "load_audio": "paravox.audio",
    "emotion": "paravox.speech_emotion.api",  # file-level emotion and emotion over time -> EmotionResult
    "events": "paravox.vocal_events.api",  # timed vocal events in a recording -> EventsResult
    "classify": "paravox.vocal_events.api",  # one isolated vocalization -> Classification
}

if TYPE_CHECKING:  # pragma: no cover
    from paravox.analyzer import Analyzer, analyze
    from paravox.audio import AudioError, load_audio
    from paravox.errors import OptionError, ParavoxError
    from paravox.options import AnalyzeOptions, TranscribeOptions
    from paravox.result import Analysis, Classification, EmotionResult, EmotionScore, Event, EventsResult, Segment, Word


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'paravox' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
