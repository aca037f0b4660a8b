"""One live stream: audio fed piece by piece, messages out.

The stream is cut into segments at pauses: every ``step`` seconds of stream time the audio
since the last cut is run through the Silero VAD; once the speech is followed by a pause of
``min_pause`` seconds and is ``min_segment`` long, or by a pause of ``turn_pause`` seconds
however short, the audio up to the quietest point of that pause (a laugh or a breath the
VAD does not count as speech is not cut in two) is analysed as one input
(:meth:`paravox.analyzer.Analyzer.analyze`: words, events, emotion) and its segments and
events are sent, final. Speech with no pause is cut after ``max_segment`` seconds, in its
longest short pause if it has one, so the latency stays bounded. Between cuts, the audio
since the last cut is transcribed quickly (greedy, no word times) as a ``partial``,
replaced by the next one.

Cuts are decided at fixed points of stream time, never by when the audio arrived or how
long the machine took, so the same audio gives the same segments, events, emotion and
closing Analysis, whatever the pace, the network or the load. Partials are the one
exception: they are sent when there is time for them.

>>> from paravox.analyzer import Analyzer
>>> session = StreamSession(Analyzer())                     # doctest: +SKIP
>>> for piece in pieces:                                     # doctest: +SKIP
...     for message in session.feed(piece):                  # 16 kHz float32 samples
...         print(message["type"], message.get("text"))
>>> session.finish()[-1]["type"]                             # doctest: +SKIP
'done'
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from paravox.analyzer import MIN_SPEECH_SECONDS, Analyzer, merge_emotions
from paravox.audio import SAMPLE_RATE
from paravox.result import Analysis, EmotionScore, Event, Segment

__all__ = ["StreamOptions", "StreamSession"]

#: Token budget of a partial per second of audio (fast Mandarin runs at about 8 tokens a second).
PARTIAL_TOKENS_PER_SECOND = 10


@dataclass(frozen=True)
class StreamOptions:
    """How a stream is cut into segments and how often partial text is made."""

    min_pause: float = 0.5  #: a pause this long (seconds) after speech ends a segment
    #: ... once the segment would be at least this long (shorter stretches lose context and
    #: their language; chosen by benchmarks/stream_latency.py --set choose --cer-only)
    min_segment: float = 6.0
    #: a pause this long ends a segment however short (the end of a turn; the recogniser's
    #: VAD splits speech regions at 2-s pauses offline too)
    turn_pause: float = 2.0
    max_segment: float = 15.0  #: speech without such a pause is cut after this long
    step: float = 0.5  #: cut decisions are made every this many seconds of stream time
    partials: bool = True  #: send quick partial text between cuts
    partial_every: float = 1.0  #: at most one partial per this many seconds of new audio

    def __post_init__(self) -> None:
        if not 0.1 <= self.step <= 5:
            raise ValueError(f"step must be within [0.1, 5] seconds, got {self.step}")
        if not 0.1 <= self.min_pause <= 10:
            raise ValueError(f"min_pause must be within [0.1, 10] seconds, got {self.min_pause}")
        if not self.min_segment >= MIN_SPEECH_SECONDS:
            raise ValueError(f"min_segment must be at least {MIN_SPEECH_SECONDS} s, got {self.min_segment}")
        if not self.min_pause <= self.turn_pause <= 30:
            raise ValueError(f"turn_pause must be within [min_pause, 30] seconds, got {self.turn_pause}")
        if not 2 <= self.max_segment <= 30:
            raise ValueError(f"max_segment must be within [2, 30] seconds (one recogniser window), got {self.max_segment}")
        if self.min_segment > self.max_segment:  # a shorter max_segment bounds it too
            object.__setattr__(self, "min_segment", self.max_segment)
        if self.partial_every <= 0:
            raise ValueError(f"partial_every must be > 0, got {self.partial_every}")


@dataclass
class Partial:
    """The unstable text since the last final segment; the next partial replaces it."""

    start: float
    end: float
    text: str
    tagged_text: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": "partial", "start": round(self.start, 3), "end": round(self.end, 3),
                "text": self.text, "tagged_text": self.tagged_text}


class StreamSession:
    """Feeds one stream to an :class:`Analyzer`; :meth:`feed` and :meth:`finish` return the
    messages to send, in order (``partial``, ``segment``, ``event``, then ``done``).

    Not thread-safe: one caller at a time (the server runs each stream's calls in turn).
    """

    def __init__(self, analyzer: Analyzer, options: StreamOptions | None = None, *, name: str = "stream") -> None:
        self.analyzer = analyzer
        self.options = options or StreamOptions()
        self.name = name
        self._buf = np.zeros(0, dtype=np.float32)  # samples since the last cut
        self._base = 0  # stream sample index of _buf[0]
        self._total = 0  # samples received
        self._checked = 0  # stream sample index of the last cut decision
        self._speech = False  # whether the audio since the last cut has speech (last decision)
        self._last_partial = 0  # _total when the last partial was made
        self._partial_text: str | None = None
        self._segments: list[Segment] = []
        self._events: list[Event] = []
        self._emotions: list[tuple[EmotionScore, float]] = []
        self._languages: dict[str, float] = {}  # seconds of segments per language
        self._started = time.perf_counter()
        self.finished = False
        self.pieces = 0  #: stretches cut and analysed so far

    @property
    def seconds(self) -> float:
        """Seconds of audio received."""
        return self._total / SAMPLE_RATE

    # ---- feeding -----------------------------------------------------------------------
    def feed(self, samples: np.ndarray, *, partial: bool = True) -> list[dict[str, Any]]:
        """Take 16 kHz mono float32 ``samples`` (any amount); the messages they complete.

        ``partial=False`` skips the partial this call might make (the caller is behind).
        """
        if self.finished:
            raise RuntimeError("the stream is finished")
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        if samples.size:
            self._buf = np.concatenate([self._buf, samples]) if self._buf.size else samples.copy()
            self._total += samples.size
        out = self._decide(final=False)
        if partial and self.options.partials:
            message = self._partial()
            if message is not None:
                out.append(message)
        return out

    def finish(self) -> list[dict[str, Any]]:
        """The end of the stream: the last segments, then ``done`` with the whole Analysis."""
        if self.finished:
            raise RuntimeError("the stream is finished")
        out = self._decide(final=True)
        if self._buf.size:
            out += self._finalize(self._buf.size)
        self.finished = True
        out.append({"type": "done", "analysis": self.analysis().to_dict()})
        return out

    def analysis(self) -> Analysis:
        """Everything final so far as one Analysis (the stream's ``done`` message)."""
        duration = self._total / SAMPLE_RATE
        language = max(self._languages, key=self._languages.get) if self._languages else None
        opts = self.analyzer.options
        return Analysis(
            id=self.name,
            source=self.name,
            duration=duration,
            language=language or opts.transcribe.language,
            segments=list(self._segments),
            events=sorted(self._events, key=lambda e: (e.start, e.end)),
            emotion=merge_emotions(self._emotions, duration),
            models=self.analyzer.models(),
            options={**opts.to_dict(), "stream": asdict(self.options),
                     "elapsed_seconds": round(time.perf_counter() - self._started, 3)},
        )

    # ---- cutting -----------------------------------------------------------------------
    def _decide(self, *, final: bool) -> list[dict[str, Any]]:
        """Cut decisions at every step point of stream time the audio has reached."""
        out: list[dict[str, Any]] = []
        step = int(self.options.step * SAMPLE_RATE)
        while self._checked + step <= self._total:
            self._checked += step
            cut = self._cut_at(self._checked - self._base)
            if cut:
                out += self._finalize(cut)
        return out

    def _cut_at(self, upto: int) -> int:
        """Where to cut the audio since the last cut, seeing its first ``upto`` samples (0: not yet)."""
        o = self.options
        chunks = _speech_chunks(self._buf[:upto])
        self._speech = bool(chunks)
        if chunks:
            pause = upto - chunks[-1]["end"]
            if pause >= o.min_pause * SAMPLE_RATE:
                cut = _quietest(self._buf, chunks[-1]["end"], upto)
                if cut >= o.min_segment * SAMPLE_RATE:
                    return cut
                # A turn is speech (a second of it) then a long pause; a laugh the VAD does
                # not count as speech is not a pause to end a turn in.
                speech = sum(c["end"] - c["start"] for c in chunks)
                if pause >= o.turn_pause * SAMPLE_RATE and speech >= MIN_SPEECH_SECONDS * SAMPLE_RATE:
                    return cut
        limit = int(o.max_segment * SAMPLE_RATE)
        if upto < limit:
            return 0
        # No pause long enough: cut in the longest gap between speech in the second half
        # (the cut points fall every step from the last cut, so upto may pass the limit a little).
        gaps = [(nxt["start"] - prev["end"], prev["end"], nxt["start"]) for prev, nxt in zip(chunks, chunks[1:])]
        gaps = [g for g in gaps if limit // 2 <= (g[1] + g[2]) // 2 <= limit]
        if not gaps:
            return limit
        _, start, end = max(gaps)
        return _quietest(self._buf, start, min(end, limit))

    def _finalize(self, cut: int) -> list[dict[str, Any]]:
        """Analyse the audio up to ``cut`` as one input; its segments and events, final."""
        piece, self._buf = self._buf[:cut], self._buf[cut:]
        self.pieces += 1
        offset = self._base / SAMPLE_RATE
        self._base += cut
        self._speech = False
        self._partial_text = None
        self._last_partial = self._total
        seconds = len(piece) / SAMPLE_RATE
        result = self.analyzer.analyze((piece, SAMPLE_RATE), name=self.name)
        result = _shifted(result, offset)
        self._segments += result.segments
        self._events += result.events
        for seg in result.segments:
            if seg.language and seg.text.strip():
                self._languages[seg.language] = self._languages.get(seg.language, 0.0) + seg.end - seg.start
        if result.emotion is not None:
            self._emotions.append((result.emotion, seconds))
        doc = result.to_dict()
        out = [{"type": "segment", **seg} for seg in doc["segments"]]
        out += [{"type": "event", **e} for e in doc["events"]]
        return out

    # ---- partial text ------------------------------------------------------------------
    def _partial(self) -> dict[str, Any] | None:
        o = self.options
        if not self._speech or self._buf.size < MIN_SPEECH_SECONDS * SAMPLE_RATE:
            return None
        if self._total - self._last_partial < o.partial_every * SAMPLE_RATE and self._partial_text is not None:
            return None
        self._last_partial = self._total
        topts = self.analyzer.options.transcribe
        # Greedy, one temperature, no word times, and a token budget for the audio's length:
        # a repetition loop ("ha ha ha ...") costs a bounded time.
        budget = min(224, int(PARTIAL_TOKENS_PER_SECOND * self._buf.size / SAMPLE_RATE) + 8)
        quick = replace(topts, beam_size=1, word_timestamps=False, temperature=(0.0,),
                        condition_on_previous_text=False, max_new_tokens=budget)
        start = self._base / SAMPLE_RATE
        result = self.analyzer.asr.transcribe(self._buf, offset=start, options=quick)
        view = Analysis(source=self.name, duration=self._total / SAMPLE_RATE, segments=list(result.segments))
        text = view.text
        if text == self._partial_text:
            return None
        self._partial_text = text
        return Partial(start, self._total / SAMPLE_RATE, text, view.tagged_text()).to_dict()


def _speech_chunks(samples: np.ndarray) -> list[dict[str, int]]:
    """Silero VAD speech stretches (sample indices), split at pauses of 0.1 s or more."""
    if samples.size < 512:
        return []
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    return get_speech_timestamps(samples, VadOptions(min_silence_duration_ms=100, speech_pad_ms=0))


def _quietest(samples: np.ndarray, start: int, end: int) -> int:
    """The middle of the quietest 0.1 s between ``start`` and ``end`` (a pause for the VAD):
    a laugh or a breath inside the pause is not cut in two. Of equally quiet places, the one
    nearest the pause's middle."""
    frame, hop = SAMPLE_RATE // 10, SAMPLE_RATE // 40
    if end - start <= frame:
        return (start + end) // 2
    starts = np.arange(start, end - frame + 1, hop)
    energy = np.array([float(np.mean(np.square(samples[a : a + frame], dtype=np.float64))) for a in starts])
    middle = (start + end) / 2
    quiet = energy <= energy.min() * 1.5 + 1e-10  # within 1.8 dB of the quietest
    best = min((abs(a + frame / 2 - middle), a) for a, q in zip(starts, quiet) if q)[1]
    return int(best + frame // 2)


def _shifted(result: Analysis, dt: float) -> Analysis:
    """``result`` with every time moved by ``dt`` seconds."""
    if dt == 0:
        return result

    def emotion(e: EmotionScore | None) -> EmotionScore | None:
        if e is None:
            return None
        return replace(e, start=None if e.start is None else e.start + dt, end=None if e.end is None else e.end + dt)

    segments = [
        replace(s, start=s.start + dt, end=s.end + dt, emotion=emotion(s.emotion),
                words=[replace(w, start=w.start + dt, end=w.end + dt) for w in s.words])
        for s in result.segments
    ]
    events = [replace(e, start=e.start + dt, end=e.end + dt) for e in result.events]
    return replace(result, segments=segments, events=events, emotion=emotion(result.emotion))
