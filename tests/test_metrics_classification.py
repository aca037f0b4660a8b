import numpy as np
import pytest

from paravox.evaluation.classification import (
    ccc,
    classification_report,
    confusion_matrix,
    evaluate_classification,
)
from paravox.evaluation.io import IdMismatchError

sklearn_metrics = pytest.importorskip("sklearn.metrics")

# The worked example of docs/metrics.md.
REF = ["angry", "angry", "angry", "happy", "happy", "sad"]
HYP = ["angry", "angry", "happy", "happy", "sad", "sad"]


def test_worked_example_from_docs():
    r = evaluate_classification(REF, HYP)
    assert r.labels == ("angry", "happy", "sad")
    # rows = reference, columns = hypothesis
    assert r.confusion.tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    # WA = (2 + 1 + 1) / 6
    assert r.wa == pytest.approx(4 / 6)
    # recall: angry 2/3, happy 1/2, sad 1/1 -> UA = (2/3 + 1/2 + 1) / 3 = 0.7222
    assert r.ua == r.uar == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    # precision: angry 2/2, happy 1/2, sad 1/2
    # F1: angry 2*1*(2/3)/(1+2/3) = 0.8, happy 0.5, sad 2*0.5*1/1.5 = 2/3
    assert r.per_class["angry"].f1 == pytest.approx(0.8)
    assert r.per_class["happy"].f1 == pytest.approx(0.5)
    assert r.per_class["sad"].f1 == pytest.approx(2 / 3)
    # macro-F1 = (0.8 + 0.5 + 0.6667) / 3 = 0.6556
    assert r.macro_f1 == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    # weighted F1 = (0.8*3 + 0.5*2 + 0.6667*1) / 6 = 0.6778
    assert r.weighted_f1 == pytest.approx((0.8 * 3 + 0.5 * 2 + 2 / 3) / 6)
    d = r.to_dict()
    assert d["n"] == 6 and d["uar"] == d["ua"] and d["labels"] == ["angry", "happy", "sad"]
    assert d["confusion"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]


def test_hypothesis_only_label():
    # ref a a b b, hyp a x b b: "x" is an error (lowers a's recall), shown with support 0
    r = evaluate_classification(["a", "a", "b", "b"], ["a", "x", "b", "b"])
    assert r.labels == ("a", "b", "x")
    assert r.per_class["x"].support == 0 and r.per_class["x"].f1 == 0.0
    assert r.wa == 0.75
    assert r.ua == pytest.approx((0.5 + 1.0) / 2)
    # F1: a 2*1*0.5/1.5 = 2/3, b 1, x 0
    # macro-F1 over reference classes: (2/3 + 1) / 2 = 0.8333; over the union: (2/3+1+0)/3
    assert r.macro_f1 == pytest.approx((2 / 3 + 1) / 2)
    union = evaluate_classification(["a", "a", "b", "b"], ["a", "x", "b", "b"], average_over="union")
    assert union.macro_f1 == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert r.weighted_f1 == union.weighted_f1 == pytest.approx((2 / 3 * 2 + 1 * 2) / 4)


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
@pytest.mark.parametrize("seed", range(8))
def test_agrees_with_scikit_learn_on_random_labels(seed):
    rng = np.random.default_rng(seed)
    classes = ["neutral", "happy", "sad", "angry", "fear"]
    n = int(rng.integers(5, 80))
    y_true = list(rng.choice(classes[:4], n))
    y_pred = list(rng.choice(classes, n))  # "fear" may be predicted but never true
    r = evaluate_classification(y_true, y_pred)
    ref_classes = sorted(set(y_true))
    assert r.wa == pytest.approx(sklearn_metrics.accuracy_score(y_true, y_pred))
    assert r.ua == pytest.approx(sklearn_metrics.balanced_accuracy_score(y_true, y_pred))
    assert r.macro_f1 == pytest.approx(
        sklearn_metrics.f1_score(y_true, y_pred, labels=ref_classes, average="macro", zero_division=0)
    )
    union = evaluate_classification(y_true, y_pred, average_over="union")
    assert union.macro_f1 == pytest.approx(
        sklearn_metrics.f1_score(y_true, y_pred, average="macro", zero_division=0)
    )
    assert r.weighted_f1 == pytest.approx(
        sklearn_metrics.f1_score(y_true, y_pred, average="weighted", zero_division=0)
    )
    labels = list(r.labels)
    assert np.array_equal(r.confusion, sklearn_metrics.confusion_matrix(y_true, y_pred, labels=labels))
    p, rec, f, s = sklearn_metrics.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    for i, c in enumerate(labels):
        got = r.per_class[c]
        assert (got.precision, got.recall, got.f1, got.support) == pytest.approx((p[i], rec[i], f[i], s[i]))


def test_explicit_label_order_and_validation():
    r = evaluate_classification(REF, HYP, labels=["sad", "happy", "angry", "fear"])
    assert r.labels == ("sad", "happy", "angry", "fear")
    assert r.confusion.tolist() == [[1, 0, 0, 0], [1, 1, 0, 0], [0, 1, 2, 0], [0, 0, 0, 0]]
    assert r.macro_f1 == pytest.approx(evaluate_classification(REF, HYP).macro_f1)
    with pytest.raises(ValueError, match="labels do not include"):
        evaluate_classification(REF, HYP, labels=["angry", "happy"])
    with pytest.raises(ValueError):
        evaluate_classification([], [])
    with pytest.raises(ValueError):
        evaluate_classification(["a"], ["a", "b"])
    assert confusion_matrix(["a", "z"], ["a", "a"], ["a"]).tolist() == [[1]]


def test_classification_report_pairs_by_id():
    refs = {"x1": "angry", "x2": "sad"}
    hyps = {"x2": "sad", "x1": "sad"}
    r = classification_report(refs, hyps)
    assert r.wa == 0.5 and r.confusion.tolist() == [[0, 1], [0, 1]]
    with pytest.raises(IdMismatchError):
        classification_report(refs, {"x1": "angry"})


def test_ccc_hand_examples():
    assert ccc([1, 2, 3], [1, 2, 3]) == pytest.approx(1.0)
    # means 2 and 3, var 2/3 each, cov 2/3: 2*(2/3) / (2/3 + 2/3 + 1) = 4/7
    assert ccc([1, 2, 3], [2, 3, 4]) == pytest.approx(4 / 7)
    # perfectly reversed with equal means: cov -2/3 -> -1
    assert ccc([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    # a constant prediction has no covariance: 0
    assert ccc([1, 2, 3], [2, 2, 2]) == 0.0
    with pytest.raises(ValueError):
        ccc([1, 1], [1, 1])
    with pytest.raises(ValueError):
        ccc([1, 2], [1, 2, 3])
    with pytest.raises(ValueError):
        ccc([], [])


def test_ccc_matches_pearson_times_bias_correction():
    # CCC = rho * 2 sx sy / (sx^2 + sy^2 + (mx - my)^2)
    rng = np.random.default_rng(1)
    x = rng.normal(size=200)
    y = 0.7 * x + rng.normal(scale=0.5, size=200) + 0.3
    rho = np.corrcoef(x, y)[0, 1]
    sx, sy = x.std(), y.std()
    expected = rho * 2 * sx * sy / (sx**2 + sy**2 + (x.mean() - y.mean()) ** 2)
    assert ccc(x, y) == pytest.approx(expected)


def test_apply_label_map_renames_drops_and_reports_unmapped():
    from paravox.evaluation.label_maps import LabelMapError, apply_label_map

    refs = {"a": "calm", "b": "disgust", "c": "boredom", "d": "boredom", "e": "angry", "f": "x"}
    hyps = {"f": "x", "e": "sad", "d": "sad", "c": "neutral", "b": "disgusted", "a": "neutral"}
    new_refs, new_hyps, outcome = apply_label_map(
        refs, hyps, {"calm": "neutral", "disgust": "disgusted", "angry": None}, known_labels=("neutral", "sad")
    )
    assert list(new_refs) == list(new_hyps) == ["a", "b", "c", "d", "f"]  # reference order, e dropped
    assert new_refs == {"a": "neutral", "b": "disgusted", "c": "boredom", "d": "boredom", "f": "x"}
    assert outcome.relabelled == 2 and outcome.n_dropped == 1 and outcome.dropped == {"angry": 1}
    # boredom: not in the map, not a known label, never predicted; x is predicted, so it is not
    assert outcome.unmapped == {"boredom": 2}
    assert outcome.to_dict()["unmapped_labels"] == {"boredom": 2}
    r = evaluate_classification(list(new_refs.values()), list(new_hyps.values()))
    assert r.wa == pytest.approx(3 / 5)
    # without a map nothing changes, and only the unmapped labels are reported
    same_refs, _, plain = apply_label_map(refs, hyps, known_labels=("neutral", "sad", "angry"))
    assert same_refs == refs and plain.to_dict()["label_map"] is None
    assert plain.unmapped == {"boredom": 2, "calm": 1, "disgust": 1}
    with pytest.raises(LabelMapError, match="drops every item"):
        apply_label_map({"a": "calm"}, {"a": "neutral"}, {"calm": None})
    with pytest.raises(IdMismatchError):
        apply_label_map({"a": "calm"}, {"b": "neutral"}, {"calm": "neutral"})
