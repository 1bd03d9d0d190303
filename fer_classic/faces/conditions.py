"""Image conditions for robustness tests: low light, glasses, a mask, a tilted head, blur, sensor noise,
JPEG compression and a shifted crop, each at graded severities (levels 1-3), seeded.

Each condition is a function ``(images, level, rng, points) -> images`` on ``uint8`` grayscale faces
``(n, h, w)``; ``points`` are each face's 68 dlib landmarks (for placing glasses and masks), computed
only for the conditions that need them.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..errors import ConfigurationError

LEVELS = (1, 2, 3)


@dataclass(frozen=True)
class Condition:
    name: str
    description: str  # what each level does, for tables and the documentation
    apply: Callable
    needs_landmarks: bool = False


def _clip(x) -> np.ndarray:
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def _lowlight(images, level, rng, points):
    gamma, gain, noise = {1: (1.5, 0.6, 2.0), 2: (2.2, 0.4, 4.0), 3: (3.0, 0.25, 6.0)}[level]
    dark = 255.0 * gain * (images / 255.0) ** gamma
    return _clip(dark + rng.normal(0, noise, images.shape))


def _blur(images, level, rng, points):
    from scipy.ndimage import gaussian_filter

    sigma = {1: 0.75, 2: 1.5, 3: 2.5}[level]
    return _clip(gaussian_filter(images.astype(float), sigma=(0, sigma, sigma)))


def _noise(images, level, rng, points):
    return _clip(images + rng.normal(0, {1: 8.0, 2: 16.0, 3: 32.0}[level], images.shape))


def _jpeg(images, level, rng, points):
    from PIL import Image

    quality = {1: 50, 2: 20, 3: 10}[level]
    out = np.empty_like(images)
    for i, im in enumerate(images):
        buf = io.BytesIO()
        Image.fromarray(im).save(buf, format="JPEG", quality=quality)
        out[i] = np.asarray(Image.open(buf).convert("L"))
    return out


def _warp(images, rotation_deg: float = 0.0, scale: float = 1.0, shift=(0.0, 0.0)):
    """Each face rotated about its centre, scaled and shifted (pixels), edges repeated."""
    from skimage.transform import SimilarityTransform, warp

    h, w = images.shape[1:3]
    centre = np.array([w / 2 - 0.5, h / 2 - 0.5])
    out = np.empty_like(images)
    for i, im in enumerate(images):
        t = (SimilarityTransform(translation=-centre) + SimilarityTransform(rotation=np.deg2rad(rotation_deg[i] if np.ndim(rotation_deg) else rotation_deg), scale=scale)
             + SimilarityTransform(translation=centre + np.asarray(shift[i] if np.ndim(shift) == 2 else shift)))
        out[i] = _clip(warp(im, t.inverse, order=1, mode="edge", preserve_range=True))
    return out


def _tilt(images, level, rng, points):
    angle = {1: 10.0, 2: 20.0, 3: 30.0}[level]
    return _warp(images, rotation_deg=angle * rng.choice([-1, 1], size=len(images)))


def _shift(images, level, rng, points):
    pixels, scale = {1: (2, 1.05), 2: (4, 1.1), 3: (6, 1.2)}[level]
    directions = rng.uniform(0, 2 * np.pi, size=len(images))
    shifts = np.column_stack([np.cos(directions), np.sin(directions)]) * pixels
    return _warp(images, scale=scale, shift=shifts)


def _fill_polygon(image, polygon, value, opacity):
    from skimage.draw import polygon as fill

    rr, cc = fill(polygon[:, 1], polygon[:, 0], image.shape)
    image[rr, cc] = _clip((1 - opacity) * image[rr, cc] + opacity * value)


def _glasses(images, level, rng, points):
    """Dark lenses (ellipses) over both eyes, sized from the eye corners, joined by a bridge."""
    from skimage.draw import ellipse

    size, opacity = {1: (0.8, 0.6), 2: (0.95, 0.8), 3: (1.1, 0.95)}[level]
    out = images.copy()
    for im, p in zip(out, points):
        for eye in (p[36:42], p[42:48]):
            centre, width = eye.mean(axis=0), np.linalg.norm(eye[3] - eye[0])
            rr, cc = ellipse(centre[1], centre[0], 0.7 * size * width, 0.95 * size * width, shape=im.shape)
            im[rr, cc] = _clip((1 - opacity) * im[rr, cc] + opacity * 15)
        _fill_polygon(im, np.array([p[39], p[42], p[42] + [0, 1.5], p[39] + [0, 1.5]]), 15, opacity)
    return out


def _mask(images, level, rng, points):
    """A light mask from the jaw line up to the mouth (1), the nose tip (2) or the nose bridge (3)."""
    top = {1: 33, 2: 30, 3: 28}[level]  # landmark whose height the mask reaches
    out = images.copy()
    for im, p in zip(out, points):
        jaw = p[2:15]
        y = p[top][1]
        polygon = np.vstack([jaw, [[p[14][0], y], [p[2][0], y]]])
        _fill_polygon(im, polygon, 200, 1.0)
    return out


CONDITIONS: dict[str, Condition] = {c.name: c for c in (
    Condition("lowlight", "darkened (gamma 1.5/2.2/3.0, gain 0.6/0.4/0.25) with sensor noise (σ 2/4/6)", _lowlight),
    Condition("glasses", "dark lenses over the eyes, placed from the landmarks (opacity 0.6/0.8/0.95)", _glasses, True),
    Condition("mask", "a mask over the lower face, up to the mouth / nose tip / nose bridge", _mask, True),
    Condition("tilt", "the head rotated in the image plane by ±10°/20°/30°", _tilt),
    Condition("blur", "Gaussian blur, σ 0.75/1.5/2.5 px", _blur),
    Condition("noise", "Gaussian noise, σ 8/16/32 grey levels", _noise),
    Condition("jpeg", "JPEG compression, quality 50/20/10", _jpeg),
    Condition("shift", "the crop shifted by 2/4/6 px and zoomed 1.05/1.1/1.2×", _shift),
)}


def parse_conditions(names) -> list[str]:
    """Condition names from a list or ``a,b,c``; unknown ones raise with a suggestion."""
    from ..errors import did_you_mean

    names = [n.strip() for n in (names.split(",") if isinstance(names, str) else names) if n.strip()]
    unknown = [n for n in names if n not in CONDITIONS]
    if unknown or not names:
        raise ConfigurationError(f"unknown condition {', '.join(unknown) or '(none given)'}"
                                 f"{did_you_mean(unknown[0], CONDITIONS) if unknown else ''}; "
                                 f"choose from {', '.join(CONDITIONS)}")
    return list(dict.fromkeys(names))


def parse_levels(levels=None) -> tuple[int, ...]:
    """Levels from a list or ``1,3`` (default: all of :data:`LEVELS`); others raise."""
    if levels is None or (isinstance(levels, str) and not levels.strip()):
        return LEVELS
    try:
        chosen = [int(v) for v in (levels.split(",") if isinstance(levels, str) else levels)]
    except ValueError:
        chosen = [None]
    if not chosen or any(v not in LEVELS for v in chosen):
        raise ConfigurationError(f"levels {levels!r}: levels are {', '.join(map(str, LEVELS))} (comma-separated)")
    return tuple(sorted(set(chosen)))


def face_landmarks(images) -> np.ndarray:
    """dlib's 68 points of each face, the whole image taken as the face box, ``(n, 68, 2)``."""
    from . import landmarks

    return np.stack([landmarks(im) for im in images])


def apply_condition(images, name: str, level: int, *, seed: int = 0, points=None) -> np.ndarray:
    """``images`` (uint8 grayscale ``(n, h, w)``) under condition ``name`` at ``level`` (1-3), seeded:
    the same images, seed, condition and level give the same result."""
    condition = CONDITIONS[parse_conditions([name])[0]]
    if level not in LEVELS:
        raise ConfigurationError(f"condition levels are {', '.join(map(str, LEVELS))}, got {level}")
    images = np.asarray(images)
    if images.ndim == 4:
        from ..data import to_gray

        images = np.stack([to_gray(im) for im in images])
    if condition.needs_landmarks and points is None:
        points = face_landmarks(images)
    rng = np.random.default_rng([seed, list(CONDITIONS).index(condition.name), level])
    return condition.apply(images, level, rng, points)
