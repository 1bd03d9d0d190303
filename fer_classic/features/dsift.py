"""VLFeat's dense SIFT in NumPy: ``vl_dsift`` with its flat window (the ``fast`` variant) and ``vl_phow``'s
use of it at several bin sizes (Vedaldi & Fulkerson, VLFeat 0.9.21: ``vl/dsift.c``,
``toolbox/sift/vl_phow.m``), computed for a batch of faces at once.

What VLFeat does, and what is done here the same way:

1. ``vl_phow`` smooths the image with a Gaussian of σ = bin size / ``magnif`` (``vl_imsmooth``: sampled
   kernel of half-width ⌈3σ⌉, normalised to unit sum, edges padded by continuity).
2. ``vl_dsift``: gradients by central differences (one-sided on the border), each pixel's gradient
   length split between its two nearest of 8 orientation planes, linearly in angle.
3. Each plane convolved along both axes with a triangle of unit height and half-width one bin size
   (bilinear spatial binning; edges padded by continuity), then read at the 4×4 bin centres of every
   frame; each bin scaled by the mean of a Gaussian window (σ = bin size × ``window_size``) over it.
4. A frame's *mass* (the sum of its 128 values over its area) is kept as its contrast; the descriptor is
   scaled to unit length, clipped at 0.2 and scaled to unit length again.
5. ``vl_phow`` offsets each size's frames so that every size has the same frame centres, and sets the
   descriptors whose contrast is below ``contrast_threshold`` to zero.

VLFeat computes atan2 and square roots with fast approximations; ``tests/test_dsift.py`` compares this
module with VLFeat's C library (Debian's ``libvlfeat1``) on real faces.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

ORIENTATIONS = 8
SPATIAL_BINS = 4
EPSILON = float(np.finfo(np.float32).eps)


def smooth(images: np.ndarray, sigma: float) -> np.ndarray:
    """``vl_imsmooth_f`` on each image of ``(n, h, w)``: σ in pixels, kernel half-width ⌈3σ⌉."""
    if sigma <= 0:
        return images.astype(np.float32, copy=True)
    radius = math.ceil(3.0 * sigma)
    return ndimage.gaussian_filter(images.astype(np.float32), sigma=(0, sigma, sigma), mode="nearest",
                                   radius=(0, radius, radius))


def orientation_planes(images: np.ndarray) -> np.ndarray:
    """``(n, 8, h, w)``: each pixel's gradient length split between its two nearest orientation planes."""
    gy, gx = np.gradient(images, axis=(1, 2))
    length = np.sqrt(gx * gx + gy * gy)
    turns = np.mod(np.arctan2(gy, gx), 2 * np.pi) * (ORIENTATIONS / (2 * np.pi))
    lower = np.floor(turns)
    upper_share = (turns - lower).astype(np.float32)
    lower = lower.astype(np.int64) % ORIENTATIONS
    planes = np.zeros((images.shape[0], ORIENTATIONS, *images.shape[1:]), dtype=np.float32)
    for t in range(ORIENTATIONS):
        planes[:, t] = np.where(lower == t, (1 - upper_share) * length, 0.0) + \
            np.where((lower + 1) % ORIENTATIONS == t, upper_share * length, 0.0)
    return planes


def window_means(bin_size: int, window_size: float) -> np.ndarray:
    """The mean of the Gaussian window over each of the 4 bins along one axis (``_vl_dsift_get_bin_window_mean``)."""
    x = np.arange(-bin_size + 1, bin_size, dtype=np.float64)
    sigma = bin_size * window_size
    deltas = bin_size * (np.arange(SPATIAL_BINS) - 0.5 * (SPATIAL_BINS - 1))
    return np.array([np.exp(-0.5 * ((x - d) / sigma) ** 2).mean() for d in deltas], dtype=np.float32)


def frame_starts(length: int, bin_size: int, step: int, bound: int = 0) -> np.ndarray:
    """The first pixel of every frame along an axis of ``length`` pixels, from ``bound`` on, as ``vl_dsift``
    places them (a frame spans 3 bin sizes + 1 pixels)."""
    frame = bin_size * (SPATIAL_BINS - 1) + 1
    return np.arange(bound, length - frame + 1, step)


def dense_sift(images: np.ndarray, *, bin_size: int, step: int, bounds: tuple[int, int] = (0, 0),
               window_size: float = 1.5, frames: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``vl_dsift`` with a flat window on ``(n, h, w)`` float images (not smoothed here): the descriptors
    ``(n, rows, cols, 128)`` (bins in VLFeat's order: row of bins, column of bins, orientation) and each
    frame's contrast ``(n, rows, cols)``. ``bounds``: the first frame's top-left pixel (y, x); ``frames``:
    keep only the first (rows, cols) frames."""
    n, h, w = images.shape
    ys = frame_starts(h, bin_size, step, bounds[0])
    xs = frame_starts(w, bin_size, step, bounds[1])
    if frames is not None:
        ys, xs = ys[:frames[0]], xs[:frames[1]]
    if len(ys) == 0 or len(xs) == 0:
        raise ValueError(f"a {h}x{w} image holds no dense SIFT frame of bin size {bin_size} from {bounds}")
    triangle = (1.0 - np.abs(np.arange(-bin_size + 1, bin_size)) / bin_size).astype(np.float32)
    planes = orientation_planes(images.astype(np.float32))
    planes = ndimage.correlate1d(planes, triangle, axis=2, mode="nearest")
    planes = ndimage.correlate1d(planes, triangle, axis=3, mode="nearest")
    offsets = np.arange(SPATIAL_BINS) * bin_size
    rows = (ys[:, None] + offsets[None, :]).ravel()
    cols = (xs[:, None] + offsets[None, :]).ravel()
    sampled = planes[:, :, rows][:, :, :, cols]                      # (n, 8, rows*4, cols*4)
    sampled = sampled.reshape(n, ORIENTATIONS, len(ys), SPATIAL_BINS, len(xs), SPATIAL_BINS)
    descriptors = sampled.transpose(0, 2, 4, 3, 5, 1)                # (n, rows, cols, bin y, bin x, t)
    weights = window_means(bin_size, window_size)
    descriptors = descriptors * (weights[:, None, None] * weights[None, :, None])
    descriptors = np.ascontiguousarray(descriptors, dtype=np.float32).reshape(n, len(ys), len(xs), -1)
    frame = bin_size * (SPATIAL_BINS - 1) + 1
    contrast = descriptors.sum(axis=3) / (frame * frame)
    descriptors /= np.sqrt(np.square(descriptors).sum(axis=3, keepdims=True)) + EPSILON
    np.minimum(descriptors, 0.2, out=descriptors)
    descriptors /= np.sqrt(np.square(descriptors).sum(axis=3, keepdims=True)) + EPSILON
    return descriptors, contrast


def phow(images: np.ndarray, *, sizes: tuple[int, ...] = (4, 6, 8), step: int = 2, magnif: float = 6.0,
         window_size: float = 1.5, contrast_threshold: float = 0.005) -> np.ndarray:
    """``vl_phow`` (gray) on ``(n, h, w)`` ``uint8`` faces: dense SIFT at every bin size of ``sizes`` on the
    face smoothed for that size, frames offset so that every size shares the same centres (where they
    land on the pixel grid) every ``step`` pixels, low-contrast descriptors zeroed. Returns
    ``(n, rows, cols, len(sizes), 128)`` float32; rows and cols are the largest size's frames."""
    faces = np.asarray(images, dtype=np.float32) / 255.0
    largest = max(sizes)
    h, w = faces.shape[1:]
    count = (len(frame_starts(h, largest, step)), len(frame_starts(w, largest, step)))
    out = None
    for s, size in enumerate(sizes):
        offset = math.floor(1.5 * (largest - size))
        descriptors, contrast = dense_sift(smooth(faces, size / magnif), bin_size=size, step=step,
                                           bounds=(offset, offset), window_size=window_size, frames=count)
        descriptors[contrast < contrast_threshold] = 0.0
        if out is None:
            out = np.empty((len(faces), *descriptors.shape[1:3], len(sizes), descriptors.shape[3]), np.float32)
        out[:, :, :, s] = descriptors
    return out
