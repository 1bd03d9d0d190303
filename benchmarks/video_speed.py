"""Labelling video: frames per second end to end on 640x480 videos with one and with four faces, with the
detector on every frame and on a schedule (faces followed in between), the share of each stage, the
agreement of the followed labels with detection on every frame, and peak memory on a short and a 10x
longer video (it must stay flat: frames stream through).

Makes its own test videos from a real face (scikit-image's astronaut moving across the frame).

    python benchmarks/video_speed.py RUN_DIR [RUN_DIR...] --seconds 20 --fps 25 --detect-every 10 -j 2
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.conftest import make_video  # noqa: E402


def make_four_face_video(path, seconds: float, fps: int):
    """Four copies of the astronaut's face, 150 px each, moving in a 640x480 frame."""
    import av
    from PIL import Image
    from skimage import data

    face = np.asarray(Image.fromarray(data.astronaut()[20:240, 110:330]).resize((150, 150)))
    n = int(seconds * fps)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
        for i in range(n):
            frame = np.full((480, 640, 3), 90, np.uint8)
            dx = int(140 * i / max(n - 1, 1))
            for x, y in ((20, 40), (330, 40), (20, 270), (330, 270)):
                frame[y:y + 150, x + dx:x + dx + 150] = face
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def run(run_dir, video, out, jobs, extra=()) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB, the child process) of ``fer-classic predict`` on the video."""
    start = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "%M", sys.executable, "-m", "fer_classic", "predict", str(run_dir),
                           str(video), "--out", str(out), "-j", str(jobs), "-q", *extra],
                          check=True, capture_output=True, text=True)
    return time.perf_counter() - start, int(done.stderr.strip().splitlines()[-1]) / 1024  # KiB of the main process


def agreement(every_frame: Path, followed: Path) -> tuple[float, int]:
    """The share of (frame, face) rows whose label is the same, faces matched by box overlap."""
    import pandas as pd

    from fer_classic.faces.tracking import iou

    a, b = pd.read_csv(every_frame), pd.read_csv(followed)
    same = total = 0
    for frame, rows in a.groupby("frame"):
        others = b[b["frame"] == frame]
        for r in rows.itertuples():
            total += 1
            boxes = [(iou((r.x, r.y, r.width, r.height), (o.x, o.y, o.width, o.height)), o.label)
                     for o in others.itertuples()]
            best = max(boxes, default=(0, None))
            same += best[0] > 0.3 and best[1] == r.label
    return same / max(total, 1), total


def stage_shares(run_dir, video, detect_every: int) -> dict[str, float]:
    """Seconds per frame of each stage, in this process: decoding, finding faces (the detector on its
    frames, following and aligning on the others) and labelling."""
    from fer_classic.apply.video import sampled_frames
    from fer_classic.faces.tracking import FollowedFaces
    from fer_classic.runs.folders import load_run_labeller

    labeller, metrics = load_run_labeller(run_dir)
    labeller.set_runtime(1, False)
    frames, t = [], time.perf_counter()
    for _, _, rgb in sampled_frames(video):
        frames.append(rgb)
    decode = time.perf_counter() - t
    follow = FollowedFaces(detect_every=detect_every, detect_width=640)
    detect = follow_s = label = 0.0
    for rgb in frames:
        t, detections = time.perf_counter(), follow.detections
        found = follow(rgb)
        spent = time.perf_counter() - t
        if follow.detections > detections:  # the detector ran on this frame
            detect += spent
        else:
            follow_s += spent
        t = time.perf_counter()
        if found:
            labeller.class_scores(np.stack([f["face"] for f in found]))
        label += time.perf_counter() - t
    n = len(frames)
    return {"decoding": decode / n, "detection frames (detect, landmarks, align)": detect / n,
            "followed frames (track, landmarks, align)": follow_s / n, "labelling": label / n}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--fps", type=int, default=25)
    ap.add_argument("--detect-every", type=int, default=10)
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--memory-factor", type=int, default=10, help="length of the long video, in short ones")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        videos = {"1 face": make_video(tmp / "one.mp4", args.seconds, args.fps),
                  "4 faces": make_four_face_video(tmp / "four.mp4", args.seconds, args.fps)}
        frames = int(args.seconds * args.fps)
        for run_dir in args.runs:
            for what, video in videos.items():
                wall1, _ = run(run_dir, video, tmp / "every.csv", args.jobs)
                wall_n, peak = run(run_dir, video, tmp / "followed.csv", args.jobs,
                                   ["--detect-every", str(args.detect_every)])
                share, rows = agreement(tmp / "every.csv", tmp / "followed.csv")
                print(f"{run_dir}, {what}: {frames} frames of 640x480; detector on every frame {frames / wall1:.1f} "
                      f"frames/s, every {args.detect_every}th {frames / wall_n:.1f} frames/s (end to end, start-up "
                      f"included, -j {args.jobs}); same label on {share:.1%} of {rows} face rows; peak RSS "
                      f"{peak:.0f} MiB")
                shares = stage_shares(run_dir, video, args.detect_every)
                total = sum(shares.values())
                print("   per frame, in one process: " + "; ".join(
                    f"{k} {1000 * v:.1f} ms ({v / total:.0%})" for k, v in shares.items())
                      + f"; {1 / total:.1f} frames/s")
        long = make_video(tmp / "long.mp4", args.seconds * args.memory_factor, args.fps)
        _, peak_short = run(args.runs[0], videos["1 face"], tmp / "rows-short.csv", args.jobs,
                            ["--detect-every", str(args.detect_every)])
        wall, peak_long = run(args.runs[0], long, tmp / "rows-long.csv", args.jobs,
                              ["--detect-every", str(args.detect_every)])
        print(f"memory, {args.runs[0]}, --detect-every {args.detect_every}: peak RSS {peak_short:.0f} MiB for "
              f"{args.seconds:.0f} s of video, {peak_long:.0f} MiB for {args.seconds * args.memory_factor:.0f} s "
              f"({wall:.0f} s to label)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
