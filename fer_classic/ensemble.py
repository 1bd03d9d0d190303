"""Soft-voting ensembles: several pipelines (each its own descriptors, PCA and classifier) whose
class scores are added up with weights set on the validation split.

Weighting ``rank`` gives member i the weight R(A_i) / Σ R(A_j), where R(A_i) is the rank of its
validation accuracy (1 for the worst); ``equal`` weights all alike; ``accuracy`` in proportion to
the validation accuracy. Members are fitted on the protocol's fit split only, since their scores on
the validation split set the weights (as the MLP keeps the model early-stopped on validation).
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np
from joblib import Parallel, delayed
from scipy.stats import rankdata
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline

from .evaluation import classification_metrics, make_splits
from .features.base import check_images
from .mirror import MIRROR_MODES, MirrorAveragedClassifier, class_scores
from .models import GridError, describe_params, make_classifier, resolve_params
from .parallel import call_unpacked
from .store import FeatureDirectory
from .training import (TrainingData, TrainSpec, _query_rows, default_protocol, fit_reducer, image_pipeline_front,
                       load_training_data)

log = logging.getLogger(__name__)

WEIGHTINGS = ("rank", "equal", "accuracy")


@dataclass
class EnsembleSpec:
    """Members (each a single-configuration TrainSpec) and how their votes are weighted."""

    members: list[TrainSpec]
    weighting: str = "rank"
    protocol: str | None = None
    seed: int = 42
    model: str = field(default="ensemble", init=False)

    @property
    def features(self) -> list[str]:
        return list(dict.fromkeys(f for m in self.members for f in m.features))

    @property
    def mirror(self) -> str:
        """The strongest mirroring any member needs (for extraction)."""
        modes = [m.mirror for m in self.members]
        return max(modes, key=MIRROR_MODES.index)


def vote_weights(accuracies, weighting: str) -> np.ndarray:
    """Member weights summing to 1 from their validation ``accuracies``."""
    accuracies = np.asarray(accuracies, dtype=float)
    if weighting == "rank":
        raw = rankdata(accuracies)  # ties share the mean rank
    elif weighting == "accuracy":
        raw = accuracies
    elif weighting == "equal":
        raw = np.ones_like(accuracies)
    else:
        raise GridError(f"weighting must be one of {', '.join(WEIGHTINGS)}, got {weighting!r}")
    return raw / raw.sum()


def soft_vote(scores, weights, scales) -> np.ndarray:
    """The ensemble's class scores: each member's ``scores`` divided by its ``scales`` entry (its
    scores' spread on validation, so members with different score ranges count alike), weighted."""
    return sum(w * s / scale for s, w, scale in zip(scores, weights, scales))


class SoftVotingEnsemble(ClassifierMixin, BaseEstimator):
    """An image classifier voting with its members' class scores (see :func:`soft_vote`). Members are
    fitted image → label pipelines with the same classes."""

    def __init__(self, members=None, weights=None, scales=None):
        self.members = members
        self.weights = weights
        self.scales = scales

    def fit(self, X, y):
        raise NotImplementedError("members are fitted one by one by fer_classic.ensemble.train_ensemble")

    @property
    def classes_(self):
        return self.members[0].classes_

    def __sklearn_is_fitted__(self):
        return self.members is not None and self.weights is not None

    def image_pipelines(self) -> list:
        out = []
        for m in self.members:
            out += m.image_pipelines() if hasattr(m, "image_pipelines") else [m]
        return out

    def decision_function(self, X) -> np.ndarray:
        X = check_images(X)
        return soft_vote([class_scores(m, X) for m in self.members], self.weights, self.scales)

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.decision_function(X), axis=1)]


def member_scores(spec: TrainSpec, data, split, n_jobs) -> dict:
    """Fit one member on the fit split; its class scores on validation and test. ``data`` is its
    TrainingData, or the features folder to load it from (in the worker, so that the parent process
    does not hold every member's features at once)."""
    if not isinstance(data, TrainingData):
        data = load_training_data(data, spec.features, mirrored=spec.mirror != "none")
    params = resolve_params(spec.model, spec.params)
    start = time.perf_counter()
    reducer, X_fit, y_fit = fit_reducer(spec, data, split.fit)
    clf = make_classifier(spec.model, params, seed=spec.seed, class_weight=spec.class_weight, n_jobs=n_jobs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_fit, y_fit)
    fit_seconds = time.perf_counter() - start
    scores = {}
    for part in ("validation", "test"):
        X, X_mirror = _query_rows(spec, data, reducer, getattr(split, part))
        s = class_scores(clf, X)
        scores[part] = s if X_mirror is None else (s + class_scores(clf, X_mirror)) / 2
    return {"reducer": reducer, "classifier": clf, "params": params, "scores": scores,
            "fit_seconds": fit_seconds}


def train_ensemble(features_dir, out_dir, spec: EnsembleSpec, *, n_jobs: int | None = None, force: bool = False,
                   command: str | None = None) -> dict:
    """Fit the members (in parallel), weight them on validation, score the ensemble once on test;
    write a run directory like ``train_run``'s (its grid.csv lists the members); return its metrics."""
    from datetime import datetime, timezone

    from .cluster import current_cluster
    from .runs import MODEL_FILE, new_run_directory, save_model, write_metrics
    from .store import library_versions
    from .training import write_run_outputs

    if spec.weighting not in WEIGHTINGS:
        raise GridError(f"weighting must be one of {', '.join(WEIGHTINGS)}, got {spec.weighting!r}")
    if not spec.members:
        raise GridError("an ensemble needs at least one member")
    # Labels and splits from the narrowest descriptor: the members load their own features.
    manifest = FeatureDirectory(features_dir).manifest()
    narrowest = min(spec.features, key=lambda f: (manifest["descriptors"].get(f) or {}).get("dim", 0))
    first = load_training_data(features_dir, [narrowest])
    spec.protocol = spec.protocol or default_protocol(first.usage)
    if spec.protocol == "kfold":
        raise GridError("an ensemble is weighted on a validation split: use the usage or stratified protocol")
    split = make_splits(first.labels, first.usage, spec.protocol, seed=spec.seed)[0]
    log.info("ensemble of %d members on %s, %s protocol, %s weighting", len(spec.members),
             "+".join(spec.features), spec.protocol, spec.weighting)
    start = time.perf_counter()
    with new_run_directory(out_dir, force=force) as tmp:
        fitted = Parallel(n_jobs=n_jobs if len(spec.members) > 1 else 1)(
            delayed(call_unpacked)(member_scores, (m, features_dir, split, 1)) for m in spec.members)
        y = first.labels
        classes = fitted[0]["classifier"].classes_
        accuracies = [float(np.mean(classes[f["scores"]["validation"].argmax(1)] == y[split.validation]))
                      for f in fitted]
        weights = vote_weights(accuracies, spec.weighting)
        scales = [float(np.std(f["scores"]["validation"])) or 1.0 for f in fitted]
        combined = {part: soft_vote([f["scores"][part] for f in fitted], weights, scales)
                    for part in ("validation", "test")}
        y_pred = classes[combined["test"].argmax(1)]
        metrics = classification_metrics(y[split.test], y_pred, first.class_names)
        rows = []
        for m, f, acc, w in zip(spec.members, fitted, accuracies, weights):
            test_acc = float(np.mean(classes[f["scores"]["test"].argmax(1)] == y[split.test]))
            rows.append({"member": _member_name(m), "validation_accuracy": acc,
                         "test_accuracy_not_used_for_selection": test_acc, "weight": round(float(w), 6),
                         "fit_seconds": round(f["fit_seconds"], 3)})
        rows.append({"member": "ensemble", "validation_accuracy":
                     float(np.mean(classes[combined["validation"].argmax(1)] == y[split.validation])),
                     "test_accuracy_not_used_for_selection": metrics["accuracy"], "weight": 1.0,
                     "fit_seconds": None})
        members = []
        for m, f in zip(spec.members, fitted):
            pipe = Pipeline([("descriptors", image_pipeline_front(m.features, first.manifest, features_dir)),
                             *f["reducer"].steps, ("classifier", f["classifier"])])
            members.append(MirrorAveragedClassifier(pipe) if m.mirror == "both" else pipe)
        model = SoftVotingEnsemble(members, [float(w) for w in weights], scales)
        out = {
            "accuracy": metrics.pop("accuracy"), "balanced_accuracy": metrics.pop("balanced_accuracy"),
            "macro_f1": metrics.pop("macro_f1"), "per_class": metrics.pop("per_class"),
            "labels": metrics.pop("labels"), "confusion_matrix": metrics.pop("confusion_matrix"),
            "n_test": metrics.pop("n"), "protocol": spec.protocol, "test_split": split.test_name,
            "validation_split": split.validation_name, "split_sizes": split.sizes(), "model": "ensemble",
            "best_params": {"weighting": spec.weighting,
                            "members": [f"{m.model}:{'+'.join(m.features)}" for m in spec.members]},
            "members": rows[:-1], "ensemble_validation_accuracy": rows[-1]["validation_accuracy"],
            "features": spec.features,
            "feature_dims": {f: first.manifest["descriptors"][f]["dim"] for f in spec.features},
            "descriptor_params": {n: first.manifest["descriptors"][n]["params"] for n in spec.features},
            "spec": asdict(spec), "n_configurations": 1,
            "fit_seconds": round(time.perf_counter() - start, 3), "predict_seconds": None, "grid_seconds": 0.0,
            "class_names": list(first.class_names), "image_shape": first.manifest.get("image_shape"),
            "dataset_fingerprint": first.manifest["fingerprint"], "dataset_source": first.manifest.get("source"),
            "versions": library_versions(), "computed_on": current_cluster() or "local",
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "command": command,
            "model_file": MODEL_FILE,
        }
        out["model_sha256"] = save_model(model, tmp / MODEL_FILE)
        write_run_outputs(tmp, "ensemble", spec.features, out, rows)
        write_metrics(tmp, out)
    return out


def _member_name(m: TrainSpec) -> str:
    pca = "" if m.pca is None else f" pca={m.pca}"
    mirror = "" if m.mirror == "none" else f" mirror={m.mirror}"
    return f"{m.model} on {'+'.join(m.features)}{pca}{mirror} ({describe_params(resolve_params(m.model, m.params))})"
