"""Reading photos and finding their faces (dlib): no scikit-learn here, so a fresh process can start
finding faces while another imports the model's libraries."""

from __future__ import annotations

import sys
from concurrent.futures import Future
from pathlib import Path

from .. import faces
from ..data import IMAGE_SUFFIXES, read_image, resize_image, to_gray


def expand_inputs(inputs) -> list[Path]:
    """Files as given, and the image files inside given folders (recursively, sorted)."""
    out = []
    for item in map(Path, inputs):
        if item.is_dir():
            out += sorted(p for p in item.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                          and not p.name.startswith("."))
        else:
            out.append(item)
    return out


def find_faces(path, *, detect: bool = True, upsample: int = 0, threshold: float = 0.0, size: int = 48,
               min_score: float | None = None) -> dict:
    """Read one photo and return its aligned faces with their boxes, or the reason there are none."""
    try:
        image = read_image(path)
    except Exception as exc:  # any decoding failure is reported for this file alone
        return {"file": str(path), "error": f"unreadable: {type(exc).__name__}: {exc}"}
    gray = to_gray(image)
    shape = gray.shape
    if not detect:
        return {"file": str(path), "faces": [resize_image(gray, (size, size))],
                "boxes": [(0, 0, gray.shape[1], gray.shape[0])], "scores": [None], "shape": shape}
    found = [f for f in faces.find_aligned_faces(image, upsample=upsample, threshold=threshold, size=size)
             if min_score is None or f["score"] >= min_score]
    return {"file": str(path), "faces": [f["face"] for f in found], "boxes": [f["box"] for f in found],
            "scores": [round(f["score"], 3) for f in found], "shape": shape}


def find_faces_batch(paths, **options) -> list[dict]:
    return [find_faces(p, **options) for p in paths]


def is_cold_start() -> bool:
    """Whether this process has neither scikit-learn imported nor dlib's models loaded: a command's
    first call, where both take about a second each and can overlap on two cores."""
    return "sklearn.base" not in sys.modules and not faces.models_loaded()


def find_faces_in_background(paths, **options) -> Future:
    """:func:`find_faces_batch` in a new process: the future's result is the list of found faces; the
    process ends when it is done. joblib's loky starts it (a fresh interpreter, as on every platform,
    safe beside threads, and without re-running the caller's main script as multiprocessing's spawn
    would)."""
    from joblib.externals.loky import ProcessPoolExecutor

    executor = ProcessPoolExecutor(1)
    future = executor.submit(find_faces_batch, [str(p) for p in paths], **options)
    executor.shutdown(wait=False)
    return future
