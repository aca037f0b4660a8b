"""Dimensional emotion scores (valence, arousal, dominance ...): CCC, Pearson and MAE.

The reference is a JSONL file with one numeric column per dimension (TAVA's manifest, or a
user's); the hypothesis is ``paravox emotion -f jsonl`` output, whose values sit in
``emotion.dimensions`` (a plain top-level or ``dimensions`` column is read too). An input the
system gave no answer for (no speech, or a failed input) is scored as 0, the scale's centre,
and counted in the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from paravox.evaluation.classification import ccc
from paravox.evaluation.io import EvaluationInputError, _id_fields, _index, _name, check_ids, read_jsonl

DEFAULT_DIMENSIONS = ("valence", "arousal", "dominance")


def _number(value: Any, where: str, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise EvaluationInputError(f"{where}: {name!r} must be a number, got {value!r}")
    return float(value)


def _hyp_value(data: dict[str, Any], name: str) -> Any:
    for holder in (data, data.get("dimensions"), (data.get("emotion") or {}).get("dimensions")):
        if isinstance(holder, dict) and holder.get(name) is not None:
            return holder[name]
    return None


def load_dimension_pairs(ref_path: str | Path, hyp_path: str | Path, names: Sequence[str], *,
                         id_field: str | None = None) -> tuple[dict[str, list[float]], dict[str, list[float | None]]]:
    """``(refs, hyps)``: per id, one value per name (None where the hypothesis has none)."""
    ref, hyp = read_jsonl(ref_path), read_jsonl(hyp_path)
    rid, hid = _id_fields(ref, hyp, ref_path, hyp_path, id_field)
    ref_by, hyp_by = _index(ref, rid, ref_path), _index(hyp, hid, hyp_path)
    check_ids(ref_by, hyp_by, ref_name=_name(ref_path), hyp_name=_name(hyp_path))
    refs, hyps = {}, {}
    for key, r in ref_by.items():
        where = f"{_name(ref_path)}:{r.line}"
        missing = [n for n in names if n not in r.data]
        if missing:
            raise EvaluationInputError(f"{where}: no {', '.join(map(repr, missing))} column; "
                                       f"name the reference's columns with --dimensional A,B,...")
        refs[key] = [_number(r.data[n], where, n) for n in names]
        h = hyp_by[key]
        vals = [_hyp_value(h.data, n) for n in names]
        if any(v is None for v in vals) and "error" not in h.data and h.data.get("emotion") is not None:
            raise EvaluationInputError(f"{_name(hyp_path)}:{h.line}: no {names} values; run 'paravox emotion' "
                                       "with a model that scores dimensions (the shipped one does)")
        hyps[key] = [None if v is None else _number(v, f"{_name(hyp_path)}:{h.line}", n) for v, n in zip(vals, names)]
    return refs, hyps


@dataclass
class DimensionReport:
    names: list[str]
    items: int
    no_answer: int
    per_dimension: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"items": self.items, "no_answer": self.no_answer, "dimensions": self.per_dimension}

    def format_table(self) -> str:
        lines = [f"Dimensional emotion: {self.items} items"
                 + (f" ({self.no_answer} without an answer, scored as 0)" if self.no_answer else ""),
                 "", "| dimension | CCC | Pearson | MAE |", "|---|---|---|---|"]
        for n in self.names:
            m = self.per_dimension[n]
            lines.append(f"| {n} | {m['ccc']:.3f} | {m['pearson']:.3f} | {m['mae']:.3f} |")
        return "\n".join(lines)


def evaluate_dimensions(refs: dict[str, list[float]], hyps: dict[str, list[float | None]],
                        names: Sequence[str]) -> DimensionReport:
    keys = list(refs)
    if len(keys) < 2:
        raise ValueError("dimensional scores need at least 2 items")
    R = np.array([refs[k] for k in keys], dtype=np.float64)
    none = np.array([[v is None for v in hyps[k]] for k in keys])
    H = np.array([[0.0 if v is None else v for v in hyps[k]] for k in keys], dtype=np.float64)
    per = {}
    for j, n in enumerate(names):
        r, h = R[:, j], H[:, j]
        pearson = float(np.corrcoef(r, h)[0, 1]) if r.std() > 0 and h.std() > 0 else 0.0
        per[n] = {"ccc": round(ccc(h, r), 4) + 0.0, "pearson": round(pearson, 4) + 0.0, "mae": round(float(np.abs(h - r).mean()), 4)}
    return DimensionReport(list(names), len(keys), int(none.any(axis=1).sum()), per)
