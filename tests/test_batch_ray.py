"""paravox batch --engine ray, against a real local Ray started by this module (loopback only).

The same guarantees as the local engine: one line per input, bad files recorded, and a
driver killed with SIGKILL then resumed ends with every input exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'paravox[ray]' to test --engine ray")
pytest.importorskip("ray.data", reason="Ray Data is not installed: pip install 'paravox[ray]' to test --engine ray")

from conftest import clip  # noqa: E402
from test_batch import CRASH_SECONDS, FAKE, _corpus, _env, _rows  # noqa: E402

from paravox.batch import list_inputs, run_batch  # noqa: E402
from paravox.options import AnalyzeOptions  # noqa: E402
from paravox.testing import tone, wav_bytes  # noqa: E402

EN_ID = "ravdess-03-01-01-01-01-01-01"  # "Kids are talking by the door"
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Ray Data's own, on every run


@pytest.fixture(scope="module")
def ray_address():
    """A two-CPU Ray on this machine; its workers can import ``test_batch`` (the fake recogniser)."""
    saved = os.environ.get("PYTHONPATH")
    os.environ.update(_env(PARAVOX_FAKE_ASR_SECONDS="0"))  # inherited by the raylet and its workers
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
        os.environ.pop("PARAVOX_FAKE_ASR_SECONDS", None)
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


@pytest.mark.slow
def test_ray_runs_the_real_pipeline_and_records_bad_files(tmp_path, ray_address):
    en, _ = clip("emotion/ravdess", EN_ID)
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF" + b"\x00" * 40)
    scp = tmp_path / "wav.scp"
    scp.write_text(f"talk {en}\ncorrupt corrupt.wav\nmissing nowhere.flac\n")
    out = tmp_path / "r.jsonl"
    summary = run_batch(list_inputs([str(scp)]), out, engine="ray", workers=2, options=AnalyzeOptions(threads=1, events=None))
    rows = {r["id"]: r for r in _rows(out)}
    assert sorted(rows) == ["corrupt", "missing", "talk"]
    assert rows["talk"]["language"] == "en" and "talking" in rows["talk"]["text"].lower()
    assert rows["talk"]["segments"][0]["words"]
    assert rows["corrupt"]["error"]["type"] == "AudioError" and "corrupt" in rows["corrupt"]["error"]["message"]
    assert rows["missing"]["error"]["message"].startswith("missing: not found")
    assert (summary.analysed, summary.failed) == (1, 2)


def test_ray_driver_killed_then_resumed_gives_every_input_exactly_once(tmp_path, ray_address):
    """In bundles of 3 (--pack 3): the bundle holding the input that kills its worker is analysed
    again one input at a time, and a bundle cut by the kill is analysed whole on resume."""
    corpus = tmp_path / "corpus"
    ids = _corpus(corpus, 10)
    (corpus / "crash.wav").write_bytes(wav_bytes(tone(seconds=CRASH_SECONDS)))  # kills its worker process
    out = tmp_path / "results.jsonl"
    cmd = [sys.executable, "-m", "paravox.cli.main", "batch", str(corpus), "-o", str(out), *FAKE,
           "--engine", "ray", "--address", ray_address, "--workers", "2", "--pack", "3", "-q"]

    proc = subprocess.Popen(cmd, env=_env(PARAVOX_FAKE_ASR_SECONDS="0.4"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (out.exists() and out.read_bytes().count(b"\n") >= 2):
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "no results from the Ray job within 120 s"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    first = _rows(out)
    assert 2 <= len(first) < len(ids) + 1
    # and as if the kill had landed in the middle of writing the next line
    with open(out, "ab") as f:
        f.write(b'{"id": "clip05.wav", "schema_ver')

    done = subprocess.run(cmd + ["--resume"], env=_env(PARAVOX_FAKE_ASR_SECONDS="0"), capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 1, done.stderr  # crash.wav failed, in this run or the killed one
    assert "cut off an incomplete last line" in done.stderr and "1 of 11 inputs failed" in done.stderr
    rows = {r["id"]: r for r in _rows(out)}
    assert sorted(rows) == sorted(ids + ["crash.wav"])  # none lost, none twice
    assert rows.pop("crash.wav")["error"]["type"] == "WorkerCrashed"
    assert all(r["text"].startswith("fake ") for r in rows.values())
    assert json.loads(out.read_text().splitlines()[0]) == first[0]  # earlier lines untouched


def test_an_address_where_no_ray_listens_fails_at_once_with_the_fix():
    import socket

    from paravox.batch import FatalBatchError
    from paravox.batch.ray_engine import check_reachable

    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(FatalBatchError, match=r"no Ray cluster answers at 127.0.0.1:\d+ .*ray start --head"):
        check_reachable(f"127.0.0.1:{port}")
    assert time.monotonic() - started < 5
    check_reachable("auto")  # left to Ray
