# Weights: EfficientAT MobileNetV3 width 0.4 AudioSet tagger (mn04_as, mAP 0.432), by Florian Schmid
# et al., MIT licence (the EfficientAT code and weights are MIT). Copied from
# ../shared/models/efficientat-mn04/ (mn04_as_mAP_432.pt, class_labels_indices.csv, LICENSE); see
# ../shared/models/README.md for the upstream source (nikih94/swch-audio-classification @ 2b362d97).
# This file is our own re-implementation of the architecture and the preprocessing, written from
# reading the upstream code; it does not copy it and does not use torchvision or torchaudio.
"""EfficientAT mn04 AudioSet tagger: torch rebuild, ONNX export, and a torch-free runner.

- ``build_torch_model()``: PyTorch rebuild of mn04 that loads the shipped state dict with strict=True.
- ``export(out_path)``: ONNX export. Input ``logmel`` float32 (batch, 1, 128, frames), the output of
  ``logmel()``; output ``logits`` float32 (batch, 527), raw LOGITS (apply a sigmoid for probabilities,
  as upstream does at inference). Batch and frame axes are dynamic.
- ``logmel(samples32k)``: NumPy preprocessing equal to upstream ``AugmentMelSTFT`` in eval mode
  (pre-emphasis 0.97, centred reflect-padded STFT n_fft 1024 / symmetric Hann 800 / hop 320, power,
  Kaldi-style triangular mel banks (torchaudio.compliance.kaldi.get_mel_banks) 128 bands 0-15 kHz,
  log(x + 1e-5), (x + 4.5) / 5).
- ``AudioSetTagger``: onnxruntime (1 thread) + NumPy; ``probs``, ``region_probs``, ``labels``.

Run ``python benchmarks/experiments/efficientat.py`` for the checks and the demo printouts.
"""

from __future__ import annotations

import csv
import functools
import json
import math
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
MODEL_DIR = REPO.parent / "shared" / "models" / "efficientat-mn04"
STATE_DICT = MODEL_DIR / "mn04_as_mAP_432.pt"
LABELS_CSV = MODEL_DIR / "class_labels_indices.csv"
ONNX_PATH = REPO / "benchmarks" / "results" / "levers" / "efficientat_mn04.onnx"

SR = 32000
N_MELS = 128
N_FFT = 1024
WIN = 800
HOP = 320
FMIN = 0.0
FMAX = (
    SR // 2 - 2000 // 2
)  # upstream: fmax=None -> sr//2 - fmax_aug_range//2 = 15000 Hz
PREEMPH = 0.97
NUM_CLASSES = 527


# ----------------------------------------------------------------------------------------------
# Architecture (MobileNetV3 as in EfficientAT, width 0.4, channel-wise SE, MLP head)
# ----------------------------------------------------------------------------------------------


def _divisible(v: float, divisor: int = 8) -> int:
    out = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if out < 0.9 * v:
        out += divisor
    return out


# (in, kernel, expanded, out, squeeze-excitation, hardswish, stride) at width 1.0
_BLOCKS = [
    (16, 3, 16, 16, False, False, 1),
    (16, 3, 64, 24, False, False, 2),
    (24, 3, 72, 24, False, False, 1),
    (24, 5, 72, 40, True, False, 2),
    (40, 5, 120, 40, True, False, 1),
    (40, 5, 120, 40, True, False, 1),
    (40, 3, 240, 80, False, True, 2),
    (80, 3, 200, 80, False, True, 1),
    (80, 3, 184, 80, False, True, 1),
    (80, 3, 184, 80, False, True, 1),
    (80, 3, 480, 112, True, True, 1),
    (112, 3, 672, 112, True, True, 1),
    (112, 5, 672, 160, True, True, 2),
    (160, 5, 960, 160, True, True, 1),
    (160, 5, 960, 160, True, True, 1),
]


@functools.cache
def _torch_classes():
    """Define the torch modules lazily, so that importing this file needs no torch."""
    import torch
    from torch import nn

    def conv_bn_act(cin, cout, k, stride=1, groups=1, act=None):
        layers = [
            nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout, eps=0.001, momentum=0.01),
        ]
        if act is not None:
            layers.append(act())
        return nn.Sequential(*layers)

    class ChannelSE(nn.Module):
        """Squeeze-excitation over channels: mean over (freq, time), FC-ReLU-FC-sigmoid."""

        def __init__(self, channels: int, squeeze: int):
            super().__init__()
            self.fc1 = nn.Linear(channels, squeeze)
            self.fc2 = nn.Linear(squeeze, channels)

        def forward(self, x):
            s = x.mean(dim=(2, 3))
            s = torch.sigmoid(self.fc2(torch.relu(self.fc1(s))))
            return x * s[:, :, None, None]

    class ConcurrentSE(nn.Module):
        # Upstream wraps SE layers in a list and max-aggregates them; with se_dims='c' there is one,
        # so the max over a single element is the identity. The wrapper keeps the state-dict names.
        def __init__(self, channels: int, squeeze: int):
            super().__init__()
            self.conc_se_layers = nn.ModuleList([ChannelSE(channels, squeeze)])

        def forward(self, x):
            return self.conc_se_layers[0](x)

    class Bottleneck(nn.Module):
        def __init__(self, cin, k, cexp, cout, use_se, use_hs, stride):
            super().__init__()
            act = nn.Hardswish if use_hs else nn.ReLU
            layers = []
            if cexp != cin:
                layers.append(conv_bn_act(cin, cexp, 1, act=act))
            layers.append(conv_bn_act(cexp, cexp, k, stride, groups=cexp, act=act))
            if use_se:
                layers.append(ConcurrentSE(cexp, _divisible(cexp // 4, 8)))
            layers.append(conv_bn_act(cexp, cout, 1, act=None))
            self.block = nn.Sequential(*layers)
            self.residual = stride == 1 and cin == cout

        def forward(self, x):
            y = self.block(x)
            return y + x if self.residual else y

    class MN(nn.Module):
        """EfficientAT MobileNetV3; forward((B, 1, 128, T) log-mel) -> (B, 527) logits."""

        def __init__(self, width: float = 0.4, num_classes: int = NUM_CLASSES):
            super().__init__()
            w = lambda c: _divisible(c * width, 8)
            layers = [conv_bn_act(1, w(_BLOCKS[0][0]), 3, 2, act=nn.Hardswish)]
            for cin, k, cexp, cout, se, hs, stride in _BLOCKS:
                layers.append(Bottleneck(w(cin), k, w(cexp), w(cout), se, hs, stride))
            last_in = w(_BLOCKS[-1][3])
            layers.append(conv_bn_act(last_in, 6 * last_in, 1, act=nn.Hardswish))
            self.features = nn.Sequential(*layers)
            self.classifier = nn.Sequential(
                nn.AdaptiveAvgPool2d(1),
                nn.Flatten(1),
                nn.Linear(6 * last_in, w(1280)),
                nn.Hardswish(),
                nn.Dropout(0.2),
                nn.Linear(w(1280), num_classes),
            )

        def forward(self, x):
            return self.classifier(self.features(x))

    return MN


def build_torch_model(state_dict_path: Path = STATE_DICT):
    import torch

    model = _torch_classes()()
    state = torch.load(state_dict_path, map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model.eval()


def export(out_path: str | Path = ONNX_PATH, opset: int = 17) -> Path:
    """Export mn04 to ONNX: input 'logmel' (B, 1, 128, T) -> output 'logits' (B, 527), pre-sigmoid."""
    import torch

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    model = build_torch_model()
    dummy = torch.randn(1, 1, N_MELS, 301)
    kwargs = {
        "input_names": ["logmel"],
        "output_names": ["logits"],
        "dynamic_axes": {"logmel": {0: "batch", 3: "frames"}, "logits": {0: "batch"}},
        "opset_version": opset,
    }
    try:
        torch.onnx.export(model, (dummy,), str(out_path), dynamo=False, **kwargs)
    except TypeError:  # older torch without the dynamo flag
        torch.onnx.export(model, (dummy,), str(out_path), **kwargs)
    return out_path


# ----------------------------------------------------------------------------------------------
# Preprocessing (NumPy)
# ----------------------------------------------------------------------------------------------


@functools.cache
def kaldi_mel_banks(
    n_mels: int = N_MELS,
    n_fft: int = N_FFT,
    sr: int = SR,
    fmin: float = FMIN,
    fmax: float = FMAX,
) -> np.ndarray:
    """Kaldi-style triangles on the 1127*ln(1+f/700) mel scale, (n_mels, n_fft//2 + 1) float32.

    Same definition as torchaudio.compliance.kaldi.get_mel_banks without VTLN warping: the
    triangles are linear in mel (not in Hz), have peak 1 (no area normalisation), are evaluated at
    bins 0..n_fft/2-1, and the Nyquist column is zero (upstream pads it with a zero column).
    """
    mel = lambda f: 1127.0 * np.log1p(np.asarray(f, dtype=np.float64) / 700.0)
    lo, hi = mel(fmin), mel(fmax if fmax > 0 else fmax + sr / 2)
    delta = (hi - lo) / (n_mels + 1)
    edges = lo + delta * np.arange(n_mels + 2)
    left, centre, right = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    bins_mel = mel(sr / n_fft * np.arange(n_fft // 2))[None, :]
    up = (bins_mel - left) / (centre - left)
    down = (right - bins_mel) / (right - centre)
    banks = np.maximum(0.0, np.minimum(up, down))
    return np.pad(banks, ((0, 0), (0, 1))).astype(np.float32)


@functools.cache
def _padded_window() -> np.ndarray:
    n = np.arange(WIN)
    hann = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / (WIN - 1))  # symmetric (periodic=False)
    out = np.zeros(N_FFT)
    left = (N_FFT - WIN) // 2
    out[left : left + WIN] = hann
    return out


def logmel(samples32k: np.ndarray) -> np.ndarray:
    """32 kHz mono float -> (128, frames) float32 normalised log-mel, as upstream in eval mode.

    frames = 1 + (len - 1) // 320 (pre-emphasis drops one sample; the STFT is centred).
    """
    x = np.asarray(samples32k, dtype=np.float64).reshape(-1)
    if len(x) < 2:
        x = np.pad(x, (0, 2 - len(x)))
    x = x[1:] - PREEMPH * x[:-1]
    pad = N_FFT // 2
    if (
        len(x) <= pad
    ):  # reflect padding needs more samples than the pad; zero-extend tiny inputs
        x = np.pad(x, (0, pad + 1 - len(x)))
    x = np.pad(x, (pad, pad), mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP]
    spec = np.fft.rfft(frames * _padded_window(), axis=-1)
    power = spec.real**2 + spec.imag**2  # (frames, 513)
    mel = kaldi_mel_banks().astype(np.float64) @ power.T  # (128, frames)
    return ((np.log(mel + 1e-5) + 4.5) / 5.0).astype(np.float32)


def to_32k(samples16k: np.ndarray) -> np.ndarray:
    from paravox.audio.resample import resample

    return resample(np.asarray(samples16k, dtype=np.float32), 16000, SR)


# ----------------------------------------------------------------------------------------------
# Torch-free runner
# ----------------------------------------------------------------------------------------------


def read_labels(path: Path = LABELS_CSV) -> list[str]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: int(r["index"]))
    return [r["display_name"] for r in rows]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class AudioSetTagger:
    """EfficientAT mn04 through onnxruntime (1 thread); inputs are 16 kHz float32 mono."""

    def __init__(
        self, onnx_path: str | Path = ONNX_PATH, labels_csv: Path = LABELS_CSV
    ):
        import onnxruntime as ort

        if not Path(onnx_path).is_file():  # built once from the state dict (needs torch)
            export(onnx_path)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(onnx_path), opts, providers=["CPUExecutionProvider"]
        )
        self.labels = read_labels(labels_csv)

    def logits32k(self, samples32k: np.ndarray) -> np.ndarray:
        feats = logmel(samples32k)[None, None]
        return self.session.run(["logits"], {"logmel": feats})[0][0]

    def probs(self, samples16k: np.ndarray) -> np.ndarray:
        """Clip-level AudioSet probabilities (527,), sigmoid of the logits."""
        return _sigmoid(self.logits32k(to_32k(samples16k)))

    def region_probs(
        self,
        samples16k: np.ndarray,
        regions: list[tuple[float, float]],
        min_seconds: float = 1.0,
    ) -> np.ndarray:
        """(n, 527) probabilities, one row per (start_s, end_s) region.

        A region shorter than min_seconds is widened symmetrically around its centre to min_seconds;
        where that runs past an end of the audio the window is shifted back inside (so it keeps
        min_seconds whenever the audio is that long) and then clipped to the audio.
        The audio is resampled once; each region is tagged on its own (no padding across regions).
        """
        x32 = to_32k(samples16k)
        total = len(x32) / SR
        out = np.zeros((len(regions), NUM_CLASSES), dtype=np.float32)
        for i, (start, end) in enumerate(regions):
            start, end = float(min(start, end)), float(max(start, end))
            if end - start < min_seconds:
                mid = 0.5 * (start + end)
                start, end = mid - 0.5 * min_seconds, mid + 0.5 * min_seconds
                if start < 0.0:
                    start, end = 0.0, end - start
                if end > total:
                    start, end = start - (end - total), total
            start, end = max(0.0, start), min(total, end)
            a, b = round(start * SR), round(end * SR)
            out[i] = _sigmoid(self.logits32k(x32[a : max(b, a + 1)]))
        return out

    def top(self, p: np.ndarray, k: int = 5) -> list[tuple[str, float]]:
        idx = np.argsort(-p)[:k]
        return [(self.labels[j], float(p[j])) for j in idx]


# ----------------------------------------------------------------------------------------------
# Checks and demo
# ----------------------------------------------------------------------------------------------


def _torch_reference_logmel(wave32k):
    """Upstream AugmentMelSTFT (eval mode) rewritten in torch, float32, for checking ``logmel``."""
    import torch

    x = torch.as_tensor(np.asarray(wave32k, dtype=np.float32))[None]
    kernel = torch.tensor([[[-PREEMPH, 1.0]]])
    x = torch.nn.functional.conv1d(x.unsqueeze(1), kernel).squeeze(1)
    window = torch.hann_window(WIN, periodic=False)
    spec = torch.stft(
        x,
        N_FFT,
        hop_length=HOP,
        win_length=WIN,
        center=True,
        normalized=False,
        window=window,
        return_complex=True,
    )
    power = spec.real**2 + spec.imag**2
    # torchaudio.compliance.kaldi.get_mel_banks, step by step, in torch float32
    num_fft_bins = N_FFT // 2
    fft_bin_width = SR / N_FFT
    mel_lo = 1127.0 * math.log(1.0 + FMIN / 700.0)
    mel_hi = 1127.0 * math.log(1.0 + FMAX / 700.0)
    delta = (mel_hi - mel_lo) / (N_MELS + 1)
    b = torch.arange(N_MELS).unsqueeze(1)
    left, centre, right = (
        mel_lo + b * delta,
        mel_lo + (b + 1.0) * delta,
        mel_lo + (b + 2.0) * delta,
    )
    mel = (
        1127.0 * (1.0 + fft_bin_width * torch.arange(num_fft_bins) / 700.0).log()
    ).unsqueeze(0)
    up = (mel - left) / (centre - left)
    down = (right - mel) / (right - centre)
    banks = torch.max(torch.zeros(1), torch.min(up, down))
    banks = torch.nn.functional.pad(banks, (0, 1), mode="constant", value=0.0)
    melspec = torch.matmul(banks, power)
    melspec = (melspec + 0.00001).log()
    return ((melspec + 4.5) / 5.0)[0].numpy()


def _load16k(path: Path) -> np.ndarray:
    from paravox.audio.decode import load_audio

    return load_audio(str(path), sample_rate=16000).samples


def _pick(manifest: Path, key: str, value: str, n: int) -> list[dict]:
    rows = [
        json.loads(line) for line in manifest.read_text().splitlines() if line.strip()
    ]
    rows = [r for r in rows if r.get(key) == value]
    picked, speakers = [], set()
    for r in rows:  # prefer different speakers
        if r.get("speaker") not in speakers:
            picked.append(r)
            speakers.add(r.get("speaker"))
        if len(picked) == n:
            break
    return picked


def main() -> None:
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)

    out = export(ONNX_PATH)
    print(
        f"exported {out} ({out.stat().st_size / 1e6:.2f} MB, {out.stat().st_size} bytes)"
    )

    # (a) ONNX vs torch on random log-mel input, two lengths and a batch of 2
    model = build_torch_model()
    tagger = AudioSetTagger(out)
    worst = 0.0
    for shape in [(1, 1, N_MELS, 101), (2, 1, N_MELS, 301), (1, 1, N_MELS, 1000)]:
        x = torch.randn(*shape)
        with torch.no_grad():
            ref = model(x).numpy()
        got = tagger.session.run(["logits"], {"logmel": x.numpy()})[0]
        d = float(np.abs(ref - got).max())
        worst = max(worst, d)
        print(
            f"(a) onnx vs torch logits, input {shape}: max abs diff {d:.3e} "
            f"(prob diff {np.abs(_sigmoid(ref) - _sigmoid(got)).max():.3e})"
        )

    # (b) NumPy log-mel vs the torch re-implementation of upstream preprocessing
    noise = rng.standard_normal(SR * 3).astype(np.float32) * 0.1
    t = np.arange(SR * 2) / SR
    tone = (0.3 * np.sin(2 * np.pi * 440 * t) * np.exp(-t)).astype(np.float32)
    for name, wave in [("noise 3 s", noise), ("decaying tone 2 s", tone)]:
        a, b = logmel(wave), _torch_reference_logmel(wave)
        assert a.shape == b.shape, (a.shape, b.shape)
        print(
            f"(b) numpy vs torch log-mel, {name}: shape {a.shape}, max abs diff {np.abs(a - b).max():.3e}"
        )
    # end-to-end on a real clip: numpy-mel + ONNX vs torch-mel + torch model
    casia = Path("/work/shared/data/emotion/casia")
    row = _pick(casia / "manifest.jsonl", "label", "neutral", 1)[0]
    x32 = to_32k(_load16k(casia / row["audio"]))
    p_np = tagger.probs(_load16k(casia / row["audio"]))
    with torch.no_grad():
        p_t = torch.sigmoid(
            model(torch.as_tensor(_torch_reference_logmel(x32))[None, None])
        )[0].numpy()
    print(
        f"(b') end to end on {row['id']}: max abs prob diff numpy+onnx vs torch+torch {np.abs(p_np - p_t).max():.3e}"
    )

    # speed: preprocessing + ONNX, per second of audio (16 kHz in, resampling included)
    for secs in (1.0, 10.0):
        wav = (rng.standard_normal(int(16000 * secs)) * 0.05).astype(np.float32)
        tagger.probs(wav)
        reps = 20 if secs == 1.0 else 5
        t0 = time.perf_counter()
        for _ in range(reps):
            tagger.probs(wav)
        dt = (time.perf_counter() - t0) / reps
        print(
            f"speed: {secs:.0f}-s clip {dt * 1000:.1f} ms -> {dt / secs * 1000:.1f} ms per second of audio"
        )

    # (c) top-5 on isolated vocal bursts and on plain read speech
    deeply = Path("/work/shared/data/nonverbal/deeply")
    print("\n(c) top-5 AudioSet labels (clip-level sigmoid probabilities)")
    for label in [
        "laughing",
        "coughing",
        "sighing",
        "crying",
        "throat-clearing",
        "sneezing",
    ]:
        for r in _pick(deeply / "manifest.jsonl", "label", label, 2):
            p = tagger.probs(_load16k(deeply / r["audio"]))
            tops = ", ".join(f"{n} {v:.2f}" for n, v in tagger.top(p))
            print(f"  [{label}] {r['id']} ({r['duration']:.1f}s): {tops}")
    for r in _pick(casia / "manifest.jsonl", "label", "neutral", 3):
        p = tagger.probs(_load16k(casia / r["audio"]))
        tops = ", ".join(f"{n} {v:.2f}" for n, v in tagger.top(p))
        print(f"  [speech] {r['id']} ({r['duration']:.1f}s, {r['text']}): {tops}")

    # region_probs smoke test: a 0.3-s region at the start is widened to 1 s
    wav = _load16k(casia / row["audio"])
    rp = tagger.region_probs(
        wav, [(0.0, 0.3), (0.5, 2.0), (len(wav) / 16000 - 0.1, len(wav) / 16000)]
    )
    print(
        f"\nregion_probs shape {rp.shape}; top of each: "
        + "; ".join(", ".join(f"{n} {v:.2f}" for n, v in tagger.top(r, 3)) for r in rp)
    )


if __name__ == "__main__":
    main()
