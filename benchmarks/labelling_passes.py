"""Labels and scores of many faces in one pass against two: what ``predict`` computes per face.

    python benchmarks/labelling_passes.py DATA RUN_DIR... [--split PublicTest] [--faces 100] [--repeats 3]

For each run, the labeller ``predict`` uses (its predictor, or its model where it has none) labels the
first ``--faces`` face crops of the split twice per repeat: ``predict`` then ``class_scores`` (two passes:
every descriptor and classifier computed twice, as ``predict`` did until 2026-12-02),
and ``labels_and_scores`` (one pass). The outputs must be identical; the table gives the fastest of the
repeats of each, one process, descriptors on one core. Timings measure this machine as it is (run it on
an idle one).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from fer_classic.data import load_dataset
from fer_classic.runs.folders import load_run_labeller


def fastest(func, repeats):
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = func()
        best = min(best, time.perf_counter() - start)
    return out, best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--split", default="PublicTest")
    ap.add_argument("--faces", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    dataset = load_dataset(args.data, n_jobs=1)
    faces = dataset.images[dataset.usage == args.split][:args.faces]
    print(f"{len(faces)} {args.split} faces of {args.data}, fastest of {args.repeats}\n")
    print("| run | labeller | predict + class_scores (s) | labels_and_scores (s) | ratio | outputs identical |")
    print("|---|---|---|---|---|---|")
    for run_dir in args.runs:
        labeller, _ = load_run_labeller(run_dir)
        if hasattr(labeller, "model"):
            from fer_classic.features.extraction import set_descriptor_runtime

            set_descriptor_runtime(labeller.model, 1, False)
        (labels, scores), two = fastest(lambda: (labeller.predict(faces), labeller.class_scores(faces)), args.repeats)
        both, one = fastest(lambda: labeller.labels_and_scores(faces), args.repeats)
        same = np.array_equal(both[0], labels) and np.array_equal(both[1], scores)
        print(f"| {Path(run_dir).name} | {type(labeller).__name__} | {two:.2f} | {one:.2f} | {two / one:.2f} | "
              f"{'yes' if same else 'NO'} |")
        if not same:
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
