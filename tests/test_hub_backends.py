"""Hub models as backends (docs/backends.md): the catalogue, the cache, the offline failure,
what the models write turned into paravox results, and a tiny Qwen2-Audio and a tiny
Qwen2.5-Omni (with an MNV-17-style LoRA) run end to end."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from paravox import model_hub
from paravox.backends import registry
from paravox.backends.tagged_output import sensevoice_transcript, tagged_transcript
from paravox.result import Analysis
from paravox.taxonomy import normalize_tags, parse_tagged

from conftest import clip


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "paravox.cli.main", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120)


def _fake_snapshot(hub: Path, repo_id: str, files: dict[str, bytes], commit: str = "a" * 40) -> Path:
    """A repository laid out as the hub client leaves it in the cache (refs/main -> snapshots/<commit>)."""
    root = hub / ("models--" + repo_id.replace("/", "--"))
    (root / "refs").mkdir(parents=True)
    (root / "refs" / "main").write_text(commit)
    snap = root / "snapshots" / commit
    snap.mkdir(parents=True)
    for name, data in files.items():
        (snap / name).write_bytes(data)
    return snap


# ---- the catalogue and `paravox models` ------------------------------------------------------------


def test_every_hub_backend_is_registered_by_name_without_importing_its_runtime():
    code = ("import sys; from paravox.backends import registry; "
            "names = set(registry.available('asr')) | set(registry.available('emotion')); "
            "print(sorted(n for n in ('qwen2.5-omni-mnv17', 'qwen2-audio', 'sensevoice-small', 'emotion2vec-plus-base', "
            "'emotion2vec-plus-large', 'faster-whisper:large-v3') if n in names)); "
            "print(sorted(m for m in ('torch', 'transformers', 'funasr', 'peft') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] == str(sorted(['emotion2vec-plus-base', 'emotion2vec-plus-large', 'faster-whisper:large-v3',
                                 'qwen2-audio', 'qwen2.5-omni-mnv17', 'sensevoice-small']))
    assert out[1] == "[]"


def test_catalogue_covers_every_faster_whisper_size_the_asr_model_option_accepts():
    from paravox.backends.whisper import WHISPER_SIZES

    assert {f"faster-whisper:{s}" for s in WHISPER_SIZES} <= set(model_hub.CATALOGUE)


def test_models_json_lists_extra_size_licence_hardware_and_presence(tmp_path):
    _fake_snapshot(tmp_path / "hub", "FunAudioLLM/SenseVoiceSmall", {"model.pt": b"x", "config.yaml": b"y"},
                   commit=model_hub.get("sensevoice-small").revision)
    out = _cli("models", "--json", env={"PARAVOX_CACHE": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    rows = {r["name"]: r for r in json.loads(out.stdout)["hub"]}
    omni = rows["qwen2.5-omni-mnv17"]
    assert (omni["extra"], omni["size_gb"], omni["present"]) == ("qwen", 22.4, False)
    assert "22 GB" in omni["hardware"] and omni["licence"].startswith("Apache-2.0")
    assert rows["sensevoice-small"]["present"] is True  # the pinned commit's files are in the cache
    assert rows["emotion2vec-plus-large"]["present"] is False


def test_a_snapshot_missing_a_required_file_is_not_present(tmp_path):
    entry = model_hub.get("emotion2vec-plus-base")
    _fake_snapshot(tmp_path, entry.repo_id, {"config.yaml": b"y"})  # model.pt not fetched (interrupted)
    assert model_hub.local_paths(entry, tmp_path) is None
    (next((tmp_path).glob("models--*/snapshots/*")) / "model.pt").write_bytes(b"x")
    assert model_hub.local_paths(entry, tmp_path) is not None


# ---- offline: one clear line, exit 1 -----------------------------------------------------------------


def test_an_absent_big_model_fails_with_one_line_naming_size_and_download_command(tmp_path):
    source = Path(__file__).resolve().parents[1] / "samples" / "demo.flac"
    out = _cli("transcribe", "--asr", "qwen2.5-omni-mnv17", str(source), "-q", env={"PARAVOX_CACHE": str(tmp_path)})
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr
    assert lines[0].startswith("paravox: error: qwen2.5-omni-mnv17")
    assert "22.4 GB" in lines[0] and "paravox models --download qwen2.5-omni-mnv17" in lines[0]
    assert out.stdout == ""


def test_download_without_a_reachable_hub_fails_fast_and_cleanly(tmp_path):
    # A hub address that refuses connections: the network failure, for real, on any machine.
    env = {"PARAVOX_CACHE": str(tmp_path), "HF_ENDPOINT": "http://127.0.0.1:9"}
    started = time.perf_counter()
    out = _cli("models", "--download", "sensevoice-small", "-q", env=env)
    elapsed = time.perf_counter() - started
    assert out.returncode == 1 and "Traceback" not in out.stderr
    errors = [ln for ln in out.stderr.splitlines() if ln.startswith("paravox: error:")]
    assert len(errors) == 1 and len(out.stderr.strip().splitlines()) == 1
    assert "sensevoice-small" in errors[0] and "0.94 GB" in errors[0]
    assert "paravox models --download sensevoice-small" in errors[0]
    assert elapsed < 30  # no half-minute of retries with back-off


def test_a_missing_extra_names_the_pip_line(monkeypatch, tmp_path):
    monkeypatch.setenv("PARAVOX_CACHE", str(tmp_path))
    entry = model_hub.get("sensevoice-small")
    monkeypatch.setattr(model_hub.HubModel, "missing_modules", lambda self: ["funasr"])
    with pytest.raises(model_hub.ModelUnavailableError) as err:
        registry.create("asr", "sensevoice-small")
    message = str(err.value)
    assert "pip install 'paravox[funasr]'" in message and entry.download_command in message and "0.94 GB" in message


# ---- what the models write -> paravox results ---------------------------------------------------------

# MNV-17's published predictions (its README's demo samples) and a reference of its test set.
MNV17_OUTPUTS = [
    ("这个理论的悖论之处在于 [cough] 请大家原谅，在于它的前提本身——哎呀这粉笔灰真是 [sneeze]——它的前提本身就包含了结论，"
     "这听起来是不是很 [chuckle] 荒谬。", ["cough", "sneeze", "chuckle"]),
    ("我给自己泡了杯热茶 [hum]，又从冰箱里拿出那块昨天没舍得吃的提拉米苏 [smack]，然后窝在沙发里刷着搞笑视频 [laugh]，"
     "这大概就是最简单的幸福吧。", ["hum", "smack", "laugh"]),
]


@pytest.mark.parametrize("text,tags", MNV17_OUTPUTS)
def test_mnv17_output_keeps_its_tags_in_place(text, tags):
    seg, events = tagged_transcript(text, 1.0, 9.0, language="zh")
    assert [e.tag for e in events] == tags
    assert all(e.timing == "text" and 1.0 <= e.start <= 9.0 for e in events)
    assert "[" not in seg.text and seg.start == 1.0 and seg.end == 9.0
    analysis = Analysis(source="x", duration=10.0, segments=[seg], events=events)
    # Written back where the model put each tag (spacing aside).
    assert re.sub(r"\s", "", analysis.tagged_text()) == re.sub(r"\s", "", normalize_tags(text))


def test_llm_tags_in_other_spellings_become_canonical_and_unknown_ones_stay_text():
    seg, events = tagged_transcript("好的 <laughter> 我知道了 (coughs) [pause] 谢谢 [music]", 0.0, 4.0)
    assert [e.tag for e in events] == ["laugh", "cough"]
    assert seg.text.endswith("[music]") and "pause" not in seg.text


SENSEVOICE_OUTPUTS = [
    # (SenseVoice's rich transcription, language, emotion, event tags)
    ("<|zh|><|NEUTRAL|><|Speech|><|woitn|>欢迎大家来体验达摩院推出的语音识别模型", "zh", "neutral", []),
    ("<|en|><|HAPPY|><|Laughter|><|withitn|>That's so funny.", "en", "happy", ["laugh"]),
    ("<|zh|><|EMO_UNKNOWN|><|Cough|><|woitn|>嗯", "zh", None, ["cough"]),
]


@pytest.mark.parametrize("text,language,emotion,tags", SENSEVOICE_OUTPUTS)
def test_sensevoice_tokens_become_language_emotion_and_unplaced_events(text, language, emotion, tags):
    segments, events, lang = sensevoice_transcript(text, 2.0, 5.0)
    assert lang == language
    assert len(segments) == 1 and "<|" not in segments[0].text and segments[0].language == language
    assert (segments[0].emotion.label if segments[0].emotion else None) == emotion
    assert [(e.tag, e.start, e.end, e.timing) for e in events] == [(t, 2.0, 5.0, "utterance") for t in tags]


def test_sensevoice_several_utterances_share_the_stretch():
    segments, events, lang = sensevoice_transcript(
        "<|zh|><|SAD|><|Cry|><|woitn|>我好难过<|en|><|NEUTRAL|><|Speech|><|woitn|>okay fine", 0.0, 6.0)
    assert [s.language for s in segments] == ["zh", "en"] and lang == "zh"
    assert segments[0].end == segments[1].start and segments[1].end == 6.0
    assert [(e.tag, e.end) for e in events] == [("cry", segments[0].end)]


# ---- a tiny Qwen2-Audio, end to end ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_qwen2_audio(tmp_path_factory):
    pytest.importorskip("transformers", reason="the tiny audio-LLM test needs transformers (the dev extra has it)")
    from paravox.backends.audio_llm import AudioLLMASR
    from paravox.model_hub import MNV17_PROMPT
    from paravox.audio import load_audio
    from tiny_audio_llm import build_tiny_qwen2_audio

    path, row = clip("nvasr/dev", "nv38k-breath-1")
    samples = load_audio(str(path)).samples
    # A random model writes random characters; take the first seed whose answer holds a tag, so
    # that the tags' way through the backend is exercised (the answer itself is never assumed).
    text = "结果很好请大家原谅"
    for seed in range(30):
        folder = build_tiny_qwen2_audio(tmp_path_factory.mktemp(f"q2a{seed}"), text, seed=seed)
        asr = AudioLLMASR(folder, variant="qwen2-audio", prompt=MNV17_PROMPT, max_new_tokens=16, device="cpu")
        if parse_tagged(asr.generate(samples))[0]:
            return folder, path, samples
    pytest.fail("no tiny model in 30 seeds wrote a tag")


def test_tiny_qwen2_audio_through_the_registry_writes_its_tags_where_it_put_them(tiny_qwen2_audio, tmp_path,
                                                                                  monkeypatch):
    from paravox.analyzer import Analyzer

    folder, path, samples = tiny_qwen2_audio
    # The tiny model sits in the cache where 'paravox models --download qwen2-audio' puts the real one.
    snap = _fake_snapshot(tmp_path / "hub", "Qwen/Qwen2-Audio-7B-Instruct", {})
    for f in folder.iterdir():
        (snap / f.name).write_bytes(f.read_bytes())
    monkeypatch.setenv("PARAVOX_CACHE", str(tmp_path))

    analyzer = Analyzer(asr="qwen2-audio", emotion=None, threads=2)
    analysis = analyzer.analyze(str(path))
    assert analyzer.events is None  # the model writes its tags; paravox's detector does not add its own

    _assert_tags_where_the_model_wrote_them(analyzer, analysis, samples, "qwen2-audio")


def _assert_tags_where_the_model_wrote_them(analyzer, analysis, samples, name):
    import jsonschema
    from importlib import resources

    from paravox.backends.audio_llm import stretches
    from paravox.options import TranscribeOptions

    # What the model answered for each stretch, asked directly.
    spans = stretches(samples, TranscribeOptions())
    answers = [analyzer.asr.generate(samples[a:b]) for a, b in spans]
    expected = "".join(normalize_tags(a) for a in answers)
    assert re.sub(r"\s", "", analysis.tagged_text()) == re.sub(r"\s", "", expected)
    assert [e.tag for e in analysis.events] == [t for a in answers for t in parse_tagged(a)[0]]
    assert analysis.events and all(e.timing == "text" for e in analysis.events)
    assert all(0.0 <= s.start <= s.end <= analysis.duration + 1e-6 for s in analysis.segments)
    assert analysis.models["asr"] == name
    schema = json.loads(resources.files("paravox").joinpath("data/analysis.schema.json").read_text())
    jsonschema.validate(json.loads(analysis.to_json()), schema)


def test_a_lora_adapter_is_merged_into_the_model(tiny_qwen2_audio, tmp_path):
    peft = pytest.importorskip("peft", reason="adapters need peft (the dev extra has it)")
    import torch
    from transformers import Qwen2AudioForConditionalGeneration

    from paravox.backends.audio_llm import AudioLLMASR

    folder, _, samples = tiny_qwen2_audio
    base = Qwen2AudioForConditionalGeneration.from_pretrained(str(folder))
    lora = peft.get_peft_model(base, peft.LoraConfig(r=2, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    lora.save_pretrained(tmp_path / "adapter")
    merged = lora.merge_and_unload()

    asr = AudioLLMASR(folder, variant="qwen2-audio", prompt="x", adapter=tmp_path / "adapter", device="cpu")
    got = dict(asr.model.named_parameters())
    want = dict(merged.named_parameters())
    key = next(k for k in got if k.endswith("layers.0.self_attn.q_proj.weight"))
    assert torch.allclose(got[key], want[key])
    plain = Qwen2AudioForConditionalGeneration.from_pretrained(str(folder))
    assert not torch.allclose(got[key], dict(plain.named_parameters())[key])


# ---- a tiny Qwen2.5-Omni with an MNV-17-style LoRA, end to end ------------------------------------------


def _thinker_lora(folder, out):
    """A LoRA trained on the thinker alone (its weight names start at the thinker), saved to ``out``;
    returns the thinker with it merged."""
    peft = pytest.importorskip("peft", reason="adapters need peft (the dev extra has it)")
    from transformers import Qwen2_5OmniForConditionalGeneration

    base = Qwen2_5OmniForConditionalGeneration.from_pretrained(str(folder), enable_audio_output=False)
    lora = peft.get_peft_model(base.thinker, peft.LoraConfig(r=2, target_modules=["q_proj", "v_proj"],
                                                             init_lora_weights=False))
    lora.save_pretrained(out)
    return lora.merge_and_unload()


@pytest.fixture(scope="module")
def tiny_omni_mnv17(tmp_path_factory):
    pytest.importorskip("transformers", reason="the tiny audio-LLM test needs transformers (the dev extra has it)")
    from paravox.audio import load_audio
    from paravox.backends.audio_llm import AudioLLMASR
    from paravox.model_hub import MNV17_PROMPT
    from tiny_audio_llm import build_tiny_qwen2_5_omni

    path, _ = clip("nvasr/dev", "nv38k-breath-1")
    samples = load_audio(str(path)).samples
    # As for Qwen2-Audio: the first seed whose model, LoRA merged, writes a tag for the clip.
    for seed in range(30):
        work = tmp_path_factory.mktemp(f"omni{seed}")
        folder = build_tiny_qwen2_5_omni(work / "base", "结果很好请大家原谅", seed=seed)
        merged = _thinker_lora(folder, work / "adapter")
        asr = AudioLLMASR(folder, variant="qwen2.5-omni", prompt=MNV17_PROMPT, adapter=work / "adapter",
                          max_new_tokens=16, device="cpu")
        if parse_tagged(asr.generate(samples))[0]:
            return folder, work / "adapter", merged, path, samples
    pytest.fail("no tiny model in 30 seeds wrote a tag")


def test_tiny_qwen2_5_omni_mnv17_through_the_registry_writes_its_tags_where_it_put_them(tiny_omni_mnv17, tmp_path,
                                                                                        monkeypatch):
    import torch

    from paravox.analyzer import Analyzer

    folder, adapter, merged, path, samples = tiny_omni_mnv17
    # Base and LoRA in the cache where 'paravox models --download qwen2.5-omni-mnv17' puts them.
    entry = model_hub.get("qwen2.5-omni-mnv17")
    for (repo, revision), source in zip(entry.repos, (folder, adapter)):
        _fake_snapshot(tmp_path / "hub", repo, {f.name: f.read_bytes() for f in source.iterdir()})
    monkeypatch.setenv("PARAVOX_CACHE", str(tmp_path))

    analyzer = Analyzer(asr="qwen2.5-omni-mnv17", emotion=None, threads=2)
    # The processor is Qwen2.5-Omni's, for audio and text alone: no image or video processor.
    assert not hasattr(analyzer.asr.processor, "image_processor")
    assert not hasattr(analyzer.asr.processor, "video_processor")
    # The LoRA went into the thinker, as trained.
    got = dict(analyzer.asr.generator.named_parameters())
    key = next(k for k in got if k.endswith("language_model.layers.0.self_attn.q_proj.weight"))
    assert torch.allclose(got[key], dict(merged.named_parameters())[key])

    analysis = analyzer.analyze(str(path))
    assert analyzer.events is None
    _assert_tags_where_the_model_wrote_them(analyzer, analysis, samples, "qwen2.5-omni-mnv17")


def test_the_omni_backend_needs_neither_torchvision_nor_pillow(tiny_omni_mnv17):
    folder, adapter, _, _, samples = tiny_omni_mnv17
    code = ("import sys, numpy as np; sys.modules['torchvision'] = None; sys.modules['PIL'] = None; "
            "from paravox.backends.audio_llm import AudioLLMASR; "
            f"asr = AudioLLMASR({str(folder)!r}, variant='qwen2.5-omni', prompt='x', adapter={str(adapter)!r}, "
            "max_new_tokens=4, device='cpu'); "
            "print(type(asr.generate(np.zeros(16000, np.float32))).__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "str"
