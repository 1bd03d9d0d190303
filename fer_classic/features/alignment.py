"""Every face aligned by its dlib landmarks to one canonical frame before description.

Classical descriptors are tied to where the eyes and mouth sit in the frame: a face cropped a little
wider, higher or tilted puts them elsewhere. :class:`FaceAligner` finds dlib's 68 points on each image
(the whole image taken as the face box, as for FER2013's crops) and warps it so the eyes are level, at
FER2013's distance and position (:func:`fer_classic.faces.align_face`). ``extract --align`` describes
the aligned images, and a run trained on them aligns every image it is given the same way.

An ensemble with several members on aligned faces, or with mirror images, hands the aligners of its
members the same images: the last aligned batches are kept (up to ``CACHE_BYTES``, keyed by a hash of
the images), so each image is aligned once per prediction.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from collections import OrderedDict

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from ..parallel import map_in_chunks


def _align_chunk(images, size: int) -> np.ndarray:
    from ..faces import align_whole_images

    return align_whole_images(images, size)


CACHE_BYTES = 256 << 20
_aligned: OrderedDict[tuple, np.ndarray] = OrderedDict()


def _cache_key(X, size: int) -> tuple | None:
    if not isinstance(X, np.ndarray):
        return None
    digest = hashlib.blake2b(np.ascontiguousarray(X).data, digest_size=16).digest()
    return X.shape, X.dtype.str, size, digest


def remember_aligned(images: np.ndarray, size: int, aligned: np.ndarray) -> None:
    """Give :class:`FaceAligner` ``images`` already aligned at ``size`` (by
    :func:`fer_classic.faces.align_whole_images`, e.g. in the process that found the faces)."""
    key = _cache_key(np.asarray(images), size)
    if key is not None:
        _remember(key, np.asarray(aligned))


def _remember(key: tuple, aligned: np.ndarray) -> None:
    if aligned.nbytes > CACHE_BYTES:
        return
    _aligned[key] = aligned
    while sum(a.nbytes for a in _aligned.values()) > CACHE_BYTES:
        _aligned.popitem(last=False)


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
        if getattr(self, "_passing_through", False):
            return np.asarray(X)
        if len(X) == 0:
            return np.zeros((0, self.size, self.size), dtype=np.uint8)
        key = _cache_key(X, self.size)
        if key in _aligned:
            _aligned.move_to_end(key)
            return _aligned[key].copy()
        aligned = map_in_chunks(functools.partial(_align_chunk, size=self.size), X, n_jobs=self.n_jobs,
                                progress=self.progress, desc="aligning")
        if key is not None:
            _remember(key, aligned.copy())
        return aligned

    @contextlib.contextmanager
    def passing_through(self):
        """Within the block, ``transform`` returns its input unchanged: for images aligned already (the
        mirror image of an aligned face, which is how ``extract --align --mirror`` describes mirrors).
        Blocks nest: leaving an inner one keeps the outer one's pass-through."""
        outer = self.__dict__.get("_passing_through", False)
        self._passing_through = True
        try:
            yield self
        finally:
            if not outer:
                del self._passing_through

    def __sklearn_is_fitted__(self):
        return True
