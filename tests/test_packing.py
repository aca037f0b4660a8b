"""Short inputs sharing Whisper's windows (issue 23): how words go back to their inputs, and
the analyser's and the batch's use of it on real clips."""

from __future__ import annotations

import pytest
from faster_whisper.transcribe import Segment as FWSegment
from faster_whisper.transcribe import Word as FWWord

from conftest import clip
from paravox.backends.packing import PACK_SLACK, pack_windows, split_window
from paravox.options import TranscribeOptions

OPTS = TranscribeOptions()
#: two inputs in a window: 0-2 s and 3-5 s (a 1-s gap)
SPANS = [(0.0, 2.0), (3.0, 5.0)]


def _segment(words: list[tuple[str, float, float]], prob: float = 0.9, text: str | None = None) -> FWSegment:
    ws = [FWWord(start=a, end=b, word=w, probability=prob) for w, a, b in words]
    return FWSegment(id=1, seek=0, start=ws[0].start, end=ws[-1].end, text=text or "".join(w.word for w in ws),
                     tokens=[], avg_logprob=-0.2, compression_ratio=1.0, no_speech_prob=0.0, words=ws, temperature=0.0)


def test_words_go_to_the_input_they_lie_in_with_times_from_its_start():
    # one segment that runs over both inputs: split by the words' middles
    seg = _segment([(" Kids", 0.2, 0.6), (" talk.", 0.6, 1.5), (" Dogs", 3.1, 3.5), (" sit.", 3.5, 4.2)])
    (first, why1), (second, why2) = split_window([seg], SPANS, OPTS)
    assert why1 is None and why2 is None
    assert [w.word for w in first[0].words] == [" Kids", " talk."] and first[0].text == " Kids talk."
    assert [(w.word, w.start, w.end) for w in second[0].words] == [(" Dogs", 0.1, 0.5), (" sit.", 0.5, 1.2)]
    assert second[0].start == pytest.approx(0.1) and second[0].end == pytest.approx(1.2)


def test_a_segment_of_one_input_keeps_its_text_and_times():
    seg = _segment([("好", 3.2, 3.4), ("的", 3.4, 3.6)], text="好的。")
    answers = split_window([_segment([("是", 0.5, 0.9)]), seg], SPANS, OPTS)
    assert answers[1][0][0].text == "好的。" and answers[1][0][0].start == pytest.approx(0.2)


@pytest.mark.parametrize(
    "words, doubt",
    [
        ([(" door", 2.0, 2.1 + PACK_SLACK + 0.3)], "in gap"),  # its middle far into the silence after the input
        ([(" door", 2.3, 2.4)], "in gap"),  # wholly in the silence
        ([(" door", 1.8, 3.2)], "crossing"),  # reaches into the next input's speech
    ],
)
def test_a_word_between_inputs_sends_its_input_to_be_decoded_alone(words, doubt):
    answers = split_window([_segment([(" Kids", 0.2, 0.6)] + words), _segment([(" Dogs", 3.3, 3.6)])], SPANS, OPTS)
    assert answers[0] == (None, doubt)
    assert answers[1][1] is None


def test_inputs_without_words_after_a_cut_or_looping_are_not_answered_for():
    loop = _segment([(" la", 3.0 + 0.1 * i, 3.05 + 0.1 * i) for i in range(18)])
    answers = split_window([_segment([(" Kids", 0.2, 0.6)]), loop], SPANS, OPTS)
    assert answers[1] == (None, "compression")
    assert split_window([_segment([(" Kids", 0.2, 0.6)])], SPANS, OPTS)[1] == (None, "no words")
    assert split_window([_segment([(" Kids", 0.2, 0.6)])], SPANS, OPTS, heard_until=2.5)[1] == (None, "cut off")
    unsure = split_window([_segment([(" Kids", 0.2, 0.6)], prob=0.2), _segment([(" Dogs", 3.3, 3.6)])], SPANS, OPTS)
    assert unsure[0] == (None, "logprob") and unsure[1][1] is None


def test_windows_hold_at_most_pack_inputs_and_28_seconds():
    sizes = [(i, 3 * 16000) for i in range(10)]  # 3-s inputs, 1-s gaps: 7 fit in 28 s
    assert pack_windows(sizes, 32) == [[0, 1, 2, 3, 4, 5, 6], [7, 8, 9]]
    assert pack_windows(sizes, 4) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert pack_windows([(0, 40 * 16000), (1, 16000)]) == [[0], [1]]


@pytest.mark.slow
def test_analyze_many_packs_short_inputs_and_keeps_each_one_apart(tmp_path):
    from paravox.analyzer import Analyzer
    from paravox.audio import AudioError
    from paravox.testing import silence, wav_bytes

    zh = [clip("emotion/casia", f"casia-wangzhe-neutral-{n}")[0] for n in (201, 202, 203)]
    en = [clip("emotion/ravdess", "ravdess-03-01-01-01-01-01-01")[0], clip("emotion/ravdess", "ravdess-03-01-01-01-02-01-01")[0]]
    (tmp_path / "bad.wav").write_bytes(b"RIFF" + b"\x00" * 40)
    (tmp_path / "quiet.wav").write_bytes(wav_bytes(silence(2.0)))
    items = [(str(p), p.name, None) for p in (zh[0], en[0], zh[1], en[1], zh[2])]
    items += [(str(tmp_path / "bad.wav"), "bad", None), (str(tmp_path / "quiet.wav"), "quiet", None)]
    analyzer = Analyzer(threads=2, pack=8, events=None, emotion=None)
    got = analyzer.analyze_many(items)
    assert isinstance(got[5], AudioError) and "bad" in str(got[5])
    assert got[6].segments == [] and got[6].duration == 2.0
    for result, language in zip(got[:5], ["zh", "en", "zh", "en", "zh"]):
        assert result.language == language and result.text  # zh and en never share a window
        words = [w for s in result.segments for w in s.words]
        assert words and all(0.0 <= w.start <= w.end <= result.duration + 1e-6 for w in words)
        assert result.options["pack"] == 8
    assert "talking" in got[1].text.lower() and "sitting" not in got[1].text.lower()  # no text from a neighbour
    again = analyzer.analyze_many(items)
    assert [a.to_dict() | {"options": None} for a in got[:5]] == [a.to_dict() | {"options": None} for a in again[:5]]
    alone = Analyzer(threads=2, events=None, emotion=None)
    assert alone.analyze_many(items[:1])[0].text == alone.analyze(items[0][0]).text  # pack=1: analyze itself
    # a file object can be read once only: it is analysed alone, not packed
    import io

    stream = analyzer.analyze_many([(io.BytesIO(en[0].read_bytes()), "stream", None), items[2]])
    assert stream[0].text == alone.analyze(str(en[0])).text and stream[1].language == "zh"


@pytest.mark.slow
def test_inputs_no_window_answers_for_get_exactly_what_they_give_alone(monkeypatch):
    """Every packed input doubted: each is decoded one to a window, four windows to a batch,
    and must come out as decoding it alone does (or be decoded alone)."""
    import paravox.backends.whisper as whisper
    from paravox.audio import load_audio

    real = whisper.split_window

    def doubt_every_shared_window(segments, spans, opts, **kwargs):
        return [(None, "crossing")] * len(spans) if len(spans) > 1 else real(segments, spans, opts, **kwargs)

    monkeypatch.setattr(whisper, "split_window", doubt_every_shared_window)
    whisper.PACK_COUNTS.clear()
    paths = [clip("emotion/casia", f"casia-wangzhe-neutral-{n}")[0] for n in (201, 202)]
    paths += [clip("emotion/ravdess", f"ravdess-03-01-01-01-0{n}-01-01")[0] for n in (1, 2)]
    audio = [load_audio(p).samples for p in paths]
    asr = whisper.WhisperBaseASR(threads=2)
    opts = TranscribeOptions()
    many = asr.transcribe_many([(a, opts) for a in audio])
    assert whisper.PACK_COUNTS["crossing"] == 4 and whisper.PACK_COUNTS["alone, batched"] == 4
    for got, a in zip(many, audio):
        want = asr.transcribe(a, options=opts)
        assert [(s.text, [(w.text, w.start, w.end) for w in s.words]) for s in got.segments] == \
               [(s.text, [(w.text, w.start, w.end) for w in s.words]) for s in want.segments]
