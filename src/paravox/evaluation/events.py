"""Sound/vocal event detection metrics: event-based and segment-based F1 (DCASE style).

Semantics follow sed_eval (Mesaros, Heittola & Virtanen 2016), computed per file and
summed over files:

* **Event-based**: a hypothesis event is a true positive when it is paired with a
  reference event of the same class whose onset is within ``collar`` seconds (200 ms;
  inclusive). Offsets are ignored unless ``evaluate_offset=True``; then the offsets must
  also be within ``max(collar, offset_fraction * reference length)`` (DCASE: 200 ms or
  20 %). Pairing is one-to-one and maximises the number of pairs (maximum bipartite
  matching, sed_eval's default ``"optimal"`` matching, not its greedy variant).
  Error rate: ``ER = (S + D + I) / N_ref`` where S is the number of still-unpaired
  reference/hypothesis events that a second matching pairs on time alone (wrong
  class), ``D = N_ref - TP - S`` and ``I = N_hyp - TP - S``; per class
  ``ER = (FN + FP) / N_ref``.
* **Segment-based**: time is cut into ``segment``-second segments (1 s); a class is active
  in a segment when an event of it overlaps the segment (segments ``floor(start/seg)``
  to ``ceil(end/seg)``, at least the one holding the onset, so a zero-length event
  counts). TP/FP/FN are counted per segment and class. ``ER`` per segment:
  ``S = min(N_ref, N_hyp) - TP``, ``D = max(0, N_ref - N_hyp)``, ``I = max(0, N_hyp - N_ref)``.
* Overall scores are micro averages (sums over files, classes and segments);
  ``*_macro_f1`` is the mean class F1 over the classes present in the reference.
  A ratio whose denominator is 0 is 0.0, an error rate without reference events ``None``.
* Time comparisons allow 1e-9 s of floating-point slack, so a 0.2 s offset between
  onsets written as decimals counts as inside a 0.2 s collar.

Events are ``(label, start, end)`` tuples, mappings with ``tag``/``label`` and
``start``/``end`` (or ``onset``/``offset``), or objects with those attributes. Labels
that the NV taxonomy knows are mapped to canonical tags (``laughter`` -> ``laugh``);
other labels (``speech``, ``music``) are kept as written.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from paravox.evaluation.counts import PRF
from paravox.evaluation.io import check_ids
from paravox.taxonomy import Taxonomy, load_taxonomy

__all__ = [
    "EventCounts",
    "EventDetectionReport",
    "evaluate_events",
    "event_based_counts",
    "segment_based_counts",
]

_EPS = 1e-9


class _Event(NamedTuple):
    label: str
    start: float
    end: float


def _get(item: Any, names: Sequence[str]) -> Any:
    for name in names:
        if isinstance(item, Mapping):
            if item.get(name) is not None:
                return item[name]
        elif getattr(item, name, None) is not None:
            return getattr(item, name)
    return None


def _as_event(item: Any) -> _Event:
    if isinstance(item, (tuple, list)) and len(item) == 3:
        label, start, end = item
    else:
        label = _get(item, ("tag", "label", "event_label"))
        start = _get(item, ("start", "onset"))
        end = _get(item, ("end", "offset"))
    if label is None or start is None or end is None:
        raise ValueError(f"not an event (needs a label, start and end): {item!r}")
    start, end = float(start), float(end)
    if not 0 <= start <= end:
        raise ValueError(f"event {label!r} has start {start} > end {end} or a negative time")
    return _Event(str(label), start, end)


@dataclass
class EventCounts(PRF):
    """Counts behind precision/recall/F1 and error rate (overall or one class)."""

    tp: int = 0
    n_ref: int = 0
    n_hyp: int = 0
    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0

    @property
    def fp(self) -> int:
        return self.n_hyp - self.tp

    @property
    def fn(self) -> int:
        return self.n_ref - self.tp


    @property
    def error_rate(self) -> float | None:
        if not self.n_ref:
            return None
        return (self.substitutions + self.deletions + self.insertions) / self.n_ref

    def to_dict(self) -> dict[str, Any]:
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "error_rate": self.error_rate,
            "support": self.n_ref,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "substitutions": self.substitutions,
            "deletions": self.deletions,
            "insertions": self.insertions,
        }


def _max_matching(adj: list[list[int]], n_right: int) -> list[int]:
    """Maximum bipartite matching (Kuhn's augmenting paths, iterative).
    ``adj[u]`` lists the right nodes of left node ``u``; returns ``match[v] = u or -1``."""
    match = [-1] * n_right
    for root in range(len(adj)):
        if not adj[root]:
            continue
        visited = [False] * n_right
        stack = [root]
        iters = [iter(adj[root])]
        via: list[int] = []
        while stack:
            for v in iters[-1]:
                if visited[v]:
                    continue
                visited[v] = True
                if match[v] == -1:
                    match[v] = stack[-1]
                    for k, w in enumerate(via):
                        match[w] = stack[k]
                    stack = []
                    break
                via.append(v)
                stack.append(match[v])
                iters.append(iter(adj[match[v]]))
                break
            else:
                stack.pop()
                iters.pop()
                if via:
                    via.pop()
    return match


def _time_match(collar: float, evaluate_offset: bool, offset_fraction: float) -> Callable[[_Event, _Event], bool]:
    def ok(ref: _Event, hyp: _Event) -> bool:
        if abs(ref.start - hyp.start) > collar + _EPS:
            return False
        if evaluate_offset:
            offset_collar = max(collar, offset_fraction * (ref.end - ref.start))
            return abs(ref.end - hyp.end) <= offset_collar + _EPS
        return True

    return ok


def _pairs(refs: Sequence[_Event], hyps: Sequence[_Event], ok) -> list[tuple[int, int]]:
    adj = [[j for j, h in enumerate(hyps) if ok(r, h)] for r in refs]
    match = _max_matching(adj, len(hyps))
    return [(i, j) for j, i in enumerate(match) if i != -1]


def event_based_counts(
    ref_events: Sequence[Any],
    hyp_events: Sequence[Any],
    *,
    collar: float = 0.2,
    evaluate_offset: bool = False,
    offset_fraction: float = 0.2,
) -> tuple[EventCounts, dict[str, EventCounts]]:
    """Event-based counts of one file: ``(overall, per_class)``."""
    refs = [_as_event(e) for e in ref_events]
    hyps = [_as_event(e) for e in hyp_events]
    ok = _time_match(collar, evaluate_offset, offset_fraction)
    per_class: dict[str, EventCounts] = {}
    matched_ref: set[int] = set()
    matched_hyp: set[int] = set()
    for label in sorted({e.label for e in refs} | {e.label for e in hyps}):
        ri = [i for i, e in enumerate(refs) if e.label == label]
        hi = [j for j, e in enumerate(hyps) if e.label == label]
        pairs = _pairs([refs[i] for i in ri], [hyps[j] for j in hi], ok)
        matched_ref.update(ri[a] for a, _ in pairs)
        matched_hyp.update(hi[b] for _, b in pairs)
        tp = len(pairs)
        per_class[label] = EventCounts(
            tp, len(ri), len(hi), deletions=len(ri) - tp, insertions=len(hi) - tp
        )
    tp = len(matched_ref)
    rest_r = [e for i, e in enumerate(refs) if i not in matched_ref]
    rest_h = [e for j, e in enumerate(hyps) if j not in matched_hyp]
    subs = len(_pairs(rest_r, rest_h, ok))
    overall = EventCounts(
        tp, len(refs), len(hyps), subs, len(refs) - tp - subs, len(hyps) - tp - subs
    )
    return overall, per_class


def _segments(event: _Event, segment: float) -> range:
    first = math.floor(event.start / segment + _EPS)
    last = max(math.ceil(event.end / segment - _EPS), first + 1)
    return range(first, last)


def segment_based_counts(
    ref_events: Sequence[Any], hyp_events: Sequence[Any], *, segment: float = 1.0
) -> tuple[EventCounts, dict[str, EventCounts]]:
    """Segment-based counts of one file: ``(overall, per_class)``."""
    if segment <= 0:
        raise ValueError("segment length must be positive")
    active: list[dict[int, set[str]]] = []
    for events in (ref_events, hyp_events):
        roll: dict[int, set[str]] = defaultdict(set)
        for e in map(_as_event, events):
            for k in _segments(e, segment):
                roll[k].add(e.label)
        active.append(roll)
    ref_roll, hyp_roll = active
    overall = EventCounts()
    per_class: dict[str, EventCounts] = defaultdict(EventCounts)
    for k in sorted(set(ref_roll) | set(hyp_roll)):
        r, h = ref_roll.get(k, set()), hyp_roll.get(k, set())
        tp = len(r & h)
        overall.tp += tp
        overall.n_ref += len(r)
        overall.n_hyp += len(h)
        overall.substitutions += min(len(r), len(h)) - tp
        overall.deletions += max(0, len(r) - len(h))
        overall.insertions += max(0, len(h) - len(r))
        for label in r | h:
            c = per_class[label]
            c.tp += label in r and label in h
            c.n_ref += label in r
            c.n_hyp += label in h
            c.deletions += label in r and label not in h
            c.insertions += label in h and label not in r
    return overall, dict(per_class)


def _add(total: EventCounts, part: EventCounts) -> None:
    total.tp += part.tp
    total.n_ref += part.n_ref
    total.n_hyp += part.n_hyp
    total.substitutions += part.substitutions
    total.deletions += part.deletions
    total.insertions += part.insertions


def _macro_f1(per_class: Mapping[str, EventCounts]) -> float:
    scores = [c.f1 for c in per_class.values() if c.n_ref > 0]
    return sum(scores) / len(scores) if scores else 0.0


@dataclass
class EventDetectionReport:
    n: int
    collar: float
    evaluate_offset: bool
    offset_fraction: float
    segment: float
    event: EventCounts
    segment_counts: EventCounts
    event_per_class: dict[str, EventCounts] = field(default_factory=dict)
    segment_per_class: dict[str, EventCounts] = field(default_factory=dict)

    @property
    def event_f1(self) -> float:
        return self.event.f1

    @property
    def segment_f1(self) -> float:
        return self.segment_counts.f1

    def to_dict(self) -> dict[str, Any]:
        classes = sorted(set(self.event_per_class) | set(self.segment_per_class))
        e, s = self.event, self.segment_counts
        return {
            "n": self.n,
            "collar": self.collar,
            "evaluate_offset": self.evaluate_offset,
            "offset_fraction": self.offset_fraction,
            "segment": self.segment,
            "event_precision": e.precision,
            "event_recall": e.recall,
            "event_f1": e.f1,
            "event_error_rate": e.error_rate,
            "event_macro_f1": _macro_f1(self.event_per_class),
            "segment_precision": s.precision,
            "segment_recall": s.recall,
            "segment_f1": s.f1,
            "segment_error_rate": s.error_rate,
            "segment_macro_f1": _macro_f1(self.segment_per_class),
            "event_based": e.to_dict(),
            "segment_based": s.to_dict(),
            "per_class": {
                c: {
                    "event": self.event_per_class.get(c, EventCounts()).to_dict(),
                    "segment": self.segment_per_class.get(c, EventCounts()).to_dict(),
                }
                for c in classes
            },
        }

    def format_table(self) -> str:
        def er(x: float | None) -> str:
            return "n/a" if x is None else f"{x:.3f}"

        e, s = self.event, self.segment_counts
        onset = f"onset collar {self.collar:g} s"
        if self.evaluate_offset:
            onset += f", offset collar max({self.collar:g} s, {100 * self.offset_fraction:g}% length)"
        lines = [
            f"Event detection: {self.n} files",
            f"  event-based ({onset}):",
            f"    P {100 * e.precision:6.2f}%  R {100 * e.recall:6.2f}%  F1 {100 * e.f1:6.2f}%  "
            f"ER {er(e.error_rate)}  ({e.n_ref} ref, {e.n_hyp} hyp events)",
            f"  segment-based ({self.segment:g} s segments):",
            f"    P {100 * s.precision:6.2f}%  R {100 * s.recall:6.2f}%  F1 {100 * s.f1:6.2f}%  "
            f"ER {er(s.error_rate)}  ({s.n_ref} ref, {s.n_hyp} hyp active segments)",
            "",
            f"  {'class':<16}{'ev.support':>11}{'ev.F1':>9}{'seg.support':>12}{'seg.F1':>9}",
        ]
        for c in sorted(set(self.event_per_class) | set(self.segment_per_class)):
            ec = self.event_per_class.get(c, EventCounts())
            sc = self.segment_per_class.get(c, EventCounts())
            lines.append(
                f"  {c:<16}{ec.n_ref:>11}{100 * ec.f1:>8.2f}%{sc.n_ref:>12}{100 * sc.f1:>8.2f}%"
            )
        return "\n".join(lines)


def _canonical_labels(
    events: Iterable[Any], tax: Taxonomy | None, source: str | None
) -> list[_Event]:
    out = []
    for e in map(_as_event, events):
        if tax is not None:
            _, tag = tax.lookup(e.label, source)
            if tag is not None:
                e = e._replace(label=tag)
        out.append(e)
    return out


def evaluate_events(
    refs: Mapping[str, Sequence[Any]],
    hyps: Mapping[str, Sequence[Any]],
    *,
    collar: float = 0.2,
    evaluate_offset: bool = False,
    offset_fraction: float = 0.2,
    segment: float = 1.0,
    canonicalize: bool = True,
    source: str | None = None,
    taxonomy: Taxonomy | None = None,
) -> EventDetectionReport:
    """Event-based and segment-based scores over ``{file id: events}`` maps with the same ids."""
    check_ids(refs, hyps)
    if not refs:
        raise ValueError("no files to evaluate")
    if collar < 0 or segment <= 0:
        raise ValueError("collar must be >= 0 and segment > 0")
    tax = (taxonomy or load_taxonomy()) if canonicalize else None
    ev_total, seg_total = EventCounts(), EventCounts()
    ev_class: dict[str, EventCounts] = defaultdict(EventCounts)
    seg_class: dict[str, EventCounts] = defaultdict(EventCounts)
    for key in refs:
        r = _canonical_labels(refs[key], tax, source)
        h = _canonical_labels(hyps[key], tax, source)
        overall, per_class = event_based_counts(
            r, h, collar=collar, evaluate_offset=evaluate_offset, offset_fraction=offset_fraction
        )
        _add(ev_total, overall)
        for c, counts in per_class.items():
            _add(ev_class[c], counts)
        overall, per_class = segment_based_counts(r, h, segment=segment)
        _add(seg_total, overall)
        for c, counts in per_class.items():
            _add(seg_class[c], counts)
    return EventDetectionReport(
        n=len(refs),
        collar=collar,
        evaluate_offset=evaluate_offset,
        offset_fraction=offset_fraction,
        segment=segment,
        event=ev_total,
        segment_counts=seg_total,
        event_per_class=dict(sorted(ev_class.items())),
        segment_per_class=dict(sorted(seg_class.items())),
    )
