"""A second opinion on laughter: the Switchboard laughter detector, run without torch.

The event detector was trained on isolated bursts pasted into read speech, and its gate (the
isolated classifier's ``none``) drops laughs it finds inside real talk. This model learnt
laughter from real telephone conversations (Gillick, Deng, Ryokai and Bamman, "Robust
laughter detection in noisy environments", Interspeech 2021; code and weights
``jrgillick/laughter-detection`` @ 5d5e0327, MIT, checkpoint
``resnet_without_augmentation``), so it hears laughter mixed with speech. On its own it also
fires on read speech, coughs and sneezes, so :meth:`LaughterDetector.events` writes a laugh only where
the event detector hears vocal activity too (see ``docs/vocal-events-protocol.md``, round 3).

Input: 8-kHz mono; a power mel spectrogram (n_fft 2048, hop 186, Hann, centred with reflect
padding, 128 Slaney mel bands 0-4 kHz, Slaney area-normalised), in dB below the input's
loudest bin, floored at -80 dB. The network (``weights/laughter/switchboard.onnx``, exported
from the upstream checkpoint by ``benchmarks/experiments/switchboard_laughter.py export``) is
fully convolutional in time: the map, padded by 22 frames of its minimum at each end, goes
through it once, giving the probability of every 8th window (186 ms apart), linearly
interpolated to every frame (23.25 ms). A second pass offset by 4 frames (93 ms apart) found
the same laughs on every clip measured at 1.65 times the cost (5.83 against 3.53 s in ``benchmarks/events_speed.py``) (``docs/vocal-events-protocol.md``,
round 3). About 15 ms per second of audio, features included (``benchmarks/events_speed.py``); :meth:`LaughterDetector.events`
runs it only around the detector's free active stretches.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from paravox.errors import ModelError
from paravox.result import Event
from paravox.vocal_events.model import _runs

SR = 8000
HOP = 186
N_FFT = 2048
N_MELS = 128
WINDOW = 44  # frames the network sees per output (1.0 s)
STRIDE = 8  # frames between the outputs of one pass
SHIFTS = 1  # passes, offset by STRIDE // SHIFTS frames (2 passes found the same laughs at 1.65 times the cost)
TOP_DB = 80.0
FRAME_SECONDS = HOP / SR
MARGIN = 96  # feature frames of context past a crop's last wanted window: its values equal the whole map's
BLOCK = 1024  # STFT frames per block (24 s of audio, ~30 MB of spectra)
CHUNK = 1024  # frames the network computes per run (plus margins: ~45 MB of activations)
REACH = 3.0  # seconds computed either side of an active stretch (a laugh's run and span may reach past it)


def _hz_to_mel(f):
    f = np.asarray(f, dtype=np.float64)
    log = 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(f >= 1000.0, log, f / (200.0 / 3))


def _mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64)
    log = 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0))
    return np.where(m >= 15.0, log, m * (200.0 / 3))


def mel_filterbank() -> np.ndarray:
    """(128, 1025) triangular filters on Slaney's mel scale, 0-4 kHz, each of unit area."""
    bins = np.linspace(0.0, SR / 2, N_FFT // 2 + 1)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(SR / 2), N_MELS + 2))
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    tri = np.clip(np.minimum((bins[None] - lo) / (mid - lo), (hi - bins[None]) / (hi - mid)), 0.0, None)
    return (tri * (2.0 / (hi - lo))).astype(np.float32)


_FILTERS = mel_filterbank()
_HANN = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)


def _halve_rate(x: np.ndarray) -> np.ndarray:
    """16 kHz -> 8 kHz as ``scipy.signal.resample_poly(x, 1, 2)`` does it (equal to float32
    precision; scipy is not a dependency): a 41-tap Kaiser-windowed (beta 5) low-pass at a
    quarter of the input rate, unit gain at DC, every second output of the aligned convolution."""
    if len(x) == 0:
        return np.zeros(0, dtype=np.float32)
    half_len = 20
    n = np.arange(2 * half_len + 1)
    h = 0.5 * np.sinc(0.5 * (n - half_len)) * np.kaiser(2 * half_len + 1, 5.0)
    h = np.concatenate([[0.0, 0.0], h / h.sum()]).astype(np.float32)  # scipy's pre-padding to the output grid
    y = np.convolve(np.asarray(x, dtype=np.float32), h)[::2]
    return y[11 : 11 + (len(x) + 1) // 2]


def features(samples16k: np.ndarray) -> np.ndarray:
    """(frames, 128) float32 dB features of 16-kHz mono audio, frames = 1 + len8k // 186."""
    y = _halve_rate(samples16k)
    half = N_FFT // 2
    y = np.pad(y, half, mode="reflect" if len(y) > half else "constant")
    frames = np.lib.stride_tricks.sliding_window_view(y, N_FFT)[::HOP]
    mel = np.empty((len(frames), N_MELS), dtype=np.float32)
    for a in range(0, len(frames), BLOCK):  # in blocks: the spectra of a long input would need GBs at once
        spec = np.fft.rfft(frames[a : a + BLOCK] * _HANN, axis=1)
        mel[a : a + BLOCK] = (np.abs(spec) ** 2).astype(np.float32) @ _FILTERS.T
    amin = 1e-5
    db = 20.0 * np.log10(np.maximum(mel, amin)) - 20.0 * np.log10(max(float(mel.max(initial=0.0)), amin))
    return np.maximum(db, db.max(initial=0.0) - TOP_DB).astype(np.float32)


@dataclass
class LaughterDetector:
    """Frame-level laughter probability (:meth:`frame_probs`) and the laughs it adds to a
    detector's events (:meth:`events`). Built by :func:`load_laughter` from the detector's
    config (``"laughter"``): the ONNX file, and the rule's ``threshold`` (frame probability),
    ``min_duration_seconds`` and ``merge_gap_seconds`` (pulses of one laugh closer than this
    are one laugh); a laugh's span reaches out from its sure run while the probability stays
    at ``span_threshold`` or more; ``activity_threshold``: the detector activity it needs."""

    path: Path
    threshold: float = 0.9
    min_duration: float = 0.2
    merge_gap: float = 0.3
    span_threshold: float = 0.5
    #: the event detector's activity (any tag) a laugh must overlap
    activity_threshold: float = 0.15

    def __post_init__(self) -> None:
        self._sessions: dict[int, Any] = {}
        self._session()  # a missing or broken file fails here, when the model is loaded

    def _open(self, threads: int):
        """The ONNX session for ``threads`` intra-op threads (0: ONNX Runtime's default)."""
        if threads not in self._sessions:
            import onnxruntime as ort

            opts = ort.SessionOptions()
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
            try:
                self._sessions[threads] = ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"])
            except Exception as exc:  # onnxruntime raises its own types for missing and broken files
                raise ModelError(f"cannot load the laughter model {self.path}: {exc}; reinstall paravox, "
                                 "or remove \"laughter\" from the detector's config.json") from exc
        return self._sessions[threads]

    def _session(self):
        from paravox.encoder.onnx_encoder import runtime_threads

        return self._open(runtime_threads())

    def frame_probs(self, samples16k: np.ndarray,
                    spans: Sequence[tuple[float, float]] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(times in s, probabilities): one per feature frame (23.25 ms), the time being the
        centre of the 1-s window its probability comes from. With ``spans`` ((start, end) in
        s) only the frames inside them are computed (the rest are 0): the network runs on the
        feature map around each span with :data:`MARGIN` frames to spare, which gives the
        whole map's values there (the features themselves are always of the whole input)."""
        feats = features(samples16k)
        n = len(feats)
        times = (np.arange(n) * FRAME_SECONDS).astype(np.float32)
        half = WINDOW // 2
        padded = np.pad(feats, ((half, half), (0, 0)), constant_values=float(feats.min(initial=-TOP_DB)))
        if spans is None:
            wanted = [(0, n)]
        else:
            wanted = []
            for a, b in sorted(spans):
                lo, hi = max(0, int(np.floor(a / FRAME_SECONDS))), min(n, int(np.ceil(b / FRAME_SECONDS)) + 1)
                if hi <= lo:
                    continue
                if wanted and lo <= wanted[-1][1]:
                    wanted[-1] = (wanted[-1][0], max(wanted[-1][1], hi))
                else:
                    wanted.append((lo, hi))
        # pieces of at most CHUNK frames, each with its margins: the same values, bounded memory
        wanted = [(a, min(a + CHUNK, hi)) for lo, hi in wanted for a in range(lo, hi, CHUNK)]
        p = np.zeros(n, dtype=np.float32)
        session = self._session()
        for lo, hi in wanted:
            whole = lo == 0 and hi == n
            c0 = 0 if whole else max(0, (lo - MARGIN) // STRIDE * STRIDE)  # on the passes' grid
            c1 = len(padded) if whole else min(len(padded), hi + WINDOW + MARGIN)
            at, val = [], []
            for d in range(0, STRIDE, STRIDE // SHIFTS):
                x = padded[c0 + d : c1]
                if len(x) < WINDOW:
                    continue
                q = session.run(None, {"mel": np.ascontiguousarray(x)[None, None]})[0][0]
                q = q[: max(0, (len(x) - WINDOW) // STRIDE + 1)]  # outputs whose window lies inside the crop
                pos = c0 + d + STRIDE * np.arange(len(q))
                keep = (pos >= lo) & (pos < hi) if whole else (pos >= max(lo - STRIDE, 0)) & (pos < min(hi + STRIDE, n))
                at.append(pos[keep])
                val.append(q[keep])
            at, val = np.concatenate(at), np.concatenate(val)
            if len(at) == 0:
                continue
            order = np.argsort(at, kind="stable")
            p[lo:hi] = np.interp(np.arange(lo, hi), at[order], val[order])
        return times, p

    def events(self, samples16k: np.ndarray, active: Sequence[tuple[float, float]],
               taken: Sequence[Event]) -> list[Event]:
        """``laugh`` events where the frame probability reaches ``threshold`` for at least
        ``min_duration`` s, overlapping a stretch of ``active`` (the event detector's vocal
        activity, (start, end) in s) and no event already ``taken`` (both judged on the sure
        run). The score is the peak probability. Only the free active stretches and
        :data:`REACH` s around them are computed; nothing when no active stretch is free."""
        free = [(a, b) for a, b in active if not any(min(e.end, b) - max(e.start, a) > 0 for e in taken)]
        if not free or len(samples16k) == 0:
            return []
        times, p = self.frame_probs(samples16k, [(a - REACH, b + REACH) for a, b in free])
        out = []
        for k, m in _runs(p >= self.threshold, int(self.merge_gap / FRAME_SECONDS)):
            a = max(float(times[k]) - FRAME_SECONDS / 2, 0.0)
            b = float(times[m - 1]) + FRAME_SECONDS / 2
            if b - a < self.min_duration:
                continue
            if any(min(e.end, b) - max(e.start, a) > 0 for e in taken):
                continue
            if not any(min(y, b) - max(x, a) > 0 for x, y in active):
                continue
            # the laugh's span: out from the sure run while the probability stays >= span_threshold,
            # never into an event already there
            lo, hi = k, m
            while lo > 0 and p[lo - 1] >= self.span_threshold:
                lo -= 1
            while hi < len(p) and p[hi] >= self.span_threshold:
                hi += 1
            a2 = max(float(times[lo]) - FRAME_SECONDS / 2, 0.0)
            b2 = float(times[hi - 1]) + FRAME_SECONDS / 2
            for e in taken:
                if e.end <= a:
                    a2 = max(a2, e.end)
                elif e.start >= b:
                    b2 = min(b2, e.start)
            score = float(p[k:m].max())
            if out and out[-1].end > round(a2, 2):  # two sure runs inside one span: one laugh
                prev = out.pop()
                a2, score = prev.start, max(prev.score, score)
            out.append(Event("laugh", round(a2, 2), round(b2, 2), score))
        return out


#: The detector config's ``"laughter"`` block as shipped (``paravox train events`` writes it too).
DEFAULT_CONFIG = {"model": "laughter/switchboard.onnx", "threshold": 0.9, "activity_threshold": 0.15,
                  "min_duration_seconds": 0.2, "merge_gap_seconds": 0.3, "span_threshold": 0.5}


def load_laughter(config: Mapping[str, Any] | None, model_dir: Path) -> LaughterDetector | None:
    """The laughter model a detector's config names (``{"model": "laughter/x.onnx", ...}``,
    the path relative to the events model's directory; keys it leaves out take
    :data:`DEFAULT_CONFIG`'s values), or None when it names none; loaded once per process for
    each file and rule."""
    if not config:
        return None
    c = {**DEFAULT_CONFIG, **config}
    return _load(str(Path(model_dir) / c["model"]), float(c["threshold"]), float(c["min_duration_seconds"]),
                 float(c["merge_gap_seconds"]), float(c["span_threshold"]), float(c["activity_threshold"]))


@lru_cache(maxsize=4)
def _load(path: str, threshold: float, min_duration: float, merge_gap: float, span: float,
          activity: float) -> LaughterDetector:
    return LaughterDetector(Path(path), threshold=threshold, min_duration=min_duration, merge_gap=merge_gap,
                            span_threshold=span, activity_threshold=activity)
