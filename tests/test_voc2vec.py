"""voc2vec as a classify backend (docs/backends.md): a head trained with ``paravox train isolated
--backbone voc2vec`` on real clips, over a tiny randomly initialised wav2vec 2.0 placed in the
cache where ``paravox models --download voc2vec`` puts the real one; then ``paravox classify
--model``, the registry and ``bench classify --backends``; the offline failure; no torch for
``paravox --help`` / ``paravox models``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import DATA, manifest
from test_hub_backends import _cli, _fake_snapshot

pytest.importorskip("transformers", reason="the voc2vec tests need transformers (the dev extra has it)")

TAGS = ["cough", "laugh", "scream"]
HIDDEN = 16


def _tiny_wav2vec2(folder: Path) -> None:
    """A wav2vec 2.0 of voc2vec's architecture, two layers of hidden size 16, random weights, with
    its feature extractor's config: what the real snapshot holds, a few hundred kB."""
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

    torch.manual_seed(0)
    config = Wav2Vec2Config(hidden_size=HIDDEN, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
                            conv_dim=(8,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2, vocab_size=4)
    Wav2Vec2Model(config).save_pretrained(str(folder))
    Wav2Vec2FeatureExtractor(do_normalize=True, return_attention_mask=False).save_pretrained(str(folder))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(cache dir with the tiny voc2vec, clip folder, head directory, the training's report):
    four Deeply clips of each of three tags, one head trained on them through the CLI."""
    from paravox import model_hub

    root = tmp_path_factory.mktemp("voc2vec")
    entry = model_hub.get("voc2vec")
    _tiny_wav2vec2(_fake_snapshot(root / "cache" / "hub", entry.repo_id, {}))
    rows = []
    for tag in TAGS:
        rows += [r for r in manifest("nonverbal/deeply") if r["tag"] == tag][:4]
    clips = root / "clips"
    clips.mkdir()
    (clips / "manifest.jsonl").write_text("".join(
        json.dumps({"id": r["id"], "audio": str(DATA / "nonverbal/deeply" / r["audio"]), "tag": r["tag"],
                    "speaker": r["speaker"]}) + "\n" for r in rows))
    head = root / "head"
    out = _cli("train", "isolated", "--data", str(clips), "--backbone", "voc2vec", "-o", str(head), "-q",
               env={"PARAVOX_CACHE": str(root / "cache"), "HF_HUB_OFFLINE": "1"})
    assert out.returncode == 0, out.stderr
    return root / "cache", clips, head, json.loads(out.stdout)


def test_the_head_records_its_backbone_and_the_tags_it_was_trained_on(trained):
    _, _, head, report = trained
    config = json.loads((head / "config.json").read_text())
    assert config["tags"] == TAGS and "reject" not in config
    assert config["backbone"]["name"] == "voc2vec"
    assert (config["backbone"]["repo_id"], config["backbone"]["revision"]) == ("alkiskoudounas/voc2vec", "main")
    assert config["backbone"]["commit"] == "a" * 40  # the snapshot the features came from
    assert config["backbone"]["layers"] == [1, 2] and "framing" not in config
    with np.load(head / "weights.npz") as w:
        assert w["mean"].shape == (2 * HIDDEN,)  # mean + std of the backbone's hidden size, not paravox's 4096
    assert report["backbone"]["name"] == "voc2vec" and "--backbone voc2vec" in report["command"]
    card = (head / "MODEL_CARD.md").read_text()
    assert "`voc2vec` backbone" in card and "--backend-model voc2vec=" in card


def test_classify_with_the_head_runs_the_backbone_then_the_head(trained, monkeypatch):
    import torch
    from transformers import Wav2Vec2Model

    import paravox
    from paravox.audio import load_audio
    from paravox.vocal_events.model import VocalizationClassifier

    cache, clips, head, _ = trained
    row = json.loads((clips / "manifest.jsonl").read_text().splitlines()[5])
    out = _cli("classify", "--model", str(head), row["audio"], "-f", "json", "-q",
               env={"PARAVOX_CACHE": str(cache), "HF_HUB_OFFLINE": "1"})
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["label"] in TAGS and set(got["scores"]) == set(TAGS)
    assert abs(sum(got["scores"].values()) - 1.0) < 1e-3 and got["score"] == max(got["scores"].values())

    # The same answer in Python, and it is the head applied to the tiny model's pooled states:
    # normalised input, the average of its two layers, mean and std over time.
    monkeypatch.setenv("PARAVOX_CACHE", str(cache))
    res = paravox.classify(row["audio"], model=str(head))
    assert res.label == got["label"] and res.scores == pytest.approx(got["scores"], abs=1e-4)
    x = load_audio(row["audio"]).samples
    model = Wav2Vec2Model.from_pretrained(str(next(cache.glob("hub/models--*voc2vec/snapshots/*")))).eval()
    with torch.no_grad():
        states = model(torch.tensor((x - x.mean()) / np.sqrt(x.var() + 1e-7))[None], output_hidden_states=True).hidden_states
    h = ((states[1] + states[2]) / 2)[0].numpy()
    feats = np.concatenate([h.mean(axis=0), h.std(axis=0)])
    probs = VocalizationClassifier.load(head).label_probabilities(feats)[0]
    assert dict(zip(TAGS, probs.tolist())) == pytest.approx(res.scores, abs=1e-3)


def test_voc2vec_is_a_classify_backend_and_runs_beside_the_default(trained, tmp_path):
    cache, clips, head, _ = trained
    env = {"PARAVOX_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
    out = _cli("bench", "classify", "--data", str(clips), "--backends", "paravox,voc2vec", "--backend-model",
               f"voc2vec={head}", "-o", str(tmp_path / "side.json"), "-q", env=env)
    assert out.returncode == 0, out.stderr
    side = json.loads((tmp_path / "side.json").read_text())
    assert side["failed"] == []
    runs = {r["backend"]: r for r in side["backends"]}
    assert set(runs) == {"paravox", "voc2vec"}
    voc = runs["voc2vec"]
    assert len(voc["outputs"]) == 12 and set(voc["outputs"].values()) <= set(TAGS)
    assert 0.0 <= voc["figures"]["uar"] <= 1.0 and voc["rtf"] > 0
    assert sum(line.startswith("| voc2vec |") for line in out.stdout.splitlines()) == 1


def test_the_voc2vec_backend_needs_a_head_on_voc2vec(trained, monkeypatch):
    from paravox.backends import registry
    from paravox.errors import ModelError, OptionError
    from paravox.vocal_events.model import default_model_dir

    cache, _, head, _ = trained
    monkeypatch.setenv("PARAVOX_CACHE", str(cache))
    with pytest.raises(OptionError, match="paravox train isolated --data CLIPS --backbone voc2vec"):
        registry.create("classify", "voc2vec")
    with pytest.raises(ModelError, match="paravox's own features"):  # the shipped head is not a voc2vec head
        registry.create("classify", "voc2vec", model=str(default_model_dir() / "isolated"))
    built = registry.create("classify", "voc2vec", model=str(head))
    assert built.name == "voc2vec"


def test_a_head_whose_backbone_is_absent_offline_fails_in_one_line(trained, tmp_path):
    _, clips, head, _ = trained
    audio = json.loads((clips / "manifest.jsonl").read_text().splitlines()[0])["audio"]
    env = {"PARAVOX_CACHE": str(tmp_path / "empty"), "HF_HUB_OFFLINE": "1"}
    for args in (("classify", "--model", str(head), audio, "-q"),
                 ("train", "isolated", "--data", str(clips), "--backbone", "voc2vec", "-o", str(tmp_path / "h"), "-q")):
        out = _cli(*args, env=env)
        assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("paravox: error: voc2vec")
        assert "paravox models --download voc2vec" in lines[0] and out.stdout == ""
    assert not (tmp_path / "h").exists()


def test_framing_and_bench_report_are_refused_with_a_backbone(trained, tmp_path):
    _, clips, _, _ = trained
    for extra in (("--framing", "padded_fast"), ("--bench-report", "x.json")):
        out = _cli("train", "isolated", "--data", str(clips), "--backbone", "voc2vec", "-o", str(tmp_path / "h"),
                   *extra, env={})
        assert out.returncode == 2 and extra[0] in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_help_and_models_do_not_import_torch_and_list_voc2vec_as_a_classifier(trained):
    cache, _, _, _ = trained
    code = ("import contextlib, io, sys\nfrom paravox.cli.main import main\n"
            "for argv in (['--help'], ['models', '--json']):\n"
            "    buf = io.StringIO()\n"
            "    with contextlib.redirect_stdout(buf):\n"
            "        try:\n            main(argv)\n        except SystemExit:\n            pass\n"
            "    out = buf.getvalue()\n"
            "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))\n"
            "print([(r['kind'], r['present']) for r in __import__('json').loads(out)['hub'] if r['name'] == 'voc2vec'])\n")
    import os

    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PARAVOX_CACHE": str(cache)})
    assert got.returncode == 0, got.stderr
    assert got.stdout.splitlines() == ["[]", "[('classify', True)]"]
