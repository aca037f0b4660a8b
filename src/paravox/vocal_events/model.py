"""The two vocal-event models, run in NumPy from a model directory (no torch at inference,
except for a classifier trained on a hub backbone: :mod:`paravox.vocal_events.backbone`).

A model directory holds ``config.json`` and ``weights.npz``; ``paravox train events`` writes
one, and the shipped models live in ``paravox/vocal_events/weights/``.

- :class:`VocalizationClassifier`: one isolated vocalization -> a probability per tag.
  Pooled encoder states -> standardise -> a small MLP (or a linear layer) -> softmax / T.
- :class:`EventDetector`: a recording -> a probability per tag for every 20-ms frame.
  Per-frame encoder states over fixed chunks -> standardise -> two 1-D convolutions -> a
  sigmoid per tag; overlapping chunks are averaged. :meth:`EventDetector.events` turns the
  frame scores into timed events with per-tag thresholds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from paravox.errors import ModelError
from paravox.result import Event
from paravox.vocal_events import features

__all__ = [
    "ModelError",
    "VocalizationClassifier",
    "EventDetector",
    "default_model_dir",
    "load_classifier",
    "load_detector",
]

CLASSIFIER_KIND = "paravox-vocalization-classifier"
DETECTOR_KIND = "paravox-event-detector"


def default_model_dir() -> Path:
    """Where the shipped event models live (inside the installed package)."""
    return Path(str(resources.files("paravox.vocal_events") / "weights"))


def _read(directory: Path, kind: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    directory = Path(directory)
    config_path, weights_path = directory / "config.json", directory / "weights.npz"
    for path in (config_path, weights_path):
        if not path.is_file():
            raise ModelError(
                f"{directory}: no {path.name}; a model directory holds config.json and weights.npz "
                "(written by 'paravox train events')"
            )
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{config_path}: not valid JSON ({exc}); retrain or restore the file") from None
    if config.get("kind") != kind:
        raise ModelError(f"{config_path}: kind is {config.get('kind')!r}, expected {kind!r}")
    try:
        with np.load(weights_path, allow_pickle=False) as npz:
            weights = {k: npz[k].astype(np.float32) for k in npz.files}
    except (OSError, ValueError) as exc:
        raise ModelError(f"{weights_path}: unreadable ({exc}); retrain or restore the file") from None
    tags = config.get("tags")
    if not isinstance(tags, list) or not tags or not all(isinstance(t, str) for t in tags):
        raise ModelError(f"{config_path}: 'tags' must be a non-empty list of tag names")
    if "reject" in config and config["reject"] not in tags:
        raise ModelError(f"{config_path}: the reject class {config['reject']!r} is not among its 'tags'")
    if config.get("framing", "short") not in features.FRAMINGS:
        raise ModelError(f"{config_path}: 'framing' is {config['framing']!r}; this paravox knows "
                         f"{', '.join(features.FRAMINGS)} (a newer paravox may have written this model)")
    if "backbone" in config:
        from paravox.vocal_events.backbone import check_spec

        check_spec(config["backbone"], str(config_path))
    out = weights.get("out_w")
    if out is None or out.shape[0] != len(tags):
        got = None if out is None else out.shape[0]
        raise ModelError(
            f"{directory}: config lists {len(tags)} tags but the weights score {got}; "
            "the two files come from different trainings"
        )
    return config, weights


def _gelu(x: np.ndarray) -> np.ndarray:
    """GELU, tanh approximation: ``0.5 x (1 + tanh(0.79788456 (x + 0.044715 x^3)))``.

    Written as in-place steps on one temporary: the one-line form makes six temporaries
    and took a quarter of the detector head's time.
    """
    y = x * x
    y *= x
    y *= 0.044715
    y += x
    y *= 0.7978845608
    np.tanh(y, out=y)
    y += 1.0
    y *= x
    y *= 0.5
    return y


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _conv_matrix(w: np.ndarray) -> np.ndarray:
    """A 1-D convolution's weights ``(Cout, Cin, K)`` as the ``(K*Cin, Cout)`` matrix that
    :func:`_conv1d_same` multiplies its stacked input by."""
    k, c_in, c_out = w.shape[2], w.shape[1], w.shape[0]
    return np.ascontiguousarray(w.transpose(2, 1, 0).reshape(k * c_in, c_out))


def _conv1d_same(x: np.ndarray, w: np.ndarray, b: np.ndarray, dilation: int = 1, wmat: np.ndarray | None = None) -> np.ndarray:
    """``x`` (T, Cin), ``w`` (Cout, Cin, K) -> (T, Cout), zero padding keeps T.

    ``wmat`` is ``_conv_matrix(w)`` when the caller keeps it (it is rebuilt otherwise).
    """
    k = w.shape[2]
    pad = dilation * (k - 1) // 2
    xp = np.pad(x, ((pad, pad), (0, 0)))
    t = x.shape[0]
    cols = np.concatenate([xp[i * dilation : i * dilation + t] for i in range(k)], axis=1)  # (T, K*Cin)
    return cols @ (_conv_matrix(w) if wmat is None else wmat) + b


@dataclass
class VocalizationClassifier:
    """Isolated vocalization -> probability per tag.

    A classifier may also know a *reject* class (``"reject": "none"`` in its config, the
    last of its config's tags): audio that is no vocalization at all, e.g. speech around
    a detector's false alarm, or noise. It is never a tag: :attr:`tags` and
    :meth:`predict_features` leave it out (the other probabilities renormalised),
    :meth:`reject_probability` gives it. :attr:`labels` and :meth:`label_probabilities`
    keep it as one more answer (what :func:`paravox.classify` reports as ``none``).
    """

    config: dict[str, Any]
    weights: dict[str, np.ndarray]
    source: str = "<memory>"

    @classmethod
    def load(cls, directory: str | Path) -> VocalizationClassifier:
        config, weights = _read(Path(directory), CLASSIFIER_KIND)
        return cls(config, weights, str(directory))

    @property
    def tags(self) -> list[str]:
        reject = self.config.get("reject")
        return [t for t in self.config["tags"] if t != reject]

    @property
    def reject(self) -> str | None:
        """The reject class's name in the config, or None when it has none."""
        return self.config.get("reject")

    @property
    def labels(self) -> list[str]:
        """Every answer, in the columns of :meth:`label_probabilities`: the tags and, where
        there is one, the reject class."""
        return list(self.config["tags"])

    @property
    def layers(self) -> list[int]:
        return [int(x) for x in self.config["layers"]]

    @property
    def backbone(self) -> dict[str, Any] | None:
        """The hub backbone whose features the classifier reads (``paravox train isolated
        --backbone``), or None: paravox's own Whisper-base states."""
        return self.config.get("backbone")

    def prepare(self) -> None:
        """Load what :meth:`embed` needs before any input: a hub backbone (torch; the catalogue's
        one-line error when its runtime or files are absent). Nothing for paravox's own features."""
        if self.backbone is not None:
            from paravox.vocal_events.backbone import for_config

            for_config(self.backbone)

    def embed(self, samples: np.ndarray) -> np.ndarray:
        """The pooled encoder states the classifier reads (its input features)."""
        if self.backbone is None:
            return features.pooled_states(samples, self.layers, self.config.get("framing", "short"))
        from paravox.vocal_events.backbone import for_config

        x = for_config(self.backbone).pooled(samples)
        if x.shape[-1] != self.weights["mean"].shape[-1]:
            raise ModelError(f"{self.source}: the {self.backbone['name']} in the cache gives {x.shape[-1]} features; "
                             f"this head was trained on {self.weights['mean'].shape[-1]} (another model under that name?)")
        return x

    def label_probabilities(self, x: np.ndarray) -> np.ndarray:
        """``(n, labels)`` from pooled features ``(n, D)``: the reject class included, where there is one."""
        w = self.weights
        h = (np.atleast_2d(x) - w["mean"]) / w["scale"]
        if "hidden_w" in w:
            h = np.maximum(h @ w["hidden_w"].T + w["hidden_b"], 0.0)
        logits = h @ w["out_w"].T + w["out_b"]
        return _softmax(logits / float(self.config.get("temperature", 1.0)))

    def predict_features(self, x: np.ndarray) -> np.ndarray:
        """Probabilities ``(n, tags)`` from pooled features ``(n, D)``."""
        p = self.label_probabilities(x)
        reject = self.config.get("reject")
        if reject is None:
            return p
        p = np.delete(p, self.config["tags"].index(reject), axis=1)
        return p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12)

    def reject_probability(self, x: np.ndarray) -> np.ndarray:
        """``(n,)``: how likely each input is no vocalization (zeros without a reject class)."""
        reject = self.config.get("reject")
        if reject is None:
            return np.zeros(len(np.atleast_2d(x)))
        return self.label_probabilities(x)[:, self.config["tags"].index(reject)]

    def predict(self, samples: np.ndarray) -> dict[str, float]:
        probs = self.predict_features(self.embed(samples))[0]
        return {tag: float(p) for tag, p in zip(self.tags, probs)}


@dataclass
class EventDetector:
    """Recording -> per-frame probability per tag -> timed events."""

    config: dict[str, Any]
    weights: dict[str, np.ndarray]
    source: str = "<memory>"
    thresholds: dict[str, float] = field(default_factory=dict)
    # (weights array, its conv matrix) per convolution, built on first use
    _conv_mats: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.thresholds:
            self.thresholds = {t: float(v) for t, v in self.config.get("thresholds", {}).items()}

    def _conv(self, x: np.ndarray, name: str, dilation: int = 1) -> np.ndarray:
        w = self.weights[f"{name}_w"]
        cached = self._conv_mats.get(name)
        if cached is None or cached[0] is not w:  # first use, or the weights were replaced
            cached = self._conv_mats[name] = (w, _conv_matrix(w))
        mat = cached[1]
        return _conv1d_same(x, w, self.weights[f"{name}_b"], dilation, wmat=mat)

    @classmethod
    def load(cls, directory: str | Path) -> EventDetector:
        config, weights = _read(Path(directory), DETECTOR_KIND)
        return cls(config, weights, str(directory))

    @property
    def tags(self) -> list[str]:
        return list(self.config["tags"])

    @property
    def layer(self) -> int:
        return int(self.config["layer"])

    def frame_logits_from_states(self, states: np.ndarray) -> np.ndarray:
        w = self.weights
        x = (states - w["mean"]) / w["scale"]
        h = _gelu(self._conv(x, "conv1"))
        h = _gelu(self._conv(h, "conv2", dilation=int(self.config.get("dilation", 2))))
        return h @ w["out_w"].T + w["out_b"]

    def frame_scores(self, samples: np.ndarray, progress=None) -> np.ndarray:
        """``(frames, tags)`` probabilities, one row per 20 ms of ``samples``."""
        sr = 16000
        n_frames = len(samples) // 320
        chunk = int(self.config["chunk_seconds"] * sr)
        hop = int(self.config["hop_seconds"] * sr)
        total = np.zeros((n_frames, len(self.tags)), np.float32)
        count = np.zeros((n_frames, 1), np.float32)
        for start, end in features.chunk_spans(len(samples), chunk, hop):
            states = features.layer_states(samples[start:end], [self.layer])[self.layer]
            logits = self.frame_logits_from_states(states)
            f0 = start // 320
            m = min(len(logits), n_frames - f0)
            if m <= 0:
                continue
            total[f0 : f0 + m] += 1.0 / (1.0 + np.exp(-logits[:m]))
            count[f0 : f0 + m] += 1.0
            if progress:
                progress(end - start)
        return total / np.maximum(count, 1.0)

    def events(
        self,
        scores: np.ndarray,
        *,
        threshold: float | Mapping[str, float] | None = None,
        tags: Sequence[str] | None = None,
        min_duration: float | None = None,
    ) -> list[Event]:
        """Timed events from frame scores: smooth, threshold per tag, join short gaps, drop short runs.

        Runs are found with the calibrated per-tag frame thresholds; ``threshold`` then keeps
        the events whose score reaches it (see :func:`keep_event`); ``tags`` restricts the output.
        """
        cfg = self.config
        smooth = int(cfg.get("median_frames", 5))
        gap = int(round(float(cfg.get("merge_gap_seconds", 0.2)) / features.FRAME_SECONDS))
        min_dur = float(cfg.get("min_duration_seconds", 0.1) if min_duration is None else min_duration)
        wanted = set(self.tags if tags is None else tags)
        events: list[Event] = []
        for j, tag in enumerate(self.tags):
            if tag not in wanted:
                continue
            s = _moving_average(scores[:, j], smooth)
            on = s >= self.thresholds.get(tag, 0.5)
            for a, b in _runs(on, gap):
                if (b - a) * features.FRAME_SECONDS < min_dur:
                    continue
                event = Event(tag, round(a * features.FRAME_SECONDS, 2), round(b * features.FRAME_SECONDS, 2), float(s[a:b].max()))
                if keep_event(event, threshold):
                    events.append(event)
        return _resolve_overlaps(sorted(events, key=lambda e: (e.start, -e.score)))


def keep_event(event: Event, threshold: float | Mapping[str, float] | None) -> bool:
    """The one meaning of an event threshold: keep the event when its score, rounded as every
    output prints it (4 decimals), is at least the threshold (one number for every tag, or
    ``{tag: number}`` for the tags named; other tags are kept).

    >>> keep_event(Event("laugh", 0.0, 1.0, 0.30804), 0.3), keep_event(Event("laugh", 0.0, 1.0, 0.29), {"laugh": 0.3})
    (True, False)
    >>> keep_event(Event("cough", 0.0, 1.0, 0.1), {"laugh": 0.3})
    True
    """
    if threshold is None:
        return True
    limit = threshold.get(event.tag) if isinstance(threshold, Mapping) else threshold
    return limit is None or round(float(event.score), 4) >= float(limit)


def _moving_average(x: np.ndarray, k: int) -> np.ndarray:
    if k <= 1 or len(x) < k:
        return x
    return np.convolve(np.pad(x, (k // 2, k - 1 - k // 2), mode="edge"), np.ones(k) / k, mode="valid")


def _runs(on: np.ndarray, gap: int) -> list[tuple[int, int]]:
    """``[start, end)`` frame runs of ``on``, joining runs separated by at most ``gap`` frames."""
    idx = np.flatnonzero(np.diff(np.concatenate([[0], on.astype(np.int8), [0]])))
    runs = list(zip(idx[::2].tolist(), idx[1::2].tolist()))
    merged: list[tuple[int, int]] = []
    for a, b in runs:
        if merged and a - merged[-1][1] <= gap:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def _resolve_overlaps(events: list[Event]) -> list[Event]:
    """Where events of different tags overlap by more than half the shorter, keep the surer one."""
    kept: list[Event] = []
    for e in sorted(events, key=lambda e: -e.score):
        clash = False
        for k in kept:
            overlap = min(e.end, k.end) - max(e.start, k.start)
            if overlap > 0.5 * min(e.end - e.start, k.end - k.start):
                clash = True
                break
        if not clash:
            kept.append(e)
    return sorted(kept, key=lambda e: (e.start, e.end))


@lru_cache(maxsize=4)
def load_classifier(directory: str | None = None) -> VocalizationClassifier:
    """The classifier in ``directory`` (default: the shipped one), loaded once per process."""
    return VocalizationClassifier.load(directory or default_model_dir() / "classifier")


@lru_cache(maxsize=4)
def load_detector(directory: str | None = None) -> EventDetector:
    """The detector in ``directory`` (default: the shipped one), loaded once per process."""
    return EventDetector.load(directory or default_model_dir() / "detector")


def find_events(
    samples: np.ndarray,
    detector: EventDetector,
    classifier: VocalizationClassifier | None,
    *,
    scores: np.ndarray | None = None,
    threshold: float | Mapping[str, float] | None = None,
    tags: Sequence[str] | None = None,
    min_duration: float | None = None,
    gate: VocalizationClassifier | None = None,
    laughter: Any = None,
) -> list[Event]:
    """Events in ``samples``: where the detector hears a vocalization, what the two models agree it is.

    1. The detector's frame scores locate vocal activity (any tag): the per-frame maximum,
       smoothed, against ``activity_threshold`` from its config; runs closer than the merge
       gap are joined, short ones dropped.
    2. Each region is named by a weighted mean of the classifier's probabilities (on the
       region's audio, 0.1 s either side) and the detector's mean frame probabilities there
       (``classifier_weight`` in the config, default 0.5). With ``require_agreement`` both
       models must pick the tag; ``min_label_probability`` drops regions whose winning tag is less probable than that.
       A classifier with a reject class drops the regions it gives that class 0.5 or more;
       so does ``gate``, a second classifier with a reject class (the shipped ``isolated/``
       one, whose ``none`` was trained on speech and noise), at ``gate_threshold`` in the
       detector's config (default 0.5), on the region's own audio.
    3. The event's score is that probability times the region's peak activity. ``threshold``
       (one number, or ``{tag: number}``) drops the events scoring below it
       (:func:`keep_event`): it is compared with the score every output prints, never
       with the detector's activity.
    4. ``laughter`` (a :class:`~paravox.vocal_events.laughter.LaughterDetector`, when the
       config names one) adds ``laugh`` events where it is sure of laughter and the detector
       hears any vocal activity (all tags, at its ``activity_threshold``), away from the
       events already found.

    Without a classifier (or with ``label_with_classifier`` off in the detector's config)
    this is :meth:`EventDetector.events`.
    """
    cfg = detector.config
    if scores is None:
        scores = detector.frame_scores(samples)
    if classifier is None or not cfg.get("label_with_classifier", True):
        return detector.events(scores, threshold=threshold, tags=tags, min_duration=min_duration)
    fs = features.FRAME_SECONDS
    wanted = [t for t in detector.tags if tags is None or t in tags]
    cols = [detector.tags.index(t) for t in wanted]
    if not cols:
        return []
    activity = _moving_average(scores[:, cols].max(axis=1), int(cfg.get("median_frames", 5)))
    act_thr = float(cfg.get("activity_threshold", 0.5))
    gap = int(round(float(cfg.get("merge_gap_seconds", 0.2)) / fs))
    min_dur = float(cfg.get("min_duration_seconds", 0.1) if min_duration is None else min_duration)
    clf_weight = float(cfg.get("classifier_weight", 0.5))
    min_label_p = float(cfg.get("min_label_probability", 0.0))
    clf_cols = [classifier.tags.index(t) if t in classifier.tags else None for t in wanted]
    reject = getattr(classifier, "reject_probability", None)  # duck-typed classifiers may lack it
    gate_thr = float(cfg.get("gate_threshold", 0.5))
    events: list[Event] = []
    for a, b in _runs(activity >= act_thr, gap):
        if (b - a) * fs < min_dur:
            continue
        det_p = scores[a:b, cols].mean(axis=0)
        det_p = det_p / max(float(det_p.sum()), 1e-9)
        lo, hi = max(0, int((a * fs - 0.1) * 16000)), min(len(samples), int((b * fs + 0.1) * 16000))
        feats = classifier.embed(samples[lo:hi])
        clf_all = classifier.predict_features(feats)[0]
        if reject is not None and float(reject(feats)[0]) >= 0.5:
            continue  # the classifier hears no vocalization here (speech, a door): not an event
        clf_p = np.array([clf_all[j] if j is not None else 0.0 for j in clf_cols])
        clf_p = clf_p / max(float(clf_p.sum()), 1e-9)
        p = clf_weight * clf_p + (1.0 - clf_weight) * det_p
        k = int(p.argmax())
        if cfg.get("require_agreement", False) and (int(clf_p.argmax()) != k or int(det_p.argmax()) != k):
            continue
        if p[k] < min_label_p:
            continue
        event = Event(wanted[k], round(a * fs, 2), round(b * fs, 2), float(p[k] * activity[a:b].max()))
        if not keep_event(event, threshold):
            continue
        if gate is not None:  # last, as the dearest check: a second encoder pass over the region
            region = samples[int(a * fs * 16000) : int(b * fs * 16000)]
            if float(gate.reject_probability(gate.embed(region))[0]) >= gate_thr:
                continue  # the isolated classifier's "none": speech or noise, not an event
        events.append(event)
    if laughter is not None and "laugh" in wanted:
        every = _moving_average(scores.max(axis=1), int(cfg.get("median_frames", 5)))
        shortest = float(cfg.get("min_duration_seconds", 0.1))
        active = [(a * fs, b * fs) for a, b in _runs(every >= laughter.activity_threshold, gap) if (b - a) * fs >= shortest]
        laughs = [e for e in laughter.events(samples, active, events)
                  if keep_event(e, threshold) and e.end - e.start >= min_dur]
        events = sorted(events + laughs, key=lambda e: (e.start, e.end))
    return events
