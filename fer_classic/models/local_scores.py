"""Local learning's arithmetic, shared by :class:`~fer_classic.models.local.LocalLearningClassifier` and
a run's predictor (:mod:`fer_classic.apply.predictor`), so that both give the same scores: each query's
nearest training rows, and the one-vs-rest scores of an SVM fitted on those alone.

This module imports no scikit-learn until a neighbourhood needs an SVM fitted (libsvm or liblinear,
through scikit-learn's ``SVC`` / ``LinearSVC``): a run's predictor with local learning starts that
import in a thread as it is read (:func:`start_importing_models`).
"""

from __future__ import annotations

import sys
import threading
import warnings

import numpy as np

from .neighbours import kneighbors

METRICS = {"cosine": 2, "l2": 2, "l1": 1}
LOCAL_MODELS = ("linear", "rbf")


def unit_rows(X: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norms > 0, norms, 1)


def searched_rows(X: np.ndarray, metric: str) -> np.ndarray:
    """The rows neighbours are searched among (unit length for cosine similarity)."""
    return unit_rows(X) if metric == "cosine" else X


def searched_rows_in_blocks(X: np.ndarray, dtype, metric: str, block: int = 4096) -> np.ndarray:
    """:func:`searched_rows` of ``X`` in ``dtype`` (rows stored in a smaller exact type: float16), the
    same values, made a block of rows at a time (each row's length is its own): no copy of the whole of
    ``X`` in ``dtype`` is made first."""
    out = np.empty(X.shape, dtype=dtype)
    for start in range(0, len(X), block):
        out[start:start + block] = searched_rows(X[start:start + block].astype(dtype), metric)
    return out


def local_neighbours(search_X: np.ndarray, X: np.ndarray, k: int, metric: str) -> np.ndarray:
    """Indices of each query's ``k`` nearest rows of ``search_X`` (:func:`searched_rows`), nearest first."""
    return kneighbors(search_X, searched_rows(X, metric), k, METRICS[metric])[1]


def local_model(kernel: str, C: float, class_weight, random_state):
    """The unfitted SVM a neighbourhood is fitted with: LinearSVC, or an RBF SVC (gamma "scale")."""
    from sklearn.svm import SVC, LinearSVC

    if kernel == "linear":
        return LinearSVC(C=C, class_weight=class_weight, random_state=random_state, max_iter=5000)
    return SVC(C=C, gamma="scale", class_weight=class_weight, random_state=random_state)


def local_scores(fit_X: np.ndarray, y: np.ndarray, n_classes: int, X: np.ndarray, neighbours: np.ndarray,
                 model: dict) -> np.ndarray:
    """Each query's local model's one-vs-rest scores, ``(n, n_classes)``: ``y`` the training rows' class
    numbers, ``model`` :func:`local_model`'s arguments. Classes absent from a neighbourhood score below
    every present one; a one-class neighbourhood scores +1 for its class and -1 for the others."""
    from sklearn.exceptions import ConvergenceWarning

    out = np.empty((len(X), n_classes))
    for i, (x, nb) in enumerate(zip(X, neighbours)):
        labels = y[nb]
        present = np.unique(labels)
        if len(present) == 1:
            out[i] = -1.0
            out[i, present[0]] = 1.0
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            local = local_model(**model).fit(fit_X[nb], labels)
        scores = local.decision_function(x[None, :])[0]
        if len(present) == 2:  # a binary model's one score favours the second class
            scores = np.array([-scores, scores])
        out[i] = scores.min() - 1.0
        out[i, present] = scores
    return out


def local_scores_in_workers(fit_X: np.ndarray, y: np.ndarray, n_classes: int, X: np.ndarray,
                            neighbours: np.ndarray, model: dict, n_jobs: int | None = None) -> np.ndarray:
    """:func:`local_scores` over chunks of the queries in joblib's worker processes (``n_jobs``, joblib's
    convention): the same scores on any number of workers, each query's being its own."""
    from ..parallel import effective_n_jobs

    workers = effective_n_jobs(n_jobs)
    chunks = [c for c in np.array_split(np.arange(len(X)), max(1, min(len(X), 8 * workers))) if len(c)]
    if workers == 1 or len(chunks) <= 1:
        return local_scores(fit_X, y, n_classes, X, neighbours, model)
    from joblib import Parallel, delayed

    parts = Parallel(n_jobs=n_jobs)(delayed(local_scores)(fit_X, y, n_classes, X[c], neighbours[c], model)
                                    for c in chunks)
    return np.vstack(parts)


_importing: threading.Thread | None = None


def start_importing_models() -> None:
    """Import scikit-learn's SVMs in a thread (a second or more here), once, so that the first query that
    needs one finds them imported or nearly: Python's import lock makes that query wait for the thread."""
    global _importing
    if _importing is None and "sklearn.svm" not in sys.modules:
        _importing = threading.Thread(target=_import_models, name="fer-classic-import-sklearn-svm", daemon=True)
        _importing.start()


def _import_models() -> None:
    try:
        import sklearn.exceptions  # noqa: F401
        import sklearn.svm  # noqa: F401
    except ImportError:  # reported where the models are needed
        pass
