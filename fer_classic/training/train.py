"""Training a run: features → (scaler → PCA) → classifier, selected on validation, scored on test.

The selected model is saved as a complete image→label pipeline (descriptors with the parameters the
features were extracted with, then the fitted scaler, PCA and classifier), so ``evaluate`` and
``predict`` can apply it to new images.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import time

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.metrics import accuracy_score
from sklearn.pipeline import Pipeline

from ..evaluation.metrics import classification_metrics, learning_curve_rates
from ..features.extraction import fitted_descriptors
from ..models import MirrorAveragedClassifier, TemperatureScaledClassifier, describe_params, fit_temperature, model_kind
from ..models.calibration import calibration_summary
from ..models.mirror import mirror_averaged_labels_and_scores, predict_mirror_averaged
from ..parallel import call_unpacked
from ..runs.folders import new_run_directory
from ..runs.record import RunOutcome, write_run
from ..store import FeatureDirectory, FeatureSet
from .augment import augmented_rows
from .protocols import Split, check_trainable, default_protocol, make_splits
from .reducer import fit_reducer, query_rows
from .spec import TrainSpec

log = logging.getLogger(__name__)


def _fit_and_score(spec: TrainSpec, params, X, y, queries, n_jobs):
    """Fit one configuration and predict the query sets (each rows and, or None, their mirrors)."""
    start = time.perf_counter()
    clf = model_kind(spec.model).fit(params, X, y, seed=spec.seed, class_weight=spec.class_weight, n_jobs=n_jobs)
    seconds = time.perf_counter() - start
    return clf, {name: predict_mirror_averaged(clf, *q) for name, q in queries.items()}, seconds


def _table_params(params: dict) -> dict:
    return {k: (",".join(map(str, v)) if isinstance(v, tuple) else v) for k, v in params.items()}


def run_grid(spec: TrainSpec, configs: list[dict], X, y, queries: dict, y_queries: dict, n_jobs):
    """Score every configuration; returns table rows and, per configuration, the fitted model (or
    None where it is cheaper to refit) and learning curves (or None)."""
    kind = model_kind(spec.model)
    fitted, curves = [None] * len(configs), [None] * len(configs)
    if kind.search is not None:  # every configuration at once (KNN: one neighbour search per norm)
        start = time.perf_counter()
        predictions = kind.search(X, y, {name: q[0] for name, q in queries.items()}, configs)
        seconds = [(time.perf_counter() - start) / len(configs)] * len(configs)
    elif kind.fit_watching_validation is not None:  # the MLP: epochs watched on validation
        predictions, seconds = [], []
        for i, params in enumerate(configs):
            start = time.perf_counter()
            clf = kind.make(params, seed=spec.seed)
            clf, curves[i] = kind.fit_watching_validation(clf, params, X, y, queries["validation"][0],
                                                          y_queries["validation"])
            seconds.append(time.perf_counter() - start)
            predictions.append({name: predict_mirror_averaged(clf, *q) for name, q in queries.items()})
            fitted[i] = clf
            log.info("  %s: validation %.4f", describe_params(params),
                     accuracy_score(y_queries["validation"], predictions[-1]["validation"]))
    else:
        # Configurations in parallel; each model single-threaded so the cores are not oversubscribed.
        results = Parallel(n_jobs=n_jobs if len(configs) > 1 else 1)(
            delayed(call_unpacked)(_fit_and_score, (spec, params, X, y, queries, 1)) for params in configs)
        fitted, predictions, seconds = map(list, zip(*results))
    rows = []
    for params, pred, sec in zip(configs, predictions, seconds):
        row = _table_params(params)
        row["validation_accuracy"] = float(accuracy_score(y_queries["validation"], pred["validation"]))
        if "test" in pred:
            row["test_accuracy_not_used_for_selection"] = float(accuracy_score(y_queries["test"], pred["test"]))
        row["fit_seconds"] = round(sec, 3)
        rows.append(row)
    return rows, fitted, curves


def evaluate_split(spec: TrainSpec, data: FeatureSet, split: Split, configs: list[dict], n_jobs,
                   features_dir=None) -> dict:
    """Select on the split's validation part, refit, and score the test part once."""
    kind = model_kind(spec.model)
    augmented = augmented_rows(features_dir, data, spec.augment, split.fit, seed=spec.seed, n_jobs=n_jobs)
    watches_validation = kind.fit_watching_validation is not None
    y = data.labels
    t0 = time.perf_counter()
    reducer, fitted, curves, best_i = None, [None], [None], 0
    if len(configs) == 1 and not watches_validation:
        # Nothing to select: fit once, on everything the protocol allows for fitting.
        rows = [{**_table_params(configs[0]), "validation_accuracy": None, "fit_seconds": None}]
        log.info("%s: %s (single configuration, no selection)", split.name or "split", describe_params(configs[0]))
    else:
        reducer, X_fit, y_fit = fit_reducer(spec, data, split.fit, augmented)
        queries = {part: query_rows(spec, data, reducer, getattr(split, part)) for part in ("validation", "test")}
        y_queries = {part: y[getattr(split, part)] for part in ("validation", "test")}
        rows, fitted, curves = run_grid(spec, configs, X_fit, y_fit, queries, y_queries, n_jobs)
        best_i = int(np.argmax([r["validation_accuracy"] for r in rows]))  # first of equals: grid order
        log.info("%s: best on %s: %s (validation accuracy %.4f)", split.name or "split", split.validation_name,
                 describe_params(configs[best_i]), rows[best_i]["validation_accuracy"])
    grid_seconds = time.perf_counter() - t0
    best = configs[best_i]

    # A kind trained against validation keeps that model, and so does one whose scores are calibrated on
    # validation; others refit on everything the protocol allows for fitting.
    calibrate = calibrates(spec, best)
    refit_rows = split.fit if watches_validation or calibrate else split.refit
    start = time.perf_counter()
    if np.array_equal(refit_rows, split.fit) and fitted[best_i] is not None:
        final_reducer, clf = reducer, fitted[best_i]
        fit_seconds = rows[best_i]["fit_seconds"]
    else:
        final_reducer, X_fit, y_fit = fit_reducer(spec, data, refit_rows, augmented)
        clf = kind.fit(best, X_fit, y_fit, seed=spec.seed, class_weight=spec.class_weight, n_jobs=n_jobs)
        fit_seconds = time.perf_counter() - start
    calibration = None
    if calibrate:
        labels, scores = mirror_averaged_labels_and_scores(clf, *query_rows(spec, data, final_reducer,
                                                                            split.validation))
        temperature = fit_temperature(scores, y[split.validation], clf.classes_)
        calibration = {**calibration_summary(scores, y[split.validation], clf.classes_, temperature),
                       "model_fitted_on": f"fit split (n={len(split.fit)}), not refitted with validation"}
        if rows[best_i]["validation_accuracy"] is None:  # one configuration: the kept model's validation accuracy
            rows[best_i]["validation_accuracy"] = float(accuracy_score(y[split.validation], labels))
    start = time.perf_counter()
    y_pred = predict_mirror_averaged(clf, *query_rows(spec, data, final_reducer, split.test))
    predict_seconds = time.perf_counter() - start
    return {"split": split, "rows": rows, "best_params": best, "best_index": best_i, "reducer": final_reducer,
            "classifier": clf, "y_pred": y_pred, "curves": curves[best_i], "fit_seconds": fit_seconds,
            "predict_seconds": predict_seconds, "grid_seconds": grid_seconds, "calibration": calibration,
            "augmented_rows": 0 if augmented is None else len(augmented[1]),
            "metrics": classification_metrics(y[split.test], y_pred, data.class_names)}


def calibrates(spec: TrainSpec, params: dict) -> bool:
    """Whether the run calibrates its model's scores on validation (see ``TrainSpec.calibrate``)."""
    return (spec.calibrate and spec.protocol != "kfold"
            and not hasattr(model_kind(spec.model).make(params, seed=spec.seed), "predict_proba"))


def _kfold_final(spec: TrainSpec, data: FeatureSet, results: list[dict], n_jobs, features_dir) -> dict:
    """The model shipped for a k-fold run: the configuration chosen most often, refitted on everything."""
    chosen = collections.Counter(describe_params(r["best_params"]) for r in results).most_common(1)[0][0]
    best = next(r["best_params"] for r in results if describe_params(r["best_params"]) == chosen)
    everything = np.arange(len(data.labels))
    augmented = augmented_rows(features_dir, data, spec.augment, everything, seed=spec.seed, n_jobs=n_jobs)
    reducer, X_fit, y_fit = fit_reducer(spec, data, everything, augmented)
    clf = model_kind(spec.model).fit(best, X_fit, y_fit, seed=spec.seed, class_weight=spec.class_weight,
                                     n_jobs=n_jobs)
    y_true = np.concatenate([data.labels[r["split"].test] for r in results])
    y_pred = np.concatenate([r["y_pred"] for r in results])
    return {**results[0], "best_params": best, "reducer": reducer, "classifier": clf,
            "metrics": classification_metrics(y_true, y_pred, data.class_names)}


def _details(spec: TrainSpec, results: list[dict], final: dict) -> dict:
    """metrics.json fields only some runs have: PCA, k-fold summaries, learning curves."""
    out = {"calibration": final.get("calibration")}
    if spec.augment:
        out["augmentation"] = {"conditions": spec.augment, "rows_added_to_the_fit_split": final["augmented_rows"],
                               "level": "seeded random, 1-3, per image and condition"}
    pca = final["reducer"].named_steps.get("pca")
    if pca is not None:
        out["pca_components"] = int(pca.n_components_)
        out["pca_explained_variance"] = float(pca.explained_variance_ratio_.sum())
    if spec.protocol == "kfold":
        accs = [r["metrics"]["accuracy"] for r in results]
        out["folds"] = [{"fold": i + 1, "accuracy": r["metrics"]["accuracy"], "macro_f1": r["metrics"]["macro_f1"],
                         "best_params": describe_params(r["best_params"])} for i, r in enumerate(results)]
        out["accuracy_mean"], out["accuracy_std"] = float(np.mean(accs)), float(np.std(accs))
    if final.get("curves"):
        c = final["curves"]
        out["learning_curves"] = {k: c[k] for k in ("train_accuracy", "validation_accuracy", "train_loss",
                                                    "validation_loss")}
        out["best_epoch"] = c["best_epoch"]
        out["convergence"] = {"accuracy": learning_curve_rates(c["train_accuracy"], c["validation_accuracy"]),
                              "loss": learning_curve_rates(c["train_loss"], c["validation_loss"])}
    return out


def _grid_table(spec: TrainSpec, results: list[dict]) -> pd.DataFrame:
    frames = []
    for r in results:
        frame = pd.DataFrame(r["rows"])
        frame.insert(0, "selected", [i == r["best_index"] for i in range(len(frame))])
        if spec.protocol == "kfold":
            frame.insert(0, "fold", r["split"].name)
        frames.append(frame)
    return pd.concat(frames)


def image_pipeline(features_dir, spec: TrainSpec, manifest: dict, reducer: Pipeline, classifier,
                   calibration: dict | None = None):
    """The saved model: the descriptors as extracted, the fitted reduction and the classifier, wrapped
    to average over mirror images when ``spec`` says so, and to turn scores into probabilities with
    the ``calibration``'s temperature when there is one."""
    pipeline = Pipeline([("descriptors", fitted_descriptors(features_dir, spec.features, manifest)),
                         *reducer.steps, ("classifier", classifier)])
    model = MirrorAveragedClassifier.from_fitted(pipeline) if spec.mirror == "both" else pipeline
    return TemperatureScaledClassifier.prefit(model, calibration["temperature"]) if calibration else model


def train_run(features_dir, out_dir, spec: TrainSpec, *, n_jobs: int | None = None, force: bool = False,
              command: str | None = None) -> dict:
    """Train, select and test as ``spec`` says, and write the run directory.

    Parameters
    ----------
    features_dir : path
        A folder written by :func:`~fer_classic.features.extraction.extract_features`.
    out_dir : path
        The run directory to create (written whole or not at all).
    spec : TrainSpec
        Descriptors, model, parameters or grid, PCA, protocol and seed.
    n_jobs : int, optional
        Worker processes (joblib's convention: -1 every core).
    force : bool
        Replace an existing run directory.
    command : str, optional
        The command line to record.

    Returns
    -------
    dict
        The run's metrics (what metrics.json holds): accuracy, balanced accuracy, macro F1, per-class
        scores, confusion matrix, protocol and splits, selected parameters, timings, provenance.
    """
    spec.validate()
    features_dir = spec.features_folder(features_dir)
    data = FeatureDirectory(features_dir).load_fused(spec.features, mirrored=spec.mirror != "none")
    spec = dataclasses.replace(spec, protocol=spec.protocol or default_protocol(data.usage))
    configs = spec.configurations()
    splits = make_splits(data.labels, data.usage, spec.protocol, seed=spec.seed, folds=spec.folds)
    check_trainable(data.labels, splits, data.class_names, features_dir)
    log.info("%s on %s (%d-d), %s protocol, %d configuration(s)", spec.model, "+".join(spec.features),
             data.X.shape[1], spec.protocol, len(configs))
    with new_run_directory(out_dir, force=force) as tmp:
        results = [evaluate_split(spec, data, s, configs, n_jobs, features_dir) for s in splits]
        kfold = spec.protocol == "kfold"
        final = _kfold_final(spec, data, results, n_jobs, features_dir) if kfold else results[0]
        outcome = RunOutcome(
            spec=spec, manifest=data.manifest, split=results[0]["split"], test_metrics=final["metrics"],
            best_params=final["best_params"], grid=_grid_table(spec, results),
            model=image_pipeline(features_dir, spec, data.manifest, final["reducer"], final["classifier"],
                                 final.get("calibration")),
            seconds={k: sum(r[f"{k}_seconds"] for r in results) for k in ("fit", "predict", "grid")},
            n_configurations=len(configs), details=_details(spec, results, final),
            test_split=f"all {spec.folds} folds, pooled" if kfold else None,
            split_sizes=[r["split"].sizes() for r in results] if kfold else None, command=command,
            test_ids=np.concatenate([data.ids[r["split"].test] for r in results]),
            y_true=np.concatenate([data.labels[r["split"].test] for r in results]),
            y_pred=np.concatenate([r["y_pred"] for r in results]))
        return write_run(tmp, outcome)
