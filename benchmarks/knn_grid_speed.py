"""The 30-configuration KNN grid: fer-classic's shared-neighbour grid against scikit-learn.

    python benchmarks/knn_grid_speed.py [PATH] [--raw-queries N] [--hog-queries N]

On the full FER2013 with the usage protocol's split (fit on 90% of Training, query the 10% validation
part and PublicTest), for raw pixels (2,304-d) and for standardised HOG reduced by PCA to 200
components, it times

- the fast grid: ``knn_grid_predictions`` (one neighbour search per norm, every k and weighting
  derived from it), and
- the equivalent loop of scikit-learn: for each of the 30 configurations a ``KNeighborsClassifier`` fit
  and predict on the same query sets (what ``GridSearchCV`` with a predefined split does),

on the same queries, prints both wall times and their ratio, and counts predictions that differ.
scikit-learn's loop over all 6,460 queries takes hours on raw pixels (its L3 search alone about
an hour per configuration on 2 cores), so ``--raw-queries`` / ``--hog-queries`` take a seeded random
subset of each query set, the same for both sides; both times grow linearly with the queries.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from fer_classic.data import load_dataset
from fer_classic.features import HOGDescriptor, RawPixels
from fer_classic.models import expand_grid, model_kind
from fer_classic.models.knn import knn_grid_predictions
from fer_classic.training.protocols import make_splits

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "fer2013"


def compare(name, X_fit, y_fit, queries, configs):
    start = time.perf_counter()
    fast = knn_grid_predictions(X_fit, y_fit, queries, configs)
    fast_s = time.perf_counter() - start
    start = time.perf_counter()
    differing = 0
    for config, predicted in zip(configs, fast):
        model = KNeighborsClassifier(n_neighbors=config["k"], weights=config["weights"], p=config["p"])
        model.fit(X_fit, y_fit)
        for q, X in queries.items():
            differing += int((model.predict(X) != predicted[q]).sum())
    naive_s = time.perf_counter() - start
    n_queries = sum(len(X) for X in queries.values())
    print(f"{name}: {X_fit.shape[1]}-d, {len(X_fit)} training rows, {n_queries} queries "
          f"({', '.join(f'{q} {len(X)}' for q, X in queries.items())}), {len(configs)} configurations")
    print(f"  fer-classic grid        {fast_s:9.1f} s")
    print(f"  scikit-learn loop       {naive_s:9.1f} s")
    print(f"  ratio                   {naive_s / fast_s:9.1f}x faster")
    print(f"  differing predictions   {differing} of {n_queries * len(configs)}")
    return fast_s, naive_s


def subsample(X, n, seed):
    if not n or n >= len(X):
        return X
    return X[np.sort(np.random.default_rng(seed).choice(len(X), n, replace=False))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", nargs="?", default=os.environ.get("FER2013_PATH", DEFAULT))
    parser.add_argument("--raw-queries", type=int, default=None, help="queries per query set (default: all)")
    parser.add_argument("--hog-queries", type=int, default=None, help="queries per query set (default: all)")
    args = parser.parse_args()

    ds = load_dataset(args.path)
    (split,) = make_splits(ds.labels, ds.usage, "usage", seed=42)
    configs = expand_grid("knn", list(model_kind("knn").default_grid))
    print(f"{len(ds)} images from {args.path}; {os.cpu_count()} cores")

    raw = RawPixels().fit_transform(ds.images).astype(np.float64)
    hog = HOGDescriptor().fit_transform(ds.images).astype(np.float64)
    scaler = StandardScaler().fit(hog[split.fit])
    pca = PCA(200, random_state=42).fit(scaler.transform(hog[split.fit]))
    hog = pca.transform(scaler.transform(hog))

    y_fit = ds.labels[split.fit]
    for name, X, n in (("raw pixels", raw, args.raw_queries), ("HOG + PCA 200", hog, args.hog_queries)):
        queries = {"validation": subsample(X[split.validation], n, 1), "test": subsample(X[split.test], n, 2)}
        compare(name, X[split.fit], y_fit, queries, configs)


if __name__ == "__main__":
    main()
