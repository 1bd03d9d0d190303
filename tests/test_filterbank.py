"""The filter bank's compiled triangle pooling against the formula written out in numpy (float64)."""

import numpy as np

from fer_classic.features import compute
from fer_classic.features.filterbank import FilterBankDescriptor
from fer_classic.features.triangle_pooling import triangle_pooled


def _rows_in_numpy(d, images):
    """Coates et al.'s triangle activation, pooled: every step a whole numpy array, in float64."""
    side = d.size - d.patch + 1
    band = (np.arange(side) * d.pool) // side
    region = (band[:, None] * d.pool + band[None, :]).ravel()
    pooling = np.zeros((d.pool * d.pool, side * side))
    pooling[region, np.arange(side * side)] = 1
    centroids = d.centroids_.astype(np.float64)
    rows = []
    for image in images:
        x = (compute.filterbank_patches(d, image).astype(np.float64) - d.mean_) @ d.whitening_
        z = np.sqrt(np.maximum((x ** 2).sum(axis=1, keepdims=True) + (centroids ** 2).sum(axis=1)
                               - 2 * x @ centroids.T, 0))
        rows.append((pooling @ np.maximum(z.mean(axis=1, keepdims=True) - z, 0)).ravel())
    return np.array(rows)


def test_filterbank_rows_are_the_triangle_activations_pooled(faces):
    d = FilterBankDescriptor(centroids=60, pool=3, sample_images=28, patches_per_image=50).fit(faces)
    got = d.transform(faces[:12])
    expected = _rows_in_numpy(d, faces[:12])
    assert got.dtype == np.float32 and got.shape == (12, 60 * 9)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
    assert (got > 0).mean() > 0.5  # activations that a wrong region or sign would zero


def test_triangle_pooling_of_known_distances():
    # one position at distance 0, 1 and 2 (along one axis) from three centroids: mean 1, activations 1, 0, 0;
    # a second position, in region 1, at distance 3, 2, 1 (mean 2): activations 0, 0, 1
    centroids = np.array([[0.0, 0], [1, 0], [2, 0]], dtype=np.float32)
    patches = np.array([[0.0, 0], [3, 0]], dtype=np.float32)
    pooled = triangle_pooled(patches @ centroids.T, (patches ** 2).sum(axis=1), (centroids ** 2).sum(axis=1),
                             np.array([0, 1]), 2)
    np.testing.assert_allclose(pooled, [[1, 0, 0], [0, 0, 1]], atol=1e-6)
