"""The filter bank's triangle activations, sum-pooled, in one pass compiled with numba.

For one face, ``products`` holds every whitened patch's dot products with every centroid (one BLAS
matrix product, ``(positions, centroids)``: 1,849 × 1,000 for 48-px faces and 6-px patches). From them
each position's distances to the centroids, their mean, the activations ``max(0, mean - distance)`` and
the sums over the pooling regions are computed in one pass over the products, which stay in cache: in
numpy the same arithmetic is six or seven passes over a 7 MB array and temporaries (~5 ms of the ~9 ms a
face cost on one core); here ~0.5 ms (benchmarks/filterbank_speed.py).

Why numba: as in :mod:`fer_classic.models.lp_kernel`, it compiles this loop nest from a wheel on PyPI
(no compiler needed), once per machine (``cache=True``). The sums are float32, vectorised across the
centroids; the result does not depend on the number of threads (there is one).
"""

from __future__ import annotations

import numpy as np

_kernel = None


def _compile():
    import numba

    @numba.njit(fastmath=True, cache=True)
    def triangle_pooled(products, patch_norms, centroid_norms, region, out):
        positions, k = products.shape
        out[:] = 0
        distance = np.empty(k, np.float32)
        for p in range(positions):
            total = np.float32(0)
            for j in range(k):
                d = np.sqrt(max(patch_norms[p] + centroid_norms[j] - np.float32(2) * products[p, j], np.float32(0)))
                distance[j] = d
                total += d
            mean = total / np.float32(k)
            r = region[p]
            for j in range(k):
                out[r, j] += max(mean - distance[j], np.float32(0))
        return out

    return triangle_pooled


def triangle_pooled(products: np.ndarray, patch_norms: np.ndarray, centroid_norms: np.ndarray,
                    region: np.ndarray, regions: int) -> np.ndarray:
    """``(regions, centroids)`` float32: for every region, the sum over its positions p of
    ``max(0, mean_j z[p, j] - z[p, k])``, where ``z[p, k] = sqrt(max(0, patch_norms[p] + centroid_norms[k]
    - 2 products[p, k]))`` is the distance of patch p to centroid k and ``region[p]`` the region of
    position p."""
    global _kernel
    if _kernel is None:
        _kernel = _compile()
    return _kernel(np.ascontiguousarray(products, dtype=np.float32),
                   np.ascontiguousarray(patch_norms, dtype=np.float32).ravel(),
                   np.ascontiguousarray(centroid_norms, dtype=np.float32),
                   np.ascontiguousarray(region, dtype=np.intp),
                   np.empty((regions, products.shape[1]), dtype=np.float32))
