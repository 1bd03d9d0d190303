"""Dot products of float32 queries with rows kept as int8 whole numbers, compiled with numba.

An RBF SVM trained on int8-grid rows (``--int8-rows``) keeps its support vectors as int8 numbers and
a step per column (:func:`fer_classic.store.int8_columns`); ``x · (whole * steps)`` is
``(x * steps) · whole``, so the kernel's cross products can read the int8 numbers themselves, a quarter
of float32's bytes. A float32 matrix product (BLAS) with a handful of queries is bound by reading the
support vectors from memory (77 MB of float32 for `live`'s 47,949 × 400); here each int8 row is read
once for the whole batch, widened to float32 in L1, and multiplied with every query. For `live`, on one
core (``python benchmarks/svm_kernel_speed.py RUN``, two runs): one query 1.1–1.4 ms against BLAS's
3.9–4.9 ms (19 MB in 1.1 ms, ~17 GB/s: memory speed); batches of 8, 0.52–0.54 ms a query against
1.40–1.54, 72–73 GFLOP/s, 40% of the 180 GFLOP/s this core's BLAS reaches on a large square product
(benchmarks/filterbank_speed.py).

The sums are float32, vectorised across the columns by LLVM (``fastmath`` lets it reorder them); each
product is computed on its own, by one thread, so the result does not depend on the number of cores.
Compiled once per machine (``cache=True``), like :mod:`fer_classic.features.triangle_pooling`.
"""

from __future__ import annotations

import numpy as np

_kernels = None


def _compile():
    import numba

    @numba.njit(fastmath=True, cache=True)
    def one_query(whole, query, out):
        rows, d = whole.shape
        for i in range(rows):
            total = np.float32(0)
            for j in range(d):
                total += np.float32(whole[i, j]) * query[j]
            out[0, i] = total
        return out

    @numba.njit(fastmath=True, cache=True)
    def many_queries(whole, queries, out):
        # four rows widened into a float32 block that stays in L1, then multiplied with two queries at
        # a time: eight sums in registers per pass over the columns
        rows, d = whole.shape
        n = queries.shape[0]
        block = np.empty((4, d), np.float32)
        for start in range(0, rows - rows % 4, 4):
            for r in range(4):
                for j in range(d):
                    block[r, j] = whole[start + r, j]
            for k in range(0, n - n % 2, 2):
                a0 = a1 = a2 = a3 = b0 = b1 = b2 = b3 = np.float32(0)
                for j in range(d):
                    x, y = queries[k, j], queries[k + 1, j]
                    r0, r1, r2, r3 = block[0, j], block[1, j], block[2, j], block[3, j]
                    a0 += r0 * x
                    a1 += r1 * x
                    a2 += r2 * x
                    a3 += r3 * x
                    b0 += r0 * y
                    b1 += r1 * y
                    b2 += r2 * y
                    b3 += r3 * y
                out[k, start], out[k, start + 1], out[k, start + 2], out[k, start + 3] = a0, a1, a2, a3
                out[k + 1, start], out[k + 1, start + 1], out[k + 1, start + 2], out[k + 1, start + 3] = b0, b1, b2, b3
            if n % 2:
                for r in range(4):
                    total = np.float32(0)
                    for j in range(d):
                        total += block[r, j] * queries[n - 1, j]
                    out[n - 1, start + r] = total
        for i in range(rows - rows % 4, rows):
            for k in range(n):
                total = np.float32(0)
                for j in range(d):
                    total += np.float32(whole[i, j]) * queries[k, j]
                out[k, i] = total
        return out

    return one_query, many_queries


def int8_row_products(whole: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """``queries @ whole.T`` in float32, ``(n_queries, n_rows)``, for int8 ``whole`` ``(n_rows, d)`` and
    float32-convertible ``queries`` ``(n_queries, d)``."""
    global _kernels
    if _kernels is None:
        _kernels = _compile()
    one_query, many_queries = _kernels
    if whole.dtype != np.int8:
        raise ValueError(f"rows of {whole.dtype}, not int8")
    queries, whole = np.ascontiguousarray(queries, dtype=np.float32), np.ascontiguousarray(whole)
    if queries.ndim != 2 or whole.ndim != 2 or queries.shape[1] != whole.shape[1]:
        raise ValueError(f"queries {queries.shape} and rows {whole.shape} differ in width")
    out = np.empty((len(queries), len(whole)), dtype=np.float32)
    if len(queries) == 0 or len(whole) == 0:
        return out
    if len(queries) == 1:
        return one_query(whole, queries[0], out)
    return many_queries(whole, queries, out)
