"""Classifier kinds and what makes them fast or stronger: one registry of model kinds (parameters,
grids, builders), the exact fast KNN, BLAS scores for RBF SVMs, mirror averaging and soft-voting
ensembles. Nothing here reads files or knows about protocols."""

# Imported on first use, so that ``models.svm_scores`` (a predictor's SVMs) does not import scikit-learn.
from ..lazy_exports import lazy_exports

_API = {
    "TemperatureScaledClassifier": "calibration", "fit_temperature": "calibration",
    "SoftVotingEnsemble": "ensemble", "soft_vote": "ensemble", "vote_weights": "ensemble",
    "FastKNeighborsClassifier": "knn", "LocalLearningClassifier": "local", "MIRROR_MODES": "mirror",
    "MirrorAveragedClassifier": "mirror", "class_scores": "mirror", "mirror_averaged_scores": "mirror",
    "mirror_images": "mirror", "MODEL_KINDS": "registry", "ModelKind": "registry", "Param": "registry",
    "describe_params": "registry", "expand_grid": "registry", "model_kind": "registry",
    "read_grid_file": "registry", "register_model": "registry", "resolve_params": "registry",
}
__all__ = sorted(_API)


__getattr__, __dir__ = lazy_exports(__name__, _API, first=("kinds",))
