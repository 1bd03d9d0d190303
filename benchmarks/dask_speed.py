"""Extraction (HOG + LBP) and an SVM grid on Dask LocalClusters of 1 and 2 workers.

    python benchmarks/dask_speed.py [PATH] [--grid-train N]

Full FER2013 for the extraction. The SVM grid (RBF C in {1, 10} and linear C in {0.01, 0.1}, on HOG
reduced by PCA to 100 components, usage protocol) is fitted on a seeded stratified subset of N training
images (default 5,000, a quick check; --grid-train 28709 for all of Training, about 4 minutes with one
worker on 2 cores), the same for both cluster sizes. Prints
wall times and the 2-worker speed-up as ratios, and checks the results are identical.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from fer_classic.cluster import compute_on
from fer_classic.data import load_dataset
from fer_classic.features.extraction import extract_features
from fer_classic.models import model_kind
from fer_classic.store import FeatureDirectory
from fer_classic.training import TrainSpec, train_run

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "fer2013"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", nargs="?", default=os.environ.get("FER2013_PATH", DEFAULT))
    parser.add_argument("--grid-train", type=int, default=5000)
    args = parser.parse_args()
    ds = load_dataset(args.path)
    rng = np.random.default_rng(0)
    train = np.flatnonzero(ds.usage == "Training")
    keep = np.sort(np.concatenate([rng.choice(train, args.grid_train, replace=False),
                                   np.flatnonzero(ds.usage != "Training")]))
    small = ds.subset(keep)
    times = {}
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        for workers in (1, 2):
            with compute_on(f"local:{workers}"):
                start = time.perf_counter()
                extract_features(ds, work / f"f{workers}", {"hog": {}, "lbp": {}})
                times[("extract", workers)] = time.perf_counter() - start
                extract_features(small, work / f"s{workers}", {"hog": {}})
                start = time.perf_counter()
                train_run(work / f"s{workers}", work / f"r{workers}", TrainSpec(["hog"], "svm", grid=list(model_kind("svm").default_grid),
                                                                               pca=100))
                times[("svm grid", workers)] = time.perf_counter() - start
        same_features = all(np.array_equal(FeatureDirectory(work / "f1").load(n).X, FeatureDirectory(work / "f2").load(n).X)
                            for n in ("hog", "lbp"))
        grids = [pd.read_csv(work / f"r{w}" / "grid.csv").drop(columns="fit_seconds") for w in (1, 2)]
    print(f"{len(ds)} images; SVM grid on {args.grid_train} training images; {os.cpu_count()} cores")
    for task in ("extract", "svm grid"):
        one, two = times[(task, 1)], times[(task, 2)]
        print(f"{task:10s} 1 worker {one:7.1f} s   2 workers {two:7.1f} s   speed-up {one / two:.2f}x")
    print(f"identical feature files: {same_features}; identical grid results: {grids[0].equals(grids[1])}")


if __name__ == "__main__":
    main()
