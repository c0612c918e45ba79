"""Detection metrics (Quan et al. 2019, §IV-A; Guo et al. 2018): HTER, miss rates, ROC AUC, EER, threshold choice.

Scores are P(colorized); labels are 1 for colorized (CI), 0 for natural (NI). An image is
judged colorized when its score is ≥ the threshold.

- Miss rate on natural images: NIs judged colorized (false positives / NIs).
- Miss rate on colorized images: CIs judged natural (false negatives / CIs).
- HTER, the half total error rate: the mean of the two (Quan et al. 2019, §IV-A).
- ROC AUC: the probability that a random CI scores above a random NI (ties count ½),
  i.e. the Mann–Whitney statistic, equal to the area under the ROC curve.
- EER: the error where the two miss rates are equal along the ROC curve (linear
  interpolation between its points).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def _arrays(scores: Sequence[float], labels: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=np.int64).ravel()
    if s.shape != y.shape:
        raise ValueError(f"{s.size} scores but {y.size} labels")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 (natural) or 1 (colorized)")
    return s, y


def miss_rates(scores: Sequence[float], labels: Sequence[int], threshold: float) -> tuple[float | None, float | None]:
    """(natural miss rate, colorized miss rate); None where a class is absent."""
    s, y = _arrays(scores, labels)
    called = s >= threshold
    natural = y == 0
    colorized = y == 1
    nat = float(called[natural].mean()) if natural.any() else None
    col = float((~called[colorized]).mean()) if colorized.any() else None
    return nat, col


def hter(scores: Sequence[float], labels: Sequence[int], threshold: float) -> float:
    """Half total error rate in [0, 1]; needs both classes."""
    nat, col = miss_rates(scores, labels, threshold)
    if nat is None or col is None:
        raise ValueError("HTER needs both natural and colorized images")
    return 0.5 * (nat + col)


def accuracy(scores: Sequence[float], labels: Sequence[int], threshold: float) -> float:
    s, y = _arrays(scores, labels)
    return float(((s >= threshold).astype(np.int64) == y).mean())


def roc_curve(scores: Sequence[float], labels: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(false positive rates, true positive rates, thresholds), from (0, 0) to (1, 1)."""
    s, y = _arrays(scores, labels)
    positives, negatives = int(y.sum()), int((1 - y).sum())
    if positives == 0 or negatives == 0:
        raise ValueError("a ROC curve needs both natural and colorized images")
    thresholds = np.unique(s)[::-1]
    tpr = np.array([0.0] + [float((s[y == 1] >= t).sum()) / positives for t in thresholds])
    fpr = np.array([0.0] + [float((s[y == 0] >= t).sum()) / negatives for t in thresholds])
    return fpr, tpr, np.concatenate(([np.inf], thresholds))


def roc_auc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """Mann–Whitney estimate of the area under the ROC curve (ties count one half)."""
    s, y = _arrays(scores, labels)
    pos, neg = s[y == 1], s[y == 0]
    if pos.size == 0 or neg.size == 0:
        raise ValueError("ROC AUC needs both natural and colorized images")
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (pos.size * neg.size))


def eer(scores: Sequence[float], labels: Sequence[int]) -> float:
    """Equal error rate: where 1 − TPR (colorized missed) equals FPR (natural missed)."""
    fpr, tpr, _ = roc_curve(scores, labels)
    fnr = 1.0 - tpr
    diff = fnr - fpr  # decreasing from 1 to -1 along the curve
    i = int(np.argmax(diff <= 0))
    if i == 0:
        return float(fpr[0])
    # Linear interpolation between points i-1 and i where the sign changes.
    d0, d1 = diff[i - 1], diff[i]
    t = d0 / (d0 - d1) if d0 != d1 else 0.0
    return float(fpr[i - 1] + t * (fpr[i] - fpr[i - 1]))


def choose_threshold(scores: Sequence[float], labels: Sequence[int]) -> float:
    """The threshold with the lowest HTER on (validation) scores; among ties the one nearest 0.5.

    Candidates are midpoints between consecutive distinct scores (and 0.5), so the
    chosen value separates the data it was chosen on the same way on near-equal scores.
    """
    s, y = _arrays(scores, labels)
    distinct = np.unique(s)
    candidates = np.concatenate(
        ([0.5], (distinct[:-1] + distinct[1:]) / 2.0, [distinct[0], np.nextafter(distinct[-1], np.inf)])
    )
    errors = np.array([hter(s, y, float(t)) for t in candidates])
    best = errors.min()
    tied = candidates[np.isclose(errors, best, rtol=0, atol=1e-12)]
    return float(tied[np.argmin(np.abs(tied - 0.5))])


def summary(scores: Sequence[float], labels: Sequence[int], threshold: float) -> dict[str, float | None]:
    """Every metric at once (AUC and EER only when both classes are present)."""
    s, y = _arrays(scores, labels)
    nat, col = miss_rates(s, y, threshold)
    both = nat is not None and col is not None
    return {
        "images": int(s.size),
        "natural": int((y == 0).sum()),
        "colorized": int((y == 1).sum()),
        "threshold": float(threshold),
        "hter": 0.5 * (nat + col) if both else None,  # type: ignore[operator]
        "natural_miss_rate": nat,
        "colorized_miss_rate": col,
        "accuracy": accuracy(s, y, threshold),
        "roc_auc": roc_auc(s, y) if both else None,
        "eer": eer(s, y) if both else None,
    }


def by_source(
    natural: Sequence[float], colorized: Sequence[float], sources: Sequence[str], threshold: float
) -> tuple[dict[str, float | None], dict[str, dict[str, float | None]]]:
    """(overall, per source): :func:`summary` of all natural scores against all colorized
    ones, and against each source's (colorizer's) colorized scores alone."""
    nat = np.asarray(natural, dtype=np.float64)
    col = np.asarray(colorized, dtype=np.float64)
    names = np.asarray(sources)
    if names.shape != col.shape:
        raise ValueError(f"{col.size} colorized scores but {names.size} sources")

    def against(scores: np.ndarray) -> dict[str, float | None]:
        return summary(
            np.concatenate((nat, scores)),
            np.concatenate((np.zeros(nat.size, np.int64), np.ones(scores.size, np.int64))),
            threshold,
        )

    return against(col), {name: against(col[names == name]) for name in dict.fromkeys(sources)}
