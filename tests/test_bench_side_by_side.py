"""paravox bench nvasr|emotion|classify --backends: each backend on the same clips, one table.

Real clips from the data pack; the offline default beside a tiny random Qwen2-Audio placed in
the cache where 'paravox models --download qwen2-audio' puts the real one, and beside hub
models that are absent here (their rows say why, the exit status is 1)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from paravox.bench.side_by_side import check_backends

from conftest import DATA, manifest
from test_hub_backends import _fake_snapshot, tiny_qwen2_audio  # noqa: F401 - the fixture

NVASR_IDS = ("nv38k-breath-1", "nv38k-breath-2", "nv38k-coughing-1")


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "paravox.cli.main", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)


def _subset(folder, source: str, ids, name: str | None = None):
    """A manifest of a few data-pack clips (audio by absolute path) in ``folder``."""
    rows = [r for r in manifest(source) if r["id"] in ids]
    folder.mkdir(parents=True)
    (folder / "manifest.jsonl").write_text("".join(
        json.dumps({**r, "audio": str(DATA / source / r["audio"])}, ensure_ascii=False) + "\n" for r in rows),
        encoding="utf-8")
    return folder, rows


def _table_rows(markdown: str) -> dict[str, list[str]]:
    """backend -> its cells, from the one markdown table."""
    lines = [ln for ln in markdown.splitlines() if ln.startswith("| ") and not ln.startswith("| backend")]
    return {ln.split("|")[1].strip(): [c.strip() for c in ln.split("|")[2:-1]] for ln in lines}


def test_backend_names_are_checked_before_anything_runs():
    assert check_backends("nvasr", ["paravox", " qwen2-audio"]) == ["paravox", "qwen2-audio"]
    with pytest.raises(ValueError, match="no asr backend named nope"):
        check_backends("nvasr", ["paravox", "nope"])
    with pytest.raises(ValueError, match="twice"):
        check_backends("emotion", ["paravox", "paravox"])
    out = _cli("bench", "nvasr", "--data", "x", "--backends", "paravox,nope")
    assert out.returncode == 2 and "no asr backend named nope" in out.stderr


@pytest.fixture(scope="module")
def nvasr_side_by_side(tiny_qwen2_audio, tmp_path_factory):  # noqa: F811
    """One run of 'paravox bench nvasr --backends paravox,qwen2-audio,qwen2.5-omni-mnv17' on three real clips."""
    folder, _, _ = tiny_qwen2_audio
    tmp = tmp_path_factory.mktemp("sbs")
    data, rows = _subset(tmp / "dev", "nvasr/dev", NVASR_IDS)
    snap = _fake_snapshot(tmp / "cache" / "hub", "Qwen/Qwen2-Audio-7B-Instruct", {})
    for f in folder.iterdir():
        (snap / f.name).write_bytes(f.read_bytes())
    out = _cli("bench", "nvasr", "--data", str(data), "--backends", "paravox,qwen2-audio,qwen2.5-omni-mnv17",
               "--threads", "2", "-q", "-o", str(tmp / "side.json"), env={"PARAVOX_CACHE": str(tmp / "cache")})
    return out, json.loads((tmp / "side.json").read_text()), data, rows, folder, tmp / "cache"


def test_one_table_one_row_per_backend_with_figures_cost_and_the_reason_of_the_absent_one(nvasr_side_by_side):
    out, result, *_ = nvasr_side_by_side
    assert out.returncode == 1  # one backend could not run
    assert "not run: qwen2.5-omni-mnv17" in out.stderr and "Traceback" not in out.stderr
    table = _table_rows(out.stdout)
    assert list(table) == ["paravox", "qwen2-audio", "qwen2.5-omni-mnv17"]
    for name in ("paravox", "qwen2-audio"):
        joint, text, exact, f1, pos_f1, track1, rtf, load, rss, gpu = table[name]
        assert 0 <= float(joint) and 0 <= float(text) and 0 <= float(exact) <= 100 and 0 <= float(pos_f1) <= 100
        assert 0 <= float(track1) <= 100 and float(rtf) > 0 and float(load) >= 0
        assert float(rss.replace(",", "")) > 50 and gpu == "-"  # a whole Python process; no CUDA here
    reason = table["qwen2.5-omni-mnv17"][0]
    assert reason.startswith("not run: qwen2.5-omni-mnv17") and "paravox models --download qwen2.5-omni-mnv17" in reason
    assert result["failed"] == ["qwen2.5-omni-mnv17"]
    by_name = {b["backend"]: b for b in result["backends"]}
    assert by_name["qwen2-audio"]["ok"] and by_name["qwen2-audio"]["audio_seconds"] == pytest.approx(
        sum(r["duration"] for r in nvasr_side_by_side[3]), abs=0.05)
    assert not by_name["qwen2.5-omni-mnv17"]["ok"] and "figures" not in by_name["qwen2.5-omni-mnv17"]


def test_the_default_row_is_what_the_plain_nvasr_bench_measures(nvasr_side_by_side):
    from paravox.bench.vocal_events import bench_nvasr

    out, result, data, rows, _, _ = nvasr_side_by_side
    plain = bench_nvasr(data, quiet=True)["groups"]["real"]  # the three clips are all real
    side = next(b for b in result["backends"] if b["backend"] == "paravox")["figures"]
    for key in ("joint_cer", "text_cer", "nv_exact_match", "tag_f1", "position_f1", "track1_score"):
        assert side[key] == pytest.approx(plain[key]), key
    assert _table_rows(out.stdout)["paravox"][0] == f"{100 * plain['joint_cer']:.2f}"


def test_the_tiny_model_row_scores_what_the_model_wrote(nvasr_side_by_side, monkeypatch):
    from paravox.analyzer import Analyzer
    from paravox.bench.vocal_events import nvasr_figures

    _, result, _, rows, _, cache = nvasr_side_by_side
    monkeypatch.setenv("PARAVOX_CACHE", str(cache))
    analyzer = Analyzer(asr="qwen2-audio", emotion=None, threads=2)
    hyps = {r["id"]: analyzer.analyze(str(DATA / "nvasr/dev" / r["audio"])).tagged_text() for r in rows}
    side = next(b for b in result["backends"] if b["backend"] == "qwen2-audio")
    assert side["outputs"] == hyps  # the process of its own ran the same model on the same clips
    assert side["figures"]["joint_cer"] == pytest.approx(nvasr_figures(rows, hyps)["joint_cer"])
    assert side["figures"]["joint_cer"] > 0  # a random model's transcript is wrong: the score says so


def test_emotion_side_by_side_scores_the_file_level_emotion_and_says_why_a_backend_did_not_run(tmp_path):
    from paravox.audio import load_audio
    from paravox.evaluation.classification import evaluate_classification
    from paravox.evaluation.label_maps import load_label_map
    from paravox.speech_emotion.recognizer import EmotionRecognizer

    speaker = "liuchanhg"
    ids = [r["id"] for r in manifest("emotion/casia") if r["speaker"] == speaker][::50][:5]
    data, rows = _subset(tmp_path / "casia", "emotion/casia", ids)  # named casia: its label map applies
    out = _cli("bench", "emotion", "--data", str(data), "--backends", "paravox,emotion2vec-plus-base", "-q",
               "-o", str(tmp_path / "e.json"), env={"PARAVOX_CACHE": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1"})
    table = _table_rows(out.stdout)
    assert list(table) == ["paravox", "emotion2vec-plus-base"]
    # its files are not in the cache (and, without the funasr extra, its runtime is not installed either)
    reason = table["emotion2vec-plus-base"][0]
    assert out.returncode == 1 and reason.startswith("not run: emotion2vec-plus-base")
    assert "paravox models --download emotion2vec-plus-base" in reason
    # the row's UA is the file-level emotion of each clip against its mapped label
    rec = EmotionRecognizer(None)
    mapping = load_label_map("casia").mapping
    preds = []
    for r in rows:
        found = rec.file_emotion(load_audio(str(DATA / "emotion/casia" / r["audio"])).samples)
        preds.append(rec.score(found[0], 0, 0.0, 1.0, found[1]).label if found else "(no emotion)")
    want = evaluate_classification([mapping.get(r["label"], r["label"]) for r in rows], preds)
    assert table["paravox"][0] == f"{100 * want.ua:.1f}" and table["paravox"][1] == f"{100 * want.wa:.1f}"
    result = json.loads((tmp_path / "e.json").read_text())
    assert result["label_map"] == "casia" and result["backends"][0]["figures"]["n"] == len(rows)
