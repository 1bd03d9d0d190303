"""Training a run: features → (scaler → PCA) → classifier, selected on validation, scored on test.

The selected model is saved as a complete image→label pipeline (descriptors with the parameters the
features were extracted with, then the fitted scaler, PCA and classifier), so ``evaluate`` and
``predict`` can apply it to new images.
"""

from __future__ import annotations

import collections
import copy
import logging
import time
import warnings
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, log_loss
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import StandardScaler

from .cluster import current_cluster
from .evaluation import Split, classification_metrics, learning_curve_rates, make_splits
from .features import make_descriptor
from .knn_grid import knn_grid_predictions
from .parallel import call_unpacked
from .mirror import MIRROR_MODES, MirrorAveragedClassifier, predict_mirror_averaged
from .models import DEFAULT_GRIDS, GridError, describe_params, expand_grid, make_classifier, resolve_params
from .plots import plot_confusion_matrix, plot_knn_accuracy, plot_learning_curves
from .runs import MODEL_FILE, new_run_directory, save_model, write_metrics
from .store import FeatureDirectory, FeatureStoreError, library_versions, write_text_atomic

log = logging.getLogger(__name__)


@dataclass
class TrainSpec:
    """Everything that decides a run's numbers (recorded in its metrics.json)."""

    features: list[str]
    model: str
    params: dict = field(default_factory=dict)
    grid: list | dict | str | None = None  # "default": the model's default grid
    pca: int | float | None = None
    whiten: bool = False
    scale: bool = True
    protocol: str | None = None
    seed: int = 42
    folds: int = 10
    class_weight: str | None = None
    mirror: str = "none"  # "train": add mirrored training images; "both": also average over mirrors at test
    dtype: str = "float64"  # float32 halves the memory of wide features (a bag of words) before PCA


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


# --------------------------------------------------------------------------- features

@dataclass
class TrainingData:
    X: np.ndarray
    labels: np.ndarray
    usage: np.ndarray
    ids: np.ndarray
    class_names: tuple[str, ...]
    manifest: dict
    blocks: dict[str, int]
    X_mirror: np.ndarray | None = None  # the same rows for each image's mirror image


def load_training_data(features_dir, names: list[str], mirrored: bool = False) -> TrainingData:
    """The named descriptors of a features folder side by side (feature fusion), checked to describe
    the same images in the same order; with ``mirrored``, those of the mirror images too."""
    folder = FeatureDirectory(features_dir)
    manifest = folder.manifest()
    sets = [folder.load(n) for n in names]
    X_mirror = None
    if mirrored:
        X_mirror = np.hstack([folder.load(n, mirrored=True).X for n in names])
    first = sets[0]
    for other in sets[1:]:
        if not (np.array_equal(other.ids, first.ids) and np.array_equal(other.labels, first.labels)):
            raise FeatureStoreError(f"{features_dir}: {first.name}.npz and {other.name}.npz describe different "
                                    f"images; extract them again together")
    X = np.hstack([s.X for s in sets]) if len(sets) > 1 else first.X
    return TrainingData(X, first.labels, first.usage.astype(str), first.ids, first.class_names, manifest,
                        {s.name: s.X.shape[1] for s in sets}, X_mirror)


def image_pipeline_front(names: list[str], manifest: dict, features_dir):
    """The descriptors as they were run for the features: stateless ones fitted on a blank image
    (``fit`` sets channel handling), the others given what they learned at extraction."""
    shape = tuple(manifest.get("image_shape") or (48, 48))
    dummy = np.zeros((1,) + shape, dtype=np.uint8)
    folder = FeatureDirectory(features_dir)
    steps = []
    for n in names:
        entry = manifest["descriptors"][n]
        descriptor = make_descriptor(n, **entry["params"])
        if descriptor.learns_from_images:
            descriptor.set_learned_state(folder.load_state(n, entry))
        else:
            descriptor.fit(dummy)
        steps.append((n, descriptor))
    return steps[0][1] if len(steps) == 1 else FeatureUnion(steps)


# --------------------------------------------------------------------------- preprocessing

def make_reducer(spec: TrainSpec) -> Pipeline:
    if spec.dtype not in ("float64", "float32"):
        raise GridError(f"dtype must be float64 or float32, got {spec.dtype!r}")
    steps = [(spec.dtype, Float64() if spec.dtype == "float64" else Float32())]
    if spec.scale:
        steps.append(("scaler", StandardScaler()))
    if spec.pca is not None:
        steps.append(("pca", PCA(n_components=spec.pca, whiten=spec.whiten, random_state=spec.seed,
                                 svd_solver="full" if isinstance(spec.pca, float) else "auto")))
    return Pipeline(steps)


# --------------------------------------------------------------------------- MLP with curves

def fit_mlp_with_curves(clf, params: dict, X, y, X_val, y_val, patience: int = 5):
    """Train an MLPClassifier one epoch at a time (Adam state kept across epochs), recording train
    and validation accuracy and loss; with early stopping, keep the epoch best on validation."""
    classes = np.unique(y)
    curves = {k: [] for k in ("train_accuracy", "validation_accuracy", "train_loss", "validation_loss")}
    best = (-1.0, None, 0)
    for epoch in range(1, params["epochs"] + 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.partial_fit(X, y, classes=classes)
        for split, Xs, ys in (("train", X, y), ("validation", X_val, y_val)):
            proba = clf.predict_proba(Xs)
            curves[f"{split}_accuracy"].append(float(accuracy_score(ys, clf.classes_[proba.argmax(1)])))
            curves[f"{split}_loss"].append(float(log_loss(ys, proba, labels=clf.classes_)))
        val = curves["validation_accuracy"][-1]
        if val > best[0]:
            best = (val, (copy.deepcopy(clf.coefs_), copy.deepcopy(clf.intercepts_)), epoch)
        elif params["early_stopping"] and epoch - best[2] >= patience:
            break
    if params["early_stopping"]:
        clf.coefs_, clf.intercepts_ = best[1]
    curves["best_epoch"] = best[2] if params["early_stopping"] else len(curves["train_accuracy"])
    return clf, curves


# --------------------------------------------------------------------------- grid

def _fit_and_score(model, params, spec, X, y, queries, n_jobs):
    """Fit one configuration and predict the query sets (each rows and, or None, their mirrors)."""
    start = time.perf_counter()
    clf = make_classifier(model, params, seed=spec.seed, class_weight=spec.class_weight, n_jobs=n_jobs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    seconds = time.perf_counter() - start
    return clf, {name: predict_mirror_averaged(clf, *q) for name, q in queries.items()}, seconds


def _table_params(params: dict) -> dict:
    return {k: (",".join(map(str, v)) if isinstance(v, tuple) else v) for k, v in params.items()}


def run_grid(spec: TrainSpec, configs: list[dict], X, y, queries: dict, y_queries: dict, n_jobs):
    """Score every configuration; returns table rows and, per configuration, the fitted model (or
    None where it is cheaper to refit) and MLP curves."""
    rows, fitted, curves = [], [None] * len(configs), [None] * len(configs)
    if spec.model == "knn":
        start = time.perf_counter()
        predictions = knn_grid_predictions(X, y, {name: q[0] for name, q in queries.items()}, configs)
        per_config = (time.perf_counter() - start) / len(configs)
        seconds = [per_config] * len(configs)
    elif spec.model == "mlp":
        predictions, seconds = [], []
        for i, params in enumerate(configs):
            start = time.perf_counter()
            clf = make_classifier("mlp", params, seed=spec.seed)
            clf, curves[i] = fit_mlp_with_curves(clf, params, X, y, queries["validation"][0],
                                                 y_queries["validation"])
            seconds.append(time.perf_counter() - start)
            predictions.append({name: predict_mirror_averaged(clf, *q) for name, q in queries.items()})
            fitted[i] = clf
            log.info("  %s: validation %.4f", describe_params(params), accuracy_score(y_queries["validation"],
                                                                                     predictions[-1]["validation"]))
    else:
        # Configurations in parallel; each model single-threaded so the cores are not oversubscribed.
        results = Parallel(n_jobs=n_jobs if len(configs) > 1 else 1)(
            delayed(call_unpacked)(_fit_and_score, (spec.model, params, spec, X, y, queries, 1)) for params in configs)
        fitted = [r[0] for r in results]
        predictions = [r[1] for r in results]
        seconds = [r[2] for r in results]
    for params, pred, sec in zip(configs, predictions, seconds):
        row = _table_params(params)
        row["validation_accuracy"] = float(accuracy_score(y_queries["validation"], pred["validation"]))
        if "test" in pred:
            row["test_accuracy_not_used_for_selection"] = float(accuracy_score(y_queries["test"], pred["test"]))
        row["fit_seconds"] = round(sec, 3)
        rows.append(row)
    return rows, fitted, curves


def fit_reducer(spec: TrainSpec, data: TrainingData, rows) -> tuple[Pipeline, np.ndarray, np.ndarray]:
    """The scaler and PCA fitted on ``rows``, and the reduced rows and labels to fit the classifier on:
    with mirroring, each image's and its mirror image's (the reducer is fitted on the images alone,
    which keeps a wide descriptor's memory at one copy of the fit rows)."""
    reducer = make_reducer(spec).fit(data.X[rows])
    X, y = reducer.transform(data.X[rows]), data.labels[rows]
    if spec.mirror != "none":
        X, y = np.vstack([X, reducer.transform(data.X_mirror[rows])]), np.concatenate([y, y])
    return reducer, X, y


def _query_rows(spec: TrainSpec, data: TrainingData, reducer, rows) -> tuple[np.ndarray, np.ndarray | None]:
    """Reduced rows to predict and, when predictions average over mirror images, their mirrors'."""
    mirrors = reducer.transform(data.X_mirror[rows]) if spec.mirror == "both" else None
    return reducer.transform(data.X[rows]), mirrors


def evaluate_split(spec: TrainSpec, data: TrainingData, split: Split, configs: list[dict], n_jobs) -> dict:
    """Select on the split's validation part, refit, and score the test part once."""
    y = data.labels
    t0 = time.perf_counter()
    reducer, fitted, curves, best_i = None, [None], [None], 0
    if len(configs) == 1 and spec.model != "mlp":
        # Nothing to select: fit once, on everything the protocol allows for fitting.
        rows = [{**_table_params(configs[0]), "validation_accuracy": None, "fit_seconds": None}]
        log.info("%s: %s (single configuration, no selection)", split.name or "split", describe_params(configs[0]))
    else:
        reducer, X_fit, y_fit = fit_reducer(spec, data, split.fit)
        queries = {part: _query_rows(spec, data, reducer, getattr(split, part)) for part in ("validation", "test")}
        y_queries = {part: y[getattr(split, part)] for part in ("validation", "test")}
        rows, fitted, curves = run_grid(spec, configs, X_fit, y_fit, queries, y_queries, n_jobs)
        best_i = int(np.argmax([r["validation_accuracy"] for r in rows]))  # first of equals: grid order
        log.info("%s: best on %s: %s (validation accuracy %.4f)", split.name or "split", split.validation_name,
                 describe_params(configs[best_i]), rows[best_i]["validation_accuracy"])
    grid_seconds = time.perf_counter() - t0
    best = configs[best_i]

    # The MLP keeps the model trained (and early-stopped) against validation; others refit on
    # everything the protocol allows for fitting.
    refit_rows = split.fit if spec.model == "mlp" else split.refit
    start = time.perf_counter()
    if np.array_equal(refit_rows, split.fit) and fitted[best_i] is not None:
        final_reducer, clf = reducer, fitted[best_i]
        fit_seconds = rows[best_i]["fit_seconds"]
    else:
        final_reducer, X_fit, y_fit = fit_reducer(spec, data, refit_rows)
        clf = make_classifier(spec.model, best, seed=spec.seed, class_weight=spec.class_weight, n_jobs=n_jobs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X_fit, y_fit)
        fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    y_pred = predict_mirror_averaged(clf, *_query_rows(spec, data, final_reducer, split.test))
    predict_seconds = time.perf_counter() - start
    return {"split": split, "rows": rows, "best_params": best, "best_index": best_i, "reducer": final_reducer,
            "classifier": clf, "y_pred": y_pred, "curves": curves[best_i], "fit_seconds": fit_seconds,
            "predict_seconds": predict_seconds, "grid_seconds": grid_seconds,
            "metrics": classification_metrics(y[split.test], y_pred, data.class_names)}


# --------------------------------------------------------------------------- the run

def default_protocol(usage: np.ndarray) -> str:
    return "usage" if np.isin(usage, ["Training"]).any() and np.isin(usage, ["PublicTest", "PrivateTest"]).any() \
        else "stratified"


def train_run(features_dir, out_dir, spec: TrainSpec, *, n_jobs: int | None = None, force: bool = False,
              command: str | None = None) -> dict:
    """Train, select and test as ``spec`` says; write the run directory; return its metrics."""
    if spec.mirror not in MIRROR_MODES:
        raise GridError(f"mirror must be one of {', '.join(MIRROR_MODES)}, got {spec.mirror!r}")
    if spec.mirror == "both" and spec.model == "knn":
        raise GridError("knn cannot average over mirror images (it has no class scores); use mirror=train")
    data = load_training_data(features_dir, spec.features, mirrored=spec.mirror != "none")
    spec.protocol = spec.protocol or default_protocol(data.usage)
    grid = DEFAULT_GRIDS[spec.model] if spec.grid == "default" else spec.grid
    configs = expand_grid(spec.model, grid, spec.params) if grid else [resolve_params(spec.model, spec.params)]
    splits = make_splits(data.labels, data.usage, spec.protocol, seed=spec.seed, folds=spec.folds)
    log.info("%s on %s (%d-d), %s protocol, %d configuration(s)", spec.model, "+".join(spec.features),
             data.X.shape[1], spec.protocol, len(configs))
    with new_run_directory(out_dir, force=force) as tmp:
        results = [evaluate_split(spec, data, s, configs, n_jobs) for s in splits]
        final = results[0]
        if spec.protocol == "kfold":
            final = _kfold_final(spec, data, results, n_jobs)
        pipeline = Pipeline([("descriptors", image_pipeline_front(spec.features, data.manifest, features_dir)),
                             *final["reducer"].steps, ("classifier", final["classifier"])])
        if spec.mirror == "both":
            pipeline = MirrorAveragedClassifier(pipeline)
        metrics = _metrics(spec, data, results, final, command)
        metrics["model_file"] = MODEL_FILE
        metrics["model_sha256"] = save_model(pipeline, tmp / MODEL_FILE)
        _write_outputs(tmp, spec, data, results, metrics)
        write_metrics(tmp, metrics)
    return metrics


def _kfold_final(spec, data, results, n_jobs) -> dict:
    """The model shipped for a k-fold run: the configuration chosen most often, refitted on everything."""
    chosen = collections.Counter(describe_params(r["best_params"]) for r in results).most_common(1)[0][0]
    best = next(r["best_params"] for r in results if describe_params(r["best_params"]) == chosen)
    reducer, X_fit, y_fit = fit_reducer(spec, data, np.arange(len(data.labels)))
    clf = make_classifier(spec.model, best, seed=spec.seed, class_weight=spec.class_weight, n_jobs=n_jobs)
    clf.fit(X_fit, y_fit)
    y_true = np.concatenate([data.labels[r["split"].test] for r in results])
    y_pred = np.concatenate([r["y_pred"] for r in results])
    return {**results[0], "best_params": best, "reducer": reducer, "classifier": clf,
            "metrics": classification_metrics(y_true, y_pred, data.class_names)}


def _metrics(spec, data, results, final, command) -> dict:
    split = results[0]["split"]
    m = dict(final["metrics"])
    out = {
        "accuracy": m.pop("accuracy"), "balanced_accuracy": m.pop("balanced_accuracy"),
        "macro_f1": m.pop("macro_f1"), "per_class": m.pop("per_class"),
        "labels": m.pop("labels"), "confusion_matrix": m.pop("confusion_matrix"),
        "n_test": m.pop("n"),
        "protocol": spec.protocol,
        "test_split": split.test_name if spec.protocol != "kfold" else f"all {spec.folds} folds, pooled",
        "validation_split": split.validation_name,
        "split_sizes": split.sizes() if spec.protocol != "kfold" else [r["split"].sizes() for r in results],
        "model": spec.model,
        "best_params": {k: list(v) if isinstance(v, tuple) else v for k, v in final["best_params"].items()},
        "features": spec.features,
        "feature_dims": data.blocks,
        "descriptor_params": {n: data.manifest["descriptors"][n]["params"] for n in spec.features},
        "spec": asdict(spec),
        "n_configurations": len(results[0]["rows"]),
        "fit_seconds": round(sum(r["fit_seconds"] for r in results), 3),
        "predict_seconds": round(sum(r["predict_seconds"] for r in results), 3),
        "grid_seconds": round(sum(r["grid_seconds"] for r in results), 3),
        "class_names": list(data.class_names),
        "image_shape": data.manifest.get("image_shape"),
        "dataset_fingerprint": data.manifest["fingerprint"],
        "dataset_source": data.manifest.get("source"),
        "versions": library_versions(),
        "computed_on": current_cluster() or "local",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": command,
    }
    pca = final["reducer"].named_steps.get("pca")
    if pca is not None:
        out["pca_components"] = int(pca.n_components_)
        out["pca_explained_variance"] = float(pca.explained_variance_ratio_.sum())
    if spec.protocol == "kfold":
        accs = [r["metrics"]["accuracy"] for r in results]
        out["folds"] = [{"fold": i + 1, "accuracy": r["metrics"]["accuracy"],
                         "macro_f1": r["metrics"]["macro_f1"],
                         "best_params": describe_params(r["best_params"])} for i, r in enumerate(results)]
        out["accuracy_mean"], out["accuracy_std"] = float(np.mean(accs)), float(np.std(accs))
    if final.get("curves"):
        c = final["curves"]
        out["learning_curves"] = {k: c[k] for k in ("train_accuracy", "validation_accuracy", "train_loss",
                                                    "validation_loss")}
        out["best_epoch"] = c["best_epoch"]
        out["convergence"] = {
            "accuracy": learning_curve_rates(c["train_accuracy"], c["validation_accuracy"]),
            "loss": learning_curve_rates(c["train_loss"], c["validation_loss"]),
        }
    return out


def write_run_outputs(run_dir: Path, model: str, features: list[str], metrics: dict, grid_rows) -> None:
    """What every run directory holds besides metrics and model: the confusion matrix (CSV and
    image) and grid.csv, the configurations tried (or members combined) with their scores."""
    labels = metrics["labels"]
    cm = pd.DataFrame(metrics["confusion_matrix"], index=pd.Index(labels, name="true"), columns=labels)
    write_text_atomic(run_dir / "confusion_matrix.csv", cm.to_csv())
    title = (f"{model} on {'+'.join(features)}: {metrics['test_split']} "
             f"accuracy {metrics['accuracy']:.2%} ({metrics['protocol']} protocol)")
    plot_confusion_matrix(metrics["confusion_matrix"], labels, run_dir / "confusion_matrix.png", title)
    write_text_atomic(run_dir / "grid.csv", pd.DataFrame(grid_rows).to_csv(index=False))


def _write_outputs(run_dir: Path, spec, data, results, metrics) -> None:
    frames = []
    for r in results:
        frame = pd.DataFrame(r["rows"])
        frame.insert(0, "selected", [i == r["best_index"] for i in range(len(frame))])
        if spec.protocol == "kfold":
            frame.insert(0, "fold", r["split"].name)
        frames.append(frame)
    write_run_outputs(run_dir, spec.model, spec.features, metrics, pd.concat(frames))
    if spec.model == "knn" and len(results[0]["rows"]) > 1:
        plot_knn_accuracy(results[0]["rows"], run_dir / "knn_accuracy_vs_k.png",
                          f"KNN on {'+'.join(spec.features)}: {results[0]['split'].validation_name}")
    if "learning_curves" in metrics:
        curves = pd.DataFrame(metrics["learning_curves"])
        curves.index = pd.RangeIndex(1, len(curves) + 1, name="epoch")
        write_text_atomic(run_dir / "mlp_curves.csv", curves.to_csv())
        plot_learning_curves(metrics["learning_curves"], run_dir / "mlp_curves.png",
                             f"MLP {describe_params(results[0]['best_params'])}")
