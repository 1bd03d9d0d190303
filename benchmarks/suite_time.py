"""How long the standard suite takes, and where the time goes.

    python benchmarks/suite_time.py DATA --work DIR [--jobs 2] [--skip best]

Runs ``fer-classic baseline DATA --out DIR --force --skip best`` (the standard suite: every pipeline of
the baseline but the ``best`` preset) as its own process and prints its wall time, then each stage's
seconds and share: the extraction of each descriptor (from the features' manifest) and each run's
grid search, fit and test prediction (from its metrics.json). Stages overlap (descriptors are extracted
by several workers, pipelines train side by side), so the shares are of the summed stage time, the
core-seconds the suite costs, not of the wall time; the largest one is the next bottleneck.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd


def stage_seconds(work: Path) -> dict[str, float]:
    """Seconds per stage of a baseline folder: ``extract <descriptor>`` and ``<run> <stage>``."""
    stages = {}
    for features in sorted(work.glob("features*/manifest.json")):
        for name, entry in json.loads(features.read_text())["descriptors"].items():
            stages[f"extract {name}"] = entry["seconds"] + entry.get("mirror_seconds", 0.0)
    for metrics_file in sorted(work.glob("runs/*/metrics.json")):
        metrics = json.loads(metrics_file.read_text())
        grid = pd.read_csv(metrics_file.parent / "grid.csv")
        selected = grid.loc[grid["selected"], "fit_seconds"] if "selected" in grid else pd.Series(dtype=float)
        kept = metrics.get("grid_seconds") and selected.size and selected.iloc[0] == metrics.get("fit_seconds")
        for stage in ("grid", "predict") if kept else ("grid", "fit", "predict"):  # a kept model's fit is in the grid
            seconds = metrics.get(f"{stage}_seconds")
            if seconds:
                stages[f"{metrics_file.parent.name} {stage}"] = seconds
    return stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data")
    parser.add_argument("--work", required=True, type=Path)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--skip", default="best", help="pipelines to leave out (default: best)")
    args = parser.parse_args()
    command = [sys.executable, "-m", "fer_classic", "baseline", args.data, "--out", str(args.work), "--force",
               "-j", str(args.jobs), "-q"] + (["--skip", args.skip] if args.skip else [])
    start = time.perf_counter()
    subprocess.run(command, check=True)
    wall = time.perf_counter() - start
    stages = stage_seconds(args.work)
    total = sum(stages.values())
    print(f"{' '.join(command[2:])}\nwall time {wall:.0f} s ({wall / 60:.1f} min); stages sum to {total:.0f} s "
          f"({total / wall:.2f}x the wall time: work done side by side)")
    print(f"{'stage':<36}{'seconds':>9}{'share':>8}")
    for name, seconds in sorted(stages.items(), key=lambda kv: -kv[1]):
        print(f"{name:<36}{seconds:>9.1f}{seconds / total:>8.1%}")


if __name__ == "__main__":
    main()
