"""Face descriptors, each a scikit-learn transformer from ``uint8`` images to ``float32`` rows."""

from __future__ import annotations

from .base import RUNTIME_PARAMS, ImageDescriptor, check_images
from .landmarks import LandmarkDescriptor
from .pixels import IntensityHistogram, RawPixels
from .texture import HOGDescriptor, LBPDescriptor

# The names used on the command line and in feature files.
DESCRIPTORS: dict[str, type[ImageDescriptor]] = {
    "raw": RawPixels,
    "hist": IntensityHistogram,
    "hog": HOGDescriptor,
    "lbp": LBPDescriptor,
    "landmarks": LandmarkDescriptor,
}


def make_descriptor(name: str, **params) -> ImageDescriptor:
    """The descriptor registered as ``name`` with ``params``; unknown names or parameters raise."""
    if name not in DESCRIPTORS:
        raise ValueError(f"unknown descriptor {name!r}; known: {', '.join(DESCRIPTORS)}")
    cls = DESCRIPTORS[name]
    unknown = set(params) - set(cls().get_params())
    if unknown:
        raise ValueError(f"descriptor {name!r} has no parameter {', '.join(sorted(unknown))}")
    return cls(**params)


__all__ = ["DESCRIPTORS", "RUNTIME_PARAMS", "HOGDescriptor", "ImageDescriptor", "IntensityHistogram",
           "LBPDescriptor", "LandmarkDescriptor", "RawPixels", "check_images", "make_descriptor"]
