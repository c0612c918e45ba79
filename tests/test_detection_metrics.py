"""Detection metrics on hand-made examples with known answers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from cfx.detection_metrics import accuracy, choose_threshold, eer, hter, miss_rates, roc_auc, roc_curve, summary


def confusion() -> tuple[list[float], list[int]]:
    """10 natural (2 scored ≥ 0.5) and 10 colorized (3 scored < 0.5)."""
    natural = [0.1, 0.2, 0.3, 0.05, 0.4, 0.45, 0.0, 0.49, 0.5, 0.9]
    colorized = [0.2, 0.3, 0.499, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 0.95]
    return natural + colorized, [0] * 10 + [1] * 10


def brute_auc(scores: list[float], labels: list[int]) -> float:
    pos = [s for s, y in zip(scores, labels) if y == 1]
    neg = [s for s, y in zip(scores, labels) if y == 0]
    total = 0.0
    for p, n in itertools.product(pos, neg):
        total += 1.0 if p > n else 0.5 if p == n else 0.0
    return total / (len(pos) * len(neg))


def test_miss_rates_hter_accuracy_on_known_confusion() -> None:
    scores, labels = confusion()
    nat, col = miss_rates(scores, labels, 0.5)
    assert nat == pytest.approx(0.2)  # 0.5 counts as colorized (≥ threshold)
    assert col == pytest.approx(0.3)
    assert hter(scores, labels, 0.5) == pytest.approx(0.25)
    assert accuracy(scores, labels, 0.5) == pytest.approx(15 / 20)


def test_miss_rates_with_one_class_absent() -> None:
    assert miss_rates([0.1, 0.9], [0, 0], 0.5) == (0.5, None)
    assert miss_rates([0.1, 0.9], [1, 1], 0.5) == (None, 0.5)


def test_roc_auc_hand_example_with_ties() -> None:
    # natural 0.1, 0.5; colorized 0.5, 0.9: pairs (0.5>0.1) 1, (0.5=0.5) ½, (0.9>0.1) 1, (0.9>0.5) 1.
    scores, labels = [0.1, 0.5, 0.5, 0.9], [0, 0, 1, 1]
    assert roc_auc(scores, labels) == pytest.approx(3.5 / 4)
    assert brute_auc(scores, labels) == pytest.approx(3.5 / 4)


def test_roc_auc_equals_brute_force_and_trapezoid_area() -> None:
    rng = np.random.default_rng(0)
    for _ in range(5):
        scores = np.round(rng.random(17), 1).tolist()  # rounded: many ties
        labels = [0] * 8 + [1] * 9
        auc = roc_auc(scores, labels)
        assert auc == pytest.approx(brute_auc(scores, labels))
        fpr, tpr, thresholds = roc_curve(scores, labels)
        assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
        assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0) and thresholds[0] == np.inf
        area = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))  # trapezoids: ties give the diagonal
        assert auc == pytest.approx(area)


def test_perfect_and_reversed_separation() -> None:
    scores, labels = [0.1, 0.2, 0.3, 0.7, 0.8, 0.9], [0, 0, 0, 1, 1, 1]
    assert roc_auc(scores, labels) == 1.0
    assert eer(scores, labels) == 0.0
    reversed_labels = [1 - y for y in labels]
    assert roc_auc(scores, reversed_labels) == 0.0
    assert eer(scores, reversed_labels) == pytest.approx(1.0)


def test_eer_interpolates_the_crossing() -> None:
    # ROC points (fpr, tpr): (0,0) (0,.5) (.5,1) (1,1). 1−TPR−FPR goes .5 → −.5 between the
    # second and third points, so the rates cross halfway there: FPR = FNR = 0.25.
    scores, labels = [0.1, 0.5, 0.5, 0.9], [0, 0, 1, 1]
    fpr, tpr, _ = roc_curve(scores, labels)
    assert fpr.tolist() == [0.0, 0.0, 0.5, 1.0] and tpr.tolist() == [0.0, 0.5, 1.0, 1.0]
    assert eer(scores, labels) == pytest.approx(0.25)
    # A crossing exactly at a ROC point: natural 0.1, 0.6; colorized 0.4, 0.9 → at 0.6 both rates are ½.
    assert eer([0.1, 0.6, 0.4, 0.9], [0, 0, 1, 1]) == pytest.approx(0.5)


def test_choose_threshold_minimises_hter() -> None:
    rng = np.random.default_rng(1)
    for _ in range(5):
        scores = np.round(rng.random(15), 2)
        labels = np.array([0] * 7 + [1] * 8)
        chosen = choose_threshold(scores, labels)
        grid = np.concatenate((np.unique(scores), [1.01]))  # every distinct way to split the scores
        best = min(hter(scores, labels, float(t)) for t in grid)
        assert hter(scores, labels, chosen) == pytest.approx(best)
        assert 0.0 <= chosen <= 1.0


def test_choose_threshold_separates_separable_scores() -> None:
    scores, labels = [0.01, 0.02, 0.03, 0.04, 0.05, 0.06], [0, 0, 0, 1, 1, 1]
    t = choose_threshold(scores, labels)
    assert 0.03 < t <= 0.04
    assert hter(scores, labels, t) == 0.0
    high = [0.91, 0.92, 0.95, 0.99]
    t = choose_threshold(high, [0, 0, 1, 1])
    assert 0.92 < t <= 0.95 and hter(high, [0, 0, 1, 1], t) == 0.0


@pytest.mark.parametrize(
    "call",
    [
        lambda: hter([0.1, 0.2], [0, 0], 0.5),
        lambda: roc_auc([0.1, 0.2], [1, 1]),
        lambda: eer([0.1, 0.2], [0, 0]),
        lambda: roc_curve([0.1, 0.2], [1, 1]),
        lambda: choose_threshold([0.1, 0.2], [0, 0]),
        lambda: hter([0.1, 0.2, 0.3], [0, 1], 0.5),
        lambda: roc_auc([0.1], [0, 1]),
        lambda: summary([0.1, 0.2], [0, 1, 1], 0.5),
        lambda: miss_rates([0.1, 0.2], [0, 2], 0.5),
        lambda: accuracy([0.1, 0.2], [-1, 1], 0.5),
        lambda: roc_auc([0.1, 0.2], [0, 2]),
    ],
)
def test_bad_inputs_raise_value_error(call) -> None:
    with pytest.raises(ValueError):
        call()


KEYS = {
    "images",
    "natural",
    "colorized",
    "threshold",
    "hter",
    "natural_miss_rate",
    "colorized_miss_rate",
    "accuracy",
    "roc_auc",
    "eer",
}


def test_summary_keys_and_values() -> None:
    scores, labels = confusion()
    s = summary(scores, labels, 0.5)
    assert set(s) == KEYS
    assert (s["images"], s["natural"], s["colorized"]) == (20, 10, 10)
    assert s["hter"] == pytest.approx(0.25) and s["accuracy"] == pytest.approx(0.75)
    assert s["roc_auc"] == pytest.approx(brute_auc(scores, labels))
    assert 0.0 <= s["eer"] <= 1.0


def test_summary_with_one_class() -> None:
    s = summary([0.2, 0.7, 0.9], [1, 1, 1], 0.5)
    assert set(s) == KEYS
    assert s["roc_auc"] is None and s["eer"] is None and s["hter"] is None
    assert s["natural_miss_rate"] is None and s["colorized_miss_rate"] == pytest.approx(1 / 3)
    assert s["natural"] == 0 and s["colorized"] == 3
    assert s["accuracy"] == pytest.approx(2 / 3)


def test_by_source_scores_each_colorizer_against_all_natural_images() -> None:
    from cfx.detection_metrics import by_source

    natural = [0.1, 0.2, 0.7, 0.3]  # one natural miss at 0.5: 25 %
    colorized = [0.9, 0.4, 0.8, 0.6, 0.2]
    sources = ["a", "a", "b", "b", "b"]  # a: one of two missed; b: one of three
    overall, per = by_source(natural, colorized, sources, 0.5)
    assert list(per) == ["a", "b"]
    assert (
        per["a"]["hter"] == pytest.approx((0.25 + 0.5) / 2) and per["a"]["natural"] == 4 and per["a"]["colorized"] == 2
    )
    assert per["b"]["hter"] == pytest.approx((0.25 + 1 / 3) / 2)
    assert overall["hter"] == pytest.approx((0.25 + 2 / 5) / 2) and overall["images"] == 9
    with pytest.raises(ValueError):
        by_source(natural, colorized, ["a"], 0.5)
