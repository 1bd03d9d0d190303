"""Expressions over time: faces in video files and camera streams, tracked across frames.

Frames are decoded one at a time by PyAV (FFmpeg) and sampled (every N-th frame, or F per second,
between ``start`` and ``end``); faces are found by dlib's detector on a downscaled copy of the frame,
aligned to FER2013's framing on the full frame and labelled by the run's model; a stable id follows
each face (:class:`~fer_classic.faces.tracking.IoUTracker`) and its class scores are smoothed over the
last frames. Rows stream out as they are made, so memory stays flat whatever the video's length.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import time
from pathlib import Path
from typing import Iterator

import numpy as np

from .. import faces
from ..errors import ConfigurationError, DatasetError, OutputError, describe_os_error
from ..faces.tracking import IoUTracker, ScoreSmoother

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv"})
LABEL_BATCH = 8  # frames whose faces are labelled in one call to the model (a file's; a camera's one by one)
BASE_COLUMNS = ["file", "frame", "time", "face_id", "x", "y", "width", "height", "detector_score", "label"]


def is_video(path) -> bool:
    return Path(str(path)).suffix.lower() in VIDEO_SUFFIXES


def open_source(source):
    """A PyAV container for a video file, ``camera:N`` (``/dev/videoN`` through v4l2) or a stream URL."""
    import av

    text = str(source)
    try:
        if text.startswith("camera:"):
            return av.open(f"/dev/video{int(text.split(':', 1)[1])}", format="v4l2")
        return av.open(text)
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise DatasetError(f"{source}: not a readable video or stream ({exc})") from None


class PartialVideoError(DatasetError):
    """A video whose frames could not all be read (a truncated or damaged file)."""


def sampled_frames(source, *, every: int = 1, fps: float | None = None, start: float = 0.0,
                   end: float | None = None, allow_partial: bool = False) -> Iterator[tuple[int, float, np.ndarray]]:
    """``(frame index, time in seconds, RGB uint8 image)`` of the sampled frames, decoded one at a time.

    A file whose decoding stops before the frames its container claims (a truncated or damaged file)
    raises :class:`PartialVideoError` after its last readable frame, saying how many frames were read of
    how many; with ``allow_partial`` it is a warning instead."""
    import av

    check_sampling(every, fps, start, end)
    container = open_source(source)
    try:
        if not container.streams.video:
            raise DatasetError(f"{source}: holds no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        claimed = _claimed_frames(container, stream)
        next_time = start
        index, stopped_at_end, broken = -1, False, None
        try:
            for frame in container.decode(stream):
                index += 1
                t = float(frame.time) if frame.time is not None else index / float(stream.average_rate or 25)
                if t < start:
                    continue
                if end is not None and t > end:
                    stopped_at_end = True
                    break
                if fps:
                    if t + 1e-9 < next_time:
                        continue
                    next_time += 1.0 / fps
                elif index % every:
                    continue
                yield index, t, frame.to_ndarray(format="rgb24")
        except av.error.FFmpegError as exc:
            if index < 0:
                raise DatasetError(f"{source}: not a readable video ({exc})") from None
            broken = exc
        read = index + 1
        short = claimed and read < claimed - (0 if stream.frames else 1)  # a duration's frames are an estimate
        if not stopped_at_end and (broken is not None or short):
            message = (f"{source}: {read} of the {claimed or 'unknown number of'} frames its container claims "
                       f"could be read" + (f" (decoding stopped: {broken})" if broken is not None else "")
                       + "; the file is truncated or damaged")
            if not allow_partial:
                raise PartialVideoError(message + " (--allow-partial labels the frames that can be read)")
            log.warning("%s; the frames read were labelled (--allow-partial)", message)
    finally:
        container.close()


def check_sampling(every: int, fps: float | None, start: float, end: float | None) -> None:
    """Raise ConfigurationError for sampling settings that cannot be honoured."""
    if every < 1 or (fps is not None and fps <= 0) or start < 0:
        raise ConfigurationError("every is at least 1, fps positive, start not negative")
    if end is not None and end <= start:
        raise ConfigurationError(f"end ({end} s) must come after start ({start} s)")


def _claimed_frames(container, stream) -> int:
    """The number of frames the container says the stream has (0 where it does not say: cameras,
    streams, some formats), from its frame count or else its duration and frame rate."""
    if stream.frames:
        return int(stream.frames)
    if stream.duration and stream.time_base and stream.average_rate:
        return int(round(float(stream.duration * stream.time_base * stream.average_rate)))
    return 0


def label_video(run_dir, source, *, every: int = 1, fps: float | None = None, start: float = 0.0,
                end: float | None = None, smooth: int = 1, detect_width: int = 640, upsample: int = 0,
                threshold: float = 0.0, min_score: float | None = None, annotate=None, n_jobs: int | None = None,
                progress: bool = False, allow_partial: bool = False, detect_every: int = 1,
                min_tracking_confidence: float = 7.0, label_batch: int = LABEL_BATCH) -> Iterator[dict]:
    """One row per face per sampled frame of ``source`` (a video file, ``camera:N`` or a stream URL):
    file, frame, time (s), face id (stable along a track), box, detector score, label and a score per
    class (smoothed over the face's last ``smooth`` sampled frames). A generator: rows come as frames
    are decoded. ``annotate`` writes a copy of the sampled frames with boxes and labels (an .mp4 file).
    Face finding (detection, landmarks, alignment) runs in ``n_jobs`` worker processes on short batches
    of frames, in order; tracking, smoothing and the model run here, so results do not depend on it.
    A truncated file raises :class:`PartialVideoError` after its last rows unless ``allow_partial``.

    ``detect_every`` > 1 runs dlib's detector on every ``detect_every``-th sampled frame only (and whenever
    a face's tracking confidence falls below ``min_tracking_confidence``), following the faces in between
    with dlib's correlation tracker (:class:`~fer_classic.faces.tracking.FollowedFaces`); frames are then
    decoded in a thread of their own while the faces of the previous one are found and labelled.

    The faces of ``label_batch`` consecutive sampled frames are labelled in one call to the model (the
    rows are the same as frame by frame, and come up to that many frames later); a camera is labelled
    frame by frame."""
    from ..runs.folders import load_run_labeller

    check_sampling(every, fps, start, end)
    if smooth < 1:
        raise ConfigurationError("smooth is at least 1")
    if detect_every < 1 or label_batch < 1:
        raise ConfigurationError("detect_every and label_batch are at least 1")
    labeller, metrics = load_run_labeller(run_dir)  # the run's predictor where it has one
    labeller.set_runtime(1, False)
    names = list(metrics["class_names"])
    classes = [names[int(c)] for c in labeller.classes_]
    kind = labeller.score_kind
    size = int((metrics.get("image_shape") or [48])[0])
    tracker, smoother = IoUTracker(), ScoreSmoother(smooth)
    writer = VideoAnnotator(annotate, fps or 25.0 / every) if annotate else None
    frames, began, last_report = 0, time.perf_counter(), time.perf_counter()
    options = {"detect_width": detect_width, "upsample": upsample, "threshold": threshold, "size": size}
    try:
        sampling = {"every": every, "fps": fps, "start": start, "end": end, "allow_partial": allow_partial}
        found_in = (_frames_with_faces(source, options, n_jobs, **sampling) if detect_every == 1 else
                    _frames_with_followed_faces(source, options, detect_every, min_tracking_confidence, **sampling))
        for batch in _frame_batches(found_in, 1 if _is_live(source) else label_batch):
            # one call to the model for the faces of a batch of frames; tracking and smoothing in frame order
            batch = [(index, t, rgb, [f for f in found if min_score is None or f["score"] >= min_score])
                     for index, t, rgb, found in batch]
            faces_found = [f for *_, found in batch for f in found]
            scores = iter(labeller.class_scores(np.stack([f["face"] for f in faces_found])) if faces_found else [])
            for index, t, rgb, found in batch:
                ids = tracker.update([f["box"] for f in found])
                smoother.forget(tracker.tracks)
                rows = []
                for f, tid in zip(found, ids):
                    s = smoother.update(tid, next(scores))
                    x, y, w, h = f["box"]
                    rows.append({"file": str(source), "frame": index, "time": round(t, 3), "face_id": tid, "x": x,
                                 "y": y, "width": w, "height": h, "detector_score": round(f["score"], 3),
                                 "label": classes[int(np.argmax(s))],
                                 **{f"{kind}_{c}": round(float(v), 4) for c, v in zip(classes, s)}})
                if writer:
                    writer.add(rgb, rows)
                frames += 1
                yield from rows
            now = time.perf_counter()
            if progress and now - last_report > 2:
                log.info("%s: %d frames sampled, %.1f frames/s", source, frames, frames / (now - began))
                last_report = now
        if writer:
            writer.close()
    finally:
        if writer:
            writer.abort()
    if frames == 0:
        raise DatasetError(f"{source}: no frame between {start} s and {end if end is not None else 'the end'}")
    log.info("%s: %d frames sampled in %.1f s (%.1f frames/s)", source, frames, time.perf_counter() - began,
             frames / max(time.perf_counter() - began, 1e-9))


def _is_live(source) -> bool:
    """A camera (``camera:N``) rather than a file or a stream URL."""
    return str(source).startswith("camera:")


def _frame_batches(frames: Iterator, size: int) -> Iterator[list]:
    """Lists of up to ``size`` consecutive items of ``frames``; an error in ``frames`` is raised after the
    items before it (a truncated video's last frames are labelled before it stops)."""
    batch = []
    try:
        for item in frames:
            batch.append(item)
            if len(batch) == size:
                yield batch
                batch = []
    except Exception:
        if batch:
            yield batch
        raise
    if batch:
        yield batch


def _frames_with_faces(source, options: dict, n_jobs, **sampling):
    """``(index, time, frame, faces)`` in order; faces found in worker processes, a short batch of frames
    at a time (memory stays bounded by the batch)."""
    from joblib import Parallel, delayed

    from ..parallel import effective_n_jobs

    workers = effective_n_jobs(n_jobs)
    frames = sampled_frames(source, **sampling)
    if workers == 1:
        for index, t, rgb in frames:
            yield index, t, rgb, faces.find_aligned_faces(rgb, **options)
        return
    with Parallel(n_jobs=workers) as pool:
        while True:
            batch = [f for _, f in zip(range(4 * workers), frames)]
            if not batch:
                return
            found = pool(delayed(faces.find_aligned_faces)(rgb, **options) for _, _, rgb in batch)
            for (index, t, rgb), faces_found in zip(batch, found):
                yield index, t, rgb, faces_found


def _frames_with_followed_faces(source, options: dict, detect_every: int, min_confidence: float, **sampling):
    """``(index, time, frame, faces)`` in order: faces detected on a schedule and followed in between
    (:class:`~fer_classic.faces.tracking.FollowedFaces`), frames decoded in a thread meanwhile."""
    from ..faces.tracking import FollowedFaces

    follow = FollowedFaces(detect_every=detect_every, min_confidence=min_confidence, **options)
    for index, t, rgb in decoded_in_thread(sampled_frames(source, **sampling)):
        yield index, t, rgb, follow(rgb)


def decoded_in_thread(frames: Iterator, ahead: int = 8) -> Iterator:
    """The items of ``frames`` (a generator that decodes), produced by a thread of their own at most
    ``ahead`` items in advance; an exception in it is raised here, in order, after the items before it.
    Closing this generator stops the thread."""
    import queue
    import threading

    items: queue.Queue = queue.Queue(maxsize=ahead)
    stop = threading.Event()
    done = object()

    def produce():
        try:
            for item in frames:
                while not stop.is_set():
                    try:
                        items.put(("item", item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put(("end", done))
        except BaseException as exc:  # handed to the consumer, raised there
            items.put(("error", exc))

    thread = threading.Thread(target=produce, name="fer-classic-decode", daemon=True)
    thread.start()
    try:
        while True:
            kind, item = items.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # let the producer see the stop and leave
            try:
                items.get_nowait()
            except queue.Empty:
                thread.join(0.1)
        close = getattr(frames, "close", None)
        if close:
            close()


def score_columns(run_dir) -> list[str]:
    """The per-class score columns :func:`label_video` writes for a run."""
    from ..runs.folders import load_run_labeller

    labeller, metrics = load_run_labeller(run_dir)
    names = list(metrics["class_names"])
    return [f"{labeller.score_kind}_{names[int(c)]}" for c in labeller.classes_]


class RowWriter:
    """CSV rows written as they come, to ``<out>.partial`` (a valid CSV after every row; created with the
    first row), renamed to ``out`` when complete; after an interruption or an error the partial file keeps
    the rows written so far (:meth:`keep_partial`), and a file with no row is not left behind."""

    def __init__(self, out, columns: list[str]):
        self.out = Path(out)
        self.partial = self.out.with_name(self.out.name + ".partial")
        self.columns = columns
        self.fh = self.writer = None
        self.rows = 0

    def _open(self) -> None:
        try:
            self.partial.parent.mkdir(parents=True, exist_ok=True)
            self.fh = open(self.partial, "w", newline="", encoding="utf-8", errors="surrogateescape")
        except OSError as exc:
            raise OutputError(describe_os_error(exc, self.out, writing=True)) from None
        self.writer = csv.DictWriter(self.fh, fieldnames=self.columns)
        self.writer.writeheader()

    def write(self, row: dict) -> None:
        if self.fh is None:
            self._open()
        self.writer.writerow(row)
        self.rows += 1
        if self.rows % 50 == 0:
            self.fh.flush()

    def finish(self) -> Path:
        if self.fh is None:
            self._open()  # no face in any frame: the table is its header
        self.fh.close()
        self.partial.replace(self.out)
        return self.out

    def keep_partial(self) -> Path | None:
        """Close the partial file and return it, or remove it and return None when it holds no row."""
        if self.fh is None:
            return None
        self.fh.close()
        if self.rows == 0:
            self.partial.unlink(missing_ok=True)
            return None
        return self.partial


class VideoAnnotator:
    """The sampled frames with each face's box, id, label and top score drawn, encoded as H.264 MP4
    (written under a temporary name, renamed when complete)."""

    def __init__(self, path, rate: float):
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.partial{self.path.suffix or '.mp4'}")
        self.rate = rate
        self.container = self.stream = None

    def add(self, rgb: np.ndarray, rows: list[dict]) -> None:
        from fractions import Fraction

        import av

        from .labels_drawing import draw_labels, top_score_text

        if self.container is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.container = av.open(str(self.tmp), mode="w", format="mp4")
            except OSError as exc:
                raise OutputError(describe_os_error(exc, self.path, writing=True)) from None
            self.stream = self.container.add_stream("libx264", rate=Fraction(self.rate).limit_denominator(1000))
            self.stream.width, self.stream.height = rgb.shape[1] // 2 * 2, rgb.shape[0] // 2 * 2
            self.stream.pix_fmt = "yuv420p"
        image = draw_labels(rgb, [(r["x"], r["y"], r["width"], r["height"], f"{r['face_id']}: {r['label']}",
                                   top_score_text(r)) for r in rows])
        image = image[:self.stream.height, :self.stream.width]
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def close(self) -> None:
        if self.container is not None:
            for packet in self.stream.encode():
                self.container.mux(packet)
            self.container.close()
            self.tmp.replace(self.path)
            self.container = None

    def abort(self) -> None:
        if self.container is not None:
            self.container.close()
            self.container = None
        with contextlib.suppress(OSError):  # never written (or its folder never made): nothing to remove
            self.tmp.unlink()


def video_table(run_dir, source, **options):
    """:func:`label_video`'s rows as a pandas DataFrame (the whole video in memory: for long videos,
    iterate over :func:`label_video` instead)."""
    import pandas as pd

    return pd.DataFrame(list(label_video(run_dir, source, **options)), columns=BASE_COLUMNS + score_columns(run_dir))
