"""The conventions every analysis command shares: records with ``id``, ``-f json`` an array for
several inputs, a bad option is exit 2 with nothing written, a bad input is exit 1 and an error
record, one ``paravox: error:`` line style, one ``--threshold`` help.

``analyze``/``transcribe`` run with the fake recogniser of ``test_batch`` (no Whisper);
``events``, ``classify`` and ``emotion`` with the shipped models on short generated clips.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_batch import FAKE  # noqa: F401 - registers the 'fake-asr' recogniser in this process

from paravox.cli.main import build_parser, main
from paravox.testing import tone, wav_bytes

#: analyze/transcribe with no model at all
NO_MODELS = ["--asr", "fake-asr", "--events", "none", "--emotion", "none"]
NO_MODELS_TRANSCRIBE = NO_MODELS[:4]  # transcribe has no --emotion: it never computes it


def _shipped(part: str) -> None:
    from paravox.vocal_events.model import default_model_dir

    if not (default_model_dir() / part / "config.json").is_file():
        pytest.skip(f"no shipped {part}/ model in this checkout")


@pytest.fixture
def clips(tmp_path):
    """Two good clips (1.5 s, 2.0 s) and a corrupt one, in ``tmp_path``."""
    (tmp_path / "a.wav").write_bytes(wav_bytes(tone(300, seconds=1.5)))
    (tmp_path / "b.wav").write_bytes(wav_bytes(tone(500, seconds=2.0)))
    (tmp_path / "bad.wav").write_bytes(b"RIFF....WAVEfmt garbage")
    return tmp_path


def _json(text: str):
    return json.loads(text)


# ---- every command: -f json gives records with id; a bad input is an error record, exit 1 -------


def test_analyze_json_is_one_object_for_one_input_and_an_array_for_several(clips, capsys):
    a, b, bad = (str(clips / n) for n in ("a.wav", "b.wav", "bad.wav"))
    assert main(["analyze", a, "-f", "json", "-q", *NO_MODELS]) == 0
    doc = _json(capsys.readouterr().out)
    assert doc["id"] == a and doc["text"] == "fake 1.50"
    assert main(["analyze", a, bad, b, "-f", "json", "-q", *NO_MODELS]) == 1
    out = capsys.readouterr()
    docs = _json(out.out)
    assert [d["id"] for d in docs] == [a, bad, b]
    assert docs[1]["error"]["type"] == "AudioError" and "bad.wav" in docs[1]["error"]["message"]
    assert docs[2]["text"] == "fake 2.00"
    assert f"paravox: error: {bad}" in out.err and "1 of 3 inputs failed" in out.err


def test_analyze_outputs_file_array_jsonl_and_folder(clips, capsys):
    a, b, bad = (str(clips / n) for n in ("a.wav", "b.wav", "bad.wav"))
    out = clips / "out"
    assert main(["analyze", a, b, "-o", str(out / "all.json"), "-q", *NO_MODELS]) == 0
    assert [d["id"] for d in _json((out / "all.json").read_text())] == [a, b]
    assert main(["analyze", a, bad, "-o", str(out / "all.jsonl"), "-q", *NO_MODELS]) == 1
    rows = [json.loads(line) for line in (out / "all.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [a, bad] and "error" in rows[1] and rows[0]["text"] == "fake 1.50"
    assert main(["analyze", a, b, "-f", "srt", "-o", str(out / "subs"), "-q", *NO_MODELS]) == 0
    assert sorted(p.name for p in (out / "subs").iterdir()) == ["a.srt", "b.srt"]
    # -o's extension picks the format when -f is not given
    assert main(["analyze", a, "-o", str(out / "a.vtt"), "-q", *NO_MODELS]) == 0
    assert (out / "a.vtt").read_text().startswith("WEBVTT")


def test_transcribe_records_carry_id_text_language(clips, capsys):
    a, bad = str(clips / "a.wav"), str(clips / "bad.wav")
    assert main(["transcribe", a, bad, "-f", "jsonl", "-q", *NO_MODELS_TRANSCRIBE]) == 1
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0] == {"id": a, "text": "fake 1.50", "language": "en"}
    assert rows[1]["id"] == bad and rows[1]["error"]["type"] == "AudioError"


def test_events_json_records_and_a_bad_input(clips, capsys):
    _shipped("detector")
    a, bad = str(clips / "a.wav"), str(clips / "bad.wav")
    assert main(["events", a, "-f", "json", "-q"]) == 0
    doc = _json(capsys.readouterr().out)
    assert doc["id"] == a and doc["duration"] == pytest.approx(1.5) and isinstance(doc["events"], list)
    out = clips / "ev.jsonl"
    assert main(["events", a, bad, "-o", str(out), "-q"]) == 1
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [a, bad] and "events" in rows[0] and rows[1]["error"]["type"] == "AudioError"
    assert "1 of 2 inputs failed" in capsys.readouterr().err
    # csv from the extension: one header, a row per event, id first
    assert main(["events", a, bad, "-o", str(clips / "ev.csv"), "-q"]) == 1
    lines = (clips / "ev.csv").read_text().splitlines()
    assert lines[0] == "id,tag,start,end,score" and all(line.startswith(a + ",") for line in lines[1:])


def test_classify_json_records_and_the_old_json_flag(clips, capsys):
    _shipped("isolated")
    a, b, bad = (str(clips / n) for n in ("a.wav", "b.wav", "bad.wav"))
    assert main(["classify", a, bad, b, "-f", "json", "-q"]) == 1
    docs = _json(capsys.readouterr().out)
    assert [d["id"] for d in docs] == [a, bad, b]
    assert set(docs[0]) == {"id", "label", "score", "scores"} and docs[0]["label"] in docs[0]["scores"]
    assert "error" in docs[1]
    assert main(["classify", a, "--json", "-q"]) == 0  # the flag of earlier versions: JSON lines
    assert _json(capsys.readouterr().out)["id"] == a


def test_emotion_json_records_carry_id_and_the_file_label_on_top(clips, capsys):
    from paravox.speech_emotion.model import default_model_dir

    if not (default_model_dir() / "weights.npz").exists():
        pytest.skip("shipped emotion model not built yet")
    speech = Path(__file__).resolve().parents[1] / "samples" / "demo.flac"
    bad = str(clips / "bad.wav")
    assert main(["emotion", str(speech), bad, "-f", "json", "--granularity", "segment", "-q"]) == 1
    docs = _json(capsys.readouterr().out)
    assert [d["id"] for d in docs] == [str(speech), bad]
    doc = docs[0]
    assert doc["label"] == doc["emotion"]["label"] and doc["score"] == doc["emotion"]["score"]
    assert doc["granularity"] == "segment" and doc["spans"] and {"start", "end", "label"} <= set(doc["spans"][0])
    assert docs[1]["error"]["type"] == "AudioError"
    # 'paravox emotion -o pred.jsonl' is what 'paravox eval emotion --hyp' reads
    pred, ref = clips / "pred.jsonl", clips / "ref.jsonl"
    assert main(["emotion", str(speech), "-o", str(pred), "-q"]) == 0
    ref.write_text(json.dumps({"id": str(speech), "label": doc["label"]}) + "\n")
    capsys.readouterr()
    assert main(["eval", "emotion", "--ref", str(ref), "--hyp", str(pred), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 1 and report["wa"] == 1.0


# ---- a bad option: exit 2, one line, nothing written --------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (["analyze", "{a}", "-l", "xx", *NO_MODELS], "language 'xx'"),
        (["analyze", "{a}", "--threshold", "abc", *NO_MODELS], "--threshold 'abc'"),
        (["transcribe", "{a}", "--beam-size", "0", *NO_MODELS_TRANSCRIBE], "beam_size"),
        (["analyze", "{a}", "--asr", "no-such-asr"], "no asr backend named 'no-such-asr'"),
        (["events", "{a}", "--threshold", "abc"], "--threshold 'abc'"),
        (["events", "{a}", "--threshold", "laugh=2"], "between 0 and 1"),
        (["events", "{a}", "--tags", "nosuch"], "does not know nosuch"),
        (["events", "{a}", "--threshold", "nosuch=0.5"], "does not know nosuch"),
        (["classify", "{a}", "--tags", "nosuch"], "does not know nosuch"),
        (["emotion", "{a}", "--hop", "0"], "--hop must be a positive number"),
        (["emotion", "{a}", "--model", "{tmp}/no-model"], "no-model"),
    ],
)
def test_a_bad_option_is_exit_2_and_nothing_is_written(clips, capsys, args, message):
    a = str(clips / "a.wav")
    for out in ("r.jsonl", "r.json", "dir/"):
        argv = [x.format(a=a, tmp=clips) for x in args] + ["-o", str(clips / out), "-q"]
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("paravox: error: ") and message in err and err.count("\n") == 1
        assert not (clips / out).exists()


def test_an_unknown_format_is_exit_2_in_the_same_error_style(clips, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["events", str(clips / "a.wav"), "-f", "nosuch"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("paravox: error: argument -f/--format: invalid choice: 'nosuch'") and err.count("\n") == 1


def test_batch_with_a_bad_language_writes_nothing(clips, capsys):
    out = clips / "r.jsonl"
    assert main(["batch", str(clips), "-o", str(out), *FAKE, "-l", "xx", "-q"]) == 2
    assert "language 'xx'" in capsys.readouterr().err
    assert not out.exists()
    assert main(["batch", str(clips), "-o", str(out), *FAKE, "--threshold", "abc", "-q"]) == 2
    assert not out.exists()
    assert main(["batch", str(clips), "-o", str(out), *FAKE, "--retry-errors"]) == 2
    assert "add --resume" in capsys.readouterr().err and not out.exists()


# ---- the same flags everywhere ---------------------------------------------------------------


def test_every_analysis_command_takes_the_same_input_and_output_flags():
    parser = build_parser()
    for command in ("analyze", "transcribe", "events", "classify", "emotion"):
        args = parser.parse_args([command, "a.wav", "-", "--scp", "w.scp", "--manifest", "m.jsonl",
                                  "-f", "jsonl", "-o", "out.jsonl", "-q"])
        assert (args.inputs, args.scp, args.manifest) == (["a.wav", "-"], "w.scp", "m.jsonl")
        assert (args.format, args.output, args.quiet) == ("jsonl", "out.jsonl", True)


def test_threshold_help_is_one_text_everywhere():
    from paravox.cli.common import THRESHOLD_HELP

    assert THRESHOLD_HELP.startswith("keep events whose score (as printed) is at least T")
    for command in ("events", "analyze", "transcribe", "batch", "serve"):
        text = subprocess.run([sys.executable, "-m", "paravox.cli.main", command, "--help"],
                              capture_output=True, text=True, env={**os.environ, "COLUMNS": "1000"}).stdout
        assert " ".join(THRESHOLD_HELP.split()) in " ".join(text.split()), command
