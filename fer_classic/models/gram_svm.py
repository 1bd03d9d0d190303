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

Above :data:`GRAM_LIMIT_BYTES` of kernel matrix (about 28,000 rows) the classes are taken two at a
time, as libsvm's one-vs-one training takes them anyway: each pair's binary problem is solved on its own
kernel matrix (the rows of those two classes, with the whole data's class weights), and the pairs'
solutions are put together in libsvm's multi-class layout. Each pair is exactly the subproblem libsvm
solves inside a multi-class fit, so the solution is libsvm's up to its tolerance, as above: the same
support vectors (on `best`'s filter bank, 51,676 rows, decision values within 1e-4 of libsvm's own fit).
FER2013's 28,709 Training faces and their mirror images need at most 4.75 GB for a pair (happy and
neutral, 24,360 rows). Where a pair's matrix is over the limit too, or sample weights are given, the
fit is libsvm's own.
"""

from __future__ import annotations

import numpy as np
from sklearn.svm import SVC
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.validation import check_array
from threadpoolctl import threadpool_limits

from .libsvm_kernel import rbf_gamma

GRAM_LIMIT_BYTES = 6 * 2 ** 30
# libsvm's column cache when it solves on a kernel matrix: a column is then a copy from the matrix, as
# fast as a cached one (the same solve in the same time with 40 or 1,000 MB), so a large cache would
# only add to the matrix's memory
_SOLVER_CACHE_MB = 40
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
        if self.kernel != "rbf" or self.probability is True:
            return super().fit(X, y, sample_weight=sample_weight)
        if len(X) ** 2 * 8 <= GRAM_LIMIT_BYTES:
            gamma = self._gamma_of(X)
            solved = self._solver().fit(rbf_gram(X, gamma), y, sample_weight=sample_weight)
            fitted = {name: value for name, value in vars(solved).items() if name.endswith("_") or name.startswith("_")}
            fitted.update(_gamma=gamma, support_vectors_=X[solved.support_], shape_fit_=X.shape,
                          n_features_in_=X.shape[1])
            vars(self).update(fitted)
            return self
        classes, codes = np.unique(np.asarray(y), return_inverse=True)
        largest_pair = np.sort(np.bincount(codes))[-2:].sum()
        if sample_weight is not None or len(classes) < 3 or largest_pair ** 2 * 8 > GRAM_LIMIT_BYTES:
            return super().fit(X, y, sample_weight=sample_weight)
        return self._fit_by_pairs(X, classes, codes)

    def _solver(self, **changes) -> SVC:
        """An ``SVC`` with this one's parameters that solves on a kernel matrix."""
        return SVC(**{**self.get_params(), "kernel": "precomputed", "cache_size": _SOLVER_CACHE_MB, **changes})

    def _gamma_of(self, X) -> float:
        if self.gamma == "scale":
            return rbf_gamma(X)
        if self.gamma == "auto":
            return 1.0 / X.shape[1]
        return float(self.gamma)

    def _fit_by_pairs(self, X, classes, codes):
        """libsvm's one-vs-one training pair by pair, each pair on its own kernel matrix, then the
        solutions in the layout of a multi-class ``SVC`` (``svm.cpp``'s ``svm_train``: a row is a support
        vector if any pair uses it; a class-i vector's coefficient from pair (i, j) sits in row j - 1 of
        the dual coefficients, a class-j vector's in row i)."""
        gamma = self._gamma_of(X)
        weights = compute_class_weight(self.class_weight, classes=classes, y=classes[codes])
        members = [np.flatnonzero(codes == c) for c in range(len(classes))]
        pairs = [(i, j) for i in range(len(classes)) for j in range(i + 1, len(classes))]
        solutions, used = [], np.zeros(len(X), dtype=bool)
        for i, j in pairs:
            rows = np.concatenate([members[i], members[j]])
            labels = np.repeat([0, 1], [len(members[i]), len(members[j])])
            pair = self._solver(class_weight={0: weights[i], 1: weights[j]}).fit(rbf_gram(X[rows], gamma), labels)
            solutions.append((rows[pair.support_], pair._dual_coef_[0], pair._intercept_[0], pair._num_iter[0],
                              pair.fit_status_))
            used[rows[pair.support_]] = True
        support = np.concatenate([m[used[m]] for m in members])
        column = np.empty(len(X), dtype=np.intp)
        column[support] = np.arange(len(support))
        dual_coef = np.zeros((len(classes) - 1, len(support)))
        for (i, j), (vectors, coef, *_) in zip(pairs, solutions):
            of_i = codes[vectors] == i
            dual_coef[j - 1, column[vectors[of_i]]] = coef[of_i]
            dual_coef[i, column[vectors[~of_i]]] = coef[~of_i]
        intercept = np.array([s[2] for s in solutions])
        iterations = np.array([s[3] for s in solutions], dtype=pair._num_iter.dtype)
        vars(self).update(
            classes_=classes, class_weight_=weights, support_=support.astype(np.int32),
            support_vectors_=X[support], _n_support=np.array([used[m].sum() for m in members], dtype=np.int32),
            dual_coef_=dual_coef, _dual_coef_=dual_coef, intercept_=intercept, _intercept_=intercept.copy(),
            _num_iter=iterations, n_iter_=iterations, fit_status_=max(s[4] for s in solutions), _gamma=gamma,
            _probA=np.empty(0), _probB=np.empty(0), _sparse=False, _effective_probability=False,
            shape_fit_=X.shape, n_features_in_=X.shape[1])
        return self
