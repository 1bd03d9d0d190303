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


ENCODINGS = ("hellinger", "power", "presence")


class BoVWDescriptor(ImageDescriptor):
    """Dense DAISY descriptors every ``step`` pixels of the grayscale face at ``size``×``size``,
    each assigned to its nearest visual word, counted in every cell of the pyramid ``levels`` (1: the
    whole face, 2: a 2×2 grid, ...), each cell's counts encoded as ``encoding`` says:

    - ``hellinger`` (default): the square root of the cell's word frequencies (a linear or RBF model then
      compares histograms as the Hellinger kernel does);
    - ``power``: frequencies to the power ``alpha``, each cell scaled to unit length;
    - ``presence``: 1 for every word present in the cell, 0 else, each cell scaled to unit length
      (Ionescu, Popescu & Grozea 2013's normalised presence vectors).

    ``level_weights`` (one whole number per level, e.g. ``1,2,4``) turns the linear kernel of two faces
    into a weighted sum of one normalised linear kernel per pyramid level: level l's block is scaled by
    sqrt(w_l / Σw / cells_l), so that <x, y> = Σ_l (w_l / Σw) · mean over its cells of <x_cell, y_cell>
    (with unit-length cells each term lies in [0, 1]): multiple-kernel learning's weighted sum as an
    explicit feature map, so a linear model stays linear. Empty: the blocks as encoded.

    The vocabulary: ``words`` words shared by every level or, with ``level_words`` (one count per level,
    e.g. ``2000,1000,500``), one vocabulary per level. Unlike the other descriptors, ``fit`` learns it,
    by mini-batch k-means (seeded with ``seed``) on the descriptors of ``sample_images`` images drawn
    from those passed to ``fit``. No labels are used; ``extract`` fits it on the Training images only.
    """

    learns_from_images = True
    param_choices = {"encoding": ENCODINGS}

    def __init__(self, words: int = 500, step: int = 3, radius: int = 6, rings: int = 2, histograms: int = 6,
                 orientations: int = 8, levels: tuple[int, ...] = (1, 2, 4), sample_images: int = 4000,
                 seed: int = 0, size: int = 48, encoding: str = "hellinger", alpha: float = 0.5,
                 level_weights: tuple[int, ...] = (), level_words: tuple[int, ...] = (),
                 n_jobs: int | None = None, progress: bool = False):
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
        self.encoding = encoding
        self.alpha = alpha
        self.level_weights = level_weights
        self.level_words = level_words
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
        vocabularies = {}
        for i, words in enumerate(self._words_per_vocabulary()):
            if len(local) < words:
                raise ValueError(f"{len(local)} local descriptors cannot make a vocabulary of {words} words; "
                                 f"fit on more images or use fewer words")
            kmeans = MiniBatchKMeans(n_clusters=words, random_state=self.seed + i, batch_size=4096, n_init=3)
            vocabularies[self._state_key(i)] = kmeans.fit(local).cluster_centers_
        return self.set_learned_state(vocabularies)

    def _words_per_vocabulary(self) -> tuple[int, ...]:
        """Words of each vocabulary: one shared, or one per level."""
        return tuple(self.level_words) if self.level_words else (self.words,)

    def _state_key(self, i: int) -> str:
        return f"vocabulary_{i}" if self.level_words else "vocabulary"

    def __setstate__(self, state):
        super().__setstate__(state)
        if "vocabulary_" in state and "vocabularies_" not in state:  # saved before per-level vocabularies
            self.vocabularies_ = [self.vocabulary_]

    def learned_state(self) -> dict[str, np.ndarray]:
        return {self._state_key(i): v for i, v in enumerate(self.vocabularies_)}

    def set_learned_state(self, state: dict[str, np.ndarray]) -> BoVWDescriptor:
        self.check_params()
        vocabularies = []
        for i, words in enumerate(self._words_per_vocabulary()):
            vocabulary = np.asarray(state[self._state_key(i)], dtype=np.float32)
            if vocabulary.shape[0] != words:
                raise ValueError(f"a vocabulary of {vocabulary.shape[0]} words, expected {words}")
            vocabularies.append(vocabulary)
        self.vocabularies_ = vocabularies
        self.vocabulary_ = vocabularies[0]
        self.n_channels_ = 1
        self.n_features_out_ = sum(self._level_words(i) * g * g for i, g in enumerate(self.levels))
        return self

    def _level_words(self, level_index: int) -> int:
        return self.level_words[level_index] if self.level_words else self.words

    # ------------------------------------------------------------------ describing
    def check_params(self):
        if self.words < 2 or self.step < 1 or not self.levels or min(self.levels) < 1:
            raise ValueError("bovw needs words >= 2, step >= 1 and pyramid levels >= 1")
        if self.encoding not in ENCODINGS:
            raise ValueError(f"bovw encoding must be one of {', '.join(ENCODINGS)}, got {self.encoding!r}")
        if self.alpha <= 0:
            raise ValueError(f"bovw alpha must be positive, got {self.alpha}")
        for name in ("level_weights", "level_words"):
            value = getattr(self, name)
            if value and (len(value) != len(self.levels) or min(value) < (2 if name == "level_words" else 0)
                          or (name == "level_weights" and sum(value) == 0)):
                raise ValueError(f"bovw {name} needs one {'count >= 2' if name == 'level_words' else 'weight >= 0'} "
                                 f"per pyramid level ({len(self.levels)}: {','.join(map(str, self.levels))}), "
                                 f"got {','.join(map(str, value))}")
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
        # Nearest word of each vocabulary: argmin of |w|^2 - 2 x.w (|x|^2 is the same for every word).
        words = [np.argmin((v ** 2).sum(1) - 2 * flat @ v.T, axis=1).reshape(n, rows * cols) for v in self.vocabularies_]
        r, c = np.divmod(np.arange(rows * cols), cols)
        weights = np.asarray(self.level_weights, dtype=np.float64) if self.level_weights else None
        out = []
        for i, g in enumerate(self.levels):
            assigned, vocabulary_size = words[i if self.level_words else 0], self._level_words(i)
            cell = (r * g // rows) * g + (c * g // cols)  # each location's cell at this level
            per_cell = np.bincount(cell, minlength=g * g)
            bins = (np.arange(n)[:, None] * (g * g) + cell[None, :]) * vocabulary_size + assigned
            counts = np.bincount(bins.ravel(), minlength=n * g * g * vocabulary_size).reshape(n, g * g, vocabulary_size)
            block = self._encode(counts, per_cell)
            if weights is not None:
                block = block * np.sqrt(weights[i] / weights.sum() / (g * g))
            out.append(block.reshape(n, -1))
        return np.hstack(out).astype(np.float32)

    def _encode(self, counts: np.ndarray, per_cell: np.ndarray) -> np.ndarray:
        """Each cell's word counts ``(n, cells, words)`` as ``encoding`` says."""
        if self.encoding == "hellinger":
            return np.sqrt(counts / per_cell[None, :, None])
        cells = (counts > 0).astype(np.float64) if self.encoding == "presence" else \
            (counts / per_cell[None, :, None]) ** self.alpha
        norms = np.linalg.norm(cells, axis=2, keepdims=True)
        return cells / np.where(norms > 0, norms, 1.0)
