"""Gradient and texture descriptors: HOG and uniform LBP histograms over a grid of cells."""

from __future__ import annotations

import numpy as np
from skimage.feature import hog, local_binary_pattern

from .base import ImageDescriptor


class HOGDescriptor(ImageDescriptor):
    """scikit-image's histogram of oriented gradients of the grayscale face at ``size``×``size``."""

    param_choices = {"block_norm": ("L1", "L1-sqrt", "L2", "L2-Hys")}

    def __init__(self, orientations: int = 9, pixels_per_cell: int = 6, cells_per_block: int = 2,
                 block_norm: str = "L2-Hys", size: int = 48, n_jobs: int | None = None,
                 progress: bool = False):
        self.orientations = orientations
        self.pixels_per_cell = pixels_per_cell
        self.cells_per_block = cells_per_block
        self.block_norm = block_norm
        self.size = size
        self.n_jobs = n_jobs
        self.progress = progress

    def _describe(self, images) -> np.ndarray:
        if self.size // self.pixels_per_cell < self.cells_per_block:
            raise ValueError(f"a {self.size}px face has fewer than cells_per_block={self.cells_per_block} "
                             f"cells of {self.pixels_per_cell}px")
        ppc, cpb = (self.pixels_per_cell,) * 2, (self.cells_per_block,) * 2
        return np.stack([
            hog(self._gray(im), orientations=self.orientations, pixels_per_cell=ppc, cells_per_block=cpb,
                block_norm=self.block_norm, feature_vector=True)
            for im in images]).astype(np.float32)


def lbp_histograms(codes: np.ndarray, n_codes: int, grid: int) -> np.ndarray:
    """Normalised histograms of integer ``codes`` over a ``grid``×``grid`` partition of the image."""
    h, w = codes.shape
    rows = np.linspace(0, h, grid + 1).astype(int)
    cols = np.linspace(0, w, grid + 1).astype(int)
    out = np.empty((grid, grid, n_codes), dtype=np.float32)
    for i in range(grid):
        for j in range(grid):
            cell = codes[rows[i]:rows[i + 1], cols[j]:cols[j + 1]].ravel()
            out[i, j] = np.bincount(cell, minlength=n_codes)[:n_codes] / max(cell.size, 1)
    return out.ravel()


def lbp_code_count(points: int, method: str) -> int:
    """How many distinct codes ``local_binary_pattern`` gives for ``points`` and ``method``."""
    counts = {"uniform": points + 2, "nri_uniform": points * (points - 1) + 3, "default": 2 ** points,
              "ror": 2 ** points}
    if method not in counts:
        raise ValueError(f"method must be one of {', '.join(counts)}, got {method!r}")
    return counts[method]


class LBPDescriptor(ImageDescriptor):
    """Local binary patterns (``points`` neighbours at ``radius``), pooled into a histogram per cell
    of a ``grid``×``grid`` partition of the grayscale face; ``method='uniform'`` by default."""

    param_choices = {"method": ("uniform", "nri_uniform", "default", "ror")}

    def __init__(self, points: int = 8, radius: float = 1, grid: int = 6, method: str = "uniform",
                 size: int = 48, n_jobs: int | None = None, progress: bool = False):
        self.points = points
        self.radius = radius
        self.grid = grid
        self.method = method
        self.size = size
        self.n_jobs = n_jobs
        self.progress = progress

    def _describe(self, images) -> np.ndarray:
        n_codes = lbp_code_count(self.points, self.method)
        rows = []
        for im in images:
            codes = local_binary_pattern(self._gray(im), self.points, self.radius, self.method)
            rows.append(lbp_histograms(codes.astype(np.int64), n_codes, self.grid))
        return np.stack(rows)
