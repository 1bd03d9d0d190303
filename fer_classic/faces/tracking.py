"""Faces followed across video frames: a stable id per face (boxes matched by overlap, IoU), and each
face's class scores smoothed over the last few sampled frames."""

from __future__ import annotations

from collections import deque

import numpy as np


def iou(a, b) -> float:
    """Intersection over union of two boxes ``(x, y, width, height)``."""
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    w = max(0, min(ax2, bx2) - max(a[0], b[0]))
    h = max(0, min(ay2, by2) - max(a[1], b[1]))
    inter = w * h
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


class IoUTracker:
    """Assigns each detected box the id of the track it overlaps most (IoU at least ``min_iou``;
    best pairs first, one box per track), or a new id. A track not seen for more than ``max_missed``
    sampled frames is ended; its id is never reused.

    Parameters
    ----------
    min_iou : float
        Overlap a box needs with a track's last box to continue it.
    max_missed : int
        Sampled frames a track may go undetected before it ends.
    """

    def __init__(self, min_iou: float = 0.3, max_missed: int = 5):
        self.min_iou = min_iou
        self.max_missed = max_missed
        self.tracks: dict[int, dict] = {}  # id -> {"box", "missed"}
        self._next = 0

    def update(self, boxes) -> list[int]:
        """The track id of each box of one frame, in the order given."""
        pairs = sorted(((iou(box, t["box"]), i, tid) for i, box in enumerate(boxes)
                        for tid, t in self.tracks.items()), reverse=True)
        ids: list[int | None] = [None] * len(boxes)
        taken = set()
        for overlap, i, tid in pairs:
            if overlap < self.min_iou:
                break
            if ids[i] is None and tid not in taken:
                ids[i] = tid
                taken.add(tid)
        for i, box in enumerate(boxes):
            if ids[i] is None:
                ids[i] = self._next
                self._next += 1
            self.tracks[ids[i]] = {"box": tuple(box), "missed": 0}
        for tid in list(self.tracks):
            if tid not in ids:
                self.tracks[tid]["missed"] += 1
                if self.tracks[tid]["missed"] > self.max_missed:
                    del self.tracks[tid]
        return ids


class ScoreSmoother:
    """The mean of each track's class scores over its last ``window`` sampled frames (1: no smoothing)."""

    def __init__(self, window: int = 1):
        if window < 1:
            raise ValueError("the smoothing window is at least 1 frame")
        self.window = window
        self.history: dict[int, deque] = {}

    def update(self, track: int, scores: np.ndarray) -> np.ndarray:
        h = self.history.setdefault(track, deque(maxlen=self.window))
        h.append(np.asarray(scores, dtype=float))
        return np.mean(h, axis=0)

    def forget(self, live_tracks) -> None:
        for tid in set(self.history) - set(live_tracks):
            del self.history[tid]


class FollowedFaces:
    """Faces found on a schedule and followed in between, for video.

    dlib's detector runs on every ``detect_every``-th frame it is given, on the first, whenever no face is
    followed, and whenever a followed face's tracking confidence (dlib's correlation tracker, Danelljan
    et al. 2014: the peak-to-side-lobe ratio of its response) falls below ``min_confidence``; in between,
    each face's box is its detected box moved to where its tracker puts the face's centre (the detected
    size is kept: dlib's landmarks depend on the box they are given, and a box of the detector's size
    gives landmarks closest to the detector's). Landmarks and alignment run on every frame, so each
    face is framed as the model expects. ``detect_every=1`` detects on every
    frame, as :func:`~fer_classic.faces.find_aligned_faces` does.

    Call it with each frame (RGB ``uint8``) in order; it returns what ``find_aligned_faces`` returns,
    each face with ``detected`` (whether its box came from the detector on this frame). ``detections``
    counts the frames on which the detector ran.
    """

    def __init__(self, *, detect_every: int = 10, min_confidence: float = 7.0, upsample: int = 0,
                 threshold: float = 0.0, size: int = 48, detect_width: int | None = None):
        if detect_every < 1:
            raise ValueError("detect_every is at least 1")
        self.detect_every, self.min_confidence = detect_every, min_confidence
        self.detect = {"upsample": upsample, "threshold": threshold, "detect_width": detect_width}
        self.size = size
        self.detections = 0
        self._trackers: list = []  # (dlib correlation tracker, detector score, detected box), most confident first
        self._since_detection = 0

    def __call__(self, rgb: np.ndarray) -> list[dict]:
        from ..data import to_gray
        from .dlib_faces import align_boxes, detect_boxes

        gray = to_gray(rgb)
        boxes = self._followed(gray) if self._trackers and self._since_detection < self.detect_every - 1 else None
        detected = boxes is None
        if detected:
            boxes = detect_boxes(rgb, **self.detect)
            self._start_trackers(gray, boxes)
        aligned = align_boxes(gray, [box for box, _ in boxes], self.size)
        return [{"box": (left, top, right - left, bottom - top), "score": score, "face": face, "detected": detected}
                for ((left, top, right, bottom), score), face in zip(boxes, aligned)]

    def _followed(self, gray: np.ndarray):
        """Each followed face's box on this frame, or None when one of them lost confidence."""
        h, w = gray.shape
        boxes = []
        for tracker, score, (left, top, right, bottom) in self._trackers:
            if tracker.update(gray) < self.min_confidence:
                return None
            centre = tracker.get_position().center()
            half_w, half_h = (right - left) / 2, (bottom - top) / 2
            box = (round(centre.x - half_w), round(centre.y - half_h), round(centre.x + half_w), round(centre.y + half_h))
            if box[0] < 0 or box[1] < 0 or box[2] >= w or box[3] >= h:  # followed to the frame's edge
                return None
            boxes.append((box, score))
        self._since_detection += 1
        return boxes

    def _start_trackers(self, gray: np.ndarray, boxes) -> None:
        import dlib

        self.detections += 1
        self._since_detection = 0
        self._trackers = []
        for (left, top, right, bottom), score in boxes:
            tracker = dlib.correlation_tracker()
            tracker.start_track(gray, dlib.rectangle(left, top, right, bottom))
            self._trackers.append((tracker, score, (left, top, right, bottom)))
