"""dlib's 68 facial landmarks, and HOG or LBP descriptors of patches centred on them."""

from __future__ import annotations

from .base import ImageDescriptor
from .compute import PATCH_KINDS


class LandmarkDescriptor(ImageDescriptor):
    """dlib's 68 points as 136 normalised coordinates (x0, y0, x1, y1, …), optionally followed by a
    descriptor of the ``patch_size``-pixel patch around each point of the face at ``size``×``size``.

    FER2013 images are already cropped faces, so the whole image is the face box. With
    ``detect=True`` dlib's face detector picks the most confident face first (``upsample`` times upsampled);
    where it finds none, the whole image is used.
    """

    name = "landmarks"  # its command-line name and its describer's (compute.DESCRIBERS)

    param_choices = {"patches": PATCH_KINDS}

    def __init__(self, patches: str = "none", patch_size: int = 12, detect: bool = False, upsample: int = 0,
                 size: int = 48, photometric: str = "none", n_jobs: int | None = None, progress: bool = False):
        self.patches = patches
        self.patch_size = patch_size
        self.detect = detect
        self.upsample = upsample
        self.size = size
        self.photometric = photometric
        self.n_jobs = n_jobs
        self.progress = progress
