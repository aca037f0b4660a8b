"""Where an inline tag may go between recognised words: never inside a Chinese word.

Whisper hands Chinese over one or a few characters at a time, so the gap nearest an event
can fall inside a word (``结 [sigh] 果``). :func:`inner_boundaries` finds the gaps between
pieces that a word segmenter (jieba, a maintained dictionary-based segmenter) puts inside
one word; tags go to the nearest other gap.

>>> sorted(inner_boundaries(["结", "果", "误", "会", "了"]))
[1, 3]
>>> inner_boundaries(["hello", "there"])
set()
"""

from __future__ import annotations

import threading
import unicodedata
from functools import lru_cache

_LOCK = threading.Lock()


def _cjk(text: str) -> bool:
    return bool(text) and all("CJK" in unicodedata.name(ch, "") for ch in text)


@lru_cache(maxsize=1)
def _jieba():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    with _LOCK:
        jieba.initialize()
    return jieba


@lru_cache(maxsize=4096)
def _cuts(text: str) -> frozenset[int]:
    """Character offsets inside ``text`` where jieba ends a word."""
    offsets, at = set(), 0
    for token in _jieba().cut(text, HMM=True):
        at += len(token)
        offsets.add(at)
    return frozenset(offsets)


def inner_boundaries(texts: list[str]) -> set[int]:
    """Indices k (the gap before ``texts[k]``) that lie inside one Chinese word."""
    inside: set[int] = set()
    k = 0
    while k < len(texts):
        if not _cjk(texts[k]):
            k += 1
            continue
        j = k
        while j + 1 < len(texts) and _cjk(texts[j + 1]):
            j += 1
        if j > k:  # a run of two or more Chinese pieces: texts[k..j]
            cuts = _cuts("".join(texts[k : j + 1]))
            at = 0
            for i in range(k, j):
                at += len(texts[i])
                if at not in cuts:
                    inside.add(i + 1)
        k = j + 1
    return inside
