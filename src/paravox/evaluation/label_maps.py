"""Label maps: rename or drop reference labels before classification scoring.

A corpus and a model rarely spell their classes the same way: RAVDESS says ``disgust``
and ``calm`` where emotion2vec's nine labels (which paravox's emotion model emits) say
``disgusted`` and have no ``calm``. Scored as written, every such item is an error
(RAVDESS: 47.1 % WA instead of 70.0 %). A label map is a JSON object::

    {"disgust": "disgusted", "calm": "neutral"}     # reference label -> model label
    {"calm": null}                                   # null: leave those items out

Labels the map does not list are kept as written. The map applies to the **reference**
only: the model's label set is fixed, so the corpus' vocabulary is what gets translated;
for a system with other label names, write the map from the reference labels to that
system's names. Dropped items leave both sides and are counted in the report.

A file may also hold ``{"map": {...}, ...}`` with other keys beside ``map`` (the
built-in maps do so to document their choices). Built-in maps, one per emotion corpus of
the data pack, live in ``paravox/data/label_maps/<name>.json``: :func:`builtin_label_maps`
lists them and :func:`load_label_map` reads a name or a file.

:func:`apply_label_map` also finds the reference labels that no map entry covers, that no
prediction uses and that are not among the model's labels: each of their items can only
be counted wrong, so the CLI names them in a warning and the report lists them
(``unmapped_labels``), map or no map.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from paravox.errors import ParavoxError

__all__ = [
    "LabelMapError",
    "LabelMap",
    "LabelMapping",
    "builtin_label_maps",
    "load_label_map",
    "parse_label_map",
    "apply_label_map",
]

_BUILTIN_FOLDER = "data/label_maps"


class LabelMapError(ParavoxError, ValueError):
    """A ``--label-map`` value that is neither a built-in name nor a usable JSON file."""


@dataclass(frozen=True)
class LabelMap:
    """``mapping``: reference label -> label to score it as, or ``None`` to drop the item.
    ``name`` is the built-in name or the path as given; ``source`` is ``"built-in"`` or
    ``"file"``."""

    name: str
    source: str
    mapping: dict[str, str | None]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "map": dict(self.mapping)}

    def describe(self) -> str:
        return f"{self.name} (built-in)" if self.source == "built-in" else self.name


def _builtin_root():
    return resources.files("paravox").joinpath(_BUILTIN_FOLDER)


def builtin_label_maps() -> list[str]:
    """Names of the built-in maps, sorted (``casia``, ``emodb``, ``ravdess``)."""
    root = _builtin_root()
    if not root.is_dir():
        return []
    return sorted(p.name[: -len(".json")] for p in root.iterdir() if p.name.endswith(".json"))


def parse_label_map(data: Any, where: str) -> dict[str, str | None]:
    """Check a decoded JSON map (flat, or ``{"map": {...}}``); ``where`` names it in errors."""
    if isinstance(data, dict) and isinstance(data.get("map"), dict):
        data = data["map"]
    if not isinstance(data, dict):
        raise LabelMapError(
            f"{where}: a label map is a JSON object {{\"reference label\": \"model label\" or null}}, "
            f"got {type(data).__name__}"
        )
    if not data:
        raise LabelMapError(f"{where}: the label map is empty")
    out: dict[str, str | None] = {}
    for key, value in data.items():
        if not key.strip():
            raise LabelMapError(f"{where}: empty reference label in the label map")
        if value is not None and (not isinstance(value, str) or not value.strip()):
            got = repr(value) if isinstance(value, str) else type(value).__name__
            raise LabelMapError(
                f"{where}: the value of {key!r} must be a label (a non-empty string) or null, got {got}"
            )
        out[key] = value
    return out


def _names() -> str:
    return ", ".join(builtin_label_maps()) or "none"


def load_label_map(spec: str) -> LabelMap:
    """A built-in map by name (``ravdess``) or a JSON file by path.

    A value that is a built-in name is the built-in map (write ``./ravdess`` for a file of
    that name). Errors name ``spec`` and list the built-in names.
    """
    spec = str(spec)
    if spec in builtin_label_maps():
        path = _builtin_root().joinpath(f"{spec}.json")
        data = json.loads(path.read_text(encoding="utf-8"))
        return LabelMap(spec, "built-in", parse_label_map(data, f"built-in label map {spec}"))
    where = f"--label-map {spec}"
    p = Path(spec).expanduser()
    if not p.exists():
        if p.suffix or len(p.parts) > 1:
            raise LabelMapError(f"{where}: no such file (built-in maps: {_names()})")
        raise LabelMapError(f"{where}: no built-in map of that name and no such file (built-in maps: {_names()})")
    try:
        text = p.read_text(encoding="utf-8")
    except IsADirectoryError:
        raise LabelMapError(f"{where}: is a directory, expected a JSON file (built-in maps: {_names()})") from None
    except UnicodeDecodeError as exc:
        raise LabelMapError(f"{where}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise LabelMapError(f"{where}: cannot read ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LabelMapError(f"{where}: invalid JSON ({exc.msg}, line {exc.lineno})") from None
    return LabelMap(spec, "file", parse_label_map(data, where))


@dataclass(frozen=True)
class LabelMapping:
    """What :func:`apply_label_map` did: the map (or ``None``), how many reference labels
    it renamed, the items it dropped (by original label) and the unmapped labels."""

    label_map: LabelMap | None
    n_before: int
    relabelled: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    unmapped: dict[str, int] = field(default_factory=dict)

    @property
    def n_dropped(self) -> int:
        return sum(self.dropped.values())

    def to_dict(self) -> dict[str, Any]:
        """The report's ``label_map`` (``None`` without a map) and ``unmapped_labels``."""
        lm = None
        if self.label_map is not None:
            lm = {
                **self.label_map.to_dict(),
                "relabelled": self.relabelled,
                "dropped": self.n_dropped,
                "dropped_labels": dict(self.dropped),
            }
        return {"label_map": lm, "unmapped_labels": dict(self.unmapped)}

    def _unmapped_text(self) -> str:
        return ", ".join(f"{label} ({n})" for label, n in self.unmapped.items())

    def table_lines(self) -> list[str]:
        lines = []
        if self.label_map is not None:
            dropped = ""
            if self.dropped:
                dropped = " (" + ", ".join(f"{k} {v}" for k, v in self.dropped.items()) + ")"
            lines.append(
                f"  label map: {self.label_map.describe()}: {self.relabelled} of {self.n_before} "
                f"reference labels renamed, {self.n_dropped} items dropped{dropped}"
            )
        if self.unmapped:
            lines.append(f"  unmapped reference labels (every such item is an error): {self._unmapped_text()}")
        return lines

    def warning(self, model: str | None = None, *, list_builtin: bool = True) -> str | None:
        """One line for stderr when some reference labels can only be scored wrong; ``model``
        names the model's label set, ``list_builtin`` adds the built-in map names."""
        if not self.unmapped:
            return None
        outside = []
        if self.label_map is not None:
            outside.append(f"the label map {self.label_map.name}")
        if model:
            outside.append(f"{model}'s labels")
        where = {0: "", 1: f"not in {''.join(outside)} and ", 2: f"in neither {' nor '.join(outside)} and "}
        return (
            f"{len(self.unmapped)} reference label(s) {where[len(outside)]}never predicted, so every "
            f"such item counts as an error: {self._unmapped_text()}; if the names differ from the "
            f"model's, map them with --label-map"
            + (f" (built-in maps: {_names()})" if list_builtin else "")
        )


def apply_label_map(
    refs: Mapping[str, str],
    hyps: Mapping[str, str],
    label_map: LabelMap | Mapping[str, str | None] | None = None,
    *,
    known_labels: Iterable[str] = (),
) -> tuple[dict[str, str], dict[str, str], LabelMapping]:
    """Rename the reference labels of ``refs`` (``{id: label}``) through ``label_map`` and
    drop the items it maps to ``None`` from ``refs`` and ``hyps`` alike (reference order).

    ``known_labels`` are the model's labels (emotion2vec's nine for ``eval emotion``): a
    reference label the map does not list, that is not among them and that no kept
    prediction uses is reported in :attr:`LabelMapping.unmapped` with its item count.
    Raises :class:`LabelMapError` when the map drops every item.
    """
    from paravox.evaluation.io import check_ids

    check_ids(refs, hyps)
    if label_map is not None and not isinstance(label_map, LabelMap):
        label_map = LabelMap("<mapping>", "mapping", parse_label_map(dict(label_map), "label map"))
    mapping = label_map.mapping if label_map is not None else {}
    new_refs: dict[str, str] = {}
    new_hyps: dict[str, str] = {}
    dropped: Counter[str] = Counter()
    relabelled = 0
    for key, label in refs.items():
        if label in mapping:
            target = mapping[label]
            if target is None:
                dropped[label] += 1
                continue
            relabelled += target != label
            label = target
        new_refs[key] = label
        new_hyps[key] = hyps[key]
    if refs and not new_refs:
        raise LabelMapError(f"the label map {label_map.name} drops every item ({len(refs)})")  # type: ignore[union-attr]
    known = set(known_labels) | set(new_hyps.values())
    unmapped = Counter(
        label for key, label in new_refs.items() if refs[key] not in mapping and label not in known
    )
    outcome = LabelMapping(
        label_map=label_map,
        n_before=len(refs),
        relabelled=relabelled,
        dropped=dict(sorted(dropped.items())),
        unmapped=dict(sorted(unmapped.items())),
    )
    return new_refs, new_hyps, outcome
