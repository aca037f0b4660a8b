"""How short inputs share one of Whisper's 30-s windows (issue 23).

:meth:`paravox.backends.whisper.WhisperBaseASR.transcribe_many` plans each input, groups the
short ones of one language into windows (:func:`pack_windows`), decodes the windows in batches
and gives each word back to its input (:func:`split_window`); an input the window cannot answer
for cleanly is decoded alone. The constants here were chosen on the choose set of
``benchmarks/short_clips_throughput.py`` with ``benchmarks/experiments/packing.py``
(docs/benchmarks.md, "Speed on short clips").
"""

from __future__ import annotations

import math
import zlib
from collections import Counter
from dataclasses import replace

import numpy as np

from paravox.audio import SAMPLE_RATE
from paravox.options import TranscribeOptions


#: Seconds of silence between two inputs packed into one window (see transcribe_many); chosen
#: over 0.5 and 2 s on the choose set (docs/benchmarks.md, "Speed on short clips").
PACK_GAP = 1.0
#: A word wholly in the silence around its input, or whose middle lies further than this
#: (seconds) into it, makes the input decoded alone.
PACK_SLACK = 0.2
#: An input with more speech than this (seconds) is decoded alone, not packed.
PACK_MAX_SPEECH = 20.0
#: Audio in one packed window at most, gaps included (Whisper reads 30 s; a little room is left
#: so that the last segment ends inside the window and no second window is decoded).
PACK_WINDOW = 28.0
#: Inputs analysed together at most, by default (``paravox batch --pack``).
PACK_INPUTS = 32
#: Packed windows decoded in one batch at most (the recogniser's time falls by a quarter against
#: one by one on 2 cores: ``benchmarks/experiments/packing.py``); 4 add 48 MB to a worker's peak
#: against 1 (``benchmarks/experiments/worker_memory.py``).
PACK_BATCH = 4
#: Rounds of packing: with 2, an input in doubt because of its companions is packed again with
#: others before it is decoded alone (13% faster, but more vocalizations written as words).
PACK_ROUNDS = 1
#: A word reaching into a neighbour's speech sends its input to be decoded alone (False: the
#: word is cut to its input; measured, no better).
PACK_CHECK_CROSSING = True
#: The inputs no window answered for are decoded one to a window, still 4 windows to a batch,
#: before the decode alone with its temperature fallback (False: straight to that).
PACK_ALONE_BATCHED = True
#: A word whose middle lies more than PACK_SLACK into the silence sends its input alone (False:
#: only a word wholly outside its input's speech does; measured, text then crosses).
PACK_CHECK_MIDDLE = True
#: The short runs of one language inside one input (a code-switched input: one run per switch)
#: share windows too (``WhisperBaseASR._pack_runs``); False: each run is a decode of its own.
PACK_RUNS = True
#: A packed run whose language no region of it is sure of (a laugh, a cough, a filler read as
#: another language) and whose words in the window were unsure or absent (``logprob``, ``no
#: words``): ``"alone"`` decodes it on its own with the temperature fallback, as any run in
#: doubt; ``"drop"`` gives it no words (its regions are listed as empty, the event model says
#: what they hold). ``"drop"``: such a run decoded
#: alone came back as words made up over a cough, a sniff or a gasp ("I-I-I-I", "Hmm", "Yeah"),
#: and cost a decode with the fallback each (docs/transcription.md, step 6).
UNSURE_RUNS = "drop"
#: What became of the inputs offered for packing in this process, for benchmarks: ``packed`` (the
#: window answered for them) and the checks that sent the others to be decoded alone.
PACK_COUNTS: Counter = Counter()


def pack_windows(sizes: list[tuple[int, int]], pack: int = PACK_INPUTS) -> list[list[int]]:
    """Group ``(input, samples)`` in the order given into windows of at most ``pack`` inputs and
    ``PACK_WINDOW`` seconds, ``PACK_GAP`` between inputs; an input too long for any company
    gets a window of its own.

    >>> pack_windows([(0, 10 * 16000), (1, 10 * 16000), (2, 10 * 16000), (3, 1 * 16000)])
    [[0, 1], [2, 3]]
    >>> pack_windows([(0, 16000), (1, 16000), (2, 16000)], pack=2)
    [[0, 1], [2]]
    """
    limit, gap = PACK_WINDOW * SAMPLE_RATE, PACK_GAP * SAMPLE_RATE
    windows: list[list[int]] = []
    used = 0.0
    for i, n in sizes:
        if windows and len(windows[-1]) < pack and used + gap + n <= limit:
            windows[-1].append(i)
            used += gap + n
        else:
            windows.append([i])
            used = n
    return windows


def split_window(segments: list, spans: list[tuple[float, float]], opts: TranscribeOptions, *,
                 heard_until: float | None = None) -> list[tuple[list | None, str | None]]:
    """Give each word of a packed window's ``segments`` (faster-whisper's) to the input whose
    span (``(start, end)`` seconds in the window) its middle falls in, the gaps split in the
    middle. Per input: ``(segments, None)``, times moved to the start of its own speech; or
    ``(None, doubt)`` when the window cannot answer for it cleanly:

    - ``crossing``: a word reaches into the speech of the input before or after;
    - ``in gap``: a word lies wholly in the silence around the input, or its middle more than
      ``PACK_SLACK`` into it (an echo of a neighbour, or made up);
    - ``cut off``: the decode stopped (``heard_until``, seconds) before the input's end;
    - ``no words``;
    - ``compression``: its words compress like a repetition loop (``compression_ratio_threshold``);
    - ``logprob``: their mean log probability is under ``log_prob_threshold``.

    The first three (:data:`NEIGHBOUR_DOUBTS`) may come from the companions.
    """
    n = len(spans)
    edges = [(spans[k][1] + spans[k + 1][0]) / 2 for k in range(n - 1)]
    out: list[list] = [[] for _ in range(n)]
    doubts: list[str | None] = [None] * n
    if heard_until is not None:
        for k, (_, end) in enumerate(spans):
            if end > heard_until + PACK_SLACK:
                doubts[k] = "cut off"
    for s in segments:
        words = list(s.words or [])
        if not words:
            continue
        mine: dict[int, list] = {}
        for w in words:
            middle = (w.start + w.end) / 2
            k = int(np.searchsorted(edges, middle))
            before = spans[k - 1][1] if k else -np.inf
            after = spans[k + 1][0] if k < n - 1 else np.inf
            if PACK_CHECK_CROSSING and (w.start < before or w.end > after):
                doubts[k] = doubts[k] or "crossing"
            elif w.start >= spans[k][1] or w.end <= spans[k][0] or (
                    PACK_CHECK_MIDDLE and not spans[k][0] - PACK_SLACK <= middle <= spans[k][1] + PACK_SLACK):
                doubts[k] = doubts[k] or "in gap"
            mine.setdefault(k, []).append(w)
        for k, ws in mine.items():
            start, length = spans[k][0], spans[k][1] - spans[k][0]

            def local(t: float) -> float:
                return round(min(max(t - start, 0.0), length), 3)

            whole = len(mine) == 1
            moved = [replace(w, start=local(w.start), end=local(w.end)) for w in ws]
            out[k].append(replace(
                s,
                start=local(s.start if whole else ws[0].start),
                end=local(s.end if whole else ws[-1].end),
                text=s.text if whole else "".join(w.word for w in ws),
                words=moved,
            ))
    for k, mine_segments in enumerate(out):
        if doubts[k]:
            continue
        words = [w for seg in mine_segments for w in seg.words]
        if not words:
            doubts[k] = "no words"
            continue
        text = "".join(w.word for w in words).strip().encode()
        ratio = len(text) / max(1, len(zlib.compress(text)))
        if opts.compression_ratio_threshold is not None and ratio > opts.compression_ratio_threshold:
            doubts[k] = "compression"  # a repetition loop: alone, the temperature fallback deals with it
            continue
        logprob = float(np.mean([math.log(max(w.probability, 1e-9)) for w in words]))
        if opts.log_prob_threshold is not None and logprob < opts.log_prob_threshold:
            doubts[k] = "logprob"  # unsure words: alone, the fallback (or the no-speech rule) decides
    return [(None, doubts[k]) if doubts[k] else (out[k], None) for k in range(n)]


#: Doubts of :func:`split_window` that may come from an input's companions in the window: such
#: an input is packed once more, with others, before it is decoded alone.
NEIGHBOUR_DOUBTS = frozenset({"crossing", "in gap", "cut off"})
