"""What the ``best`` preset costs on a dataset: extraction and training wall time, and the peak memory
of the whole process tree (the command and its worker processes, sampled every 0.2 s).

    python benchmarks/preset_cost.py DATA --work DIR [--jobs 2] [--features EXISTING]

Runs ``fer-classic extract`` of the preset's descriptors (with its parameters and --mirror) into
DIR/features (or, with --features, trains on a folder already extracted that way and skips this step), then
``fer-classic train DIR/features --preset best`` into DIR/run, each as its own process; prints the
wall time and peak resident memory of each and the run's PublicTest accuracy. Per-face prediction
time: ``python benchmarks/predict_speed.py DIR/run``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import psutil

from fer_classic.pipelines import named_pipeline
from fer_classic.training.spec import ALIGNED_FOLDER


def measure(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak memory (GiB, proportional set size summed over the process tree) of a command."""
    start = time.perf_counter()
    proc = subprocess.Popen(args)
    root = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_full_info().pss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.2)
    if proc.returncode:
        sys.exit(f"{' '.join(args)} failed with exit code {proc.returncode}")
    return time.perf_counter() - start, peak / 2 ** 30


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data")
    parser.add_argument("--work", required=True, type=Path)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--features", type=Path, help="a folder with the preset's features: skip extraction")
    parser.add_argument("--preset", default="best")
    args = parser.parse_args()
    cli = [sys.executable, "-m", "fer_classic"]
    features, run = args.features or args.work / "features", args.work / "run"
    pipeline = named_pipeline(args.preset)
    if args.features is None:
        total = 0.0
        for aligned in ((False, True) if pipeline.mixes_alignment else (False,)):
            extract = pipeline.extract_arguments(aligned)
            folder = features / ALIGNED_FOLDER if aligned else features
            extract_s, extract_gib = measure([*cli, "extract", args.data, *extract, "-o", str(folder),
                                              "-j", str(args.jobs)])
            total += extract_s
            print(f"extract {' '.join(extract)} -o {folder}: {extract_s:.0f} s, peak {extract_gib:.2f} GiB")
        print(f"extraction in all: {total:.0f} s")
    train_s, train_gib = measure([*cli, "train", str(features), "--preset", args.preset, "-o", str(run), "--force",
                                  "-j", str(args.jobs)])
    metrics = json.loads((run / "metrics.json").read_text())
    print(f"train --preset {args.preset}: {train_s:.0f} s, peak {train_gib:.2f} GiB")
    print(f"{metrics['test_split']} accuracy {metrics['accuracy']:.4f} ({metrics['protocol']} protocol)")
    for m in metrics["members"]:
        print(f"  {m['member']}: validation {m['validation_accuracy']:.4f}, fit {m['fit_seconds']:.0f} s")


if __name__ == "__main__":
    main()
