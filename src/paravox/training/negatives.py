"""Negatives for the isolated classifier's reject class ``none``: audio that is no vocalization.

``paravox classify`` must be able to say "not a vocalization" for what it is handed. The
classifier learns that as one more class, ``none``, from two kinds of negatives, both drawn
deterministically from a seed (nothing is written to disk; features are cached by
:mod:`paravox.training.vocal_cache` under the code and the files they come from):

- **speech**: crops of plain speech from speech corpora (folders with a ``manifest.jsonl`` of
  ``audio`` and ``speaker``; the data pack's ``emotion/casia``, ``ravdess``, ``emodb`` and
  ``tava``), cut from as many of one speaker's clips, joined in a seeded order, as the crop
  needs, so it may cross the pauses between sentences. Grouped by ``corpus:speaker``.
- **generated**: non-vocal sound: white, pink and brown noise at -50 to -6 dBFS, low-level
  noise at -58 to -40 dBFS, mains hum (50 or 60 Hz and harmonics) and steady tones. Each
  generated sound is its own group. Nothing is quieter than classify's silence gate
  (:data:`paravox.vocal_events.api.SILENCE_DBFS`), which answers for such input itself.

Every negative lasts 0.5-30 s, log-uniformly (:data:`NEGATIVE_SECONDS`; half of them under
4 s, the length of most vocalizations). Trained on crops of 0.5-4 s only, the classifier
called 1.5-7 s of speech none but 13 of 14 joinings of 9.6-29 s a vocalization (12 laugh; 5
speakers of the 4 corpora, 2026-12-04): what it never heard as none it took for a vocalization.

:func:`assign_folds` gives every negative a fold of a folded clip set by its group (whole
speakers, spread over the folds within each corpus), so each fold's test part scores
negatives of speakers its training part never heard.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from paravox.vocal_events.api import NONE

__all__ = ["NONE", "Negative", "NegativeSpec", "draw_negatives", "assign_folds", "GENERATED_KINDS"]

SR = 16000
#: the kinds of generated sound, drawn in turn
GENERATED_KINDS = ("white", "pink", "brown", "low", "hum", "tone")
#: how long a negative lasts (seconds): log-uniform between the two
NEGATIVE_SECONDS = (0.5, 30.0)


@dataclass(frozen=True)
class NegativeSpec:
    """Which negatives to draw: crops from each speech corpus in ``speech``, ``per_corpus``
    of them, plus ``generated`` non-vocal sounds; ``seed`` fixes every draw. With
    ``skip_held_out`` the speakers the event detector never trains on
    (:data:`paravox.training.mixtures.HELD_OUT_SPEAKERS`, by corpus folder name) give no
    crops, so false tags measured on their speech stay a measurement."""

    speech: tuple[str, ...] = ()
    per_corpus: int = 75
    generated: int = 100
    seed: int = 0
    skip_held_out: bool = False

    def to_dict(self) -> dict:
        return {"speech": list(self.speech), "per_corpus": self.per_corpus, "generated": self.generated,
                "seed": self.seed, "skip_held_out": self.skip_held_out}

    def describe(self) -> str:
        parts = []
        if self.speech:
            parts.append(f"{self.per_corpus * len(self.speech)} crops of speech "
                         f"({', '.join(Path(s).name for s in self.speech)}; {self.per_corpus} each"
                         + ("; none from the event detector's held-out speakers" if self.skip_held_out else "") + ")")
        if self.generated:
            parts.append(f"{self.generated} generated non-vocal sounds (noise, hum, tones)")
        return " and ".join(parts) or "no negatives"


@dataclass(frozen=True)
class Negative:
    """One negative: ``group`` is its speaker (``corpus:speaker``) or, for a generated sound, itself.

    ``recipe``: how :meth:`samples` makes it: ``("crop", (path, path), start, seconds)`` or
    ``(kind, seconds, level_dbfs, seed)``.
    """

    id: str
    group: str
    source: str
    recipe: tuple

    tag = NONE

    def samples(self) -> np.ndarray:
        if self.recipe[0] == "crop":
            from paravox.audio import load_audio

            _, paths, start, seconds = self.recipe
            x = np.concatenate([load_audio(p).samples for p in paths])
            a = int(round(start * SR))
            return x[a : a + int(round(seconds * SR))].astype(np.float32)
        kind, seconds, level, seed = self.recipe
        return generate(kind, seconds, level, np.random.default_rng(seed))

    def sources(self) -> list[str]:
        """The files it is cut from (none for a generated sound)."""
        return list(self.recipe[1]) if self.recipe[0] == "crop" else []


def _seed(*parts: object) -> int:
    return int(hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()[:8], 16)


def draw_negatives(spec: NegativeSpec) -> list[Negative]:
    """The negatives ``spec`` names, in a fixed order (the same list for the same spec and files)."""
    from paravox.training.clips import manifest_rows

    out: list[Negative] = []
    for folder in spec.speech:
        folder = Path(folder)
        manifest = folder / "manifest.jsonl"
        if not manifest.is_file():
            raise ValueError(f"{folder}: no manifest.jsonl; a negatives corpus is a folder of plain speech "
                             "with manifest.jsonl lines of 'audio' and 'speaker'")
        rows = manifest_rows(manifest)
        if spec.skip_held_out:
            from paravox.training.mixtures import HELD_OUT_SPEAKERS

            held = HELD_OUT_SPEAKERS.get(folder.name, frozenset())
            rows = [r for r in rows if str(r.get("speaker")) not in held]
        by_speaker: dict[str, list[dict]] = {}
        for r in rows:
            if "audio" not in r:
                raise ValueError(f"{manifest}: a line has no 'audio'")
            by_speaker.setdefault(str(r.get("speaker", r["audio"])), []).append(r)
        corpus = folder.name
        rng = np.random.default_rng(_seed(spec.seed, "speech", corpus))
        speakers = sorted(by_speaker)
        for n in range(spec.per_corpus):
            speaker = speakers[n % len(speakers)] if n < len(speakers) else speakers[int(rng.integers(len(speakers)))]
            clips = by_speaker[speaker]
            seconds = _draw_seconds(rng)
            picked, total = [], 0.0
            for i in rng.permutation(len(clips)):  # the speaker's clips in a seeded order, until the crop fits
                picked.append(clips[int(i)])
                total += _duration(folder, clips[int(i)])
                if total >= seconds:
                    break
            seconds = min(seconds, total)
            start = float(rng.uniform(0.0, total - seconds))
            paths = tuple(str(folder / r["audio"]) for r in picked)
            out.append(Negative(f"{corpus}-crop{n:03d}", f"{corpus}:{speaker}", corpus,
                                ("crop", paths, round(start, 3), round(seconds, 3))))
    rng = np.random.default_rng(_seed(spec.seed, "generated"))
    for n in range(spec.generated):
        kind = GENERATED_KINDS[n % len(GENERATED_KINDS)]
        seconds = round(_draw_seconds(rng), 3)
        level = round(float(rng.uniform(-58.0, -40.0) if kind == "low" else rng.uniform(-50.0, -6.0)), 1)
        out.append(Negative(f"generated-{kind}{n:03d}", f"generated:{n}", "generated",
                            (kind, seconds, level, _seed(spec.seed, "generated", n))))
    return out


def _draw_seconds(rng: np.random.Generator) -> float:
    lo, hi = NEGATIVE_SECONDS
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _duration(folder: Path, row: dict) -> float:
    """A clip's length in seconds: the manifest's ``duration``, else the file's header."""
    if row.get("duration"):
        return float(row["duration"])
    import soundfile as sf

    return float(sf.info(str(folder / row["audio"])).duration)


def assign_folds(negatives: Sequence[Negative], names: Sequence[str], seed: int = 0) -> dict[str, str]:
    """``{negative id: fold name}``: every group in one fold; within each source its groups
    are shuffled (seeded) and dealt to the folds in turn, so every fold gets speakers of every
    corpus with enough speakers."""
    names = list(names)
    by_source: dict[str, list[str]] = {}
    for neg in negatives:
        groups = by_source.setdefault(neg.source, [])
        if neg.group not in groups:
            groups.append(neg.group)
    fold_of_group: dict[str, str] = {}
    for source, groups in sorted(by_source.items()):
        order = np.random.default_rng(_seed(seed, "folds", source)).permutation(len(groups))
        for k, i in enumerate(order):
            fold_of_group[groups[int(i)]] = names[k % len(names)]
    return {neg.id: fold_of_group[neg.group] for neg in negatives}


def _scale_to(x: np.ndarray, level_dbfs: float) -> np.ndarray:
    rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) or 1.0
    return np.clip(x * (10 ** (level_dbfs / 20) / rms), -1.0, 1.0).astype(np.float32)


def _colored(n: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """Noise whose power falls as ``1 / f ** exponent`` (0 white, 1 pink, 2 brown)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / SR)
    f[0] = f[1] if n > 1 else 1.0
    return np.fft.irfft(spectrum / f ** (exponent / 2), n)


def generate(kind: str, seconds: float, level_dbfs: float, rng: np.random.Generator) -> np.ndarray:
    """``seconds`` of one of :data:`GENERATED_KINDS` at ``level_dbfs`` (RMS re full scale).

    >>> x = generate("pink", 1.0, -20.0, np.random.default_rng(0))
    >>> len(x), round(float(20 * np.log10(np.sqrt(np.mean(x ** 2)))), 1)
    (16000, -20.0)
    """
    n = max(int(round(seconds * SR)), 1)
    t = np.arange(n) / SR
    if kind in ("white", "low"):
        x = _colored(n, 0.0 if kind == "white" or rng.random() < 0.5 else 1.0, rng)
    elif kind == "pink":
        x = _colored(n, 1.0, rng)
    elif kind == "brown":
        x = _colored(n, 2.0, rng)
    elif kind == "hum":  # mains hum: the fundamental and a few harmonics, a little noise under it
        f0 = 50.0 if rng.random() < 0.5 else 60.0
        x = sum(rng.uniform(0.1, 1.0) * np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 2 * np.pi)) for h in range(1, 6))
        x = x + 0.02 * rng.standard_normal(n)
    elif kind == "tone":  # a steady tone, 100 Hz-4 kHz, with 20-ms ramps
        x = np.sin(2 * np.pi * float(np.exp(rng.uniform(np.log(100.0), np.log(4000.0)))) * t)
        ramp = min(n // 2, int(0.02 * SR))
        if ramp:
            x[:ramp] *= np.linspace(0, 1, ramp)
            x[-ramp:] *= np.linspace(1, 0, ramp)
    else:
        raise ValueError(f"unknown kind {kind!r}; use one of {', '.join(GENERATED_KINDS)}")
    return _scale_to(np.asarray(x, dtype=np.float64), level_dbfs)
