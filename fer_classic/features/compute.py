"""What each descriptor computes, as plain functions of images: no scikit-learn here.

The descriptor classes (scikit-learn transformers, in their family modules) hold the parameters and
what ``fit`` learned, and describe a chunk of images with the function registered here under their
name (``DESCRIBERS[name].rows(d, images)``, ``d`` being the descriptor). Anything with the same attributes
computes the same rows: a run's predictor (:mod:`fer_classic.runs.predictor`) describes faces with
these functions in a process that never imports scikit-learn, which is what lets ``fer-classic
predict`` answer within a second or two of the command.
"""

from __future__ import annotations

import importlib
import math
import threading
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..data.datasets import resize_image, to_gray
from ..registry import Registry
from . import photometric

# --------------------------------------------------------------------------- input images

def check_images(X) -> np.ndarray | list:
    """Validate descriptor input and return it as ``uint8`` images.

    Accepts an array ``(n, h, w)`` or ``(n, h, w, 3)``; rows of flattened square grayscale images
    ``(n, s*s)`` as in the FER2013 CSV; or a list of images of different sizes. Float input is
    taken as 0-255, or as 0-1 when no value exceeds 1.
    """
    if isinstance(X, (list, tuple)) and X and any(np.shape(x) != np.shape(X[0]) for x in X):
        return [_as_uint8(np.asarray(x), f"image {i}") for i, x in enumerate(X)]
    X = np.asarray(X)
    if X.ndim == 2:
        side = int(round(np.sqrt(X.shape[1]))) if X.shape[1] else 0
        if side < 2 or side * side != X.shape[1]:
            raise ValueError(f"expected images (n, h, w[, 3]) or flattened square images (n, s*s); "
                             f"got a 2-D array of shape {X.shape}")
        X = X.reshape(len(X), side, side)
    if X.ndim not in (3, 4) or (X.ndim == 4 and X.shape[3] not in (1, 3, 4)):
        raise ValueError(f"expected images of shape (n, h, w) or (n, h, w, 3), got {X.shape}")
    if X.ndim == 4 and X.shape[3] == 1:
        X = X[..., 0]
    if X.ndim == 4 and X.shape[3] == 4:
        X = X[..., :3]
    return _as_uint8(X, "images")


def _as_uint8(X: np.ndarray, what: str) -> np.ndarray:
    if X.dtype == np.uint8:
        return X
    if X.dtype == bool or not np.issubdtype(X.dtype, np.number):
        raise ValueError(f"{what}: expected numeric pixels, got dtype {X.dtype}")
    X = X.astype(np.float64)
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{what}: pixels must be finite (found NaN or infinity)")
    if X.size and X.max() <= 1.0 and X.min() >= 0.0:
        X = X * 255.0
    return np.clip(np.round(X), 0, 255).astype(np.uint8)


def mirror_images(images):
    """Every image flipped left to right; arrays ``(n, h, w[, 3])`` or lists of images."""
    if isinstance(images, np.ndarray) and images.ndim in (3, 4):
        return np.ascontiguousarray(images[:, :, ::-1])
    return [np.ascontiguousarray(np.asarray(im)[:, ::-1]) for im in images]


def channels(d, image: np.ndarray) -> np.ndarray:
    """The image in the channel mode ``fit`` learned (``d.n_channels_``: 1 gray, 3 RGB); grayscale and
    photometrically normalised where ``d.photometric`` names a method."""
    method = getattr(d, "photometric", "none")
    if method != "none":
        return photometric.normalise(to_gray(image), method)
    if getattr(d, "n_channels_", 1) == 1:
        return to_gray(image)
    return image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)


def gray_face(d, image: np.ndarray) -> np.ndarray:
    """Grayscale at the descriptor's face size ``d.size``, photometrically normalised as ``d.photometric``
    says (:mod:`.photometric`)."""
    return photometric.normalise(resize_image(to_gray(image), (d.size, d.size)), getattr(d, "photometric", "none"))


# --------------------------------------------------------------------------- pixels

def raw_rows(d, images) -> np.ndarray:
    side = (d.size, d.size)
    if isinstance(images, np.ndarray) and images.shape[1:] == side and d.n_channels_ == 1 and \
            getattr(d, "photometric", "none") == "none":
        return images.reshape(len(images), -1).astype(np.float32)
    return np.stack([resize_image(channels(d, im), side).ravel() for im in images]).astype(np.float32)


def hist_rows(d, images) -> np.ndarray:
    if not 1 <= int(d.bins) <= 256:
        raise ValueError(f"bins must be between 1 and 256, got {d.bins}")
    bins = int(d.bins)
    rows = []
    for im in images:
        im = channels(d, im)
        planes = [im] if im.ndim == 2 else [im[..., c] for c in range(im.shape[2])]
        hists = []
        for plane in planes:
            # Bin i holds the intensities v with floor(v * bins / 256) == i.
            codes = (plane.astype(np.int32) * bins) >> 8
            h = np.bincount(codes.ravel(), minlength=bins).astype(np.float32)
            hists.append(h / max(plane.size, 1))
        rows.append(np.concatenate(hists))
    return np.stack(rows)


# --------------------------------------------------------------------------- gradients and texture

def hog_rows(d, images) -> np.ndarray:
    from skimage.feature import hog

    if d.size // d.pixels_per_cell < d.cells_per_block:
        raise ValueError(f"a {d.size}px face has fewer than cells_per_block={d.cells_per_block} "
                         f"cells of {d.pixels_per_cell}px")
    ppc, cpb = (d.pixels_per_cell,) * 2, (d.cells_per_block,) * 2
    return np.stack([
        hog(gray_face(d, im), orientations=d.orientations, pixels_per_cell=ppc, cells_per_block=cpb,
            block_norm=d.block_norm, feature_vector=True)
        for im in images]).astype(np.float32)


def lbp_histograms(codes: np.ndarray, n_codes: int, grid: int) -> np.ndarray:
    """Normalised histograms of integer ``codes`` over a ``grid``×``grid`` partition of the image."""
    h, w = codes.shape
    rows = np.linspace(0, h, grid + 1).astype(int)
    cols = np.linspace(0, w, grid + 1).astype(int)
    out = np.empty((grid, grid, n_codes), dtype=np.float32)
    for i in range(grid):
        for j in range(grid):
            cell = codes[rows[i]:rows[i + 1], cols[j]:cols[j + 1]].ravel()
            out[i, j] = np.bincount(cell, minlength=n_codes)[:n_codes] / max(cell.size, 1)
    return out.ravel()


def lbp_code_count(points: int, method: str) -> int:
    """How many distinct codes ``local_binary_pattern`` gives for ``points`` and ``method``."""
    counts = {"uniform": points + 2, "nri_uniform": points * (points - 1) + 3, "default": 2 ** points,
              "ror": 2 ** points}
    if method not in counts:
        raise ValueError(f"method must be one of {', '.join(counts)}, got {method!r}")
    return counts[method]


def lbp_rows(d, images) -> np.ndarray:
    from skimage.feature import local_binary_pattern

    n_codes = lbp_code_count(d.points, d.method)
    rows = []
    for im in images:
        codes = local_binary_pattern(gray_face(d, im), d.points, d.radius, d.method)
        rows.append(lbp_histograms(codes.astype(np.int64), n_codes, d.grid))
    return np.stack(rows)


# --------------------------------------------------------------------------- landmarks

PATCH_KINDS = ("none", "hog", "lbp")


def landmark_rows(d, images) -> np.ndarray:
    from .. import faces

    if d.patches not in PATCH_KINDS:
        raise ValueError(f"patches must be one of {', '.join(PATCH_KINDS)}, got {d.patches!r}")
    if d.patch_size < 4:
        raise ValueError(f"patch_size must be at least 4 pixels, got {d.patch_size}")
    faces.shape_predictor()  # fail early, before any image, when the model is missing
    rows = []
    for im in images:
        gray = to_gray(im)
        box = None
        if d.detect:
            found = faces.detect_faces(gray, d.upsample)
            box = found[0] if found else None
        points = faces.landmarks(gray, box)
        parts = [faces.normalise_landmarks(points).ravel()]
        if d.patches != "none":
            scale = np.array([d.size / gray.shape[1], d.size / gray.shape[0]])
            parts.append(landmark_patch_rows(d, gray_face(d, gray), points * scale))
        rows.append(np.concatenate(parts))
    return np.stack(rows).astype(np.float32)


def landmark_patch_rows(d, face: np.ndarray, points: np.ndarray) -> np.ndarray:
    """HOG or LBP histograms of the ``d.patch_size`` patch around each point of ``face``."""
    from skimage.feature import hog, local_binary_pattern

    half = d.patch_size // 2
    size = 2 * half
    padded = np.pad(face, half, mode="reflect")
    if d.patches == "lbp":
        codes = local_binary_pattern(padded, 8, 1, "uniform").astype(np.int64)
    out = []
    for x, y in np.round(points).astype(int):
        # Clamp so a point predicted outside the face still gets a patch at the border.
        x = int(np.clip(x, 0, face.shape[1] - 1)) + half
        y = int(np.clip(y, 0, face.shape[0] - 1)) + half
        window = (slice(y - half, y - half + size), slice(x - half, x - half + size))
        if d.patches == "hog":
            out.append(hog(padded[window], orientations=8, pixels_per_cell=(half, half),
                           cells_per_block=(1, 1), feature_vector=True))
        else:
            out.append(np.bincount(codes[window].ravel(), minlength=10)[:10] / (size * size))
    return np.concatenate(out)


# --------------------------------------------------------------------------- the filter bank

# Coates & Ng's constants: variance regulariser of the patch normalisation, ZCA's regulariser.
NORMALISE_EPS = 10.0
ZCA_EPS = 0.1


def filterbank_patches(d, image: np.ndarray) -> np.ndarray:
    """Every window of the face as a contrast-normalised row, ``(positions, patch*patch)``."""
    from numpy.lib.stride_tricks import sliding_window_view

    windows = sliding_window_view(gray_face(d, image).astype(np.float32), (d.patch, d.patch))
    rows = windows.reshape(-1, d.patch * d.patch)
    rows = rows - rows.mean(axis=1, keepdims=True)
    return rows / np.sqrt(rows.var(axis=1, keepdims=True) + NORMALISE_EPS)


def filterbank_regions(d) -> np.ndarray:
    """The pooling region of each patch position, row by row: a ``pool``×``pool`` grid of bands."""
    side = d.size - d.patch + 1
    band = (np.arange(side) * d.pool) // side  # each position's region along one axis
    return (band[:, None] * d.pool + band[None, :]).ravel()


def filterbank_rows(d, images) -> np.ndarray:
    from .triangle_pooling import triangle_pooled

    region = filterbank_regions(d)
    c_norms = (d.centroids_ ** 2).sum(axis=1)
    out = np.empty((len(images), d.centroids * d.pool * d.pool), dtype=np.float32)
    for i, image in enumerate(images):
        x = (filterbank_patches(d, image) - d.mean_) @ d.whitening_
        # Distances to every centroid, the triangle activation max(0, mean distance - distance), pooled.
        out[i] = triangle_pooled(x @ d.centroids_.T, (x ** 2).sum(axis=1), c_norms, region, d.pool * d.pool).ravel()
    return out


# --------------------------------------------------------------------------- the bag of words

def dense_daisy(images: np.ndarray, *, step: int, radius: int, rings: int, histograms: int,
                orientations: int) -> np.ndarray:
    """scikit-image's ``daisy`` (L1 normalisation, its default sigmas and ring radii) of a batch of
    ``uint8`` images ``(n, h, w)``, as ``(n, rows, cols, d)``: the same numbers (equal in float32), about
    twice as fast. The gradient-orientation maps of the whole batch are smoothed in one filter call per
    distinct sigma (scikit-image smooths each map of each image separately, and twice at the first
    sigma), and the descriptors are gathered at the sampled positions only."""
    from scipy.ndimage import gaussian_filter

    img = np.asarray(images, dtype=np.float64) / 255.0  # scikit-image's img_as_float of uint8
    n, h, w = img.shape
    sigmas = [radius * (i + 1) / float(2 * rings) for i in range(rings)]
    ring_radii = [radius * (i + 1) / float(rings) for i in range(rings)]
    dx, dy = np.zeros_like(img), np.zeros_like(img)
    dx[:, :, :-1] = np.diff(img, axis=2)
    dy[:, :-1, :] = np.diff(img, axis=1)
    magnitude, orientation = np.sqrt(dx ** 2 + dy ** 2), np.arctan2(dy, dx)
    kappa = orientations / np.pi
    hist = np.empty((n, orientations, h, w))
    for i in range(orientations):
        hist[:, i] = np.exp(kappa * np.cos(orientation - (2 * i * np.pi / orientations - np.pi))) * magnitude
    smoothed = {s: gaussian_filter(hist, sigma=(0, 0, s, s), mode="reflect", truncate=4.0) for s in set(sigmas)}
    P, Q = h - 2 * radius, w - 2 * radius
    rows, cols = len(range(0, P, step)), len(range(0, Q, step))
    out = np.empty((n, (rings * histograms + 1) * orientations, rows, cols))
    out[:, :orientations] = smoothed[sigmas[0]][:, :, radius:radius + P:step, radius:radius + Q:step]
    at = orientations
    for i in range(rings):
        for j in range(histograms):
            angle = 2 * np.pi * j / histograms
            y0 = radius + int(round(ring_radii[i] * math.sin(angle)))
            x0 = radius + int(round(ring_radii[i] * math.cos(angle)))
            out[:, at:at + orientations] = smoothed[sigmas[i]][:, :, y0:y0 + P:step, x0:x0 + Q:step]
            at += orientations
    out = out.transpose(0, 2, 3, 1) + 1e-10
    return out / out.sum(axis=3, keepdims=True)


ENCODINGS = ("hellinger", "power", "presence", "pq")
LOCAL_DESCRIPTORS = ("daisy", "sift", "phow")


def dense_sift(images: np.ndarray, *, step: int, bins: tuple[int, ...]) -> np.ndarray:
    """OpenCV's SIFT descriptor (upright: orientation 0, as VLFeat's dense SIFT) at every ``step`` pixels
    of each ``uint8`` image ``(n, h, w)``, once per spatial bin size in ``bins`` (pixels per side of each
    of its 4×4 bins; OpenCV's keypoint size is the bin size / 1.5), as ``(n, rows, cols, len(bins), 128)``
    float32 (OpenCV's normalisation: unit length, clipped at 0.2, unit length again, times 512)."""
    try:
        import cv2
    except ImportError:
        raise ImportError("bovw with local='sift' needs OpenCV: pip install opencv-python-headless "
                          "(or the 'sift' extra of fer-classic)") from None

    sift = cv2.SIFT_create()
    n, h, w = images.shape
    ys, xs = np.arange(step // 2, h, step), np.arange(step // 2, w, step)
    keypoints = [cv2.KeyPoint(float(x), float(y), b / 1.5, 0.0) for b in bins for y in ys for x in xs]
    out = np.empty((n, len(bins), len(ys) * len(xs), 128), dtype=np.float32)
    for i in range(n):
        kept, descriptors = sift.compute(np.ascontiguousarray(images[i]), keypoints)
        if descriptors is None or len(kept) != len(keypoints):
            raise ValueError(f"OpenCV's SIFT dropped {len(keypoints) - len(kept or ())} of the {len(keypoints)} "
                             f"dense keypoints of a {h}x{w} face")
        out[i] = descriptors.reshape(len(bins), len(ys) * len(xs), 128)
    return out.reshape(n, len(bins), len(ys), len(xs), 128).transpose(0, 2, 3, 1, 4)


def bovw_level_words(d, level_index: int) -> int:
    """The vocabulary size of pyramid level ``level_index``."""
    return d.level_words[level_index] if d.level_words else d.words


def bovw_dense(d, images) -> np.ndarray:
    """``(n, rows, cols, scales, d)`` local descriptors of each face: DAISY (scikit-image's, computed in
    batches; one scale) or dense SIFT (OpenCV's descriptor, or VLFeat's as ``vl_phow`` computes it; one
    scale per bin size in ``d.sift_bins``)."""
    gray = np.stack([gray_face(d, im) for im in images])
    local = getattr(d, "local", "daisy")
    if local == "sift":
        return dense_sift(gray, step=d.step, bins=tuple(d.sift_bins))
    if local == "phow":
        from .dsift import phow

        return np.concatenate([phow(gray[i:i + 256], sizes=tuple(d.sift_bins), step=d.step)
                               for i in range(0, len(gray), 256)])
    return np.concatenate([dense_daisy(gray[i:i + 256], step=d.step, radius=d.radius, rings=d.rings,
                                       histograms=d.histograms, orientations=d.orientations)
                           for i in range(0, len(gray), 256)]).astype(np.float32)[:, :, :, None, :]


def bovw_encode(d, counts: np.ndarray, per_cell: np.ndarray) -> np.ndarray:
    """Each cell's word counts ``(n, cells, words)`` as ``d.encoding`` says."""
    if d.encoding == "hellinger":
        return np.sqrt(counts / per_cell[None, :, None])
    if d.encoding in ("presence", "pq"):
        cells = (counts > 0).astype(np.float64)
        if d.encoding == "pq":  # the PQ kernel of two presence vectors is a linear kernel once each is centred
            cells -= cells.mean(axis=2, keepdims=True)
    else:
        cells = (counts / per_cell[None, :, None]) ** d.alpha
    norms = np.linalg.norm(cells, axis=2, keepdims=True)
    return cells / np.where(norms > 0, norms, 1.0)


def _nearest_words(flat: np.ndarray, vocabulary: np.ndarray, block: int = 16384) -> np.ndarray:
    """The nearest word of each row, ``block`` rows at a time (a block's distances: block × words)."""
    norms = (vocabulary ** 2).sum(1)
    return np.concatenate([np.argmin(norms - 2 * flat[i:i + block] @ vocabulary.T, axis=1)
                           for i in range(0, len(flat), block)]) if len(flat) else np.zeros(0, dtype=np.int64)


def bovw_rows(d, images) -> np.ndarray:
    local = bovw_dense(d, images)
    n, rows, cols, scales, dim = local.shape
    flat = local.reshape(-1, dim)
    # Nearest word of each vocabulary: argmin of |w|^2 - 2 x.w (|x|^2 is the same for every word).
    words = [_nearest_words(flat, v).reshape(n, rows * cols * scales) for v in d.vocabularies_]
    r, c = np.divmod(np.repeat(np.arange(rows * cols), scales), cols)  # every scale's word at a location
    weights = np.asarray(d.level_weights, dtype=np.float64) if d.level_weights else None
    out = []
    for i, g in enumerate(d.levels):
        assigned, vocabulary_size = words[i if d.level_words else 0], bovw_level_words(d, i)
        cell = (r * g // rows) * g + (c * g // cols)  # each location's cell at this level
        per_cell = np.bincount(cell, minlength=g * g)
        bins = (np.arange(n)[:, None] * (g * g) + cell[None, :]) * vocabulary_size + assigned
        counts = np.bincount(bins.ravel(), minlength=n * g * g * vocabulary_size).reshape(n, g * g, vocabulary_size)
        block = bovw_encode(d, counts, per_cell)
        if weights is not None:
            block = block * np.sqrt(weights[i] / weights.sum() / (g * g))
        out.append(block.reshape(n, -1))
    return np.hstack(out).astype(np.float32)


ALIGNING_IMPORTS = ("skimage.transform:SimilarityTransform", "skimage.transform:warp")  # faces.align_face


def start_importing_describers(names, also=()) -> threading.Thread:
    """Import, in a thread, what the descriptors ``names`` import the first time they describe, and the
    names ``also`` ("module:name", e.g. :data:`ALIGNING_IMPORTS`), so that a fresh process (``predict``'s)
    does it while it finds faces and reads its model. Python's import lock makes a describer that needs
    a module meanwhile wait for it."""
    wanted = sorted({spec for name in names if name in DESCRIBERS for spec in DESCRIBERS[name].imports} | set(also))
    thread = threading.Thread(target=_import_all, args=(wanted,), name="fer-classic-import-describers",
                              daemon=True)
    thread.start()
    return thread


def _import_all(wanted) -> None:
    for spec in wanted:
        module, _, name = spec.partition(":")
        try:
            getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):  # reported where the descriptor needs it
            pass


@dataclass(frozen=True)
class Describer:
    """What a descriptor computes, by its command-line name: ``rows(descriptor, images)`` (``descriptor``
    anything with the descriptor's attributes: the estimator, or a predictor's record of it), and what it
    imports the first time it describes, as "module:name" (scipy.ndimage alone takes a quarter of a second
    here; scikit-image's packages load their parts when a name is first asked for, so importing
    ``skimage.feature`` alone loads nothing): a caller about to describe faces imports them in a thread
    meanwhile (:func:`start_importing_describers`)."""

    rows: Callable
    imports: tuple[str, ...] = ()


# One per descriptor class of fer_classic.features.DESCRIPTORS, by the same name (a test checks they agree).
DESCRIBERS: Registry[Describer] = Registry("descriptor")
DESCRIBERS.register("raw", Describer(raw_rows))
DESCRIBERS.register("hist", Describer(hist_rows))
DESCRIBERS.register("hog", Describer(hog_rows, ("skimage.feature:hog",)))
DESCRIBERS.register("lbp", Describer(lbp_rows, ("skimage.feature:local_binary_pattern",)))
DESCRIBERS.register("landmarks", Describer(landmark_rows, ("skimage.feature:hog", "skimage.feature:local_binary_pattern")))
DESCRIBERS.register("bovw", Describer(bovw_rows, ("scipy.ndimage:gaussian_filter",)))
DESCRIBERS.register("filterbank", Describer(filterbank_rows))
