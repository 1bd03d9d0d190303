"""Gradient and texture descriptors: HOG and uniform LBP histograms over a grid of cells."""

from __future__ import annotations

from .base import ImageDescriptor


class HOGDescriptor(ImageDescriptor):
    """scikit-image's histogram of oriented gradients of the grayscale face at ``size``×``size``."""

    name = "hog"  # its command-line name and its describer's (compute.DESCRIBERS)

    param_choices = {"block_norm": ("L1", "L1-sqrt", "L2", "L2-Hys")}

    def __init__(self, orientations: int = 9, pixels_per_cell: int = 6, cells_per_block: int = 2,
                 block_norm: str = "L2-Hys", size: int = 48, photometric: str = "none", n_jobs: int | None = None,
                 progress: bool = False):
        self.orientations = orientations
        self.pixels_per_cell = pixels_per_cell
        self.cells_per_block = cells_per_block
        self.block_norm = block_norm
        self.size = size
        self.photometric = photometric
        self.n_jobs = n_jobs
        self.progress = progress


class LBPDescriptor(ImageDescriptor):
    """Local binary patterns (``points`` neighbours at ``radius``), pooled into a histogram per cell
    of a ``grid``×``grid`` partition of the grayscale face; ``method='uniform'`` by default."""

    name = "lbp"  # its command-line name and its describer's (compute.DESCRIBERS)

    param_choices = {"method": ("uniform", "nri_uniform", "default", "ror")}

    def __init__(self, points: int = 8, radius: float = 1, grid: int = 6, method: str = "uniform",
                 size: int = 48, photometric: str = "none", n_jobs: int | None = None, progress: bool = False):
        self.points = points
        self.radius = radius
        self.grid = grid
        self.method = method
        self.size = size
        self.photometric = photometric
        self.n_jobs = n_jobs
        self.progress = progress
