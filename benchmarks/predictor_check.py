"""A run's predictor against its model: the same labels on the run's test images, file sizes, load and
labelling times.

    python benchmarks/predictor_check.py DATA RUN_DIR... [--split PublicTest]

For each run: the labels its predictor (predictor.npz, numpy only) gives every image of the split,
compared with the run's predictions.csv (the model's labels, computed by training from the feature
files); the sizes of model.skops and predictor.npz and the predictor's largest arrays; the time to load
each in this process; and the time per face of labelling the split with each (one process, as
``predict`` labels photos). Timings measure this machine as it is (run it on an idle one).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from fer_classic.data import load_dataset
from fer_classic.models.mirror import predict_labels
from fer_classic.runs.folders import load_run
from fer_classic.runs.predictor import load_predictor


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--split", default="PublicTest")
    ap.add_argument("--limit", type=int, help="check the first N test images only (a KNN predictor searches "
                    "every training row for each face: quick for a photo, minutes for a whole test split)")
    args = ap.parse_args()
    dataset = load_dataset(args.data, n_jobs=2)
    print("| run | n | labels equal to the model's / to predictions.csv | model.skops (MB) | predictor.npz (MB) | load model / "
          "predictor (s) | label per face, model / predictor (ms) | predictor's largest arrays |")
    print("|---|---|---|---|---|---|---|---|")
    for run_dir in args.runs:
        metrics = json.loads((run_dir / "metrics.json").read_text())
        entry = metrics.get("predictor") or {}
        if not entry.get("file"):
            print(f"| {run_dir.name} | – | no predictor: {entry.get('absent', 'trained before predictors')} | | | | | |")
            continue
        expected = pd.read_csv(run_dir / "predictions.csv")
        ids = list(expected["id"])[:args.limit]
        position = {i: k for k, i in enumerate(dataset.ids)}
        images = dataset.images[[position[i] for i in ids]]
        start = time.perf_counter()
        model, _ = load_run(run_dir)
        model_load = time.perf_counter() - start
        start = time.perf_counter()
        predictor = load_predictor(run_dir / entry["file"], entry["sha256"])
        predictor_load = time.perf_counter() - start
        start = time.perf_counter()
        labels = predictor.predict(images)
        predictor_time = time.perf_counter() - start
        start = time.perf_counter()
        model_labels = predict_labels(model, images)
        model_time = time.perf_counter() - start
        names = np.asarray(metrics["class_names"])
        same = int((names[labels] == expected["predicted"].to_numpy()[:len(ids)]).sum())
        agree = int((labels == model_labels).sum())
        with np.load(run_dir / entry["file"]) as npz:
            arrays = [npz[k] for k in npz.files]
        largest = sorted(((a.nbytes, a.shape, str(a.dtype)) for a in arrays), reverse=True)[:3]
        shown = ", ".join(f"{shape} {dtype} {size / 1e6:.1f} MB" for size, shape, dtype in largest)
        size = lambda name: (run_dir / name).stat().st_size / 1e6  # noqa: E731
        print(f"| {run_dir.name} | {len(ids)} | {agree} / {same} | {size(metrics['model_file']):.1f} | "
              f"{size(entry['file']):.1f} | {model_load:.2f} / {predictor_load:.2f} | "
              f"{1e3 * model_time / len(ids):.2f} / {1e3 * predictor_time / len(ids):.2f} | {shown} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
