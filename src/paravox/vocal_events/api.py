"""The public face of the vocal-event models: :func:`classify` and :func:`events`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from paravox.audio import load_audio, source_name
from paravox.result import Event
from paravox.vocal_events.model import ModelError, default_model_dir, find_events, load_classifier, load_detector

__all__ = ["classify", "classify_tags", "events", "model_tags", "parse_threshold"]


def _model_path(model: str | Path | None, part: str) -> str | None:
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


def _isolated_path(model: str | Path | None) -> str:
    """The classifier :func:`classify` uses: an events model's ``isolated/`` (trained on isolated
    clips alone, ``paravox train isolated``), else its ``classifier/`` (the one that names the
    detector's regions), else ``model`` itself when it is a classifier directory."""
    base = default_model_dir() if model is None else Path(model)
    for part in ("isolated", "classifier"):
        if (base / part / "config.json").is_file():
            return str(base / part)
    return _model_path(base, "classifier")


def _check_tags(tags: Sequence[str] | None, known: Sequence[str], what: str) -> list[str] | None:
    if tags is None:
        return None
    unknown = [t for t in tags if t not in known]
    if unknown:
        raise ValueError(f"the {what} does not know {', '.join(unknown)}; it knows {', '.join(known)}")
    return list(tags)


def classify(source: Any, *, model: str | Path | None = None, tags: Sequence[str] | None = None, name: str | None = None) -> dict[str, Any]:
    """Name one isolated vocalization: ``{"key", "label", "score", "scores": {tag: p}}``.

    ``model``: an events model directory (its ``isolated/`` classifier is used, else its
    ``classifier/``) or a classifier directory; default: the shipped ``isolated/``.
    ``tags`` restricts the answer to some tags (probabilities renormalised over them).

    >>> paravox.classify("burst.wav")["label"]      # doctest: +SKIP
    'laugh'
    """
    clf = load_classifier(_isolated_path(model))
    wanted = _check_tags(tags, clf.tags, "classifier")
    audio = load_audio(source, name=name)
    scores = clf.predict(audio.samples)
    if wanted:
        total = sum(scores[t] for t in wanted) or 1.0
        scores = {t: scores[t] / total for t in wanted}
    scores = dict(sorted(scores.items(), key=lambda kv: -kv[1]))
    label = next(iter(scores))
    return {"key": name or source_name(source), "label": label, "score": scores[label], "scores": scores}


def events(
    source: Any,
    *,
    model: str | Path | None = None,
    threshold: float | Mapping[str, float] | None = None,
    tags: Sequence[str] | None = None,
    min_duration: float | None = None,
    name: str | None = None,
) -> list[Event]:
    """Timed vocal events in a recording, by start time.

    ``threshold``: one number, how sure the detector must be that a vocalization is there
    (default 0.3 for the shipped model), or ``{tag: value}``, the lowest event score kept
    for those tags (see :func:`paravox.vocal_events.model.find_events`); ``tags`` keeps only
    those tags; ``min_duration`` drops shorter events (seconds).

    >>> [(e.tag, e.start, e.end) for e in paravox.events("talk.wav")]   # doctest: +SKIP
    [('laugh', 3.12, 5.7)]
    """
    det = load_detector(_model_path(model, "detector"))
    wanted = _check_tags(tags, det.tags, "event detector")
    if isinstance(threshold, Mapping):
        _check_tags(list(threshold), det.tags, "event detector")
    clf = _classifier_for(model, det)
    audio = load_audio(source, name=name)
    return find_events(audio.samples, det, clf, threshold=threshold, tags=wanted, min_duration=min_duration)


def _classifier_for(model: str | Path | None, detector) -> Any:
    """The classifier that names the detector's regions, when its config asks for one."""
    if not detector.config.get("label_with_classifier", False):
        return None
    path = Path(model) / "classifier" if model is not None else None
    if path is not None and not (path / "config.json").is_file():
        return None  # a detector directory given on its own: frame thresholds only
    return load_classifier(None if path is None else str(path))


def classify_tags(model: str | Path | None = None) -> list[str]:
    """The tags :func:`classify` can answer with this ``model``."""
    return load_classifier(_isolated_path(model)).tags


def model_tags(model: str | Path | None = None) -> dict[str, list[str]]:
    """The tags each part of an events model can emit: ``classify`` (what :func:`classify`
    answers), ``classifier`` (names the detector's regions) and ``detector``."""
    return {
        "classify": classify_tags(model),
        "classifier": load_classifier(_model_path(model, "classifier")).tags,
        "detector": load_detector(_model_path(model, "detector")).tags,
    }


def parse_threshold(text: str | None) -> float | dict[str, float] | None:
    """``"0.6"`` -> 0.6; ``"laugh=0.4,cough=0.7"`` -> a per-tag map.

    >>> parse_threshold("laugh=0.4, cough=0.7")
    {'laugh': 0.4, 'cough': 0.7}
    >>> parse_threshold("0.6")
    0.6
    """
    if text is None or not str(text).strip():
        return None
    text = str(text).strip()
    try:
        value: float | dict[str, float] = float(text)
        values = [value]
    except ValueError:
        value = {}
        for part in text.split(","):
            tag, sep, num = part.partition("=")
            if not sep:
                raise ValueError(f"threshold {text!r}: write one number (0.6) or tag=value pairs (laugh=0.4,cough=0.7)")
            try:
                value[tag.strip()] = float(num)
            except ValueError:
                raise ValueError(f"threshold {part.strip()!r}: {num.strip()!r} is not a number") from None
        values = list(value.values())
    if not all(0.0 < v < 1.0 for v in values):
        raise ValueError(f"threshold {text!r}: values must lie between 0 and 1")
    return value
