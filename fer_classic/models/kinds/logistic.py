"""``logistic``: multinomial logistic regression (scikit-learn's LogisticRegression, L2 penalty)."""

from __future__ import annotations

import numpy as np

from ..numpy_form import NumpyForm
from ..registry import ModelKind, Param, register_model


def build(p, *, seed, class_weight, n_jobs):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=p["C"], max_iter=p["max_iter"], class_weight=class_weight, random_state=seed)


def accepts(clf) -> bool:
    return type(clf).__name__ == "LogisticRegression" and len(clf.classes_) > 2


def export(clf, arrays) -> dict:
    return {"coef": arrays.ref(clf.coef_), "intercept": arrays.ref(clf.intercept_)}


def labels_and_scores(X, clf) -> tuple[np.ndarray, np.ndarray]:
    """``predict`` (the class of the largest decision value) and ``predict_proba`` (their softmax, in
    scikit-learn's arithmetic)."""
    decision = X @ clf["coef"].T + clf["intercept"]
    labels = clf["classes"][np.argmax(decision, axis=1)]
    shifted = np.exp(decision - np.max(decision, axis=1, keepdims=True))
    return labels, shifted / np.sum(shifted, axis=1, keepdims=True)


LOGISTIC = register_model(ModelKind(
    "logistic", "multinomial logistic regression (L2 penalty)",
    (Param("C", float, 1.0, "inverse regularisation: larger fits the training data more closely", minimum=0),
     Param("max_iter", int, 1000, "solver iterations at most", minimum=1)),
    build, ({"C": [0.01, 0.1, 1.0]},), class_weight=True,
    saved_classes=("sklearn.linear_model._logistic.LogisticRegression",),
    numpy_forms=(NumpyForm("logistic", accepts, export, lambda X, clf: labels_and_scores(X, clf)[1],
                           labels_and_scores=labels_and_scores),)))
