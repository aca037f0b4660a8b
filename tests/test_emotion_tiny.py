"""The tiny emotion model (``paravox emotion --model tiny``): the shipped ONNX graph on real
RAVDESS clips, its size, determinism, the NumPy front end, and the errors a broken model
directory gives. Fast: no Whisper, no torch."""

from __future__ import annotations

import json
import shutil
import sys

import numpy as np
import pytest

from conftest import clip
from paravox.errors import ModelError
from paravox.speech_emotion.model import EMOTION2VEC_LABELS
from paravox.speech_emotion.tiny import FrontEnd, TinyEmotionModel, default_tiny_dir, log_mel

ANGRY = "ravdess-03-01-05-02-01-01-01"  # actor 01, strong anger
SAD = "ravdess-03-01-04-02-01-01-01"  # actor 01, strong sadness, same sentence


@pytest.fixture(scope="module")
def model() -> TinyEmotionModel:
    return TinyEmotionModel.load()


def _samples(clip_id: str) -> np.ndarray:
    from paravox.audio import load_audio

    path, _ = clip("emotion/ravdess", clip_id)
    return load_audio(path).samples


def test_shipped_model_is_tiny_and_scores_the_nine_labels(model):
    import onnx

    graph = onnx.load(str(default_tiny_dir() / "model.onnx")).graph
    params = sum(int(np.prod(t.dims)) for t in graph.initializer)
    assert 10_000 < params < 100_000
    assert (default_tiny_dir() / "model.onnx").stat().st_size < 500_000
    assert model.labels == EMOTION2VEC_LABELS
    assert model.dimensions in ((), ("valence", "arousal", "dominance"))
    assert model.window_seconds == 5.0


def test_angry_and_sad_clips(model):
    angry, sad = _samples(ANGRY), _samples(SAD)
    probs, dims = model.clip_scores([angry, sad])
    assert probs.shape == (2, 9) and probs.dtype == np.float32
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5) and (probs >= 0).all()
    a, s = model.labels.index("angry"), model.labels.index("sad")
    assert probs[0, a] > probs[1, a] and probs[1, s] > probs[0, s]
    assert model.labels[int(probs[0].argmax())] == "angry"
    assert probs[:, model.labels.index("unknown")].max() < 0.01  # the teacher never predicts it
    if model.dimensions:
        assert dims.shape == (2, len(model.dimensions)) and np.abs(dims).max() <= 1.0
        arousal = model.dimensions.index("arousal")
        assert dims[0, arousal] > dims[1, arousal]  # anger is more aroused than sadness
    else:
        assert dims is None


def test_deterministic_and_batch_independent(model):
    angry, sad = _samples(ANGRY), _samples(SAD)
    both, _ = model.clip_scores([angry, sad])
    alone, _ = model.clip_scores([sad])
    again, _ = TinyEmotionModel.load().clip_scores([angry, sad])
    assert np.array_equal(both, again)
    assert np.allclose(both[1], alone[0], atol=1e-6)


def test_no_torch_at_inference():
    import subprocess

    code = ("import sys, numpy as np; from paravox.speech_emotion.tiny import TinyEmotionModel; "
            "TinyEmotionModel.load().clip_scores([np.zeros(16000, np.float32)]); "
            "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('paravox.training')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_edge_inputs(model):
    silence = np.zeros(16000, np.float32)
    one_sample = np.zeros(1, np.float32)
    probs, _ = model.clip_scores([silence, one_sample])
    assert probs.shape == (2, 9) and np.isfinite(probs).all()
    assert model.clip_scores([])[0].shape == (0, 9)
    with pytest.raises(ValueError, match="longer than 5 s"):
        model.clip_scores([np.zeros(6 * 16000, np.float32)])
    with pytest.raises(ValueError, match="1-D mono"):
        model.clip_scores([np.zeros((2, 16000), np.float32)])


def test_log_mel_front_end():
    fe = FrontEnd()
    t = np.arange(16000) / 16000
    tone = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    mel = log_mel(tone, fe)
    assert mel.shape == (fe.n_mels, 101) and mel.dtype == np.float32
    band = int(mel[:, 50].argmax())
    assert 20 <= band <= 23  # 1 kHz is a third of the way up a 50-8000 Hz (HTK) mel scale
    assert np.allclose(mel.max() - mel.min(), fe.top_db / 10, atol=1e-5)  # floored top_db below the peak


def test_corrupt_or_missing_model_files(tmp_path):
    d = tmp_path / "tiny"
    shutil.copytree(default_tiny_dir(), d)
    (d / "model.onnx").write_bytes(b"not an onnx graph")
    with pytest.raises(ModelError, match="model.onnx.*benchmarks/emotion_tiny.py --train"):
        TinyEmotionModel.load(d)
    (d / "model.onnx").unlink()
    with pytest.raises(ModelError, match=r"model.onnx: missing"):
        TinyEmotionModel.load(d)
    shutil.copy(default_tiny_dir() / "model.onnx", d / "model.onnx")
    cfg = json.loads((d / "config.json").read_text())
    cfg["labels"] = cfg["labels"][:4]
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelError, match="4 labels"):
        TinyEmotionModel.load(d)
    (d / "config.json").write_text("{")
    with pytest.raises(ModelError, match="not valid JSON"):
        TinyEmotionModel.load(d)
    with pytest.raises(ModelError, match="no such tiny emotion model directory"):
        TinyEmotionModel.load(tmp_path / "absent")
