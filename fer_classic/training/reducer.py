"""The rows a classifier sees: features cast to one dtype, standardised and reduced by PCA as a
:class:`~fer_classic.training.spec.TrainSpec` asks, with the mirror images' rows added for training or
kept apart for averaging at prediction."""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ..errors import ConfigurationError
from ..models.reduction import Float32, Float64, RoundedPCA, RoundToFloat16, RoundToInt8Grid
from ..store import FeatureSet
from .spec import TrainSpec


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
