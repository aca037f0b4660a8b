"""Every layer of the Whisper-base encoder, in plain NumPy (no torch, no CTranslate2).

CTranslate2's ``encode`` only returns the encoder's final output, but emotion and vocal
events are carried best by the early and middle blocks. This module reads the encoder's
weights straight from the CTranslate2 ``model.bin`` (see :func:`read_ctranslate2_variables`
for the layout) and runs the same computation in float32 NumPy, returning the hidden
states after any of the six blocks. It matches CTranslate2's float32 ``encode`` to a
relative error of about 1e-4 (checked in ``tests/test_whisper_encoder.py``); its speed
against CTranslate2's int8 encoder is measured by ``benchmarks/encoder_speed.py``.

The architecture (Whisper base: width 512, 8 heads, FFN 2048, 6 pre-norm blocks):
``conv1`` (k 3, stride 1, pad 1) + GELU, ``conv2`` (k 3, stride 2, pad 1) + GELU,
+ sinusoidal position encodings, blocks ``x += attn(ln(x)); x += ffn(ln(x))``, final
layer norm. GELU is the exact (erf) form, layer-norm epsilon 1e-5.

Framing matters: the states of a short, unpadded input are not those of the same audio
inside faster-whisper's zero-padded 30-s window (attention sees the padding). Features
for training a head and for running it must come from the same :func:`log_mel` framing.

Example:
    >>> import numpy as np
    >>> encoder = WhisperEncoder.load()                          # doctest: +SKIP
    >>> mel = log_mel(np.zeros(16000, dtype=np.float32))         # doctest: +SKIP
    >>> mel.shape                                                # doctest: +SKIP
    (80, 100)
    >>> states = encoder.forward(mel, layers=[2, FINAL])         # doctest: +SKIP
    >>> {k: v.shape for k, v in states.items()}                  # doctest: +SKIP
    {2: (50, 512), -1: (50, 512)}
    >>> pooled_features(states[2]).shape                         # doctest: +SKIP
    (1024,)
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from paravox.encoder.files import ModelFilesError, ensure_whisper_base

__all__ = ["FINAL", "WhisperEncoder", "log_mel", "pooled_features", "read_ctranslate2_variables"]

#: Key of the encoder output after the final layer norm (what CTranslate2's ``encode`` returns).
FINAL = -1

#: The only serialisation version this reader understands (``CURRENT_BINARY_VERSION``
#: in ``ctranslate2/specs/model_spec.py``).
BINARY_VERSION = 6

# Type ids written by ctranslate2.specs.model_spec._dtype_to_type_id.
_DTYPES: dict[int, np.dtype] = {
    0: np.dtype("<f4"),
    1: np.dtype("i1"),
    2: np.dtype("<i2"),
    3: np.dtype("<i4"),
    4: np.dtype("<f2"),
    5: np.dtype("<u2"),  # bfloat16: read as raw 16-bit words, widened to float32 below
}
_BFLOAT16 = 5
_MAX_RANK = 8
_LN_EPS = 1e-5
_HOP = 160  # samples per mel frame at 16 kHz
_MAX_FRAMES = 3000  # 30 s; the position table has 1500 rows after the stride-2 conv


# --------------------------------------------------------------------------- model.bin


@dataclass(frozen=True)
class _Entry:
    offset: int
    shape: tuple[int, ...]
    type_id: int
    num_bytes: int


class _Reader:
    """Little-endian reads that turn a short or implausible file into ModelFilesError."""

    def __init__(self, f, path: Path, size: int):
        self.f, self.path, self.size = f, path, size

    def fail(self, what: str) -> ModelFilesError:
        return ModelFilesError(
            f"{self.path} is not a CTranslate2 model file this reader understands ({what}); "
            "if it is the Whisper-base model, delete it so that ensure_whisper_base() rebuilds it"
        )

    def take(self, n: int, what: str) -> bytes:
        data = self.f.read(n)
        if len(data) != n:
            raise self.fail(f"file ends inside {what} at byte {self.f.tell():,}")
        return data

    def u8(self, what: str) -> int:
        return self.take(1, what)[0]

    def u32(self, what: str) -> int:
        return struct.unpack("<I", self.take(4, what))[0]

    def string(self, what: str) -> str:
        (length,) = struct.unpack("<H", self.take(2, what))
        raw = self.take(length, what)
        if length == 0 or raw[-1] != 0:
            raise self.fail(f"{what} is not a NUL-terminated string")
        try:
            return raw[:-1].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self.fail(f"{what} is not UTF-8") from exc


def _index(path: Path) -> tuple[str, int, dict[str, _Entry], dict[str, str]]:
    """Walk the file once without reading any weights: spec name, revision, variables, aliases."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        r = _Reader(f, path, size)
        version = r.u32("the version header")
        if version != BINARY_VERSION:
            raise r.fail(f"binary version {version}, expected {BINARY_VERSION}")
        spec = r.string("the spec name")
        revision = r.u32("the spec revision")
        count = r.u32("the variable count")
        entries: dict[str, _Entry] = {}
        for i in range(count):
            name = r.string(f"the name of variable {i}")
            rank = r.u8(f"the rank of {name}")
            if rank > _MAX_RANK:
                raise r.fail(f"{name} has rank {rank}")
            shape = struct.unpack(f"<{rank}I", r.take(4 * rank, f"the shape of {name}"))
            type_id = r.u8(f"the dtype of {name}")
            if type_id not in _DTYPES:
                raise r.fail(f"{name} has unknown dtype id {type_id}")
            num_bytes = r.u32(f"the byte count of {name}")
            if num_bytes != int(np.prod(shape, dtype=np.int64)) * _DTYPES[type_id].itemsize:
                raise r.fail(f"{name} has {num_bytes:,} bytes for shape {list(shape)}")
            offset = f.tell()
            if offset + num_bytes > size:
                raise r.fail(f"file ends inside the data of {name}")
            entries[name] = _Entry(offset, shape, type_id, num_bytes)
            f.seek(num_bytes, os.SEEK_CUR)
        aliases: dict[str, str] = {}
        for i in range(r.u32("the alias count")):
            alias = r.string(f"the name of alias {i}")
            target = r.string(f"the target of alias {alias}")
            if target not in entries:
                raise r.fail(f"alias {alias} points to missing variable {target}")
            aliases[alias] = target
        if f.tell() != size:
            raise r.fail(f"{size - f.tell():,} unexpected bytes after the aliases")
    return spec, revision, entries, aliases


def _load(f, entry: _Entry) -> np.ndarray:
    array = np.empty(entry.shape, dtype=_DTYPES[entry.type_id])
    f.seek(entry.offset)
    f.readinto(memoryview(array.reshape(-1)).cast("B"))
    if entry.type_id == _BFLOAT16:
        array = (array.astype(np.uint32) << 16).view(np.float32)
    return array


def read_ctranslate2_variables(path: str | os.PathLike, prefix: str = "encoder/") -> dict[str, np.ndarray]:
    """Read the variables whose name starts with ``prefix`` from a CTranslate2 ``model.bin``.

    ``path`` is the ``model.bin`` file or the model folder. Other variables are skipped
    with seeks, never read. Arrays keep their stored dtype (float16 stays float16: the
    Whisper-base weights take half the memory that way; cast as needed), except bfloat16,
    which NumPy lacks and is widened to float32. Scalars come back as 0-d arrays.

    The layout, as written by ``ModelSpec._serialize`` in ``ctranslate2/specs/model_spec.py``
    (binary version 6; all integers little-endian; a *string* is a uint16 length that counts
    a trailing NUL, then the UTF-8 bytes and the NUL)::

        uint32 version (6) | string spec name | uint32 revision | uint32 variable count
        per variable: string name | uint8 rank | uint32 dim x rank | uint8 dtype id
                      (0 float32, 1 int8, 2 int16, 3 int32, 4 float16, 5 bfloat16)
                      | uint32 byte count | raw bytes, C order
        uint32 alias count | per alias: string alias | string target variable

    An alias whose name matches ``prefix`` is returned under its own name with the
    target's data. Raises :class:`~paravox.encoder.files.ModelFilesError` if the file
    has another version, is truncated, or is otherwise inconsistent.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "model.bin"
    if not path.is_file():
        raise ModelFilesError(f"{path} does not exist")
    _, _, entries, aliases = _index(path)
    wanted = {name: name for name in entries if name.startswith(prefix)}
    wanted.update({alias: target for alias, target in aliases.items() if alias.startswith(prefix)})
    out: dict[str, np.ndarray] = {}
    loaded: dict[str, np.ndarray] = {}
    with open(path, "rb") as f:
        for name, target in sorted(wanted.items(), key=lambda item: entries[item[1]].offset):
            if target not in loaded:
                loaded[target] = _load(f, entries[target])
            out[name] = loaded[target]
    return out


# --------------------------------------------------------------------------- maths


def _erf(x: np.ndarray) -> np.ndarray:
    """erf in float32 NumPy (Abramowitz & Stegun 7.1.26; absolute error below 5e-7 in float32).

    Computed in place on two buffers (a third of the time of the plain expression, with the
    same operations in the same order, so the same bits).
    """
    a = np.abs(x)
    t = np.float32(0.3275911) * a
    t += np.float32(1.0)
    np.reciprocal(t, out=t)
    poly = np.float32(1.061405429) * t
    for coefficient in (-1.453152027, 1.421413741, -0.284496736):
        poly += np.float32(coefficient)
        poly *= t
    poly += np.float32(0.254829592)
    poly *= t
    np.multiply(a, a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    poly *= a
    np.subtract(np.float32(1.0), poly, out=poly)
    poly *= np.sign(x)
    return poly


def _gelu(x: np.ndarray) -> np.ndarray:
    out = _erf(x * np.float32(0.7071067811865476))
    out += np.float32(1.0)
    out *= x
    out *= np.float32(0.5)
    return out


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = np.mean(centred * centred, axis=-1, keepdims=True)
    return centred / np.sqrt(var + np.float32(_LN_EPS)) * gamma + beta


def _conv1d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, stride: int) -> np.ndarray:
    """Conv1d, kernel k, padding k//2, on time-major ``x`` (B, T, C_in) by one im2col matmul.

    ``weight`` is pre-arranged as (k * C_in, C_out) with row index ``tap * C_in + c_in``.
    """
    batch, frames, channels = x.shape
    taps = weight.shape[0] // channels
    pad = taps // 2
    padded = np.pad(x, ((0, 0), (pad, pad), (0, 0)))
    out_frames = (frames + 2 * pad - taps) // stride + 1
    span = stride * (out_frames - 1) + 1
    cols = np.concatenate([padded[:, k : k + span : stride] for k in range(taps)], axis=-1)
    y = cols.reshape(batch * out_frames, taps * channels) @ weight
    if bias is not None:
        y += bias
    return y.reshape(batch, out_frames, -1)


def _im2col_weight(weight: np.ndarray) -> np.ndarray:
    """Conv weight (C_out, C_in, k) -> (k * C_in, C_out), the layout :func:`_conv1d` takes."""
    return np.ascontiguousarray(weight.transpose(2, 1, 0).reshape(-1, weight.shape[0]))


def check_forward_args(
    mel: np.ndarray, layers: Sequence[int] | None, num_layers: int, n_mels: int, max_frames: int
) -> tuple[list[int], np.ndarray, bool]:
    """Validate an encoder ``forward`` call: ``(layers wanted, mel as an array, batched?)``.

    Raises ``ValueError`` naming what is wrong (unknown layer, wrong shape, too long, empty).
    """
    wanted = list(range(num_layers)) + [FINAL] if layers is None else list(dict.fromkeys(layers))
    if not wanted:
        raise ValueError("layers is empty; pass None for all layers")
    for layer in wanted:
        if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or not (
            layer == FINAL or 0 <= layer < num_layers
        ):
            raise ValueError(f"layer {layer!r} does not exist; use 0..{num_layers - 1} or FINAL (-1)")
    mel = np.asarray(mel)
    if mel.ndim not in (2, 3) or mel.shape[-2] != n_mels:
        raise ValueError(f"mel must be ({n_mels}, T) or (B, {n_mels}, T); got shape {mel.shape}")
    frames = mel.shape[-1]
    if not 1 <= frames <= max_frames:
        raise ValueError(
            f"mel has {frames} frames; the encoder takes 1 to {max_frames} "
            f"({max_frames * _HOP / 16000:g} s): split longer audio into windows"
        )
    if not mel.size:
        raise ValueError(f"mel has shape {mel.shape}: an empty batch")
    return [int(layer) for layer in wanted], mel, mel.ndim == 3


# --------------------------------------------------------------------------- encoder


@dataclass(frozen=True)
class _Linear:
    weight: np.ndarray  # (in, out), float32, contiguous: y = x @ weight + bias
    bias: np.ndarray | None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y = x @ self.weight
        if self.bias is not None:
            y += self.bias
        return y


@dataclass(frozen=True)
class _Block:
    attn_norm: tuple[np.ndarray, np.ndarray]
    qkv: _Linear
    out: _Linear
    ffn_norm: tuple[np.ndarray, np.ndarray]
    ffn_in: _Linear
    ffn_out: _Linear


class WhisperEncoder:
    """The Whisper encoder in float32 NumPy, with every block's output reachable.

    Build it with :meth:`load` (the offline Whisper-base model by default) or from a
    mapping of CTranslate2 variable names (``encoder/...``, as returned by
    :func:`read_ctranslate2_variables`) to arrays.
    """

    def __init__(self, variables: Mapping[str, np.ndarray], *, source: str = "<variables>"):
        def get(name: str, shape: tuple[int, ...] | None = None, required: bool = True) -> np.ndarray | None:
            key = "encoder/" + name
            if key not in variables:
                if required:
                    raise ModelFilesError(f"{source} has no variable {key}; it is not a Whisper encoder")
                return None
            value = np.asarray(variables[key])
            if shape is not None and value.shape != shape:
                raise ModelFilesError(f"{source}: {key} has shape {list(value.shape)}, expected {list(shape)}")
            return value.astype(np.float32)

        def linear(name: str, n_in: int, n_out: int) -> _Linear:
            weight = get(f"{name}/weight", (n_out, n_in))
            return _Linear(np.ascontiguousarray(weight.T), get(f"{name}/bias", (n_out,), required=False))

        def norm(name: str) -> tuple[np.ndarray, np.ndarray]:
            return get(f"{name}/gamma", (self.width,)), get(f"{name}/beta", (self.width,))

        conv1 = get("conv1/weight")
        if conv1.ndim != 3:
            raise ModelFilesError(f"{source}: encoder/conv1/weight has shape {list(conv1.shape)}")
        self.width, self.n_mels, taps = conv1.shape
        conv2 = get("conv2/weight", (self.width, self.width, taps))
        self._conv1 = (_im2col_weight(conv1), get("conv1/bias", (self.width,), required=False))
        self._conv2 = (_im2col_weight(conv2), get("conv2/bias", (self.width,), required=False))
        self._positions = get("position_encodings/encodings")
        if self._positions.ndim != 2 or self._positions.shape[1] != self.width:
            shape = list(self._positions.shape)
            raise ModelFilesError(f"{source}: encoder/position_encodings/encodings has shape {shape}")
        heads = variables.get("encoder/num_heads")
        self.num_heads = int(np.asarray(heads)) if heads is not None else 8
        if self.width % self.num_heads:
            raise ModelFilesError(f"{source}: width {self.width} is not divisible by {self.num_heads} heads")

        indices = sorted({int(m.group(1)) for k in variables if (m := re.match(r"encoder/layer_(\d+)/", k))})
        if not indices or indices != list(range(len(indices))):
            raise ModelFilesError(f"{source}: encoder layers {indices} are not numbered 0..N-1")
        ffn = get("layer_0/ffn/linear_0/weight").shape[0]
        self.blocks: list[_Block] = [
            _Block(
                attn_norm=norm(f"layer_{i}/self_attention/layer_norm"),
                qkv=linear(f"layer_{i}/self_attention/linear_0", self.width, 3 * self.width),
                out=linear(f"layer_{i}/self_attention/linear_1", self.width, self.width),
                ffn_norm=norm(f"layer_{i}/ffn/layer_norm"),
                ffn_in=linear(f"layer_{i}/ffn/linear_0", self.width, ffn),
                ffn_out=linear(f"layer_{i}/ffn/linear_1", ffn, self.width),
            )
            for i in indices
        ]
        self._final_norm = norm("layer_norm")
        self.source = source

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> WhisperEncoder:
        """Load the encoder from a CTranslate2 Whisper ``model.bin`` (file or folder).

        Default: the offline Whisper-base model from :func:`ensure_whisper_base`.
        """
        path = Path(path) if path is not None else ensure_whisper_base()
        return cls(read_ctranslate2_variables(path, prefix="encoder/"), source=str(path))

    @property
    def num_layers(self) -> int:
        return len(self.blocks)

    @property
    def max_frames(self) -> int:
        """Longest input in mel frames (2 per position encoding: 3000, i.e. 30 s, for Whisper)."""
        return 2 * self._positions.shape[0]

    def forward(self, mel: np.ndarray, layers: Sequence[int] | None = None) -> dict[int, np.ndarray]:
        """Hidden states after the requested blocks.

        ``mel`` is ``(n_mels, T)`` or ``(B, n_mels, T)`` log-mel features (see :func:`log_mel`),
        1 <= T <= :attr:`max_frames`. ``layers`` holds block indices ``0..num_layers-1``
        (outputs of that block, before the final layer norm) and/or :data:`FINAL` (``-1``:
        after the final layer norm, what CTranslate2's ``encode`` returns); ``None`` means
        all of them. Blocks after the deepest one requested are not computed.

        Returns ``{layer: float32 array}`` in the order given, each ``(ceil(T/2), width)``, or
        ``(B, ceil(T/2), width)`` for batched input.
        """
        wanted, mel, batched = check_forward_args(mel, layers, self.num_layers, self.n_mels, self.max_frames)
        x = self._stem(mel.reshape(-1, self.n_mels, mel.shape[-1]))

        last = self.num_layers - 1 if FINAL in wanted else max(wanted)
        states: dict[int, np.ndarray] = {}
        for index, block in enumerate(self.blocks[: last + 1]):
            x = self._block(x, block)  # a new array each time, so stored states stay intact
            if index in wanted:
                states[index] = x
        if FINAL in wanted:
            states[FINAL] = _layer_norm(x, *self._final_norm)
        return {layer: states[layer] if batched else states[layer][0] for layer in wanted}

    __call__ = forward

    def silence_keys_values(self, depth: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """The attention keys and values of a 30-s window of silence in blocks ``0..depth-1``.

        The window is an all-zero mel (:func:`log_mel`'s padding), run through the stem and
        the blocks; one ``(keys, values)`` pair per block, each ``(heads, positions, head_dim)``
        float32 (``positions`` = :attr:`max_frames` / 2). The ``padded_fast`` framing
        (:class:`~paravox.encoder.onnx_encoder.OnnxWhisperEncoder`) lets a short input attend to
        the part of them after its own end, as if it stood at the start of a padded window.
        """
        if not 1 <= depth <= self.num_layers:
            raise ValueError(f"depth {depth} is out of range; the encoder has {self.num_layers} blocks")
        heads, dim = self.num_heads, self.width // self.num_heads
        x = self._stem(np.zeros((1, self.n_mels, self.max_frames), dtype=np.float32))
        pairs = []
        for index, block in enumerate(self.blocks[:depth]):
            qkv = block.qkv(_layer_norm(x[0], *block.attn_norm))
            qkv = qkv.reshape(-1, 3, heads, dim).transpose(1, 2, 0, 3)  # (3, H, S, d)
            pairs.append((np.ascontiguousarray(qkv[1]), np.ascontiguousarray(qkv[2])))
            if index < depth - 1:  # the last block's output is not needed
                x = self._block(x, block)
        return pairs

    def _stem(self, mel: np.ndarray) -> np.ndarray:
        """``(B, n_mels, T)`` mel -> ``(B, ceil(T/2), width)``: the two convolutions and the position encodings."""
        x = np.ascontiguousarray(mel.transpose(0, 2, 1), dtype=np.float32)
        x = _gelu(_conv1d(x, *self._conv1, stride=1))
        x = _gelu(_conv1d(x, *self._conv2, stride=2))
        x += self._positions[: x.shape[1]]
        return x

    def _block(self, x: np.ndarray, block: _Block) -> np.ndarray:
        batch, steps, width = x.shape
        heads, dim = self.num_heads, width // self.num_heads
        qkv = block.qkv(_layer_norm(x, *block.attn_norm).reshape(batch * steps, width))
        # (B*S, 3*W) -> (3, B, H, S, d): q, k and v, one contiguous (S, d) matrix per head.
        qkv = np.ascontiguousarray(qkv.reshape(batch, steps, 3, heads, dim).transpose(2, 0, 3, 1, 4))
        q = qkv[0] * np.float32(dim**-0.5)
        context = np.empty((batch, steps, heads, dim), dtype=np.float32)
        # One (S, S) score matrix at a time: bounded memory, and faster than all heads at once
        # (it stays closer to the cache). Softmax is normalised after multiplying by V.
        for b in range(batch):
            for h in range(heads):
                scores = q[b, h] @ qkv[1, b, h].T
                scores -= scores.max(axis=-1, keepdims=True)
                np.exp(scores, out=scores)
                context[b, :, h] = (scores @ qkv[2, b, h]) / scores.sum(axis=-1, keepdims=True)
        x = x + block.out(context.reshape(batch * steps, width)).reshape(batch, steps, width)
        hidden = _gelu(block.ffn_in(_layer_norm(x, *block.ffn_norm).reshape(batch * steps, width)))
        return x + block.ffn_out(hidden).reshape(batch, steps, width)


# --------------------------------------------------------------------------- features


@lru_cache(maxsize=1)
def _feature_extractor():
    try:
        from faster_whisper.feature_extractor import FeatureExtractor
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise ImportError("log_mel needs faster-whisper: pip install 'faster-whisper>=1.1,<2'") from exc
    return FeatureExtractor(feature_size=80)


def log_mel(samples: np.ndarray, pad_to_30s: bool = False) -> np.ndarray:
    """80-bin Whisper log-mel features of 16-kHz mono ``samples``: ``(80, T)`` float32, T even.

    Computed by faster-whisper's ``FeatureExtractor`` and framed as faster-whisper frames
    them: one frame per 10 ms (``T = len(samples) // 160``, less one if odd, so that the
    stride-2 convolution sees whole pairs; under 20 ms gives ``T = 0``). With ``pad_to_30s``
    the frames are zero-padded to 3000 (30 s), exactly like the window faster-whisper's
    ``transcribe`` feeds the encoder; audio longer than 30 s is then an error rather than
    silently cut.

    The encoder's states on a short, unpadded input differ from those of the same audio
    inside a padded 30-s window (attention also looks at the padding). Either framing
    works, but a head must be trained and run on features from the same one.
    """
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(
            f"samples must be 1-D mono at 16 kHz; got shape {samples.shape} (use paravox.audio.load_audio)"
        )
    frames = len(samples) // _HOP
    if pad_to_30s and frames > _MAX_FRAMES:
        raise ValueError(f"{len(samples) / 16000:.2f} s of audio does not fit one 30-s window; split it first")
    frames -= frames % 2
    if frames == 0:
        mel = np.zeros((80, 0), dtype=np.float32)
    else:
        mel = np.asarray(_feature_extractor()(samples)[:, :frames], dtype=np.float32)
    if pad_to_30s:
        mel = np.pad(mel, ((0, 0), (0, _MAX_FRAMES - mel.shape[1])))
    return np.ascontiguousarray(mel)


def pooled_features(states: np.ndarray) -> np.ndarray:
    """Mean and standard deviation over time, concatenated: ``(T, D) -> (2D,)``.

    ``(B, T, D)`` gives ``(B, 2D)``. For one Whisper-base layer that is a 1024-d vector, the
    input the linear probes in ``docs/whisper-encoder.md`` were measured on.

    >>> pooled_features(np.array([[1.0, 2.0], [3.0, 2.0]]))
    array([2., 2., 1., 0.], dtype=float32)
    """
    states = np.asarray(states, dtype=np.float32)
    if states.ndim not in (2, 3) or states.shape[-2] == 0:
        raise ValueError(f"states must be (T, D) or (B, T, D) with T >= 1; got shape {states.shape}")
    return np.concatenate([states.mean(axis=-2), states.std(axis=-2)], axis=-1)
