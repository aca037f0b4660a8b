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


# ------------------------------------------------------------------ label maps

# RAVDESS-style reference labels against emotion2vec-style predictions.
MAP_REF = [("r1", "angry"), ("r2", "disgust"), ("r3", "calm"), ("r4", "neutral"), ("r5", "calm"), ("r6", "sad")]
MAP_HYP = [("r1", "angry"), ("r2", "disgusted"), ("r3", "neutral"), ("r4", "neutral"), ("r5", "sad"), ("r6", "sad")]
RAVDESS_MANIFEST = SHARED_DATA / "emotion" / "ravdess" / "manifest.jsonl"


def _map_files(tmp_path):
    ref = write_jsonl(tmp_path / "ref.jsonl", [{"id": i, "label": y} for i, y in MAP_REF])
    hyp = write_jsonl(tmp_path / "hyp.jsonl", [{"id": i, "label": y} for i, y in MAP_HYP])
    return str(ref), str(hyp)


def test_emotion_without_map_warns_about_labels_it_can_only_count_wrong(tmp_path, capsys):
    ref, hyp = _map_files(tmp_path)
    code, out, err = run_cli(["eval", "emotion", "--ref", ref, "--hyp", hyp, "--json"], capsys)
    r = json.loads(out)
    assert code == 0 and r["n"] == 6 and r["wa"] == pytest.approx(3 / 6)  # r1, r4, r6
    assert r["label_map"] is None and r["unmapped_labels"] == {"calm": 2, "disgust": 1}
    assert err.count("\n") == 1 and err.startswith("paravox eval emotion: warning: ")
    assert "calm (2), disgust (1)" in err and "emotion2vec" in err and "ravdess" in err


def test_emotion_builtin_ravdess_map_changes_accuracy(tmp_path, capsys):
    ref, hyp = _map_files(tmp_path)
    code, out, err = run_cli(
        ["eval", "emotion", "--ref", ref, "--hyp", hyp, "--label-map", "ravdess", "--json"], capsys
    )
    r = json.loads(out)
    assert code == 0 and err == ""
    # calm -> neutral, disgust -> disgusted: only r5 (calm said as sad) stays wrong
    assert r["n"] == 6 and r["wa"] == pytest.approx(5 / 6)
    assert r["labels"] == ["angry", "disgusted", "neutral", "sad"]
    assert r["ua"] == pytest.approx((1 + 1 + 2 / 3 + 1) / 4)
    lm = r["label_map"]
    assert lm["name"] == "ravdess" and lm["source"] == "built-in"
    assert lm["map"]["calm"] == "neutral" and lm["map"]["disgust"] == "disgusted"
    assert lm["relabelled"] == 3 and lm["dropped"] == 0 and lm["dropped_labels"] == {}
    assert r["unmapped_labels"] == {}
    code, out, _ = run_cli(["eval", "emotion", "--ref", ref, "--hyp", hyp, "--label-map", "ravdess"], capsys)
    assert "label map: ravdess (built-in): 3 of 6 reference labels renamed, 0 items dropped" in out
    assert "83.33%" in out


def test_label_map_file_with_null_drops_items_and_counts_them(tmp_path, capsys):
    ref, hyp = _map_files(tmp_path)
    map_file = tmp_path / "map.json"
    map_file.write_text('{"calm": null, "disgust": "disgusted"}', encoding="utf-8")
    report_file = tmp_path / "report.json"
    code, out, err = run_cli(
        ["eval", "emotion", "--ref", ref, "--hyp", hyp, "--label-map", str(map_file), "-o", str(report_file)],
        capsys,
    )
    assert code == 0 and err == ""
    assert "2 items dropped (calm 2)" in out and str(map_file) in out
    r = json.loads(report_file.read_text(encoding="utf-8"))
    assert r["n"] == 4 and r["wa"] == 1.0
    lm = r["label_map"]
    assert lm["name"] == str(map_file) and lm["source"] == "file"
    assert lm["dropped"] == 2 and lm["dropped_labels"] == {"calm": 2} and lm["relabelled"] == 1
    # the same as {"map": {...}} (the built-in files' layout)
    map_file.write_text('{"note": "x", "map": {"calm": null, "disgust": "disgusted"}}', encoding="utf-8")
    code, out, _ = run_cli(
        ["eval", "emotion", "--ref", ref, "--hyp", hyp, "--label-map", str(map_file), "--json"], capsys
    )
    assert code == 0 and json.loads(out)["label_map"]["dropped"] == 2


def test_label_map_that_drops_everything_is_an_error(tmp_path, capsys):
    ref, hyp = _map_files(tmp_path)
    map_file = tmp_path / "map.json"
    map_file.write_text(json.dumps({y: None for _, y in MAP_REF}), encoding="utf-8")
    code, out, err = run_cli(["eval", "emotion", "--ref", ref, "--hyp", hyp, "--label-map", str(map_file)], capsys)
    assert code == 2 and out == "" and "drops every item (6)" in err


@pytest.mark.parametrize(
    "content, message",
    [
        (None, r"--label-map .*nomap\.json: no such file \(built-in maps: casia, emodb, ravdess\)$"),
        ('{"calm": ', r"--label-map .*map\.json: invalid JSON \(.*line 1\)$"),
        ('["calm", "neutral"]', r"--label-map .*map\.json: a label map is a JSON object .* got list$"),
        ('{"calm": 3}', r"--label-map .*map\.json: the value of 'calm' must be a label .* got int$"),
        ('{"calm": ""}', r"the value of 'calm' must be a label"),
        ("{}", r"--label-map .*map\.json: the label map is empty$"),
    ],
)
def test_bad_label_map_file_exits_2_naming_it(tmp_path, capsys, content, message):
    path = tmp_path / ("nomap.json" if content is None else "map.json")
    if content is not None:
        path.write_text(content, encoding="utf-8")
    # the inputs do not exist: the map is checked before they are read
    missing = str(tmp_path / "missing.jsonl")
    code, out, err = run_cli(["eval", "emotion", "--ref", missing, "--hyp", missing, "--label-map", str(path)], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("paravox eval emotion: error: ")
    assert re.search(message, err.strip()), err


def test_unknown_builtin_name_lists_the_builtin_maps(tmp_path):
    missing = str(tmp_path / "missing.jsonl")
    proc = _subprocess("emotion", "--ref", missing, "--hyp", missing, "--label-map", "ravdes")
    assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == (
        "paravox eval emotion: error: --label-map ravdes: no built-in map of that name and no "
        "such file (built-in maps: casia, emodb, ravdess)"
    )


def test_builtin_label_maps_resolve_and_reach_emotion2vec_labels():
    from paravox.evaluation.label_maps import builtin_label_maps, load_label_map
    from paravox.speech_emotion.model import EMOTION2VEC_LABELS

    assert builtin_label_maps() == ["casia", "emodb", "ravdess"]
    for name in builtin_label_maps():
        lm = load_label_map(name)
        assert lm.name == name and lm.source == "built-in"
        assert set(lm.mapping.values()) <= set(EMOTION2VEC_LABELS), name
    assert load_label_map("ravdess").mapping["calm"] == "neutral"
    assert load_label_map("emodb").mapping["boredom"] == "other"


def test_builtin_label_maps_match_the_shipped_model_training_maps():
    """The maps the shipped emotion model was trained with (its config.json) are the maps
    the corpora are scored with."""
    from importlib import resources

    from paravox.evaluation.label_maps import load_label_map

    config = json.loads(
        resources.files("paravox").joinpath("speech_emotion/weights/config.json").read_text(encoding="utf-8")
    )
    trained = next(v["label_maps"] for v in config.values() if isinstance(v, dict) and "label_maps" in v)
    assert set(trained) == {"casia", "emodb", "ravdess"}
    for name, mapping in trained.items():
        assert load_label_map(name).mapping == mapping, name


@pytest.mark.parametrize("corpus", ["casia", "emodb", "ravdess"])
def test_builtin_label_maps_cover_the_data_pack_labels(corpus):
    from paravox.evaluation.label_maps import load_label_map

    manifest = SHARED_DATA / "emotion" / corpus / "manifest.jsonl"
    if not manifest.exists():
        pytest.skip(f"{corpus} not present in the shared data pack")
    labels = {json.loads(line)["label"] for line in manifest.read_text(encoding="utf-8").splitlines() if line}
    assert labels == set(load_label_map(corpus).mapping)


def test_emotion_help_lists_each_builtin_map():
    from paravox.evaluation.label_maps import builtin_label_maps, load_label_map

    text = " ".join(eval_cmd.EMOTION_EPILOG.split())
    for name in builtin_label_maps():
        renamed = [f"{k} -> {v}" for k, v in load_label_map(name).mapping.items() if k != v]
        assert f"{name} " + ", ".join(renamed) in text, name


def test_ravdess_manifest_scored_with_and_without_the_map(tmp_path, capsys):
    """A model that is always right in emotion2vec's labels: 73.45 % WA on RAVDESS as
    written (calm and disgust can never match), 100 % with the ravdess map."""
    if not RAVDESS_MANIFEST.exists():
        pytest.skip("RAVDESS not present in the shared data pack")
    from paravox.evaluation.label_maps import load_label_map

    mapping = load_label_map("ravdess").mapping
    rows = [json.loads(line) for line in RAVDESS_MANIFEST.read_text(encoding="utf-8").splitlines() if line]
    hyp = write_jsonl(tmp_path / "hyp.jsonl", [{"id": r["id"], "label": mapping[r["label"]], "scores": {}} for r in rows])
    args = ["eval", "emotion", "--ref", str(RAVDESS_MANIFEST), "--hyp", str(hyp), "--json"]
    code, out, err = run_cli(args, capsys)
    r = json.loads(out)
    assert code == 0 and r["n"] == 1194 and r["wa"] == pytest.approx(877 / 1194)
    assert r["unmapped_labels"] == {"calm": 157, "disgust": 160} and "calm (157)" in err
    code, out, err = run_cli([*args, "--label-map", "ravdess"], capsys)
    r = json.loads(out)
    assert code == 0 and err == "" and r["wa"] == 1.0 and r["label_map"]["relabelled"] == 317


def test_classify_takes_a_label_map_file(tmp_path, capsys):
    ref = write_jsonl(tmp_path / "ref.jsonl", [{"id": "a", "tag": "laughter"}, {"id": "b", "tag": "cough"},
                                               {"id": "c", "tag": "speech"}])
    hyp = write_jsonl(tmp_path / "hyp.jsonl", [{"id": "a", "tag": "laugh"}, {"id": "b", "tag": "cough"},
                                               {"id": "c", "tag": "laugh"}])
    code, out, err = run_cli(["eval", "classify", "--ref", str(ref), "--hyp", str(hyp), "--json"], capsys)
    assert code == 0 and json.loads(out)["wa"] == pytest.approx(1 / 3)
    assert "laughter (1), speech (1)" in err and "built-in" not in err
    map_file = tmp_path / "aliases.json"
    map_file.write_text('{"laughter": "laugh", "speech": null}', encoding="utf-8")
    code, out, err = run_cli(
        ["eval", "classify", "--ref", str(ref), "--hyp", str(hyp), "--label-map", str(map_file), "--json"], capsys
    )
    r = json.loads(out)
    assert code == 0 and err == "" and r["n"] == 2 and r["wa"] == 1.0 and r["label_map"]["dropped"] == 1


def test_eval_emotion_counts_a_null_or_failed_prediction_as_wrong(tmp_path, capsys):
    import json

    from paravox.cli.main import main

    ref = tmp_path / "ref.jsonl"
    hyp = tmp_path / "hyp.jsonl"
    ref.write_text("".join(json.dumps({"id": i, "label": "angry"}) + "\n" for i in ("a", "b", "c")))
    hyp.write_text(
        json.dumps({"id": "a", "label": "angry"}) + "\n"
        + json.dumps({"id": "b", "label": None}) + "\n"  # no speech: paravox emotion gives no label
        + json.dumps({"id": "c", "error": {"type": "AudioError", "message": "not audio"}}) + "\n"
    )
    assert main(["eval", "emotion", "--ref", str(ref), "--hyp", str(hyp), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 3 and abs(report["wa"] - 1 / 3) < 1e-9
