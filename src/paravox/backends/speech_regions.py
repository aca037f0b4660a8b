"""Which stretches of an input the recogniser decodes, and in which language.

- :func:`speech_chunks`: Silero VAD speech plus stretches as loud as it (the loudness guard);
- :func:`speech_regions`, :func:`choose_languages`, :func:`language_runs`: the chunks cut at
  pauses into regions, each region's language detected on its own audio with the file as
  prior, and consecutive regions of one language grouped into one decode.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from paravox.audio import SAMPLE_RATE
from paravox.options import TranscribeOptions
from paravox.result import Segment

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

#: An unsure region (under SURE_PROBABILITY) is read again padded only when it matters: when
#: the language its own reading and the prior give it differs from that of the nearest sure
#: region on either side, or it lacks one on a side. False (shipped): every unsure region is
#: read again. Measured 2026-12-06 (benchmarks/experiments/recogniser_ab.py --lever lazy-padded,
#: docs/history.md): it saved 5 of 35 padded readings on the choose files and lost an English
#: clip between two Mandarin ones; the 60-s input was no faster.
LAZY_PADDED = False


def settled_by_neighbours(regions: list[SpeechRegion], i: int) -> bool:
    """Whether region ``i`` has, on both sides, a nearest region sure of its language
    (``SURE_PROBABILITY``, at least ``MIN_JUDGED_SPEECH`` of speech) with the language region
    ``i`` was given (:func:`choose_languages`)."""

    def sure(r: SpeechRegion) -> bool:
        return r.sure and r.speech >= MIN_JUDGED_SPEECH

    before = next((r for r in reversed(regions[:i]) if sure(r)), None)
    after = next((r for r in regions[i + 1 :] if sure(r)), None)
    language = regions[i].language
    return before is not None and after is not None and before.language == language == after.language


#: Frames (10 ms each) a region is padded to for its second, padded language reading: 3000 is
#: Whisper's 30-s window, as it was trained; the encoder's cost grows with its input.
PADDED_FRAMES = 3000


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

    @property
    def sure(self) -> bool:
        """Whether its language was read with confidence (``SURE_PROBABILITY``)."""
        return self.confidence is not None and self.confidence >= SURE_PROBABILITY


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


def language_probs(
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
        features = pad_or_trim(features, max(PADDED_FRAMES, min(features.shape[-1], 3000)))
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


def join_adjacent(regions: list[SpeechRegion]) -> list[dict[str, int]]:
    """The regions as sample ranges, adjacent ones joined back into one range."""
    out: list[dict[str, int]] = []
    for r in regions:
        if out and out[-1]["end"] == r.start:
            out[-1]["end"] = r.end
        else:
            out.append({"start": r.start, "end": r.end})
    return out


def heard_between(segments: list[Segment], lo: float, hi: float) -> bool:
    """Whether a word of ``segments`` (or a segment without words) has its middle in [lo, hi]."""
    return any(lo <= (w.start + w.end) / 2 <= hi for s in segments for w in (s.words or [s]))
