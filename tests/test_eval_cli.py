import argparse
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from paravox.cli import eval_cmd

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MNV17_TEST = SHARED_DATA / "nvasr" / "mnv17" / "test.jsonl"


def run_cli(argv, capsys):
    """Parse with a tiny argparse that registers ``eval`` the way the main CLI does."""
    parser = argparse.ArgumentParser(prog="paravox")
    eval_cmd.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        code = args.handler(args)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def mnv17_rows():
    if not MNV17_TEST.exists():
        pytest.skip("MNV-17 transcripts not present in the shared data pack")
    return [json.loads(line) for line in MNV17_TEST.read_text(encoding="utf-8").splitlines()]


def mnv17_predictions(rows, texts):
    """Rows as MNV-17's inference script writes them (audio_path, ground_truth, prediction, ...)."""
    return [
        {
            "audio_path": r["audio"],
            "ground_truth": r["txt"],
            "prediction": text,
            "speaker": r["speaker"],
            "filename": r["filename"],
        }
        for r, text in zip(rows, texts)
    ]


def test_nvasr_perfect_prediction_on_mnv17(tmp_path, capsys):
    rows = mnv17_rows()
    hyp = write_jsonl(tmp_path / "pred.jsonl", mnv17_predictions(rows, [r["txt"] for r in rows]))
    code, out, err = run_cli(["eval", "nvasr", "--ref", str(MNV17_TEST), "--hyp", str(hyp), "--json"], capsys)
    assert code == 0 and err == ""
    report = json.loads(out)  # exactly one JSON object
    assert report["n"] == 190
    assert report["joint_cer"] == 0.0 and report["text_cer"] == 0.0
    assert report["nv_exact_match"] == 1.0 and report["tag_f1"] == 1.0
    code, out, _ = run_cli(["eval", "nvasr", "--ref", str(MNV17_TEST), "--hyp", str(hyp)], capsys)
    assert "Joint CER" in out and "0.00%" in out and "190/190" in out


def test_nvasr_perturbed_prediction_on_mnv17(tmp_path, capsys):
    rows = mnv17_rows()
    texts = [r["txt"] for r in rows]
    assert texts[0].startswith("[ahem] ") and texts[1].startswith("[ahem] ")
    texts[0] = texts[0].replace("[ahem] ", "", 1)  # tag dropped: 1 deletion
    texts[1] = texts[1].replace("[ahem]", "[cough]", 1)  # wrong tag: 1 substitution
    hyp = write_jsonl(tmp_path / "pred.jsonl", mnv17_predictions(rows, texts))
    out_file = tmp_path / "report.json"
    code, out, _ = run_cli(
        ["eval", "nvasr", "--ref", str(MNV17_TEST), "--hyp", str(hyp), "--json", "-o", str(out_file)],
        capsys,
    )
    assert code == 0
    report = json.loads(out)
    assert report == json.loads(out_file.read_text(encoding="utf-8"))
    # 2 errors over 5675 reference tokens (5375 characters/words + 300 tags)
    assert report["joint_errors"] == {
        "substitutions": 1, "deletions": 1, "insertions": 0, "ref_tokens": 5675, "hyp_tokens": 5674
    }
    assert report["joint_cer"] == pytest.approx(2 / 5675)
    assert report["text_cer"] == 0.0
    assert report["nv_exact_match"] == pytest.approx(188 / 190)
    # tags: ref 300, hyp 299 (one dropped), TP 298 (the dropped ahem and the one now a cough)
    assert report["tag_precision"] == pytest.approx(298 / 299)
    assert report["tag_recall"] == pytest.approx(298 / 300)
    assert report["per_class"]["ahem"]["recall"] == pytest.approx(21 / 23)
    assert report["per_class"]["cough"]["precision"] == pytest.approx(12 / 13)


def test_nvasr_explicit_fields(tmp_path, capsys):
    ref = write_jsonl(tmp_path / "ref.jsonl", [{"uid": "a", "gold": "你好[laugh]"}])
    hyp = write_jsonl(tmp_path / "hyp.jsonl", [{"uid": "a", "out": "你好"}])
    code, out, _ = run_cli(
        ["eval", "nvasr", "--ref", str(ref), "--hyp", str(hyp), "--id-field", "uid",
         "--ref-field", "gold", "--hyp-field", "out", "--json", "--per-utterance"],
        capsys,
    )
    report = json.loads(out)
    assert code == 0 and report["joint_cer"] == pytest.approx(1 / 3)
    assert report["utterances"][0]["ref_tags"] == ["laugh"]


@pytest.mark.parametrize(
    "ref_rows, hyp_rows, message",
    [
        ([{"id": "a", "text": "x"}, {"id": "b", "text": "y"}], [{"id": "a", "text": "x"}],
         r"1 id\(s\) of .*ref.jsonl missing from .*hyp.jsonl: b$"),
        ([{"id": "a", "text": "x"}], [{"id": "a", "text": "x"}, {"id": "a", "text": "y"}],
         "hyp.jsonl:2: duplicate id 'a'"),
        ([{"id": "a", "words": "x"}], [{"id": "a", "text": "x"}], "no reference text field"),
        ([{"text": "x"}], [{"text": "x"}], "no id field"),
    ],
)
def test_input_errors_exit_2_with_one_line(tmp_path, capsys, ref_rows, hyp_rows, message):
    ref = write_jsonl(tmp_path / "ref.jsonl", ref_rows)
    hyp = write_jsonl(tmp_path / "hyp.jsonl", hyp_rows)
    code, out, err = run_cli(["eval", "nvasr", "--ref", str(ref), "--hyp", str(hyp)], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("paravox eval nvasr: error: ")
    assert re.search(message, err), err


def test_id_mismatch_lists_first_ten_and_count(tmp_path, capsys):
    ref = write_jsonl(tmp_path / "ref.jsonl", [{"id": f"u{i:02d}", "text": "x"} for i in range(25)])
    hyp = write_jsonl(tmp_path / "hyp.jsonl", [{"id": "u00", "text": "x"}])
    code, _, err = run_cli(["eval", "nvasr", "--ref", str(ref), "--hyp", str(hyp)], capsys)
    assert code == 2
    assert "24 id(s)" in err and "u01, u02" in err and "u10" in err and "u11" not in err
    assert "(24 in all)" in err


def _subprocess(*args):
    return subprocess.run(
        [sys.executable, "-m", "paravox.cli.eval_cmd", *args],
        capture_output=True, text=True, timeout=60,
    )


def test_subprocess_errors_have_no_traceback(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "x"}\n\n{"id": "b", "text": \n', encoding="utf-8")
    proc = _subprocess("nvasr", "--ref", str(bad), "--hyp", str(bad))
    assert proc.returncode == 2
    assert "bad.jsonl:3: invalid JSON" in proc.stderr and "Traceback" not in proc.stderr
    proc = _subprocess("nvasr", "--ref", str(tmp_path / "missing.jsonl"), "--hyp", str(bad))
    assert proc.returncode == 2
    assert proc.stderr.strip().endswith("missing.jsonl: no such file")
    assert "Traceback" not in proc.stderr


def test_main_cli_when_present(tmp_path):
    if importlib.util.find_spec("paravox.cli.main") is None:
        pytest.skip("paravox.cli.main not written yet")
    ref = write_jsonl(tmp_path / "ref.jsonl", [{"id": "a", "text": "你好[laugh]"}])
    code = (
        "import sys; sys.argv = ['paravox', 'eval', 'nvasr', '--ref', sys.argv[1], '--hyp', "
        "sys.argv[1], '--json']; from paravox.cli.main import main; sys.exit(main())"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(ref)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["joint_cer"] == 0.0


# ------------------------------------------------------------------ emotion / classify

EMO_REF = [("c1", "angry"), ("c2", "angry"), ("c3", "angry"), ("c4", "happy"), ("c5", "happy"), ("c6", "sad")]
EMO_HYP = [("c1", "angry"), ("c2", "angry"), ("c3", "happy"), ("c4", "happy"), ("c5", "sad"), ("c6", "sad")]


def test_emotion_json_keys_and_values(tmp_path, capsys):
    ref = write_jsonl(tmp_path / "labels.jsonl", [{"id": i, "label": y} for i, y in EMO_REF])
    # the hypothesis in reverse order, label in "prediction": found automatically
    hyp = write_jsonl(tmp_path / "pred.jsonl", [{"id": i, "prediction": y} for i, y in reversed(EMO_HYP)])
    code, out, _ = run_cli(["eval", "emotion", "--ref", str(ref), "--hyp", str(hyp), "--json"], capsys)
    assert code == 0
    r = json.loads(out)
    for key in ("wa", "ua", "uar", "macro_f1", "weighted_f1", "confusion", "labels", "n", "per_class"):
        assert key in r
    assert r["n"] == 6 and r["labels"] == ["angry", "happy", "sad"]
    assert r["wa"] == pytest.approx(4 / 6) and r["ua"] == r["uar"] == pytest.approx(13 / 18)
    assert r["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert r["confusion"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    code, out, _ = run_cli(["eval", "emotion", "--ref", str(ref), "--hyp", str(hyp)], capsys)
    assert "UA (UAR)" in out and "72.22%" in out and "confusion" in out


def test_classify_with_label_field_and_order(tmp_path, capsys):
    ref = write_jsonl(tmp_path / "ref.jsonl", [{"id": i, "tag": y} for i, y in EMO_REF])
    hyp = write_jsonl(tmp_path / "hyp.jsonl", [{"id": i, "tag": y} for i, y in EMO_HYP])
    code, out, _ = run_cli(
        ["eval", "classify", "--ref", str(ref), "--hyp", str(hyp), "--label-field", "tag",
         "--labels", "sad,happy,angry", "--json"],
        capsys,
    )
    r = json.loads(out)
    assert code == 0 and r["labels"] == ["sad", "happy", "angry"]
    assert r["confusion"][0] == [1, 0, 0]


# ------------------------------------------------------------------ events


def test_events_jsonl_and_tsv(tmp_path, capsys):
    ref_rows = [{"id": "f1", "events": [{"tag": "laugh", "start": 1.0, "end": 2.0},
                                        {"tag": "cough", "start": 3.0, "end": 3.5},
                                        {"tag": "laugh", "start": 5.0, "end": 6.0}]}]
    hyp_rows = [{"id": "f1", "events": [{"label": "laughter", "start": 1.15, "end": 2.5},
                                        {"label": "cough", "start": 3.3, "end": 3.6},
                                        {"label": "sigh", "start": 5.1, "end": 6.0}]}]
    ref = write_jsonl(tmp_path / "ref.jsonl", ref_rows)
    hyp = write_jsonl(tmp_path / "hyp.jsonl", hyp_rows)
    code, out, _ = run_cli(["eval", "events", "--ref", str(ref), "--hyp", str(hyp), "--json"], capsys)
    r = json.loads(out)
    assert code == 0
    assert r["event_f1"] == pytest.approx(1 / 3) and r["segment_f1"] == pytest.approx(4 / 7)
    assert r["collar"] == 0.2 and r["segment"] == 1.0
    code, out, _ = run_cli(
        ["eval", "events", "--ref", str(ref), "--hyp", str(hyp), "--collar", "0.5", "--json"], capsys
    )
    assert json.loads(out)["event_f1"] == pytest.approx(2 / 3)  # cough 0.3 s now inside
    # the same in DCASE tsv form (f2 has no events in either file)
    (tmp_path / "ref.tsv").write_text(
        "filename\tonset\toffset\tevent_label\nf1\t1.0\t2.0\tlaugh\nf1\t3.0\t3.5\tcough\n"
        "f1\t5.0\t6.0\tlaugh\nf2\t\t\t\n", encoding="utf-8")
    (tmp_path / "hyp.tsv").write_text(
        "f1\t1.15\t2.5\tlaughter\nf1\t3.3\t3.6\tcough\nf1\t5.1\t6.0\tsigh\nf2\n", encoding="utf-8")
    code, out, _ = run_cli(
        ["eval", "events", "--ref", str(tmp_path / "ref.tsv"), "--hyp", str(tmp_path / "hyp.tsv"), "--json"],
        capsys,
    )
    r2 = json.loads(out)
    assert r2["n"] == 2 and r2["event_f1"] == r["event_f1"] and r2["segment_f1"] == r["segment_f1"]
    code, out, _ = run_cli(["eval", "events", "--ref", str(ref), "--hyp", str(hyp)], capsys)
    assert "event-based (onset collar 0.2 s)" in out and "F1  33.33%" in out


def test_events_bad_event_reports_line(tmp_path, capsys):
    ref = write_jsonl(tmp_path / "ref.jsonl", [{"id": "f1", "events": []},
                                               {"id": "f2", "events": [{"tag": "laugh", "start": 2, "end": 1}]}])
    code, _, err = run_cli(["eval", "events", "--ref", str(ref), "--hyp", str(ref)], capsys)
    assert code == 2 and "ref.jsonl:2:" in err
