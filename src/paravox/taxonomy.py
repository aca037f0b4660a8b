"""Canonical nonverbal-vocalization (NV) tags: the tag set, aliases and inline tag syntax.

paravox writes every NV event inline as ``[tag]`` with a tag from the canonical set
shipped in ``paravox/data/taxonomy.json`` (the 17 MNV-17 tags plus 14 more). Sources
write the same events in other ways; this module reads all of them:

=============  ======================  =====================================================
style          example                 recognised when
=============  ======================  =====================================================
``bracket``    ``[laugh]``             always (an unknown label is reported as *unknown*)
``angle``      ``<laughter>``          the label is known (so ``<B>`` or HTML stays text)
``sensevoice`` ``<|Laughter|>``        always (SenseVoice's language/emotion/BGM tokens are
                                       known non-events; anything else is *unknown*)
``paren``      ``(laughs)``            the label maps to a tag (ordinary parentheses stay)
=============  ======================  =====================================================

Label lookup (:func:`canonical_tag`): the source's own aliases first (exact, then
case-insensitive), then the source's ``null_patterns``, then the canonical tags, the
aliases of every source, SenseVoice's event names, a few English descriptions
(``laughter``, ``clears throat``) and simple inflections (``laughs``, ``coughing``).
Case, hyphens and spaces do not matter (``Lip-Pop`` == ``lip_pop``). A label mapped to
``null`` in the taxonomy (``[Surprise-oh]``, ``[pause]``) is a known non-event:
:func:`canonical_tag` returns ``None`` and :func:`normalize_tags` drops it.

>>> canonical_tag("Laughter")
'laugh'
>>> render_tag("laugh", "sensevoice"), render_tag("ahem", "paren")
('<|Laughter|>', '(clears throat)')
>>> normalize_tags("走在曾经熟悉的地方<crying>，[Surprise-oh]现在")
'走在曾经熟悉的地方[cry]，现在'
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from paravox.errors import ParavoxError

__all__ = [
    "STYLES",
    "Taxonomy",
    "TagSpan",
    "UnknownTagError",
    "load_taxonomy",
    "canonical_tag",
    "parent_tag",
    "render_tag",
    "find_tags",
    "parse_tagged",
    "normalize_tags",
    "strip_tags",
]

STYLES = ("bracket", "angle", "sensevoice", "paren")  # [laugh]  <laugh>  <|Laughter|>  (laughs)

# SenseVoice's own rich-transcription tokens. Events that are NV tags map to a tag;
# language, emotion, text-normalisation and non-NV event tokens are known non-events.
SENSEVOICE_EVENTS: dict[str, str] = {
    "Laughter": "laugh",
    "Cough": "cough",
    "Sneeze": "sneeze",
    "Breath": "breath",
    "Cry": "cry",
    "Applause": "applaud",
}
SENSEVOICE_NON_EVENTS = frozenset(
    {
        "zh", "en", "yue", "ja", "ko", "nospeech", "auto",
        "HAPPY", "SAD", "ANGRY", "NEUTRAL", "FEARFUL", "DISGUSTED", "SURPRISED",
        "EMO_UNKNOWN", "OTHER", "unk",
        "Speech", "BGM", "Sing", "Speech_Noise", "GBG", "Event_UNK",
        "withitn", "woitn",
    }
)
_SENSEVOICE_RENDER = {tag: name for name, tag in SENSEVOICE_EVENTS.items()}

# Paren style: the stage-direction form used in English subtitles and TTS prompts.
_PAREN_RENDER: dict[str, str] = {
    "ahem": "clears throat",
    "applaud": "applauds",
    "chuckle": "chuckles",
    "clap": "claps",
    "cough": "coughs",
    "exhale": "exhales",
    "hiss": "hisses",
    "hum": "hums",
    "inhale": "inhales",
    "laugh": "laughs",
    "moan": "moans",
    "pant": "pants",
    "sigh": "sighs",
    "smack": "smacks lips",
    "sneeze": "sneezes",
    "sniffle": "sniffles",
    "whistle": "whistles",
    "cry": "cries",
    "scream": "screams",
    "yawn": "yawns",
    "breath": "breathes",
    "gasp": "gasps",
    "sniff": "sniffs",
    "snore": "snores",
    "lip_pop": "pops lips",
    "tongue_click": "clicks tongue",
    "nose_blow": "blows nose",
    "teeth_chatter": "teeth chatter",
    "teeth_grind": "grinds teeth",
    "uhm": "uhm",
    "shh": "shushes",
}

# English names met in transcripts and captions that are neither a tag nor an
# inflection of one (inflections such as "laughs"/"coughing" are handled by rule).
_EXTRA_ALIASES: dict[str, str] = {
    "laughter": "laugh",
    "giggle": "chuckle",
    "giggles": "chuckle",
    "applause": "applaud",
    "breathing": "breath",
    "heavy_breathing": "pant",
    "throat_clearing": "ahem",
    "throatclearing": "ahem",
    "throat_clear": "ahem",
    "clearing_throat": "ahem",
    "clears_throat": "ahem",
    "clear_throat": "ahem",
    "lipsmack": "smack",
    "lip_smack": "smack",
    "lip_smacking": "smack",
    "sob": "cry",
    "sobs": "cry",
    "sobbing": "cry",
    "cries": "cry",
    "tsk": "tongue_click",
    "shush": "shh",
    "shushes": "shh",
    "um": "uhm",
    "uh": "uhm",
    "umm": "uhm",
}


class UnknownTagError(ParavoxError, ValueError):
    """A tag label that the taxonomy does not know (neither a tag nor a known non-event)."""

    def __init__(self, label: str, source: str | None = None):
        self.label = label
        self.source = source
        where = f" (source {source!r})" if source else ""
        super().__init__(
            f"unknown NV tag label {label!r}{where}: not a canonical tag, alias or known "
            "non-event; add it to the taxonomy's aliases or fix the transcript"
        )


def _key(label: str) -> str:
    """Lookup key: case-folded, with runs of spaces/hyphens/underscores as one '_'."""
    return re.sub(r"[\s\-_]+", "_", label.strip().casefold()).strip("_")


@dataclass(frozen=True)
class Taxonomy:
    """The canonical tag set and how each source's labels map onto it.

    ``aliases[source][label]`` is a canonical tag, or ``None`` for a label that is not an
    NV event; ``parent`` lists only tags whose parent differs from themselves.
    """

    tags: tuple[str, ...]
    mnv17_tags: tuple[str, ...]
    descriptions: dict[str, str]
    parent: dict[str, str]
    aliases: dict[str, dict[str, str | None]]
    null_patterns: dict[str, tuple[str, ...]]
    # lookup tables built once from the fields above
    _tag_keys: dict[str, str] = field(init=False, repr=False, compare=False)
    _source_keys: dict[str, dict[str, str | None]] = field(init=False, repr=False, compare=False)
    _global_keys: dict[str, str | None] = field(init=False, repr=False, compare=False)
    _null_res: dict[str, tuple[re.Pattern[str], ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        tag_keys = {_key(t): t for t in self.tags}
        source_keys = {
            src: {_key(label): tag for label, tag in table.items()}
            for src, table in self.aliases.items()
        }
        global_keys: dict[str, str | None] = {}
        extra = {**_EXTRA_ALIASES, **{_key(v): t for t, v in _PAREN_RENDER.items()}}
        extra.update({_key(name): tag for name, tag in SENSEVOICE_EVENTS.items()})
        tables = [table for table in source_keys.values()] + [extra]
        for table in tables:
            for k, tag in table.items():
                if tag is not None and tag not in tag_keys.values():
                    continue  # alias of a tag outside a custom taxonomy
                global_keys.setdefault(k, tag)
        null_res = {
            src: tuple(re.compile(p) for p in patterns)
            for src, patterns in self.null_patterns.items()
        }
        object.__setattr__(self, "_tag_keys", tag_keys)
        object.__setattr__(self, "_source_keys", source_keys)
        object.__setattr__(self, "_global_keys", global_keys)
        object.__setattr__(self, "_null_res", null_res)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Taxonomy":
        tags = tuple(data["tags"])
        return cls(
            tags=tags,
            mnv17_tags=tuple(data.get("mnv17_tags", ())),
            descriptions=dict(data.get("descriptions", {})),
            parent=dict(data.get("parent", {})),
            aliases={src: dict(table) for src, table in data.get("aliases", {}).items()},
            null_patterns={src: tuple(p) for src, p in data.get("null_patterns", {}).items()},
        )

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(self.aliases) + ("sensevoice",)

    def parent_of(self, tag: str) -> str:
        return self.parent.get(tag, tag)

    def check_source(self, source: str | None) -> None:
        if source is not None and source not in self.aliases and source != "sensevoice":
            raise ValueError(f"unknown source {source!r}; known: {', '.join(self.sources)}")

    def lookup(self, label: str, source: str | None = None) -> tuple[bool, str | None]:
        """``(known, tag)``: ``(True, tag)``, ``(True, None)`` for a non-event, ``(False, None)``."""
        self.check_source(source)
        raw = label.strip()
        k = _key(raw)
        if not k:
            return False, None
        if source == "sensevoice":
            found = _sensevoice_lookup(raw)
            if found is not None:
                return found
        elif source is not None:
            table = self.aliases[source]
            if raw in table:
                return True, table[raw]
            if k in self._source_keys[source]:
                return True, self._source_keys[source][k]
            if any(p.search(raw) for p in self._null_res.get(source, ())):
                return True, None
        if k in self._tag_keys:
            return True, self._tag_keys[k]
        if k in self._global_keys:
            return True, self._global_keys[k]
        for patterns in self._null_res.values():
            if any(p.search(raw) for p in patterns):
                return True, None
        for stem in _stems(k):
            if stem in self._tag_keys:
                return True, self._tag_keys[stem]
            if self._global_keys.get(stem) is not None:
                return True, self._global_keys[stem]
        return False, None


def _stems(k: str) -> list[str]:
    """Candidate base forms of an English inflection: laughs, hisses, coughing, sneezing, humming."""
    out = []
    if k.endswith("es"):
        out.append(k[:-2])
    if k.endswith("s"):
        out.append(k[:-1])
    if k.endswith("ing") and len(k) > 5:
        base = k[:-3]
        out += [base, base + "e"]
        if len(base) > 2 and base[-1] == base[-2]:
            out.append(base[:-1])  # humming -> hum, clapping -> clap
    return out


def _sensevoice_lookup(raw: str) -> tuple[bool, str | None] | None:
    if raw in SENSEVOICE_EVENTS:
        return True, SENSEVOICE_EVENTS[raw]
    if raw in SENSEVOICE_NON_EVENTS:
        return True, None
    folded = raw.casefold()
    for name, tag in SENSEVOICE_EVENTS.items():
        if name.casefold() == folded:
            return True, tag
    if any(name.casefold() == folded for name in SENSEVOICE_NON_EVENTS):
        return True, None
    return None


def _default_taxonomy_text() -> str:
    return resources.files("paravox").joinpath("data/taxonomy.json").read_text(encoding="utf-8")


@functools.lru_cache(maxsize=8)
def _load_cached(path: str | None) -> Taxonomy:
    text = _default_taxonomy_text() if path is None else Path(path).read_text(encoding="utf-8")
    return Taxonomy.from_dict(json.loads(text))


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Load (and cache) a taxonomy; by default the one shipped with paravox."""
    return _load_cached(None if path is None else str(Path(path).resolve()))


def _tax(taxonomy: Taxonomy | None) -> Taxonomy:
    return load_taxonomy() if taxonomy is None else taxonomy


def canonical_tag(
    label: str, source: str | None = None, *, taxonomy: Taxonomy | None = None
) -> str | None:
    """Map a label as some source writes it (``laughing``, ``Laughter``) to a canonical tag.

    Returns ``None`` for a known non-event (``Surprise-oh``, ``pause``) and raises
    :class:`UnknownTagError` (a ``ValueError``) for a label the taxonomy does not know.
    """
    known, tag = _tax(taxonomy).lookup(label, source)
    if not known:
        raise UnknownTagError(label, source)
    return tag


def parent_tag(tag: str, *, taxonomy: Taxonomy | None = None) -> str:
    """The coarser tag used for parent-level scoring (``chuckle`` -> ``laugh``); a tag
    without a parent is its own parent. ``tag`` must be canonical."""
    tax = _tax(taxonomy)
    if tag not in tax.tags:
        raise UnknownTagError(tag)
    return tax.parent_of(tag)


def render_tag(tag: str, style: str = "bracket") -> str:
    """Write a canonical tag inline in one of :data:`STYLES`."""
    if style == "bracket":
        return f"[{tag}]"
    if style == "angle":
        return f"<{tag}>"
    if style == "sensevoice":
        name = _SENSEVOICE_RENDER.get(tag) or "_".join(p.capitalize() for p in tag.split("_"))
        return f"<|{name}|>"
    if style == "paren":
        return f"({_PAREN_RENDER.get(tag, tag.replace('_', ' '))})"
    raise ValueError(f"unknown tag style {style!r}; choose one of {', '.join(STYLES)}")


@dataclass(frozen=True)
class TagSpan:
    """One inline tag found in a text: ``text[start:end] == raw``.

    ``kind`` is ``"tag"`` (``tag`` holds the canonical tag), ``"null"`` (a known non-event
    or closing markup such as ``</laughter>``; ``tag`` is None) or ``"unknown"`` (a
    bracket or SenseVoice tag whose label the taxonomy does not know; ``tag`` is None).
    """

    start: int
    end: int
    raw: str
    label: str
    tag: str | None
    style: str = "bracket"
    kind: str = ""

    def __post_init__(self) -> None:
        if not self.kind:
            object.__setattr__(self, "kind", "tag" if self.tag is not None else "null")

    @property
    def is_null(self) -> bool:
        return self.kind == "null"

    @property
    def is_unknown(self) -> bool:
        return self.kind == "unknown"


_TAG_RE = re.compile(
    r"<\|(?P<sv>[^|<>\n]{1,40})\|>"
    r"|\[(?P<br>[^\[\]\n]{1,64})\]"
    r"|<(?P<close>/?)(?P<an>[A-Za-z][A-Za-z0-9_\- ]{0,40})>"
    r"|\((?P<pa>[A-Za-z][A-Za-z_\- ]{0,40})\)"
)


def find_tags(
    text: str, source: str | None = None, *, taxonomy: Taxonomy | None = None
) -> list[TagSpan]:
    """Every inline tag in ``text``, in order, in any of :data:`STYLES`.

    Bracket and SenseVoice tags are always tags (unknown labels come back with
    ``kind="unknown"``); angle and paren forms only when the label is known, so ``<B>``,
    HTML and ordinary parentheses stay text. A closing ``</laughter>`` is markup
    (``kind="null"``).
    """
    tax = _tax(taxonomy)
    tax.check_source(source)
    spans: list[TagSpan] = []
    pos = 0
    while True:
        m = _TAG_RE.search(text, pos)
        if m is None:
            return spans
        span = _classify(m, tax, source)
        if span is None:
            pos = m.start() + 1  # not a tag: a real tag may start inside it
            continue
        spans.append(span)
        pos = m.end()


def _classify(m: re.Match[str], tax: Taxonomy, source: str | None) -> TagSpan | None:
    def make(label: str, style: str, known: bool, tag: str | None) -> TagSpan:
        kind = "tag" if tag is not None else ("null" if known else "unknown")
        return TagSpan(m.start(), m.end(), m.group(0), label.strip(), tag, style, kind)

    if m.group("sv") is not None:
        label = m.group("sv")
        found = _sensevoice_lookup(label.strip())
        known, tag = found if found is not None else tax.lookup(label, source)
        return make(label, "sensevoice", known, tag)
    if m.group("br") is not None:
        label = m.group("br")
        if not label.strip():
            return None
        known, tag = tax.lookup(label, source)
        return make(label, "bracket", known, tag)
    if m.group("an") is not None:
        label = m.group("an")
        known, tag = tax.lookup(label, source)
        if not known:
            return None
        if m.group("close"):
            return make(label, "angle", True, None)
        return make(label, "angle", True, tag)
    label = m.group("pa")
    known, tag = tax.lookup(label, source)
    if tag is None:
        return None
    return make(label, "paren", True, tag)


def parse_tagged(
    text: str, source: str | None = None, *, taxonomy: Taxonomy | None = None
) -> tuple[list[str], list[str]]:
    """``(canonical tags in order, unknown labels in order)``; non-events are left out."""
    spans = find_tags(text, source, taxonomy=taxonomy)
    tags = [s.tag for s in spans if s.kind == "tag"]
    unknown = [s.label for s in spans if s.kind == "unknown"]
    return tags, unknown  # type: ignore[return-value]


def _rewrite(text: str, spans: list[TagSpan], replace) -> str:
    """Replace each span by ``replace(span)``; where a span is dropped, do not leave a
    double space (or a leading/trailing space) behind."""
    out: list[str] = []
    pos = 0
    for s in spans:
        out.append(text[pos : s.start])
        new = replace(s)
        pos = s.end
        if new:
            out.append(new)
            continue
        before = "".join(out)
        after_space = not before or before[-1].isspace()
        if after_space and pos < len(text) and text[pos].isspace():
            while pos < len(text) and text[pos].isspace():
                pos += 1  # "a [x] b" -> "a b", "[x] b" -> "b"
        elif after_space and pos >= len(text):
            out = [before.rstrip()]  # "a [x]" -> "a"
    out.append(text[pos:])
    return "".join(out)


def normalize_tags(
    text: str,
    source: str | None = None,
    style: str = "bracket",
    *,
    taxonomy: Taxonomy | None = None,
) -> str:
    """Rewrite every recognised tag as a canonical tag in ``style``; drop non-events.

    Unknown bracket/SenseVoice tags are kept as written (nothing is silently lost);
    use :func:`parse_tagged` to list them.
    """
    if style not in STYLES:
        raise ValueError(f"unknown tag style {style!r}; choose one of {', '.join(STYLES)}")
    spans = find_tags(text, source, taxonomy=taxonomy)

    def replace(s: TagSpan) -> str:
        if s.kind == "tag":
            return render_tag(s.tag, style)  # type: ignore[arg-type]
        if s.kind == "null":
            return ""
        return s.raw

    return _rewrite(text, spans, replace)


def strip_tags(text: str, source: str | None = None, *, taxonomy: Taxonomy | None = None) -> str:
    """Remove every tag (known, non-event and unknown) and leave only the words."""
    return _rewrite(text, find_tags(text, source, taxonomy=taxonomy), lambda s: "")
