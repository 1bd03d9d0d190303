"""The exact L3 neighbour search against its arithmetic: |d|^3 terms per second of the numba kernel on
FER2013's raw pixels, and the time of the whole L3 search of the raw-pixel KNN grid (validation and
PublicTest queries against the fit split: about 4e11 terms).

    python benchmarks/lp_kernel_speed.py [../shared/datasets/fer2013] [--queries 512]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from fer_classic.data import load_dataset
from fer_classic.models.knn import kneighbors
from fer_classic.models.lp_kernel import lp_power_sums
from fer_classic.training.protocols import make_splits


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", nargs="?", default="../shared/datasets/fer2013")
    ap.add_argument("--queries", type=int, default=512)
    args = ap.parse_args()
    ds = load_dataset(args.data, n_jobs=2)
    X = ds.images.reshape(len(ds), -1).astype(np.float32)
    split = make_splits(ds.labels, ds.usage, "usage", seed=42)[0]
    fit, queries = X[split.fit], X[np.concatenate([split.validation, split.test])]
    lp_power_sums(queries[:8], fit[:64], 3)  # compile
    q = queries[:args.queries]
    start = time.perf_counter()
    lp_power_sums(q, fit, 3)
    kernel = time.perf_counter() - start
    rate = len(q) * len(fit) * X.shape[1] / kernel
    total_terms = len(queries) * len(fit) * X.shape[1]
    print(f"kernel: {len(q)} queries x {len(fit)} rows x {X.shape[1]} dims in {kernel:.2f} s = {rate / 1e9:.1f} G |d|^3 "
          f"terms/s; the full L3 search ({total_terms:.2e} terms) at this rate: {total_terms / rate:.0f} s")
    start = time.perf_counter()
    kneighbors(fit, q, 10, 3)
    whole = time.perf_counter() - start
    print(f"kneighbors (kernel + candidate selection + exact float64 re-ranking), {len(q)} queries, k=10: {whole:.2f} s "
          f"-> {whole * len(queries) / len(q):.0f} s for all {len(queries)} queries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
