"""Face descriptors, each a scikit-learn transformer from ``uint8`` images to ``float32`` rows; what
they compute, as plain functions, in :mod:`.compute` (which imports no scikit-learn)."""

# Imported on first use, so that ``features.compute`` (a predictor's descriptors) does not import
# scikit-learn.
from ..lazy_exports import lazy_exports

_API = {
    "RUNTIME_PARAMS": "base", "ImageDescriptor": "base", "check_images": "compute", "BoVWDescriptor": "bovw",
    "FilterBankDescriptor": "filterbank", "LandmarkDescriptor": "landmarks", "IntensityHistogram": "pixels",
    "RawPixels": "pixels", "HOGDescriptor": "texture", "LBPDescriptor": "texture", "DESCRIPTORS": "registry",
    "DEFAULT_DESCRIPTORS": "registry", "make_descriptor": "registry", "validate_descriptor": "registry",
}
__all__ = sorted(_API)


__getattr__, __dir__ = lazy_exports(__name__, _API)
