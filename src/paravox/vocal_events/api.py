"""The public face of the vocal-event models: :func:`classify` (-> :class:`~paravox.result.Classification`)
and :func:`events` (-> :class:`~paravox.result.EventsResult`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from paravox.audio import SAMPLE_RATE, load_audio, source_name
from paravox.errors import OptionError
from paravox.options import parse_tags, parse_threshold
from paravox.result import Classification, EventsResult
from paravox.vocal_events.model import ModelError, default_model_dir, find_events, load_classifier, load_detector

__all__ = ["classify", "classify_tags", "events", "model_tags"]


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
    """Name one isolated vocalization: a :class:`~paravox.result.Classification` (``id``,
    ``label``, ``score``, ``scores``: every tag's probability, most probable first).

    ``model``: an events model directory (its ``isolated/`` classifier is used, else its
    ``classifier/``) or a classifier directory; default: the shipped ``isolated/``.
    ``tags`` restricts the answer to some tags (probabilities renormalised over them).

    >>> paravox.classify("burst.wav").label      # doctest: +SKIP
    'laugh'
    """
    clf = load_classifier(isolated_classifier_path(model))
    wanted = check_tags(tags, clf.tags, "classifier")
    audio = load_audio(source, name=name)
    scores = clf.predict(audio.samples)
    if wanted:
        total = sum(scores[t] for t in wanted) or 1.0
        scores = {t: scores[t] / total for t in wanted}
    scores = dict(sorted(scores.items(), key=lambda kv: -kv[1]))
    label = next(iter(scores))
    return Classification(name or source_name(source), label, float(scores[label]), {k: float(v) for k, v in scores.items()})


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
    audio = load_audio(source, name=name)
    found = find_events(audio.samples, det, clf, threshold=threshold, tags=wanted, min_duration=min_duration)
    return EventsResult(name or audio.source, len(audio.samples) / SAMPLE_RATE, found)


def region_classifier(model: str | Path | None, detector) -> Any:
    """The classifier that names the detector's regions, when its config asks for one."""
    if not detector.config.get("label_with_classifier", False):
        return None
    path = Path(model) / "classifier" if model is not None else None
    if path is not None and not (path / "config.json").is_file():
        return None  # a detector directory given on its own: frame thresholds only
    return load_classifier(None if path is None else str(path))


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
