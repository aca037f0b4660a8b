"""paravox batch: inputs, one line per input, bad files recorded, SIGKILL at any moment then --resume.

Most tests run the batch machinery with a fake recogniser (``fake-asr`` below, imported in
each worker with ``--plugin test_batch``) so that they take seconds; the real Whisper
pipeline runs end to end in ``test_real_pipeline_lines_match_paravox_analyze``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import clip

from paravox.backends import registry
from paravox.backends.registry import ASRResult
from paravox.batch import OutputExistsError, ResumeError, list_inputs, read_results, run_batch
from paravox.batch.writer import ResultWriter
from paravox.cli.main import main
from paravox.inputs import InputListError
from paravox.options import AnalyzeOptions
from paravox.result import Segment, Word
from paravox.testing import encode, noise, tone, truncate, wav_bytes

TESTS = Path(__file__).resolve().parent
EN_ID = "ravdess-03-01-01-01-01-01-01"  # "Kids are talking by the door"
#: an input of exactly this many seconds makes the fake recogniser kill its process (a native crash)
CRASH_SECONDS = 1.75


@registry.register("asr", "fake-asr", description="test recogniser: one segment per input, no model")
class FakeASR:
    """Says how long the audio is; sleeps ``PARAVOX_FAKE_ASR_SECONDS`` per input to stand in for work."""

    name = "fake-asr"

    def __init__(self, threads: int = 0) -> None:
        self.delay = float(os.environ.get("PARAVOX_FAKE_ASR_SECONDS", "0"))

    def transcribe(self, samples, *, offset=0.0, options=None, progress=None):
        seconds = len(samples) / 16000
        if abs(seconds - CRASH_SECONDS) < 1e-3:
            os._exit(3)
        time.sleep(self.delay)
        words = [Word(offset, offset + seconds / 2, "fake"), Word(offset + seconds / 2, offset + seconds, f"{seconds:.2f}")]
        language = getattr(options, "language", None) or "en"  # a forced language (a manifest's) is echoed
        return ASRResult([Segment(offset, offset + seconds, f"fake {seconds:.2f}", words)], language, 1.0)


# The batch machinery with the fake recogniser only; event and emotion models have their own tests.
FAKE = ["--asr", "fake-asr", "--events", "none", "--plugin", "test_batch"]


def _env(**extra: str) -> dict[str, str]:
    """Environment for a ``paravox batch`` subprocess that can import this module as a plugin."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(extra)
    return env


def _rows(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    assert text == "" or text.endswith("\n"), "the results file must end with a whole line"
    return [json.loads(line) for line in text.splitlines()]


def _corpus(folder: Path, n: int) -> list[str]:
    """``n`` small distinct WAV files (1.0, 1.1, ... s tones) in ``folder``; returns their ids."""
    folder.mkdir(parents=True, exist_ok=True)
    ids = []
    for i in range(n):
        name = f"clip{i:02d}.wav"
        (folder / name).write_bytes(wav_bytes(tone(300 + 20 * i, seconds=1.0 + 0.1 * i)))
        ids.append(name)
    return ids


# ---- inputs -------------------------------------------------------------------------------


def test_folder_is_searched_recursively_for_audio(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "one.wav").write_bytes(wav_bytes(tone()))
    (tmp_path / "a" / "two.FLAC").write_bytes(encode(tone(), 16000, "flac"))
    (tmp_path / "a" / "b" / "three.mp3").write_bytes(b"")
    (tmp_path / "a" / "readme.txt").write_text("not audio")
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "hidden.wav").write_bytes(b"")
    items = list_inputs([str(tmp_path)])
    assert [i.key for i in items] == ["a/b/three.mp3", "a/two.FLAC", "one.wav"]
    assert Path(items[2].source) == tmp_path / "one.wav"


def test_scp_and_manifest_are_read_with_paths_relative_to_the_list(tmp_path):
    (tmp_path / "x.wav").write_bytes(wav_bytes(tone()))
    (tmp_path / "wav.scp").write_text("utt1 x.wav\nutt2 /abs/y.wav\n")
    (tmp_path / "list.jsonl").write_text('{"id": "m1", "audio": "x.wav"}\n')
    (tmp_path / "list.txt").write_text('{"id": "m2", "audio": "x.wav"}\n')  # a manifest without .jsonl
    items = list_inputs([str(tmp_path / "wav.scp"), str(tmp_path / "list.jsonl"), str(tmp_path / "list.txt")])
    assert [(i.key, i.source) for i in items] == [
        ("utt1", str(tmp_path / "x.wav")),
        ("utt2", "/abs/y.wav"),
        ("m1", str(tmp_path / "x.wav")),
        ("m2", str(tmp_path / "x.wav")),
    ]


def test_duplicate_ids_are_refused_up_front_and_named(tmp_path, capsys):
    (tmp_path / "a.scp").write_text("u1 x.wav\nu2 y.wav\nu3 z.wav\n")
    (tmp_path / "b.scp").write_text("u2 x.wav\nu3 y.wav\nu4 z.wav\n")
    with pytest.raises(InputListError, match=r"2 id\(s\) appear more than once: 'u2' \(2x\), 'u3' \(2x\)"):
        list_inputs([str(tmp_path / "a.scp"), str(tmp_path / "b.scp")])
    (tmp_path / "dup.scp").write_text("u1 x.wav\nu1 y.wav\n")
    out = tmp_path / "r.jsonl"
    assert main(["batch", str(tmp_path / "dup.scp"), "-o", str(out), "-q"]) == 2
    assert "'u1' appears more than once" in capsys.readouterr().err
    assert not out.exists()


def test_usage_errors_exit_2_with_one_clear_line(tmp_path, capsys):
    assert main(["batch", str(tmp_path / "nowhere.scp"), "-o", str(tmp_path / "r.jsonl")]) == 2
    assert "nowhere.scp: no such file or folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["batch", str(tmp_path / "empty"), "-o", str(tmp_path / "r.jsonl")]) == 2
    assert "no audio files" in capsys.readouterr().err
    _corpus(tmp_path / "c", 1)
    assert main(["batch", str(tmp_path / "c"), "-o", str(tmp_path / "r.jsonl"), "--address", "auto"]) == 2
    assert "--address is for --engine ray" in capsys.readouterr().err
    assert main(["batch", str(tmp_path / "c"), "-o", str(tmp_path / "r.jsonl"), "--asr", "no-such-asr"]) == 2
    assert "no asr backend named 'no-such-asr'" in capsys.readouterr().err


def test_ray_engine_without_ray_says_what_to_install(tmp_path, monkeypatch, capsys):
    _corpus(tmp_path / "c", 1)
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    assert main(["batch", str(tmp_path / "c"), "-o", str(tmp_path / "r.jsonl"), "--engine", "ray"]) == 2
    assert "pip install 'paravox[ray]'" in capsys.readouterr().err


def test_existing_output_is_not_overwritten_without_resume(tmp_path, capsys):
    _corpus(tmp_path / "c", 1)
    out = tmp_path / "r.jsonl"
    out.write_text('{"id": "earlier", "text": "keep me"}\n')
    assert main(["batch", str(tmp_path / "c"), "-o", str(out), *FAKE, "-q"]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "--resume" in err and "remove it" in err
    assert out.read_text() == '{"id": "earlier", "text": "keep me"}\n'
    with pytest.raises(OutputExistsError):
        run_batch(list_inputs([str(tmp_path / "c")]), out)


# ---- the results file ------------------------------------------------------------------------


def test_torn_last_line_is_cut_off_and_a_damaged_middle_line_is_refused(tmp_path):
    path = tmp_path / "r.jsonl"
    with ResultWriter(path) as out:
        out.write('{"id": "a", "text": "x"}\n')
        out.write('{"id": "b", "error": {"type": "AudioError", "message": "b: empty"}}\n')
    whole = path.read_bytes()
    path.write_bytes(whole + b'{"id": "c", "text": "unfini')
    state = read_results(path)
    assert state.done == {"a", "b"} and state.failed == {"b"} and state.repaired_bytes == len('{"id": "c", "text": "unfini')
    assert path.read_bytes() == whole
    # a whole record whose newline was lost is kept, and the line is ended
    path.write_bytes(whole + b'{"id": "c", "text": "done"}')
    assert read_results(path).done == {"a", "b", "c"}
    assert path.read_bytes() == whole + b'{"id": "c", "text": "done"}\n'
    # damage before the last line is not a torn write: refuse, naming the line
    path.write_bytes(b'{"id": "a"}\n{"id": "b", "te\n{"id": "c"}\n')
    with pytest.raises(ResumeError, match=r"r.jsonl:2: not a result line"):
        read_results(path)


def test_writer_refuses_anything_but_one_line(tmp_path):
    with ResultWriter(tmp_path / "r.jsonl") as out:
        with pytest.raises(ValueError):
            out.write('{"id": "a"}')
        with pytest.raises(ValueError):
            out.write('{"id": "a"}\n{"id": "b"}\n')


# ---- bad inputs ---------------------------------------------------------------------------


def test_bad_files_become_error_lines_and_the_job_goes_on(tmp_path, capsys):
    good = tone(440, seconds=1.5)
    files = {
        "good.wav": wav_bytes(good),
        "good.flac": encode(good, 16000, "flac"),
        "zero.wav": b"",
        "text.mp3": b"this is not audio at all\n" * 20,
        "header-only.wav": wav_bytes(good)[:44],
        "truncated.wav": truncate(wav_bytes(noise(3.0)), 0.3),
        "silence-short.wav": wav_bytes(tone(seconds=0.2)),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    manifest = tmp_path / "list.jsonl"
    rows = [{"id": name.replace(".", "-"), "audio": name} for name in files] + [{"id": "missing", "audio": "nowhere.wav"}]
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "results.jsonl"
    code = main(["batch", str(manifest), "-o", str(out), "--workers", "2", *FAKE])
    assert code == 1
    got = {r["id"]: r for r in _rows(out)}
    assert sorted(got) == sorted(r["id"] for r in rows)
    bad = {"zero-wav", "text-mp3", "header-only-wav", "truncated-wav", "missing"}
    for key in bad:
        assert set(got[key]) == {"id", "error"}
        assert got[key]["error"]["type"] == "AudioError" and key in got[key]["error"]["message"]
    for key in ("good-wav", "good-flac"):
        assert got[key]["text"] == "fake 1.50" and got[key]["duration"] == pytest.approx(1.5, abs=0.01)
        assert got[key]["segments"][0]["words"][1]["text"] == "1.50"
    assert "error" not in got["silence-short-wav"] and got["silence-short-wav"]["segments"] == []
    err = capsys.readouterr().err
    assert "5 of 8 inputs failed" in err and "missing: not found" in err


def test_an_input_that_kills_its_worker_is_recorded_and_the_job_goes_on(tmp_path):
    corpus = tmp_path / "c"
    ids = _corpus(corpus, 3)
    (corpus / "crash.wav").write_bytes(wav_bytes(tone(seconds=CRASH_SECONDS)))
    summary = run_batch(
        list_inputs([str(corpus)]),
        tmp_path / "r.jsonl",
        options=AnalyzeOptions(asr="fake-asr", events=None),
        workers=2,
        plugins=["test_batch"],
    )
    got = {r["id"]: r for r in _rows(tmp_path / "r.jsonl")}
    assert sorted(got) == sorted(ids + ["crash.wav"])
    assert got["crash.wav"]["error"]["type"] == "WorkerCrashed"
    assert "exit code 3" in got["crash.wav"]["error"]["message"]
    assert all("error" not in got[i] for i in ids)
    assert (summary.analysed, summary.failed, summary.failed_total) == (3, 1, 1)


def test_an_input_that_kills_its_worker_inside_a_bundle_costs_only_that_input(tmp_path):
    corpus = tmp_path / "c"
    ids = _corpus(corpus, 5)
    (corpus / "clip02b.wav").write_bytes(wav_bytes(tone(seconds=CRASH_SECONDS)))  # inside the first bundle
    summary = run_batch(
        list_inputs([str(corpus)]),
        tmp_path / "r.jsonl",
        options=AnalyzeOptions(asr="fake-asr", events=None, pack=4),
        workers=1,
        plugins=["test_batch"],
    )
    got = {r["id"]: r for r in _rows(tmp_path / "r.jsonl")}
    assert sorted(got) == sorted(ids + ["clip02b.wav"])  # each once
    assert got["clip02b.wav"]["error"]["type"] == "WorkerCrashed"
    assert all("error" not in got[i] and got[i]["options"]["pack"] == 4 for i in ids)
    assert (summary.analysed, summary.failed) == (5, 1)


def test_a_resumed_job_analyses_a_cut_bundle_whole_and_writes_only_what_is_missing(tmp_path, monkeypatch):
    from paravox.batch import local

    corpus = tmp_path / "c"
    ids = _corpus(corpus, 7)
    out = tmp_path / "r.jsonl"
    options = AnalyzeOptions(asr="fake-asr", events=None, pack=3)
    run_batch(list_inputs([str(corpus)]), out, options=options, plugins=["test_batch"])
    lines = out.read_text().splitlines(keepends=True)
    out.write_text("".join(lines[:4]))  # the job was killed after clip03: its bundle (clip03-05) was cut
    sent = []
    real = local.run_local
    monkeypatch.setattr(local, "run_local", lambda work, *a, **k: (sent.extend(work), real(work, *a, **k))[1])
    summary = run_batch(list_inputs([str(corpus)]), out, options=options, resume=True, plugins=["test_batch"])
    assert [[i.key for i in b] for b in sent] == [["clip03.wav", "clip04.wav", "clip05.wav"], ["clip06.wav"]]
    got = _rows(out)
    assert sorted(r["id"] for r in got) == sorted(ids) and summary.analysed == 3 and summary.skipped == 4
    assert out.read_text().startswith("".join(lines[:4]))  # what was written stays as it was


# ---- SIGKILL and --resume -----------------------------------------------------------------------


def _start(corpus: Path, out: Path, *extra: str, delay: float = 0.25) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "paravox.cli.main", "batch", str(corpus), "-o", str(out), *FAKE, "-q", *extra],
        env=_env(PARAVOX_FAKE_ASR_SECONDS=str(delay)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _kill_after_lines(proc: subprocess.Popen, out: Path, lines: int, timeout: float = 60) -> None:
    """SIGKILL ``proc`` once ``out`` has ``lines`` lines; its orphaned workers must then exit."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if out.exists() and out.read_bytes().count(b"\n") >= lines:
            break
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.01)
    else:
        proc.kill()
        pytest.fail(f"no {lines} lines in {out} after {timeout} s")
    workers = _children(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    assert workers, "the job should run in worker processes"
    deadline = time.monotonic() + 20
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers), "workers outlived their killed parent"


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def test_sigkill_then_resume_gives_every_input_exactly_once(tmp_path):
    corpus = tmp_path / "corpus"
    ids = _corpus(corpus, 10)
    out = tmp_path / "results.jsonl"

    proc = _start(corpus, out, "--workers", "2", "--pack", "1")
    _kill_after_lines(proc, out, 2)
    first = _rows(out)  # whole lines only: the writer fsyncs each one in a single write
    assert 2 <= len(first) < 10

    proc = _start(corpus, out, "--workers", "2", "--pack", "1", "--resume", delay=0.2)
    _kill_after_lines(proc, out, len(first) + 2)
    # simulate a torn write: the kill landed in the middle of the next line
    with open(out, "ab") as f:
        f.write(b'{"id": "clip09.wav", "schema_version": "1", "source": "clip0')

    proc = subprocess.run(
        [sys.executable, "-m", "paravox.cli.main", "batch", str(corpus), "-o", str(out), *FAKE, "--resume",
         "--workers", "2", "--pack", "1"],
        env=_env(PARAVOX_FAKE_ASR_SECONDS="0"), capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "cut off an incomplete last line" in proc.stderr
    rows = _rows(out)
    assert sorted(r["id"] for r in rows) == sorted(ids)  # none lost, none twice
    assert all("error" not in r and r["text"].startswith("fake ") for r in rows)
    assert "10 inputs" in proc.stderr and "already done" in proc.stderr and "warning" not in proc.stderr

    # a finished job resumed again has nothing to do and changes nothing
    before = out.read_bytes()
    assert main(["batch", str(corpus), "-o", str(out), *FAKE, "--resume", "--pack", "1", "-q"]) == 0
    assert out.read_bytes() == before


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_workers_stop_with_their_parent_even_in_the_middle_of_a_long_input(tmp_path, sig):
    corpus = tmp_path / "corpus"
    _corpus(corpus, 2)
    out = tmp_path / "results.jsonl"
    proc = _start(corpus, out, "--workers", "2", "--pack", "1", delay=600)  # each input would take ten minutes
    deadline = time.monotonic() + 60
    while len(_children(proc.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = _children(proc.pid)
    assert len(workers) >= 2, proc.stderr.read().decode() if proc.poll() is not None else "no workers started"
    time.sleep(3)  # the workers have loaded and are inside their ten-minute inputs
    workers = _children(proc.pid)
    os.kill(proc.pid, sig)
    proc.wait(10)
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in workers), "workers went on after their parent died"
    assert not out.exists() or out.read_text() == ""


def test_kills_at_random_moments_never_lose_or_repeat_an_input(tmp_path):
    """In bundles of 3 inputs (--pack 3): a bundle cut short by a kill is analysed whole again."""
    import random

    corpus = tmp_path / "corpus"
    ids = _corpus(corpus, 18)
    out = tmp_path / "results.jsonl"
    rng = random.Random(6)
    counts = []
    for round_ in range(3):
        proc = _start(corpus, out, "--workers", "2", "--pack", "3", "--resume", delay=0.3)
        if round_ == 0:
            time.sleep(rng.uniform(0.2, 1.0))  # while starting up and loading models
        else:  # while working: some time after its first new line, between or during writes
            have = len(_rows(out)) if out.exists() else 0
            deadline = time.monotonic() + 60
            while (out.read_bytes().count(b"\n") if out.exists() else 0) <= have and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.3))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        rows = _rows(out) if out.exists() else []
        assert len({r["id"] for r in rows}) == len(rows)
        counts.append(len(rows))
    assert counts[0] < counts[-1] < len(ids), counts  # the kills did land mid-job
    proc = _start(corpus, out, "--workers", "2", "--pack", "3", "--resume", delay=0)
    assert proc.wait(120) == 0, proc.stderr.read().decode()
    assert sorted(r["id"] for r in _rows(out)) == sorted(ids)


def test_resume_keeps_error_lines_and_still_exits_1(tmp_path, capsys):
    corpus = tmp_path / "c"
    ids = _corpus(corpus, 2)
    (corpus / "broken.wav").write_bytes(b"RIFF\x00\x00")
    out = tmp_path / "r.jsonl"
    assert main(["batch", str(corpus), "-o", str(out), *FAKE, "-q"]) == 1
    lines = out.read_text().splitlines()
    out.write_text("\n".join(lines[:-1]) + "\n")  # as if killed before the last line
    capsys.readouterr()
    assert main(["batch", str(corpus), "-o", str(out), *FAKE, "--resume", "-q", "--language", "en"]) == 1
    rows = _rows(out)
    assert sorted(r["id"] for r in rows) == sorted(ids + ["broken.wav"])
    err = capsys.readouterr().err
    assert "1 of 3 inputs failed" in err
    assert "started with other options (transcribe.language: None -> 'en')" in err


def test_retry_errors_replaces_the_error_line_of_a_fixed_input_and_leaves_the_rest(tmp_path, capsys):
    corpus = tmp_path / "c"
    ids = _corpus(corpus, 3)
    (corpus / "broken.wav").write_bytes(b"RIFF\x00\x00")
    out = tmp_path / "r.jsonl"
    assert main(["batch", str(corpus), "-o", str(out), *FAKE, "-q"]) == 1
    first = out.read_bytes()
    assert {r["id"]: "error" in r for r in _rows(out)}["broken.wav"]

    (corpus / "broken.wav").write_bytes(wav_bytes(tone(seconds=1.3)))  # the file is mended
    assert main(["batch", str(corpus), "-o", str(out), *FAKE, "--resume", "-q"]) == 1
    assert out.read_bytes() == first  # --resume alone keeps the error line and exits 1
    capsys.readouterr()

    assert main(["batch", str(corpus), "-o", str(out), *FAKE, "--resume", "--retry-errors"]) == 0
    assert "1 analysed, 0 failed, 1 retried, 3 already done" in capsys.readouterr().err
    lines = out.read_bytes().splitlines(keepends=True)
    rows = [json.loads(line) for line in lines]
    assert sorted(r["id"] for r in rows) == sorted(ids + ["broken.wav"])  # every id exactly once
    fixed = {r["id"]: r for r in rows}["broken.wav"]
    assert "error" not in fixed and fixed["text"] == "fake 1.30"
    kept = [line for line in first.splitlines(keepends=True) if b'"error"' not in line]
    assert lines[: len(kept)] == kept  # the good lines are untouched, byte for byte

    before = out.read_bytes()  # nothing left to retry: nothing changes
    assert main(["batch", str(corpus), "-o", str(out), *FAKE, "--resume", "--retry-errors", "-q"]) == 0
    assert out.read_bytes() == before


def test_retry_errors_rewrite_is_all_or_nothing(tmp_path, monkeypatch):
    from paravox.batch import writer

    path = tmp_path / "r.jsonl"
    text = '{"id": "a", "text": "x"}\n{"id": "b", "error": {"type": "AudioError", "message": "b: empty"}}\n'
    path.write_text(text)

    def crash(src, dst):
        raise OSError("killed before the rename")

    monkeypatch.setattr(writer.os, "replace", crash)
    with pytest.raises(OSError):
        writer.drop_error_lines(path, {"b"})
    assert path.read_text() == text and [p.name for p in tmp_path.iterdir()] == ["r.jsonl"]  # old file, no temp left
    monkeypatch.undo()
    assert writer.drop_error_lines(path, {"a", "b"}) == 1  # only error lines go
    assert path.read_text() == '{"id": "a", "text": "x"}\n'
    with pytest.raises(ValueError, match="resume"):
        run_batch([], path, retry_errors=True)


# ---- the real pipeline ------------------------------------------------------------------------


#: Whisper with word timestamps; one thread so that batch and analyze record the same options.
REAL = ["--threads", "1", "--events", "none"]


@pytest.mark.slow
def test_real_pipeline_lines_match_paravox_analyze(tmp_path, capsys):
    en, _ = clip("emotion/ravdess", EN_ID)
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF" + b"\x00" * 40)
    scp = tmp_path / "wav.scp"
    scp.write_text(f"talk {en}\ncorrupt corrupt.wav\n")
    out = tmp_path / "batch.jsonl"
    # --pack 1: each input alone, as analyze does (packing is tested in test_packing.py)
    assert main(["batch", str(scp), "-o", str(out), "--workers", "2", "--pack", "1", *REAL, "-q"]) == 1
    rows = {r["id"]: r for r in _rows(out)}
    assert rows["corrupt"]["error"]["type"] == "AudioError"
    talk = rows["talk"]
    assert talk["language"] == "en" and "talking" in talk["text"].lower()
    assert talk["segments"][0]["words"][0]["start"] >= 0

    # the same record paravox analyze -o x.jsonl writes (but for the time it took); in a process
    # of its own, as a user runs it: --threads bounds the thread pools of a process from its start
    ref = tmp_path / "analyze.jsonl"
    done = subprocess.run([sys.executable, "-m", "paravox.cli.main", "analyze", "--scp", str(scp), "-o", str(ref),
                           *REAL, "-q"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    want = {r["id"]: r for r in _rows(ref)}
    assert talk["options"]["pack"] == 1 and want["talk"]["options"]["pack"] == 1
    for doc in (talk, want["talk"]):
        doc["options"].pop("elapsed_seconds")
    assert list(talk) == list(want["talk"]) and talk == want["talk"]
    assert rows["corrupt"] == want["corrupt"]


def test_workers_auto_starts_as_many_workers_as_cores_and_memory_allow(tmp_path, capsys, monkeypatch):
    from paravox.batch import sizing as opts

    monkeypatch.setattr(opts, "auto_workers", lambda threads=0, **_: 2)  # this machine's answer varies
    ids = _corpus(tmp_path / "c", 4)
    code = main(["batch", str(tmp_path / "c"), "-o", str(tmp_path / "r.jsonl"), "--workers", "auto", "--pack", "2", *FAKE])
    assert code == 0
    assert sorted(r["id"] for r in _rows(tmp_path / "r.jsonl")) == sorted(ids)
    assert "on 2 workers" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(["batch", str(tmp_path / "c"), "-o", str(tmp_path / "s.jsonl"), "--workers", "many", *FAKE])
    assert stop.value.code == 2 and "expected a whole number or 'auto', got 'many'" in capsys.readouterr().err
    assert not (tmp_path / "s.jsonl").exists()


def test_auto_workers_follow_cores_threads_and_memory(monkeypatch):
    from paravox.batch import sizing as opts
    from paravox.batch.sizing import WORKER_MEMORY_BYTES, auto_workers

    assert auto_workers(cores=2, memory=64 * 2**30) == 2
    assert auto_workers(2, cores=8, memory=64 * 2**30) == 4  # two threads each
    assert auto_workers(cores=8, memory=3 * WORKER_MEMORY_BYTES + 1) == 3
    assert auto_workers(cores=8, memory=WORKER_MEMORY_BYTES // 2) == 1  # always at least one
    monkeypatch.setattr(opts, "available_memory", lambda: None)
    assert auto_workers(cores=4) == 4  # memory unknown: the cores decide
    assert opts.available_memory is not None and isinstance(auto_workers(), int)


def test_a_manifests_language_reaches_each_input_in_batch_and_analyze(tmp_path):
    """Issue 19: the manifest's ``language`` field was read and then ignored."""
    (tmp_path / "a.wav").write_bytes(wav_bytes(tone(220, seconds=2.0)))
    manifest = tmp_path / "list.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in [
        {"id": "zh", "audio": "a.wav", "language": "zh"},
        {"id": "fr", "audio": "a.wav", "language": "fr"},
        {"id": "any", "audio": "a.wav"},
    ]))
    out = tmp_path / "batch.jsonl"
    done = subprocess.run([sys.executable, "-m", "paravox.cli.main", "batch", str(manifest), "-o", str(out), *FAKE, "-q"],
                          env=_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert {r["id"]: r["language"] for r in _rows(out)} == {"zh": "zh", "fr": "fr", "any": "en"}
    ref = tmp_path / "analyze.jsonl"
    assert main(["analyze", "--manifest", str(manifest), "-o", str(ref), "--asr", "fake-asr", "--events", "none",
                 "--emotion", "none", "-q"]) == 0
    assert {r["id"]: r["language"] for r in _rows(ref)} == {"zh": "zh", "fr": "fr", "any": "en"}
