"""Per-speaker feature standardisation: the opt-in, transductive emotion setting.

A speaker's voice shifts every feature the emotion head reads (pitch, timbre, loudness, the
encoder's states). Standardising each speaker's feature vectors by that speaker's own mean
and deviation removes the voice and leaves what changes from clip to clip. It needs several
clips of the same speaker, read together, and it assumes they span that speaker's range: in
acted corpora, or a TTS speaker's expressive script, every speaker performs every emotion in
near-equal amounts; a call that is mostly neutral would be read against its own neutral as
"average", so the option is never on by default (``paravox emotion --speaker-norm``).

Heads trained for it (``config.json``: ``"speaker_norm": true``) read standardised vectors
only; the usual head reads raw ones. :func:`standardise_by_speaker` is used for both
training and inference so the two cannot drift apart.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from paravox.errors import OptionError

if TYPE_CHECKING:
    from paravox.result import EmotionResult
    from paravox.speech_emotion.model import EmotionModel

#: The shipped head for per-speaker standardised features (its card: MODEL_CARD.md there).
SHIPPED_DIR = Path(__file__).resolve().parent / "weights_speaker_norm"

#: The group inputs that name no speaker fall into.
ONE_SPEAKER = "(all inputs)"

#: Fewest clips of one speaker the statistics are taken from (measured in
#: ``benchmarks/emotion_multicorpus.py --speaker-norm --norm-clips K``; docs/emotion.md).
MIN_CLIPS = 8

#: A feature whose deviation within one speaker is below this is only centred.
_SCALE_FLOOR = 1e-6


class SpeakerNormError(ValueError):
    """Too few clips of a speaker to take its statistics from (an input's failure in a run)."""


def speaker_stats(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and deviation of one speaker's feature rows ``(N, D)``."""
    X = np.asarray(X, dtype=np.float64)
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale < _SCALE_FLOOR] = 1.0
    return mean, scale


def standardise_by_speaker(X: np.ndarray, speakers: Sequence[str], *, min_clips: int = 1,
                           stats_rows: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Rows of ``X`` standardised by their own speaker's mean and deviation (float32 copy).

    ``speakers[i]`` names row ``i``'s speaker. ``stats_rows`` (speaker -> row indices) takes a
    speaker's statistics from those rows only (the benchmark's "K clips known" setting); by
    default from all of the speaker's rows. A speaker with fewer than ``min_clips`` rows to take
    statistics from raises :class:`SpeakerNormError` naming it.
    """
    X = np.asarray(X)
    speakers = np.asarray([str(s) for s in speakers])
    if len(speakers) != len(X):
        raise ValueError(f"{len(X)} feature rows but {len(speakers)} speaker names")
    out = np.empty(X.shape, dtype=np.float32)
    for spk in sorted(set(speakers.tolist())):
        rows = np.flatnonzero(speakers == spk)
        src = stats_rows.get(spk, rows) if stats_rows else rows
        if len(src) < min_clips:
            raise SpeakerNormError(
                f"speaker {spk!r} has {len(src)} clip(s); per-speaker normalisation needs at least {min_clips} "
                f"clips of each speaker (give more clips, or leave out --speaker-norm)")
        mean, scale = speaker_stats(X[src])
        out[rows] = ((X[rows] - mean) / scale).astype(np.float32)
    return out


def load_norm_model(model: "str | Path | EmotionModel | None" = None, features: Any = None) -> "EmotionModel":
    """The head ``--speaker-norm`` scores with: the shipped one (``None``) or a model directory
    whose ``config.json`` says ``"speaker_norm": true``. ``features`` (the recogniser's
    :class:`~paravox.speech_emotion.features.FeatureConfig`) must match the head's."""
    from paravox.speech_emotion.model import EmotionModel

    m = model if isinstance(model, EmotionModel) else EmotionModel.load(SHIPPED_DIR if model is None else model)
    if not m.speaker_norm:
        raise OptionError(f"{m.source}: this head reads one clip's raw features, not features standardised per "
                          "speaker; --speaker-norm needs a head trained for it (drop --model for the shipped one)")
    if features is not None and m.features != features:
        raise OptionError(f"{m.source}: its features (layers {list(m.features.layers)}, prosody "
                          f"{m.features.prosody}) differ from the recogniser's; it cannot read them")
    return m


def rescore(results: "list[EmotionResult]", speaker: str, model: "EmotionModel", *,
            min_clips: int = MIN_CLIPS, keep_embeddings: bool = False) -> "list[EmotionResult]":
    """One speaker's :class:`~paravox.result.EmotionResult` (from the shipped recogniser, with
    their embeddings) scored again by ``model`` on features standardised by this speaker's own
    clips. Inputs without speech keep no emotion and do not count. Each scored file-level
    emotion carries ``speaker_norm = {"speaker", "clips"}``. Raises :class:`SpeakerNormError`
    when fewer than ``min_clips`` of them hold speech."""
    from paravox.speech_emotion.recognizer import emotion_score

    scored = [r for r in results if r.emotion is not None]
    if len(scored) < min_clips:
        raise SpeakerNormError(
            f"speaker {speaker!r}: {len(scored)} of its {len(results)} clip(s) hold speech; per-speaker "
            f"normalisation needs at least {min_clips} (give more clips of this speaker, or leave out --speaker-norm)")
    X = np.stack([np.asarray(r.embedding, dtype=np.float32) for r in scored])
    Z = standardise_by_speaker(X, [speaker] * len(scored))
    probs = np.atleast_2d(model.predict_proba(Z))
    dims = model.predict_dimensions(Z, probs)
    for j, r in enumerate(scored):
        old = r.emotion
        # a head without dimensions gives none (not the per-clip head's, read without the speaker)
        new = emotion_score(model.labels, probs[j], old.start, old.end, old.speech, dimensions=model.dimensions,
                            dims=None if dims is None else dims[j])
        new.speaker_norm = {"speaker": speaker, "clips": len(scored)}
        r.emotion, r.labels = new, list(model.labels)
    if not keep_embeddings:
        for r in results:
            r.embedding = None
    return results


def speaker_groups(items: Sequence[Any]) -> dict[str, list[Any]]:
    """Inputs grouped by their ``speaker`` (input order kept); when none names one, they form one
    group, :data:`ONE_SPEAKER`. :class:`OptionError` when some name a speaker and others do not
    (they would be pooled as one speaker by accident) or when an id is given twice (each
    input's result is found by its id)."""
    from collections import Counter

    dups = [k for k, n in Counter(item.key for item in items).items() if n > 1]
    if dups:
        raise OptionError(f"--speaker-norm: id {dups[0]!r} is given more than once ({len(dups)} such id(s)); "
                          "each input's result is matched by its id: give every input once")
    named = [item for item in items if getattr(item, "speaker", None)]
    if named and len(named) < len(items):
        unnamed = next(item for item in items if not getattr(item, "speaker", None))
        raise OptionError(f"--speaker-norm: {len(items) - len(named)} input(s) name no speaker (the first: "
                          f"{unnamed.key!r}) while {len(named)} do; give every manifest line a 'speaker', or none")
    groups: dict[str, list[Any]] = {}
    for item in items:
        groups.setdefault(getattr(item, "speaker", None) or ONE_SPEAKER, []).append(item)
    return groups


def check_groups(groups: dict[str, list[Any]], min_clips: int = MIN_CLIPS) -> None:
    """:class:`OptionError` (before any audio is read) for a speaker with fewer than ``min_clips`` inputs."""
    small = {s: len(g) for s, g in groups.items() if len(g) < min_clips}
    if small:
        named = ", ".join(f"{s!r} ({n})" for s, n in sorted(small.items())[:5]) + (" ..." if len(small) > 5 else "")
        raise OptionError(f"--speaker-norm needs at least {min_clips} clips of each speaker; too few for {named}. "
                          "Name each input's speaker in a --manifest ('speaker' field), give more clips, or leave "
                          "out --speaker-norm")


class BySpeaker:
    """``work(item)`` for a run over inputs with ``--speaker-norm``: the first time a speaker's
    input is asked for, all of that speaker's inputs are scored by ``raw`` (the per-clip result,
    with its embedding), standardised together and scored again; each input's outcome is then
    handed out when its turn comes (a failure raised then, as its own)."""

    def __init__(self, items: Sequence[Any], raw: "Callable[[Any], EmotionResult]", model: "EmotionModel", *,
                 min_clips: int = MIN_CLIPS, keep_embeddings: bool = False, fatal: tuple = ()) -> None:
        self.groups = speaker_groups(items)
        check_groups(self.groups, min_clips)
        self.speaker_of = {item.key: s for s, g in self.groups.items() for item in g}
        self.raw, self.model, self.min_clips = raw, model, min_clips
        self.keep_embeddings, self.fatal = keep_embeddings, tuple(fatal)
        self._ready: dict[str, Any] = {}

    def __call__(self, item: Any) -> "EmotionResult":
        if item.key not in self._ready:
            self._score(self.speaker_of[item.key])
        out = self._ready.pop(item.key)
        if isinstance(out, BaseException):
            raise out
        return out

    def _score(self, speaker: str) -> None:
        from paravox.inputs import attempt

        outcomes = [attempt(item, self.raw, fatal=self.fatal) for item in self.groups[speaker]]
        good = [o for o in outcomes if o.ok]
        try:
            rescore([o.result for o in good], speaker, self.model, min_clips=self.min_clips,
                    keep_embeddings=self.keep_embeddings)
        except SpeakerNormError as exc:
            for o in good:
                self._ready[o.item.key] = SpeakerNormError(f"{o.item.key}: {exc}")
        except Exception as exc:  # noqa: BLE001 - the speaker's inputs fail, each once, not read again
            for o in good:
                self._ready[o.item.key] = exc
        else:
            for o in good:
                self._ready[o.item.key] = o.result
        for o in outcomes:
            if not o.ok:
                self._ready[o.item.key] = o.error
