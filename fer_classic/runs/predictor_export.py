"""A fitted model's numpy form (see :mod:`fer_classic.runs.predictor`): the JSON spec and the arrays,
or the reason there is none."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC

from ..features import DESCRIPTORS, RUNTIME_PARAMS, ImageDescriptor
from ..features.alignment import FaceAligner
from ..models.calibration import TemperatureScaledClassifier
from ..models.ensemble import SoftVotingEnsemble
from ..models.knn import FastKNeighborsClassifier
from ..models.local import LocalLearningClassifier
from ..models.mirror import MirrorAveragedClassifier
from ..models.reduction import Float64, RoundToFloat16, RoundToInt8Grid
from ..models.svm_scores import has_fast_scores, svc_layout
from ..store import compact_form, smallest_exact_dtype
from .predictor import PREDICTOR_FILE, write_predictor

_MLP_ACTIVATIONS = ("relu", "tanh", "identity")


class NoPredictor(Exception):
    """The model has a part without a numpy form (the message names it)."""


class _Arrays:
    """The arrays of a spec, each stored once however often it is referred to."""

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}
        self._names: dict[int, str] = {}

    def ref(self, array) -> dict | None:
        if array is None:
            return None
        if id(array) not in self._names:
            self._names[id(array)] = name = f"a{len(self.arrays)}"
            self.arrays[name] = np.ascontiguousarray(array)
        return {"array": self._names[id(array)]}


def predictor_parts(model) -> tuple[dict, dict[str, np.ndarray]]:
    """The spec and arrays of ``model``'s predictor; raises :class:`NoPredictor` saying which part has no
    numpy form."""
    if len(model.classes_) < 3:
        raise NoPredictor("two-class models are labelled through model.skops")
    arrays = _Arrays()
    spec = {"model": _part(model, arrays),
            "score_kind": "probability" if hasattr(model, "predict_proba") else "decision",
            "classes": np.asarray(model.classes_).tolist()}
    return spec, arrays.arrays


def save_predictor(model, path) -> tuple[str | None, str | None]:
    """Write ``model``'s predictor to ``path``: (its SHA-256, None), or (None, why there is none)."""
    try:
        spec, arrays = predictor_parts(model)
    except NoPredictor as exc:
        return None, str(exc)
    return write_predictor(spec, arrays, path), None


def write_run_predictor(model, run_dir) -> dict:
    """Write ``model``'s predictor into the run directory ``run_dir``; returns what metrics.json records
    of it: ``{"file", "sha256"}``, or ``{"absent": why}``."""
    sha256, absent = save_predictor(model, Path(run_dir) / PREDICTOR_FILE)
    return {"file": PREDICTOR_FILE, "sha256": sha256} if sha256 else {"absent": absent}


def _part(model, arrays: _Arrays) -> dict:
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
    raise NoPredictor(f"{type(model).__name__} has no numpy form")


def _pipeline(pipeline, arrays: _Arrays) -> dict:
    if not isinstance(pipeline, Pipeline) or len(pipeline.steps) < 2:
        raise NoPredictor(f"{type(pipeline).__name__} is not a descriptors → classifier pipeline")
    describe, align = pipeline.steps[0][1], None
    if isinstance(describe, Pipeline) and isinstance(describe.steps[0][1], FaceAligner):
        align, describe = describe.steps[0][1].size, describe.steps[1][1]
    parts = [d for _, d in describe.transformer_list] if isinstance(describe, FeatureUnion) else [describe]
    return {"kind": "pipeline", "align": align, "descriptors": [_descriptor(d, arrays) for d in parts],
            "steps": [_step(s, arrays) for _, s in pipeline.steps[1:-1]],
            "classifier": _classifier(pipeline.steps[-1][1], arrays)}


def _descriptor(descriptor, arrays: _Arrays) -> dict:
    if not isinstance(descriptor, ImageDescriptor):
        raise NoPredictor(f"{type(descriptor).__name__} is not a fer-classic descriptor")
    name = next(n for n, cls in DESCRIPTORS.items() if type(descriptor) is cls)
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
            raise NoPredictor(f"descriptor {name}: attribute {key} ({type(value).__name__}) has no numpy form")
    return {"name": name, "attributes": attributes}


def _step(step, arrays: _Arrays) -> dict:
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
    raise NoPredictor(f"{type(step).__name__} has no numpy form")


def _classifier(clf, arrays: _Arrays) -> dict:
    classes = np.asarray(clf.classes_).tolist()
    if isinstance(clf, SVC) and has_fast_scores(clf):
        layout = svc_layout(clf)
        # float32 (float16 numbers with TrainSpec.float16_rows, an int8 grid's with int8_rows): stored in
        # their most compact exact form, scored in float32
        support_vectors, steps = compact_form(layout.support_vectors)
        return {"kind": "rbf_svm", "support_vectors": arrays.ref(support_vectors), "sv_steps": arrays.ref(steps),
                "sv_norms": arrays.ref(layout.sv_norms), "dual_coef": arrays.ref(clf.dual_coef_),
                "n_support": clf.n_support_.tolist(), "intercept": arrays.ref(clf.intercept_),
                "gamma": float(clf._gamma), "classes": classes, "break_ties": bool(clf.break_ties)}
    if isinstance(clf, LinearSVC) and len(classes) > 2:
        return {"kind": "linear", "coef": arrays.ref(clf.coef_), "intercept": arrays.ref(clf.intercept_),
                "classes": classes}
    if isinstance(clf, MLPClassifier) and clf.activation in _MLP_ACTIVATIONS and clf.out_activation_ == "softmax":
        return {"kind": "mlp", "coefs": [arrays.ref(c) for c in clf.coefs_],
                "intercepts": [arrays.ref(i) for i in clf.intercepts_], "activation": clf.activation,
                "classes": classes}
    if isinstance(clf, FastKNeighborsClassifier):
        rows = clf._fit_X
        smaller = smallest_exact_dtype(rows)
        return {"kind": "knn", "classes": classes, "k": int(clf.n_neighbors), "p": float(clf.p),
                "weights": clf.weights, "rows": arrays.ref(rows if smaller is None else rows.astype(smaller)),
                "labels": arrays.ref(clf._y.astype(np.int32))}
    if isinstance(clf, LocalLearningClassifier):
        rows, steps = compact_form(clf._fit_X)  # float32, stored in their most compact exact form (as SVMs')
        return {"kind": "local", "classes": classes, "k": int(clf.k), "metric": clf.metric,
                "model": clf._local_model_params(), "dtype": clf._fit_X.dtype.name,
                "rows": arrays.ref(rows), "rows_steps": arrays.ref(steps),
                "labels": arrays.ref(clf._y.astype(np.int32))}
    if isinstance(clf, RandomForestClassifier) and clf.n_outputs_ == 1:
        return {"kind": "forest", "classes": classes, **{k: arrays.ref(v) for k, v in _forest_arrays(clf).items()}}
    raise NoPredictor(f"{type(clf).__name__} has no numpy form")


def _forest_arrays(forest) -> dict[str, np.ndarray]:
    """Every tree's nodes in one set of arrays, in their smallest exact form: children as int32 node
    numbers across the forest (-1 at leaves), split features as int32, thresholds as the largest float32
    not above each float64 one (the forest compares float32 rows, and a float32 ``x <= t`` exactly when
    ``x <=`` that float32), and class fractions for the leaves alone, in float64 as fitted."""
    trees = [e.tree_ for e in forest.estimators_]
    starts = np.r_[0, np.cumsum([t.node_count for t in trees])]
    left = np.concatenate([np.where(t.children_left < 0, -1, t.children_left + s) for t, s in zip(trees, starts)])
    right = np.concatenate([np.where(t.children_right < 0, -1, t.children_right + s) for t, s in zip(trees, starts)])
    threshold = np.concatenate([t.threshold for t in trees])
    below = threshold.astype(np.float32)
    over = below.astype(np.float64) > threshold
    below[over] = np.nextafter(below[over], np.float32(-np.inf))
    leaves = left < 0
    values = np.concatenate([t.value[:, 0, :] for t in trees])
    leaf_row = np.full(len(left), -1, dtype=np.int32)
    leaf_row[leaves] = np.arange(leaves.sum())
    return {"roots": starts[:-1].astype(np.int32), "left": left.astype(np.int32), "right": right.astype(np.int32),
            "feature": np.concatenate([t.feature for t in trees]).astype(np.int32), "threshold": below,
            "leaf_row": leaf_row, "leaf_value": values[leaves]}
