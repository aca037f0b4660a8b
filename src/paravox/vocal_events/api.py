"""The public face of the vocal-event models: :func:`classify` (-> :class:`~paravox.result.Classification`)
and :func:`events` (-> :class:`~paravox.result.EventsResult`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from paravox.audio import SAMPLE_RATE, load_audio, source_name
from paravox.errors import OptionError
from paravox.options import parse_tags, parse_threshold
from paravox.result import Classification, EventsResult
from paravox.vocal_events.model import ModelError, default_model_dir, find_events, load_classifier, load_detector

__all__ = ["classify", "classify_tags", "events", "model_tags", "NONE"]

#: What :func:`classify` answers for audio that is no vocalization.
NONE = "none"
#: :func:`classify` answers :data:`NONE` without asking the model for input shorter than this (seconds)...
MIN_SECONDS = 0.1
#: ... or whose loudest 50 ms is quieter than this (RMS, dB re full scale). The quietest
#: loudest-50-ms of the 595 Deeply vocalizations is -53.3 dBFS (a teeth-grinding clip);
#: the whole-clip RMS would not do: 3 of them (teeth chattering and grinding, a lip pop) are below -60.
SILENCE_DBFS = -60.0
_LEVEL_WINDOW = 800  # 50 ms at 16 kHz


def model_part(model: str | Path | None, part: str) -> str | None:
    """A model directory holds ``classifier/`` and ``detector/``; either may also be given directly."""
    if model is None:
        return None
    path = Path(model)
    if (path / part / "config.json").is_file():
        return str(path / part)
    if (path / "config.json").is_file():
        return str(path)
    raise ModelError(
        f"{path}: not an events model directory (expected {part}/config.json inside it, "
        "as written by 'paravox train events')"
    )


def isolated_classifier_path(model: str | Path | None) -> str:
    """The classifier :func:`classify` uses: an events model's ``isolated/`` (trained on isolated
    clips alone, ``paravox train isolated``), else its ``classifier/`` (the one that names the
    detector's regions), else ``model`` itself when it is a classifier directory."""
    base = default_model_dir() if model is None else Path(model)
    for part in ("isolated", "classifier"):
        if (base / part / "config.json").is_file():
            return str(base / part)
    return model_part(base, "classifier")


def check_tags(tags: Sequence[str] | str | None, known: Sequence[str], what: str) -> list[str] | None:
    """``tags`` as a list, or :class:`~paravox.errors.OptionError` naming those the model does not know."""
    tags = parse_tags(tags)
    if tags is None:
        return None
    unknown = [t for t in tags if t not in known]
    if unknown:
        raise OptionError(f"the {what} does not know {', '.join(unknown)}; it knows {', '.join(known)}")
    return list(tags)


def classify(source: Any, *, model: str | Path | None = None, tags: Sequence[str] | None = None, name: str | None = None) -> Classification:
    """Name one isolated vocalization, or say it is none: a :class:`~paravox.result.Classification`
    (``id``, ``label``, ``score``, ``scores``: every answer's probability, most probable first).

    The answer ``none`` (:data:`NONE`) means no vocalization. It comes two ways:

    - input too short or too quiet for any model to judge (shorter than 0.1 s, or its
      loudest 50 ms below -60 dBFS: :func:`too_little_to_judge`) is not given to the model:
      label ``none``, score 1.0, ``scores`` none=1.0 and every tag 0.0;
    - otherwise a classifier with a reject class (the shipped ``isolated/`` has one, trained
      on speech and noise) scores ``none`` among the tags, and it is the label when it is the
      most probable answer. A classifier without one (an events model's ``classifier/``)
      always names a tag.

    ``model``: an events model directory (its ``isolated/`` classifier is used, else its
    ``classifier/``) or a classifier directory; default: the shipped ``isolated/``. A head
    trained with ``paravox train isolated --backbone voc2vec`` reads the backbone's features
    (torch and transformers, ``pip install 'paravox[transformers]'``; the backbone in the cache).
    ``tags`` restricts the tags (probabilities renormalised over them and ``none``, which
    stays a possible answer).

    >>> paravox.classify("burst.wav").label      # doctest: +SKIP
    'laugh'
    >>> paravox.classify((np.zeros(32000), 16000)).scores["none"]   # doctest: +SKIP
    1.0
    """
    clf = load_classifier(isolated_classifier_path(model))
    asked = [t for t in parse_tags(tags) or () if t != NONE]  # none is always an answer: naming it changes nothing
    wanted = check_tags(asked or None, clf.tags, "classifier")
    clf.prepare()  # a head on a hub backbone: the backbone, or its one-line error, before the input
    audio = load_audio(source, name=name)
    ident = name or source_name(source)
    answers = [t for t in clf.tags if not wanted or t in wanted]
    if too_little_to_judge(audio.samples):
        return Classification(ident, NONE, 1.0, {NONE: 1.0, **{t: 0.0 for t in answers}})
    probs = clf.label_probabilities(clf.embed(audio.samples))[0]
    scores = {NONE if label == clf.reject else label: float(p) for label, p in zip(clf.labels, probs)}
    scores = {k: v for k, v in scores.items() if k in answers or k == NONE}
    total = sum(scores.values()) or 1.0
    scores = dict(sorted(((k, v / total) for k, v in scores.items()), key=lambda kv: -kv[1]))
    label = next(iter(scores))
    return Classification(ident, label, scores[label], scores)


def too_little_to_judge(samples: Any) -> bool:
    """True for input no model should judge: shorter than :data:`MIN_SECONDS`, or whose
    loudest 50 ms has an RMS below :data:`SILENCE_DBFS` (digital silence, near-silence).

    >>> too_little_to_judge(np.zeros(32000)), too_little_to_judge(np.ones(1)), too_little_to_judge(0.01 * np.ones(32000))
    (True, True, False)
    """
    x = np.asarray(samples, dtype=np.float64)
    if len(x) < MIN_SECONDS * SAMPLE_RATE:
        return True
    n = len(x) // _LEVEL_WINDOW * _LEVEL_WINDOW  # at least two windows: MIN_SECONDS is 100 ms
    loudest = float((x[:n].reshape(-1, _LEVEL_WINDOW) ** 2).mean(axis=1).max())
    if len(x) > n:  # the last, shorter window
        loudest = max(loudest, float(np.mean(x[n:] ** 2)))
    return loudest < 10 ** (SILENCE_DBFS / 10)


def events(
    source: Any,
    *,
    model: str | Path | None = None,
    threshold: float | Mapping[str, float] | None = None,
    tags: Sequence[str] | None = None,
    min_duration: float | None = None,
    name: str | None = None,
) -> EventsResult:
    """The timed vocal events of a recording (an :class:`~paravox.result.EventsResult`, events
    by start time).

    ``threshold``: the lowest event score kept, one number for every tag or ``{tag: value}``
    (also as text: ``"0.6"``, ``"laugh=0.4,cough=0.7"``); it is compared with the ``score``
    each event prints (:func:`paravox.vocal_events.model.keep_event`). ``tags`` keeps only
    those tags; ``min_duration`` drops shorter events (seconds).

    >>> [(e.tag, e.start, e.end) for e in paravox.events("talk.wav").events]   # doctest: +SKIP
    [('laugh', 3.12, 5.7)]
    """
    threshold = parse_threshold(threshold)
    det = load_detector(model_part(model, "detector"))
    wanted = check_tags(tags, det.tags, "event detector")
    if isinstance(threshold, Mapping):
        check_tags(list(threshold), det.tags, "event detector")
    clf = region_classifier(model, det)
    gate = region_gate(model, det)
    laughter = region_laughter(model, det)
    audio = load_audio(source, name=name)
    found = find_events(audio.samples, det, clf, threshold=threshold, tags=wanted, min_duration=min_duration,
                        gate=gate, laughter=laughter)
    return EventsResult(name or audio.source, len(audio.samples) / SAMPLE_RATE, found)


def region_classifier(model: str | Path | None, detector) -> Any:
    """The classifier that names the detector's regions, when its config asks for one."""
    if not detector.config.get("label_with_classifier", False):
        return None
    path = Path(model) / "classifier" if model is not None else None
    if path is not None and not (path / "config.json").is_file():
        return None  # a detector directory given on its own: frame thresholds only
    return load_classifier(None if path is None else str(path))


def region_gate(model: str | Path | None, detector) -> Any:
    """The classifier whose ``none`` vetoes the detector's regions, when the detector's config
    names one (``"gate": "isolated"``): the events model's ``isolated/`` classifier, if it has
    a reject class. None otherwise (a model without one keeps every region)."""
    if detector.config.get("gate") != "isolated":
        return None
    base = default_model_dir() if model is None else Path(model)
    if not (base / "isolated" / "config.json").is_file():
        return None
    clf = load_classifier(str(base / "isolated"))
    return clf if clf.reject else None


def region_laughter(model: str | Path | None, detector) -> Any:
    """The laughter model that adds laughs the detector's regions missed, when the detector's
    config names one (``"laughter": {"model": "laughter/switchboard.onnx", ...}``, relative
    to the events model's directory); None when it names none or the file is not there."""
    cfg = detector.config.get("laughter")
    if not cfg:
        return None
    base = default_model_dir() if model is None else Path(model)
    if not (base / cfg["model"]).is_file():
        return None
    from paravox.vocal_events.laughter import load_laughter

    return load_laughter(cfg, base)


def classify_tags(model: str | Path | None = None) -> list[str]:
    """The tags :func:`classify` can answer with this ``model``."""
    return load_classifier(isolated_classifier_path(model)).tags


def model_tags(model: str | Path | None = None) -> dict[str, list[str]]:
    """The tags each part of an events model can emit: ``classify`` (what :func:`classify`
    answers), ``classifier`` (names the detector's regions) and ``detector``."""
    return {
        "classify": classify_tags(model),
        "classifier": load_classifier(model_part(model, "classifier")).tags,
        "detector": load_detector(model_part(model, "detector")).tags,
    }
