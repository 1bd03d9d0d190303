"""What every descriptor shares: image input checking, channel handling and parallel transform."""

from __future__ import annotations

import inspect

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..parallel import map_in_chunks
from . import compute
from .compute import channels, check_images, gray_face

# Parameters that change how a descriptor runs, not what it computes: left out of manifests.
RUNTIME_PARAMS = ("n_jobs", "progress")


class ImageDescriptor(TransformerMixin, BaseEstimator):
    """Base of the descriptors: ``fit`` learns the channel count, ``transform`` describes each image.

    Subclasses set ``name``, the command-line name under which :data:`~.compute.DESCRIBERS` holds
    what they compute for a chunk of validated images, and, when they use colour, ``uses_colour =
    True``. Every subclass takes ``n_jobs`` (worker
    processes, joblib's convention), ``progress`` (a progress bar on stderr) and ``photometric`` (a
    normalisation of the grayscale face before it is described: :mod:`.photometric`; colour descriptors
    then describe the normalised grayscale face).
    """

    name = ""
    uses_colour = False
    # Descriptors whose fit learns from the images (a vocabulary) set this, and implement
    # learned_state() / set_learned_state() so the learned arrays can be stored beside the features.
    learns_from_images = False
    # Cheap descriptors run in this process: shipping images to workers would cost more than it saves.
    parallel = True
    # Parameters that take one of a fixed set of values (the command line offers them as choices).
    param_choices: dict[str, tuple] = {}

    def _describe(self, images) -> np.ndarray:
        return compute.DESCRIBERS[self.name].rows(self, images)

    def fit(self, X, y=None):
        from .photometric import PHOTOMETRIC

        PHOTOMETRIC[self.photometric]  # an unknown method is an error here, before any work
        X = check_images(X)
        colour = X.ndim == 4 if isinstance(X, np.ndarray) else any(x.ndim == 3 for x in X)
        self.n_channels_ = 3 if self.uses_colour and colour and self.photometric == "none" else 1
        self.n_features_out_ = self._describe([np.zeros((48, 48), dtype=np.uint8)]).shape[1]
        return self

    def transform(self, X) -> np.ndarray:
        check_is_fitted(self, "n_features_out_")
        X = check_images(X)
        if len(X) == 0:
            return np.zeros((0, self.n_features_out_), dtype=np.float32)
        out = map_in_chunks(self._describe, X, n_jobs=self.n_jobs if self.parallel else 1,
                            progress=self.progress, desc=type(self).__name__)
        return np.asarray(out, dtype=np.float32)

    def learned_state(self) -> dict[str, np.ndarray]:
        """Arrays ``fit`` learned from the images (none for most descriptors)."""
        return {}

    def set_learned_state(self, state: dict[str, np.ndarray]) -> ImageDescriptor:
        return self

    def descriptor_params(self) -> dict:
        """The parameters that determine the output (what a manifest records)."""
        return {k: v for k, v in self.get_params().items() if k not in RUNTIME_PARAMS}

    # helpers for subclasses -------------------------------------------------------------
    def _channels(self, image: np.ndarray) -> np.ndarray:
        """The image in the channel mode learned by ``fit`` (gray, or RGB)."""
        return channels(self, image)

    def _gray(self, image: np.ndarray) -> np.ndarray:
        """Grayscale at the descriptor's face size."""
        return gray_face(self, image)

    def __setstate__(self, state):
        """A descriptor saved before a parameter existed loads with that parameter's default, which is
        what it computed (new parameters keep the old output at their defaults)."""
        super().__setstate__(state)
        for name, parameter in inspect.signature(type(self).__init__).parameters.items():
            if parameter.default is not parameter.empty and name not in self.__dict__:
                setattr(self, name, parameter.default)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags
