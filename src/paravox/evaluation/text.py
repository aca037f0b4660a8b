"""Text normalisation and tokenisation for Joint CER / Text CER (MNV-17's definition).

A transcript becomes a list of tokens:

1. Unicode NFKC (full-width Latin letters, digits and brackets become ASCII;
   half-width katakana become full-width).
2. Inline tags in any style (see :mod:`paravox.taxonomy`) become one token each,
   written ``[tag]`` with the canonical tag; a tag whose label is unknown becomes
   ``[label]`` (case-folded) and is reported; known non-events (``[Surprise-oh]``,
   ``<|NEUTRAL|>``, ``</laughter>``) are dropped.
3. The text between tags: Traditional Chinese folded to Simplified (OpenCC ``t2s``),
   case folded, then

   * each character of a script written without spaces between words is one token:
     Han (CJK ideographs), Japanese kana, Korean Hangul, Bopomofo, Thai, Lao, Khmer,
     Myanmar;
   * each run of other letters and digits (Latin, Cyrillic, Greek, ...; combining marks
     stay in the run) is one token. Digits are word characters, so ``abc123`` is one
     token, while ``2024年`` is ``2024`` + ``年`` (the CJK character ends the run);
   * an apostrophe between two word characters is dropped inside the run
     (``don't`` -> ``dont``);
   * everything else (punctuation, symbols, spaces, emoji) separates runs and is removed
     (``3.5`` -> ``3`` ``5``, ``well-known`` -> ``well`` ``known``).
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

from paravox.taxonomy import Taxonomy, find_tags

__all__ = ["TokenizedText", "tokenize", "analyze_text", "to_simplified", "tag_token"]

# Scripts written without spaces between words: one token per character.
_CHAR_SCRIPTS = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x0F00, 0x0FFF),  # Tibetan
    (0x1000, 0x109F),  # Myanmar
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x1780, 0x17FF),  # Khmer
    (0x2E80, 0x2FDF),  # CJK radicals, Kangxi radicals
    (0x3005, 0x3007),  # 々 〆 〇
    (0x3040, 0x30FF),  # Hiragana, Katakana (incl. ー)
    (0x3100, 0x312F),  # Bopomofo
    (0x3130, 0x318F),  # Hangul compatibility Jamo
    (0x31A0, 0x31FF),  # Bopomofo ext., Katakana phonetic ext.
    (0x3400, 0x4DBF),  # CJK ext. A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xA960, 0xA97F),  # Hangul Jamo ext. A
    (0xAC00, 0xD7FF),  # Hangul syllables, Jamo ext. B
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x20000, 0x3134F),  # CJK ext. B-G, compatibility supplement
)
_APOSTROPHES = frozenset("'\u2019\u02bc")


def _is_char_script(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _CHAR_SCRIPTS)


def _is_word_char(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LNM"


@functools.lru_cache(maxsize=1)
def _t2s():
    try:
        import opencc
    except ImportError as exc:  # pragma: no cover - opencc is a core dependency
        raise ImportError(
            "folding Traditional to Simplified Chinese needs OpenCC: pip install opencc"
        ) from exc
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional Chinese -> Simplified (OpenCC ``t2s``); other text is unchanged."""
    if not text or text.isascii():
        return text
    return _t2s().convert(text)


def tag_token(label: str) -> str:
    """The token a tag contributes to Joint CER: ``[laugh]``."""
    return f"[{label}]"


def _word_tokens(text: str) -> list[str]:
    text = to_simplified(text).casefold()
    tokens: list[str] = []
    run: list[str] = []
    n = len(text)
    for i, ch in enumerate(text):
        if _is_char_script(ch):
            if run:
                tokens.append("".join(run))
                run = []
            tokens.append(ch)
        elif _is_word_char(ch):
            run.append(ch)
        elif (
            ch in _APOSTROPHES
            and run
            and i + 1 < n
            and _is_word_char(text[i + 1])
            and not _is_char_script(text[i + 1])
        ):
            continue  # don't -> dont
        elif run:
            tokens.append("".join(run))
            run = []
    if run:
        tokens.append("".join(run))
    return tokens


@dataclass(frozen=True)
class TokenizedText:
    """A transcript as CER tokens. ``is_tag[i]`` tells whether ``tokens[i]`` is a tag;
    ``tags`` is the tag sequence (canonical tags, or the case-folded label of an unknown
    tag); ``unknown_tags`` lists the labels that the taxonomy did not know."""

    tokens: tuple[str, ...]
    is_tag: tuple[bool, ...]
    tags: tuple[str, ...]
    unknown_tags: tuple[str, ...]

    @property
    def joint_tokens(self) -> list[str]:
        return list(self.tokens)

    @property
    def text_tokens(self) -> list[str]:
        return [t for t, is_tag in zip(self.tokens, self.is_tag) if not is_tag]


def analyze_text(
    text: str, source: str | None = None, *, taxonomy: Taxonomy | None = None
) -> TokenizedText:
    """Tokenise one transcript for Joint/Text CER and extract its tag sequence."""
    text = unicodedata.normalize("NFKC", text)
    tokens: list[str] = []
    is_tag: list[bool] = []
    tags: list[str] = []
    unknown: list[str] = []
    pos = 0
    for span in find_tags(text, source, taxonomy=taxonomy):
        words = _word_tokens(text[pos : span.start])
        tokens += words
        is_tag += [False] * len(words)
        pos = span.end
        if span.kind == "null":
            continue
        label = span.tag if span.kind == "tag" else span.label.casefold()
        if span.kind == "unknown":
            unknown.append(label)
        tokens.append(tag_token(label))  # type: ignore[arg-type]
        is_tag.append(True)
        tags.append(label)  # type: ignore[arg-type]
    words = _word_tokens(text[pos:])
    tokens += words
    is_tag += [False] * len(words)
    return TokenizedText(tuple(tokens), tuple(is_tag), tuple(tags), tuple(unknown))


def tokenize(
    text: str,
    *,
    keep_tags: bool = True,
    source: str | None = None,
    taxonomy: Taxonomy | None = None,
) -> list[str]:
    """CER tokens of ``text``: with tags (Joint CER) or without (Text CER).

    >>> tokenize("這個 [Laughter] OK, 3D！")
    ['这', '个', '[laugh]', 'ok', '3d']
    """
    result = analyze_text(text, source, taxonomy=taxonomy)
    return result.joint_tokens if keep_tags else result.text_tokens
