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
