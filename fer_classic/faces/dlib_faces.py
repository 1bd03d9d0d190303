"""dlib's face detector and 68-point shape predictor, loaded once per process.

The shape predictor is the ``shape_predictor_68_face_landmarks.dat`` that the
``face-recognition-models`` package ships; nothing is downloaded.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np

from ..errors import ModelFileError

SHAPE_PREDICTOR_FILE = "shape_predictor_68_face_landmarks.dat"



def shape_predictor_path() -> Path:
    """Where ``face-recognition-models`` put dlib's 68-point model (found without importing it,
    since its ``__init__`` needs the deprecated ``pkg_resources``)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError("dlib's 68-point landmark model comes from the face-recognition-models package: "
                             "pip install face-recognition-models")
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / SHAPE_PREDICTOR_FILE
    if not path.is_file():
        raise ModelFileError(f"{path} is missing: reinstall face-recognition-models")
    return path


@functools.lru_cache(maxsize=1)
def shape_predictor():
    import dlib

    return dlib.shape_predictor(str(shape_predictor_path()))


@functools.lru_cache(maxsize=1)
def face_detector():
    import dlib

    return dlib.get_frontal_face_detector()


def models_loaded() -> bool:
    """Whether this process has loaded dlib's detector or shape predictor already."""
    return face_detector.cache_info().currsize > 0 or shape_predictor.cache_info().currsize > 0


def detect_faces(image: np.ndarray, upsample: int = 0, threshold: float = 0.0) -> list[tuple[int, int, int, int]]:
    """Face boxes ``(left, top, right, bottom)`` found by dlib's HOG detector, most confident first."""
    rects, scores, _ = face_detector().run(np.ascontiguousarray(image), upsample, threshold)
    ranked = sorted(zip(scores, rects), key=lambda sr: -sr[0])
    return [(r.left(), r.top(), r.right(), r.bottom()) for _, r in ranked]


def landmarks(gray: np.ndarray, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """The 68 (x, y) points of the face in ``box`` (default: the whole image is the face)."""
    import dlib

    h, w = gray.shape[:2]
    left, top, right, bottom = box if box is not None else (0, 0, w - 1, h - 1)
    shape = shape_predictor()(np.ascontiguousarray(gray), dlib.rectangle(left, top, right, bottom))
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def normalise_landmarks(points: np.ndarray) -> np.ndarray:
    """Points with translation (centroid) and scale (RMS distance to it) removed."""
    centred = points - points.mean(axis=0)
    scale = np.sqrt((centred ** 2).sum(axis=1).mean())
    return centred / scale if scale > 0 else centred


# Where FER2013 puts the eyes, measured with the shape predictor on 800 images of the embedded sample:
# the midpoint of the eye centres at (0.49, 0.375) of the width and height, the eyes 0.378 widths apart,
# level (median angle 0). Aligned photos are framed the same way.
FER2013_EYE_MIDPOINT = (0.49, 0.375)
FER2013_EYE_DISTANCE = 0.378


def eye_centres(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centres of the eye on the image's left (points 36-41) and on its right (42-47)."""
    return points[36:42].mean(axis=0), points[42:48].mean(axis=0)


def align_face(gray: np.ndarray, points: np.ndarray, size: int = 48) -> np.ndarray:
    """The face rotated so the eyes are level, scaled and cropped to FER2013's framing, ``size``×``size``."""
    from skimage.transform import SimilarityTransform, warp

    left, right = eye_centres(points)
    eyes = right - left
    scale = FER2013_EYE_DISTANCE * size / max(np.hypot(*eyes), 1e-6)
    rotation = -np.arctan2(eyes[1], eyes[0])  # turns the eye line horizontal
    cos, sin = scale * np.cos(rotation), scale * np.sin(rotation)
    target_left = np.array([FER2013_EYE_MIDPOINT[0] - FER2013_EYE_DISTANCE / 2, FER2013_EYE_MIDPOINT[1]]) * size
    translation = target_left - np.array([cos * left[0] - sin * left[1], sin * left[0] + cos * left[1]])
    transform = SimilarityTransform(scale=scale, rotation=rotation, translation=translation)
    out = warp(gray, transform.inverse, output_shape=(size, size), order=1, mode="edge", preserve_range=True)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def align_whole_images(images, size: int = 48) -> np.ndarray:
    """Each image taken whole as the face (FER2013's crops), aligned by its landmarks: ``(n, size, size)``."""
    from ..data import to_gray

    return np.stack([align_face(gray, landmarks(gray), size) for gray in (to_gray(np.asarray(im)) for im in images)])


# Whole-image face check: dlib's detector score above which an image is taken to show a face. On the
# embedded FER2013 sample (48×48 crops scaled to 96 px) 94.2% of 1,500 faces score above it; blank,
# gradient, noise, text and textures from scikit-image's data score at most -1.01.
FACE_CHECK_SCORE = -1.0
FACE_CHECK_SIDE = 96  # dlib's detector finds faces from about 80 px: smaller images are scaled up to this


def faces_found_whole(images) -> np.ndarray:
    """For each image taken whole as the face (FER2013's crops): whether dlib's detector finds a face in
    it at the permissive :data:`FACE_CHECK_SCORE`. Where it does not, landmarks on the image are the
    shape predictor's guess (it always answers), not a face's."""
    from PIL import Image

    from ..data import to_gray

    found = np.zeros(len(images), bool)
    for i, image in enumerate(images):
        gray = to_gray(np.asarray(image))
        short = min(gray.shape)
        if short < FACE_CHECK_SIDE:
            scale = FACE_CHECK_SIDE / short
            gray = np.asarray(Image.fromarray(gray).resize((round(gray.shape[1] * scale), round(gray.shape[0] * scale)),
                                                           Image.BILINEAR))
        _, scores, _ = face_detector().run(np.ascontiguousarray(gray), 0, FACE_CHECK_SCORE)
        found[i] = len(scores) > 0
    return found


def detect_boxes(image: np.ndarray, *, upsample: int = 0, threshold: float = 0.0,
                 detect_width: int | None = None) -> list[tuple[tuple[int, int, int, int], float]]:
    """The faces dlib's detector finds in a photo or video frame, most confident first: each face's box
    ``(left, top, right, bottom)`` in the image's pixels and its score.

    Detection sees the colour image (dlib takes the strongest gradient over the channels: it finds more
    in colour), on a copy at most ``detect_width`` pixels wide when given (dlib's cost grows with the
    pixels)."""
    from PIL import Image

    h, w = image.shape[:2]
    scale = min(1.0, detect_width / w) if detect_width else 1.0
    small = image if scale == 1.0 else np.asarray(Image.fromarray(image).resize(
        (round(w * scale), round(h * scale)), Image.BILINEAR))
    rects, scores, _ = face_detector().run(np.ascontiguousarray(small), upsample, threshold)
    return [(tuple(round(v / scale) for v in (r.left(), r.top(), r.right(), r.bottom())), float(score))
            for r, score in sorted(zip(rects, scores), key=lambda rs: -rs[1])]


def align_boxes(gray: np.ndarray, boxes, size: int = 48) -> list[np.ndarray]:
    """The face in each box ``(left, top, right, bottom)`` of the grayscale image, aligned by its
    landmarks to FER2013's framing."""
    return [align_face(gray, landmarks(gray, box), size) for box in boxes]


def find_aligned_faces(image: np.ndarray, *, upsample: int = 0, threshold: float = 0.0, size: int = 48,
                       detect_width: int | None = None) -> list[dict]:
    """Every face dlib finds in a photo or video frame, most confident first: its box ``(x, y, width,
    height)`` as the detector gives it, the detector's score and the face aligned to FER2013's framing
    (:func:`detect_boxes`, then :func:`align_boxes` on the full-resolution grayscale image)."""
    from ..data import to_gray

    found = detect_boxes(image, upsample=upsample, threshold=threshold, detect_width=detect_width)
    aligned = align_boxes(to_gray(image), [box for box, _ in found], size)
    return [{"box": (left, top, right - left, bottom - top), "score": score, "face": face}
            for ((left, top, right, bottom), score), face in zip(found, aligned)]
