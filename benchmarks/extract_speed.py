"""Extraction speed of every descriptor on the full FER2013 (all 32,298 images of ../shared).

    python benchmarks/extract_speed.py [PATH] [--jobs N]

Prints images per second per descriptor and the wall time of raw+hist+hog+lbp together, against the
targets of the foundation issue (under 30 s for those four, under 60 s for landmarks, 2 cores).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from fer_classic.data import load_dataset
from fer_classic.features import make_descriptor

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "fer2013"
RUNS = [("raw", {}), ("hist", {}), ("hog", {}), ("lbp", {}), ("landmarks", {}),
        ("landmarks", {"patches": "lbp"}), ("landmarks", {"patches": "hog"})]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", nargs="?", default=os.environ.get("FER2013_PATH", DEFAULT))
    parser.add_argument("--jobs", type=int, default=-1)
    args = parser.parse_args()

    start = time.perf_counter()
    ds = load_dataset(args.path, n_jobs=args.jobs)
    load_s = time.perf_counter() - start
    print(f"{len(ds)} images from {args.path}; {os.cpu_count()} cores, jobs={args.jobs}")
    print(f"{'decode (load_dataset)':32s} {load_s:7.1f} s {len(ds) / load_s:9.0f} images/s")
    seconds = {}
    for name, params in RUNS:
        label = name + "".join(f" {k}={v}" for k, v in params.items())
        d = make_descriptor(name, n_jobs=args.jobs, **params)
        t = time.perf_counter()
        X = d.fit_transform(ds.images)
        seconds[label] = s = time.perf_counter() - t
        print(f"{label:32s} {s:7.1f} s {len(ds) / s:9.0f} images/s  {X.shape[1]}-d")
    four = sum(seconds[n] for n in ("raw", "hist", "hog", "lbp"))
    print(f"raw+hist+hog+lbp: {four:.1f} s (target < 30 s; {four + load_s:.1f} s with decoding)")
    print(f"landmarks: {seconds['landmarks']:.1f} s (target < 60 s)")


if __name__ == "__main__":
    main()
