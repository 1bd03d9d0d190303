"""Classifier kinds and what makes them fast or stronger: one registry of model kinds (parameters,
grids, builders), the exact fast KNN, BLAS scores for RBF SVMs, mirror averaging and soft-voting
ensembles. Nothing here reads files or knows about protocols."""

from . import kinds  # noqa: F401  (registers the shipped model kinds)
from .calibration import TemperatureScaledClassifier, fit_temperature
from .ensemble import SoftVotingEnsemble, soft_vote, vote_weights
from .knn import FastKNeighborsClassifier
from .local import LocalLearningClassifier
from .mirror import MIRROR_MODES, MirrorAveragedClassifier, class_scores, mirror_averaged_scores, mirror_images
from .registry import (MODEL_KINDS, ModelKind, Param, describe_params, expand_grid, model_kind, read_grid_file,
                       register_model, resolve_params)

__all__ = ["FastKNeighborsClassifier", "LocalLearningClassifier", "MIRROR_MODES", "MODEL_KINDS", "MirrorAveragedClassifier", "ModelKind", "Param",
           "SoftVotingEnsemble", "TemperatureScaledClassifier", "class_scores", "describe_params", "expand_grid", "fit_temperature", "mirror_averaged_scores",
           "mirror_images", "model_kind", "read_grid_file", "register_model", "resolve_params", "soft_vote",
           "vote_weights"]
