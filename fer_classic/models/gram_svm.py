"""An RBF ``SVC`` fitted through its kernel matrix computed once with BLAS.

libsvm computes each kernel value it needs with its own scalar dot product, over and over as columns
fall out of its cache: for 25,838 FER2013 faces with a few hundred dimensions that is most of a fit's
minutes. Here the whole kernel matrix ``exp(-gamma * |x_i - x_j|^2)`` is one float64 matrix product
(seconds), libsvm solves the same dual problem on it (``kernel="precomputed"``), and the solution is put
back into an ordinary RBF ``SVC`` (support vectors, dual coefficients, intercepts), which predicts and
saves like any other. The kernel values agree with libsvm's to about 1e-15, so the solver takes the
same path up to rounding: the solution is the same optimum to libsvm's tolerance, not bit-identical to
a fit through ``kernel="rbf"``; the same data gives the same model on any core count (the product runs
on one BLAS thread: split among threads, its sums change order and the last bit of some values).

Above :data:`GRAM_LIMIT_BYTES` of kernel matrix (about 28,000 rows) the fit is libsvm's own.
"""

from __future__ import annotations

import numpy as np
from sklearn.svm import SVC
from sklearn.utils.validation import check_array
from threadpoolctl import threadpool_limits

from .libsvm_kernel import rbf_gamma

GRAM_LIMIT_BYTES = 6 * 2 ** 30
_BLOCK = 2048  # rows of the kernel matrix finished at a time (keeps the temporary small)


def rbf_gram(X: np.ndarray, gamma: float) -> np.ndarray:
    """``exp(-gamma * |x_i - x_j|^2)`` for every pair of rows, float64, the same on any core count."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    norms = np.einsum("ij,ij->i", X, X)
    K = np.empty((len(X), len(X)))
    with threadpool_limits(1, user_api="blas"):
        _fill_gram(K, X, norms, gamma)
    return K


def _fill_gram(K, X, norms, gamma) -> None:
    for start in range(0, len(X), _BLOCK):
        block = K[start:start + _BLOCK]
        np.matmul(X[start:start + _BLOCK], X.T, out=block)
        block *= -2
        block += norms[start:start + _BLOCK, None]
        block += norms[None, :]
        np.maximum(block, 0, out=block)
        block *= -gamma
        np.exp(block, out=block)


class GramRBFSVC(SVC):
    """``SVC(kernel="rbf")`` whose fit solves libsvm's problem on a kernel matrix computed with BLAS
    (see the module's notes); every parameter is ``SVC``'s. Other kernels, ``probability=True`` and kernel
    matrices over :data:`GRAM_LIMIT_BYTES` fit through ``SVC.fit`` as usual."""

    def fit(self, X, y, sample_weight=None):
        X = check_array(X, dtype=np.float64, order="C")
        if self.kernel != "rbf" or self.probability is True or len(X) ** 2 * 8 > GRAM_LIMIT_BYTES:
            return super().fit(X, y, sample_weight=sample_weight)
        if self.gamma == "scale":
            gamma = rbf_gamma(X)
        elif self.gamma == "auto":
            gamma = 1.0 / X.shape[1]
        else:
            gamma = float(self.gamma)
        params = {**self.get_params(), "kernel": "precomputed"}
        solved = SVC(**params).fit(rbf_gram(X, gamma), y, sample_weight=sample_weight)
        fitted = {name: value for name, value in vars(solved).items() if name.endswith("_") or name.startswith("_")}
        fitted.update(_gamma=gamma, support_vectors_=X[solved.support_], shape_fit_=X.shape,
                      n_features_in_=X.shape[1])
        vars(self).update(fitted)
        return self
