"""The result model: placement of tags, serialisation round-trip, schema, output formats."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from paravox.formats import render, timestamp
from paravox.result import Analysis, EmotionScore, Event, Segment, Word, join_words


def _zh() -> Analysis:
    # 他对着光 | 仔细端详着 with a hum in the pause between 1.2 s and 1.6 s
    words = [Word(0.0, 0.3, "他"), Word(0.3, 0.6, "对"), Word(0.6, 0.9, "着"), Word(0.9, 1.2, "光"),
             Word(1.6, 1.9, "仔细"), Word(1.9, 2.4, "端详"), Word(2.4, 2.6, "着")]
    seg = Segment(0.0, 2.6, "他对着光仔细端详着", words, language="zh")
    return Analysis("zh.wav", 3.0, "zh", [seg], [Event("hum", 1.25, 1.55, 0.8)])


def test_tag_lands_in_the_pause_mnv17_style():
    assert _zh().tagged_text() == "他对着光 [hum] 仔细端详着"


@pytest.mark.parametrize(
    "style, expected",
    [("bracket", "他对着光 [hum] 仔细端详着"), ("sensevoice", "他对着光 <|Hum|> 仔细端详着"), ("angle", "他对着光 <hum> 仔细端详着")],
)
def test_other_tag_styles(style, expected):
    assert _zh().tagged_text(style) == expected


def test_event_inside_a_word_goes_to_nearest_boundary():
    words = [Word(0.0, 0.5, "I"), Word(0.6, 1.6, "really"), Word(1.7, 2.0, "know")]
    # starts 0.1 s after "really" began, 0.9 s before it ends: the boundary before it is nearer
    a = Analysis("x", 2.0, "en", [Segment(0.0, 2.0, "I really know", words)], [Event("laugh", 0.7, 1.0)])
    assert a.tagged_text() == "I [laugh] really know"
    a.events = [Event("laugh", 1.5, 1.8)]
    assert a.tagged_text() == "I really [laugh] know"


def test_events_before_first_and_after_last_word_and_repeated():
    words = [Word(1.0, 1.5, "hello"), Word(1.6, 2.0, "world.")]
    a = Analysis("x", 5.0, "en", [Segment(1.0, 2.0, "hello world.", words)],
                 [Event("cough", 0.1, 0.4), Event("laugh", 3.0, 3.5), Event("laugh", 4.0, 4.5)])
    assert a.tagged_text() == "[cough] hello world. [laugh] [laugh]"


def test_no_speech_only_events_and_empty():
    assert Analysis("x", 2.0, events=[Event("sneeze", 0.2, 0.5)]).tagged_text() == "[sneeze]"
    empty = Analysis("x", 0.0)
    assert empty.tagged_text() == "" and empty.text == ""
    assert render(empty, "srt") == "" and render(empty, "vtt") == "WEBVTT\n\n"


def test_join_words_spacing():
    assert join_words(["他", "对着", "光，", "仔细"]) == "他对着光，仔细"
    assert join_words(["Hello", ",", "world", "!"]) == "Hello, world!"
    assert join_words([" Hello", " world"]) == "Hello world"
    assert join_words(["我用", "iPhone", "拍"]) == "我用 iPhone 拍"
    assert join_words(["an", "ill", "-disposed", "man"]) == "an ill-disposed man"
    assert join_words(["wait", "-", "what"]) == "wait - what"


def _full() -> Analysis:
    a = _zh()
    a.segments[0].emotion = EmotionScore("happy", 0.7, {"happy": 0.7, "neutral": 0.3}, 0.0, 2.6)
    a.segments[0].avg_logprob = -0.2
    a.emotion = EmotionScore("happy", 0.7, {"happy": 0.7, "neutral": 0.3}, 0.0, 3.0)
    a.language_probability = 0.98
    a.models = {"asr": "whisper-base"}
    a.options = {"beam_size": 5}
    return a


def test_round_trip_dict_and_json():
    a = _full()
    assert Analysis.from_dict(a.to_dict()) == a
    assert Analysis.from_json(a.to_json()) == a
    d = a.to_dict()
    assert d["tagged_text"] == "他对着光 [hum] 仔细端详着"
    assert d["segments"][0]["words"][4] == {"start": 1.6, "end": 1.9, "text": "仔细", "prob": 1.0}


def test_from_dict_rejects_other_documents():
    with pytest.raises(ValueError, match="missing"):
        Analysis.from_dict({"text": "hi"})


def test_schema_validates_output():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(resources.files("paravox").joinpath("data/analysis.schema.json").read_text())
    jsonschema.validate(_full().to_dict(), schema)
    jsonschema.validate(Analysis("x", 0.0).to_dict(), schema)
    bad = _full().to_dict()
    bad["events"][0]["start"] = "soon"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_srt_and_vtt_cues_carry_tags():
    a = Analysis(
        "x", 10.0, "en",
        [Segment(0.5, 2.0, "hi there", [Word(0.5, 0.9, "hi"), Word(1.4, 2.0, "there")]),
         Segment(3.0, 4.0, "bye", [Word(3.0, 4.0, "bye")])],
        [Event("cough", 1.0, 1.3), Event("sneeze", 8.0, 8.4)],  # the sneeze is far from speech
    )
    srt = render(a, "srt")
    assert srt == (
        "1\n00:00:00,500 --> 00:00:02,000\nhi [cough] there\n\n"
        "2\n00:00:03,000 --> 00:00:04,000\nbye\n\n"
        "3\n00:00:08,000 --> 00:00:08,400\n[sneeze]\n"
    )
    vtt = render(a, "vtt")
    assert vtt.startswith("WEBVTT\n\n00:00:00.500 --> 00:00:02.000\nhi [cough] there\n")


def test_timestamp_rounding_and_hours():
    assert timestamp(3723.4567) == "01:02:03,457"
    assert timestamp(0.0, sep=".") == "00:00:00.000"
    assert timestamp(-1) == "00:00:00,000"


def test_json_and_jsonl_carry_id():
    a = _zh()
    line = render(a, "jsonl", key="utt1")
    assert line.endswith("\n") and line.count("\n") == 1
    assert json.loads(line)["id"] == "utt1"
    assert json.loads(render(a, "json"))["source"] == "zh.wav"


def test_options_overrides_merge_and_round_trip():
    from paravox.analyzer import Analyzer
    from paravox.options import AnalyzeOptions

    base = AnalyzeOptions.from_kwargs(language="zh", window_seconds=60)
    merged = Analyzer(base, beam_size=2).options
    assert (merged.transcribe.language, merged.transcribe.beam_size, merged.window_seconds) == ("zh", 2, 60)
    assert AnalyzeOptions.from_dict(merged.to_dict()) == merged
    with pytest.raises(TypeError, match="unknown option 'beams'"):
        base.with_overrides(beams=2)


def test_tags_never_land_inside_a_chinese_word():
    # 结果 and 误会 are words: a sigh timed between their characters goes to a word boundary
    chars = "他说结果误会了"
    words = [Word(0.3 * i, 0.3 * i + 0.2, ch) for i, ch in enumerate(chars)]
    seg = Segment(0.0, 2.1, chars, words=words, language="zh")
    a = Analysis(source="x", duration=2.5, segments=[seg], events=[Event("sigh", 0.81, 0.9), Event("laugh", 1.41, 1.5)])
    tagged = a.tagged_text()
    assert "结 [sigh] 果" not in tagged and "误 [laugh] 会" not in tagged
    assert tagged.replace(" [sigh] ", "").replace(" [laugh] ", "").replace("[sigh] ", "").replace("[laugh] ", "") == chars
    assert a.text == chars


def test_text_and_tagged_text_share_one_spacing_rule():
    words = [Word(0.0, 0.2, "我们"), Word(0.2, 0.4, "用"), Word(0.4, 0.8, "iPhone"), Word(0.9, 1.0, "and"),
             Word(1.0, 1.2, "Android"), Word(1.3, 1.5, "吧")]
    a = Analysis(source="x", duration=2.0, segments=[Segment(0.0, 1.5, "我们用 iPhone and Android吧", words=words)])
    assert a.text == "我们用 iPhone and Android 吧"
    assert a.tagged_text() == a.text  # no events: the same string
    a.events = [Event("laugh", 0.85, 0.9)]
    assert a.tagged_text() == "我们用 iPhone [laugh] and Android 吧"


def test_cues_never_overlap_the_next_one():
    """Whisper's segments may overlap by a fraction of a second (1:11.92 -> 1:16.26, then 1:15.90 -> ...)."""
    segs = [Segment(71.92, 76.26, "first", [Word(71.92, 76.26, "first")]),
            Segment(75.90, 79.0, "second", [Word(75.90, 79.0, "second")]),
            Segment(80.0, 81.0, "third", [Word(80.0, 81.0, "third")])]
    cues = Analysis(source="x", duration=82.0, segments=segs).cues()
    assert [(c.start, c.end) for c in cues] == [(71.92, 75.90), (75.90, 79.0), (80.0, 81.0)]
    assert all(a.end <= b.start for a, b in zip(cues, cues[1:]))


def test_txt_separates_segments_and_stays_one_line_per_input():
    """Chinese segments rarely end in punctuation; joined word to word they ran together."""
    segs = [Segment(0.0, 1.0, "第一句话", [Word(0.0, 1.0, "第一句话")], "zh"),
            Segment(1.5, 2.5, "第二句话", [Word(1.5, 2.5, "第二句话")], "zh")]
    a = Analysis(source="x", duration=3.0, segments=segs, events=[Event("laugh", 2.5, 2.9, 0.9)])
    assert render(a, "txt") == "第一句话 第二句话 [laugh]\n"
    assert render(Analysis(source="y", duration=1.0), "txt") == "\n"


def test_subtitle_lines_are_broken_at_max_line_chars():
    words = [Word(0.1 * i, 0.1 * i + 0.1, w) for i, w in enumerate("He was not an ill-disposed young man.".split())]
    a = Analysis(source="x", duration=2.0, segments=[Segment(0.0, 0.7, "He was not an ill-disposed young man.", words)])
    srt = render(a, "srt", max_line_chars=20)
    assert srt.splitlines()[2:5] == ["He was not an", "ill-disposed young", "man."]
    assert all(len(line) <= 20 for line in render(a, "vtt", max_line_chars=20).splitlines()[3:])
    assert render(a, "srt") .splitlines()[2] == "He was not an ill-disposed young man."  # no limit: one line
