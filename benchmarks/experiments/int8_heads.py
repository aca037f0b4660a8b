"""Issue 23's lever "the heads on the int8 encoder": does the emotion head hold on int8 states?

    python benchmarks/experiments/int8_heads.py            # features (~5 min), speed, six rounds x 3 (~15 min)

The heads read Whisper-base blocks 0-3 through ONNX Runtime in float32. Here the same graph
(``paravox.encoder.onnx_encoder.build_encoder_graph``, weights embedded) is quantised with
ONNX Runtime's dynamic int8 quantisation (weights int8 per channel, activations quantised on
the fly; MatMul and Attention) and run over every CASIA, EmoDB and RAVDESS clip (clean; the
int8 features are kept in ``benchmarks/results/int8_features.npz``). Then, on the emotion
model card's six held-out-speaker rounds (``benchmarks/emotion_multicorpus.py``, clean rows
only, ``--no-augment``'s recipe, so the three runs are alike):

- float / float: the head trained and tested on float32 states (the reference);
- float / int8: the same heads, tested on int8 states (the heads as they are);
- int8 / int8: heads retrained on int8 states, tested on int8 states.

It also times the encoder alone, float32 against int8, on 5-s clips (blocks 0-3, 2 threads),
and prints how far the int8 states are from the float ones per block. An experiment: nothing
here is shipped.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import emotion_multicorpus as mc  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "int8_features.npz"
DEPTH = 4
logging.getLogger().setLevel(logging.ERROR)  # the quantiser warns about every com.microsoft node


class Int8Encoder:
    """``forward(mel, layers)`` like :class:`OnnxWhisperEncoder`, on the int8 graph of blocks 0-3."""

    def __init__(self, threads: int = 2):
        import onnxruntime as ort
        from onnxruntime.quantization import QuantType, quantize_dynamic

        from paravox.encoder.numpy_encoder import WhisperEncoder
        from paravox.encoder.onnx_encoder import build_encoder_graph

        import onnx

        enc = WhisperEncoder.load()
        self.n_mels = enc.n_mels
        model = build_encoder_graph(enc, DEPTH)
        with tempfile.TemporaryDirectory() as d:
            src, dst = Path(d) / "f32.onnx", Path(d) / "int8.onnx"
            onnx.save(model, str(src))
            quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True,
                             extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
            self.session = ort.InferenceSession(str(dst), opts, providers=["CPUExecutionProvider"])

    def forward(self, mel, layers=None):
        mel = np.asarray(mel, dtype=np.float32)
        batched = mel.ndim == 3
        x = np.ascontiguousarray(mel.reshape(-1, self.n_mels, mel.shape[-1]))
        layers = list(range(DEPTH)) if layers is None else list(layers)
        out = self.session.run([f"state_{i}" for i in layers], {"mel": x})
        return {i: o if batched else o[0] for i, o in zip(layers, out)}

    __call__ = forward


def int8_features(meta_paths: list[str], features) -> np.ndarray:
    from paravox.audio import load_audio
    from paravox.speech_emotion.features import FeatureExtractor

    if OUT.exists():
        z = np.load(OUT, allow_pickle=False)
        if list(z["paths"]) == meta_paths:
            return z["X"]
    ex = FeatureExtractor(features, encoder=Int8Encoder())
    rows = []
    t = time.perf_counter()
    for k, p in enumerate(meta_paths):
        rows.append(ex(load_audio(p).samples))
        if k % 200 == 0:
            print(f"  int8 features {k}/{len(meta_paths)} ({time.perf_counter() - t:.0f} s)", file=sys.stderr, flush=True)
    X = np.stack(rows)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, X=X, paths=np.array(meta_paths))
    return X


def speed(n: int = 20) -> tuple[float, float]:
    """Milliseconds per 5-s clip, float32 ONNX against int8, blocks 0-3 (best of 3 rounds of ``n``)."""
    from paravox.encoder.numpy_encoder import log_mel
    from paravox.encoder.onnx_encoder import OnnxWhisperEncoder

    rng = np.random.default_rng(0)
    mel = log_mel((0.1 * rng.standard_normal(80000)).astype(np.float32))
    f32, i8 = OnnxWhisperEncoder.load(threads=2), Int8Encoder(threads=2)
    out = []
    for enc in (f32, i8):
        enc.forward(mel, layers=[0, 1, 2, 3])
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            for _ in range(n):
                enc.forward(mel, layers=[0, 1, 2, 3])
            best = min(best, (time.perf_counter() - t) / n * 1000)
        out.append(best)
    return out[0], out[1]


def drift(paths: list[str]) -> dict[int, float]:
    """Median over clips of ``||int8 - float|| / ||float||`` per block."""
    from paravox.audio import load_audio
    from paravox.encoder.numpy_encoder import log_mel
    from paravox.encoder.onnx_encoder import OnnxWhisperEncoder

    f32, i8 = OnnxWhisperEncoder.load(threads=2), Int8Encoder(threads=2)
    d: dict[int, list[float]] = {i: [] for i in range(DEPTH)}
    for p in paths:
        mel = log_mel(load_audio(p).samples[:80000])
        a, b = f32.forward(mel, layers=list(range(DEPTH))), i8.forward(mel, layers=list(range(DEPTH)))
        for i in range(DEPTH):
            d[i].append(float(np.linalg.norm(b[i] - a[i]) / np.linalg.norm(a[i])))
    return {i: float(np.median(v)) for i, v in d.items()}


def rounds(meta, corpora, X_train, X_test) -> dict[str, float]:
    from paravox.evaluation.classification import evaluate_classification

    ref: dict[str, list] = {n: [] for n in mc.CORPORA}
    hyp: dict[str, list] = {n: [] for n in mc.CORPORA}
    for k in range(1, 7):
        test = mc.held_out(k, meta, corpora)
        train = np.setdiff1d(np.arange(len(meta)), test)
        model, _ = mc.fit(meta, X_train, None, train)
        for i, lab in zip(test, model.predict(X_test[test])):
            ref[meta[i]["corpus"]].append(meta[i]["label"])
            hyp[meta[i]["corpus"]].append(lab)
    return {n: evaluate_classification(ref[n], hyp[n]).ua for n in mc.CORPORA}


def main() -> None:
    meta, X, _, corpora = mc.gather(mc.DATA, mc.FEATURES, augment=False)
    paths = [str(p) for c in corpora.values() for p in c.paths]
    ms_f, ms_i = speed()
    print(f"encoder blocks 0-3 on a 5-s clip, 2 threads: float32 {ms_f:.1f} ms, int8 {ms_i:.1f} ms "
          f"({ms_f / ms_i:.2f}x)", flush=True)
    rng = np.random.default_rng(0)
    print("median relative change of the states, 30 random clips:",
          {f"block {i}": round(v, 3) for i, v in drift(list(rng.choice(paths, 30, replace=False))).items()}, flush=True)
    Xi = int8_features(paths, mc.FEATURES)
    print("\n| heads trained on / tested on | CASIA | EmoDB | RAVDESS |\n|---|---|---|---|", flush=True)
    for title, a, b in (("float32 / float32", X, X), ("float32 / int8 (heads as they are)", X, Xi),
                        ("int8 / int8 (heads retrained)", Xi, Xi)):
        ua = rounds(meta, corpora, a, b)
        print(f"| {title} | " + " | ".join(f"{100 * ua[n]:.1f}" for n in mc.CORPORA) + " |", flush=True)


if __name__ == "__main__":
    main()
