"""Local learning's arithmetic, shared by :class:`~fer_classic.models.local.LocalLearningClassifier` and
a run's predictor (:mod:`fer_classic.runs.predictor`), so that both give the same scores: each query's
nearest training rows, and the one-vs-rest scores of an SVM fitted on those alone.

The RBF SVMs are fitted by libsvm on a kernel computed with numpy (:mod:`.libsvm_kernel`: the same
problem and scores as scikit-learn's ``SVC``, without importing scikit-learn, which takes a second or
more). Linear ones are scikit-learn's ``LinearSVC`` (liblinear): a run's predictor with those starts
importing it in a thread as it is read (:func:`start_importing_models`).
"""

from __future__ import annotations

import sys
import threading
import warnings

import numpy as np

from .libsvm_kernel import library, rbf_svc_scores
from .neighbours import kneighbors

METRICS = {"cosine": 2, "l2": 2, "l1": 1}
LOCAL_MODELS = ("linear", "rbf")


def unit_rows(X: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norms > 0, norms, 1)


def searched_rows(X: np.ndarray, metric: str) -> np.ndarray:
    """The rows neighbours are searched among (unit length for cosine similarity)."""
    return unit_rows(X) if metric == "cosine" else X


def searched_rows_in_blocks(X, metric: str, block: int = 4096) -> np.ndarray:
    """:func:`searched_rows` of ``X``, an array or rows kept in a compact form and widened a selection at a
    time (:class:`~fer_classic.store.CompactRows`), made a block of rows at a time (each row's length
    is its own): the same values, and no widened copy of the whole of ``X`` is made first."""
    out = np.empty(X.shape, dtype=X.dtype)
    for start in range(0, len(X), block):
        out[start:start + block] = searched_rows(X[start:start + block], metric)
    return out


def local_neighbours(search_X: np.ndarray, X: np.ndarray, k: int, metric: str) -> np.ndarray:
    """Indices of each query's ``k`` nearest rows of ``search_X`` (:func:`searched_rows`), nearest first."""
    return kneighbors(search_X, searched_rows(X, metric), k, METRICS[metric])[1]


def local_model(kernel: str, C: float, class_weight, random_state):
    """The unfitted linear SVM a neighbourhood is fitted with (``kernel="linear"``): LinearSVC."""
    from sklearn.svm import LinearSVC

    return LinearSVC(C=C, class_weight=class_weight, random_state=random_state, max_iter=5000)


def balanced_weights(labels: np.ndarray) -> dict:
    """``class_weight="balanced"`` as scikit-learn computes it: rows / (classes x the class's rows)."""
    present, counts = np.unique(labels, return_counts=True)
    return dict(zip(present.tolist(), (len(labels) / (len(present) * counts.astype(np.float64))).tolist()))


def neighbourhood_scores(rows: np.ndarray, labels: np.ndarray, query: np.ndarray, model: dict) -> np.ndarray:
    """The scores of an SVM fitted on one neighbourhood's ``rows`` (two or more classes among ``labels``)
    for ``query``, in sorted class order as ``decision_function`` gives them (one value for two classes,
    positive for the second). ``model``: :func:`local_model`'s arguments."""
    if model["kernel"] == "rbf":
        weights = balanced_weights(labels) if model["class_weight"] == "balanced" else None
        return rbf_svc_scores(rows, labels, query[None, :], model["C"], weights)[0]
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        local = local_model(**model).fit(rows, labels)
    return local.decision_function(query[None, :])[0]


def local_scores(fit_X: np.ndarray, y: np.ndarray, n_classes: int, X: np.ndarray, neighbours: np.ndarray,
                 model: dict) -> np.ndarray:
    """Each query's local model's one-vs-rest scores, ``(n, n_classes)``: ``y`` the training rows' class
    numbers, ``model`` :func:`local_model`'s arguments and ``kernel`` ("linear" or "rbf"). Classes absent
    from a neighbourhood score below every present one; a one-class neighbourhood scores +1 for its
    class and -1 for the others. BLAS runs on one thread meanwhile: a neighbourhood's kernel matrix
    computed on two threads can differ in its last bits, and so the scores, from one computed on one."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        return _local_scores(fit_X, y, n_classes, X, neighbours, model)


def _local_scores(fit_X, y, n_classes, X, neighbours, model) -> np.ndarray:
    out = np.empty((len(X), n_classes))
    for i, (x, nb) in enumerate(zip(X, neighbours)):
        labels = y[nb]
        present = np.unique(labels)
        if len(present) == 1:
            out[i] = -1.0
            out[i, present[0]] = 1.0
            continue
        scores = neighbourhood_scores(fit_X[nb], labels, x, model)
        if len(present) == 2:  # a binary model's one score favours the second class
            scores = np.array([-scores, scores])
        out[i] = scores.min() - 1.0
        out[i, present] = scores
    return out


def local_scores_in_workers(fit_X: np.ndarray, y: np.ndarray, n_classes: int, X: np.ndarray,
                            neighbours: np.ndarray, model: dict, n_jobs: int | None = None) -> np.ndarray:
    """:func:`local_scores` over chunks of the queries in joblib's worker processes (``n_jobs``, joblib's
    convention): the same scores on any number of workers, each query's being its own. One worker, or one
    query: in this process, importing no joblib (a tenth of a second of a first answer)."""
    if n_jobs == 1 or len(X) <= 1:
        return local_scores(fit_X, y, n_classes, X, neighbours, model)
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


def start_importing_models(kernel: str) -> None:
    """For linear local models: import scikit-learn's SVMs in a thread (a second or more here), once, so
    that the first query that needs one finds them imported or nearly (Python's import lock makes that
    query wait for the thread). RBF ones need no import: libsvm's library is loaded now."""
    global _importing
    if kernel == "rbf":
        library()
    elif _importing is None and "sklearn.svm" not in sys.modules:
        _importing = threading.Thread(target=_import_models, name="fer-classic-import-sklearn-svm", daemon=True)
        _importing.start()


def _import_models() -> None:
    try:
        import sklearn.exceptions  # noqa: F401
        import sklearn.svm  # noqa: F401
    except ImportError:  # reported where the models are needed
        pass
