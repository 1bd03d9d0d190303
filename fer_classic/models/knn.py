"""The KNN grid without repeated searches: neighbours once per norm at the largest k, then every
(k, weighting) derived from them, with predictions identical to scikit-learn's KNeighborsClassifier.

Candidate neighbours come from the fastest exact kernel at hand (faiss for L1, a BLAS distance
matrix for L2, a numba kernel for other p: :mod:`fer_classic.models.lp_kernel`); their distances are then recomputed exactly in float64 and ranked by
(distance, training index), so the result does not depend on float32 rounding.

Where the k-th and (k+1)-th neighbours are at exactly the same distance (FER2013 holds duplicate
images, so this happens), which of them scikit-learn keeps is decided by the order in which its
fixed-size heap sees the training rows. For those queries alone that heap is replayed here exactly as
scikit-learn runs it when it scans the training rows in order (as it always does for uniform weights,
and with one OpenMP thread). With several threads and few queries, scikit-learn's default splits the
training rows between threads and its choice among tied neighbours depends on the thread count;
:class:`FastKNeighborsClassifier`, the model fer-classic saves, gives the same answer on any machine.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .neighbours import break_ties_like_sklearn, kneighbors, vote


def knn_grid_predictions(X_fit, y_fit, queries: dict[str, np.ndarray], configs: list[dict]) -> list[dict]:
    """Predictions of every KNN configuration (``k``, ``weights``, ``p``) for each named query set.

    One neighbour search per norm (all query sets together), at the largest k of that norm.
    Returns, per configuration, ``{query name: predicted labels}``, in the order of ``configs``.
    """
    classes, y_encoded = np.unique(y_fit, return_inverse=True)
    names = list(queries)
    all_queries = np.concatenate([queries[n] for n in names])
    bounds = np.cumsum([0] + [len(queries[n]) for n in names])
    out: list[dict] = [dict() for _ in configs]
    for p in sorted({c["p"] for c in configs}):
        chosen = [i for i, c in enumerate(configs) if c["p"] == p]
        # One neighbour more than needed shows whether the k-th is tied with the next.
        dist, idx = kneighbors(X_fit, all_queries, max(configs[i]["k"] for i in chosen) + 1, p)
        rdist_cache: dict = {}
        for i in chosen:
            d, nb = break_ties_like_sklearn(X_fit, all_queries, dist, idx, min(configs[i]["k"], len(X_fit)),
                                             p, rdist_cache)
            predicted = classes[np.argmax(vote(y_encoded[nb], d, configs[i]["weights"], len(classes)), axis=1)]
            for n, lo, hi in zip(names, bounds[:-1], bounds[1:]):
                out[i][n] = predicted[lo:hi]
    return out


class FastKNeighborsClassifier(ClassifierMixin, BaseEstimator):
    """k nearest neighbours under the Minkowski ``p`` norm, with scikit-learn's KNeighborsClassifier's
    predictions (its tie-breaking included), computed with the fast exact kernels of the grid."""

    def __init__(self, *, n_neighbors: int = 5, weights: str = "uniform", p: float = 2):
        self.n_neighbors = n_neighbors
        self.weights = weights
        self.p = p

    def fit(self, X, y):
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        if self.weights not in ("uniform", "distance"):
            raise ValueError(f"weights must be uniform or distance, got {self.weights!r}")
        self.classes_, self._y = np.unique(y, return_inverse=True)
        self._fit_X = X
        return self

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "_fit_X")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        k = min(self.n_neighbors, len(self._fit_X))
        dist, idx = kneighbors(self._fit_X, X, k + 1, self.p)
        d, nb = break_ties_like_sklearn(self._fit_X, X, dist, idx, k, self.p, {})
        return vote(self._y[nb], d, self.weights, len(self.classes_))

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self, "_fit_X")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
