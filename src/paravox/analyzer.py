"""The analysis pipeline: audio in, one :class:`~paravox.result.Analysis` out.

Stages, each a backend chosen by name (see :mod:`paravox.backends.registry`):

1. audio is decoded window by window (:func:`paravox.audio.stream_audio`), so a two-hour
   file never sits in memory whole; windows are cut in a pause found by the VAD, so no word
   is split between two windows;
2. ``asr`` turns each window into segments with word timestamps;
3. ``events`` (optional) finds vocal events; they are written inline by ``Analysis.tagged_text``.
   Laughter the recogniser spelled out (``哈哈哈``, ``Ha-ha!``) leaves the text and becomes a
   ``laugh`` event (:mod:`paravox.vocal_events.laugh_words`; ``laugh_words=False`` keeps it);
   with ``filler_words=True``, filled pauses (``um``, ``嗯``) become ``uhm`` events
   (:mod:`paravox.vocal_events.filler_words`);
4. ``emotion`` (optional) scores each segment and the whole input.

>>> from paravox.analyzer import Analyzer
>>> analyzer = Analyzer(language="en")            # doctest: +SKIP
>>> analyzer.analyze("talk.wav").text              # doctest: +SKIP
'Hello and welcome.'
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from paravox.audio import SAMPLE_RATE, source_name, stream_audio
from paravox.backends import registry
from paravox.options import AnalyzeOptions
from paravox.result import Analysis, EmotionScore, Event, Segment

log = logging.getLogger(__name__)

#: Inputs shorter than this are not sent to the recogniser (Whisper invents text on them).
MIN_SPEECH_SECONDS = 1.0
#: Inputs up to this long may share the recogniser's windows (Analyzer.analyze_many).
PACK_SECONDS = 30.0
#: A window is cut in the middle of a pause at least this long found by the VAD.
_CUT_MIN_PAUSE = 0.3

ProgressCallback = Callable[[float], None]


class Analyzer:
    """Loads the chosen backends once and analyses any number of inputs.

    Keyword arguments are the fields of :class:`AnalyzeOptions` and
    :class:`~paravox.options.TranscribeOptions`, flat (``language="zh"``,
    ``beam_size=5``, ``events="..."``).
    """

    def __init__(self, options: AnalyzeOptions | None = None, **kwargs: Any) -> None:
        if options is not None:
            self.options = options.with_overrides(**kwargs) if kwargs else options
        else:
            self.options = AnalyzeOptions.from_kwargs(**kwargs)
        self._asr = None
        self._events = None
        self._emotion = None

    # Backends are built on first use so that constructing an Analyzer is free.
    @property
    def asr(self):
        if self._asr is None:
            self._asr = registry.create("asr", self.options.asr, threads=self.options.threads,
                                        **self.options.asr_backend_options())
        return self._asr

    @property
    def events(self):
        if getattr(self.asr, "tags_inline", False):
            return None  # the recogniser writes the tags itself (an audio LLM, SenseVoice)
        if self._events is None and self.options.events:
            self._share_threads()
            self._events = registry.create("events", self.options.events, **self.options.events_backend_options())
        return self._events

    @property
    def emotion(self):
        if self._emotion is None and self.options.emotion:
            self._share_threads()
            self._emotion = registry.create("emotion", self.options.emotion)
        return self._emotion

    def _share_threads(self) -> None:
        # The event and emotion heads read one Whisper encoder per process (ONNX Runtime);
        # --threads bounds it as it bounds the recogniser.
        if self.options.threads:
            from paravox.encoder.onnx_encoder import set_runtime_threads

            set_runtime_threads(self.options.threads)

    def models(self) -> dict[str, str]:
        names = {"asr": self.options.asr if self.options.asr_model is None else f"{self.options.asr}:{self.options.asr_model}"}
        if self.options.events and not getattr(self._asr, "tags_inline", False):  # no detector beside such a recogniser
            names["events"] = self.options.events
        if self.options.emotion:
            names["emotion"] = self.options.emotion
        return names

    def analyze(
        self,
        source: Any,
        *,
        name: str | None = None,
        progress: ProgressCallback | None = None,
        language: str | None = None,
        _transcript: Any = None,
    ) -> Analysis:
        """Analyse one input (path, ``"-"``, bytes, file object, ``(array, rate)`` or Audio).

        ``language`` overrides the analyser's for this input (a code forces it, ``"zh,en"``
        restricts detection), as a manifest line may (:class:`paravox.inputs.InputItem`).
        Raises :class:`paravox.audio.AudioError` for input that is not usable audio. Silence
        and sub-second audio give a valid Analysis with no segments. (``_transcript``: the
        recogniser's result for an input of one window, made beforehand by :meth:`analyze_many`.)
        """
        label = name or source_name(source)
        language_given = language
        opts = self._input_options(language)
        topts = opts.transcribe
        segments: list[Segment] = []
        events: list[Event] = []
        emotions: list[tuple[EmotionScore, float]] = []
        language, language_prob = topts.language, None
        # Seconds of segments per language and the windows' probabilities for it (per-region detection).
        spoken: dict[str, float] = {}
        probs: dict[str, list[tuple[float, float]]] = {}
        empty_regions = 0
        offset = 0.0
        started = time.perf_counter()

        windows = stream_audio(source, window_seconds=opts.window_seconds, name=label, max_duration=opts.max_duration)
        for piece in _pause_cut_windows(windows, vad=topts.vad):
            seconds = len(piece) / SAMPLE_RATE
            piece_segments: list[Segment] = []
            if seconds >= MIN_SPEECH_SECONDS:
                # Detecting per region, each window detects its own; detecting once, the first
                # window with speech decides the language for the rest.
                window_opts = topts if topts.language_per_region else replace(topts, language=language)
                if _transcript is not None:
                    if offset:
                        raise ValueError("a transcript made beforehand covers an input of one window only")
                    result = _transcript
                else:
                    result = self.asr.transcribe(piece, offset=offset, options=window_opts, progress=progress)
                piece_segments = result.segments
                events.extend(getattr(result, "events", None) or ())  # tags the recogniser wrote
                empty = getattr(result, "empty_regions", ())
                empty_regions += len(empty)
                if empty:
                    # Speech that gave no words stays in the output as an empty segment saying so.
                    from paravox.result import NO_WORDS

                    piece_segments = sorted(
                        list(piece_segments) + [Segment(a, b, "", [], lang, note=NO_WORDS) for a, b, lang in empty],
                        key=lambda s: (s.start, s.end),
                    )
                if piece_segments and not topts.language_per_region and language_prob is None:
                    language, language_prob = result.language, result.language_probability
                if piece_segments and topts.language_per_region:
                    for seg in piece_segments:
                        lang = seg.language or result.language  # a backend may name the language per window only
                        if lang:
                            spoken[lang] = spoken.get(lang, 0.0) + seg.end - seg.start
                    if result.language_probability is not None:
                        probs.setdefault(result.language, []).append((result.language_probability, seconds))
            laughs: list[Event] = []
            if self.events is not None and opts.laugh_words and _emits(self.events, "laugh"):
                # "哈哈哈" / "Ha-ha!" in the text is laughter: it becomes a [laugh] event.
                from paravox.vocal_events.laugh_words import laughs_from_words

                piece_segments, laughs = laughs_from_words(piece_segments)
            if topts.sound_words:
                # "(laughs)", "*cough*": Whisper described a sound. The description leaves the
                # text; a vocal one is an event, under the same threshold and shortest duration
                # as every event.
                from paravox.vocal_events.filler_words import keep_filler
                from paravox.vocal_events.sound_words import sounds_from_words

                piece_segments, sounds = sounds_from_words(piece_segments)
                wanted = opts.events_tags or getattr(self.events, "tags", None)  # --events-tags, if given
                sounds = [e for e in sounds if (wanted is None or e.tag in wanted)
                          and keep_filler(e, opts.events_threshold, opts.events_min_duration)]
                gate = getattr(self.events, "gate", None)
                if gate is not None:  # the detector's gate hears each described sound as it hears a region
                    from paravox.vocal_events.sound_words import gate_sounds

                    config = getattr(getattr(self.events, "detector", None), "config", None) or {}
                    sounds = gate_sounds(sounds, piece, offset, gate, float(config.get("gate_threshold", 0.5)))
                if self.events is not None:  # kept over the detector's events there, as laughs are
                    from paravox.vocal_events.sound_words import join_same

                    laughs = join_same(laughs, sounds)  # "Ha-ha! (laughs)" is one laugh
                else:
                    events.extend(sounds)
            fillers: list[Event] = []
            if opts.filler_words:
                # "um" / "嗯" in the text is a filled pause: it becomes an [uhm] event, kept
                # under the same threshold and shortest duration as every event.
                from paravox.vocal_events.filler_words import fillers_from_words, keep_filler

                piece_segments, fillers = fillers_from_words(piece_segments)
                fillers = [f for f in fillers if keep_filler(f, opts.events_threshold, opts.events_min_duration)]
                events.extend(fillers)
            segments.extend(piece_segments)
            if self.events is not None:
                from paravox.vocal_events.filler_words import drop_overlapping
                from paravox.vocal_events.laugh_words import merge_laughs

                local = _shift_segments(piece_segments, -offset)
                detected = [_shift_event(e, offset) for e in self.events.detect(piece, SAMPLE_RATE, local)]
                detected = drop_overlapping(detected, fillers)  # the recogniser heard a filler word there
                events.extend(merge_laughs(detected, laughs) if laughs else detected)  # laughs: and described sounds
            if self.emotion is not None and seconds > 0:
                local = _shift_segments(piece_segments, -offset)
                overall, per_segment = self.emotion.score(piece, SAMPLE_RATE, local)
                for seg, emo in zip(piece_segments, per_segment):
                    seg.emotion = None if emo is None else _shift_emotion(emo, offset)
                if overall is not None:
                    emotions.append((_shift_emotion(overall, offset), seconds))
            offset += seconds
            if progress is not None:
                progress(offset)

        if spoken:
            # The language with the most speech; its probability averaged over the windows it led.
            language = max(spoken, key=spoken.get)
            weighted = probs.get(language) or []
            language_prob = sum(p * w for p, w in weighted) / sum(w for _, w in weighted) if weighted else None
        if empty_regions:
            log.info("%s: %d speech region(s) gave no words", label, empty_regions)
        return Analysis(
            id=label,
            source=label,
            duration=offset,
            language=language if segments else topts.language,
            language_probability=language_prob if segments else None,
            segments=segments,
            events=sorted(events, key=lambda e: (e.start, e.end)),
            emotion=merge_emotions(emotions, offset),
            models=self.models(),
            # the run's options; a language given for this input alone (a manifest line's) apart
            options={**self.options.to_dict(), **({"input_language": language_given} if language_given else {}),
                     "elapsed_seconds": round(time.perf_counter() - started, 3)},
        )


    def analyze_many(self, items: Sequence[tuple[Any, str | None, str | None]], *,
                     fatal: tuple = ()) -> list[Analysis | Exception]:
        """Analyse several inputs, each ``(source, name, language)`` as :meth:`analyze` takes them;
        one Analysis per input, or the exception it raised (an exception of ``fatal`` is raised).

        With ``options.pack`` above 1 and a recogniser that can (``transcribe_many``), short
        inputs (one window, at most ``PACK_SECONDS``) are transcribed together, up to ``pack`` of
        them sharing one of Whisper's 30-s windows (:meth:`WhisperBaseASR.transcribe_many`);
        their events and emotion are then found input by input. A packed input's words may
        differ from what it gives alone, since Whisper reads its neighbours too; ``pack=1``
        analyses each alone, exactly as :meth:`analyze`.
        """
        out: list[Analysis | Exception | None] = [None] * len(items)
        many = getattr(self.asr, "transcribe_many", None) if self.options.pack > 1 else None
        short: list[tuple[int, np.ndarray, Any]] = []
        if many is not None:
            for i, (source, name, language) in enumerate(items):
                if not _rereadable(source):
                    continue  # a stream read here could not be read again for a long input
                opts = self._input_options(language).transcribe
                head = None
                try:
                    head = stream_audio(source, window_seconds=PACK_SECONDS, name=name or source_name(source),
                                        max_duration=self.options.max_duration)
                    first = next(head, None)
                    if first is None or next(head, None) is not None:
                        continue  # empty, or longer than a window: analysed alone below
                    if len(first) / SAMPLE_RATE >= MIN_SPEECH_SECONDS:
                        short.append((i, first, opts))
                except fatal:
                    raise
                except Exception as exc:  # noqa: BLE001 - this input's failure, recorded
                    out[i] = exc
                finally:
                    close = getattr(head, "close", None)
                    if close is not None:
                        close()  # the decoder's file, now rather than when collected
            if short:
                transcripts = many([(samples, opts) for _, samples, opts in short], pack=self.options.pack)
                for (i, samples, _), transcript in zip(short, transcripts):
                    if transcript is None:
                        continue
                    source, name, language = items[i]
                    label = name or source_name(source)
                    try:
                        out[i] = self.analyze((samples, SAMPLE_RATE), name=label, language=language,
                                              _transcript=transcript)
                    except fatal:
                        raise
                    except Exception as exc:  # noqa: BLE001
                        out[i] = exc
        for i, (source, name, language) in enumerate(items):
            if out[i] is None:
                try:
                    out[i] = self.analyze(source, name=name, language=language)
                except fatal:
                    raise
                except Exception as exc:  # noqa: BLE001
                    out[i] = exc
        return out  # type: ignore[return-value]

    def _input_options(self, language: str | None) -> AnalyzeOptions:
        """The options for one input given its own ``language`` (a manifest line's), as analyze uses them."""
        if language is None:
            return self.options
        return replace(self.options, transcribe=replace(self.options.transcribe, language=language, languages=None))


def _rereadable(source: Any) -> bool:
    """Whether ``source`` can be read twice (a path, bytes, an array), unlike standard input
    or a file object, which :meth:`Analyzer.analyze_many` then leaves to :meth:`Analyzer.analyze`."""
    import os

    if isinstance(source, str):
        return source != "-"
    return isinstance(source, (os.PathLike, bytes, bytearray, tuple, np.ndarray))


def _emits(backend: Any, tag: str) -> bool:
    """Whether an event backend may emit ``tag`` (its ``tags`` restriction, else its model's tags)."""
    tags = getattr(backend, "tags", None) or getattr(getattr(backend, "detector", None), "tags", None)
    return tags is None or tag in tags


def _pause_cut_windows(blocks: Iterator[np.ndarray], *, vad: bool) -> Iterator[np.ndarray]:
    """Re-cut decoded windows so that each ends inside a pause rather than inside a word.

    The audio after the last pause of a window is carried over to the next one. The last
    window is passed on whole. Without VAD the windows are passed on as they come.
    """
    carry = np.zeros(0, dtype=np.float32)
    pending = next(blocks, None)
    while pending is not None:
        following = next(blocks, None)
        buf = np.concatenate([carry, pending]) if carry.size else pending
        if following is None:
            yield buf
            return
        cut = _pause_cut(buf) if vad else len(buf)
        yield buf[:cut]
        carry = buf[cut:]
        pending = following
    if carry.size:
        yield carry


def _pause_cut(buf: np.ndarray) -> int:
    """Sample index in the middle of the last VAD pause in the second half of ``buf``."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    chunks = get_speech_timestamps(buf, VadOptions(min_silence_duration_ms=int(_CUT_MIN_PAUSE * 1000), speech_pad_ms=0))
    if not chunks:
        return len(buf)
    if chunks[-1]["end"] < len(buf) - int(_CUT_MIN_PAUSE * SAMPLE_RATE):
        return (chunks[-1]["end"] + len(buf)) // 2
    half = len(buf) // 2
    for prev, nxt in zip(chunks[-2::-1], chunks[:0:-1]):
        middle = (prev["end"] + nxt["start"]) // 2
        if middle < half:
            break
        if nxt["start"] - prev["end"] >= int(_CUT_MIN_PAUSE * SAMPLE_RATE):
            return middle
    return len(buf)


def _shift_segments(segments: Sequence[Segment], dt: float) -> list[Segment]:
    if dt == 0:
        return list(segments)
    return [
        replace(s, start=s.start + dt, end=s.end + dt, words=[replace(w, start=w.start + dt, end=w.end + dt) for w in s.words])
        for s in segments
    ]


def _shift_event(e: Event, dt: float) -> Event:
    return replace(e, start=e.start + dt, end=e.end + dt)


def _shift_emotion(e: EmotionScore, dt: float) -> EmotionScore:
    return replace(
        e,
        start=None if e.start is None else e.start + dt,
        end=None if e.end is None else e.end + dt,
    )


def merge_emotions(parts: list[tuple[EmotionScore, float]], total: float) -> EmotionScore | None:
    """One whole-input score from the windows' file-level scores, weighted by the speech each
    was read from (the window's length for a backend that does not say), so that a long input
    gets what one file-level score over all its speech would give."""
    if not parts:
        return None
    if len(parts) == 1:
        return replace(parts[0][0], start=0.0, end=total)
    weights = [e.speech if e.speech is not None else seconds for e, seconds in parts]
    weight = sum(weights) or 1.0
    labels = list(dict.fromkeys(k for e, _ in parts for k in e.scores))
    scores = {k: sum(w * e.scores.get(k, 0.0) for w, (e, _) in zip(weights, parts)) / weight for k in labels}
    best = max(scores, key=scores.get)
    speech = sum(e.speech for e, _ in parts) if all(e.speech is not None for e, _ in parts) else None
    dims = None
    if all(e.dimensions for e, _ in parts):
        names = list(dict.fromkeys(k for e, _ in parts for k in e.dimensions))
        dims = {k: sum(w * e.dimensions.get(k, 0.0) for w, (e, _) in zip(weights, parts)) / weight for k in names}
    return EmotionScore(best, scores[best], scores, 0.0, total, speech, dimensions=dims)


_DEFAULT: Analyzer | None = None


def default_analyzer() -> Analyzer:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Analyzer()
    return _DEFAULT


def analyze(source: Any, **kwargs: Any) -> Analysis:
    """Analyse one input with the default backends (or the options given as keywords).

    >>> import paravox
    >>> result = paravox.analyze("talk.wav")            # doctest: +SKIP
    >>> result.segments[0].words[0].start               # doctest: +SKIP
    0.0
    """
    name = kwargs.pop("name", None)
    analyzer = default_analyzer() if not kwargs else Analyzer(**kwargs)
    return analyzer.analyze(source, name=name)
