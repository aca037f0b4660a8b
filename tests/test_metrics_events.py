import itertools
import random

import pytest

from paravox.evaluation.events import (
    EventCounts,
    evaluate_events,
    event_based_counts,
    segment_based_counts,
)
from paravox.evaluation.io import IdMismatchError

# The worked example of docs/metrics.md (one file).
DOC_REF = [("laugh", 1.0, 2.0), ("cough", 3.0, 3.5), ("laugh", 5.0, 6.0)]
DOC_HYP = [("laugh", 1.15, 2.5), ("cough", 3.3, 3.6), ("sigh", 5.1, 6.0)]


def test_worked_example_event_based():
    r = evaluate_events({"f1": DOC_REF}, {"f1": DOC_HYP})
    e = r.event
    # laugh 1.0 ~ laugh 1.15: onset 0.15 <= 0.2 -> TP (offset 2.0 vs 2.5 ignored)
    # cough 3.0 ~ cough 3.3: 0.3 > 0.2 -> FN + FP; laugh 5.0 vs sigh 5.1: wrong class
    # TP 1, N_ref 3, N_hyp 3 -> P = R = F1 = 1/3
    assert (e.tp, e.n_ref, e.n_hyp) == (1, 3, 3)
    assert e.f1 == pytest.approx(1 / 3)
    # ER: the unpaired laugh 5.0 / sigh 5.1 pair on time -> S 1; D = 3-1-1 = 1; I = 1
    # ER = (1 + 1 + 1) / 3 = 1.0
    assert (e.substitutions, e.deletions, e.insertions) == (1, 1, 1)
    assert e.error_rate == pytest.approx(1.0)
    assert (r.event_per_class["laugh"].tp, r.event_per_class["laugh"].n_ref) == (1, 2)
    assert r.event_per_class["laugh"].f1 == pytest.approx(2 / 3)  # P 1/1, R 1/2
    assert r.event_per_class["cough"].f1 == 0.0
    assert r.event_per_class["sigh"].n_ref == 0


def test_worked_example_segment_based():
    r = evaluate_events({"f1": DOC_REF}, {"f1": DOC_HYP})
    s = r.segment_counts
    # 1 s segments. ref: laugh {1}, cough {3}, laugh {5}
    #               hyp: laugh 1.15-2.5 {1, 2}, cough 3.3-3.6 {3}, sigh 5.1-6.0 {5}
    # seg 1: laugh TP; seg 2: laugh FP; seg 3: cough TP; seg 5: laugh FN + sigh FP
    # TP 2, N_ref 3, N_hyp 4 -> P 0.5, R 2/3, F1 = 4/7
    assert (s.tp, s.n_ref, s.n_hyp) == (2, 3, 4)
    assert s.precision == 0.5 and s.recall == pytest.approx(2 / 3)
    assert s.f1 == pytest.approx(4 / 7)
    # ER: seg 2 I 1, seg 5 S 1 -> 2 / 3
    assert (s.substitutions, s.deletions, s.insertions) == (1, 0, 1)
    assert s.error_rate == pytest.approx(2 / 3)
    assert r.segment_per_class["laugh"].f1 == pytest.approx(0.5)  # TP 1, ref 2, hyp 2
    assert r.segment_per_class["cough"].f1 == 1.0
    d = r.to_dict()
    assert d["event_f1"] == pytest.approx(1 / 3) and d["segment_f1"] == pytest.approx(4 / 7)
    assert d["per_class"]["cough"]["segment"]["f1"] == 1.0
    # macro over reference classes (laugh, cough): event (2/3 + 0) / 2
    assert d["event_macro_f1"] == pytest.approx(1 / 3)


def test_offset_condition_is_optional():
    # offset 2.0 vs 2.5: 0.5 > max(0.2, 0.2 * 1.0 s) -> no longer a match
    r = evaluate_events({"f": DOC_REF}, {"f": DOC_HYP}, evaluate_offset=True)
    assert r.event.tp == 0
    # a 5 s event: offset collar max(0.2, 20% of 5 s) = 1.0 s
    ok, _ = event_based_counts([("cry", 0, 5)], [("cry", 0.1, 5.9)], evaluate_offset=True)
    late, _ = event_based_counts([("cry", 0, 5)], [("cry", 0.1, 6.1)], evaluate_offset=True)
    assert (ok.tp, late.tp) == (1, 0)


def test_collar_boundary_is_inclusive():
    hit, _ = event_based_counts([("laugh", 1.5, 2)], [("laugh", 1.7, 2)])  # 0.2 s
    miss, _ = event_based_counts([("laugh", 1.5, 2)], [("laugh", 1.71, 2)])
    assert (hit.tp, miss.tp) == (1, 0)
    wide, _ = event_based_counts([("laugh", 1.5, 2)], [("laugh", 1.71, 2)], collar=0.5)
    assert wide.tp == 1


def test_matching_is_one_to_one_and_maximal():
    # ref A 1.0 can pair with X 1.1 or Y 0.8; ref B 1.25 only with X.
    # Pairing A with its nearest (X) leaves B alone; the maximum matching pairs both.
    ref = [("laugh", 1.0, 1.5), ("laugh", 1.25, 1.5)]
    hyp = [("laugh", 1.1, 1.5), ("laugh", 0.8, 1.5)]
    counts, _ = event_based_counts(ref, hyp)
    assert counts.tp == 2
    # two hypotheses on one reference: one TP, one FP
    counts, _ = event_based_counts([("cough", 1, 2)], [("cough", 1, 2), ("cough", 1.1, 2)])
    assert (counts.tp, counts.fp, counts.fn) == (1, 1, 0)


def _brute_force_tp(ref, hyp, collar=0.2):
    best = 0
    for label in {e[0] for e in ref} | {e[0] for e in hyp}:
        r = [e for e in ref if e[0] == label]
        h = [e for e in hyp if e[0] == label]
        top = 0
        for perm in itertools.permutations(range(len(h)), min(len(r), len(h))):
            top = max(top, sum(abs(r[i][1] - h[j][1]) <= collar + 1e-9 for i, j in enumerate(perm)))
        if len(r) > len(h):  # permute refs instead
            for perm in itertools.permutations(range(len(r)), len(h)):
                top = max(top, sum(abs(r[i][1] - h[j][1]) <= collar + 1e-9 for j, i in enumerate(perm)))
        best += top
    return best


def test_matching_agrees_with_brute_force():
    rng = random.Random(3)
    for _ in range(150):
        def events(k):
            out = []
            for _ in range(k):
                start = round(rng.uniform(0, 2), 2)
                out.append((rng.choice("ab"), start, start + 0.5))
            return out

        ref, hyp = events(rng.randint(0, 5)), events(rng.randint(0, 5))
        counts, per_class = event_based_counts(ref, hyp)
        assert counts.tp == _brute_force_tp(ref, hyp)
        assert counts.tp == sum(c.tp for c in per_class.values())


def test_segment_edges_and_zero_length_events():
    # 0.5-1.0 touches only segment 0; 0.5-1.01 reaches segment 1
    overall, _ = segment_based_counts([("a", 0.5, 1.0)], [("a", 0.5, 1.01)])
    assert (overall.tp, overall.n_ref, overall.n_hyp) == (1, 1, 2)
    # a zero-length event still occupies the segment holding it
    overall, _ = segment_based_counts([("a", 2.0, 2.0)], [("a", 2.3, 2.3)])
    assert overall.tp == 1
    half, _ = segment_based_counts([("a", 0.2, 0.7)], [("a", 0.8, 1.2)], segment=0.5)
    assert (half.tp, half.n_ref, half.n_hyp) == (1, 2, 2)  # segments {0,1} vs {1,2}


def test_files_are_scored_separately_and_summed():
    refs = {"f1": [("cough", 1.0, 1.2)], "f2": [], "f3": [("laugh", 0.0, 1.0)]}
    hyps = {"f1": [("cough", 1.1, 1.2)], "f2": [("laugh", 0.0, 1.0)], "f3": []}
    r = evaluate_events(refs, hyps)
    # f1 TP; f2 FP (same times as f3's laugh, but another file); f3 FN
    assert (r.event.tp, r.event.fp, r.event.fn) == (1, 1, 1)
    assert r.n == 3
    with pytest.raises(IdMismatchError):
        evaluate_events(refs, {"f1": []})


def test_labels_are_canonicalised_and_inputs_validated():
    ref = {"f": [{"label": "laughter", "start": 1.0, "end": 2.0}]}
    hyp = {"f": [{"tag": "laugh", "onset": 1.1, "offset": 2.0}]}
    assert evaluate_events(ref, hyp).event.tp == 1
    assert evaluate_events(ref, hyp, canonicalize=False).event.tp == 0
    # labels outside the taxonomy are kept and compared as written
    assert evaluate_events({"f": [("music", 0, 1)]}, {"f": [("music", 0, 1)]}).event.f1 == 1.0
    with pytest.raises(ValueError):
        evaluate_events({"f": [("laugh", 2.0, 1.0)]}, {"f": []})
    with pytest.raises(ValueError):
        evaluate_events({"f": [{"label": "laugh"}]}, {"f": []})


def test_no_reference_events():
    r = evaluate_events({"f": []}, {"f": [("laugh", 0, 1)]})
    assert r.event.error_rate is None and r.event.f1 == 0.0
    assert r.to_dict()["event_error_rate"] is None
    assert EventCounts().f1 == 0.0
