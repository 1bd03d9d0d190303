"""Descriptors read straight off the pixels: the raw image and its intensity histogram."""

from __future__ import annotations

import numpy as np

from ..data.datasets import resize_image
from .base import ImageDescriptor


class RawPixels(ImageDescriptor):
    """The pixels of the face resized to ``size``×``size``, flattened (values 0-255).

    Colour is kept when the training images have it (``fit`` decides); grayscale otherwise.
    """

    uses_colour = True
    parallel = False

    def __init__(self, size: int = 48, n_jobs: int | None = None, progress: bool = False):
        self.size = size
        self.n_jobs = n_jobs
        self.progress = progress

    def _describe(self, images) -> np.ndarray:
        side = (self.size, self.size)
        if isinstance(images, np.ndarray) and images.shape[1:] == side and self.n_channels_ == 1:
            return images.reshape(len(images), -1).astype(np.float32)
        return np.stack([resize_image(self._channels(im), side).ravel() for im in images]).astype(np.float32)


class IntensityHistogram(ImageDescriptor):
    """Normalised histogram of intensities: one for grayscale, one per channel for colour images.

    Each histogram sums to 1, so the descriptor does not depend on the image size.
    """

    uses_colour = True
    parallel = False

    def __init__(self, bins: int = 32, n_jobs: int | None = None, progress: bool = False):
        self.bins = bins
        self.n_jobs = n_jobs
        self.progress = progress

    def _describe(self, images) -> np.ndarray:
        if not 1 <= int(self.bins) <= 256:
            raise ValueError(f"bins must be between 1 and 256, got {self.bins}")
        bins = int(self.bins)
        rows = []
        for im in images:
            im = self._channels(im)
            planes = [im] if im.ndim == 2 else [im[..., c] for c in range(im.shape[2])]
            hists = []
            for plane in planes:
                # Bin i holds the intensities v with floor(v * bins / 256) == i.
                codes = (plane.astype(np.int32) * bins) >> 8
                h = np.bincount(codes.ravel(), minlength=bins).astype(np.float32)
                hists.append(h / max(plane.size, 1))
            rows.append(np.concatenate(hists))
        return np.stack(rows)
