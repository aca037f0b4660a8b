"""Realistic training recordings for the event detector (training only; inference never imports this).

A mixture is a few seconds of real speech with real vocalization clips placed between
utterances and, less often, over them, at varied levels, with noise and reverberation;
a share of mixtures holds speech only, so the detector learns not to fire on speech.
Every 20-ms frame carries the tags active in it (from each clip's own energy envelope).

The clip banks come from the data pack (``../shared/data``):

- vocalizations: ``nonverbal/deeply`` (16 classes, the manifest's ``tag``) and
  ``nonverbal/emogator`` (Amusement -> laugh, Relief -> sigh, Surprise -> gasp; acted bursts,
  noisy labels: an "oh!" counts as a gasp);
- speech: ``emotion/casia``, ``emotion/emodb``, ``emotion/ravdess``.

Speakers are split with :data:`HELD_OUT` so that the detector's own held-out mixtures use
voices it never trained on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from paravox.audio import load_audio

SR = 16000
HOP = 320  # samples per encoder frame (20 ms)

EMOGATOR_TAGS = {"Amusement": "laugh", "Relief": "sigh", "Surprise (Negative)": "gasp", "Surprise (Positive)": "gasp"}


def _deeply_fold1_test(root: Path) -> set[str]:
    folds = json.loads((root / "nonverbal/deeply/folds.json").read_text())
    return set(folds["1"]["test"])


# Voices kept out of the detector's training mixtures (its held-out evaluation uses them).
HELD_OUT = {
    "deeply": "the test part of the pack's fold 1",
    "emogator": "contributors 000226-000250",
    "casia": "speaker zhaoquanyin",
    "emodb": "speakers 03 and 08",
    "ravdess": "actors 01, 11 and 20 (EmoBox fold 1's test actors)",
}


@dataclass
class Clip:
    id: str
    path: Path
    tag: str | None  # None: speech
    speaker: str
    held_out: bool


def vocalization_clips(root: str | Path) -> list[Clip]:
    root = Path(root)
    fold1_test = _deeply_fold1_test(root)
    clips = []
    d = root / "nonverbal/deeply"
    for row in map(json.loads, (d / "manifest.jsonl").read_text().splitlines()):
        clips.append(Clip(row["id"], d / row["audio"], row["tag"], row["speaker"], row["id"] in fold1_test))
    e = root / "nonverbal/emogator"
    for row in map(json.loads, (e / "manifest.jsonl").read_text().splitlines()):
        tag = EMOGATOR_TAGS.get(row["category"])
        if tag:
            clips.append(Clip(row["id"], e / row["audio"], tag, "emogator-" + row["speaker"], int(row["speaker"]) >= 226))
    return clips


#: The speakers of each speech corpus that the detector's training never hears (:data:`HELD_OUT`).
HELD_OUT_SPEAKERS = {"casia": frozenset({"zhaoquanyin"}), "emodb": frozenset({"03", "08"}),
                     "ravdess": frozenset({"Actor_01", "Actor_11", "Actor_20"})}


def speech_clips(root: str | Path) -> list[Clip]:
    root = Path(root)
    clips = []
    for corpus, speakers in HELD_OUT_SPEAKERS.items():
        d = root / "emotion" / corpus
        for row in map(json.loads, (d / "manifest.jsonl").read_text().splitlines()):
            clips.append(Clip(row["id"], d / row["audio"], None, f"{corpus}-{row['speaker']}", row["speaker"] in speakers))
    return clips


def frame_db(samples: np.ndarray) -> np.ndarray:
    """RMS level in dBFS of each 20-ms frame."""
    n = len(samples) // HOP
    frames = samples[: n * HOP].reshape(n, HOP)
    return 10 * np.log10(np.mean(frames**2, axis=1) + 1e-10)


def active_frames(samples: np.ndarray, below_peak_db: float = 25.0, floor_db: float = -55.0) -> np.ndarray:
    """Frames where a vocalization clip is sounding: within ``below_peak_db`` of its loudest frame.

    Gaps shorter than 100 ms are closed, so a laugh's pulses make one event.
    """
    db = frame_db(samples)
    if not len(db):
        return np.zeros(0, bool)
    active = (db > db.max() - below_peak_db) & (db > floor_db)
    idx = np.flatnonzero(active)
    for a, b in zip(idx[:-1], idx[1:]):
        if 1 < b - a <= 5:
            active[a:b] = True
    return active


def trim_to_activity(samples: np.ndarray, margin_s: float = 0.08) -> tuple[np.ndarray, np.ndarray]:
    """The clip cut to its active part (plus a margin) and that part's frame mask."""
    active = active_frames(samples)
    idx = np.flatnonzero(active)
    if not len(idx):
        return samples[:0], active[:0]
    m = int(margin_s * SR / HOP)
    a, b = max(0, idx[0] - m), min(len(active), idx[-1] + 1 + m)
    return samples[a * HOP : b * HOP].copy(), active[a:b]


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2) + 1e-12))


class Bank:
    """Decoded clips, loaded once: vocalizations trimmed to their active part."""

    def __init__(self, vocal: Iterable[Clip], speech: Iterable[Clip], progress=None):
        self.vocal: list[tuple[Clip, np.ndarray, np.ndarray]] = []
        self.speech: list[tuple[Clip, np.ndarray]] = []
        for clip in vocal:
            x, mask = trim_to_activity(load_audio(clip.path).samples)
            if len(x) >= 4 * HOP:
                self.vocal.append((clip, x, mask))
            if progress:
                progress()
        self.by_tag: dict[str, list[int]] = {}
        for i, (clip, _, _) in enumerate(self.vocal):
            self.by_tag.setdefault(clip.tag, []).append(i)
        for clip in speech:
            x = load_audio(clip.path).samples
            db = frame_db(x)
            voiced = np.flatnonzero(db > db.max() - 35)
            if len(voiced):
                x = x[voiced[0] * HOP : (voiced[-1] + 1) * HOP]
            self.speech.append((clip, x))
            if progress:
                progress()


def _pick_vocal(rng: np.random.Generator, bank: Bank) -> tuple[Clip, np.ndarray, np.ndarray]:
    """A vocalization clip, tags drawn uniformly (EmoGator's 1,500 gasps must not drown 20 cries)."""
    tags = sorted(bank.by_tag)
    pool = bank.by_tag[tags[int(rng.integers(len(tags)))]]
    return bank.vocal[pool[int(rng.integers(len(pool)))]]


def _reverb(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    rt60 = rng.uniform(0.15, 0.7)
    n = int(rt60 * SR)
    t = np.arange(n) / SR
    ir = rng.standard_normal(n).astype(np.float32) * np.exp(-6.9 * t / rt60).astype(np.float32)
    ir[0] = 1.0 / rng.uniform(0.3, 1.0)  # direct path above the tail
    ir /= np.sqrt(np.sum(ir**2))
    y = np.fft.irfft(np.fft.rfft(x, len(x) + n) * np.fft.rfft(ir, len(x) + n))[: len(x)]
    return y.astype(np.float32) * (rms(x) / max(rms(y), 1e-9))


def _noise(rng: np.random.Generator, n: int) -> np.ndarray:
    white = rng.standard_normal(n).astype(np.float32)
    if rng.random() < 0.5:
        return white
    # brown-ish: integrate and high-pass a little, like fan or street rumble
    y = np.cumsum(white)
    y -= np.convolve(y, np.ones(400) / 400, mode="same")
    return (y / max(rms(y), 1e-9)).astype(np.float32)


def make_mixture(
    rng: np.random.Generator,
    bank: Bank,
    tags: Sequence[str],
    seconds: float,
    *,
    speech_only: bool = False,
) -> tuple[np.ndarray, np.ndarray, list[tuple[str, float, float]]]:
    """One mixture: ``(samples, labels (frames, len(tags)) float32, [(tag, start, end)])``."""
    n = int(seconds * SR) // HOP * HOP
    frames = n // HOP
    x = np.zeros(n, np.float32)
    labels = np.zeros((frames, len(tags)), np.float32)
    events: list[tuple[str, float, float]] = []
    index = {t: i for i, t in enumerate(tags)}
    speech_level = 10 ** (rng.uniform(-32, -18) / 20)

    # A timeline of speech clips and vocalizations with short gaps between them.
    pos = int(rng.uniform(0, 1.0) * SR)
    n_vocal = 0 if speech_only else int(rng.integers(1, 4))
    vocal_slots = set(rng.choice(6, size=n_vocal, replace=False).tolist()) if n_vocal else set()
    slot = 0
    while pos < n - 4 * HOP:
        if slot in vocal_slots:
            clip, v, mask = _pick_vocal(rng, bank)
            gain = speech_level * 10 ** (rng.uniform(-10, 4) / 20) / rms(v)
            start = pos // HOP * HOP
            take = min(len(v), n - start)
            x[start : start + take] += v[:take] * gain
            f0 = start // HOP
            m = mask[: take // HOP]
            labels[f0 : f0 + len(m), index[clip.tag]] = np.maximum(labels[f0 : f0 + len(m), index[clip.tag]], m)
            on = np.flatnonzero(m)
            if len(on):
                events.append((clip.tag, (f0 + on[0]) * HOP / SR, (f0 + on[-1] + 1) * HOP / SR))
            pos = start + take
        else:
            clip, s = bank.speech[rng.integers(len(bank.speech))]
            s = s[: int(rng.uniform(0.6, 1.0) * len(s))] if rng.random() < 0.3 else s
            take = min(len(s), n - pos)
            x[pos : pos + take] += s[:take] * (speech_level * 10 ** (rng.uniform(-3, 3) / 20) / rms(s))
            pos += take
        pos += int(rng.choice([rng.uniform(0.0, 0.25), rng.uniform(0.2, 1.2)]) * SR)
        slot += 1

    # Sometimes a vocalization over speech (a laugh while talking), quieter than the speech.
    if not speech_only and rng.random() < 0.25:
        clip, v, mask = _pick_vocal(rng, bank)
        if len(v) < n:
            start = int(rng.integers(0, (n - len(v)) // HOP + 1)) * HOP
            x[start : start + len(v)] += v * (speech_level * 10 ** (rng.uniform(-8, 0) / 20) / rms(v))
            f0 = start // HOP
            labels[f0 : f0 + len(mask), index[clip.tag]] = np.maximum(labels[f0 : f0 + len(mask), index[clip.tag]], mask)
            on = np.flatnonzero(mask)
            if len(on):
                events.append((clip.tag, (f0 + on[0]) * HOP / SR, (f0 + on[-1] + 1) * HOP / SR))

    if rng.random() < 0.3:
        x = _reverb(rng, x)
    if rng.random() < 0.6:
        snr = rng.uniform(5, 35)
        x += _noise(rng, n) * speech_level * 10 ** (-snr / 20)
    x *= 10 ** (rng.uniform(-6, 6) / 20)
    peak = float(np.abs(x).max()) if n else 0.0
    if peak > 0.99:
        x *= 0.99 / peak
    return x, labels, sorted(events, key=lambda e: e[1])
