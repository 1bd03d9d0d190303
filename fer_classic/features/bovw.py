"""Bag of visual words: dense DAISY descriptors (SIFT-like) quantised against a vocabulary learned
without labels by k-means, counted over a spatial pyramid, with the Hellinger (square-root) map."""

from __future__ import annotations

import math

import numpy as np
from scipy.ndimage import gaussian_filter
from sklearn.cluster import MiniBatchKMeans

from .base import ImageDescriptor, check_images


def dense_daisy(images: np.ndarray, *, step: int, radius: int, rings: int, histograms: int,
                orientations: int) -> np.ndarray:
    """scikit-image's ``daisy`` (L1 normalisation, its default sigmas and ring radii) of a batch of
    ``uint8`` images ``(n, h, w)``, as ``(n, rows, cols, d)``: the same numbers (equal in float32), about
    twice as fast. The gradient-orientation maps of the whole batch are smoothed in one filter call per
    distinct sigma (scikit-image smooths each map of each image separately, and twice at the first
    sigma), and the descriptors are gathered at the sampled positions only."""
    img = np.asarray(images, dtype=np.float64) / 255.0  # scikit-image's img_as_float of uint8
    n, h, w = img.shape
    sigmas = [radius * (i + 1) / float(2 * rings) for i in range(rings)]
    ring_radii = [radius * (i + 1) / float(rings) for i in range(rings)]
    dx, dy = np.zeros_like(img), np.zeros_like(img)
    dx[:, :, :-1] = np.diff(img, axis=2)
    dy[:, :-1, :] = np.diff(img, axis=1)
    magnitude, orientation = np.sqrt(dx ** 2 + dy ** 2), np.arctan2(dy, dx)
    kappa = orientations / np.pi
    hist = np.empty((n, orientations, h, w))
    for i in range(orientations):
        hist[:, i] = np.exp(kappa * np.cos(orientation - (2 * i * np.pi / orientations - np.pi))) * magnitude
    smoothed = {s: gaussian_filter(hist, sigma=(0, 0, s, s), mode="reflect", truncate=4.0) for s in set(sigmas)}
    P, Q = h - 2 * radius, w - 2 * radius
    rows, cols = len(range(0, P, step)), len(range(0, Q, step))
    out = np.empty((n, (rings * histograms + 1) * orientations, rows, cols))
    out[:, :orientations] = smoothed[sigmas[0]][:, :, radius:radius + P:step, radius:radius + Q:step]
    at = orientations
    for i in range(rings):
        for j in range(histograms):
            angle = 2 * np.pi * j / histograms
            y0 = radius + int(round(ring_radii[i] * math.sin(angle)))
            x0 = radius + int(round(ring_radii[i] * math.cos(angle)))
            out[:, at:at + orientations] = smoothed[sigmas[i]][:, :, y0:y0 + P:step, x0:x0 + Q:step]
            at += orientations
    out = out.transpose(0, 2, 3, 1) + 1e-10
    return out / out.sum(axis=3, keepdims=True)


class BoVWDescriptor(ImageDescriptor):
    """Dense DAISY descriptors every ``step`` pixels of the grayscale face at ``size``×``size``,
    each assigned to its nearest of ``words`` visual words, counted in every cell of the pyramid
    ``levels`` (1: the whole face, 2: a 2×2 grid, ...); each cell's histogram sums to 1, and the
    square root of every count is taken (so a linear or RBF model compares histograms as the
    Hellinger kernel does).

    Unlike the other descriptors, ``fit`` learns something: the vocabulary, by mini-batch k-means
    (seeded with ``seed``) on the descriptors of ``sample_images`` images drawn from those passed to
    ``fit``. No labels are used; ``extract`` fits it on the Training images only.
    """

    learns_from_images = True

    def __init__(self, words: int = 500, step: int = 3, radius: int = 6, rings: int = 2, histograms: int = 6,
                 orientations: int = 8, levels: tuple[int, ...] = (1, 2, 4), sample_images: int = 4000,
                 seed: int = 0, size: int = 48, n_jobs: int | None = None, progress: bool = False):
        self.words = words
        self.step = step
        self.radius = radius
        self.rings = rings
        self.histograms = histograms
        self.orientations = orientations
        self.levels = levels
        self.sample_images = sample_images
        self.seed = seed
        self.size = size
        self.n_jobs = n_jobs
        self.progress = progress

    # ------------------------------------------------------------------ learning the vocabulary
    def fit(self, X, y=None):
        X = check_images(X)
        self.check_params()
        rng = np.random.default_rng(self.seed)
        take = rng.choice(len(X), size=min(self.sample_images, len(X)), replace=False)
        local = self._dense([X[i] for i in np.sort(take)])
        local = local.reshape(-1, local.shape[-1])
        if len(local) < self.words:
            raise ValueError(f"{len(local)} local descriptors cannot make a vocabulary of {self.words} words; "
                             f"fit on more images or use fewer words")
        kmeans = MiniBatchKMeans(n_clusters=self.words, random_state=self.seed, batch_size=4096, n_init=3)
        return self.set_learned_state({"vocabulary": kmeans.fit(local).cluster_centers_})

    def learned_state(self) -> dict[str, np.ndarray]:
        return {"vocabulary": self.vocabulary_}

    def set_learned_state(self, state: dict[str, np.ndarray]) -> BoVWDescriptor:
        vocabulary = np.asarray(state["vocabulary"], dtype=np.float32)
        if vocabulary.shape[0] != self.words:
            raise ValueError(f"a vocabulary of {vocabulary.shape[0]} words, expected {self.words}")
        self.vocabulary_ = vocabulary
        self.n_channels_ = 1
        self.n_features_out_ = self.words * sum(g * g for g in self.levels)
        return self

    # ------------------------------------------------------------------ describing
    def check_params(self):
        if self.words < 2 or self.step < 1 or not self.levels or min(self.levels) < 1:
            raise ValueError("bovw needs words >= 2, step >= 1 and pyramid levels >= 1")
        if self.size < 2 * self.radius + 1:
            raise ValueError(f"a {self.size}px face is smaller than a DAISY descriptor of radius {self.radius}")

    def _dense(self, images) -> np.ndarray:
        """``(n, rows, cols, d)`` DAISY descriptors of each face (scikit-image's, computed in batches)."""
        gray = np.stack([self._gray(im) for im in images])
        return np.concatenate([dense_daisy(gray[i:i + 256], step=self.step, radius=self.radius, rings=self.rings,
                                           histograms=self.histograms, orientations=self.orientations)
                               for i in range(0, len(gray), 256)]).astype(np.float32)

    def _describe(self, images) -> np.ndarray:
        local = self._dense(images)
        n, rows, cols, d = local.shape
        flat = local.reshape(-1, d)
        vocab = self.vocabulary_
        # Nearest word: argmin of |w|^2 - 2 x.w (|x|^2 is the same for every word).
        words = np.argmin((vocab ** 2).sum(1) - 2 * flat @ vocab.T, axis=1).reshape(n, rows * cols)
        r, c = np.divmod(np.arange(rows * cols), cols)
        out = []
        for g in self.levels:
            cell = (r * g // rows) * g + (c * g // cols)  # each location's cell at this level
            per_cell = np.bincount(cell, minlength=g * g)
            bins = (np.arange(n)[:, None] * (g * g) + cell[None, :]) * self.words + words
            counts = np.bincount(bins.ravel(), minlength=n * g * g * self.words).reshape(n, g * g, self.words)
            out.append((counts / per_cell[None, :, None]).reshape(n, -1))
        return np.sqrt(np.hstack(out)).astype(np.float32)
