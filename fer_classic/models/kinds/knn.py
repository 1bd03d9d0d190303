"""``knn``: exact k nearest neighbours (:class:`~fer_classic.models.knn.FastKNeighborsClassifier`)."""

from __future__ import annotations

import numpy as np

from ...store import smallest_exact_dtype
from ..numpy_form import NumpyForm
from ..registry import ModelKind, Param, register_model


def build(p, *, seed, class_weight, n_jobs):
    from ..knn import FastKNeighborsClassifier

    return FastKNeighborsClassifier(n_neighbors=p["k"], weights=p["weights"], p=p["p"])


def search(X_fit, y_fit, queries, configs):
    from ..knn import knn_grid_predictions

    return knn_grid_predictions(X_fit, y_fit, queries, configs)


def accepts(clf) -> bool:
    return type(clf).__name__ == "FastKNeighborsClassifier"


def export(clf, arrays) -> dict:
    rows = clf._fit_X  # stored in their smallest exact type (pixel rows as bytes: searched in integers)
    smaller = smallest_exact_dtype(rows)
    return {"k": int(clf.n_neighbors), "p": float(clf.p), "weights": clf.weights,
            "rows": arrays.ref(rows if smaller is None else rows.astype(smaller)),
            "labels": arrays.ref(clf._y.astype(np.int32))}


def scores(X, clf) -> np.ndarray:
    """FastKNeighborsClassifier.predict_proba: the exact neighbours among every training row (distances
    in float64, or for pixel rows in integers: the same values), scikit-learn's choice among neighbours
    tied at the k-th, its vote."""
    from ..neighbours import break_ties_like_sklearn, exact_kneighbors, vote

    rows, p = clf["rows"], clf["p"]
    k = min(clf["k"], len(rows))
    X = np.asarray(X, dtype=np.float64)
    dist, idx = exact_kneighbors(rows, X, k + 1, p)
    d, nb = break_ties_like_sklearn(rows, X, dist, idx, k, p, {})
    return vote(clf["labels"][nb], d, clf["weights"], len(clf["classes"]))


def plot_accuracy_against_k(rows, path, title):
    from ...evaluation.plots import plot_knn_accuracy

    plot_knn_accuracy(rows, path, title)


KNN = register_model(ModelKind(
    "knn", "k nearest neighbours (exact; the grid searches once per norm)",
    (Param("k", int, 3, "neighbours", minimum=1),
     Param("weights", str, "distance", "neighbour weighting", choices=("uniform", "distance")),
     Param("p", int, 1, "Minkowski norm: 1 (L1), 2 (L2), 3 (L3)", minimum=1)),
    build, ({"weights": ["uniform", "distance"], "p": [1, 2, 3], "k": [1, 3, 5, 7, 9]},),
    has_scores=False, search=search, relative_cost=3,
    grid_figure=("knn_accuracy_vs_k.png", plot_accuracy_against_k),
    saved_classes=("fer_classic.models.knn.FastKNeighborsClassifier",),
    numpy_forms=(NumpyForm("knn", accepts, export, scores),)))
