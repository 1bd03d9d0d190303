"""Local learning (Bottou & Vapnik 1992; for FER, Ionescu, Popescu & Grozea 2013): for each query, its
k nearest training rows, a classifier fitted on those alone, used for that query only.

Neighbours and local models come from :mod:`fer_classic.models.local_scores`, which a run's predictor
calls too (neighbours by the exact search of :mod:`fer_classic.models.neighbours`; cosine similarity is
the L2 norm between unit-length rows). A neighbourhood holding one class answers that class without
fitting. Each query's model depends only on the query, the training rows and the seed, so results are
the same on any number of cores.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .local_scores import LOCAL_MODELS, METRICS, local_neighbours, local_scores_in_workers, searched_rows


class LocalLearningClassifier(ClassifierMixin, BaseEstimator):
    """A classifier fitted, for each query, on the query's nearest training rows alone.

    Parameters
    ----------
    k : int
        Neighbours each local model is fitted on.
    metric : {"cosine", "l2", "l1"}
        How neighbours are found.
    kernel : {"linear", "rbf"}
        The local model: LinearSVC, or an RBF C-SVC (gamma "scale") fitted by libsvm on a precomputed
        kernel (:mod:`.libsvm_kernel`: the problem and scores of scikit-learn's SVC).
    C : float
        The local model's regularisation.
    class_weight : "balanced" or None
        Class weighting inside each neighbourhood.
    random_state : int
        Seeds each local model (the same seed for every query).
    n_jobs : int, optional
        Worker processes over queries (joblib's convention).
    """

    def __init__(self, *, k: int = 200, metric: str = "cosine", kernel: str = "linear", C: float = 1.0,
                 class_weight: str | None = None, random_state: int = 0, n_jobs: int | None = None):
        self.k = k
        self.metric = metric
        self.kernel = kernel
        self.C = C
        self.class_weight = class_weight
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X, y):
        X, y = validate_data(self, X, y, dtype=np.float32)
        check_classification_targets(y)
        if self.metric not in METRICS or self.kernel not in LOCAL_MODELS or self.k < 1:
            raise ValueError(f"metric must be one of {', '.join(METRICS)}, kernel one of {', '.join(LOCAL_MODELS)}, "
                             f"and k >= 1; got {self.metric!r}, {self.kernel!r}, {self.k}")
        self.classes_, self._y = np.unique(y, return_inverse=True)
        self._fit_X = X
        self._search_X = searched_rows(X, self.metric)
        return self

    def _searched(self) -> np.ndarray:
        """The training rows as neighbours are searched among: made at fitting, and again on first use
        after loading (from the rows as loaded: a model file may store them in a smaller exact type,
        restored to float32 after the object is made)."""
        if self.__dict__.get("_search_X") is None:
            self._search_X = searched_rows(np.asarray(self._fit_X, dtype=np.float32), self.metric)
        return self._search_X

    def __getstate__(self):
        """Saved without the searched copy of the training rows (made again when first used: the same
        values)."""
        state = dict(super().__getstate__())  # a copy: on Python 3.11 this is the instance's own __dict__
        state.pop("_search_X", None)
        return state

    def neighbours(self, X) -> np.ndarray:
        """Indices of each query's ``k`` nearest training rows, nearest first."""
        check_is_fitted(self, "_fit_X")
        X = validate_data(self, X, dtype=np.float32, reset=False)
        return local_neighbours(self._searched(), X, self.k, self.metric)

    def decision_function(self, X) -> np.ndarray:
        """Each query's local model's one-vs-rest scores, ``(n, n_classes)``; classes absent from a
        neighbourhood score below every present one, and a one-class neighbourhood scores +1 for its
        class and -1 for the others."""
        check_is_fitted(self, "_fit_X")
        X = validate_data(self, X, dtype=np.float32, reset=False)
        return local_scores_in_workers(self._fit_X, self._y, len(self.classes_), X, self.neighbours(X),
                                       self._local_model_params(), self.n_jobs)

    def predict(self, X) -> np.ndarray:
        scores = self.decision_function(X)
        return self.classes_[np.argmax(scores, axis=1)]

    def _local_model_params(self) -> dict:
        return {"kernel": self.kernel, "C": self.C, "class_weight": self.class_weight,
                "random_state": self.random_state}
