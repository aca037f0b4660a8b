"""The paravox command: inputs, outputs, errors that name the input, a run that survives bad files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import clip

from paravox.cli.main import main

EN_ID = "ravdess-03-01-01-01-01-01-01"  # "Kids are talking by the door"
ZH_ID = "casia-ZhaoZuoxiang-neutral-201"  # 就是下雨也去。


def _run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "paravox.cli.main", *args], input=stdin, capture_output=True, timeout=300)


def test_help_is_instant_and_imports_no_model_code():
    code = (
        "import sys; from paravox.cli.main import build_parser; build_parser().format_help();"
        "print(sorted(m for m in ('faster_whisper', 'ctranslate2', 'av', 'numpy', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    help_text = _run("analyze", "--help").stdout.decode()
    assert "--manifest" in help_text and "--scp" in help_text and "examples:" in help_text


def test_version():
    assert _run("--version").stdout.decode().startswith("paravox ")


def test_analyze_json_to_stdout(capsys):
    path, _ = clip("emotion/ravdess", EN_ID)
    assert main(["analyze", str(path), "-f", "json", "-q"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["language"] == "en" and "talking" in doc["text"].lower()
    assert doc["segments"][0]["words"][0]["start"] >= 0


def test_two_inputs_srt_into_a_folder(tmp_path, capsys):
    en, _ = clip("emotion/ravdess", EN_ID)
    zh, _ = clip("emotion/casia", ZH_ID)
    out = tmp_path / "subs"
    assert main(["analyze", str(en), str(zh), "-f", "srt", "-o", str(out), "-q"]) == 0
    files = sorted(p.name for p in out.iterdir())
    assert files == ["03-01-01-01-01-01-01.srt", "201.srt"]
    srt = (out / "201.srt").read_text(encoding="utf-8")
    assert srt.startswith("1\n00:00:0") and "-->" in srt


def test_manifest_run_records_failures_and_continues(tmp_path, capsys):
    en, _ = clip("emotion/ravdess", EN_ID)
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF" + b"\x00" * 40)
    (tmp_path / "empty.flac").write_bytes(b"")
    lines = [
        {"id": "good", "audio": str(en)},
        {"id": "corrupt", "audio": "corrupt.wav"},
        {"id": "missing", "audio": "nowhere.wav"},
        {"id": "empty", "audio": "empty.flac"},
    ]
    manifest = tmp_path / "list.jsonl"
    manifest.write_text("".join(json.dumps(x) + "\n" for x in lines))
    out = tmp_path / "hyp.jsonl"
    code = main(["transcribe", "--manifest", str(manifest), "-o", str(out), "-q"])
    assert code == 1
    rows = [json.loads(l) for l in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["good", "corrupt", "missing", "empty"]
    assert set(rows[0]) == {"id", "text", "language"} and "talking" in rows[0]["text"].lower()
    for r in rows[1:]:
        assert r["error"]["type"] == "AudioError"
        assert r["id"] in r["error"]["message"] or ".wav" in r["error"]["message"] or ".flac" in r["error"]["message"]
    err = capsys.readouterr().err
    assert "3 of 4 inputs failed" in err


def test_scp_and_forced_language(tmp_path, capsys):
    zh, row = clip("emotion/casia", ZH_ID)
    scp = tmp_path / "wav.scp"
    scp.write_text(f"utt1 {zh}\n")
    assert main(["transcribe", "--scp", str(scp), "--language", "zh", "-f", "jsonl", "-q"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["id"] == "utt1" and rec["language"] == "zh" and "下雨" in rec["text"]


def test_stdin_jsonl():
    path, _ = clip("emotion/ravdess", EN_ID)
    proc = _run("analyze", "-", "-f", "jsonl", "-q", stdin=Path(path).read_bytes())
    assert proc.returncode == 0, proc.stderr.decode()
    lines = proc.stdout.decode().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["id"] == "stdin"


def test_usage_errors_are_one_line_and_exit_2(tmp_path, capsys):
    assert main(["analyze", "-q"]) == 2
    assert "no input given" in capsys.readouterr().err
    assert main(["analyze", "x.wav", "--beam-size", "0", "-q"]) == 2
    assert "beam_size" in capsys.readouterr().err
    bad = tmp_path / "bad.scp"
    bad.write_text("only-a-key\n")
    assert main(["analyze", "--scp", str(bad)]) == 2
    assert "bad.scp:1" in capsys.readouterr().err
    assert main(["analyze", "a.wav", "b.wav", "-f", "srt"]) == 2
    assert "-o DIR" in capsys.readouterr().err


def test_config_round_trip(tmp_path, capsys):
    cfg = tmp_path / "opts.json"
    zh, _ = clip("emotion/casia", ZH_ID)
    assert main(["transcribe", str(zh), "--language", "zh", "--beam-size", "2", "--save-config", str(cfg), "-q"]) == 0
    saved = json.loads(cfg.read_text())
    assert saved["transcribe"]["language"] == "zh" and saved["transcribe"]["beam_size"] == 2
    capsys.readouterr()
    assert main(["analyze", str(zh), "--config", str(cfg), "-f", "json", "-q"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["options"]["transcribe"]["beam_size"] == 2


def test_models_lists_backends(capsys):
    assert main(["models", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert "whisper-base" in info["backends"]["asr"]
    assert info["whisper_base"]["installed"] is True


def test_decoding_flags_reach_the_options_without_a_config_file():
    """Per-region language, temperatures, conditioning and the VAD threshold were reachable only through --config JSON."""
    import pytest

    from paravox.cli.common import analyze_options
    from paravox.cli.main import build_parser
    from paravox.errors import OptionError

    args = build_parser().parse_args(["transcribe", "x.wav", "-l", "zh,en", "--one-language", "--temperature", "0,0.5",
                                      "--no-condition-on-previous-text", "--vad-threshold", "0.5", "--filler-words",
                                      "--sound-words", "--vad-min-silence-ms", "500", "--hotwords", "paravox Whisper"])
    t = analyze_options(args).transcribe
    assert t.languages == ("zh", "en") and t.language is None and t.language_per_region is False
    assert t.temperature == (0.0, 0.5) and t.condition_on_previous_text is False and t.vad_threshold == 0.5
    assert analyze_options(args).filler_words is True
    assert t.vad_min_silence_ms == 500 and t.hotwords == "paravox Whisper" and t.sound_words is True
    defaults = analyze_options(build_parser().parse_args(["transcribe", "x.wav"]))
    assert defaults.transcribe.language_per_region is True and defaults.filler_words is False
    assert defaults.transcribe.sound_words is False
    with pytest.raises(OptionError, match="--temperature"):
        analyze_options(build_parser().parse_args(["transcribe", "x.wav", "--temperature", "hot"]))
