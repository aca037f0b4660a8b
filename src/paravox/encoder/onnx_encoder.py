"""The Whisper encoder's blocks through ONNX Runtime, built at run time from the NumPy weights.

:class:`~paravox.encoder.numpy_encoder.WhisperEncoder` runs the encoder in float32 NumPy so
that every block's output is reachable. This module expresses the same computation as an
ONNX graph (built in memory with ``onnx.helper`` from the weights that encoder holds; no
``.onnx`` file is shipped) and runs it with ONNX Runtime's CPU provider, which fuses the
layer norms, GELUs and attention and uses the CPU's wide vector units. The graph is:

``mel (B, 80, T)`` -> ``Conv`` (k 3, pad 1) + ``Gelu`` -> ``Conv`` (k 3, stride 2, pad 1) +
``Gelu`` -> transpose to ``(B, T', 512)`` + the first ``T'`` position encodings -> blocks
``x += attn(ln(x)); x += ffn(ln(x))`` (``LayerNormalization``, ``com.microsoft.Attention``
with the fused q|k|v projection, ``MatMul`` + ``Add``, ``Gelu``), with one graph output per
block (``state_0`` .. ``state_{N-1}``) and, when every block is built, ``final`` (after the
final layer norm).

One graph is built per depth ``N`` (the deepest block requested) and one session is cached
per ``(depth, threads, silence_after)``. Building a session takes a fraction of a second; the
first :meth:`OnnxWhisperEncoder.forward` call of each depth pays it. The weights (12.6 MB per
block plus 6.7 MB for the convolutions and position table in float32) are not copied into the
graphs: they reach ONNX Runtime as external initializers over the NumPy encoder's own arrays,
one copy for every session. The event models' three sessions (depths 2 and 4, and 4 with the
silent window) used to hold a copy each, and building each one briefly held three or four
more (the graph, its bytes, the runtime's); a worker's peak fell from 1066 to 804 MB
(``benchmarks/experiments/worker_memory.py``, docs/benchmarks.md).

Float32 agrees with the NumPy forward pass to a max relative error (largest difference
over largest magnitude) of 1e-5 or less per layer on real speech (``tests/test_encoder_onnx.py``).
Speeds against NumPy and CTranslate2: ``benchmarks/encoder_speed.py``.

Example:
    >>> import numpy as np
    >>> from paravox.encoder.numpy_encoder import log_mel
    >>> encoder = OnnxWhisperEncoder.load(threads=2)             # doctest: +SKIP
    >>> mel = log_mel(np.zeros(16000, dtype=np.float32))         # doctest: +SKIP
    >>> states = encoder.forward(mel, layers=[0, 3])             # doctest: +SKIP
    >>> {k: v.shape for k, v in states.items()}                  # doctest: +SKIP
    {0: (50, 512), 3: (50, 512)}
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

import numpy as np

from paravox.encoder.numpy_encoder import FINAL, WhisperEncoder, check_forward_args

__all__ = ["OnnxWhisperEncoder", "build_encoder_graph"]

_OPSET = 17  # LayerNormalization arrived in opset 17
_MS_DOMAIN = "com.microsoft"
_LN_EPS = 1e-5
_INPUT = "mel"
_FINAL_OUTPUT = "final"


def _onnx():
    try:
        import onnx
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise ImportError("the ONNX Runtime encoder needs the onnx package: pip install 'onnx>=1.16'") from exc
    return onnx


def _onnxruntime():
    try:
        import onnxruntime
    except ImportError as exc:  # pragma: no cover - installed with faster-whisper
        raise ImportError("the ONNX Runtime encoder needs onnxruntime: pip install onnxruntime") from exc
    return onnxruntime


def _conv_weight(im2col: np.ndarray, channels_in: int) -> np.ndarray:
    """Undo :func:`~paravox.encoder.numpy_encoder._im2col_weight`: (k*C_in, C_out) -> (C_out, C_in, k)."""
    taps = im2col.shape[0] // channels_in
    return np.ascontiguousarray(im2col.reshape(taps, channels_in, -1).transpose(2, 1, 0))


#: Initializers with at least this many values are handed to ONNX Runtime as shared arrays
#: (``build_encoder_graph(..., shared=...)``) rather than copied into each graph.
_SHARED_MIN_VALUES = 4096


def build_encoder_graph(encoder: WhisperEncoder, depth: int,
                        silence: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
                        shared: dict[str, np.ndarray] | None = None, check: bool = True):
    """The ONNX ``ModelProto`` of ``encoder``'s stem and its first ``depth`` blocks.

    Input ``mel``: float32 ``(B, n_mels, T)``, B and T dynamic (T <= ``encoder.max_frames``).
    Outputs ``state_0`` .. ``state_{depth-1}``: float32 ``(B, ceil(T/2), width)``, the state
    after each block; when ``depth == encoder.num_layers`` also ``final``, after the final
    layer norm. The weights are copied into the graph as float32 initializers.

    Each block's q|k|v projection and attention is one ``com.microsoft.Attention`` node; GELU
    is ``com.microsoft.Gelu`` (exact erf form).

    ``silence`` (one ``(keys, values)`` pair per block, each ``(heads, positions, head_dim)``,
    from :meth:`WhisperEncoder.silence_keys_values`) builds the ``padded_fast`` graph: in
    every block the input's positions ``0..S-1`` also attend to the silent window's keys and
    values at positions ``S`` onwards, as they would at the start of a zero-padded 30-s
    window, but the window's own states are not recomputed (they are those of silence alone;
    the input does not reach them). Attention is then spelled out in standard ops
    (``MatMul``, ``Softmax``, ...), since the contrib node cannot take the extra keys.

    ``shared`` (a dict, filled here): every initializer of at least ``_SHARED_MIN_VALUES``
    values is left out of the graph (declared with its shape and an external-data reference,
    no bytes) and put in ``shared`` by name instead, for ``SessionOptions.add_initializer``;
    the same name always holds the same values, so sessions of several depths share one copy
    (:meth:`OnnxWhisperEncoder.session`). ``check``: run ``onnx.checker`` (not possible on
    such a graph, whose data lie outside it).
    """
    if silence is not None and len(silence) < depth:
        raise ValueError(f"silence holds {len(silence)} blocks' keys and values; the graph has {depth}")
    onnx = _onnx()
    from onnx import TensorProto, helper, numpy_helper

    if not 1 <= depth <= encoder.num_layers:
        raise ValueError(f"depth {depth} is out of range; the encoder has {encoder.num_layers} blocks")
    width, heads = encoder.width, encoder.num_heads
    nodes: list = []
    initializers: list = []
    weights: list = []  # shared: graph inputs that SessionOptions.add_initializer fills

    def const(name: str, value: np.ndarray) -> str:
        value = np.ascontiguousarray(value)
        if shared is not None and value.size >= _SHARED_MIN_VALUES:
            shared[name] = value
            proto = TensorProto(name=name, data_type=helper.np_dtype_to_tensor_dtype(value.dtype), dims=value.shape)
            proto.data_location = TensorProto.EXTERNAL
            for key, text in (("location", "paravox-shared"), ("offset", "0"), ("length", str(value.nbytes))):
                entry = proto.external_data.add()
                entry.key, entry.value = key, text
            initializers.append(proto)
        else:
            initializers.append(numpy_helper.from_array(value, name))
        return name

    def node(op: str, inputs: list[str], output: str, domain: str = "", **attrs) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=output, domain=domain, **attrs))
        return output

    def linear(x: str, name: str, weight: np.ndarray, bias: np.ndarray | None) -> str:
        y = node("MatMul", [x, const(f"{name}.weight", weight)], f"{name}.matmul")
        if bias is not None:
            y = node("Add", [y, const(f"{name}.bias", bias)], f"{name}.out")
        return y

    def layer_norm(x: str, name: str, gamma: np.ndarray, beta: np.ndarray, output: str | None = None) -> str:
        return node(
            "LayerNormalization",
            [x, const(f"{name}.gamma", gamma), const(f"{name}.beta", beta)],
            output or f"{name}.out",
            axis=-1,
            epsilon=_LN_EPS,
        )

    # Stem: the convolutions run channels-first on the mel as given.
    x = _INPUT
    for index, (weight, bias) in enumerate((encoder._conv1, encoder._conv2), start=1):
        channels_in = encoder.n_mels if index == 1 else width
        w = const(f"conv{index}.weight", _conv_weight(weight, channels_in))
        inputs = [x, w] if bias is None else [x, w, const(f"conv{index}.bias", bias)]
        taps = weight.shape[0] // channels_in
        x = node("Conv", inputs, f"conv{index}.out", pads=[taps // 2, taps // 2], strides=[index])
        x = node("Gelu", [x], f"conv{index}.gelu", domain=_MS_DOMAIN)
    x = node("Transpose", [x], "stem.time_major", perm=[0, 2, 1])  # (B, T', W)
    # positions[:T'], T' read from the tensor's shape at run time.
    steps = node("Shape", [x], "stem.steps", start=1, end=2)
    zero = const("stem.zero", np.zeros(1, dtype=np.int64))
    positions = node("Slice", [const("positions", encoder._positions), zero, steps], "stem.positions")
    x = node("Add", [x, positions], "stem.out")
    if silence is not None:  # (B, 1, 1, 1): broadcasts the silent window's tail over the batch
        batch = node("Shape", [x], "stem.batch", start=0, end=1)
        ones = const("stem.ones3", np.ones(3, np.int64))
        batch_shape = node("Concat", [batch, ones], "stem.batch_shape", axis=0)
        two = const("stem.axis2", np.array([2], np.int64))
        end = const("stem.silence_end", np.array([silence[0][0].shape[1]], np.int64))

    outputs = []
    for index, block in enumerate(encoder.blocks[:depth]):
        name = f"layer_{index}"
        h = layer_norm(x, f"{name}.attn_norm", *block.attn_norm)
        qkv_bias = block.qkv.bias if block.qkv.bias is not None else np.zeros(3 * width, np.float32)
        if silence is None:
            h = node(
                "Attention",
                [h, const(f"{name}.qkv.weight", block.qkv.weight), const(f"{name}.qkv.bias", qkv_bias)],
                f"{name}.attention",
                domain=_MS_DOMAIN,
                num_heads=heads,
            )
        else:  # standard ops: (B, S, 3W) -> (3, B, H, S, d) -> softmax(q k^T / sqrt(d)) v
            h = linear(h, f"{name}.qkv", block.qkv.weight, qkv_bias)
            split = const(f"{name}.split_shape", np.array([0, 0, 3, heads, width // heads], np.int64))
            h = node("Reshape", [h, split], f"{name}.qkv_split")
            h = node("Transpose", [h], f"{name}.qkv_heads", perm=[2, 0, 3, 1, 4])
            parts = [f"{name}.{part}_1" for part in "qkv"]  # (1, B, H, S, d) each
            nodes.append(helper.make_node("Split", [h], parts, name=f"{name}.split", axis=0))
            axis0 = const(f"{name}.axis0", np.zeros(1, np.int64))
            q, k, v = (node("Squeeze", [part, axis0], part[:-2]) for part in parts)
            if silence is not None:  # keys and values of positions S.. of the silent window
                tails = []
                for part, value in zip("kv", silence[index]):
                    tail = node("Slice", [const(f"{name}.silence_{part}", value[None]), steps, end, two],
                                f"{name}.silence_{part}_tail")
                    tails.append(node("Expand", [tail, batch_shape], f"{name}.silence_{part}_batch"))
                k = node("Concat", [k, tails[0]], f"{name}.k_padded", axis=2)
                v = node("Concat", [v, tails[1]], f"{name}.v_padded", axis=2)
            scale = const(f"{name}.scale", np.array((width // heads) ** -0.5, np.float32))
            q = node("Mul", [q, scale], f"{name}.q_scaled")
            k = node("Transpose", [k], f"{name}.k_t", perm=[0, 1, 3, 2])
            h = node("MatMul", [q, k], f"{name}.scores")
            h = node("Softmax", [h], f"{name}.probs", axis=-1)
            h = node("MatMul", [h, v], f"{name}.context_heads")
            h = node("Transpose", [h], f"{name}.context_t", perm=[0, 2, 1, 3])
            merge = const(f"{name}.merge_shape", np.array([0, 0, width], np.int64))
            h = node("Reshape", [h, merge], f"{name}.context")
        h = linear(h, f"{name}.attn_out", block.out.weight, block.out.bias)
        x = node("Add", [x, h], f"{name}.attn_residual")
        h = layer_norm(x, f"{name}.ffn_norm", *block.ffn_norm)
        h = linear(h, f"{name}.ffn_in", block.ffn_in.weight, block.ffn_in.bias)
        h = node("Gelu", [h], f"{name}.ffn_gelu", domain=_MS_DOMAIN)
        h = linear(h, f"{name}.ffn_out", block.ffn_out.weight, block.ffn_out.bias)
        x = node("Add", [x, h], f"state_{index}")
        outputs.append(x)
    if depth == encoder.num_layers:
        outputs.append(layer_norm(x, "final_norm", *encoder._final_norm, output=_FINAL_OUTPUT))

    graph = helper.make_graph(
        nodes,
        f"whisper_encoder_{depth}",
        [helper.make_tensor_value_info(_INPUT, TensorProto.FLOAT, ["batch", encoder.n_mels, "frames"]), *weights],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", "steps", width]) for name in outputs],
        initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", _OPSET), helper.make_opsetid(_MS_DOMAIN, 1)],
        producer_name="paravox",
    )
    model.ir_version = min(model.ir_version, 10)  # readable by older onnxruntime builds too
    if check and shared is None:
        onnx.checker.check_model(model)
    return model


class OnnxWhisperEncoder:
    """The Whisper encoder's blocks through ONNX Runtime, same contract as ``WhisperEncoder.forward``.

    Build it from a :class:`~paravox.encoder.numpy_encoder.WhisperEncoder` (its weights are
    shared, not copied, until a graph is built) or with :meth:`load`. ``threads`` is ONNX
    Runtime's ``intra_op_num_threads`` (0: its default, one per physical core).
    """

    def __init__(self, encoder: WhisperEncoder, *, threads: int = 0):
        if not isinstance(encoder, WhisperEncoder):
            raise TypeError(f"encoder must be a WhisperEncoder, not {type(encoder).__name__}")
        if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 0:
            raise ValueError(f"threads must be an integer >= 0 (0: onnxruntime's default); got {threads!r}")
        self.encoder = encoder
        self.threads = int(threads)
        self._sessions: dict[tuple[int, int, bool], object] = {}
        #: the large weights every session reads, one copy (name -> array, and its OrtValue)
        self._shared: dict[str, np.ndarray] = {}
        self._shared_values: dict[str, object] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: str | os.PathLike | None = None, **options) -> OnnxWhisperEncoder:
        """Load the weights like :meth:`WhisperEncoder.load` (default: the offline Whisper-base model).

        ``options`` are those of the constructor (``threads``).
        """
        return cls(WhisperEncoder.load(path), **options)

    @property
    def num_layers(self) -> int:
        return self.encoder.num_layers

    @property
    def max_frames(self) -> int:
        """Longest input in mel frames (3000, i.e. 30 s, for Whisper)."""
        return self.encoder.max_frames

    def session(self, depth: int, silence_after: bool = False):
        """The ``onnxruntime.InferenceSession`` computing blocks ``0..depth-1`` (built on first use);
        ``silence_after``: the ``padded_fast`` graph (see :meth:`forward`)."""
        key = (int(depth), self.threads, bool(silence_after))
        with self._lock:
            if key not in self._sessions:
                ort = _onnxruntime()
                silence = self.encoder.silence_keys_values(depth) if silence_after else None
                arrays: dict[str, np.ndarray] = {}
                model = build_encoder_graph(self.encoder, depth, silence=silence, shared=arrays, check=False)
                del silence
                data = model.SerializeToString()
                del model
                options = ort.SessionOptions()
                # The weights are not in the graph: each session reads the one shared copy (a
                # name always holds the same values, whatever the depth; the silence graph's
                # keys and values are its own).
                for name, array in arrays.items():
                    if name not in self._shared_values:
                        self._shared[name] = array
                        self._shared_values[name] = ort.OrtValue.ortvalue_from_numpy(array)
                options.add_external_initializers(list(arrays), [self._shared_values[name] for name in arrays])
                options.intra_op_num_threads = self.threads
                options.inter_op_num_threads = 1
                options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                # Idle threads sleep instead of spinning: the encoder runs between CTranslate2's
                # decodes in the same process, and spinning threads would take their cores.
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                self._sessions[key] = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
            return self._sessions[key]

    def forward(self, mel: np.ndarray, layers: Sequence[int] | None = None, *,
                silence_after: bool = False) -> dict[int, np.ndarray]:
        """Hidden states after the requested blocks, as :meth:`WhisperEncoder.forward` returns them.

        ``mel`` is ``(n_mels, T)`` or ``(B, n_mels, T)`` log-mel features, 1 <= T <=
        :attr:`max_frames`. ``layers`` holds block indices ``0..num_layers-1`` and/or
        :data:`~paravox.encoder.numpy_encoder.FINAL` (``-1``, after the final layer norm);
        ``None`` means all of them. Blocks after the deepest one requested are not computed.

        ``silence_after=True`` approximates the states the input would have at the start of a
        zero-padded 30-s window (``log_mel(..., pad_to_30s=True)``) at a fraction of that
        window's cost (1.4 times the input alone for a 3-s clip, ``benchmarks/encoder_speed.py``;
        the window costs 11 times as much): each block's attention also reads the keys and values of a window of
        silence (:meth:`WhisperEncoder.silence_keys_values`, computed once) at the positions
        after the input. Only the padding's own states are approximated (by silence's, which do
        not react to the input), so the error grows with depth: on a RAVDESS sentence block 0
        is within 3 % (``||a - b|| / ||b||``) of the padded window's states, and blocks 0-2
        are closer to them than the unpadded input's are (``tests/test_encoder_onnx.py``).
        On silence, and on a full 30-s input, it is exact.

        Returns ``{layer: float32 array}`` in the order given, each ``(ceil(T/2), width)``, or
        ``(B, ceil(T/2), width)`` for batched input.
        """
        num_layers = self.num_layers
        n_mels = self.encoder.n_mels
        wanted, mel, batched = check_forward_args(mel, layers, num_layers, n_mels, self.max_frames)
        frames = mel.shape[-1]

        depth = num_layers if FINAL in wanted else max(wanted) + 1
        names = [_FINAL_OUTPUT if layer == FINAL else f"state_{layer}" for layer in wanted]
        x = np.ascontiguousarray(mel.reshape(-1, n_mels, frames), dtype=np.float32)
        results = self.session(depth, silence_after).run(names, {_INPUT: x})
        return {layer: out if batched else out[0] for layer, out in zip(wanted, results)}

    __call__ = forward


_CONFIGURED_THREADS = 0


def set_runtime_threads(threads: int | None) -> None:
    """Threads for the shared encoder from now on, for the whole process (an
    :class:`~paravox.analyzer.Analyzer` with ``threads=N`` sets it; ``--threads`` on the
    command line). 0 or None goes back to :func:`runtime_threads`'s default."""
    global _CONFIGURED_THREADS
    if threads is not None and int(threads) < 0:
        raise ValueError(f"threads must be >= 0, got {threads}")
    _CONFIGURED_THREADS = int(threads or 0)


def runtime_threads() -> int:
    """Threads for the shared encoder: those set by :func:`set_runtime_threads`, else
    ``OMP_NUM_THREADS`` when set (``paravox batch`` sets it per worker), else 0 (ONNX
    Runtime's default, one per physical core)."""
    if _CONFIGURED_THREADS:
        return _CONFIGURED_THREADS
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else 0


_SHARED: dict[int, OnnxWhisperEncoder] = {}
_SHARED_LOCK = threading.Lock()


def shared_encoder() -> OnnxWhisperEncoder:
    """The offline Whisper-base encoder through ONNX Runtime (float32), one per process.

    The vocal-event and emotion heads both read it, so its weights are loaded once.

    >>> shared_encoder() is shared_encoder()   # doctest: +SKIP
    True
    """
    threads = runtime_threads()
    with _SHARED_LOCK:
        if threads not in _SHARED:
            _SHARED[threads] = OnnxWhisperEncoder.load(threads=threads)
        return _SHARED[threads]
