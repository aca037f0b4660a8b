"""Options objects: flat keyword arguments become one dataclass that can be saved and reloaded.

>>> opts = AnalyzeOptions.from_kwargs(language="zh", beam_size=3)
>>> opts.transcribe.language, opts.transcribe.beam_size
('zh', 3)
>>> AnalyzeOptions.from_dict(opts.to_dict()) == opts
True
>>> AnalyzeOptions.from_kwargs(beam=3)
Traceback (most recent call last):
...
TypeError: unknown option 'beam'; known options: asr, beam_size, ...word_timestamps
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any


@dataclass(frozen=True)
class TranscribeOptions:
    """How the speech recogniser decodes. Defaults were chosen by measurement (see README)."""

    language: str | None = None  #: ISO code ("zh", "en", ...) or None to detect it
    beam_size: int = 5
    #: temperatures tried in turn when a decode looks degenerate; kept short so hard audio stays fast
    temperature: tuple[float, ...] = (0.0, 0.4, 0.8)
    compression_ratio_threshold: float | None = 2.4
    log_prob_threshold: float | None = -1.0
    no_speech_threshold: float | None = 0.6
    condition_on_previous_text: bool = True
    initial_prompt: str | None = None
    word_timestamps: bool = True
    vad: bool = True  #: skip non-speech with the Silero VAD that faster-whisper ships
    vad_min_silence_ms: int = 2000
    vad_threshold: float = 0.3  #: Silero speech probability above which audio counts as speech
    #: also keep stretches as loud as the detected speech (voices Silero scores low); see speech_chunks
    vad_keep_loud: bool = True
    chinese_script: str = "simplified"  #: "simplified" folds Traditional output; "keep" leaves it

    def __post_init__(self) -> None:
        if self.beam_size < 1:
            raise ValueError(f"beam_size must be >= 1, got {self.beam_size}")
        temps = self.temperature
        if isinstance(temps, (int, float)):
            temps = (float(temps),)
        object.__setattr__(self, "temperature", tuple(float(t) for t in temps))
        if not self.temperature or any(t < 0 for t in self.temperature):
            raise ValueError(f"temperature must be one or more values >= 0, got {self.temperature}")
        if self.chinese_script not in ("simplified", "keep"):
            raise ValueError(f"chinese_script must be 'simplified' or 'keep', got {self.chinese_script!r}")
        if self.language is not None:
            object.__setattr__(self, "language", self.language.strip().lower() or None)


@dataclass(frozen=True)
class AnalyzeOptions:
    """Which backends run and how the input is read."""

    asr: str = "whisper-base"
    events: str | None = "paravox-events"  #: vocal-event backend name, None for none
    #: the event backend's options (None: its defaults): a model directory, one threshold
    #: or ``{tag: threshold}``, the tags to keep, the shortest event in seconds
    events_model: str | None = None
    events_threshold: float | dict[str, float] | None = None
    events_tags: tuple[str, ...] | None = None
    events_min_duration: float | None = None
    #: with events on, laughter the recogniser spelled out (哈哈哈, "Ha-ha!") leaves the text
    #: and becomes a [laugh] event, as tagged transcripts write it; False keeps it as text
    laugh_words: bool = True
    emotion: str | None = "paravox-emotion"  #: emotion backend name, None for none
    threads: int = 0  #: CPU threads for the models; 0 lets the runtime choose
    #: long inputs are decoded and transcribed window by window so memory stays bounded
    window_seconds: float = 600.0
    max_duration: float | None = None  #: refuse inputs longer than this many seconds
    transcribe: TranscribeOptions = field(default_factory=TranscribeOptions)

    def __post_init__(self) -> None:
        for name in ("events", "emotion"):
            if isinstance(getattr(self, name), str) and getattr(self, name).strip().lower() in ("", "none", "off"):
                object.__setattr__(self, name, None)
        if self.events_tags is not None:
            tags = self.events_tags.split(",") if isinstance(self.events_tags, str) else self.events_tags
            object.__setattr__(self, "events_tags", tuple(t.strip() for t in tags if t.strip()))
        if isinstance(self.events_threshold, dict):
            object.__setattr__(self, "events_threshold", {str(k): float(v) for k, v in self.events_threshold.items()})
        if self.window_seconds < 30:
            raise ValueError(f"window_seconds must be at least 30, got {self.window_seconds}")
        if self.threads < 0:
            raise ValueError(f"threads must be >= 0, got {self.threads}")

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> "AnalyzeOptions":
        """Sort flat keyword arguments into the analyser's and the recogniser's options."""
        top = {f.name for f in fields(cls)} - {"transcribe"}
        sub = {f.name for f in fields(TranscribeOptions)}
        base = kwargs.pop("transcribe", None) or TranscribeOptions()
        if isinstance(base, dict):
            base = TranscribeOptions(**base)
        unknown = sorted(k for k in kwargs if k not in top | sub)
        if unknown:
            known = ", ".join(sorted(top | sub))
            raise TypeError(f"unknown option {unknown[0]!r}; known options: {known}")
        t_kwargs = {k: v for k, v in kwargs.items() if k in sub}
        a_kwargs = {k: v for k, v in kwargs.items() if k in top}
        return cls(transcribe=replace(base, **t_kwargs), **a_kwargs)

    def with_overrides(self, **kwargs: Any) -> "AnalyzeOptions":
        """A copy with flat keyword overrides applied (recogniser options merged, not replaced).

        >>> AnalyzeOptions.from_kwargs(language="zh").with_overrides(beam_size=2).transcribe.language
        'zh'
        """
        return AnalyzeOptions.from_kwargs(transcribe=self.transcribe, **{
            **{f.name: getattr(self, f.name) for f in fields(self) if f.name != "transcribe"},
            **kwargs,
        })

    def events_backend_options(self) -> dict[str, Any]:
        """Keyword arguments for the event backend: only the options that were set."""
        given = {
            "model": self.events_model,
            "threshold": self.events_threshold,
            "tags": self.events_tags,
            "min_duration": self.events_min_duration,
        }
        return {k: v for k, v in given.items() if v is not None}

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if self.events_tags is not None:
            d["events_tags"] = list(self.events_tags)
        d["transcribe"]["temperature"] = list(self.transcribe.temperature)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "AnalyzeOptions":
        d = dict(d)
        d.pop("elapsed_seconds", None)  # present in Analysis.options, not an option
        t = d.pop("transcribe", None) or {}
        return cls.from_kwargs(transcribe=TranscribeOptions(**t), **d)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)
