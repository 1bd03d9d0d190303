"""Photometric normalisation of a grayscale face before it is described, so that faces lit and exposed
differently look alike to the descriptors: each method maps a ``uint8`` image to a ``uint8`` image of
the same shape. A descriptor's ``photometric`` parameter names one (``extract --photometric``); runs
trained on such features normalise every face they are given the same way, photos and videos alike."""

from __future__ import annotations

import numpy as np

from ..registry import Registry


def _to_uint8(x: np.ndarray, low: float, high: float) -> np.ndarray:
    return np.clip(np.rint((x - low) * (255.0 / (high - low))), 0, 255).astype(np.uint8)


def none(face: np.ndarray) -> np.ndarray:
    """The face as it is."""
    return face


def clahe(face: np.ndarray) -> np.ndarray:
    """Contrast-limited adaptive histogram equalisation (scikit-image's ``equalize_adapthist``: tiles of
    an eighth of the face, clip limit 0.01)."""
    from skimage.exposure import equalize_adapthist

    return _to_uint8(equalize_adapthist(face, clip_limit=0.01), 0.0, 1.0)


def tan_triggs(face: np.ndarray, gamma: float = 0.2, sigma0: float = 1.0, sigma1: float = 2.0,
               alpha: float = 0.1, tau: float = 10.0) -> np.ndarray:
    """Tan & Triggs (2010): gamma correction, a difference of Gaussians, two-stage contrast
    equalisation and a tanh that compresses what is left of the extremes (their default constants)."""
    from scipy.ndimage import gaussian_filter

    x = np.power(face.astype(np.float64) / 255.0 + 1e-3, gamma)
    x = gaussian_filter(x, sigma0, mode="reflect") - gaussian_filter(x, sigma1, mode="reflect")
    x = x / (np.mean(np.abs(x) ** alpha) + 1e-12) ** (1 / alpha)
    x = x / (np.mean(np.minimum(np.abs(x), tau) ** alpha) + 1e-12) ** (1 / alpha)
    return _to_uint8(tau * np.tanh(x / tau), -tau, tau)


def standardise(face: np.ndarray) -> np.ndarray:
    """Zero mean and unit variance per face, ±3 standard deviations mapped onto 0…255."""
    x = face.astype(np.float64)
    return _to_uint8((x - x.mean()) / (x.std() + 1e-6), -3.0, 3.0)


# The methods by their names on the command line and in manifests.
PHOTOMETRIC: Registry = Registry("photometric normalisation")
for _f in (none, clahe, tan_triggs, standardise):
    PHOTOMETRIC.register(_f.__name__.replace("_", "-"), _f)


def normalise(face: np.ndarray, method: str) -> np.ndarray:
    """``face`` (2-D ``uint8``) normalised by the method ``method`` names."""
    return face if method == "none" else PHOTOMETRIC[method](face)
