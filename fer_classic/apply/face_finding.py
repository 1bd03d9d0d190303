"""Reading photos and finding their faces (dlib): no scikit-learn here, so that a fresh command can find
faces while a second process loads what it needs.

Finding a photo's faces is two steps: :func:`detect_in_photo` (read it, dlib's detector boxes the faces)
and :func:`align_detected` (dlib's 68 landmarks in each box, the face aligned to FER2013's framing).
A fresh ``fer-classic predict`` spends most of its first second loading dlib's two models (the detector
about 0.2 s, the 100 MB shape predictor about 0.5 s) and importing scikit-image's transforms and
scipy.ndimage (0.4 s): :func:`start_aligner` starts a second process that loads the shape predictor
while this one boxes the faces, reads the run's predictor and imports scikit-image; the second process
then finds the boxes' landmarks (:func:`box_landmarks`) and this one aligns the faces.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

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


def detect_in_photo(path, *, detect: bool = True, upsample: int = 0, threshold: float = 0.0, size: int = 48,
                    min_score: float | None = None) -> dict:
    """Read one photo and box its faces: ``{"file", "gray", "boxes" (left, top, right, bottom), "scores",
    "shape"}``, or ``{"file", "error"}``. Without ``detect`` the whole image is the face, already
    resized to ``size`` (``"faces"``)."""
    try:
        image = read_image(path)
    except Exception as exc:  # any decoding failure is reported for this file alone
        return {"file": str(path), "error": f"unreadable: {type(exc).__name__}: {exc}"}
    gray = to_gray(image)
    if not detect:
        return {"file": str(path), "faces": [resize_image(gray, (size, size))],
                "boxes": [(0, 0, gray.shape[1], gray.shape[0])], "scores": [None], "shape": gray.shape}
    found = [(box, score) for box, score in faces.detect_boxes(image, upsample=upsample, threshold=threshold)
             if min_score is None or score >= min_score]
    return {"file": str(path), "gray": gray, "boxes": [box for box, _ in found],
            "scores": [round(score, 3) for _, score in found], "shape": gray.shape}


def align_detected(items: list[dict], size: int = 48, realign: int | None = None) -> list[dict]:
    """:func:`detect_in_photo`'s items with their faces aligned (``"faces"``) and the boxes as ``(x, y,
    width, height)``; items without boxes (errors, undetected images) pass unchanged. With ``realign``,
    also each face as a run trained on aligned features aligns it (``"realigned"``:
    :func:`~fer_classic.faces.align_whole_images` at that size). The landmarks (:func:`box_landmarks`,
    :func:`whole_image_landmarks`) need dlib's shape predictor; aligning from them (:func:`aligned_items`,
    :func:`with_realigned`) needs scikit-image: a fresh ``predict`` finds them in two processes."""
    out = aligned_items(items, box_landmarks(items), size)
    return with_realigned(out, realign, whole_image_landmarks(faces_of(out))) if realign else out


def box_landmarks(items: list[dict]) -> list[list | None]:
    """The 68 landmarks of each box of each :func:`detect_in_photo` item (None for an item without one)."""
    return [[faces.landmarks(item["gray"], box) for box in item["boxes"]] if "gray" in item else None
            for item in items]


def whole_image_landmarks(images) -> list:
    """The landmarks of each image taken whole as the face, as :func:`~fer_classic.faces.align_whole_images`
    finds them."""
    return [faces.landmarks(to_gray(np.asarray(image))) for image in images]


def aligned_items(items: list[dict], points: list[list | None], size: int) -> list[dict]:
    """:func:`align_detected`'s items without ``realign``, from the landmarks of their boxes (:func:`box_landmarks`)."""
    out = []
    for item, item_points in zip(items, points):
        if "gray" in item:
            item = {**item, "faces": [faces.align_face(item["gray"], p, size) for p in item_points],
                    "boxes": [(left, top, right - left, bottom - top) for left, top, right, bottom in item["boxes"]]}
            del item["gray"]
        out.append(item)
    return out


def faces_of(items: list[dict]) -> list:
    """Every aligned face of the items, in order."""
    return [face for item in items for face in item.get("faces", [])]


def with_realigned(items: list[dict], size: int, points: list) -> list[dict]:
    """The items with each face aligned again at ``size`` as :func:`~fer_classic.faces.align_whole_images`
    does (``"realigned"``), from ``points``: :func:`whole_image_landmarks` of :func:`faces_of` the items."""
    points = iter(points)
    out = []
    for item in items:
        if item.get("faces"):
            item = {**item, "realigned": [faces.align_face(to_gray(np.asarray(face)), next(points), size)
                                          for face in item["faces"]]}
        out.append(item)
    return out


def find_faces(path, *, size: int = 48, realign: int | None = None, **options) -> dict:
    """Read one photo and return its aligned faces with their boxes, or the reason there are none
    (``realign``: see :func:`align_detected`)."""
    return align_detected([detect_in_photo(path, size=size, **options)], size, realign)[0]


def find_faces_batch(paths, **options) -> list[dict]:
    return [find_faces(p, **options) for p in paths]


def is_cold_start() -> bool:
    """Whether this process has neither scikit-learn imported nor dlib's models loaded: a command's
    first call, where loading them takes seconds that can overlap on two cores."""
    return "sklearn.base" not in sys.modules and not faces.models_loaded()


def _load_aligner_models() -> None:
    faces.shape_predictor()


def start_aligner():
    """A second process that starts loading dlib's shape predictor now: submit :func:`box_landmarks` (or
    :func:`align_detected`) to it, then ``executor.shutdown(wait=False)``.

    From fer-classic's own command on Linux it is a fork of this process (a few milliseconds, and
    nothing to import again: call it before starting threads of one's own, e.g. imports in a thread,
    which a fork could catch half-way); from the command elsewhere, multiprocessing's spawn (0.2 s more:
    a new interpreter imports numpy and fer-classic again; the command's main module is guarded, so it
    re-imports it harmlessly); from other programs, joblib's loky (half a second more than a fork, but it
    never re-runs a caller's main script, which may not be guarded, and it forks no process whose
    threads it does not know)."""
    if _main_is_fer_classic():
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        method = "fork" if sys.platform.startswith("linux") else "spawn"
        executor = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context(method))
    else:
        from joblib.externals.loky import ProcessPoolExecutor

        executor = ProcessPoolExecutor(1)
    with warnings.catch_warnings():
        # Python 3.12+ warns of any fork beside other threads; the command's one (console.py's signal
        # watcher) waits for signals and holds no lock the child could need
        warnings.filterwarnings("ignore", r"This process .* is multi-threaded", DeprecationWarning)
        executor.submit(_load_aligner_models)  # the process starts here
    return executor


def _main_is_fer_classic() -> bool:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return (spec is not None and spec.name == "fer_classic.__main__") or Path(sys.argv[0]).name == "fer-classic"
