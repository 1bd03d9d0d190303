"""What decides a run's numbers: :class:`TrainSpec` for one pipeline, :class:`EnsembleSpec` for a
soft-voting ensemble of them. Both are recorded whole in the run's metrics.json."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigurationError
from ..models import MIRROR_MODES, model_kind
from ..models.ensemble import WEIGHTINGS
from ..store import BASIS_PRECISIONS
from .protocols import PROTOCOLS

DTYPES = ("float64", "float32")
ALIGNED_FOLDER = "aligned"  # the subfolder of a features folder that holds descriptors of aligned faces


@dataclass
class TrainSpec:
    """One pipeline: descriptors → (scaler → PCA) → classifier, selected and tested by a protocol.

    Parameters
    ----------
    features : list of str
        Descriptors to fuse, as named in the features folder (``["hog", "lbp"]``).
    model : str
        A registered model kind (``knn``, ``mlp``, ``svm``, ``rf``, ...).
    params : dict
        The model's parameters; missing ones take their defaults.
    grid : dict, list of dict, "default" or None
        Configurations to select from on the validation split (``"default"``: the kind's default grid).
    pca : int, float or None
        Components to keep (an int), a fraction of variance (a float in (0, 1)), or no PCA.
    whiten, scale : bool
        Whiten the PCA components; standardise features first.
    protocol : str or None
        ``usage``, ``stratified`` or ``kfold``; None picks ``usage`` when the data has FER2013 usage.
    seed : int
        Seeds every random choice of training: the validation split, k-fold folds, PCA and the
        classifier. (Descriptors that learn at extraction, the bag of words, have their own seed.)
    folds : int
        Folds of the ``kfold`` protocol.
    class_weight : "balanced" or None
        Class weighting, for kinds that take it.
    mirror : str
        ``none``; ``train``: add each training image's mirror image; ``both``: also average each
        prediction over the face and its mirror image.
    dtype : str
        ``float64``, or ``float32`` to halve the memory of wide features before PCA.
    calibrate : bool
        For kinds with class scores but no probabilities (svm, local): keep the model fitted on the fit
        split (no refit on fit + validation) and fit a temperature on its validation scores, so that the
        saved model gives calibrated probabilities (``predict_proba``). Predictions are the scores'
        argmax either way. Not with the k-fold protocol.
    augment : list of str
        Conditions (:mod:`fer_classic.faces.conditions`) to add every fit-split image under once more, at
        a seeded random level, when fitting the classifier (see :mod:`fer_classic.training.augment`).
    aligned : bool
        Read the descriptors from the features folder's ``aligned/`` subfolder: the same images with
        every face aligned by its landmarks first (``extract --align --out FEATURES/aligned``). An
        ensemble may mix members on aligned and unaligned faces.
    float16_rows : bool
        Round the classifier's input rows (after scaling and PCA) to float16 values, computed with in
        ``dtype`` as before: what the model keeps of them (an RBF SVM's support vectors, KNN's rows) is
        then stored exactly in half the bytes of float32, in model.skops and predictor.npz. For a model
        within a size budget (the ``compact`` preset); the rounding (a relative 0.05%) is part of the
        model, so its labels are measured with it.
    int8_rows : bool
        Round the classifier's input rows to a grid of -127..127 steps per column, a column's step its
        largest magnitude among the fit rows over 127 (:class:`~fer_classic.models.reduction.
        RoundToInt8Grid`; larger values, e.g. of other rows, are clipped): what the model keeps of them
        is then stored exactly as int8 numbers and one step per column, a quarter of float32's bytes
        (the ``best`` preset). Coarser than ``float16_rows`` (a step is 1/127 of a column's largest
        magnitude): the rounding is part of the model, and its labels are measured with it. Not with
        ``float16_rows``.
    pca_precision : {"float32", "float16"} or None
        Round the fitted PCA basis to this type's values (:class:`~fer_classic.models.reduction.
        RoundedPCA`): it is then stored exactly in that type (float32: half a float64 basis; float16:
        half a float32 one), and training and prediction project with it alike. None: the basis as fitted.
    """

    features: list[str]
    model: str
    params: dict = field(default_factory=dict)
    grid: list | dict | str | None = None
    pca: int | float | None = None
    whiten: bool = False
    scale: bool = True
    protocol: str | None = None
    seed: int = 42
    folds: int = 10
    class_weight: str | None = None
    mirror: str = "none"
    dtype: str = "float64"
    calibrate: bool = True
    augment: list[str] = field(default_factory=list)
    aligned: bool = False
    float16_rows: bool = False
    int8_rows: bool = False
    pca_precision: str | None = None

    def features_folder(self, features_dir) -> Path:
        """Where this pipeline's descriptors are: ``features_dir``, or its ``aligned/`` subfolder."""
        return Path(features_dir) / ALIGNED_FOLDER if self.aligned else Path(features_dir)

    def validate(self) -> "TrainSpec":
        """Raise ConfigurationError for settings that cannot work together; return self."""
        kind = model_kind(self.model)
        if not self.features:
            raise ConfigurationError("no descriptors given")
        if self.mirror not in MIRROR_MODES:
            raise ConfigurationError(f"mirror must be one of {', '.join(MIRROR_MODES)}, got {self.mirror!r}")
        if self.mirror == "both" and not kind.has_scores:
            raise ConfigurationError(f"{self.model} cannot average over mirror images (it has no class scores); "
                                     f"use mirror=train")
        if self.dtype not in DTYPES:
            raise ConfigurationError(f"dtype must be float64 or float32, got {self.dtype!r}")
        if self.pca_precision is not None and (self.pca_precision not in BASIS_PRECISIONS or self.pca is None):
            raise ConfigurationError(f"pca_precision must be one of {', '.join(BASIS_PRECISIONS)}, with a PCA; "
                                     f"got {self.pca_precision!r} with pca={self.pca!r}")
        if self.float16_rows and self.int8_rows:
            raise ConfigurationError("rows are rounded to float16 or to an int8 grid, not both")
        if self.protocol is not None and self.protocol not in PROTOCOLS:
            raise ConfigurationError(f"unknown protocol {self.protocol!r}; choose from {', '.join(PROTOCOLS)}")
        if self.class_weight not in (None, "balanced"):
            raise ConfigurationError(f"class_weight must be balanced or none, got {self.class_weight!r}")
        if self.augment:
            from ..faces.conditions import parse_conditions

            self.augment = parse_conditions(self.augment)
        if self.class_weight and not kind.class_weight:
            raise ConfigurationError(f"--class-weight is not supported by {self.model}")
        return self

    def configurations(self) -> list[dict]:
        """The resolved configurations to select from: the grid's, or the one given by ``params``."""
        kind = model_kind(self.model)
        grid = list(kind.default_grid) if self.grid == "default" else self.grid
        return kind.expand_grid(grid, self.params) if grid else [kind.resolve(self.params)]

    def with_seed(self, seed: int) -> "TrainSpec":
        out = copy.deepcopy(self)
        out.seed = seed
        return out


@dataclass
class EnsembleSpec:
    """A soft-voting ensemble: members (each a single-configuration :class:`TrainSpec`) whose class
    scores are combined with weights set on the validation split (``rank``, ``equal`` or ``accuracy``).

    With ``refit``, the members fitted on the fit split only set the weights, score scales and the
    vote's temperature; each is then fitted again on fit + validation, and those are the model (one
    more fit per member: more data for the model, as a single pipeline's refit; the ensemble's
    validation accuracy is then the first members')."""

    members: list[TrainSpec]
    weighting: str = "rank"
    protocol: str | None = None
    seed: int = 42
    refit: bool = False
    model: str = field(default="ensemble", init=False)

    @property
    def features(self) -> list[str]:
        return list(dict.fromkeys(f for m in self.members for f in m.features))

    @property
    def mirror(self) -> str:
        """The strongest mirroring any member needs (for extraction)."""
        return max((m.mirror for m in self.members), key=MIRROR_MODES.index)

    def validate(self) -> "EnsembleSpec":
        if self.weighting not in WEIGHTINGS:
            raise ConfigurationError(f"weighting must be one of {', '.join(WEIGHTINGS)}, got {self.weighting!r}")
        if not self.members:
            raise ConfigurationError("an ensemble needs at least one member")
        if self.protocol == "kfold":
            raise ConfigurationError("an ensemble is weighted on a validation split: use the usage or stratified "
                                     "protocol")
        for m in self.members:
            m.validate()
        return self

    def with_seed(self, seed: int) -> "EnsembleSpec":
        out = copy.deepcopy(self)
        out.seed = seed
        for m in out.members:
            m.seed = seed
        return out
