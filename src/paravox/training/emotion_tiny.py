"""Distilling the shipped emotion head into the tiny log-mel network (needs torch). Never
imported by inference: the result is ``model.onnx`` + ``config.json``, read by
:class:`paravox.speech_emotion.tiny.TinyEmotionModel`.

The teacher is the shipped Whisper-based model (:func:`paravox.speech_emotion.model.load_model`):
its calibrated nine-label probabilities for every training clip (pooled features from
:func:`paravox.training.feature_cache.extract_files`, cached on disk) are the targets; when
the teacher also has a dimensional head (``predict_dimensions``: valence, arousal, dominance
on [-1, 1]) those become extra regression outputs of the student. Labels of the corpora are
not used for training: any audio works, labelled or not.

The student (:class:`TinyNet`) reads :func:`paravox.speech_emotion.tiny.log_mel` frames:
each band's mean over the clip removed, input batch-norm, a stride-2 convolution, four depthwise-separable residual blocks (two more
stride-2 steps), mean + standard deviation over time, one hidden layer, then logits (and
``tanh`` dimensions). Loss: ``tau^2 * KL(teacher || student)`` at distillation temperature
``tau`` plus the mean squared error of the dimensions. Each batch holds clips of similar
length, cut at random to the shortest of them (at most ``crop_frames``), with a random gain
and one frequency and one time mask per clip (SpecAugment).

>>> from paravox.training.emotion_tiny import TinyOptions, TinyNet      # doctest: +SKIP
>>> sum(p.numel() for p in TinyNet(TinyOptions()).parameters()) < 100_000  # doctest: +SKIP
True
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from paravox.speech_emotion.tiny import FORMAT, VERSION, FrontEnd, log_mel

DIMENSION_NAMES = ("valence", "arousal", "dominance")
#: the corpora whose augmented copies the student may read (``TinyOptions.copies``): the
#: teacher's own training corpora, whose copies' features ``benchmarks/emotion_extract.py`` caches
COPY_CORPORA = ("emotion/casia", "emotion/emodb", "emotion/ravdess")


@dataclass
class TinyOptions:
    """Architecture and training recipe of the student (saved in ``config.json``)."""

    stem: int = 96
    width: int = 128
    hidden: int = 64
    kernel: int = 5
    dropout: float = 0.2
    epochs: int = 60
    batch: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-3
    tau: float = 2.0
    dims_weight: float = 1.0
    crop_frames: int = 400  # 4 s (2026-12-06: +2.8 UA on the six RAVDESS folds against 2 s on seed 0; card)
    gain_db: float = 6.0
    unlabelled_per_epoch: float = 0.5  # share of the unlabelled clips drawn each epoch
    cmn: bool = True  # subtract each clip's mean log-mel per band (inside the graph)
    freq_mask: int = 10  # SpecAugment: one band mask of up to this many mel bands per clip
    time_mask: int = 30  # and one time mask of up to this many frames
    #: augmented copies of the emotion-corpus clips (``noise``, ``speed90``, ``speed110``: the
    #: ones the teacher learnt from, see :data:`COPY_CORPORA`): each epoch every such clip is
    #: read as its clean recording or one of these copies, drawn at random, and its target is
    #: the teacher's answer on that very copy (so teacher and student hear the same audio)
    copies: tuple[str, ...] = ("noise", "speed90", "speed110")  # 2026-12-06: +3.0 UA over three seeds (card)
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------- data


@dataclass
class Clip:
    """One training/evaluation file: where it is, which corpus, its mapped label (or None)."""

    path: str
    corpus: str
    id: str
    label: str | None = None
    speaker: str | None = None


def pack_clips(data: str | os.PathLike, unlabelled: bool = True) -> list[Clip]:
    """Every clip of the data pack the student can learn from: the four emotion corpora
    (RAVDESS, CASIA, EmoDB with labels mapped to the nine; TAVA without a label) and, with
    ``unlabelled``, ``nonverbal/*`` and ``nvasr/dev``, ``nvasr/tts-demos`` as unlabelled input."""
    from paravox.evaluation.label_maps import load_label_map

    LABEL_MAPS = {n: load_label_map(n).mapping for n in ("casia", "emodb", "ravdess")}

    root = Path(data)
    out: list[Clip] = []
    sets = ["emotion/ravdess", "emotion/casia", "emotion/emodb", "emotion/tava"]
    if unlabelled:
        sets += ["nonverbal/deeply", "nonverbal/emogator", "nvasr/dev", "nvasr/tts-demos"]
    for sub in sets:
        man = root / sub / "manifest.jsonl"
        if not man.is_file():
            raise FileNotFoundError(f"{man}: missing; the tiny model trains on the data pack at {root}")
        name = sub.split("/")[1]
        for line in man.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            r = json.loads(line)
            label = LABEL_MAPS[name][r["label"]] if name in LABEL_MAPS else None
            out.append(Clip(str(root / sub / r["audio"]), sub, r["id"], label, r.get("speaker")))
    return out


def teacher_targets(paths: Sequence[str], teacher: Any = None,
                    augment: str = "clean") -> tuple[np.ndarray, np.ndarray | None]:
    """The teacher's calibrated probabilities ``(N, 9)`` and, if it has a dimensional head,
    its dimensions ``(N, 3)`` (else None), from cached pooled features (of the ``augment``
    copy of each file)."""
    from paravox.speech_emotion.model import load_model
    from paravox.training.feature_cache import extract_files

    m = teacher if teacher is not None else load_model()
    X = extract_files(list(paths), m.features, augment=augment)
    probs = np.atleast_2d(m.predict_proba(X)).astype(np.float32)
    dims = m.predict_dimensions(X, probs) if hasattr(m, "predict_dimensions") else None
    if dims is not None:  # a teacher without a dimensional head answers None
        dims = np.asarray(dims, dtype=np.float32).reshape(len(paths), -1)
    return probs, dims


def dimension_names(teacher: Any = None, n: int = 3) -> tuple[str, ...]:
    """The teacher's names for its ``n`` dimensions (valence, arousal, dominance by default)."""
    from paravox.speech_emotion.model import load_model

    m = teacher if teacher is not None else load_model()
    names = tuple(getattr(m, "dimensions", ()) or ())
    return names if len(names) == n else DIMENSION_NAMES[:n]


def _mel_cache_path(paths: Sequence[str], fe: FrontEnd, window_seconds: float, augment: str = "clean") -> Path:
    from paravox.training.feature_cache import cache_root

    h = hashlib.sha1()
    key: list[Any] = [fe.to_dict(), window_seconds, 1] + ([augment] if augment != "clean" else [])
    h.update(json.dumps(key, sort_keys=True).encode())
    for p in paths:
        st = os.stat(p)
        h.update(f"{os.path.abspath(p)}|{st.st_size}|{int(st.st_mtime)}\n".encode())
    return cache_root() / f"tiny-mel-{h.hexdigest()[:16]}.npz"


def clip_mels(paths: Sequence[str], fe: FrontEnd | None = None, window_seconds: float = 5.0,
              cache: bool = True, progress: bool = False, augment: str = "clean") -> tuple[list[np.ndarray], np.ndarray]:
    """Log-mel frames of every window (at most ``window_seconds``, as the model frames
    input) of every file (or of its ``augment`` copy, made as the feature cache makes it):
    ``(mels, owner)`` where ``owner[j]`` is the file of window ``j``.
    Stored in one float16 ``.npz`` in the feature cache, keyed by the files, the copy and the front end."""
    from paravox.audio import load_audio
    from paravox.encoder.framing import windows
    from paravox.training.feature_cache import augmented_copy

    fe = fe or FrontEnd()
    store = _mel_cache_path(paths, fe, window_seconds, augment) if cache else None
    if store is not None and store.is_file():
        with np.load(store) as z:
            flat, lengths, owner = z["flat"], z["lengths"], z["owner"]
        edges = np.concatenate([[0], np.cumsum(lengths)])
        return [flat[:, a:b].astype(np.float32) for a, b in zip(edges[:-1], edges[1:])], owner
    mels, owner = [], []
    t0 = time.perf_counter()
    for i, p in enumerate(paths):
        samples = augmented_copy(load_audio(p).samples, p, augment)
        if len(samples) < 640:
            samples = np.pad(samples, (0, 640 - len(samples)))
        for piece in windows(samples, window_seconds):
            mels.append(log_mel(piece, fe))
            owner.append(i)
        if progress and (i + 1) % 500 == 0:
            print(f"log-mel ({augment}) {i + 1}/{len(paths)} ({time.perf_counter() - t0:.0f} s)", flush=True)
    owner_a = np.asarray(owner, dtype=np.int64)
    if store is not None:
        store.parent.mkdir(parents=True, exist_ok=True)
        tmp = store.with_name(store.stem + f".{os.getpid()}.tmp.npz")
        np.savez(tmp, flat=np.concatenate(mels, axis=1).astype(np.float16),
                 lengths=np.array([m.shape[1] for m in mels]), owner=owner_a)
        os.replace(tmp, store)
        # float16 as stored, so that a first run and a cached rerun train on identical input
        mels = [m.astype(np.float16).astype(np.float32) for m in mels]
    return mels, owner_a


# --------------------------------------------------------------------------- network


def _torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("training the tiny emotion model needs torch: pip install 'paravox[train]' torch") from exc
    return torch


def TinyNet(options: TinyOptions, n_mels: int = 64, n_labels: int = 9, n_dims: int = 0):
    """The student network (a ``torch.nn.Module``); see the module docstring."""
    torch = _torch()
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, k: int, stride: int):
            super().__init__()
            self.dw = nn.Conv1d(cin, cin, k, stride=stride, padding=k // 2, groups=cin, bias=False)
            self.bn1 = nn.BatchNorm1d(cin)
            self.pw = nn.Conv1d(cin, cout, 1, bias=False)
            self.bn2 = nn.BatchNorm1d(cout)
            self.residual = stride == 1 and cin == cout

        def forward(self, x):
            y = torch.relu(self.bn1(self.dw(x)))
            y = self.bn2(self.pw(y))
            return torch.relu(y + x if self.residual else y)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            o = options
            self.n_dims = n_dims
            self.norm = nn.BatchNorm1d(n_mels)
            self.stem = nn.Conv1d(n_mels, o.stem, 3, stride=2, padding=1, bias=False)
            self.stem_bn = nn.BatchNorm1d(o.stem)
            self.blocks = nn.Sequential(
                Block(o.stem, o.stem, o.kernel, 1),
                Block(o.stem, o.width, o.kernel, 2),
                Block(o.width, o.width, o.kernel, 1),
                Block(o.width, o.width, o.kernel, 2),
            )
            self.hidden = nn.Linear(2 * o.width, o.hidden)
            self.drop = nn.Dropout(o.dropout)
            self.logits = nn.Linear(o.hidden, n_labels)
            self.dims = nn.Linear(o.hidden, n_dims) if n_dims else None

        def forward(self, mel):
            if options.cmn:
                mel = mel - mel.mean(dim=2, keepdim=True)
            h = torch.relu(self.stem_bn(self.stem(self.norm(mel))))
            h = self.blocks(h)
            mean = h.mean(dim=2)
            std = torch.sqrt(((h - mean.unsqueeze(2)) ** 2).mean(dim=2) + 1e-5)
            z = self.drop(torch.relu(self.hidden(torch.cat([mean, std], dim=1))))
            if self.dims is None:
                return self.logits(z)
            return self.logits(z), torch.tanh(self.dims(z))

    return Net()


def _fuse(net):
    """A copy of ``net`` in eval mode with every convolution's batch-norm folded into it."""
    import copy

    from torch.nn.utils.fusion import fuse_conv_bn_eval

    net = copy.deepcopy(net).eval()
    net.stem = fuse_conv_bn_eval(net.stem, net.stem_bn)
    net.stem_bn = _torch().nn.Identity()
    for b in net.blocks:
        b.dw, b.bn1 = fuse_conv_bn_eval(b.dw, b.bn1), _torch().nn.Identity()
        b.pw, b.bn2 = fuse_conv_bn_eval(b.pw, b.bn2), _torch().nn.Identity()
    return net


# --------------------------------------------------------------------------- training


@dataclass
class TrainResult:
    net: Any
    options: TinyOptions
    n_dims: int
    seconds: float
    n_windows: int
    losses: list[float] = field(default_factory=list)


def _batches(lengths: np.ndarray, order: np.ndarray, batch: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Batches of similar length: sort a shuffled order by (jittered) length, cut, shuffle."""
    jitter = lengths[order] * rng.uniform(0.9, 1.1, size=len(order))
    ranked = order[np.argsort(jitter, kind="stable")]
    out = [ranked[i : i + batch] for i in range(0, len(ranked), batch)]
    rng.shuffle(out)
    return out


def train_student(mels: Sequence[np.ndarray], probs: np.ndarray, dims: np.ndarray | None,
                  labelled: np.ndarray, options: TinyOptions | None = None, log: bool = False,
                  unit: np.ndarray | None = None, variant: np.ndarray | None = None) -> TrainResult:
    """Distil ``probs`` (and ``dims``) of each window into a new :func:`TinyNet`.

    ``mels[j]`` is window ``j``'s log-mel, ``probs[j]``/``dims[j]`` its teacher targets,
    ``labelled[j]`` whether it comes from an emotion corpus (all of those are used every
    epoch; a share ``unlabelled_per_epoch`` of the others is drawn per epoch). With
    ``unit`` and ``variant`` (window ``j`` belongs to clip ``unit[j]``, read as its clean
    recording when ``variant[j] == 0`` or as an augmented copy otherwise), each epoch reads
    every labelled clip once, as one of its variants drawn at random. Runs on one
    thread and is deterministic for a given ``options.seed``.
    """
    torch = _torch()
    o = options or TinyOptions()
    torch.set_num_threads(1)
    torch.manual_seed(o.seed)
    rng = np.random.default_rng(o.seed)
    n_dims = 0 if dims is None else dims.shape[1]
    n_mels = mels[0].shape[0]
    net = TinyNet(o, n_mels=n_mels, n_labels=probs.shape[1], n_dims=n_dims)
    lengths = np.array([m.shape[1] for m in mels])
    lab, unl = np.flatnonzero(labelled), np.flatnonzero(~labelled)
    copies = variant is not None and bool(np.any(np.asarray(variant)[lab] > 0))
    choices = _variants(lab, unit, variant) if copies else None  # none: the clean recipe, draw for draw
    if not copies and o.copies:
        o = replace(o, copies=())  # config.json says what the student read, not what was asked for
    if choices is not None:
        unl = unl[np.asarray(variant)[unl] == 0]  # copies are drawn through their clip only
    n_lab = len(choices) if choices is not None else len(lab)
    n_unl = int(round(o.unlabelled_per_epoch * len(unl)))
    steps = o.epochs * int(np.ceil((n_lab + n_unl) / o.batch))
    opt = torch.optim.AdamW(net.parameters(), lr=o.lr, weight_decay=o.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=o.lr, total_steps=steps, pct_start=0.15)
    target = torch.from_numpy(probs.astype(np.float32))
    dim_target = torch.from_numpy(dims.astype(np.float32)) if dims is not None else None
    # the teacher's probabilities softened by tau (logits recovered from probabilities)
    soft = torch.softmax(torch.log(target.clamp_min(1e-8)) / o.tau, dim=1)
    gain = o.gain_db / 10.0  # log10 power units
    started = time.perf_counter()
    losses = []
    step = 0
    for epoch in range(o.epochs):
        net.train()
        order = _epoch_order(lab, choices, unl, n_unl, rng)
        total, count = 0.0, 0
        for idx in _batches(lengths, order, o.batch, rng):
            if step >= steps:
                break
            size = int(min(lengths[idx].min(), o.crop_frames))
            x = np.empty((len(idx), n_mels, size), dtype=np.float32)
            for r, j in enumerate(idx):
                a = int(rng.integers(0, lengths[j] - size + 1))
                x[r] = mels[j][:, a : a + size]
            x += rng.uniform(-gain, gain, size=(len(idx), 1, 1)).astype(np.float32)
            if o.freq_mask or o.time_mask:
                for r in range(len(idx)):
                    f = int(rng.integers(0, o.freq_mask + 1)) if o.freq_mask else 0
                    f0 = int(rng.integers(0, n_mels - f + 1))
                    t = int(rng.integers(0, min(o.time_mask, size // 4) + 1)) if o.time_mask else 0
                    t0 = int(rng.integers(0, size - t + 1))
                    fill = x[r].mean()
                    x[r, f0 : f0 + f, :] = fill
                    x[r, :, t0 : t0 + t] = fill
            out = net(torch.from_numpy(x))
            logits, pred_dims = (out if n_dims else (out, None))
            jt = torch.from_numpy(idx)
            loss = torch.nn.functional.kl_div(torch.log_softmax(logits / o.tau, dim=1), soft[jt],
                                              reduction="batchmean") * o.tau**2
            if n_dims:
                loss = loss + o.dims_weight * torch.nn.functional.mse_loss(pred_dims, dim_target[jt])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            total += loss.item() * len(idx)
            count += len(idx)
        losses.append(total / max(count, 1))
        if log:
            print(f"  epoch {epoch + 1}/{o.epochs}: loss {losses[-1]:.4f} ({time.perf_counter() - started:.0f} s)", flush=True)
    net.eval()
    return TrainResult(net, o, n_dims, time.perf_counter() - started, len(mels), losses)


def _epoch_order(lab: np.ndarray, choices: list[list[np.ndarray]] | None, unl: np.ndarray, n_unl: int,
                 rng: np.random.Generator) -> np.ndarray:
    """The windows of one epoch: every labelled window (or, with ``choices``, the windows of
    one variant drawn per labelled clip), then ``n_unl`` unlabelled windows drawn afresh."""
    if choices is not None:
        picks = rng.integers(0, [len(c) for c in choices])
        lab = np.concatenate([c[k] for c, k in zip(choices, picks)])
    return np.concatenate([lab, rng.choice(unl, n_unl, replace=False)]) if n_unl else lab


def _variants(lab: np.ndarray, unit: np.ndarray | None, variant: np.ndarray) -> list[list[np.ndarray]]:
    """For each labelled clip, the windows of each of its variants (clean first)."""
    if unit is None or len(unit) != len(variant):
        raise ValueError("train_student: variant needs unit, one entry per window")
    by_unit: dict[int, dict[int, list[int]]] = {}
    for j in lab:
        by_unit.setdefault(int(unit[j]), {}).setdefault(int(variant[j]), []).append(int(j))
    return [[np.asarray(w) for _, w in sorted(v.items())] for _, v in sorted(by_unit.items())]


def predict(net: Any, mels: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
    """Student probabilities (and dimensions) of whole windows, in torch (for evaluation)."""
    torch = _torch()
    net.eval()
    probs, dims = [], []
    with torch.no_grad():
        for m in mels:
            out = net(torch.from_numpy(np.ascontiguousarray(m))[None])
            logits, d = (out if isinstance(out, tuple) else (out, None))
            probs.append(torch.softmax(logits, dim=1)[0].numpy())
            if d is not None:
                dims.append(d[0].numpy())
    return np.asarray(probs, dtype=np.float32), (np.asarray(dims, dtype=np.float32) if dims else None)


# --------------------------------------------------------------------------- export


def export(result: TrainResult, directory: str | os.PathLike, labels: Sequence[str],
           fe: FrontEnd | None = None, training: dict[str, Any] | None = None) -> Path:
    """Write ``model.onnx`` (batch-norms folded) and ``config.json`` into ``directory``."""
    torch = _torch()
    fe = fe or FrontEnd()
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    net = _fuse(result.net)
    names = ["logits"] + (["dims"] if result.n_dims else [])
    axes = {"mel": {0: "batch", 2: "frames"}, **{n: {0: "batch"} for n in names}}
    tmp = d / "model.tmp.onnx"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.zeros(1, fe.n_mels, 200),), str(tmp), input_names=["mel"], output_names=names,
                          dynamic_axes=axes, opset_version=17, do_constant_folding=True, dynamo=False)
    _strip_doc(tmp)
    os.replace(tmp, d / "model.onnx")
    config = {
        "format": FORMAT,
        "version": VERSION,
        "labels": list(labels),
        "dimensions": list(dimension_names(n=result.n_dims)) if result.n_dims else [],
        "front_end": fe.to_dict(),
        "temperature": 1.0,
        "window_seconds": 5.0,
        "training": {"options": result.options.to_dict(), **(training or {})},
    }
    (d / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return d


def _strip_doc(path: Path) -> None:
    """Drop the exporter's version/doc strings so that the file is byte-identical across runs."""
    import onnx

    m = onnx.load(str(path))
    m.producer_version = ""
    m.doc_string = ""
    for n in m.graph.node:
        n.doc_string = ""
    onnx.save(m, str(path))


def onnx_parameters(path: str | os.PathLike) -> int:
    """Numbers stored in the graph's initializers (its parameter count after folding)."""
    import onnx

    m = onnx.load(str(path))
    return int(sum(int(np.prod(t.dims)) for t in m.graph.initializer))
