"""Bag of visual words: dense local descriptors (DAISY, or dense SIFT at several scales) quantised against a
vocabulary learned without labels by k-means, counted over a spatial pyramid, encoded (Hellinger map,
power, presence or PQ-centred presence)."""

from __future__ import annotations

import numpy as np
from sklearn.cluster import MiniBatchKMeans

from . import compute
from .base import ImageDescriptor, check_images
from .compute import ENCODINGS, LOCAL_DESCRIPTORS


class BoVWDescriptor(ImageDescriptor):
    """Dense local descriptors every ``step`` pixels of the grayscale face at ``size``×``size``, each
    assigned to its nearest visual word, counted in every cell of the pyramid ``levels`` (1: the
    whole face, 2: a 2×2 grid, ...), each cell's counts encoded as ``encoding`` says:

    - ``hellinger`` (default): the square root of the cell's word frequencies (a linear or RBF model then
      compares histograms as the Hellinger kernel does);
    - ``power``: frequencies to the power ``alpha``, each cell scaled to unit length;
    - ``presence``: 1 for every word present in the cell, 0 else, each cell scaled to unit length
      (Ionescu, Popescu & Grozea 2013's normalised presence vectors). Normalised so, their linear kernel
      is also the (normalised) histogram intersection kernel of the presence vectors: both are the number
      of words two cells share, over the geometric mean of their numbers of words;
    - ``pq``: the presence vector minus its mean over the cell's words, scaled to unit length: the linear
      kernel of two such cells is the normalised PQ kernel (Ionescu & Popescu 2015) of their presence
      vectors, 2·(P − Q) over the W words' pairs, P concordant and Q discordant, which for 0/1 vectors is
      2·(W·shared − |a|·|b|) (tests/test_bovw.py checks it against the pair count).

    ``level_weights`` (one whole number per level, e.g. ``1,2,4``) turns the linear kernel of two faces
    into a weighted sum of one normalised linear kernel per pyramid level: level l's block is scaled by
    sqrt(w_l / Σw / cells_l), so that <x, y> = Σ_l (w_l / Σw) · mean over its cells of <x_cell, y_cell>
    (with unit-length cells each term lies in [0, 1]): multiple-kernel learning's weighted sum as an
    explicit feature map, so a linear model stays linear. Empty: the blocks as encoded.

    The local descriptors (``local``): ``daisy`` (scikit-image's DAISY: ``radius``, ``rings``,
    ``histograms``, ``orientations``), ``phow`` (VLFeat's dense SIFT as its ``vl_phow`` computes it, in
    NumPy: the face smoothed per size, a flat window, low-contrast descriptors zeroed; ``features.dsift``)
    or ``sift`` (OpenCV's upright SIFT descriptor at dense keypoints, on OpenCV's own smoothing). Both
    SIFTs are computed at every bin size of ``sift_bins`` (pixels per side of each of the descriptor's
    4×4 spatial bins; each location then has one word per size). ``sift`` needs OpenCV
    (``opencv-python-headless``).

    The vocabulary: ``words`` words shared by every level or, with ``level_words`` (one count per level,
    e.g. ``2000,1000,500``), one vocabulary per level. Unlike the other descriptors, ``fit`` learns it,
    by mini-batch k-means (seeded with ``seed``) on the descriptors of ``sample_images`` images drawn
    from those passed to ``fit``. No labels are used; ``extract`` fits it on the Training images only.
    """

    name = "bovw"  # its command-line name and its describer's (compute.DESCRIBERS)

    learns_from_images = True
    param_choices = {"encoding": ENCODINGS, "local": LOCAL_DESCRIPTORS}

    def __init__(self, words: int = 500, step: int = 3, radius: int = 6, rings: int = 2, histograms: int = 6,
                 orientations: int = 8, levels: tuple[int, ...] = (1, 2, 4), sample_images: int = 4000,
                 seed: int = 0, size: int = 48, encoding: str = "hellinger", alpha: float = 0.5,
                 level_weights: tuple[int, ...] = (), level_words: tuple[int, ...] = (),
                 local: str = "daisy", sift_bins: tuple[int, ...] = (4, 6, 8),
                 photometric: str = "none", n_jobs: int | None = None, progress: bool = False):
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
        self.local = local
        self.sift_bins = sift_bins
        self.photometric = photometric
        self.n_jobs = n_jobs
        self.progress = progress

    # ------------------------------------------------------------------ learning the vocabulary
    def fit(self, X, y=None):
        X = check_images(X)
        self.check_params()
        rng = np.random.default_rng(self.seed)
        take = rng.choice(len(X), size=min(self.sample_images, len(X)), replace=False)
        local = compute.bovw_dense(self, [X[i] for i in np.sort(take)])
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
        self.n_features_out_ = sum(compute.bovw_level_words(self, i) * g * g for i, g in enumerate(self.levels))
        return self

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
        if self.local not in LOCAL_DESCRIPTORS:
            raise ValueError(f"bovw local must be one of {', '.join(LOCAL_DESCRIPTORS)}, got {self.local!r}")
        if self.local == "daisy" and self.size < 2 * self.radius + 1:
            raise ValueError(f"a {self.size}px face is smaller than a DAISY descriptor of radius {self.radius}")
        if self.local in ("sift", "phow") and (not self.sift_bins or min(self.sift_bins) < 1):
            raise ValueError(f"bovw sift_bins needs bin sizes >= 1 pixel, got {','.join(map(str, self.sift_bins))}")
        if self.local in ("sift", "phow") and self.size < 3 * max(self.sift_bins) + 1:
            raise ValueError(f"a {self.size}px face is smaller than a dense SIFT descriptor of bin size "
                             f"{max(self.sift_bins)} (3 bins + 1 = {3 * max(self.sift_bins) + 1} pixels)")
