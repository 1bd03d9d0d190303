"""Descriptors read straight off the pixels: the raw image and its intensity histogram."""

from __future__ import annotations

from .base import ImageDescriptor


class RawPixels(ImageDescriptor):
    """The pixels of the face resized to ``size``×``size``, flattened (values 0-255).

    Colour is kept when the training images have it (``fit`` decides); grayscale otherwise.
    """

    name = "raw"  # its command-line name and its describer's (compute.DESCRIBERS)

    uses_colour = True
    parallel = False

    def __init__(self, size: int = 48, photometric: str = "none", n_jobs: int | None = None, progress: bool = False):
        self.size = size
        self.photometric = photometric
        self.n_jobs = n_jobs
        self.progress = progress


class IntensityHistogram(ImageDescriptor):
    """Normalised histogram of intensities: one for grayscale, one per channel for colour images.

    Each histogram sums to 1, so the descriptor does not depend on the image size.
    """

    name = "hist"  # its command-line name and its describer's (compute.DESCRIBERS)

    uses_colour = True
    parallel = False

    def __init__(self, bins: int = 32, photometric: str = "none", n_jobs: int | None = None, progress: bool = False):
        self.bins = bins
        self.photometric = photometric
        self.n_jobs = n_jobs
        self.progress = progress
