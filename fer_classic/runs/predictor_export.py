"""A fitted model's numpy form (see :mod:`fer_classic.runs.predictor`): the JSON spec and the arrays,
or the reason there is none. The classifier's form is its model kind's (:mod:`fer_classic.models.kinds`);
the descriptors, reduction steps and the wrappers around pipelines (mirror averaging, temperature
scaling, ensembles) are written here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import StandardScaler

from ..features import RUNTIME_PARAMS, ImageDescriptor
from ..features.alignment import FaceAligner
from ..models import kinds  # noqa: F401  (registers the model kinds' numpy forms)
from ..models.calibration import TemperatureScaledClassifier
from ..models.ensemble import SoftVotingEnsemble
from ..models.mirror import MirrorAveragedClassifier
from ..models.numpy_form import ArrayRefs, NoNumpyForm, export_classifier
from ..models.reduction import Float64, RoundToFloat16, RoundToInt8Grid
from ..store import smallest_exact_dtype
from .predictor import PREDICTOR_FILE, write_predictor


def predictor_parts(model) -> tuple[dict, dict[str, np.ndarray]]:
    """The spec and arrays of ``model``'s predictor; raises :class:`NoNumpyForm` saying which part has no
    numpy form."""
    if len(model.classes_) < 3:
        raise NoNumpyForm("two-class models are labelled through model.skops")
    arrays = ArrayRefs()
    spec = {"model": _part(model, arrays),
            "score_kind": "probability" if hasattr(model, "predict_proba") else "decision",
            "classes": np.asarray(model.classes_).tolist()}
    return spec, arrays.arrays


def save_predictor(model, path) -> tuple[str | None, str | None]:
    """Write ``model``'s predictor to ``path``: (its SHA-256, None), or (None, why there is none)."""
    try:
        spec, arrays = predictor_parts(model)
    except NoNumpyForm as exc:
        return None, str(exc)
    return write_predictor(spec, arrays, path), None


def write_run_predictor(model, run_dir) -> dict:
    """Write ``model``'s predictor into the run directory ``run_dir``; returns what metrics.json records
    of it: ``{"file", "sha256"}``, or ``{"absent": why}``."""
    sha256, absent = save_predictor(model, Path(run_dir) / PREDICTOR_FILE)
    return {"file": PREDICTOR_FILE, "sha256": sha256} if sha256 else {"absent": absent}


def _part(model, arrays: ArrayRefs) -> dict:
    if isinstance(model, TemperatureScaledClassifier):
        return {"kind": "temperature", "temperature": float(model.temperature_), "inner": _part(model.classifier, arrays)}
    if isinstance(model, MirrorAveragedClassifier):
        return {"kind": "mirror", "inner": _pipeline(model.pipeline_, arrays)}
    if isinstance(model, SoftVotingEnsemble):
        n = len(model.members_)
        weights = model.weights if model.weights is not None else [1 / n] * n
        scales = model.scales if model.scales is not None else [1.0] * n
        return {"kind": "ensemble", "members": [_part(m, arrays) for m in model.members_],
                "weights": [float(w) for w in weights], "scales": [float(s) for s in scales]}
    if isinstance(model, Pipeline):
        return _pipeline(model, arrays)
    raise NoNumpyForm(f"{type(model).__name__} has no numpy form")


def _pipeline(pipeline, arrays: ArrayRefs) -> dict:
    if not isinstance(pipeline, Pipeline) or len(pipeline.steps) < 2:
        raise NoNumpyForm(f"{type(pipeline).__name__} is not a descriptors → classifier pipeline")
    describe, align = pipeline.steps[0][1], None
    if isinstance(describe, Pipeline) and isinstance(describe.steps[0][1], FaceAligner):
        align, describe = describe.steps[0][1].size, describe.steps[1][1]
    parts = [d for _, d in describe.transformer_list] if isinstance(describe, FeatureUnion) else [describe]
    return {"kind": "pipeline", "align": align, "descriptors": [_descriptor(d, arrays) for d in parts],
            "steps": [_step(s, arrays) for _, s in pipeline.steps[1:-1]],
            "classifier": export_classifier(pipeline.steps[-1][1], arrays)}


def _descriptor(descriptor, arrays: ArrayRefs) -> dict:
    if not isinstance(descriptor, ImageDescriptor):
        raise NoNumpyForm(f"{type(descriptor).__name__} is not a fer-classic descriptor")
    name = descriptor.name
    attributes = {}
    for key, value in vars(descriptor).items():
        if key in RUNTIME_PARAMS or key.startswith("_"):
            continue
        if isinstance(value, np.ndarray):
            attributes[key] = arrays.ref(value)
        elif isinstance(value, list) and value and all(isinstance(v, np.ndarray) for v in value):
            attributes[key] = [arrays.ref(v) for v in value]
        elif isinstance(value, (bool, int, float, str, type(None))) or (
                isinstance(value, (tuple, list)) and all(isinstance(v, (int, float)) for v in value)):
            attributes[key] = list(value) if isinstance(value, (tuple, list)) else value
        else:
            raise NoNumpyForm(f"descriptor {name}: attribute {key} ({type(value).__name__}) has no numpy form")
    return {"name": name, "attributes": attributes}


def _step(step, arrays: ArrayRefs) -> dict:
    if isinstance(step, Float64):  # Float32 too
        return {"kind": "cast", "dtype": np.dtype(step.dtype).name}
    if isinstance(step, RoundToFloat16):
        return {"kind": "float16"}
    if isinstance(step, RoundToInt8Grid):
        return {"kind": "int8", "steps": arrays.ref(step.steps_)}
    if isinstance(step, StandardScaler):
        return {"kind": "scaler", "mean": arrays.ref(step.mean_ if step.with_mean else None),
                "scale": arrays.ref(step.scale_ if step.with_std else None)}
    if isinstance(step, PCA):
        whiten_scale = None
        if step.whiten:  # PCA.transform's divisor, clipped at machine epsilon as it clips it
            whiten_scale = np.sqrt(step.explained_variance_)
            whiten_scale[whiten_scale < np.finfo(whiten_scale.dtype).eps] = np.finfo(whiten_scale.dtype).eps
        # a RoundedPCA's basis is stored in the type its values were rounded to, and projects in its own
        components, smaller = step.components_, smallest_exact_dtype(step.components_, half=True)
        stored = components if smaller is None else components.astype(smaller)
        return {"kind": "pca", "components": arrays.ref(stored), "dtype": components.dtype.name,
                "mean": arrays.ref(step.mean_), "whiten_scale": arrays.ref(whiten_scale)}
    raise NoNumpyForm(f"{type(step).__name__} has no numpy form")
