"""Every face aligned by its dlib landmarks to one canonical frame before description.

Classical descriptors are tied to where the eyes and mouth sit in the frame: a face cropped a little
wider, higher or tilted puts them elsewhere. :class:`FaceAligner` finds dlib's 68 points on each image
(the whole image taken as the face box, as for FER2013's crops) and warps it so the eyes are level, at
FER2013's distance and position (:func:`fer_classic.faces.align_face`). ``extract --align`` describes
the aligned images, and a run trained on them aligns every image it is given the same way.
"""

from __future__ import annotations

import functools

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from ..parallel import map_in_chunks


def _align_chunk(images, size: int) -> np.ndarray:
    from ..data import to_gray
    from ..faces import align_face, landmarks

    out = []
    for image in images:
        gray = to_gray(np.asarray(image))
        out.append(align_face(gray, landmarks(gray), size))
    return np.stack(out)


class FaceAligner(TransformerMixin, BaseEstimator):
    """Images → ``size``×``size`` grayscale faces aligned by their landmarks (stateless).

    Parameters
    ----------
    size : int
        Side of the aligned images.
    n_jobs, progress
        Worker processes and a progress bar on stderr.
    """

    def __init__(self, *, size: int = 48, n_jobs: int | None = None, progress: bool = False):
        self.size = size
        self.n_jobs = n_jobs
        self.progress = progress

    def fit(self, X=None, y=None):
        return self

    def transform(self, X) -> np.ndarray:
        if len(X) == 0:
            return np.zeros((0, self.size, self.size), dtype=np.uint8)
        return map_in_chunks(functools.partial(_align_chunk, size=self.size), X, n_jobs=self.n_jobs,
                             progress=self.progress, desc="aligning")

    def __sklearn_is_fitted__(self):
        return True
