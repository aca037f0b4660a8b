"""The NumPy Whisper encoder: reads model.bin itself, matches CTranslate2, exposes every layer."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from paravox.encoder.files import ModelFilesError, ensure_whisper_base
from paravox.encoder.numpy_encoder import (
    FINAL,
    WhisperEncoder,
    log_mel,
    pooled_features,
    read_ctranslate2_variables,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CLIP = DATA / "emotion" / "casia" / "ZhaoZuoxiang" / "neutral" / "205.flac"  # 2.45 s, neutral speech


@pytest.fixture(scope="module")
def model_dir() -> Path:
    return ensure_whisper_base()


@pytest.fixture(scope="module")
def encoder(model_dir) -> WhisperEncoder:
    return WhisperEncoder.load(model_dir)


@pytest.fixture(scope="module")
def mel() -> np.ndarray:
    if not CLIP.exists():
        pytest.skip(f"data pack not found at {DATA} (clone with ../shared beside the repo)")
    from paravox.audio import load_audio

    return log_mel(load_audio(CLIP).samples)


def test_parser_finds_the_encoder_variables_with_their_shapes(model_dir):
    variables = read_ctranslate2_variables(model_dir / "model.bin")
    assert all(name.startswith("encoder/") for name in variables)
    # conv stem, position table, 6 layers x (2 norms x 2 + 4 linears x 2), final norm, num_heads
    assert len(variables) == 4 + 1 + 6 * 12 + 2 + 1
    expected = {
        "encoder/conv1/weight": (512, 80, 3),
        "encoder/conv1/bias": (512,),
        "encoder/conv2/weight": (512, 512, 3),
        "encoder/conv2/bias": (512,),
        "encoder/position_encodings/encodings": (1500, 512),
        "encoder/layer_norm/gamma": (512,),
        "encoder/layer_norm/beta": (512,),
    }
    for i in range(6):
        layer = f"encoder/layer_{i}"
        expected |= {
            f"{layer}/self_attention/layer_norm/gamma": (512,),
            f"{layer}/self_attention/linear_0/weight": (1536, 512),
            f"{layer}/self_attention/linear_0/bias": (1536,),
            f"{layer}/self_attention/linear_1/weight": (512, 512),
            f"{layer}/ffn/layer_norm/beta": (512,),
            f"{layer}/ffn/linear_0/weight": (2048, 512),
            f"{layer}/ffn/linear_1/weight": (512, 2048),
        }
    for name, shape in expected.items():
        assert variables[name].shape == shape, name
        assert variables[name].dtype == np.float16, name
    assert int(variables["encoder/num_heads"]) == 8
    # Whisper's key projection has no bias: CTranslate2 stores zeros for it in the fused one.
    qkv_bias = variables["encoder/layer_0/self_attention/linear_0/bias"]
    assert not qkv_bias[512:1024].any() and qkv_bias[:512].any() and qkv_bias[1024:].any()
    assert np.isfinite(variables["encoder/layer_5/ffn/linear_1/weight"].astype(np.float32)).all()


@pytest.mark.slow
def test_final_output_matches_ctranslate2(encoder, model_dir, mel):
    ctranslate2 = pytest.importorskip("ctranslate2")
    model = ctranslate2.models.Whisper(str(model_dir), device="cpu", compute_type="float32", intra_threads=2)

    def reference(x: np.ndarray) -> np.ndarray:
        view = ctranslate2.StorageView.from_array(np.ascontiguousarray(x))
        return np.array(model.encode(view, to_cpu=True))

    assert mel.shape == (80, 244)
    ours = encoder.forward(mel, layers=[FINAL])[FINAL]
    theirs = reference(mel[None])[0]
    assert ours.shape == theirs.shape == (122, 512) and ours.dtype == np.float32
    assert np.abs(ours - theirs).max() / np.abs(theirs).max() < 1e-3  # measured 3.4e-5

    batch = np.stack([mel[:, :240], mel[:, 4:]])  # batched input, 240 frames each
    ours = encoder.forward(batch, layers=[FINAL])[FINAL]
    theirs = reference(batch)
    assert ours.shape == theirs.shape == (2, 120, 512)
    assert np.abs(ours - theirs).max() / np.abs(theirs).max() < 1e-3


def test_early_layers_stop_early(encoder, mel, monkeypatch):
    everything = encoder.forward(mel[:, :240])
    assert list(everything) == [0, 1, 2, 3, 4, 5, FINAL]
    assert all(state.shape == (120, 512) for state in everything.values())

    calls = []
    run_block = encoder._block
    monkeypatch.setattr(encoder, "_block", lambda x, block: calls.append(block) or run_block(x, block))
    only = encoder.forward(mel[:, :240], layers=[1])
    assert list(only) == [1]
    assert calls == encoder.blocks[:2]  # blocks 2..5 were never run
    np.testing.assert_array_equal(only[1], everything[1])
    assert not np.allclose(everything[1], everything[5])


def test_pooled_features_are_mean_and_std(encoder, mel):
    states = encoder.forward(mel, layers=[2])[2]
    pooled = pooled_features(states)
    assert pooled.shape == (1024,) and pooled.dtype == np.float32
    np.testing.assert_allclose(pooled[:512], states.mean(axis=0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(pooled[512:], states.std(axis=0), rtol=1e-5, atol=1e-5)


def test_log_mel_framing():
    rng = np.random.default_rng(0)
    noise = (0.1 * rng.standard_normal(16000 + 170)).astype(np.float32)  # 101 frames -> 100
    mel = log_mel(noise)
    assert mel.shape == (80, 100) and mel.dtype == np.float32
    padded = log_mel(noise, pad_to_30s=True)
    assert padded.shape == (80, 3000)
    np.testing.assert_array_equal(padded[:, :100], mel)
    assert not padded[:, 100:].any()
    assert log_mel(np.zeros(100, dtype=np.float32)).shape == (80, 0)
    with pytest.raises(ValueError, match="30-s window"):
        log_mel(np.zeros(16000 * 31, dtype=np.float32), pad_to_30s=True)


def test_bad_inputs_are_refused(encoder):
    with pytest.raises(ValueError, match="0 frames"):
        encoder.forward(np.zeros((80, 0), dtype=np.float32))
    with pytest.raises(ValueError, match="3002 frames"):
        encoder.forward(np.zeros((80, 3002), dtype=np.float32))
    with pytest.raises(ValueError, match="shape"):
        encoder.forward(np.zeros((64, 100), dtype=np.float32))
    with pytest.raises(ValueError, match="layer 6"):
        encoder.forward(np.zeros((80, 100), dtype=np.float32), layers=[6])


def _string(text: str) -> bytes:
    raw = text.encode() + b"\0"
    return struct.pack("<H", len(raw)) + raw


def _variable(name: str, array: np.ndarray, type_id: int) -> bytes:
    head = _string(name) + struct.pack("<B", array.ndim) + struct.pack(f"<{array.ndim}I", *array.shape)
    return head + struct.pack("<BI", type_id, array.nbytes) + array.tobytes()


def _tiny_model_bin(version: int = 6) -> bytes:
    """A model.bin in CTranslate2's layout, written independently of the reader."""
    weight = np.arange(6, dtype=np.float16).reshape(2, 3)
    body = struct.pack("<I", version) + _string("TinySpec") + struct.pack("<II", 1, 3)
    body += _variable("decoder/embeddings/weight", np.ones((4, 2), np.float32), 0)
    body += _variable("encoder/scale", np.array(7, np.int16), 2)
    body += _variable("encoder/weight", weight, 4)
    body += struct.pack("<I", 1) + _string("encoder/tied") + _string("decoder/embeddings/weight")
    return body


def test_parser_reads_ctranslate2_layout(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(_tiny_model_bin())
    variables = read_ctranslate2_variables(tmp_path)  # a folder works too
    assert sorted(variables) == ["encoder/scale", "encoder/tied", "encoder/weight"]
    assert variables["encoder/weight"].dtype == np.float16
    np.testing.assert_array_equal(variables["encoder/weight"], np.arange(6).reshape(2, 3))
    assert variables["encoder/scale"].shape == () and int(variables["encoder/scale"]) == 7
    np.testing.assert_array_equal(variables["encoder/tied"], np.ones((4, 2)))  # alias resolved
    assert list(read_ctranslate2_variables(path, prefix="decoder/")) == ["decoder/embeddings/weight"]


@pytest.mark.parametrize(
    "damage",
    ["truncated", "empty", "version", "trailing", "rank"],
)
def test_damaged_model_bin_gives_model_files_error(tmp_path, damage):
    good = _tiny_model_bin()
    name = _string("decoder/embeddings/weight")
    data = {
        "truncated": good[:-20],
        "empty": b"",
        "version": _tiny_model_bin(version=5),
        "trailing": good + b"\0\0\0\0",
        "rank": good.replace(name + b"\x02", name + b"\x09"),
    }[damage]
    path = tmp_path / "model.bin"
    path.write_bytes(data)
    with pytest.raises(ModelFilesError, match="model.bin"):
        read_ctranslate2_variables(path)


def test_truncated_whisper_model_gives_model_files_error(tmp_path, model_dir):
    with open(model_dir / "model.bin", "rb") as f:
        (tmp_path / "model.bin").write_bytes(f.read(1 << 20))
    with pytest.raises(ModelFilesError, match="ends inside"):
        WhisperEncoder.load(tmp_path)
    with pytest.raises(ModelFilesError, match="does not exist"):
        WhisperEncoder.load(tmp_path / "missing")


def test_model_without_an_encoder_is_refused(tmp_path):
    (tmp_path / "model.bin").write_bytes(_tiny_model_bin())
    with pytest.raises(ModelFilesError, match="not a Whisper encoder"):
        WhisperEncoder.load(tmp_path)
