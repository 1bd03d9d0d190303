"""The rows a classifier sees: features cast to one dtype, standardised and reduced by PCA, with the
mirror images' rows added for training or kept apart for averaging at prediction."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import StrOptions

from ..errors import ConfigurationError
from ..store import FeatureSet, int8_grid_steps, round_to_float16, round_to_int8_grid
from .spec import BASIS_PRECISIONS, TrainSpec


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


def make_reducer(spec: TrainSpec) -> Pipeline:
    """The unfitted cast → scaler → PCA → float16 or int8 rounding steps that ``spec`` asks for."""
    steps = [(spec.dtype, Float64() if spec.dtype == "float64" else Float32())]
    if spec.scale:
        steps.append(("scaler", StandardScaler()))
    if spec.pca is not None:
        pca = dict(n_components=spec.pca, whiten=spec.whiten, random_state=spec.seed,
                   svd_solver="full" if isinstance(spec.pca, float) else "auto")
        steps.append(("pca", PCA(**pca) if spec.pca_precision is None
                      else RoundedPCA(**pca, precision=spec.pca_precision)))
    if spec.float16_rows:
        steps.append(("float16", RoundToFloat16()))
    if spec.int8_rows:
        steps.append(("int8", RoundToInt8Grid()))
    return Pipeline(steps)


def fit_reducer(spec: TrainSpec, data: FeatureSet, rows, augmented=None) -> tuple[Pipeline, np.ndarray, np.ndarray]:
    """The scaler and PCA fitted on ``rows``, and the reduced rows and labels to fit the classifier on:
    with mirroring, each image's and its mirror image's, and the ``augmented`` (feature rows, labels)
    when given (the reducer is fitted on the images alone, which keeps a wide descriptor's memory at
    one copy of the fit rows)."""
    if isinstance(spec.pca, int) and spec.pca > min(len(rows), data.X.shape[1]):
        raise ConfigurationError(
            f"--pca {spec.pca}: PCA keeps at most min(rows, columns) = {min(len(rows), data.X.shape[1])} components "
            f"of {'+'.join(data.names)} ({data.X.shape[1]} columns, {len(rows)} images to fit on); give a "
            f"smaller count or a fraction of variance such as 0.95")
    reducer = make_reducer(spec).fit(data.X[rows])
    X, y = reducer.transform(data.X[rows]), data.labels[rows]
    if spec.mirror != "none":
        X, y = np.vstack([X, reducer.transform(data.X_mirror[rows])]), np.concatenate([y, y])
    if augmented is not None:
        X, y = np.vstack([X, reducer.transform(augmented[0])]), np.concatenate([y, augmented[1]])
    return reducer, X, y


def query_rows(spec: TrainSpec, data: FeatureSet, reducer, rows) -> tuple[np.ndarray, np.ndarray | None]:
    """Reduced rows to predict and, when predictions average over mirror images, their mirrors'."""
    mirrors = reducer.transform(data.X_mirror[rows]) if spec.mirror == "both" else None
    return reducer.transform(data.X[rows]), mirrors
