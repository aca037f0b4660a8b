"""The Switchboard laughter detector (jrgillick/laughter-detection @ 5d5e0327, MIT) as a lever
for laughs inside real speech: ONNX export, a NumPy + onnxruntime frame-level runner, a cache.

    python benchmarks/experiments/switchboard_laughter.py export     # both checkpoints -> ONNX, checked against torch
    python benchmarks/experiments/switchboard_laughter.py cache      # per-clip probabilities for nv_levers.py
    python benchmarks/experiments/switchboard_laughter.py isolated   # max probability on isolated bursts / read speech
    python benchmarks/experiments/switchboard_laughter.py demo       # the curve on samples/demo.flac
    python benchmarks/experiments/switchboard_laughter.py speed      # ms per second of audio, fast vs exact

Checkpoints: ``../shared/models/laughter-switchboard/`` (``switchboard``: trained on
Switchboard; ``audioset``: trained on Switchboard + AudioSet), config ``resnet_base``:
``ResNetBigger`` with ``filter_sizes`` [64, 32, 16, 16] and ``linear_layer_size`` 64.

Input (what upstream's inference does; ``utils/audio_utils.featurize_melspec`` and
``utils/data_loaders.SwitchBoardLaughterInferenceDataset``): 8 kHz mono; power mel spectrogram
(n_fft 2048, hop 186, hann, centred, 128 Slaney mel bands 0-4 kHz, Slaney-normalised),
``amplitude_to_db(S, ref=np.max)`` over the whole input (so 20*log10, floor at max - 80 dB),
time-major; the network sees windows of 44 frames (1.0 s of 8 kHz audio gives 1 + 8000 // 186
= 44 frames) as a (B, 1, 44, 128) tensor. The state dict agrees: 128 mel bands and 44 frames
shrink through three stride-2 stages to 16 channels x 6 x 16, ``AvgPool2d(4)`` gives 16 x 1 x 4
= 64 = ``linear_layer_size`` (note: that pool keeps only the first 4 of the 6 time steps, so
the network looks mostly at the first two thirds of its window); BatchNorm ``bn1``'s running
mean over ``conv1``'s weight sums puts the mean input near -60 dB, as dB-below-max features
clipped at -80 dB should. STFT padding: reflect (librosa's default before 0.10, when the
model was trained; librosa 0.10+ pads with zeros; one stored upstream version passes
``pad_mode='empty'``); only the first and last 5-6 frames (~0.13 s) differ. Training windows
were featurised on their own (a 1-s slice, dB below that slice's maximum); upstream's inference,
followed here, takes the maximum over the whole file, so a loud stretch elsewhere in a clip
pushes a quiet laugh further towards the -80 dB floor than training did.

Frames: one probability per feature frame t (every 186/8000 = 23.25 ms), from the window of
frames t-22 .. t+21; the feature matrix is padded with 22 frames of its minimum (-80 dB) at
each end. Upstream does not pad: its dataset gives ``len(features) - 44`` windows starting at
frames 0, 1, ... and its segmenter spreads those probabilities evenly over the file's length
(so its window i is reported at about i * 23.25 ms, the window's start, not its centre).

Two ways to run it. The network is fully convolutional in time up to the pool, so the exported
ONNX graph (input ``mel`` (B, 1, T, 128), any B and T; output ``prob`` (B, ceil(T / 8) - 3))
pools with kernel 4 and stride (1, 4) and returns the probability of every window start that is
a multiple of 8 frames (the three stride-2 stages); on a 44-frame input its first output is
exactly upstream's window output (equal to upstream's ``ResNetBigger`` run from
``reference_models.py.txt`` with the same weights: max |diff| 0 in torch; ONNX vs torch under 2e-6).

* ``exact`` (default of :func:`laughter_frames`): every 44-frame window on its own, one per
  frame, as upstream does, batches of 32. About 0.85 GMAC per window, 43 windows per second of
  audio: 296 ms (``switchboard``) / 311 ms (``audioset``) of one core per second of audio, so a
  30-s clip takes about 9 s per checkpoint, not well under a second.
* ``exact=False``: the clip's whole padded map through the graph once per frame offset
  (``shifts`` = 2: offsets 0 and 4, a probability every 4 frames = 93 ms, linearly interpolated
  to every frame): 16 ms per second of audio (a 30-s clip in about 0.5 s). An approximation: the
  convolutions see the real neighbouring frames past a window's edges where upstream's windows
  see zero padding. On the demo clip against ``exact``: correlation 0.968 / 0.965, mean |diff|
  0.033 / 0.044, max |diff| 0.58 / 0.28 (``switchboard`` / ``audioset``).

``cache`` (938 benchmark clips + the demo, 2205 s of audio; exact and fast, both checkpoints):
1504 s on one core. ``isolated`` (1027 clips): 1746 s.

Resampling 16 -> 8 kHz (``resample_poly``) and features: 0.9 ms per second of audio. All
figures from ``speed`` (one thread, onnxruntime 1.32, 2-core AMD EPYC VM).
Features against librosa 0.11 (``melspectrogram`` + ``amplitude_to_db(ref=np.max)``, same 8-kHz
signal, pad_mode reflect and constant) on 7 real clips: max |diff| 1.5e-5 dB; filterbank
against ``librosa.filters.mel``: max |diff| 4e-9.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"
CKPT = REPO.parent / "shared" / "models" / "laughter-switchboard"
LEVERS = REPO / "benchmarks" / "results" / "levers"
CACHE = LEVERS / "switchboard"
CHECKPOINTS = {
    "switchboard": "resnet_without_augmentation",
    "audioset": "resnet_without_augmentation_trained_on_audioset",
}

SR = 8000
HOP = 186
N_FFT = 2048
N_MELS = 128
WINDOW = 44  # frames per network window (1 s)
TOP_DB = 80.0
STRIDE = 8  # time stride of the network's last stage, in frames
FRAME_SECONDS = HOP / SR


def onnx_path(model: str) -> Path:
    return LEVERS / f"switchboard_{model}.onnx"


# ---------------------------------------------------------------- features (NumPy only)


# the filters (and the 16 -> 8 kHz step) are the shipped module's: paravox.vocal_events.laughter
sys.path.insert(0, str(REPO / "src"))
from paravox.vocal_events.laughter import mel_filterbank  # noqa: E402


_FB = None
_HANN = None


def melspec_db(y8k: np.ndarray, pad_mode: str = "reflect") -> np.ndarray:
    """(frames, 128) float32 features of 8-kHz mono audio, frames = 1 + len // 186, in dB below
    the input's loudest mel bin, floored at -80 dB."""
    global _FB, _HANN
    if _FB is None:
        _FB = mel_filterbank()
        n = np.arange(N_FFT)
        _HANN = (0.5 - 0.5 * np.cos(2 * np.pi * n / N_FFT)).astype(np.float32)  # periodic
    y = np.asarray(y8k, dtype=np.float32)
    half = N_FFT // 2
    if pad_mode == "reflect" and len(y) <= half:
        pad_mode = "constant"  # too short to reflect
    y = np.pad(y, half, mode=pad_mode)
    frames = np.lib.stride_tricks.sliding_window_view(y, N_FFT)[::HOP]
    power = np.abs(np.fft.rfft(frames * _HANN, axis=1)) ** 2  # (frames, 1025)
    mel = power.astype(np.float32) @ _FB.T  # (frames, 128)
    amin = 1e-5  # amplitude_to_db's floor (1e-10 on the squared values)
    db = 20.0 * np.log10(np.maximum(mel, amin)) - 20.0 * np.log10(max(float(mel.max(initial=0.0)), amin))
    return np.maximum(db, db.max(initial=0.0) - TOP_DB).astype(np.float32)


def to_8k(audio16k: np.ndarray) -> np.ndarray:
    from scipy.signal import resample_poly

    return resample_poly(np.asarray(audio16k, dtype=np.float32), 1, 2).astype(np.float32)


# ---------------------------------------------------------------- inference (NumPy + onnxruntime)

_SESSIONS: dict[str, object] = {}


def session(model: str):
    import onnxruntime as ort

    if model not in _SESSIONS:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        _SESSIONS[model] = ort.InferenceSession(str(onnx_path(model)), opts, providers=["CPUExecutionProvider"])
    return _SESSIONS[model]


def _padded(feats: np.ndarray) -> np.ndarray:
    half = WINDOW // 2
    return np.pad(feats, ((half, half), (0, 0)), constant_values=float(feats.min(initial=-TOP_DB)))


def window_probs(feats: np.ndarray, model: str, batch: int = 32) -> np.ndarray:
    """Upstream's way: every 44-frame window of the padded map on its own, one per frame. Batches
    of 32 (a batch of 256 windows needs 0.6 GB per activation and runs 3.5x slower here)."""
    sess = session(model)
    p = _padded(feats)
    n = len(feats)
    wins = np.lib.stride_tricks.sliding_window_view(p, WINDOW, axis=0)  # (n + 1, 128, 44)
    out = np.empty(n, dtype=np.float32)
    for a in range(0, n, batch):
        x = np.ascontiguousarray(wins[a : min(n, a + batch)].transpose(0, 2, 1))[:, None]
        out[a : a + len(x)] = sess.run(None, {"mel": x})[0][:, 0]
    return out


def sliding_probs(feats: np.ndarray, model: str, shifts: int = 2) -> np.ndarray:
    """The whole padded map through the network once per offset of ``STRIDE // shifts`` frames;
    probabilities at every ``STRIDE // shifts`` frames, linearly interpolated to every frame."""
    sess = session(model)
    p = _padded(feats)
    n = len(feats)
    step = STRIDE // shifts
    t, v = [], []
    for d in range(0, STRIDE, step):
        x = p[d:]
        if len(x) < WINDOW:
            continue
        q = sess.run(None, {"mel": np.ascontiguousarray(x)[None, None]})[0][0]
        q = q[: (len(x) - WINDOW) // STRIDE + 1]  # windows that lie inside the padded map
        keep = d + STRIDE * np.arange(len(q)) < n
        q = q[keep]
        t.append(d + STRIDE * np.arange(len(q)))
        v.append(q)
    if not t:
        return window_probs(feats, model)
    t, v = np.concatenate(t), np.concatenate(v)
    order = np.argsort(t)
    return np.interp(np.arange(n), t[order], v[order]).astype(np.float32)


def frame_probs(feats: np.ndarray, model: str, exact: bool = True, shifts: int = 2) -> np.ndarray:
    return window_probs(feats, model) if exact else sliding_probs(feats, model, shifts)


def laughter_frames(audio16k: np.ndarray, model: str = "switchboard", exact: bool = True,
                    shifts: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(times in seconds, laughter probability) per feature frame (23.25 ms) of 16-kHz mono audio;
    the time is the centre of the 1-s window the probability comes from. ``exact`` (default):
    every window on its own, as upstream does; ``exact=False``: the fast fully-convolutional pass,
    an approximation (module docstring)."""
    feats = melspec_db(to_8k(audio16k))
    return (np.arange(len(feats)) * FRAME_SECONDS).astype(np.float32), frame_probs(feats, model, exact, shifts)


# ---------------------------------------------------------------- torch side (export only)


def torch_model(model: str):
    """ResNetBigger(filter_sizes [64, 32, 16, 16], linear_layer_size 64) with the checkpoint loaded
    (strict), in eval mode; ``forward`` takes (B, 1, T, 128) and gives the probability of every
    window start that is a multiple of 8 frames: (B, (ceil(T / 8) - 3)); T = 44 gives upstream's
    single window output in column 0 (its AvgPool2d(4) keeps time steps 0-3 of 6)."""
    import torch
    from torch import nn

    class Residual(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=True)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=True)
            self.bn2 = nn.BatchNorm2d(cout)
            self.shortcut = nn.Sequential()
            if stride != 1 or cin != cout:
                self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            y = torch.relu(self.bn1(self.conv1(x)))
            return torch.relu(self.bn2(self.conv2(y)) + self.shortcut(x))

    class LaughNet(nn.Module):
        def __init__(self, filters=(64, 32, 16, 16), linear=64):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 64, 3, stride=1, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            chans = [64, *filters]
            for k in range(4):
                stride = 1 if k == 0 else 2
                setattr(self, f"block{k + 1}", nn.Sequential(Residual(chans[k], chans[k + 1], stride),
                                                             Residual(chans[k + 1], chans[k + 1], 1)))
            self.bn2 = nn.BatchNorm1d(linear)
            self.bn3 = nn.BatchNorm1d(32)
            self.linear1 = nn.Linear(linear, 32)
            self.linear2 = nn.Linear(32, 1)

        def window(self, x):
            """Upstream's forward (eval mode, dropout off): one probability per (B, 1, T, 128) input."""
            h = torch.relu(self.bn1(self.conv1(x)))
            h = self.block4(self.block3(self.block2(self.block1(h))))
            h = nn.functional.avg_pool2d(h, 4).flatten(1)
            h = torch.relu(self.bn3(self.linear1(self.bn2(h))))
            return torch.sigmoid(self.linear2(h))

        def forward(self, x):
            h = torch.relu(self.bn1(self.conv1(x)))
            h = self.block4(self.block3(self.block2(self.block1(h))))  # (B, 16, T', 16)
            h = nn.functional.avg_pool2d(h, (4, 4), stride=(1, 4))  # (B, 16, T' - 3, 4)
            h = h.permute(0, 2, 1, 3).flatten(2)  # (B, T'', 64), feature index c * 4 + f as in view()
            h = torch.relu(self.bn3_(self.linear1(self.bn2_(h))))
            return torch.sigmoid(self.linear2(h))[..., 0]

        def bn2_(self, h):
            bn = self.bn2
            return (h - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias

        def bn3_(self, h):
            bn = self.bn3
            return (h - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias

    ck = torch.load(CKPT / CHECKPOINTS[model] / "best.pth.tar", map_location="cpu", weights_only=False)
    sd = ck.get("state_dict", ck) if isinstance(ck, dict) else ck
    sd = {k.removeprefix("module."): v for k, v in sd.items()}
    net = LaughNet()
    net.load_state_dict(sd, strict=True)
    return net.eval()


def cmd_export(args: argparse.Namespace) -> None:
    import torch

    LEVERS.mkdir(parents=True, exist_ok=True)
    # real windows: the demo clip (speech, a laugh, a gasp), a Deeply laugh, a cough, a CASIA sentence
    deeply = {r["label"]: r["path"] for r in _manifest(DATA / "nonverbal" / "deeply")}
    casia = _manifest(DATA / "emotion" / "casia")[0]["path"]
    wins = []
    for path in (REPO / "samples" / "demo.flac", deeply["laughing"], deeply["coughing"], casia):
        f = _padded(melspec_db(to_8k(load16k(path))))
        wins += [f[a : a + WINDOW] for a in range(0, len(f) - WINDOW + 1, 5)]
    wins = np.stack(wins)[:, None]
    feats = melspec_db(to_8k(load16k(REPO / "samples" / "demo.flac")))
    for name in CHECKPOINTS:
        net = torch_model(name)
        path = onnx_path(name)
        torch.onnx.export(net, (torch.zeros(2, 1, 100, N_MELS),), str(path), input_names=["mel"],
                          output_names=["prob"], dynamic_axes={"mel": {0: "batch", 2: "frames"}, "prob": {0: "batch", 1: "windows"}},
                          opset_version=17, dynamo=False)
        _SESSIONS.pop(name, None)
        with torch.no_grad():
            ref = net.window(torch.from_numpy(wins)).numpy()[:, 0]
            full = net(torch.from_numpy(_padded(feats)[None, None])).numpy()[0]
        got = session(name).run(None, {"mel": wins})[0][:, 0]
        got_full = session(name).run(None, {"mel": _padded(feats)[None, None]})[0][0]
        # the sliding head against upstream's per-window forward, window by window
        p = _padded(feats)
        starts = np.arange(0, len(p) - WINDOW + 1, STRIDE)
        with torch.no_grad():
            per_win = net.window(torch.from_numpy(np.stack([p[s : s + WINDOW] for s in starts])[:, None])).numpy()[:, 0]
        print(f"{name}: {path.name} {path.stat().st_size / 1e6:.1f} MB; {len(wins)} real windows: "
              f"max |onnx - torch| {np.abs(got - ref).max():.2e} (probs {ref.min():.3f}-{ref.max():.3f}); "
              f"whole demo map ({len(full)} outputs): max |onnx - torch| {np.abs(got_full - full).max():.2e}; "
              f"sliding vs per-window forward: max |diff| {np.abs(full[:len(per_win)] - per_win).max():.3f}, "
              f"median {np.median(np.abs(full[:len(per_win)] - per_win)):.3f}")


# ---------------------------------------------------------------- measurements

KINDS = {"exact": {"exact": True}, "fast": {"exact": False, "shifts": 2}}


def load16k(path) -> np.ndarray:
    sys.path.insert(0, str(REPO / "src"))
    from paravox.audio import load_audio

    return load_audio(path).samples


def cmd_speed(args: argparse.Namespace) -> None:
    """ms of compute per second of audio (features included), one thread, on the demo clip (21.4 s),
    and how the fast pass agrees with the exact windows there."""
    audio = load16k(REPO / "samples" / "demo.flac")
    secs = len(audio) / 16000
    laughter_frames(audio[:16000], "switchboard")  # imports, first-call set-up
    t0 = time.perf_counter()
    melspec_db(to_8k(audio))
    print(f"demo: {secs:.1f} s; resampling + features {1000 * (time.perf_counter() - t0) / secs:.1f} ms per s of audio")
    for name in CHECKPOINTS:
        session(name)
        res = {}
        for label, kw in (("exact", {"exact": True}), ("fast, 1 offset", {"exact": False, "shifts": 1}),
                          ("fast, 2 offsets", {"exact": False, "shifts": 2})):
            t0 = time.perf_counter()
            _, p = laughter_frames(audio, name, **kw)
            dt = time.perf_counter() - t0
            res[label] = p
            diff = np.abs(p - res["exact"])
            print(f"{name:11} {label:16} {1000 * dt / secs:6.1f} ms per s of audio; vs exact: max |diff| {diff.max():.3f}, "
                  f"mean {diff.mean():.4f}, corr {np.corrcoef(p, res['exact'])[0, 1]:.4f}")


def cmd_cache(args: argparse.Namespace) -> None:
    """Per clip ``<id>.npz``: ``times`` (s), ``switchboard`` and ``audioset`` (exact windows, as
    upstream), ``switchboard_fast`` and ``audioset_fast`` (the fast pass, 2 offsets); float32.
    ``--kinds`` stores only some of the passes."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("nv_levers", REPO / "benchmarks" / "experiments" / "nv_levers.py")
    levers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(levers)
    clips = [(c["id"], c["audio"]) for c in levers.clip_list()] + [("demo", str(REPO / "samples" / "demo.flac"))]
    CACHE.mkdir(parents=True, exist_ok=True)
    kinds = {k: KINDS[k] for k in args.kinds}
    todo = [(i, a) for i, a in clips if not (CACHE / f"{i}.npz").exists()]
    print(f"{len(clips)} clips, {len(clips) - len(todo)} cached, {len(todo)} to do", file=sys.stderr)
    t_start, audio_s = time.perf_counter(), 0.0
    for k, (clip_id, path) in enumerate(todo, 1):
        feats = melspec_db(to_8k(load16k(path)))
        audio_s += len(feats) * FRAME_SECONDS
        out = {"times": (np.arange(len(feats)) * FRAME_SECONDS).astype(np.float32)}
        for name in CHECKPOINTS:
            for kind, kw in kinds.items():
                out[name if kind == "exact" else f"{name}_{kind}"] = frame_probs(feats, name, **kw)
        tmp = CACHE / f"{clip_id}.tmp.npz"
        np.savez_compressed(tmp, **out)
        tmp.replace(CACHE / f"{clip_id}.npz")
        if k % 20 == 0 or k == len(todo):
            el = time.perf_counter() - t_start
            print(f"{k}/{len(todo)} {clip_id}: {audio_s:.0f} s of audio in {el:.0f} s", file=sys.stderr, flush=True)


def _manifest(folder: Path) -> list[dict]:
    rows = [json.loads(l) for l in (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines() if l.strip()]
    for r in rows:
        r["path"] = str(folder / r["audio"])
    return rows


def _row(key: str, n: int, scores: list[dict[str, float]], cols: list[str]) -> str:
    cells = []
    for c in cols:
        s = np.array([x[c] for x in scores])
        cells.append(f"{np.median(s):.2f} | {100 * np.mean(s >= 0.3):.0f}% | {100 * np.mean(s >= 0.5):.0f}% | {100 * np.mean(s >= 0.7):.0f}%")
    return f"| {key} | {n} | {' | '.join(cells)} |"


def cmd_isolated(args: argparse.Namespace) -> None:
    """Clip score = max laughter probability over the clip's frames. Up to ``--per-label`` clips
    per Deeply label and EmoGator category (seeded shuffle), ``--speech`` clips of read speech drawn
    (seeded) from the CASIA, RAVDESS, EmoDB and TAVA manifests together. One table per kind of pass."""
    groups: dict[str, list[str]] = collections.defaultdict(list)
    for src in ("deeply", "emogator"):
        for r in _manifest(DATA / "nonverbal" / src):
            groups[f"{src}/{r.get('label') or r.get('category')}"].append(r["path"])
    for paths in groups.values():
        random.Random(0).shuffle(paths)
        del paths[args.per_label :]
    speech = []
    for corpus in ("casia", "ravdess", "emodb", "tava"):
        speech += [(corpus, r["path"]) for r in _manifest(DATA / "emotion" / corpus)]
    random.Random(0).shuffle(speech)
    for corpus, path in speech[: args.speech]:
        groups[f"speech/{corpus}"].append(path)
    cols = [f"{m}/{k}" for k in KINDS for m in CHECKPOINTS]
    scores: dict[str, list[dict[str, float]]] = {}
    t0, n = time.perf_counter(), 0
    for key in sorted(groups):
        scores[key] = []
        for path in groups[key]:
            feats = melspec_db(to_8k(load16k(path)))
            scores[key].append({f"{m}/{k}": float(frame_probs(feats, m, **kw).max()) for k, kw in KINDS.items() for m in CHECKPOINTS})
            n += 1
        print(f"{n} clips, {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    for kind in KINDS:
        kc = [c for c in cols if c.endswith("/" + kind)]
        print(f"\n{kind} windows; per checkpoint: median clip max | share of clips with max >= 0.3 | >= 0.5 | >= 0.7\n")
        print(f"| clips | n | {' | '.join(f'{c.split(chr(47))[0]} median | >=0.3 | >=0.5 | >=0.7' for c in kc)} |")
        print("|---|---|" + "---|---|---|---|" * len(kc))
        for key in sorted(scores):
            print(_row(key, len(scores[key]), scores[key], kc))
        pooled = [s for key in scores if key.startswith("speech/") for s in scores[key]]
        print(_row("speech (all)", len(pooled), pooled, kc))


def cmd_demo(args: argparse.Namespace) -> None:
    """samples/demo.flac: a laugh at 3.14-5.74 s (and a gasp at 17.39 s). 'elsewhere' is every frame
    outside 3.14-5.74 s; 'away' leaves out 0.5 s more on each side (the 1-s window still reaches the laugh)."""
    feats = melspec_db(to_8k(load16k(REPO / "samples" / "demo.flac")))
    t = np.arange(len(feats)) * FRAME_SECONDS
    inside = (t >= 3.14) & (t <= 5.74)
    away = (t < 3.14 - 0.5) | (t > 5.74 + 0.5)
    for name in CHECKPOINTS:
        for kind, kw in KINDS.items():
            p = frame_probs(feats, name, **kw)

            def peak(mask, p=p):
                k = int(np.argmax(np.where(mask, p, -1.0)))
                return f"{p[k]:.3f} at {t[k]:.2f} s"

            runs = []
            for x in t[p >= 0.5]:
                if runs and x - runs[-1][1] <= 2 * FRAME_SECONDS:
                    runs[-1][1] = x
                else:
                    runs.append([x, x])
            print(f"{name:11} {kind}: max in 3.14-5.74 s {peak(inside)}; elsewhere {peak(~inside)}; "
                  f"away {peak(away)}; runs >= 0.5: " + (", ".join(f"{a:.2f}-{b:.2f}" for a, b in runs) or "none"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("export")
    sub.add_parser("speed")
    c = sub.add_parser("cache")
    c.add_argument("--kinds", nargs="+", choices=list(KINDS), default=list(KINDS),
                   help="which passes to store (default both; 'fast' alone takes ~1 min instead of ~25)")
    i = sub.add_parser("isolated")
    i.add_argument("--per-label", type=int, default=40)
    i.add_argument("--speech", type=int, default=300)
    sub.add_parser("demo")
    args = ap.parse_args()
    {"export": cmd_export, "speed": cmd_speed, "cache": cmd_cache, "isolated": cmd_isolated, "demo": cmd_demo}[args.cmd](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
