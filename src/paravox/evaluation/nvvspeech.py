"""Position-aware tag metrics of the NVVSpeech Challenge, Track 1 (ISCSLP 2026).

A tag counts only when it is the right tag **at the right place**. This module follows the
challenge's public scorer, repository ``NVVSpeech-Challenge/NVVSpeech-Challenge-Track1-Evaluation``
(``program/eval_track1_official.py``, protocol version 1.0.0, commit ``f9c4502a29dc``); the
code here is paravox's own, written from the scorer's stated protocol and checked against
its behaviour on hand-made examples (``tests/test_metrics_nvasr.py``).

Definitions (per language; ``en`` or ``zh``):

* **Lexical units.** Text between tags is NFKC-normalised, typographic apostrophes
  (U+2018, U+2019, U+201B, U+2032, U+FF07) become ``'``, then lower-cased. Every character
  that is a space or of Unicode category P (punctuation), S (symbol), Z (separator) or
  C (control/format) is dropped, except that English keeps the apostrophe. English units
  are words: runs of letters/digits, joined by inner apostrophes (``i'm`` is one word,
  ``well-known`` two). Chinese units are single characters: every remaining character,
  Latin letters and digits included (``OK`` is two units).
* **Tag position**: the number of lexical units before the tag. Tags never occupy a
  lexical position.
* **Projection.** Hypothesis tag positions are mapped into reference coordinates through
  one minimum-edit alignment of the lexical units (unit costs). The backtrace from the end
  prefers, on ties, match/substitution, then deleting a reference unit, then inserting a
  hypothesis unit; a hypothesis boundary maps to the *first* reference boundary the
  alignment path visits there, so a reference-only stretch after a boundary does not move
  a tag written before it.
* **F1_micro.** Per tag class, reference and projected hypothesis events (each sorted by
  position, then written order) are matched one to one by a monotone dynamic programme
  that maximises the number of pairs within the collar (``|p_ref - p_hyp| <= 2`` words in
  English, ``5`` characters in Chinese) and, among those, minimises the total position
  error. TP is the number of pairs; FP = hypothesis events - TP; FN = reference events -
  TP; counts are pooled over all utterances (and classes) of a language.
* **mNTD** (multi-event normalised tag distance). Only for utterances whose reference has
  at least one tag. All events of both sides, sorted by position, are aligned by a
  monotone minimum-cost alignment: a same-tag pair costs ``min(|p - g| / L, 1)`` with
  ``L = max(reference lexical units, 1)``, a pair of different tags costs 1, an unmatched
  event (missing or extra) costs 1. The utterance value is the cost divided by
  ``max(#reference events, #hypothesis events)``, so it lies in [0, 1]. mNTD is the mean
  over those utterances (macro average); with no such utterance it is 0.0 (as the scorer).
* **Err**: corpus-level tag-aware WER (English) or CER (Chinese): the Levenshtein
  distance between the tagged token sequences (lexical units plus one ``[tag]`` token per
  tag), summed over utterances, divided by the total number of reference tagged tokens.
* **Track1Score** = ``100 * [0.70 * F1_micro + 0.20 * (1 - mNTD) + 0.10 * (1 - min(Err, 1))]``
  per language, clamped to [0, 100]. The challenge's final score is the mean of the English
  and Chinese scores; :attr:`NVVSpeechReport.track1_score` is the mean over the languages
  present (the official figure when both are).

Where paravox differs from the official scorer, on purpose:

* Tags are read by :func:`paravox.taxonomy.find_tags` and scored as paravox's canonical
  tags: any inline style is accepted (``[Laughter]``, ``<laughter>``, ``<|Laughter|>``),
  the challenge's names map onto canonical ones (``[throat clearing]`` -> ``ahem``,
  ``[lipsmack]`` -> ``smack``), and tags outside the challenge's 16 (``uhm``, ``chuckle``,
  ``scream``, ...) or unknown to the taxonomy (``[burp]``) are scored as classes of their
  own instead of rejecting the file. Known non-events (``[Surprise-oh]``, SenseVoice's
  language/emotion tokens) are dropped, as the rest of ``paravox eval nvasr`` drops them.
* Languages: the scorer takes ``en`` or ``zh`` from the reference. Here a language code
  starting with ``en`` means English; ``zh``, ``cmn``, ``yue`` mean Chinese; a missing or
  other code is decided from the reference text: Chinese when it holds a Han character,
  else English.
* Undefined values: a language whose references hold no tagged token has ``err`` (and so
  its Track1Score) ``None`` (the scorer refuses such a file).
* No Traditional-to-Simplified folding (the scorer does none; paravox's Joint CER does).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from paravox.evaluation.counts import PRF
from paravox.taxonomy import Taxonomy, find_tags

__all__ = [
    "COLLARS",
    "LANGUAGES",
    "TagEvent",
    "ParsedTranscript",
    "TagCounts",
    "UtteranceResult",
    "LanguageResult",
    "NVVSpeechReport",
    "normalize_language",
    "lexical_units",
    "parse_transcript",
    "boundary_map",
    "project_events",
    "count_position_matches",
    "utterance_ntd",
    "levenshtein",
    "track1_score",
    "score_utterance",
    "evaluate_nvvspeech",
]

LANGUAGES = ("en", "zh")
#: Largest position error (in lexical units) of a true positive.
COLLARS = {"en": 2, "zh": 5}
#: Track1Score weights of F1_micro, (1 - mNTD) and (1 - min(Err, 1)).
WEIGHTS = (0.70, 0.20, 0.10)

_APOSTROPHES = str.maketrans({c: "'" for c in "\u2018\u2019\u201b\u2032\uff07"})
_EN_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


def normalize_language(code: str | None, text: str = "") -> str:
    """``"en"`` or ``"zh"`` for a language code, falling back on the reference text."""
    c = (code or "").strip().lower().replace("_", "-")
    if c.startswith("en"):
        return "en"
    if c.startswith(("zh", "cmn", "yue")):
        return "zh"
    return "zh" if _HAN.search(text) else "en"


def _dropped(ch: str, keep_apostrophe: bool) -> bool:
    if keep_apostrophe and ch == "'":
        return False
    return ch.isspace() or unicodedata.category(ch)[0] in "PSZC"


def lexical_units(text: str, language: str) -> list[str]:
    """The lexical units of plain text (no tags): English words or Chinese characters.

    >>> lexical_units("I’m OK, well-known!", "en")
    ["i'm", 'ok', 'well', 'known']
    >>> lexical_units("你好，OK", "zh")
    ['你', '好', 'o', 'k']
    """
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).lower()
    if language == "en":
        return _EN_WORD.findall("".join(" " if _dropped(ch, True) else ch for ch in text))
    if language == "zh":
        return [ch for ch in text if not _dropped(ch, False)]
    raise ValueError(f"language must be 'en' or 'zh', got {language!r}")


@dataclass(frozen=True)
class TagEvent:
    """A tag anchored at a lexical boundary: ``position`` units precede it."""

    tag: str
    position: int
    order: int


@dataclass(frozen=True)
class ParsedTranscript:
    lexical: tuple[str, ...]
    tagged: tuple[str, ...]
    events: tuple[TagEvent, ...]
    unknown_tags: tuple[str, ...] = ()


def parse_transcript(
    text: str, language: str, source: str | None = None, *, taxonomy: Taxonomy | None = None
) -> ParsedTranscript:
    """Lexical units, tagged tokens and tag events of one transcript.

    >>> p = parse_transcript("That was [Laughter] surprising.", "en")
    >>> p.lexical, p.tagged, p.events[0].position
    (('that', 'was', 'surprising'), ('that', 'was', '[laugh]', 'surprising'), 2)
    """
    text = unicodedata.normalize("NFKC", text)
    lexical: list[str] = []
    tagged: list[str] = []
    events: list[TagEvent] = []
    unknown: list[str] = []
    pos = 0
    for span in find_tags(text, source, taxonomy=taxonomy):
        units = lexical_units(text[pos : span.start], language)
        lexical += units
        tagged += units
        pos = span.end
        if span.kind == "null":
            continue
        label = span.tag if span.kind == "tag" else span.label.casefold()
        if span.kind == "unknown":
            unknown.append(label)
        events.append(TagEvent(label, len(lexical), len(events)))  # type: ignore[arg-type]
        tagged.append(f"[{label}]")
    units = lexical_units(text[pos:], language)
    lexical += units
    tagged += units
    return ParsedTranscript(tuple(lexical), tuple(tagged), tuple(events), tuple(unknown))


def _edit_table(ref: Sequence[str], hyp: Sequence[str]) -> list[list[int]]:
    n, m = len(ref), len(hyp)
    table = [list(range(m + 1))]
    for i in range(1, n + 1):
        prev = table[-1]
        row = [i] + [0] * m
        r = ref[i - 1]
        for j in range(1, m + 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (r != hyp[j - 1]))
        table.append(row)
    return table


def levenshtein(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Unit-cost edit distance."""
    if not ref or not hyp:
        return len(ref) + len(hyp)
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        row = [i]
        for j, h in enumerate(hyp, 1):
            row.append(min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (r != h)))
        prev = row
    return prev[-1]


def boundary_map(ref: Sequence[str], hyp: Sequence[str]) -> list[int]:
    """For each hypothesis boundary ``j`` (0..len(hyp)), the reference boundary it maps to.

    >>> boundary_map(["a", "b", "c"], ["a", "c"])   # b deleted: after 'a' is still 1
    [0, 1, 3]
    """
    n, m = len(ref), len(hyp)
    table = _edit_table(ref, hyp)
    out = [0] * (m + 1)
    i, j = n, m
    # Backtrace from the end; a hypothesis unit j is consumed exactly once (diagonal or
    # insertion), and the reference boundary reached by that step is the first one the
    # path visits at hypothesis boundary j.
    while i > 0 or j > 0:
        if i > 0 and j > 0 and table[i][j] == table[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]):
            out[j] = i
            i, j = i - 1, j - 1
        elif i > 0 and table[i][j] == table[i - 1][j] + 1:
            i -= 1
        else:
            out[j] = i
            j -= 1
    return out


def project_events(ref: ParsedTranscript, hyp: ParsedTranscript) -> tuple[TagEvent, ...]:
    """The hypothesis events with positions in reference coordinates."""
    mapping = boundary_map(ref.lexical, hyp.lexical)
    return tuple(TagEvent(e.tag, mapping[e.position], e.order) for e in hyp.events)


def _sorted(events: Sequence[TagEvent]) -> list[TagEvent]:
    return sorted(events, key=lambda e: (e.position, e.order))


def _matches_one_tag(refs: Sequence[int], hyps: Sequence[int], collar: int) -> int:
    """Pairs of a maximum monotone matching of sorted positions within ``collar``."""
    n, m = len(refs), len(hyps)
    if not n or not m:
        return 0
    # cells: (pairs, -total distance), maximised lexicographically
    prev = [(0, 0)] * (m + 1)
    for i in range(1, n + 1):
        row = [(0, 0)] * (m + 1)
        for j in range(1, m + 1):
            best = max(prev[j], row[j - 1])
            d = abs(refs[i - 1] - hyps[j - 1])
            if d <= collar:
                best = max(best, (prev[j - 1][0] + 1, prev[j - 1][1] - d))
            row[j] = best
        prev = row
    return prev[m][0]


def count_position_matches(
    ref_events: Sequence[TagEvent], hyp_events: Sequence[TagEvent], collar: int
) -> dict[str, int]:
    """True positives per tag: same tag, projected position within ``collar`` units."""
    out: dict[str, int] = {}
    for tag in dict.fromkeys(e.tag for e in ref_events):
        r = [e.position for e in _sorted(ref_events) if e.tag == tag]
        h = [e.position for e in _sorted(hyp_events) if e.tag == tag]
        out[tag] = _matches_one_tag(r, h, collar)
    return out


def utterance_ntd(ref_events: Sequence[TagEvent], hyp_events: Sequence[TagEvent], ref_length: int) -> float:
    """Normalised tag distance of one utterance, in [0, 1] (0 when both sides have no tag)."""
    refs, hyps = _sorted(ref_events), _sorted(hyp_events)
    n, m = len(refs), len(hyps)
    if n == 0 or m == 0:
        return 0.0 if n == m else 1.0
    length = max(ref_length, 1)
    prev = [float(j) for j in range(m + 1)]
    for i in range(1, n + 1):
        row = [float(i)] + [0.0] * m
        r = refs[i - 1]
        for j in range(1, m + 1):
            h = hyps[j - 1]
            pair = min(abs(r.position - h.position) / length, 1.0) if r.tag == h.tag else 1.0
            row[j] = min(prev[j] + 1.0, row[j - 1] + 1.0, prev[j - 1] + pair)
        prev = row
    return max(0.0, min(1.0, prev[m] / max(n, m)))


def track1_score(f1_micro: float, mntd: float, err: float | None) -> float | None:
    """``100 * [0.70 F1 + 0.20 (1 - mNTD) + 0.10 (1 - min(Err, 1))]``, clamped to [0, 100]."""
    if err is None:
        return None
    a, b, c = WEIGHTS
    value = 100.0 * (a * f1_micro + b * (1.0 - mntd) + c * (1.0 - min(err, 1.0)))
    return round(max(0.0, min(100.0, value)), 12)


@dataclass(frozen=True)
class TagCounts(PRF):
    """Position-aware true positives and event counts (one class, or all)."""

    tp: int = 0
    n_ref: int = 0
    n_hyp: int = 0


    def __add__(self, other: TagCounts) -> TagCounts:
        return TagCounts(self.tp + other.tp, self.n_ref + other.n_ref, self.n_hyp + other.n_hyp)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tp": self.tp, "fp": self.n_hyp - self.tp, "fn": self.n_ref - self.tp,
            "precision": self.precision, "recall": self.recall, "f1": self.f1,
            "support": self.n_ref,
        }


@dataclass(frozen=True)
class UtteranceResult:
    id: str
    language: str
    counts: TagCounts
    per_tag: dict[str, TagCounts]
    ntd: float | None  #: None when the reference has no tag (left out of mNTD)
    edits: int
    ref_tokens: int
    ref_positions: tuple[tuple[str, int], ...] = ()
    hyp_positions: tuple[tuple[str, int], ...] = ()  #: projected to reference coordinates

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "language": self.language,
            "tp": self.counts.tp,
            "n_ref": self.counts.n_ref,
            "n_hyp": self.counts.n_hyp,
            "ntd": self.ntd,
            "tagged_edits": self.edits,
            "tagged_ref_tokens": self.ref_tokens,
            "ref_events": [list(x) for x in self.ref_positions],
            "hyp_events": [list(x) for x in self.hyp_positions],
        }


def score_utterance(
    key: str,
    ref_text: str,
    hyp_text: str,
    language: str,
    *,
    source: str | None = None,
    hyp_source: str | None = None,
    taxonomy: Taxonomy | None = None,
) -> UtteranceResult:
    """Position-aware counts, NTD and tagged edit distance of one utterance."""
    ref = parse_transcript(ref_text, language, source, taxonomy=taxonomy)
    hyp = parse_transcript(hyp_text, language, hyp_source, taxonomy=taxonomy)
    projected = project_events(ref, hyp)
    tps = count_position_matches(ref.events, projected, COLLARS[language])
    n_ref = Counter(e.tag for e in ref.events)
    n_hyp = Counter(e.tag for e in projected)
    per_tag = {t: TagCounts(tps.get(t, 0), n_ref[t], n_hyp[t]) for t in dict.fromkeys([*n_ref, *n_hyp])}
    total = TagCounts(sum(tps.values()), len(ref.events), len(projected))
    return UtteranceResult(
        id=key,
        language=language,
        counts=total,
        per_tag=per_tag,
        ntd=utterance_ntd(ref.events, projected, len(ref.lexical)) if ref.events else None,
        edits=levenshtein(ref.tagged, hyp.tagged),
        ref_tokens=len(ref.tagged),
        ref_positions=tuple((e.tag, e.position) for e in ref.events),
        hyp_positions=tuple((e.tag, e.position) for e in projected),
    )


def _num(x: float | None, digits: int = 2, scale: float = 100.0, unit: str = "%") -> str:
    return "n/a" if x is None else f"{scale * x:.{digits}f}{unit}"


@dataclass(frozen=True)
class LanguageResult:
    """Track 1 figures of one language (or of several pooled, ``language="all"``)."""

    language: str
    n: int
    counts: TagCounts
    per_tag: dict[str, TagCounts]
    ntds: tuple[float, ...]
    edits: int
    ref_tokens: int

    @property
    def collar(self) -> int | None:
        return COLLARS.get(self.language)

    @property
    def f1_micro(self) -> float:
        return self.counts.f1

    @property
    def mntd(self) -> float:
        return sum(self.ntds) / len(self.ntds) if self.ntds else 0.0

    @property
    def err(self) -> float | None:
        return self.edits / self.ref_tokens if self.ref_tokens else None

    @property
    def track1_score(self) -> float | None:
        return track1_score(self.f1_micro, self.mntd, self.err)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "collar": self.collar,
            "tp": self.counts.tp,
            "fp": self.counts.n_hyp - self.counts.tp,
            "fn": self.counts.n_ref - self.counts.tp,
            "precision": self.counts.precision,
            "recall": self.counts.recall,
            "f1_micro": self.f1_micro,
            "mntd": self.mntd,
            "mntd_utterances": len(self.ntds),
            "err": self.err,
            "err_name": {"en": "WER", "zh": "CER"}.get(self.language, "WER/CER"),
            "tagged_edits": self.edits,
            "tagged_ref_tokens": self.ref_tokens,
            "track1_score": self.track1_score,
            "per_tag": {t: c.to_dict() for t, c in self.per_tag.items()},
        }


def _pool(language: str, results: Sequence[UtteranceResult]) -> LanguageResult:
    per_tag: dict[str, TagCounts] = {}
    for u in results:
        for t, c in u.per_tag.items():
            per_tag[t] = per_tag.get(t, TagCounts()) + c
    return LanguageResult(
        language=language,
        n=len(results),
        counts=sum((u.counts for u in results), TagCounts()),
        per_tag=dict(sorted(per_tag.items())),
        ntds=tuple(u.ntd for u in results if u.ntd is not None),
        edits=sum(u.edits for u in results),
        ref_tokens=sum(u.ref_tokens for u in results),
    )


@dataclass(frozen=True)
class NVVSpeechReport:
    """Track 1 figures per language, their pooled counts, and the final score."""

    languages: dict[str, LanguageResult]
    pooled: LanguageResult
    utterances: tuple[UtteranceResult, ...] = field(default=())

    @property
    def track1_score(self) -> float | None:
        """Mean Track1Score over the languages present (the official final score with both)."""
        scores = [r.track1_score for r in self.languages.values()]
        if not scores or any(s is None for s in scores):
            return None
        return round(sum(scores) / len(scores), 12)  # type: ignore[arg-type]

    @property
    def f1_micro(self) -> float:
        """Position-aware F1 pooled over all languages (each with its own collar)."""
        return self.pooled.f1_micro

    @property
    def mntd(self) -> float:
        return self.pooled.mntd

    @property
    def err(self) -> float | None:
        return self.pooled.err

    def to_dict(self, *, per_utterance: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "protocol": "NVVSpeech Challenge Track 1 v1.0.0 (position-aware; see paravox.evaluation.nvvspeech)",
            "track1_score": self.track1_score,
            "f1_micro": self.f1_micro,
            "precision": self.pooled.counts.precision,
            "recall": self.pooled.counts.recall,
            "mntd": self.mntd,
            "err": self.err,
            "languages": {k: v.to_dict() for k, v in self.languages.items()},
        }
        if per_utterance:
            out["utterances"] = [u.to_dict() for u in self.utterances]
        return out

    def format_lines(self) -> list[str]:
        lines = [
            "  NVVSpeech Track 1 (tag at the right place: 2 words en / 5 characters zh)",
            f"  {'language':<10}{'n':>5}{'P':>9}{'R':>9}{'F1_micro':>10}{'mNTD':>8}{'Err':>9}{'Track1':>9}",
        ]
        rows = list(self.languages.values())
        if len(rows) > 1:
            rows.append(self.pooled)
        for r in rows:
            name = r.language if r.language != "all" else "pooled"
            err = _num(r.err)
            score = "n/a" if r.track1_score is None else f"{r.track1_score:.2f}"
            if r.language == "all":
                score = "-"
            lines.append(
                f"  {name:<10}{r.n:>5}{_num(r.counts.precision):>9}{_num(r.counts.recall):>9}"
                f"{_num(r.f1_micro):>10}{r.mntd:>8.3f}{err:>9}{score:>9}"
            )
        final = self.track1_score
        lines.append(f"  Track1Score {'n/a' if final is None else f'{final:.2f}'}"
                     + ("  (mean over languages)" if len(self.languages) > 1 else ""))
        return lines


def evaluate_nvvspeech(
    refs: Mapping[str, str],
    hyps: Mapping[str, str],
    *,
    languages: Mapping[str, str | None] | str | None = None,
    source: str | None = None,
    hyp_source: str | None = None,
    taxonomy: Taxonomy | None = None,
) -> NVVSpeechReport:
    """Score tagged transcripts with the Track 1 metrics; ``refs`` and ``hyps`` share ids.

    ``languages``: one code for all utterances, or a code per id (see
    :func:`normalize_language`; missing ids are decided from the reference text).
    """
    missing = [k for k in refs if k not in hyps]
    if missing:
        raise ValueError(f"no hypothesis for {len(missing)} reference id(s), e.g. {missing[0]!r}")
    hyp_source = source if hyp_source is None else hyp_source
    results: list[UtteranceResult] = []
    for key, ref_text in refs.items():
        code = languages if isinstance(languages, str) or languages is None else languages.get(key)
        lang = normalize_language(code, ref_text)
        results.append(
            score_utterance(key, ref_text, hyps[key], lang, source=source, hyp_source=hyp_source, taxonomy=taxonomy)
        )
    by_lang = {
        lang: _pool(lang, [u for u in results if u.language == lang])
        for lang in LANGUAGES
        if any(u.language == lang for u in results)
    }
    return NVVSpeechReport(by_lang, _pool("all", results), tuple(results))
