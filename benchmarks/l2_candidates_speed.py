"""The L2 neighbour search's candidate step: numpy (BLAS in float32, what fer-classic uses since
2026-12-02) against scikit-learn's brute-force ``NearestNeighbors`` (what it used before), both followed
by the same exact float64 re-ranking (``models.neighbours.kneighbors``).

    python benchmarks/l2_candidates_speed.py DATA [--queries N] [--k 10]

On DATA's raw pixels (FER2013: the usage protocol's fit split, 25,838 rows of 2,304 values, queried with
its validation part and PublicTest), it times ``kneighbors(fit, queries, k, p=2)`` with each candidate
search (the median of three runs each, alternating) and checks that the two give the same neighbours
and distances.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def sklearn_candidates(X, p):
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(algorithm="brute").fit(X)
    return lambda q, n: nn.kneighbors(q, n_neighbors=n, return_distance=False)


def main() -> int:
    from fer_classic.data import load_dataset
    from fer_classic.models import neighbours
    from fer_classic.training.protocols import make_splits

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("--queries", type=int, help="a seeded random subset of the queries (default: all)")
    ap.add_argument("--k", type=int, default=10)
    args = ap.parse_args()
    dataset = load_dataset(args.data, n_jobs=2)
    X = dataset.images.reshape(len(dataset.images), -1).astype(np.float64)
    split = make_splits(dataset.labels, dataset.usage, "usage", seed=42)[0]
    queries = X[np.r_[split.validation, split.test]]
    if args.queries:
        queries = queries[np.random.default_rng(0).choice(len(queries), args.queries, replace=False)]
    fit = X[split.fit]
    results, times = {}, {"numpy": [], "scikit-learn": []}
    original = neighbours._candidate_search
    searches = {"numpy": original, "scikit-learn": sklearn_candidates}
    # alternately, three times each (the first runs also pay for touching fresh memory): the medians
    for name in ["numpy", "scikit-learn"] * 3:
        neighbours._candidate_search = searches[name]
        try:
            start = time.perf_counter()
            results[name] = neighbours.kneighbors(fit, queries, args.k, 2)
            times[name].append(time.perf_counter() - start)
        finally:
            neighbours._candidate_search = original
    times = {name: float(np.median(t)) for name, t in times.items()}
    same = all(np.array_equal(a, b) for a, b in zip(results["numpy"], results["scikit-learn"]))
    print(f"L2 kneighbors, {len(fit)} rows x {fit.shape[1]}, {len(queries)} queries, k={args.k}: "
          f"numpy {times['numpy']:.1f} s, scikit-learn {times['scikit-learn']:.1f} s "
          f"({times['scikit-learn'] / times['numpy']:.2f}x); same neighbours and distances: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
