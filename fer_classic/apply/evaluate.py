"""Applying a trained run to new images: ``evaluate`` scores it on a labelled dataset."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone

import numpy as np

from ..data import load_dataset, to_gray
from ..errors import DatasetError
from ..evaluation.metrics import classification_metrics
from ..evaluation.predictions import read_predictions_csv
from ..evaluation.uncertainty import intervals, mcnemar
from ..features.extraction import image_pipelines, set_descriptor_runtime  # noqa: F401 (re-exported)
from ..runs.folders import load_run_labeller
from ..store import library_versions, write_json_atomic

log = logging.getLogger(__name__)


def trained_classes(labeller, class_names) -> list[str]:
    return [class_names[int(i)] for i in labeller.classes_]


def evaluate_run(run_dir, data, *, split: str | None = None, out=None, n_jobs: int | None = None,
                 progress: bool = False, dataset_kwargs: dict | None = None, conditions=(), seed: int = 0,
                 predictions: dict | None = None, levels=None, compare: dict | None = None) -> dict:
    """Metrics of a run's pipeline on the images of ``data``.

    Parameters
    ----------
    run_dir : path
        A run directory (``train``'s output).
    data : path
        Any dataset :func:`~fer_classic.load_dataset` reads.
    split : str, optional
        Only the images of this FER2013 usage (``PublicTest``, ``PrivateTest``, ``Training``); ``"test"``:
        the run's own test split where ``data`` has images of it, else every image (data without a
        usage, such as class folders); None or ``"all"``: every image, Training included.
    out : path, optional
        Also write the result as JSON here (atomically).
    n_jobs, progress
        Worker processes and a progress bar on stderr.
    dataset_kwargs : dict, optional
        More arguments for :func:`~fer_classic.load_dataset` (``strict``, ``classes``, ``size``).
    conditions : names, optional
        Image conditions (:data:`~fer_classic.faces.conditions.CONDITIONS`: lowlight, glasses, mask,
        tilt, blur, noise, jpeg, shift) to score the run under, each at ``levels`` (default 1, 2 and 3),
        seeded with ``seed``: ``robustness`` lists accuracy with its interval and the drop from the clean
        images.
    predictions : dict, optional
        Receives the true labels (key ``("true", 0)``) and the predicted ones of the clean images
        (``("clean", 0)``) and of each condition and level (``(condition, level)``), as indices into
        the run's class names in the order of the dataset's images (for paired tests).
    compare : dict, optional
        ``{name: CSV path}``: other models' predictions on the same images (an ``id`` or ``file`` column
        and a ``predicted`` one, e.g. a CNN's from ``benchmarks/reference_cnn.py``), each scored as the
        run is, with an exact McNemar test of the run against it, under ``compared``.

    Returns
    -------
    dict
        Accuracy, balanced accuracy, macro F1, per-class scores, the confusion matrix, the data's
        fingerprint and what the run was trained on. Classes of ``data`` that the model never saw are
        listed under ``unseen_classes``; their images count as errors.
    """
    from ..faces.conditions import parse_conditions

    conditions = parse_conditions(conditions) if conditions else []
    labeller, run_metrics = load_run_labeller(run_dir)  # the predictor where the run has one
    ds = load_dataset(data, n_jobs=n_jobs, progress=progress, **(dataset_kwargs or {}))
    if split == "test":
        test_split = run_metrics.get("test_split")
        split = test_split if test_split and np.isin(ds.usage, [test_split]).any() else None
        log.info("%s: %s", data, f"the run's test split, {split}" if split else "every image (no test split here)")
    if split == "all":
        split = None
    if split:
        if not np.isin(ds.usage, [split]).any():
            raise DatasetError(f"{data}: no {split} images (usage here: {ds.usage_counts()})")
        ds = ds.subset(ds.usage == split)
    model_names = list(run_metrics["class_names"])
    names = model_names + [n for n in ds.class_names if n not in model_names]
    y_true = np.array([names.index(ds.class_names[i]) for i in ds.labels])
    labeller.set_runtime(n_jobs, progress)
    start = time.perf_counter()
    y_pred = labeller.predict(ds.images)
    seconds = time.perf_counter() - start
    if predictions is not None:
        predictions[("true", 0)], predictions[("clean", 0)] = y_true, y_pred
    seen = trained_classes(labeller, model_names)
    counts = ds.class_counts()
    unseen = {n: counts[n] for n in ds.class_names if counts.get(n) and n not in seen}
    if unseen:
        log.warning("classes the model never saw (counted as errors): %s",
                    ", ".join(f"{n} ({c} images)" for n, c in unseen.items()))
    result = {
        **classification_metrics(y_true, y_pred, tuple(names)),
        "intervals": intervals(y_true, y_pred),
        "run": str(run_dir),
        "model": run_metrics.get("model"),
        "features": run_metrics.get("features"),
        "best_params": run_metrics.get("best_params"),
        "trained_on": {"fingerprint": run_metrics.get("dataset_fingerprint"),
                       "protocol": run_metrics.get("protocol"), "test_split": run_metrics.get("test_split")},
        "data": str(data),
        "split": split or "all images",
        "dataset_fingerprint": ds.fingerprint(),
        "skipped": ds.skipped,
        "unseen_classes": unseen,
        "predict_seconds": round(seconds, 3),
        "versions": library_versions(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if compare:
        result["compared"] = [compared_model(name, path, ds, y_true, y_pred, names) for name, path in compare.items()]
    if conditions:
        result["robustness"] = robustness(labeller, ds.images, y_true, conditions, seed, result["accuracy"],
                                          predictions=predictions, levels=levels)
    if out:
        write_json_atomic(out, result)
    return result


def compared_model(name: str, path, ds, y_true, y_run, names) -> dict:
    """Another model's metrics on the images of ``ds`` from its predictions in ``path``, and the exact
    McNemar test of the run (labels ``y_run``) against it on the same images."""
    predicted = read_predictions_csv(path, ds.ids, names, images=f"the {len(ds.ids)} images evaluated")
    y_other = np.array([names.index(p) for p in predicted])
    return {"name": name, "source_file": str(path), **classification_metrics(y_true, y_other, tuple(names)),
            "intervals": intervals(y_true, y_other), "mcnemar": mcnemar(y_run == y_true, y_other == y_true)}


def robustness(labeller, images, y_true, conditions, seed: int, clean_accuracy: float,
               predictions: dict | None = None, levels=None) -> list[dict]:
    """Accuracy (with its 95% interval) under each condition at each of ``levels`` (default: every level),
    and the drop from clean; ``predictions``, when given, receives each ``(condition, level)``'s predicted
    labels (for paired tests)."""
    from ..faces.conditions import CONDITIONS, apply_condition, face_landmarks, parse_levels

    levels = parse_levels(levels)

    gray = images if images.ndim == 3 else np.stack([to_gray(im) for im in images])
    points = face_landmarks(gray) if any(CONDITIONS[c].needs_landmarks for c in conditions) else None
    rows = []
    for name in conditions:
        for level in levels:
            y_pred = labeller.predict(apply_condition(gray, name, level, seed=seed, points=points))
            accuracy = float(np.mean(y_pred == y_true))
            if predictions is not None:
                predictions[(name, level)] = y_pred
            rows.append({"condition": name, "level": level, "description": CONDITIONS[name].description,
                         "accuracy": accuracy, "interval": intervals(y_true, y_pred)["accuracy"],
                         "n": int(len(y_true)), "drop": clean_accuracy - accuracy})
            log.info("%s level %d: accuracy %.2f%% (clean %.2f%%)", name, level, 100 * accuracy, 100 * clean_accuracy)
    return rows
