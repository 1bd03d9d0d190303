"""Labelling video: frames per second end to end on 640x480 videos with one and with four faces, with the
detector on every frame and on a schedule (faces followed in between), the share of each stage, the
agreement of the followed labels with detection on every frame, and memory on a short and a long video
(it must stay flat: frames stream through): peak RSS of each, and the RSS through the long one.

Makes its own test videos from a real face (scikit-image's astronaut moving across the frame).

    python benchmarks/video_speed.py RUN_DIR [RUN_DIR...] --seconds 20 --fps 25 --detect-every 10 -j 2
    python benchmarks/video_speed.py RUN_DIR --memory-only --memory-seconds 3600   # an hour of video
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
from fer_classic.apply.video import LABEL_BATCH  # noqa: E402
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


def memory_mib(pid: int) -> tuple[float, float]:
    """Resident memory of a live process now and at its peak so far (VmRSS, VmHWM from /proc; Linux)."""
    with open(f"/proc/{pid}/status") as status:
        fields = dict(line.split(":", 1) for line in status)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def run(run_dir, video, out, jobs, extra=(), every: float = 0.5) -> tuple[float, float, list[float]]:
    """Wall seconds, peak RSS (MiB, of the command's own process) and its RSS sampled every ``every``
    seconds while ``fer-classic predict`` labels the video."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as errors:  # a file, not a pipe: a long run's warnings cannot block it
        child = subprocess.Popen([sys.executable, "-m", "fer_classic", "predict", str(run_dir), str(video), "--out",
                                  str(out), "-j", str(jobs), "-q", *extra], stdout=subprocess.DEVNULL, stderr=errors)
        trace, peak = [], 0.0
        while child.poll() is None:
            try:
                now, highest = memory_mib(child.pid)
                trace.append(now)
                peak = max(peak, highest)
            except (OSError, KeyError):
                pass  # it is ending
            time.sleep(every)
        wall = time.perf_counter() - start
        if child.returncode:
            errors.seek(0)
            raise SystemExit(f"fer-classic predict failed on {video}: {errors.read()}")
    return wall, peak, trace


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


def stage_shares(run_dir, video, detect_every: int, label_batch: int = LABEL_BATCH) -> dict[str, float]:
    """Seconds per frame of each stage, in this process: decoding, finding faces (the detector on its
    frames, following and aligning on the others) and labelling (the faces of ``label_batch`` frames in
    one call, as ``predict`` labels a file)."""
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
    detect = follow_s = 0.0
    found_per_frame = []
    for rgb in frames:
        t, detections = time.perf_counter(), follow.detections
        found_per_frame.append(follow(rgb))
        spent = time.perf_counter() - t
        if follow.detections > detections:  # the detector ran on this frame
            detect += spent
        else:
            follow_s += spent
    label = {}
    for batch in (1, label_batch):  # frame by frame, and the faces of label_batch frames at once as predict does
        stacks = [np.stack(faces) for i in range(0, len(found_per_frame), batch)
                  if (faces := [f["face"] for found in found_per_frame[i:i + batch] for f in found])]
        passes = []
        for _ in range(5):  # the fastest of five passes: labelling takes milliseconds, easily disturbed
            t = time.perf_counter()
            for faces in stacks:
                labeller.class_scores(faces)
            passes.append(time.perf_counter() - t)
        label[batch] = min(passes)
    n = len(frames)
    return {"decoding": decode / n, "detection frames (detect, landmarks, align)": detect / n,
            "followed frames (track, landmarks, align)": follow_s / n,
            f"labelling ({label_batch} frames at once; frame by frame {1000 * label[1] / n:.1f} ms)":
                label[label_batch] / n}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--fps", type=int, default=25)
    ap.add_argument("--detect-every", type=int, default=10)
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--memory-factor", type=int, default=10, help="length of the long video, in short ones")
    ap.add_argument("--memory-seconds", type=float, help="length of the long video in seconds (instead of the factor)")
    ap.add_argument("--memory-only", action="store_true", help="only the memory check (no speed, no agreement)")
    args = ap.parse_args()
    long_seconds = args.memory_seconds or args.seconds * args.memory_factor
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        videos = {"1 face": make_video(tmp / "one.mp4", args.seconds, args.fps),
                  "4 faces": make_four_face_video(tmp / "four.mp4", args.seconds, args.fps)}
        frames = int(args.seconds * args.fps)
        for run_dir in [] if args.memory_only else args.runs:
            for what, video in videos.items():
                wall1, _, _ = run(run_dir, video, tmp / "every.csv", args.jobs)
                wall_n, peak, _ = run(run_dir, video, tmp / "followed.csv", args.jobs,
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
        start = time.perf_counter()
        long = make_video(tmp / "long.mp4", long_seconds, args.fps)
        print(f"made a {long_seconds:.0f} s video ({long.stat().st_size / 2**20:.0f} MB) in "
              f"{time.perf_counter() - start:.0f} s", flush=True)
        extra = ["--detect-every", str(args.detect_every)]
        _, peak_short, _ = run(args.runs[0], videos["1 face"], tmp / "rows-short.csv", args.jobs, extra)
        wall, peak_long, trace = run(args.runs[0], long, tmp / "rows-long.csv", args.jobs, extra)
        rows = sum(1 for _ in open(tmp / "rows-long.csv")) - 1
        tenths = [trace[min(len(trace) - 1, i * len(trace) // 10)] for i in range(1, 11)] if trace else []
        print(f"memory, {args.runs[0]}, --detect-every {args.detect_every}: peak RSS {peak_short:.0f} MiB for "
              f"{args.seconds:.0f} s of video, {peak_long:.0f} MiB for {long_seconds:.0f} s ({rows} face rows, "
              f"{wall:.0f} s to label, {int(long_seconds * args.fps) / wall:.1f} frames/s); RSS at each tenth of "
              f"the long one: {', '.join(f'{m:.0f}' for m in tenths)} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
