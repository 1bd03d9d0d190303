"""Labelling video: end-to-end frames per second on a 640x480 video, and peak memory on a short and a
10x longer video (it must stay flat: frames stream through).

Makes its own test videos from a real face (scikit-image's astronaut moving across the frame).

    python benchmarks/video_speed.py RUN_DIR [RUN_DIR...] --seconds 60 --fps 25 -j 2
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.conftest import make_video  # noqa: E402


def run(run_dir, video, out, jobs, extra=()) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB, the child process) of ``fer-classic predict`` on the video."""
    start = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "%M", sys.executable, "-m", "fer_classic", "predict", str(run_dir),
                           str(video), "--out", str(out), "-j", str(jobs), "-q", *extra],
                          check=True, capture_output=True, text=True)
    return time.perf_counter() - start, int(done.stderr.strip().splitlines()[-1]) / 1024  # KiB of the main process


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--fps", type=int, default=25)
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--memory-factor", type=int, default=10, help="length of the long video, in short ones")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        short = make_video(tmp / "short.mp4", args.seconds, args.fps)
        frames = int(args.seconds * args.fps)
        for run_dir in args.runs:
            wall, peak = run(run_dir, short, tmp / "rows.csv", args.jobs)
            print(f"{run_dir}: {frames} frames of 640x480 in {wall:.1f} s = {frames / wall:.1f} frames/s end to end "
                  f"(start-up included; {args.jobs} workers); peak RSS {peak:.0f} MiB")
        long = make_video(tmp / "long.mp4", args.seconds * args.memory_factor, args.fps)
        _, peak_short = run(args.runs[0], short, tmp / "rows-short.csv", args.jobs, ["--fps", "2"])
        wall, peak_long = run(args.runs[0], long, tmp / "rows-long.csv", args.jobs, ["--fps", "2"])
        print(f"memory, {args.runs[0]}, sampling 2 frames/s: peak RSS {peak_short:.0f} MiB for {args.seconds:.0f} s of "
              f"video, {peak_long:.0f} MiB for {args.seconds * args.memory_factor:.0f} s ({wall:.0f} s to label)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
