"""How sure a number is: 95% intervals for accuracy (Wilson) and for balanced accuracy and macro F1 (a
seeded bootstrap over the test images), and the exact McNemar test between two classifiers scored on
the same images."""

from __future__ import annotations

import numpy as np
from scipy.stats import binomtest

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
    images (seeded: the same interval every time). Each resample's two numbers are those of
    scikit-learn's ``balanced_accuracy_score`` (the mean recall over the classes the resample holds) and
    ``f1_score(labels=<the classes of y_true>, average="macro", zero_division=0)``, computed from the
    resample's confusion matrix."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    rng = np.random.default_rng(seed)
    classes, codes = np.unique(np.concatenate([y_true, y_pred]), return_inverse=True)
    truth, predicted = codes[:len(y_true)], codes[len(y_true):]
    scored = np.isin(classes, y_true)  # macro F1 averages over the classes of y_true, as labels= says
    values = {"balanced_accuracy": [], "macro_f1": []}
    for start in range(0, rounds, _ROUNDS_AT_ONCE):
        # the same draws, in the same order, as one resample of len(y_true) indices at a time
        i = rng.integers(0, len(y_true), (min(_ROUNDS_AT_ONCE, rounds - start), len(y_true)))
        balanced, f1 = _resampled_scores(resampled_confusions(truth[i], predicted[i], len(classes)), scored)
        values["balanced_accuracy"].append(balanced)
        values["macro_f1"].append(f1)
    tail = (1 - confidence) / 2 * 100
    return {k: tuple(float(q) for q in np.percentile(np.concatenate(v), [tail, 100 - tail]))
            for k, v in values.items()}


_ROUNDS_AT_ONCE = 100  # resamples drawn together: 100 x n indices (2.9 MB at PublicTest's 3,589)


def resampled_confusions(truth: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """One confusion matrix (true class x predicted class) per row of ``truth``/``predicted``, class codes
    0 .. n_classes - 1."""
    rows = np.arange(len(truth))[:, None]
    flat = (rows * n_classes + truth) * n_classes + predicted
    return np.bincount(flat.ravel(), minlength=len(truth) * n_classes ** 2).reshape(len(truth), n_classes,
                                                                                    n_classes)


def _resampled_scores(confusions: np.ndarray, scored: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Balanced accuracy and macro F1 of each confusion matrix (see ``bootstrap_intervals``)."""
    hits = np.diagonal(confusions, axis1=1, axis2=2).astype(float)
    true_counts, predicted_counts = confusions.sum(2), confusions.sum(1)
    present = true_counts > 0
    recall = np.divide(hits, true_counts, out=np.zeros_like(hits), where=present)
    balanced = recall.sum(1) / present.sum(1)
    denominator = (true_counts + predicted_counts)[:, scored]
    f1 = np.divide(2 * hits[:, scored], denominator, out=np.zeros(denominator.shape), where=denominator > 0)
    return balanced, f1.mean(1)


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
