"""Exact k nearest neighbours with scikit-learn's answers, in numpy (faiss, numba and scipy imported only
where used): the search, scikit-learn's tie-breaking among equidistant neighbours, and its vote. No
scikit-learn here, so a run's predictor labels faces with a KNN, or finds local learning's
neighbourhoods, without importing it (:mod:`fer_classic.runs.predictor`); :mod:`.knn` builds the grid
and the estimator on these."""

from __future__ import annotations

import numpy as np

# Extra candidates fetched beyond k, so that float32 rounding in faiss cannot push a true neighbour out.
CANDIDATE_MARGIN = 16


def _candidate_search(X: np.ndarray, p: float):
    """A function (queries, n) -> indices of about the n nearest rows of ``X``."""
    if p == 2:
        return _l2_candidates(X)
    if p != 1:
        from .lp_kernel import lp_candidates

        return lp_candidates(X, p)
    import faiss

    index = faiss.IndexFlat(X.shape[1], faiss.METRIC_L1)
    index.add(np.ascontiguousarray(X, dtype=np.float32))
    return lambda q, n: index.search(np.ascontiguousarray(q, dtype=np.float32), n)[1]


def _l2_candidates(X: np.ndarray):
    """About the n nearest rows under L2, by BLAS in float32: ``|x|² - 2 q·x`` (the query's own ``|q|²``
    ranks nothing), the n smallest in any order (the exact re-ranking orders them)."""
    rows = np.ascontiguousarray(X, dtype=np.float32)
    norms = np.einsum("ij,ij->i", rows, rows)

    def search(q, n):
        scores = norms - 2 * (np.asarray(q, dtype=np.float32) @ rows.T)
        return np.argpartition(scores, n - 1, axis=1)[:, :n] if n < len(rows) else np.argsort(scores, axis=1)

    return search


def minkowski_distances(queries: np.ndarray, rows: np.ndarray, p: float) -> np.ndarray:
    """Exact float64 Minkowski distances from each query (m, d) to its own rows (m, c, d)."""
    diff = np.abs(rows.astype(np.float64) - queries.astype(np.float64)[:, None, :])
    if p == 1:
        return diff.sum(axis=2)
    if p == 2:
        return np.sqrt(np.einsum("mcd,mcd->mc", diff, diff))
    return (diff ** p).sum(axis=2) ** (1.0 / p)


def kneighbors(X_fit: np.ndarray, X_query: np.ndarray, k: int, p: float,
               chunk: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest rows of ``X_fit`` for each query under the Minkowski ``p`` norm.

    Returns (distances, indices), both ``(n_queries, k)``, nearest first; equal distances are
    ordered by training index.
    """
    n_fit = len(X_fit)
    k = min(k, n_fit)
    n_candidates = min(n_fit, k + CANDIDATE_MARGIN)
    search = _candidate_search(X_fit, p)
    X_fit64 = np.asarray(X_fit)
    dist_out = np.empty((len(X_query), k))
    idx_out = np.empty((len(X_query), k), dtype=np.int64)
    for start in range(0, len(X_query), chunk):
        q = np.asarray(X_query[start:start + chunk])
        cand = search(q, n_candidates)
        exact = minkowski_distances(q, X_fit64[cand], p)
        order = np.lexsort((cand, exact), axis=1)[:, :k]
        dist_out[start:start + len(q)] = np.take_along_axis(exact, order, axis=1)
        idx_out[start:start + len(q)] = np.take_along_axis(cand, order, axis=1)
    return dist_out, idx_out


# --------------------------------------------------------------------------- scikit-learn's tie-breaking

_DBL_MAX = np.finfo(np.float64).max


def _heap_push(values: list, indices: list, size: int, val: float, idx: int) -> None:
    """sklearn.utils._heap.heap_push, line for line: a fixed-size max-heap that refuses ``val``
    unless it is strictly below the root."""
    if val >= values[0]:
        return
    current = 0
    while True:
        left = 2 * current + 1
        right = left + 1
        if left >= size:
            break
        if right >= size:
            if values[left] > val:
                swap = left
            else:
                break
        elif values[left] >= values[right]:
            if val < values[left]:
                swap = left
            else:
                break
        elif val < values[right]:
            swap = right
        else:
            break
        values[current], indices[current] = values[swap], indices[swap]
        current = swap
    values[current], indices[current] = val, idx


def _heap_over(rdist: np.ndarray, start: int, end: int, k: int) -> tuple[list, list]:
    """The heap after pushing ``rdist[start:end]`` in order, skipping rows that cannot enter."""
    values, indices = [_DBL_MAX] * k, [-1] * k
    first = min(end, start + k)
    for j in range(start, first):
        _heap_push(values, indices, k, float(rdist[j]), j)
    # The root only decreases, so rows at or above the current root can never enter.
    for j in first + np.flatnonzero(rdist[first:end] < values[0]):
        if rdist[j] < values[0]:
            _heap_push(values, indices, k, float(rdist[j]), int(j))
    return values, indices


def sklearn_neighbour_set(rdist: np.ndarray, k: int) -> np.ndarray:
    """The training rows scikit-learn's heap keeps for one query, given its reduced distances to every
    training row, when the rows are seen in order (its ``parallel_on_X`` strategy)."""
    _, indices = _heap_over(rdist, 0, len(rdist), k)
    return np.array([i for i in indices if i >= 0])


def reduced_distances(X_fit: np.ndarray, queries: np.ndarray, p: float) -> np.ndarray:
    """sum |x - q|^p (scikit-learn's "reduced" Minkowski distance) from each query to every training
    row, exactly in float64: ``(n_queries, n_fit)``."""
    from scipy.spatial.distance import cdist

    queries = np.atleast_2d(np.asarray(queries, dtype=np.float64))
    if p in (1, 2):
        return cdist(queries, np.asarray(X_fit, dtype=np.float64), "cityblock" if p == 1 else "sqeuclidean")
    from .lp_kernel import lp_power_sums

    return lp_power_sums(queries, X_fit, p, exact=True)


def vote(neighbour_labels: np.ndarray, distances: np.ndarray, weights: str, n_classes: int) -> np.ndarray:
    """Class scores from the neighbours, as KNeighborsClassifier.predict_proba computes them."""
    if weights == "uniform":
        w = np.ones_like(distances)
    else:
        with np.errstate(divide="ignore"):
            w = 1.0 / distances
        # A query that equals training rows takes its label from those rows alone (scikit-learn's rule).
        exact = np.isinf(w)
        rows = exact.any(axis=1)
        w[rows] = exact[rows]
    scores = np.zeros((len(neighbour_labels), n_classes))
    for j in range(neighbour_labels.shape[1]):
        np.add.at(scores, (np.arange(len(scores)), neighbour_labels[:, j]), w[:, j])
    return scores / scores.sum(axis=1, keepdims=True)


def break_ties_like_sklearn(X_fit, X_query, dist, idx, k, p, rdist_cache: dict):
    """The first ``k`` of the (k+1 or more) sorted neighbours, with exact ties at the k-th neighbour
    resolved as scikit-learn's sequential heap resolves them."""
    d, nb = dist[:, :k].copy(), idx[:, :k].copy()
    if k >= idx.shape[1]:
        return d, nb
    tied = np.flatnonzero(dist[:, k - 1] == dist[:, k])
    missing = [q for q in tied if q not in rdist_cache]
    if missing:  # the rows in float64 once (a predictor keeps pixel rows as bytes)
        X_fit = np.asarray(X_fit, dtype=np.float64)
    # Full rows of exact distances, for the tied queries only, in two threads (the kernels release the GIL).
    for q, row in zip(missing, _in_threads(lambda qs: reduced_distances(X_fit, X_query[qs], p), missing)):
        rdist_cache[q] = row
    for q in tied:
        kept = sklearn_neighbour_set(rdist_cache[q], k)
        nb[q], d[q] = kept, rdist_cache[q][kept] ** (1.0 / p)
    return d, nb


def _in_threads(func, items: list, chunk: int = 16) -> list:
    """Rows of ``func(items chunk)`` for consecutive chunks, computed in a thread pool."""
    if not items:
        return []
    from concurrent.futures import ThreadPoolExecutor

    from ..parallel import effective_n_jobs

    chunks = [items[i:i + chunk] for i in range(0, len(items), chunk)]
    with ThreadPoolExecutor(max_workers=effective_n_jobs(None)) as pool:
        return [row for result in pool.map(func, chunks) for row in result]


def exact_kneighbors(X_fit: np.ndarray, X_query: np.ndarray, k: int, p: float,
                     block_values: int = 1 << 22) -> tuple[np.ndarray, np.ndarray]:
    """:func:`kneighbors` without a candidate search: the exact float64 distance (the same arithmetic,
    :func:`minkowski_distances`) from each query to every training row, ranked by (distance, training
    index); byte rows and whole-number queries under L1 or L2 in integer arithmetic, the same values
    (:func:`_pixel_distances`). For a few queries (the faces of a photo) it is quick and needs neither
    faiss nor numba; its temporary arrays hold at most about ``block_values`` float64 values (32 MB)."""
    k = min(k, len(X_fit))
    X_query = np.asarray(X_query, dtype=np.float64)
    pixels = _pixel_queries(X_fit, X_query, p)
    d = max(1, X_fit.shape[1])
    rows = max(1, min(len(X_fit), block_values // d))
    queries = max(1, block_values // (rows * d))
    dist_out = np.empty((len(X_query), k))
    idx_out = np.empty((len(X_query), k), dtype=np.int64)
    for q0 in range(0, len(X_query), queries):
        q = X_query[q0:q0 + queries]
        dist = np.empty((len(q), len(X_fit)))
        for start in range(0, len(X_fit), rows):
            block = np.asarray(X_fit[start:start + rows])
            dist[:, start:start + len(block)] = (
                _pixel_distances(pixels[q0:q0 + queries], block, p) if pixels is not None
                else minkowski_distances(q, np.broadcast_to(block, (len(q), *block.shape)), p))
        order = np.lexsort((np.broadcast_to(np.arange(len(X_fit)), dist.shape), dist), axis=1)[:, :k]
        dist_out[q0:q0 + len(q)] = np.take_along_axis(dist, order, axis=1)
        idx_out[q0:q0 + len(q)] = order
    return dist_out, idx_out


def _pixel_queries(X_fit: np.ndarray, X_query: np.ndarray, p: float) -> np.ndarray | None:
    """The queries as bytes when the rows are bytes (raw pixels), the queries whole numbers from 0 to 255
    and ``p`` is 1 or 2: their distances are then sums of whole numbers, computed exactly by
    :func:`_pixel_distances`; else None."""
    if X_fit.dtype != np.uint8 or p not in (1, 2) or X_fit.shape[1] > 30_000 or not X_query.size:
        return None  # up to 30,000 columns every sum below stays exact (under 2**24 and 2**31)
    if X_query.min() < 0 or X_query.max() > 255 or not np.array_equal(X_query, np.round(X_query)):
        return None
    return X_query.astype(np.uint8)


def _pixel_distances(queries: np.ndarray, block: np.ndarray, p: float) -> np.ndarray:
    """:func:`minkowski_distances` from byte queries to byte rows: the same float64 values (every partial
    sum of the float64 arithmetic is a whole number below 2**53, exact in any order), from a fraction of
    the memory traffic. L1: each |x - q| as a byte (max - min), summed by BLAS in float32, exactly (every
    partial sum is a whole number below 255 * 30,000 < 2**24); L2: squared differences summed in int32."""
    ones = np.ones(block.shape[1], dtype=np.float32)
    out = np.empty((len(queries), len(block)))
    for i, query in enumerate(queries):
        if p == 1:
            out[i] = (np.maximum(block, query) - np.minimum(block, query)).astype(np.float32) @ ones
        else:
            diff = block.astype(np.int32) - query.astype(np.int32)
            out[i] = np.sqrt(np.einsum("cd,cd->c", diff, diff).astype(np.float64))
    return out
