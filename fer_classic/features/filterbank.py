"""A single-layer unsupervised filter bank (Coates, Lee & Ng 2011, "An analysis of single-layer networks
in unsupervised feature learning"): k-means centroids of contrast-normalised, ZCA-whitened image
patches, a triangle activation per centroid at every position, sum-pooled over a grid of regions."""

from __future__ import annotations

import numpy as np
from sklearn.cluster import MiniBatchKMeans

from . import compute
from .base import ImageDescriptor, check_images
from .compute import ZCA_EPS


class FilterBankDescriptor(ImageDescriptor):
    """Triangle-activated k-means filters over every ``patch``×``patch`` window (stride 1) of the
    grayscale face at ``size``×``size``, sum-pooled over a ``pool``×``pool`` grid of regions: a
    ``centroids * pool * pool`` vector.

    ``fit`` learns, without labels, the whitening and the centroids from ``patches_per_image`` random
    patches of each of ``sample_images`` images (seeded with ``seed``); ``extract`` fits it on the
    Training images only.
    """

    name = "filterbank"  # its command-line name and its describer's (compute.DESCRIBERS)

    learns_from_images = True

    def __init__(self, centroids: int = 800, patch: int = 6, pool: int = 2, sample_images: int = 4000,
                 patches_per_image: int = 100, seed: int = 0, size: int = 48, photometric: str = "none", n_jobs: int | None = None,
                 progress: bool = False):
        self.centroids = centroids
        self.patch = patch
        self.pool = pool
        self.sample_images = sample_images
        self.patches_per_image = patches_per_image
        self.seed = seed
        self.size = size
        self.photometric = photometric
        self.n_jobs = n_jobs
        self.progress = progress

    def check_params(self):
        if self.centroids < 2 or self.patch < 2 or self.pool < 1 or self.patch > self.size:
            raise ValueError("filterbank needs centroids >= 2, 2 <= patch <= size and pool >= 1")
        if self.size - self.patch + 1 < self.pool:
            raise ValueError(f"{self.size - self.patch + 1} patch positions cannot be pooled into {self.pool} regions")

    def fit(self, X, y=None):
        X = check_images(X)
        self.check_params()
        rng = np.random.default_rng(self.seed)
        take = np.sort(rng.choice(len(X), size=min(self.sample_images, len(X)), replace=False))
        sample = []
        for i in take:
            rows = compute.filterbank_patches(self, X[i])
            sample.append(rows[rng.choice(len(rows), size=min(self.patches_per_image, len(rows)), replace=False)])
        sample = np.concatenate(sample).astype(np.float64)
        if len(sample) < self.centroids:
            raise ValueError(f"{len(sample)} patches cannot make {self.centroids} centroids; fit on more images")
        mean = sample.mean(axis=0)
        eigenvalues, vectors = np.linalg.eigh(np.cov(sample - mean, rowvar=False))
        whitening = vectors @ np.diag(1 / np.sqrt(np.maximum(eigenvalues, 0) + ZCA_EPS)) @ vectors.T
        kmeans = MiniBatchKMeans(n_clusters=self.centroids, random_state=self.seed, batch_size=4096, n_init=3)
        kmeans.fit((sample - mean) @ whitening)
        return self.set_learned_state({"mean": mean, "whitening": whitening, "centroids": kmeans.cluster_centers_})

    def learned_state(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean_, "whitening": self.whitening_, "centroids": self.centroids_}

    def set_learned_state(self, state: dict[str, np.ndarray]) -> "FilterBankDescriptor":
        centroids = np.asarray(state["centroids"], dtype=np.float32)
        if centroids.shape != (self.centroids, self.patch * self.patch):
            raise ValueError(f"learned centroids of shape {centroids.shape}, expected "
                             f"{(self.centroids, self.patch * self.patch)}")
        self.mean_ = np.asarray(state["mean"], dtype=np.float32)
        self.whitening_ = np.asarray(state["whitening"], dtype=np.float32)
        self.centroids_ = centroids
        self.n_channels_ = 1
        self.n_features_out_ = self.centroids * self.pool * self.pool
        return self
