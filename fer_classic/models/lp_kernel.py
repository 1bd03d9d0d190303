"""Exact Minkowski (Lp) distances for p other than 1 and 2, compiled with numba.

faiss's METRIC_Lp calls ``pow()`` for every element; here ``|q - x|^p`` for a whole number p is p − 1
multiplications in float32, vectorised across the dimensions (SIMD) by LLVM, over blocks of queries so
that each training row is read from memory once per block rather than once per query. Each distance
is computed on its own, so the result does not depend on the number of threads. These float32 sums
only pick candidates: :mod:`fer_classic.models.knn` re-ranks them with exact float64 distances.

Why numba: it compiles this one loop nest to machine code at first use from a wheel on PyPI (no
compiler needed on the user's machine), and its ``prange`` spreads the query blocks over the cores.
"""

from __future__ import annotations

import numpy as np

QUERY_BLOCK = 8  # queries sharing one pass over the training rows (8 rows of 2,304 floats stay in L1/L2)


def _compile(exact: bool):
    """The kernel: float32 sums (SIMD-wide, for candidates), or float64 sums of float64 terms (exact for
    integer data such as pixels, whose |d|^3 and their sums are whole numbers below 2^53)."""
    import numba

    acc = np.float64 if exact else np.float32

    @numba.njit(parallel=True, fastmath=not exact, cache=True)
    def lp_sums(Q, X, p, out):
        m, d = Q.shape
        n = X.shape[0]
        blocks = (m + QUERY_BLOCK - 1) // QUERY_BLOCK
        whole = p == np.floor(p)
        for b in numba.prange(blocks):
            lo = b * QUERY_BLOCK
            hi = min(lo + QUERY_BLOCK, m)
            for j in range(n):
                for i in range(lo, hi):
                    s = acc(0.0)
                    if p == 3:
                        for t in range(d):
                            a = abs(acc(Q[i, t]) - acc(X[j, t]))
                            s += a * a * a
                    elif whole:
                        for t in range(d):
                            a = abs(acc(Q[i, t]) - acc(X[j, t]))
                            v = a
                            for _ in range(int(p) - 1):
                                v *= a
                            s += v
                    else:
                        for t in range(d):
                            s += abs(acc(Q[i, t]) - acc(X[j, t])) ** acc(p)
                    out[i, j] = s
        return out

    return lp_sums


_kernels: dict = {}


def lp_power_sums(Q: np.ndarray, X: np.ndarray, p: float, exact: bool = False) -> np.ndarray:
    """``sum_t |Q[i, t] - X[j, t]|^p`` for every query i and row j, ``(len(Q), len(X))`` (the p-th power
    of the Lp distance: the same order, without the root): float32 sums, or with ``exact`` float64 sums
    of the values as given (the reduced distances scikit-learn's tie-breaking compares)."""
    if exact not in _kernels:
        _kernels[exact] = _compile(exact)
    dtype = np.float64 if exact else np.float32
    Q = np.ascontiguousarray(Q, dtype=np.float64 if exact else np.float32)
    X = np.ascontiguousarray(X) if exact and X.dtype in (np.float32, np.float64) else np.ascontiguousarray(X, dtype=dtype)
    return _kernels[exact](Q, X, dtype(p), np.empty((len(Q), len(X)), dtype=dtype))


def lp_candidates(X: np.ndarray, p: float):
    """A function (queries, n) -> indices of the n rows of ``X`` nearest each query under the Lp norm
    (by float32 sums: candidates for exact re-ranking)."""
    X32 = np.ascontiguousarray(X, dtype=np.float32)

    def search(queries, n):
        sums = lp_power_sums(queries, X32, p)
        if n >= sums.shape[1]:
            return np.argsort(sums, axis=1, kind="stable")
        return np.argpartition(sums, n - 1, axis=1)[:, :n]

    return search
