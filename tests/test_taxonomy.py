import doctest
import json
from pathlib import Path

import pytest

from paravox.taxonomy import (
    STYLES,
    TagSpan,
    UnknownTagError,
    canonical_tag,
    find_tags,
    load_taxonomy,
    normalize_tags,
    parent_tag,
    parse_tagged,
    render_tag,
    strip_tags,
)

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PACKAGED = Path(__file__).resolve().parents[1] / "src" / "paravox" / "data" / "taxonomy.json"


def test_packaged_taxonomy_equals_shared_copy():
    shared = SHARED_DATA / "taxonomy.json"
    if not shared.exists():
        pytest.skip("shared data pack not present")
    assert json.loads(PACKAGED.read_text(encoding="utf-8")) == json.loads(
        shared.read_text(encoding="utf-8")
    )


def test_load_taxonomy_defaults_to_packaged_file_and_is_cached():
    tax = load_taxonomy()
    assert tax is load_taxonomy()
    assert len(tax.tags) == 31 and len(set(tax.tags)) == 31
    assert len(tax.mnv17_tags) == 17 and set(tax.mnv17_tags) <= set(tax.tags)
    assert set(tax.descriptions) == set(tax.tags)
    assert set(tax.parent.values()) <= set(tax.tags)
    assert load_taxonomy(PACKAGED).tags == tax.tags


def test_aliases_do_not_conflict_across_sources():
    # canonical_tag falls back to every source's aliases, case-insensitively: that is
    # only safe while no label means two different tags in two sources.
    seen: dict[str, str | None] = {}
    for table in load_taxonomy().aliases.values():
        for label, tag in table.items():
            key = label.casefold().replace("-", "_")
            assert seen.setdefault(key, tag) == tag, label


@pytest.mark.parametrize(
    "label, source, expected",
    [
        ("laugh", None, "laugh"),
        ("laughter", None, "laugh"),
        ("Laughter", None, "laugh"),
        ("laughs", None, "laugh"),
        ("LAUGHING", None, "laugh"),
        ("laughing", "deeply", "laugh"),
        ("throat-clearing", "deeply", "ahem"),
        ("throatclearing", "nonverbalspeech38k", "ahem"),
        ("throat_clearing", "synparaspeech", "ahem"),
        ("crying", "smiip-nv", "cry"),
        ("Breathing", "nvspeech", "breath"),
        ("lip-pop", None, "lip_pop"),
        ("Lip Pop", None, "lip_pop"),
        ("clears throat", None, "ahem"),
        ("coughs", None, "cough"),
        ("coughing", None, "cough"),
        ("sneezing", None, "sneeze"),
        ("humming", None, "hum"),
        ("hisses", None, "hiss"),
        ("sniffles", None, "sniffle"),
        ("Applause", "sensevoice", "applaud"),
        ("tsk", None, "tongue_click"),
    ],
)
def test_canonical_tag(label, source, expected):
    assert canonical_tag(label, source) == expected


@pytest.mark.parametrize(
    "label, source",
    [
        ("Surprise-oh", "nvspeech"),
        ("Surprise-oh", None),  # alias of another source
        ("Surprise-wow", None),  # not listed, caught by nvspeech's null pattern
        ("Question-ah", None),
        ("pause", "synparaspeech"),
        ("NEUTRAL", "sensevoice"),
    ],
)
def test_known_non_events_map_to_none(label, source):
    assert canonical_tag(label, source) is None


def test_unknown_label_raises_value_error():
    with pytest.raises(UnknownTagError) as info:
        canonical_tag("inaudible")
    assert isinstance(info.value, ValueError)
    assert info.value.label == "inaudible"
    with pytest.raises(ValueError, match="unknown source"):
        canonical_tag("laugh", source="nosuchcorpus")


def test_parent_tag():
    assert parent_tag("inhale") == parent_tag("exhale") == parent_tag("pant") == "breath"
    assert parent_tag("chuckle") == "laugh"
    assert parent_tag("applaud") == "clap"
    assert parent_tag("sniffle") == "sniff"
    assert parent_tag("laugh") == "laugh"
    with pytest.raises(UnknownTagError):
        parent_tag("laughter")  # a label, not a canonical tag


def test_render_tag_styles():
    assert render_tag("laugh") == "[laugh]"
    assert render_tag("laugh", "angle") == "<laugh>"
    assert render_tag("laugh", "sensevoice") == "<|Laughter|>"
    assert render_tag("applaud", "sensevoice") == "<|Applause|>"
    assert render_tag("sigh", "sensevoice") == "<|Sigh|>"
    assert render_tag("lip_pop", "sensevoice") == "<|Lip_Pop|>"
    assert render_tag("laugh", "paren") == "(laughs)"
    assert render_tag("cough", "paren") == "(coughs)"
    assert render_tag("sigh", "paren") == "(sighs)"
    assert render_tag("ahem", "paren") == "(clears throat)"
    assert render_tag("custom_tag", "paren") == "(custom tag)"
    with pytest.raises(ValueError):
        render_tag("laugh", "xml")


@pytest.mark.parametrize("style", STYLES)
def test_every_tag_round_trips_in_every_style(style):
    for tag in load_taxonomy().tags:
        assert parse_tagged(f"前{render_tag(tag, style)}后") == ([tag], []), (tag, style)
        assert normalize_tags(f"a {render_tag(tag, style)} b") == f"a [{tag}] b"


def test_find_tags_reports_offsets_styles_and_kinds():
    text = "<|zh|><|Laughter|>好 (laughs) [Surprise-oh] [foo] <crying>哭</crying>"
    spans = find_tags(text)
    for s in spans:
        assert text[s.start : s.end] == s.raw
    summary = [(s.raw, s.style, s.kind, s.tag) for s in spans]
    assert summary == [
        ("<|zh|>", "sensevoice", "null", None),
        ("<|Laughter|>", "sensevoice", "tag", "laugh"),
        ("(laughs)", "paren", "tag", "laugh"),
        ("[Surprise-oh]", "bracket", "null", None),
        ("[foo]", "bracket", "unknown", None),
        ("<crying>", "angle", "tag", "cry"),
        ("</crying>", "angle", "null", None),
    ]
    assert spans[4].is_unknown and spans[3].is_null


def test_ordinary_parentheses_and_markup_are_not_tags():
    text = "He said (this is fine) and <b>bold</b>, [gasp]<B> What? </B> (see page 3)"
    assert [s.raw for s in find_tags(text)] == ["[gasp]"]
    assert normalize_tags(text) == text


def test_tagspan_kind_defaults_from_tag():
    assert TagSpan(0, 7, "[laugh]", "laugh", "laugh").kind == "tag"
    assert TagSpan(0, 5, "[x-y]", "x-y", None).kind == "null"


def test_parse_tagged_returns_tags_in_order_and_unknown_labels():
    assert parse_tagged("[cough]你[laughing]好[cough][inaudible]") == (
        ["cough", "laugh", "cough"],
        ["inaudible"],
    )
    assert parse_tagged("no tags here") == ([], [])


def test_normalize_tags_rewrites_and_drops_non_events():
    assert normalize_tags("走在曾经熟悉的地方<crying>，现在", source="smiip-nv") == "走在曾经熟悉的地方[cry]，现在"
    # a dropped non-event leaves no double or edge space behind
    assert normalize_tags("[Surprise-oh] 真的 [Question-ah] 吗 [pause]") == "真的 吗"
    assert normalize_tags("oh [Surprise-oh]") == "oh"
    assert normalize_tags("I [laughing] see", style="paren") == "I (laughs) see"
    assert normalize_tags("<|zh|><|NEUTRAL|><|Cough|><|woitn|>好", style="angle") == "<cough>好"
    # unknown tags are kept as written
    assert normalize_tags("[inaudible] 好") == "[inaudible] 好"


def test_strip_tags_removes_all_tags():
    assert strip_tags("他[ahem]慢慢地 [Surprise-oh] 转过身 [inaudible] (laughs)") == "他慢慢地 转过身"
    assert strip_tags("[laugh]") == ""


def _manifest_rows(relpath: str):
    path = SHARED_DATA / relpath
    if not path.exists():
        pytest.skip(f"{relpath} not present in the shared data pack")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_dev_manifest_tags_match_normalized_raw_text():
    rows = _manifest_rows("nvasr/dev/manifest.jsonl")
    assert len(rows) >= 40
    for row in rows:
        normalized = normalize_tags(row["text_raw"], source=row["source"])
        assert parse_tagged(normalized) == (row["tags"], []), row["id"]
        # the manifest's canonical text also removed NonVerbalSpeech-38K's <B>..</B> marks
        if "<B>" not in row["text_raw"]:
            assert normalized == row["text"], row["id"]


def test_mnv17_transcripts_are_already_canonical():
    rows = _manifest_rows("nvasr/mnv17/test.jsonl")
    n_tags = 0
    for row in rows:
        assert normalize_tags(row["txt"], source="mnv17") == row["txt"]
        tags, unknown = parse_tagged(row["txt"], source="mnv17")
        assert unknown == [] and 1 <= len(tags) <= 3
        n_tags += len(tags)
    assert n_tags == 300  # the sum of the README's per-tag table


def test_docstring_examples():
    import paravox.evaluation.text
    import paravox.taxonomy

    for module in (paravox.taxonomy, paravox.evaluation.text):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__
