"""How sure a number is: 95% intervals for accuracy (Wilson) and for balanced accuracy and macro F1 (a
seeded bootstrap over the test images), and the exact McNemar test between two classifiers scored on
the same images."""

from __future__ import annotations

import warnings

import numpy as np
from scipy.stats import binomtest
from sklearn.metrics import balanced_accuracy_score, f1_score

BOOTSTRAP_SEED = 0
BOOTSTRAP_ROUNDS = 1000


def wilson_interval(correct: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of an accuracy of ``correct`` out of ``n``."""
    if n == 0:
        return (0.0, 1.0)
    ci = binomtest(int(correct), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return (float(ci.low), float(ci.high))


def accuracy_text(correct) -> str:
    """An accuracy as reported: percent, its 95% Wilson interval and its counts, from one boolean per item
    (``65.84% [64.27%, 67.37%] (2363 of 3589)``)."""
    correct = np.asarray(correct, dtype=bool)
    lo, hi = wilson_interval(int(correct.sum()), len(correct))
    return f"{correct.mean():.2%} [{lo:.2%}, {hi:.2%}] ({int(correct.sum())} of {len(correct)})"


def bootstrap_intervals(y_true, y_pred, *, rounds: int = BOOTSTRAP_ROUNDS, seed: int = BOOTSTRAP_SEED,
                        confidence: float = 0.95) -> dict[str, tuple[float, float]]:
    """Percentile intervals of balanced accuracy and macro F1 over ``rounds`` resamples of the test
    images (seeded: the same interval every time)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    rng = np.random.default_rng(seed)
    labels = np.unique(y_true)
    values = {"balanced_accuracy": [], "macro_f1": []}
    with warnings.catch_warnings():
        # A resample can lack a class the model predicts: scikit-learn warns each time; it is expected here.
        warnings.simplefilter("ignore", UserWarning)
        _resample(y_true, y_pred, labels, rng, rounds, values)
    tail = (1 - confidence) / 2 * 100
    return {k: (float(np.percentile(v, tail)), float(np.percentile(v, 100 - tail))) for k, v in values.items()}


def _resample(y_true, y_pred, labels, rng, rounds: int, values: dict) -> None:
    for _ in range(rounds):
        i = rng.integers(0, len(y_true), len(y_true))
        values["balanced_accuracy"].append(balanced_accuracy_score(y_true[i], y_pred[i]) if len(set(y_true[i])) > 1
                                           else float(np.mean(y_true[i] == y_pred[i])))
        values["macro_f1"].append(f1_score(y_true[i], y_pred[i], labels=labels, average="macro", zero_division=0))


def intervals(y_true, y_pred) -> dict:
    """``n`` and the 95% intervals of a test split's accuracy, balanced accuracy and macro F1, with the
    method of each (what metrics.json stores)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    boot = bootstrap_intervals(y_true, y_pred) if len(y_true) else {"balanced_accuracy": (0.0, 1.0),
                                                                     "macro_f1": (0.0, 1.0)}
    return {"n": int(len(y_true)),
            "accuracy": list(wilson_interval(int(np.sum(y_true == y_pred)), len(y_true))),
            "balanced_accuracy": list(boot["balanced_accuracy"]), "macro_f1": list(boot["macro_f1"]),
            "method": f"95%: Wilson for accuracy; percentile bootstrap, {BOOTSTRAP_ROUNDS} resamples of the test "
                      f"images, seed {BOOTSTRAP_SEED}, for balanced accuracy and macro F1"}


def mcnemar(correct_a, correct_b) -> dict:
    """The exact McNemar test of two classifiers on the same images: ``correct_a``/``correct_b`` say
    which images each got right. Returns the discordant counts (A right and B wrong, the reverse),
    the accuracy difference A − B and the two-sided exact p-value."""
    a, b = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    if a.shape != b.shape:
        raise ValueError("McNemar needs both classifiers' answers on the same images")
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    p = binomtest(only_a, only_a + only_b, 0.5).pvalue if only_a + only_b else 1.0
    return {"n": int(len(a)), "a_right_b_wrong": only_a, "a_wrong_b_right": only_b,
            "difference": float(np.mean(a) - np.mean(b)) if len(a) else 0.0, "p_value": float(p)}


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjustment of ``p_values`` for testing them all at once (the family-wise error
    rate): the k-th smallest is multiplied by (m − k + 1), the results kept non-decreasing and at most 1."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p, kind="stable")
    m = len(p)
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order]) if m else p
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted
