"""The steps between descriptors and a classifier: casts to one dtype, PCA with its basis rounded to a
smaller type, and rounding of the rows to float16 values or an int8 grid (assembled from a training
spec by :mod:`fer_classic.training.reducer`)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.utils._param_validation import StrOptions

from ..store import BASIS_PRECISIONS, int8_grid_steps, round_to_float16, round_to_int8_grid


class Float64(TransformerMixin, BaseEstimator):
    """Casts feature rows to float64, so that training and prediction compute alike."""

    dtype = np.float64

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.asarray(X, dtype=self.dtype)

    def __sklearn_is_fitted__(self):
        return True  # stateless


class Float32(Float64):
    """Casts feature rows to float32 (for wide features, where float64 copies would not fit in memory)."""

    dtype = np.float32


class RoundToFloat16(TransformerMixin, BaseEstimator):
    """Rounds rows to float16 values (beyond float16's range: to its largest finite value), keeping
    their dtype: whatever a model keeps of them is then stored exactly in half the bytes."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return round_to_float16(np.asarray(X))

    def __sklearn_is_fitted__(self):
        return True  # stateless


class RoundToInt8Grid(TransformerMixin, BaseEstimator):
    """Rounds rows to a grid of -127..127 steps per column, each column's step its largest magnitude in
    the fit rows over 127 (:func:`~fer_classic.store.round_to_int8_grid`; beyond, clipped), keeping their
    dtype: whatever a model keeps of them is then stored exactly as int8 numbers and a step per column,
    a quarter of float32's bytes."""

    def fit(self, X, y=None):
        self.steps_ = int8_grid_steps(np.asarray(X))
        return self

    def transform(self, X):
        return round_to_int8_grid(np.asarray(X), self.steps_)


class RoundedPCA(PCA):
    """PCA whose fitted basis (``components_``) is rounded to ``precision``'s values: float32 (for a
    float64 basis) or float16, keeping its dtype. The basis is then stored exactly in that type, and
    training and prediction project with the same rounded basis.

    Parameters
    ----------
    n_components, whiten, svd_solver, random_state
        As :class:`sklearn.decomposition.PCA`'s.
    precision : {"float32", "float16"}
        The type whose values the basis is rounded to (float16: clipped to its finite range, which a
        unit-length basis never reaches).
    """

    _parameter_constraints = {**PCA._parameter_constraints, "precision": [StrOptions(set(BASIS_PRECISIONS))]}

    def __init__(self, n_components=None, *, whiten=False, svd_solver="auto", random_state=None,
                 precision="float32"):
        super().__init__(n_components=n_components, whiten=whiten, svd_solver=svd_solver,
                         random_state=random_state)
        self.precision = precision

    def fit(self, X, y=None):
        super().fit(X)
        basis = self.components_
        rounded = round_to_float16(basis) if self.precision == "float16" else basis.astype(np.float32)
        self.components_ = rounded.astype(basis.dtype)
        return self

    def fit_transform(self, X, y=None):
        """The rows projected with the rounded basis (PCA's own fit_transform returns the unrounded ones)."""
        return self.fit(X).transform(X)
