"""dlib's 68 facial landmarks, and HOG or LBP descriptors of patches centred on them."""

from __future__ import annotations

import numpy as np
from skimage.feature import hog, local_binary_pattern

from .. import faces
from ..data.datasets import to_gray
from .base import ImageDescriptor

PATCH_KINDS = ("none", "hog", "lbp")


class LandmarkDescriptor(ImageDescriptor):
    """dlib's 68 points as 136 normalised coordinates (x0, y0, x1, y1, …), optionally followed by a
    descriptor of the ``patch_size``-pixel patch around each point of the face at ``size``×``size``.

    FER2013 images are already cropped faces, so the whole image is the face box. With
    ``detect=True`` dlib's face detector picks the most confident face first (``upsample`` times upsampled);
    where it finds none, the whole image is used.
    """

    param_choices = {"patches": PATCH_KINDS}

    def __init__(self, patches: str = "none", patch_size: int = 12, detect: bool = False, upsample: int = 0,
                 size: int = 48, n_jobs: int | None = None, progress: bool = False):
        self.patches = patches
        self.patch_size = patch_size
        self.detect = detect
        self.upsample = upsample
        self.size = size
        self.n_jobs = n_jobs
        self.progress = progress

    def _describe(self, images) -> np.ndarray:
        if self.patches not in PATCH_KINDS:
            raise ValueError(f"patches must be one of {', '.join(PATCH_KINDS)}, got {self.patches!r}")
        if self.patch_size < 4:
            raise ValueError(f"patch_size must be at least 4 pixels, got {self.patch_size}")
        faces.shape_predictor()  # fail early, before any image, when the model is missing
        rows = []
        for im in images:
            gray = to_gray(im)
            box = None
            if self.detect:
                found = faces.detect_faces(gray, self.upsample)
                box = found[0] if found else None
            points = faces.landmarks(gray, box)
            parts = [faces.normalise_landmarks(points).ravel()]
            if self.patches != "none":
                scale = np.array([self.size / gray.shape[1], self.size / gray.shape[0]])
                parts.append(self._patch_descriptors(self._gray(gray), points * scale))
            rows.append(np.concatenate(parts))
        return np.stack(rows).astype(np.float32)

    def _patch_descriptors(self, face: np.ndarray, points: np.ndarray) -> np.ndarray:
        half = self.patch_size // 2
        size = 2 * half
        padded = np.pad(face, half, mode="reflect")
        if self.patches == "lbp":
            codes = local_binary_pattern(padded, 8, 1, "uniform").astype(np.int64)
        out = []
        for x, y in np.round(points).astype(int):
            # Clamp so a point predicted outside the face still gets a patch at the border.
            x = int(np.clip(x, 0, face.shape[1] - 1)) + half
            y = int(np.clip(y, 0, face.shape[0] - 1)) + half
            window = (slice(y - half, y - half + size), slice(x - half, x - half + size))
            if self.patches == "hog":
                out.append(hog(padded[window], orientations=8, pixels_per_cell=(half, half),
                               cells_per_block=(1, 1), feature_vector=True))
            else:
                out.append(np.bincount(codes[window].ravel(), minlength=10)[:10] / (size * size))
        return np.concatenate(out)
