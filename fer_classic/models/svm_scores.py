"""Class scores of a fitted RBF ``SVC`` computed with BLAS: its ``decision_function`` (one-vs-rest
shape) to within about 1e-5, and its ``predict``, several times faster than libsvm.

libsvm evaluates the kernel of each query against every support vector in a scalar loop; here the
kernel matrix of a batch is one matrix product, and the one-vs-one decision values another, with the
dual coefficients laid out once per model (cached, not stored in the model file).
"""

from __future__ import annotations

import weakref

import numpy as np
from sklearn.svm import SVC
from sklearn.utils.multiclass import _ovr_decision_function

_layouts: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_BATCH = 1024  # query rows per kernel block: 1024 x 50k support vectors is 400 MB of float64


def has_fast_scores(clf) -> bool:
    return (isinstance(clf, SVC) and clf.kernel == "rbf" and clf.decision_function_shape == "ovr"
            and len(clf.classes_) > 2)


def _layout(svc: SVC):
    """Support vectors, their squared norms, and the (n_sv, n_pairs) one-vs-one coefficients."""
    if svc not in _layouts:
        n = len(svc.classes_)
        starts = np.r_[0, np.cumsum(svc.n_support_)]
        coef = np.zeros((svc.support_vectors_.shape[0], n * (n - 1) // 2))
        pair = 0
        for i in range(n):
            for j in range(i + 1, n):
                own, other = slice(starts[i], starts[i + 1]), slice(starts[j], starts[j + 1])
                coef[own, pair] = svc.dual_coef_[j - 1, own]
                coef[other, pair] = svc.dual_coef_[i, other]
                pair += 1
        # float32 support vectors halve the memory read per query (the cost of a few queries); the
        # kernel values differ from libsvm's float64 ones by about 1e-6.
        sv = np.ascontiguousarray(svc.support_vectors_, dtype=np.float32)
        _layouts[svc] = (sv, (svc.support_vectors_ ** 2).sum(axis=1), coef)
    return _layouts[svc]


def _one_vs_one_values(svc: SVC, X) -> np.ndarray:
    """libsvm's one-vs-one decision values, (n, n_pairs), computed in batches of rows."""
    sv, sv_norms, coef = _layout(svc)
    X = np.asarray(X, dtype=np.float64)
    out = np.empty((len(X), coef.shape[1]))
    for start in range(0, len(X), _BATCH):
        part = X[start:start + _BATCH]
        cross = (sv @ part.astype(np.float32).T).T.astype(np.float64)  # (n_sv, d) @ (d, n): the faster layout
        squared = (part ** 2).sum(axis=1)[:, None] + sv_norms[None, :] - 2 * cross
        kernel = np.exp(-svc._gamma * np.maximum(squared, 0))
        out[start:start + _BATCH] = kernel @ coef + svc.intercept_
    return out


def rbf_svc_scores(svc: SVC, X) -> np.ndarray:
    """``svc.decision_function(X)`` for a multi-class RBF SVC with one-vs-rest scores."""
    ovo = _one_vs_one_values(svc, X)
    return _ovr_decision_function(ovo < 0, -ovo, len(svc.classes_))


def rbf_svc_predict(svc: SVC, X) -> np.ndarray:
    """``svc.predict(X)``: libsvm's one-vs-one vote (a pair's first class wins where its decision value
    is positive; equal votes go to the earlier class), from the BLAS decision values. A label can
    differ from libsvm's only where a decision value is within about 1e-6 of zero."""
    if svc.break_ties:
        return svc.classes_[np.argmax(rbf_svc_scores(svc, X), axis=1)]
    ovo = _one_vs_one_values(svc, X)
    n = len(svc.classes_)
    first, second = np.triu_indices(n, k=1)  # the pairs in libsvm's order: (0, 1), (0, 2), ..., (n-2, n-1)
    votes = np.zeros((len(ovo), n), dtype=np.int64)
    wins = ovo > 0
    for pair, (i, j) in enumerate(zip(first, second)):
        votes[:, i] += wins[:, pair]
        votes[:, j] += ~wins[:, pair]
    return svc.classes_[np.argmax(votes, axis=1)]
