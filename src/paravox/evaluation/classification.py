"""Classification metrics for speech emotion and NV classification, and CCC.

* **WA** (weighted accuracy): plain accuracy, correct / all.
* **UA** = **UAR** (unweighted average recall, balanced accuracy): the mean over the
  classes present in the reference of each class' recall. Equals scikit-learn's
  ``balanced_accuracy_score``.
* **macro-F1**: the mean of per-class F1 over the **reference classes** by default.
  A label that only the hypothesis uses (say emotion2vec's ``other`` on a corpus without
  it) is still an error: it lowers the recall of the true class and appears in the
  confusion matrix and in ``per_class`` with support 0. It is not averaged in as an extra
  zero-F1 class, because then a benchmark's score would depend on which stray labels a
  system can emit and macro-F1 and UA would average over different class sets.
  ``average_over="union"`` averages over reference + hypothesis labels instead, which is
  scikit-learn's ``f1_score(average="macro")`` default.
* **WAF** (weighted F1, the MER2024 ranking metric): per-class F1 weighted by reference
  support; hypothesis-only labels have weight 0, so both choices above agree.
* Per-class precision/recall/F1 and the confusion matrix (rows: reference, columns:
  hypothesis) over every label seen. A ratio with a zero denominator is 0.0.
* **CCC** (Lin's concordance correlation coefficient) for continuous targets
  (arousal/valence/dominance): ``2 cov(x, y) / (var x + var y + (mean x - mean y)^2)``
  with population (``ddof=0``) moments.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "ClassScore",
    "ClassificationReport",
    "confusion_matrix",
    "evaluate_classification",
    "classification_report",
    "ccc",
]


def _safe_div(num: float, den: float) -> float:
    return float(num) / float(den) if den else 0.0


@dataclass(frozen=True)
class ClassScore:
    precision: float
    recall: float
    f1: float
    support: int

    def to_dict(self) -> dict[str, Any]:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1, "support": self.support}


def confusion_matrix(
    y_true: Sequence[Hashable], y_pred: Sequence[Hashable], labels: Sequence[Hashable]
) -> np.ndarray:
    """``C[i, j]`` = number of items of reference class ``labels[i]`` predicted as
    ``labels[j]``. Items whose labels are not in ``labels`` are ignored (as in scikit-learn)."""
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for t, p in zip(y_true, y_pred):
        if t in index and p in index:
            matrix[index[t], index[p]] += 1
    return matrix


@dataclass(frozen=True)
class ClassificationReport:
    labels: tuple[str, ...]
    confusion: np.ndarray
    per_class: dict[str, ClassScore]
    n: int
    wa: float
    ua: float
    macro_f1: float
    weighted_f1: float
    average_over: str = "reference"

    @property
    def uar(self) -> float:
        return self.ua

    @property
    def accuracy(self) -> float:
        return self.wa

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "wa": self.wa,
            "ua": self.ua,
            "uar": self.ua,
            "macro_f1": self.macro_f1,
            "weighted_f1": self.weighted_f1,
            "macro_f1_average_over": self.average_over,
            "labels": list(self.labels),
            "confusion": self.confusion.tolist(),
            "per_class": {c: s.to_dict() for c, s in self.per_class.items()},
        }

    def format_table(self, title: str = "Classification") -> str:
        lines = [
            f"{title}: {self.n} items, {sum(s.support > 0 for s in self.per_class.values())} "
            "reference classes",
            f"  WA (accuracy)    {100 * self.wa:7.2f}%",
            f"  UA (UAR)         {100 * self.ua:7.2f}%",
            f"  macro-F1         {100 * self.macro_f1:7.2f}%",
            f"  weighted F1      {100 * self.weighted_f1:7.2f}%",
            "",
            f"  {'class':<16}{'support':>8}{'precision':>11}{'recall':>9}{'f1':>9}",
        ]
        for c, s in self.per_class.items():
            lines.append(
                f"  {c:<16}{s.support:>8}{100 * s.precision:>10.2f}%{100 * s.recall:>8.2f}%"
                f"{100 * s.f1:>8.2f}%"
            )
        width = max([len(c) for c in self.labels] + [4])
        cell = max(width, len(str(int(self.confusion.max(initial=0))))) + 1
        lines += ["", "  confusion (rows: reference, columns: hypothesis)"]
        lines.append("  " + " " * (width + 1) + "".join(f"{c[:cell - 1]:>{cell}}" for c in self.labels))
        for c, row in zip(self.labels, self.confusion):
            lines.append(f"  {c:<{width + 1}}" + "".join(f"{v:>{cell}}" for v in row))
        return "\n".join(lines)


def evaluate_classification(
    y_true: Sequence[Hashable],
    y_pred: Sequence[Hashable],
    *,
    labels: Sequence[Hashable] | None = None,
    average_over: str = "reference",
) -> ClassificationReport:
    """WA, UA (UAR), macro-F1, weighted F1, per-class scores and the confusion matrix.

    ``labels`` fixes the order of the confusion matrix (default: reference classes in
    sorted order, then hypothesis-only labels in sorted order); every label seen must be
    in it. ``average_over`` is ``"reference"`` (default) or ``"union"`` for macro-F1.
    """
    if average_over not in ("reference", "union"):
        raise ValueError("average_over must be 'reference' or 'union'")
    y_true = [str(y) for y in y_true]
    y_pred = [str(y) for y in y_pred]
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} reference labels but {len(y_pred)} predictions")
    if not y_true:
        raise ValueError("nothing to evaluate: no items")
    ref_classes = sorted(set(y_true))
    hyp_only = sorted(set(y_pred) - set(y_true))
    if labels is None:
        order = ref_classes + hyp_only
    else:
        order = [str(label) for label in labels]
        missing = (set(y_true) | set(y_pred)) - set(order)
        if missing:
            raise ValueError(f"labels do not include {sorted(missing)}")
        if len(set(order)) != len(order):
            raise ValueError("labels contain duplicates")
    cm = confusion_matrix(y_true, y_pred, order)
    tp = np.diag(cm)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    per_class: dict[str, ClassScore] = {}
    for i, c in enumerate(order):
        p = _safe_div(tp[i], predicted[i])
        r = _safe_div(tp[i], support[i])
        f = _safe_div(2 * tp[i], support[i] + predicted[i])  # == 2PR/(P+R)
        per_class[c] = ClassScore(p, r, f, int(support[i]))
    in_ref = [c for c in order if per_class[c].support > 0]
    averaged = in_ref if average_over == "reference" else [c for c in order if c in set(y_true) | set(y_pred)]
    n = len(y_true)
    return ClassificationReport(
        labels=tuple(order),
        confusion=cm,
        per_class=per_class,
        n=n,
        wa=float(tp.sum()) / n,
        ua=float(np.mean([per_class[c].recall for c in in_ref])),
        macro_f1=float(np.mean([per_class[c].f1 for c in averaged])),
        weighted_f1=sum(per_class[c].f1 * per_class[c].support for c in in_ref) / n,
        average_over=average_over,
    )


def classification_report(
    refs: Mapping[str, Hashable],
    hyps: Mapping[str, Hashable],
    **kwargs: Any,
) -> ClassificationReport:
    """:func:`evaluate_classification` over two ``{id: label}`` maps with the same ids."""
    from paravox.evaluation.io import check_ids

    check_ids(refs, hyps)
    keys = list(refs)
    return evaluate_classification([refs[k] for k in keys], [hyps[k] for k in keys], **kwargs)


def ccc(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    """Lin's concordance correlation coefficient (population moments).

    ``2 cov(x, y) / (var(x) + var(y) + (mean(x) - mean(y))**2)``; 1 is perfect agreement,
    0 none, -1 perfect disagreement. Raises ``ValueError`` for empty or unequal inputs
    and when both inputs are the same constant (the ratio is 0/0).
    """
    a = np.asarray(x, dtype=np.float64).ravel()
    b = np.asarray(y, dtype=np.float64).ravel()
    if a.size != b.size:
        raise ValueError(f"ccc needs inputs of equal length, got {a.size} and {b.size}")
    if a.size == 0:
        raise ValueError("ccc of empty inputs")
    ma, mb = a.mean(), b.mean()
    cov = np.mean((a - ma) * (b - mb))
    den = a.var() + b.var() + (ma - mb) ** 2
    if den == 0:
        raise ValueError("ccc is undefined when both inputs are the same constant")
    return float(2 * cov / den)
