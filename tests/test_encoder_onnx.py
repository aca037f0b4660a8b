"""The ONNX Runtime Whisper encoder: same states as the NumPy pass, same forward() contract."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import clip

from paravox.encoder.numpy_encoder import FINAL, WhisperEncoder, log_mel
from paravox.testing import noise, tone

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from paravox.encoder.onnx_encoder import OnnxWhisperEncoder, build_encoder_graph  # noqa: E402

EARLY = [0, 1, 2, 3]


def max_relative_error(got: np.ndarray, want: np.ndarray) -> float:
    """Largest absolute difference over the largest reference magnitude."""
    return float(np.abs(got.astype(np.float64) - want).max() / np.abs(want).max())


def relative_error(got: np.ndarray, want: np.ndarray) -> float:
    """||got - want|| / ||want||."""
    return float(np.linalg.norm(got.astype(np.float64) - want) / np.linalg.norm(want))


@pytest.fixture(scope="module")
def encoder() -> WhisperEncoder:
    return WhisperEncoder.load()


@pytest.fixture(scope="module")
def onnx_encoder(encoder) -> OnnxWhisperEncoder:
    return OnnxWhisperEncoder(encoder, threads=1)


@pytest.fixture(scope="module")
def speech_mel() -> np.ndarray:
    path, _ = clip("emotion/ravdess", "ravdess-03-01-01-01-01-01-01")  # 2.39 s, neutral speech
    from paravox.audio import load_audio

    return log_mel(load_audio(path).samples)


@pytest.fixture(scope="module")
def synthetic_mel() -> np.ndarray:
    samples = tone(220, seconds=1.2) + noise(seconds=1.2, amplitude=0.05, seed=3)
    return log_mel(samples)


def test_float32_matches_numpy_on_real_speech(encoder, onnx_encoder, speech_mel):
    want = encoder.forward(speech_mel, layers=EARLY)
    got = onnx_encoder.forward(speech_mel, layers=EARLY)
    assert list(got) == EARLY
    for layer in EARLY:
        assert got[layer].shape == want[layer].shape == (speech_mel.shape[1] // 2, 512)
        assert got[layer].dtype == np.float32
        assert max_relative_error(got[layer], want[layer]) < 1e-4, layer


def test_float32_matches_numpy_on_a_synthetic_signal_every_layer_and_final(encoder, onnx_encoder, synthetic_mel):
    want = encoder.forward(synthetic_mel)
    got = onnx_encoder.forward(synthetic_mel)
    assert list(got) == list(want) == [0, 1, 2, 3, 4, 5, FINAL]
    for layer in want:
        assert max_relative_error(got[layer], want[layer]) < 1e-4, layer


def test_odd_frame_counts_give_ceil_half_steps(encoder, onnx_encoder, synthetic_mel):
    mel = synthetic_mel[:, :37]
    got = onnx_encoder.forward(mel, layers=[1])[1]
    want = encoder.forward(mel, layers=[1])[1]
    assert got.shape == want.shape == (19, 512)
    assert max_relative_error(got, want) < 1e-4


def test_batched_matches_unbatched(onnx_encoder, synthetic_mel):
    other = log_mel(tone(660, seconds=1.2))
    batch = np.stack([synthetic_mel, other])
    got = onnx_encoder.forward(batch, layers=[2, 0])
    assert list(got) == [2, 0]
    for layer in (0, 2):
        assert got[layer].shape == (2, synthetic_mel.shape[1] // 2, 512)
        for row, mel in enumerate((synthetic_mel, other)):
            single = onnx_encoder.forward(mel, layers=[layer])[layer]
            assert max_relative_error(got[layer][row], single) < 1e-5


def test_layer_selection_order_duplicates_and_shared_sessions(onnx_encoder, synthetic_mel):
    got = onnx_encoder.forward(synthetic_mel, layers=[3, 1, 3])
    assert list(got) == [3, 1]
    shallow = onnx_encoder.forward(synthetic_mel, layers=[1])
    np.testing.assert_allclose(shallow[1], got[1], rtol=0, atol=1e-4)
    assert onnx_encoder.session(4) is onnx_encoder.session(4)
    assert {depth for depth, *_ in onnx_encoder._sessions} >= {2, 4}


@pytest.mark.parametrize("layer", [6, -2, 1.0, "1", True])
def test_a_layer_that_does_not_exist_is_a_value_error(onnx_encoder, synthetic_mel, layer):
    with pytest.raises(ValueError, match=r"does not exist; use 0\.\.5 or FINAL \(-1\)"):
        onnx_encoder.forward(synthetic_mel, layers=[0, layer])


def test_bad_inputs_are_value_errors_like_numpy(encoder, onnx_encoder, synthetic_mel):
    cases = [
        (synthetic_mel, []),
        (synthetic_mel[:40], [0]),
        (np.zeros((80, 0), np.float32), [0]),
        (np.zeros((80, 3002), np.float32), [0]),
        (np.zeros((0, 80, 10), np.float32), [0]),
    ]
    for mel, layers in cases:
        with pytest.raises(ValueError) as numpy_error:
            encoder.forward(mel, layers=layers)
        with pytest.raises(ValueError) as onnx_error:
            onnx_encoder.forward(mel, layers=layers)
        assert str(onnx_error.value) == str(numpy_error.value)


def test_graph_has_one_output_per_block_and_final_only_at_full_depth(encoder):
    assert [o.name for o in build_encoder_graph(encoder, 2).graph.output] == ["state_0", "state_1"]
    full = [o.name for o in build_encoder_graph(encoder, encoder.num_layers).graph.output]
    assert full == [f"state_{i}" for i in range(6)] + ["final"]
    with pytest.raises(ValueError, match="depth 7 is out of range"):
        build_encoder_graph(encoder, 7)


def test_the_padded_fast_graph_spells_attention_out_in_standard_ops(encoder):
    # the contrib Attention node cannot take the silent window's keys; its states are checked below
    model = build_encoder_graph(encoder, 2, silence=encoder.silence_keys_values(2))
    assert {n.domain for n in model.graph.node if n.op_type != "Gelu"} == {""}
    assert "Attention" in {n.op_type for n in build_encoder_graph(encoder, 2).graph.node}


def test_silence_after_is_exact_on_silence_and_a_full_window(encoder, onnx_encoder, speech_mel):
    # On silence the padded window is all silence, whose states the graph reads: exact.
    silent = encoder.forward(np.zeros((80, 3000), np.float32), layers=EARLY)
    got = onnx_encoder.forward(np.zeros((80, 400), np.float32), layers=EARLY, silence_after=True)
    for layer in EARLY:
        assert got[layer].shape == (200, 512)
        assert max_relative_error(got[layer], silent[layer][:200]) < 1e-4
    # A full 30-s input leaves no silence to attend to: the plain states.
    full = np.tile(speech_mel, (1, 13))[:, :3000]
    want = onnx_encoder.forward(full, layers=[1])[1]
    assert max_relative_error(onnx_encoder.forward(full, layers=[1], silence_after=True)[1], want) < 1e-5


def test_silence_after_comes_close_to_the_padded_window(encoder, onnx_encoder, speech_mel):
    padded = np.pad(speech_mel, ((0, 0), (0, 3000 - speech_mel.shape[1])))
    steps = speech_mel.shape[1] // 2
    exact = {k: v[:steps] for k, v in onnx_encoder.forward(padded, layers=EARLY).items()}
    fast = onnx_encoder.forward(speech_mel, layers=EARLY, silence_after=True)
    short = onnx_encoder.forward(speech_mel, layers=EARLY)
    # Block 0 differs only where the padding's first position hears the speech through the
    # convolutions; deeper blocks drift as the padding's states would react to the speech.
    assert relative_error(fast[0], exact[0]) < 0.03
    for layer in EARLY[:3]:
        assert relative_error(fast[layer], exact[layer]) < relative_error(short[layer], exact[layer])
    batched = onnx_encoder.forward(np.stack([speech_mel, speech_mel]), layers=[2], silence_after=True)[2]
    assert batched.shape == (2, steps, 512) and max_relative_error(batched[1], fast[2]) < 1e-5


def test_silence_needs_every_block_of_the_graph(encoder):
    with pytest.raises(ValueError, match="silence holds 1 blocks"):
        build_encoder_graph(encoder, 2, silence=encoder.silence_keys_values(1))


def test_constructor_checks_its_arguments(encoder):
    with pytest.raises(TypeError, match="must be a WhisperEncoder"):
        OnnxWhisperEncoder(object())
    with pytest.raises(ValueError, match="threads must be an integer >= 0"):
        OnnxWhisperEncoder(encoder, threads=-1)


def test_sessions_of_every_depth_read_one_shared_copy_of_the_weights(encoder, speech_mel):
    """The weights go to ONNX Runtime as shared arrays, not copied into each graph: a deeper
    session reuses the shallower one's, and the states are those of a graph that holds them."""
    import onnxruntime as ort

    shared = OnnxWhisperEncoder(encoder, threads=1)
    got2 = shared.forward(speech_mel, layers=[1])[1]
    values = dict(shared._shared_values)
    assert "layer_0.ffn_in.weight" in values and "layer_2.ffn_in.weight" not in values
    got4 = shared.forward(speech_mel, layers=[3])[3]
    assert all(shared._shared_values[name] is value for name, value in values.items())
    assert "layer_3.ffn_in.weight" in shared._shared_values
    assert shared._shared["layer_0.ffn_in.weight"] is encoder.blocks[0].ffn_in.weight  # no copy at all
    # A graph holding its own weights (inline initializers) gives the very same states.
    inline = build_encoder_graph(encoder, 4)
    arrays: dict = {}
    outside = build_encoder_graph(encoder, 4, shared=arrays, check=False)
    inline_bytes = sum(len(t.raw_data) + 4 * len(t.float_data) for t in inline.graph.initializer)
    outside_bytes = sum(len(t.raw_data) + 4 * len(t.float_data) for t in outside.graph.initializer)
    assert inline_bytes > 50e6 and outside_bytes < 1e6 and sum(a.nbytes for a in arrays.values()) > 50e6
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(inline.SerializeToString(), options, providers=["CPUExecutionProvider"])
    want = session.run(["state_1", "state_3"], {"mel": speech_mel[None].astype(np.float32)})
    np.testing.assert_allclose(got2, want[0][0], rtol=0, atol=1e-5)
    np.testing.assert_allclose(got4, want[1][0], rtol=0, atol=1e-5)
