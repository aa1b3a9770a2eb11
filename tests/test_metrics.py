"""Metrics against scikit-learn on random predictions."""
import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from relext_bench.metrics import counts, evaluate, scores_from_counts

LABELS = ["Other", "A", "B", "C", "D", "E", "F"]


@pytest.mark.parametrize("seed", range(5))
def test_against_sklearn(seed):
    rng = np.random.default_rng(seed)
    n = 500
    gold = np.where(rng.random(n) < 0.7, 0, rng.integers(1, 7, n))
    pred = np.where(rng.random(n) < 0.6, gold, rng.integers(0, 7, n))
    got = evaluate(gold, pred, LABELS)
    positives = list(range(1, 7))
    for avg in ("micro", "macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(gold, pred, labels=positives, average=avg, zero_division=0)
        assert got[f"{avg}_f1"] == pytest.approx(f)
        if avg != "macro":
            assert got[f"{avg}_p"] == pytest.approx(p) and got[f"{avg}_r"] == pytest.approx(r)
    assert got["identification_f1"] == pytest.approx(f1_score(gold > 0, pred > 0))
    per = f1_score(gold, pred, labels=positives, average=None, zero_division=0)
    assert [got["per_label"][name]["f1"] for name in LABELS[1:]] == pytest.approx(list(per))
    assert got["confusion"] == confusion_matrix(gold, pred, labels=range(7)).tolist()


def test_perfect_and_empty():
    gold = np.array([0, 1, 2, 0])
    assert evaluate(gold, gold, ["Other", "x", "y"])["micro_f1"] == 1.0
    none = evaluate(gold, np.zeros(4, dtype=int), ["Other", "x", "y"])
    assert none["micro_f1"] == 0.0 and none["micro_p"] == 0.0


def test_counts_are_sufficient_statistics():
    rng = np.random.default_rng(0)
    gold, pred = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    halves = counts(gold[:100], pred[:100], 4) + counts(gold[100:], pred[100:], 4)
    assert (halves == counts(gold, pred, 4)).all()
    assert scores_from_counts(halves)["micro_f1"] == pytest.approx(evaluate(gold, pred, list("OABC"))["micro_f1"])


def test_signature_names_the_metric():
    sig = evaluate([0, 1], [0, 1], ["Other", "x"])["signature"]
    assert sig["micro_f1"].startswith("metric:micro_f1|labels:1+Other") and sig["micro_f1"] != sig["weighted_f1"]


@pytest.mark.parametrize("gold, pred", [
    ([1, 1, 0, 0], [1, 1, 0, 0]),          # one label of three present, all right: 1.0 (was 1/3)
    ([1, 1, 0, 0], [1, 0, 0, 2]),          # a label only predicted counts (F1 0)
    ([0, 3, 3, 0], [0, 3, 0, 0]),          # a label only in gold counts
    ([1, 2, 3, 0, 0], [1, 2, 0, 0, 0]),    # every label present
])
def test_macro_f1_averages_the_labels_present_in_gold_or_predictions(gold, pred):
    gold, pred = np.array(gold), np.array(pred)
    present = sorted((set(gold) | set(pred)) - {0})
    expected = f1_score(gold, pred, labels=present, average="macro", zero_division=0)
    assert evaluate(gold, pred, ["Other", "A", "B", "C"])["macro_f1"] == pytest.approx(expected)


def test_macro_f1_with_no_positive_label_anywhere_is_zero():
    assert evaluate([0, 0], [0, 0], ["Other", "A"])["macro_f1"] == 0.0
