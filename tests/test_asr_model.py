"""Any Whisper model: a CTranslate2 folder, a size name from paravox's cache, a clear error offline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from paravox.audio import load_audio
from paravox.encoder.files import ModelFilesError, ensure_whisper_base
from paravox.errors import OptionError
from paravox.options import AnalyzeOptions

DEMO = Path(__file__).resolve().parents[1] / "samples" / "demo.flac"


def test_a_ctranslate2_folder_under_another_name_transcribes_like_the_default(tmp_path):
    from paravox.analyzer import Analyzer

    folder = tmp_path / "my-whisper"
    folder.mkdir()
    for f in ensure_whisper_base().iterdir():  # a copy of the base model, by links
        (folder / f.name).symlink_to(f)
    audio = (load_audio(DEMO).samples[: 3 * 16000], 16000)
    mine = Analyzer(asr_model=str(folder), events=None, emotion=None, threads=1).analyze(audio)
    default = Analyzer(events=None, emotion=None, threads=1).analyze(audio)
    assert mine.text == default.text == "He was not an ill-disposed young man."
    assert mine.models["asr"] == f"whisper-base:{folder}" and mine.options["asr_model"] == str(folder)


def test_a_named_model_that_is_not_cached_fails_offline_in_one_line_that_says_how_to_get_it(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PARAVOX_CACHE": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-m", "paravox.cli.main", "transcribe", str(DEMO), "--asr-model", "large-v3", "-q"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and done.stdout == ""  # the options were right; the machine lacks the model
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert "'large-v3' is not in paravox's cache" in lines[0]
    assert f"download_model('large-v3', cache_dir='{tmp_path / 'cache' / 'hub'}')" in lines[0]


def test_bad_model_names_and_devices_are_refused_before_any_work(tmp_path):
    from paravox.backends.whisper import whisper_model_path

    with pytest.raises(ModelFilesError, match="no such folder"):
        whisper_model_path(str(tmp_path / "nowhere"))
    with pytest.raises(ModelFilesError, match="not a Whisper size"):
        whisper_model_path("huge")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelFilesError, match="no model.bin"):
        whisper_model_path(str(tmp_path / "empty"))
    with pytest.raises(OptionError, match="device"):
        AnalyzeOptions(device="tpu")
    assert AnalyzeOptions().asr_backend_options() == {}
    assert AnalyzeOptions(asr_model="small", device="auto").asr_backend_options() == {"model": "small", "device": "auto"}
