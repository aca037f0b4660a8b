"""Precision, recall and F1 from matched counts, defined once for every scorer.

>>> class C(PRF):
...     tp, n_ref, n_hyp = 3, 4, 6
>>> c = C(); (c.precision, c.recall, round(c.f1, 3))
(0.5, 0.75, 0.6)
"""

from __future__ import annotations


class PRF:
    """Mixin for a class with ``tp`` (matched), ``n_ref`` and ``n_hyp`` (counts on each side)."""

    tp: int
    n_ref: int
    n_hyp: int

    @property
    def precision(self) -> float:
        return self.tp / self.n_hyp if self.n_hyp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / self.n_ref if self.n_ref else 0.0

    @property
    def f1(self) -> float:
        den = self.n_ref + self.n_hyp
        return 2 * self.tp / den if den else 0.0  # == 2PR / (P + R)
