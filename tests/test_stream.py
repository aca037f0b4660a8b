"""Live streaming: PCM in pieces, the stream session, ``paravox stream``.

The session runs the real models on the bundled demo (21 s: speech, a 2.6-s laugh, speech).
The WebSocket endpoint is tested in test_serve_stream.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from paravox.audio import AudioError, load_audio
from paravox.audio.pcm import PcmReader
from paravox.cli.main import main
from paravox.evaluation.nvasr import edit_counts
from paravox.evaluation.text import tokenize
from paravox.streaming import StreamOptions, StreamSession
from paravox.testing import silence

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "samples" / "demo.flac"


@pytest.fixture(scope="module")
def demo() -> np.ndarray:
    return load_audio(DEMO).samples


def _pcm(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


def _run(analyzer, samples, sizes, *, options=None, partial=True):
    """Feed ``samples`` in pieces of the given sizes (cycled); every message, in order."""
    session = StreamSession(analyzer, options or StreamOptions(), name="demo")
    out, i, k = [], 0, 0
    while i < len(samples):
        n = sizes[k % len(sizes)]
        out += session.feed(samples[i : i + n], partial=partial)
        i, k = i + n, k + 1
    return out + session.finish()


def cer(ref: str, hyp: str) -> float:
    """Text CER as the field counts it (characters in Chinese, words in English)."""
    r, h = tokenize(ref, keep_tags=False), tokenize(hyp, keep_tags=False)
    e = edit_counts(r, h)
    return (e.substitutions + e.deletions + e.insertions) / max(1, len(r))


def _done(messages) -> dict:
    assert messages[-1]["type"] == "done" and sum(m["type"] == "done" for m in messages) == 1
    doc = dict(messages[-1]["analysis"])
    doc["options"] = {k: v for k, v in doc["options"].items() if k != "elapsed_seconds"}
    return doc


# ---- PCM in pieces ---------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [8000, 16000, 44100, 48000])
def test_pcm_gives_the_same_samples_however_the_bytes_are_split(rate):
    rng = np.random.default_rng(rate)
    pcm = _pcm(np.sin(np.arange(rate * 2) * 2 * np.pi * 440 / rate) * 0.5)
    whole = PcmReader(rate)
    expected = np.concatenate([whole.push(pcm), whole.flush()])
    reader, pieces, i = PcmReader(rate), [], 0
    while i < len(pcm):  # odd sizes too: a sample's two bytes arrive in different frames
        n = int(rng.integers(1, 5000))
        pieces.append(reader.push(pcm[i : i + n]))
        i += n
    got = np.concatenate(pieces + [reader.flush()])
    assert len(expected) == 32000  # two seconds at 16 kHz
    np.testing.assert_array_equal(got, expected)


def test_pcm_at_16k_is_the_samples_themselves():
    x = (np.arange(-5, 5) * 1000).astype("<i2")
    np.testing.assert_allclose(PcmReader(16000).push(x.tobytes()), x / 32768.0)


@pytest.mark.parametrize("rate", [0, 100, 1_000_000])
def test_an_unusable_sample_rate_is_refused_with_the_fix(rate):
    with pytest.raises(AudioError, match="between 8000 and 192000 Hz"):
        PcmReader(rate, name="mic")


# ---- the session --------------------------------------------------------------------------


def test_the_same_audio_gives_the_same_result_however_it_arrives(analyzer, demo):
    """Cut decisions follow stream time, not arrival: 0.1-s frames with partials and uneven
    pieces without them give the same segments, events, emotion and done."""
    even = _run(analyzer, demo, [1600])
    uneven = _run(analyzer, demo, [500, 37_000, 4_321, 16_000, 90], partial=False)
    assert _done(even) == _done(uneven)
    finals = lambda ms: [m for m in ms if m["type"] in ("segment", "event")]  # noqa: E731
    assert finals(even) == finals(uneven)
    assert any(m["type"] == "partial" for m in even) and not any(m["type"] == "partial" for m in uneven)


def test_stream_text_is_close_to_the_offline_analysis(analyzer, demo):
    messages = _run(analyzer, demo, [1600], partial=False)
    done = _done(messages)
    offline = analyzer.analyze(str(DEMO))
    assert cer(offline.text, done["text"]) <= 0.05, (offline.text, done["text"])
    assert done["duration"] == pytest.approx(len(demo) / 16000, abs=1e-3)
    assert [e["tag"] for e in done["events"]] == ["laugh"]  # the laugh at 3.1-5.7 s
    assert 2.8 < done["events"][0]["start"] < 3.6
    assert done["emotion"]["label"] is not None and done["emotion"]["dimensions"]
    # the segments sent one by one are those of the done message, in order
    sent = [{k: v for k, v in m.items() if k != "type"} for m in messages if m["type"] == "segment"]
    assert sent == done["segments"]


def test_speech_without_a_pause_is_cut_within_max_segment(analyzer, demo):
    messages = _run(analyzer, demo, [8000], options=StreamOptions(max_segment=4.0, partials=False))
    segments = [m for m in messages if m["type"] == "segment"]
    assert len(segments) >= 5
    for a, b in zip(segments, segments[1:]):
        assert a["end"] <= b["start"] + 1e-6
    assert all(s["end"] - s["start"] <= 4.0 + 1e-6 for s in segments)


def test_partials_come_before_the_segment_and_start_where_it_does(analyzer, demo):
    messages = _run(analyzer, demo[: 5 * 16000], [1600])
    first_segment = next(i for i, m in enumerate(messages) if m["type"] == "segment")
    partials = [m for m in messages[:first_segment] if m["type"] == "partial"]
    assert partials, "no partial text before the first final segment"
    assert partials[0]["start"] == 0.0 and partials[0]["end"] <= 2.0  # within two seconds of speech
    assert "was not" in " ".join(p["text"] for p in partials)


def test_a_short_turn_is_final_after_a_two_second_pause(analyzer, demo):
    """A turn shorter than min_segment is not held back until the next one: 2 s of silence end it."""
    turn = np.concatenate([demo[: int(2.9 * 16000)], silence(3.0)])
    session = StreamSession(analyzer, StreamOptions(partials=False))
    sent, final_at = 0, None
    for i in range(0, len(turn), 1600):
        messages = session.feed(turn[i : i + 1600], partial=False)
        sent += len(turn[i : i + 1600])
        if any(m["type"] == "segment" for m in messages) and final_at is None:
            final_at = sent / 16000
            assert "ill-disposed young man" in " ".join(m.get("text", "") for m in messages)
    assert final_at is not None and final_at <= 2.9 + 2.0 + 0.6  # speech end + turn pause + one step


def test_a_laugh_the_vad_does_not_count_as_speech_is_not_cut_in_two(analyzer):
    """A 4-s laugh, then speech: Silero hears 0.03 s of speech in the laugh. The laugh is no
    turn pause, so it is analysed whole, one event as offline (it was cut at 1.6 s before)."""
    from conftest import DATA

    path = DATA / "nvasr" / "tts-demos" / "affectron" / "final_p048_emo_cuteness_sentences_1.flac"
    if not path.exists():
        pytest.skip(f"data pack not found at {DATA}")
    samples = load_audio(path).samples
    done = _done(_run(analyzer, samples, [1600], partial=False))
    offline = analyzer.analyze(str(path))
    assert [e["tag"] for e in done["events"]] == [e.tag for e in offline.events] == ["laugh"]
    assert done["events"][0]["end"] - done["events"][0]["start"] > 3.0


def test_silence_gives_no_segments_and_no_emotion(analyzer):
    messages = _run(analyzer, silence(3.0), [1600])
    assert [m["type"] for m in messages] == ["done"]
    done = _done(messages)
    assert done["segments"] == [] and done["events"] == [] and done["duration"] == 3.0
    assert done["emotion"] is None or done["emotion"]["label"] is None


def test_a_stream_ended_at_once_gives_an_empty_done(analyzer):
    session = StreamSession(analyzer)
    messages = session.finish()
    assert _done(messages)["duration"] == 0.0
    with pytest.raises(RuntimeError, match="finished"):
        session.feed(np.zeros(10, dtype=np.float32))


@pytest.mark.parametrize("bad", [dict(max_segment=60), dict(min_segment=0.2), dict(step=0.0), dict(partial_every=0),
                                 dict(turn_pause=0.2)])
def test_stream_options_out_of_range_are_refused(bad):
    with pytest.raises(ValueError):
        StreamOptions(**bad)


def test_a_short_max_segment_bounds_min_segment_too():
    assert StreamOptions(max_segment=4).min_segment == 4
    assert StreamOptions().min_segment <= StreamOptions().max_segment


# ---- paravox stream --------------------------------------------------------------------------


def test_paravox_stream_writes_every_message_as_json_lines(tmp_path, demo):
    raw = tmp_path / "first.pcm"
    raw.write_bytes(_pcm(demo[: 3 * 16000]))
    out = tmp_path / "out.jsonl"
    code = main(["stream", str(raw), "--raw", "16000", "-f", "jsonl", "-o", str(out), "--events", "none",
                 "--emotion", "none", "-q"])
    assert code == 0
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert lines[-1]["type"] == "done" and "ill-disposed" in lines[-1]["analysis"]["text"]
    assert [m["type"] for m in lines[:-1]] and all(m["type"] == "segment" for m in lines[:-1])


def test_paravox_stream_prints_final_segments_as_lines(capsys):
    code = main(["stream", str(DEMO), "--events", "none", "--emotion", "none", "-q", "--max-segment", "8"])
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("[00:00.00 - 00:02.") and "ill-disposed young man" in lines[0]
    assert len(lines) >= 3


def test_paravox_stream_refuses_a_broken_input_with_exit_1(tmp_path, capsys):
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio", encoding="utf-8")
    assert main(["stream", str(bad), "-q"]) == 1
    assert "notes.wav: not audio" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["stream"], "give one input"),
    (["stream", "-"], "--raw RATE"),
    (["stream", "--mic", "--realtime"], "--mic records live"),
])
def test_paravox_stream_usage_errors_exit_2(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_paravox_stream_without_a_microphone_says_what_to_install(capsys):
    assert main(["stream", "--mic", "-q"]) == 1
    err = capsys.readouterr().err
    assert "microphone" in err and ("pip install 'paravox[mic]'" in err or "PortAudio" in err or "no usable" in err)
