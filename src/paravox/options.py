"""Options: every option is parsed and validated here, once, whoever passes it (the CLI, a
saved config, the service's query, batch, a library call). Flat keyword arguments become one
dataclass that can be saved and reloaded. A value that cannot be used raises
:class:`~paravox.errors.OptionError` before any input is touched.

>>> opts = AnalyzeOptions.from_kwargs(language="zh", beam_size=3)
>>> opts.transcribe.language, opts.transcribe.beam_size
('zh', 3)
>>> AnalyzeOptions.from_dict(opts.to_dict()) == opts
True
>>> t = AnalyzeOptions.from_kwargs(language="zh,en").transcribe   # a set to detect from
>>> t.language, t.languages
(None, ('zh', 'en'))
>>> AnalyzeOptions.from_kwargs(beam=3)
Traceback (most recent call last):
...
paravox.options.OptionTypeError: unknown option 'beam'; known options: asr, asr_model, beam_size, ...word_timestamps
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Mapping, Sequence

from paravox.errors import OptionError

#: Words that turn a backend off (``--events none``, ``?emotion=off``), wherever they are given.
OFF_WORDS = frozenset({"", "none", "off", "no", "false", "0"})

#: The languages Whisper knows (faster-whisper's list; a test keeps the two equal). Kept
#: here so that validating ``--language`` does not import the recogniser.
WHISPER_LANGUAGES = tuple("""
af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr gl gu ha haw
he hi hr ht hu hy id is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml mn mr ms mt my
ne nl nn no oc pa pl ps pt ro ru sa sd si sk sl sn so sq sr su sv sw ta te tg th tk tl tr tt
uk ur uz vi yi yo zh yue
""".split())


class OptionTypeError(OptionError, TypeError):
    """An option name that no component knows (a TypeError, as for a wrong keyword argument)."""


def backend_name(value: str | None) -> str | None:
    """A backend name as given, or None when the value turns the backend off.

    >>> backend_name("paravox-events"), backend_name(" None "), backend_name("off")
    ('paravox-events', None, None)
    """
    if value is None:
        return None
    text = str(value).strip()
    return None if text.lower() in OFF_WORDS else text


def parse_language(value: str | None) -> str | None:
    """An ISO code Whisper knows (``"zh"``, ``"en"`` ...), or None to detect the language.

    >>> parse_language(" EN "), parse_language(None), parse_language("auto")
    ('en', None, None)
    >>> parse_language("xx")
    Traceback (most recent call last):
    ...
    paravox.errors.OptionError: language 'xx' is not one Whisper knows; give an ISO code such as zh, en, de, ja (or leave it out to detect)
    """
    if value is None:
        return None
    code = str(value).strip().lower()
    if code in ("", "auto", "detect"):
        return None
    if code not in WHISPER_LANGUAGES:
        raise OptionError(
            f"language {value!r} is not one Whisper knows; give an ISO code such as zh, en, de, ja (or leave it out to detect)"
        )
    return code


def parse_languages(value: "str | Sequence[str] | None") -> tuple[str, ...] | None:
    """Languages detection may choose from: ``"zh,en"`` or ``["zh", "en"]`` -> ``("zh", "en")``;
    None (or ``"auto"``) lets it choose any language Whisper knows.

    >>> parse_languages("zh, EN"), parse_languages(None), parse_languages(["en"]), parse_languages("auto")
    (('zh', 'en'), None, ('en',), None)
    >>> parse_languages("zh,xx")
    Traceback (most recent call last):
    ...
    paravox.errors.OptionError: language 'xx' is not one Whisper knows; give an ISO code such as zh, en, de, ja (or leave it out to detect)
    """
    if value is None:
        return None
    items = str(value).split(",") if isinstance(value, str) else [str(v) for v in value]
    codes = [parse_language(v) for v in items if str(v).strip()]
    if any(c is None for c in codes) and len(codes) > 1:
        raise OptionError(f"languages {value!r}: 'auto' cannot be one of several codes; give codes only (zh,en)")
    codes = [c for c in codes if c is not None]
    return tuple(dict.fromkeys(codes)) or None


def parse_threshold(value: "str | float | Mapping[str, float] | None", what: str = "threshold") -> float | dict[str, float] | None:
    """An event threshold: one number for every tag, or ``{tag: number}`` for some tags.

    Either way it is compared with the event's ``score`` (what every output prints): an
    event is kept when its score, rounded as printed (4 decimals), is at least the threshold.
    ``what`` names the option in error messages.

    >>> parse_threshold("laugh=0.4, cough=0.7")
    {'laugh': 0.4, 'cough': 0.7}
    >>> parse_threshold("0.6"), parse_threshold(0.6), parse_threshold(None)
    (0.6, 0.6, None)
    >>> parse_threshold("1.5")
    Traceback (most recent call last):
    ...
    paravox.errors.OptionError: threshold '1.5': values must lie between 0 and 1
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, Mapping):
        try:
            parsed: float | dict[str, float] = {str(k).strip(): float(v) for k, v in value.items()}
        except (TypeError, ValueError):
            raise OptionError(f"{what} {dict(value)!r}: every value must be a number") from None
        values = list(parsed.values())
        text = ",".join(f"{k}={v}" for k, v in parsed.items())
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        parsed, values, text = float(value), [float(value)], str(value)
    else:
        text = str(value).strip()
        try:
            parsed = float(text)
            values = [parsed]
        except ValueError:
            parsed = {}
            for part in text.split(","):
                tag, sep, num = part.partition("=")
                if not sep or not tag.strip():
                    raise OptionError(
                        f"{what} {text!r}: write one number (0.6) or tag=value pairs (laugh=0.4,cough=0.7)"
                    ) from None
                try:
                    parsed[tag.strip()] = float(num)
                except ValueError:
                    raise OptionError(f"{what} {part.strip()!r}: {num.strip()!r} is not a number") from None
            values = list(parsed.values())
    if not values or not all(0.0 <= v <= 1.0 for v in values):
        raise OptionError(f"{what} {text!r}: values must lie between 0 and 1")
    return parsed


def parse_tags(value: "str | Sequence[str] | None") -> tuple[str, ...] | None:
    """``"laugh, cough"`` or ``["laugh", "cough"]`` -> ``("laugh", "cough")``; None keeps every tag.

    >>> parse_tags("laugh, cough"), parse_tags(None)
    (('laugh', 'cough'), None)
    """
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    tags = tuple(str(t).strip() for t in items if str(t).strip())
    if not tags:
        raise OptionError("tags: give one or more tag names, comma-separated (laugh,cough)")
    return tags


@dataclass(frozen=True)
class TranscribeOptions:
    """How the speech recogniser decodes. Defaults were chosen by measurement (docs/benchmarks.md, "Transcription")."""

    #: ISO code ("zh", "en", ...) that forces the language, or None to detect it. Several codes
    #: ("zh,en") do not force: they restrict detection to those languages (they become ``languages``).
    language: str | None = None
    #: detection chooses only among these languages (None: any Whisper knows)
    languages: tuple[str, ...] | None = None
    #: detect the language of every speech region (pauses of 0.5 s or more) and decode each run
    #: of one language with it; False detects once per input, from its first 30 s of speech
    language_per_region: bool = True
    beam_size: int = 5
    #: temperatures tried in turn when a decode looks degenerate; kept short so hard audio stays fast
    temperature: tuple[float, ...] = (0.0, 0.4, 0.8)
    compression_ratio_threshold: float | None = 2.4
    log_prob_threshold: float | None = -1.0
    no_speech_threshold: float | None = 0.6
    condition_on_previous_text: bool = True
    initial_prompt: str | None = None
    #: words or names the recogniser should favour (faster-whisper's hotwords; ignored with initial_prompt)
    hotwords: str | None = None
    word_timestamps: bool = True
    #: let Whisper write sound descriptions as subtitles do ("(laughs)", "*cough*"): the symbols
    #: faster-whisper suppresses by default are allowed; the analyser moves every description
    #: out of the text and a vocal one into the events (:mod:`paravox.vocal_events.sound_words`)
    sound_words: bool = False
    #: at most this many tokens per 30-s window (None: Whisper's own limit); bounds the cost of a repetition loop
    max_new_tokens: int | None = None
    vad: bool = True  #: skip non-speech with the Silero VAD that faster-whisper ships
    vad_min_silence_ms: int = 2000
    vad_threshold: float = 0.3  #: Silero speech probability above which audio counts as speech
    #: also keep stretches as loud as the detected speech (voices Silero scores low); see speech_chunks
    vad_keep_loud: bool = True
    chinese_script: str = "simplified"  #: "simplified" folds Traditional output; "keep" leaves it

    def __post_init__(self) -> None:
        if self.beam_size < 1:
            raise OptionError(f"beam_size must be >= 1, got {self.beam_size}")
        temps = self.temperature
        if isinstance(temps, (int, float)):
            temps = (float(temps),)
        object.__setattr__(self, "temperature", tuple(float(t) for t in temps))
        if not self.temperature or any(t < 0 for t in self.temperature):
            raise OptionError(f"temperature must be one or more values >= 0, got {self.temperature}")
        if self.max_new_tokens is not None and not 1 <= self.max_new_tokens <= 224:
            raise OptionError(f"max_new_tokens must be within [1, 224], got {self.max_new_tokens}")
        if self.vad_min_silence_ms < 0:
            raise OptionError(f"vad_min_silence_ms must be 0 or more, got {self.vad_min_silence_ms}")
        if not 0.0 <= self.vad_threshold <= 1.0:
            raise OptionError(f"vad_threshold is a speech probability between 0 and 1, got {self.vad_threshold}")
        if self.chinese_script not in ("simplified", "keep"):
            raise OptionError(f"chinese_script must be 'simplified' or 'keep', got {self.chinese_script!r}")
        allowed = parse_languages(self.languages)
        given = parse_languages(self.language)
        language = None
        if given is not None and len(given) > 1:  # "zh,en": a set to detect from, not a forced language
            if allowed is not None and set(given) != set(allowed):
                raise OptionError(f"language {self.language!r} and languages {allowed!r} disagree; give one of them")
            allowed = given
        elif given is not None:
            language = given[0]
        if language is not None and allowed is not None and language not in allowed:
            raise OptionError(f"language {language!r} is forced but not among languages {','.join(allowed)}")
        object.__setattr__(self, "language", language)
        object.__setattr__(self, "languages", allowed)


#: Where the recogniser may run (``AnalyzeOptions.device``).
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class AnalyzeOptions:
    """Which backends run and how the input is read."""

    asr: str = "whisper-base"
    #: the recogniser's model: None for the packaged Whisper base (offline); a faster-whisper size
    #: name (small, large-v3, ...), a Hugging Face repo id or a CTranslate2 folder
    asr_model: str | None = None
    device: str = "cpu"  #: where the recogniser runs: cpu, cuda or auto (cuda when a GPU is visible)
    compute_type: str | None = None  #: CTranslate2 compute type; default int8 on cpu, float16 on cuda
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
    #: filled pauses the recogniser wrote as words (um, uh, 嗯, 呃) leave the text and become
    #: [uhm] events (NVSpeech's convention); False (default) keeps them as text, as MNV-17,
    #: NonVerbalSpeech-38K and the NVVSpeech Challenge transcribe them
    filler_words: bool = False
    emotion: str | None = "paravox-emotion"  #: emotion backend name, None for none
    threads: int = 0  #: CPU threads for the models; 0 lets the runtime choose
    #: long inputs are decoded and transcribed window by window so memory stays bounded
    window_seconds: float = 600.0
    max_duration: float | None = None  #: refuse inputs longer than this many seconds
    #: inputs analysed together (:meth:`~paravox.analyzer.Analyzer.analyze_many`, ``paravox batch``):
    #: up to this many short ones share one of the recogniser's 30-s windows; 1 decodes each
    #: input alone, exactly as ``paravox analyze`` does
    pack: int = 1
    transcribe: TranscribeOptions = field(default_factory=TranscribeOptions)

    def __post_init__(self) -> None:
        for name in ("events", "emotion"):
            object.__setattr__(self, name, backend_name(getattr(self, name)))
        if not backend_name(self.asr):
            raise OptionError("asr: a recogniser is needed; see 'paravox models' for the names")
        object.__setattr__(self, "events_tags", parse_tags(self.events_tags))
        object.__setattr__(self, "events_threshold", parse_threshold(self.events_threshold, "events_threshold"))
        if self.events_min_duration is not None and self.events_min_duration < 0:
            raise OptionError(f"events_min_duration must be >= 0 seconds, got {self.events_min_duration}")
        if self.window_seconds < 30:
            raise OptionError(f"window_seconds must be at least 30, got {self.window_seconds}")
        if self.device not in DEVICES:
            raise OptionError(f"device must be one of {', '.join(DEVICES)}, got {self.device!r}")
        if self.threads < 0:
            raise OptionError(f"threads must be >= 0, got {self.threads}")
        if not isinstance(self.pack, int) or isinstance(self.pack, bool) or self.pack < 1:
            raise OptionError(f"pack must be a whole number >= 1 (1: no packing), got {self.pack!r}")
        if self.max_duration is not None and self.max_duration <= 0:
            raise OptionError(f"max_duration must be a positive number of seconds, got {self.max_duration}")

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
            raise OptionTypeError(f"unknown option {unknown[0]!r}; known options: {known}")
        t_kwargs = {k: v for k, v in kwargs.items() if k in sub}
        a_kwargs = {k: v for k, v in kwargs.items() if k in top}
        return cls(transcribe=replace(base, **t_kwargs), **a_kwargs)

    def with_overrides(self, **kwargs: Any) -> "AnalyzeOptions":
        """A copy with flat keyword overrides applied (recogniser options merged, not replaced).

        >>> AnalyzeOptions.from_kwargs(language="zh").with_overrides(beam_size=2).transcribe.language
        'zh'

        A new ``language`` replaces the old choice whole (``languages`` too, unless also given):
        >>> AnalyzeOptions.from_kwargs(language="zh,en").with_overrides(language="fr").transcribe.language
        'fr'
        """
        if kwargs.get("language") is not None and "languages" not in kwargs:
            kwargs = {**kwargs, "languages": None}
        return AnalyzeOptions.from_kwargs(transcribe=self.transcribe, **{
            **{f.name: getattr(self, f.name) for f in fields(self) if f.name != "transcribe"},
            **kwargs,
        })

    def asr_backend_options(self) -> dict[str, Any]:
        """Keyword arguments for the recogniser: only the model choices that were set (a
        recogniser that takes none of them keeps working with the defaults)."""
        given = {"model": self.asr_model, "device": None if self.device == "cpu" else self.device,
                 "compute_type": self.compute_type}
        return {k: v for k, v in given.items() if v is not None}

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
        if self.transcribe.languages is not None:
            d["transcribe"]["languages"] = list(self.transcribe.languages)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "AnalyzeOptions":
        d = dict(d)
        d.pop("elapsed_seconds", None)  # present in Analysis.options, not an option
        item_language = d.pop("input_language", None)  # one input's language (a manifest line's)
        t = d.pop("transcribe", None) or {}
        if item_language is not None:
            t = {**t, "language": item_language, "languages": None}
        return cls.from_kwargs(transcribe=TranscribeOptions(**t), **d)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)
