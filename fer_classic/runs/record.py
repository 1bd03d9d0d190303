"""The run record: what every run directory holds, built in one place for plain runs, grids, k-fold
and ensembles alike — metrics.json, the grid table, the confusion matrix and other figures, the model.

A trainer describes what it did as a :class:`RunOutcome`; :func:`run_metrics` turns that into
metrics.json and :func:`write_run` writes everything (the model, and its predictor where it has one). Adding a metric is one edit here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..cluster import current_cluster
from ..evaluation.plots import plot_confusion_matrix, plot_learning_curves
from ..evaluation.uncertainty import intervals
from ..models import MODEL_KINDS, describe_params  # every kind registered (the package imports them first)
from ..store import library_versions, write_text_atomic
from .folders import MODEL_FILE, save_model, write_metrics
from .predictor_export import write_run_predictor

if TYPE_CHECKING:  # the type of a field, named only
    from ..training.protocols import Split

PREDICTIONS = "predictions.csv"


@dataclass
class RunOutcome:
    """What a training run produced.

    Attributes
    ----------
    spec : TrainSpec or EnsembleSpec
    manifest : the features folder's manifest (data fingerprint, descriptor parameters)
    split : the protocol's split (the first fold's for k-fold)
    test_metrics : :func:`~fer_classic.evaluation.metrics.classification_metrics` of the reported test
        images (pooled over folds for k-fold)
    best_params : the configuration selected on validation (for an ensemble, how it votes)
    grid : one row per configuration tried (or member combined) with its validation score
    model : the fitted image → label model to save
    seconds : ``fit``, ``predict`` and ``grid`` wall seconds
    n_configurations : configurations the grid compared
    details : what only some runs have (PCA, folds, learning curves, members)
    test_split, split_sizes : override the split's own (k-fold pools its folds)
    test_ids, y_true, y_pred : the reported test images' ids, true and predicted labels (written to
        predictions.csv, for paired comparisons on the same images)
    """

    spec: object
    manifest: dict
    split: Split
    test_metrics: dict
    best_params: dict
    grid: pd.DataFrame
    model: object
    seconds: dict
    n_configurations: int = 1
    details: dict = field(default_factory=dict)
    test_split: str | None = None
    split_sizes: dict | list | None = None
    command: str | None = None
    test_ids: np.ndarray | None = None
    y_true: np.ndarray | None = None
    y_pred: np.ndarray | None = None


def provenance(manifest: dict, command: str | None) -> dict:
    """Where a number comes from: the data's fingerprint and source, library versions, where and when
    it was computed, and the command."""
    return {
        "class_names": list(manifest["class_names"]),
        "image_shape": manifest.get("image_shape"),
        "dataset_fingerprint": manifest["fingerprint"],
        "dataset_source": manifest.get("source"),
        "versions": library_versions(),
        "computed_on": current_cluster() or "local",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": command,
    }


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


def run_metrics(o: RunOutcome) -> dict:
    """metrics.json of a run (without the model file's name and hash, added when it is saved)."""
    test = {k: v for k, v in o.test_metrics.items() if k != "n"}
    features = list(o.spec.features)
    descriptors = o.manifest["descriptors"]
    return {
        **test,
        "n_test": o.test_metrics["n"],
        "intervals": intervals(o.y_true, o.y_pred),
        **provenance(o.manifest, o.command),
        "protocol": o.spec.protocol,
        "test_split": o.test_split or o.split.test_name,
        "validation_split": o.split.validation_name,
        "split_sizes": o.split_sizes or o.split.sizes(),
        "model": o.spec.model,
        "best_params": {k: _plain(v) for k, v in o.best_params.items()},
        "features": features,
        "feature_dims": {f: descriptors[f]["dim"] for f in features},
        "descriptor_params": {f: descriptors[f]["params"] for f in features},
        "faces_aligned": bool(o.manifest.get("align")),
        "spec": asdict(o.spec),
        "n_configurations": o.n_configurations,
        **{f"{k}_seconds": None if v is None else round(v, 3) for k, v in o.seconds.items()},
        **o.details,
    }


def write_run(run_dir: Path, o: RunOutcome) -> dict:
    """Write everything a run directory holds into ``run_dir``; returns its metrics."""
    metrics = run_metrics(o)
    metrics["model_file"] = MODEL_FILE
    metrics["model_sha256"] = save_model(o.model, run_dir / MODEL_FILE)
    metrics["predictor"] = write_run_predictor(o.model, run_dir)
    labels = metrics["labels"]
    cm = pd.DataFrame(metrics["confusion_matrix"], index=pd.Index(labels, name="true"), columns=labels)
    write_text_atomic(run_dir / "confusion_matrix.csv", cm.to_csv())
    features = "+".join(metrics["features"])
    plot_confusion_matrix(metrics["confusion_matrix"], labels, run_dir / "confusion_matrix.png",
                          f"{metrics['model']} on {features}: {metrics['test_split']} accuracy "
                          f"{metrics['accuracy']:.2%} ({metrics['protocol']} protocol)")
    write_text_atomic(run_dir / "grid.csv", o.grid.to_csv(index=False))
    names = np.asarray(metrics["class_names"])
    predictions = pd.DataFrame({"id": o.test_ids, "true": names[o.y_true], "predicted": names[o.y_pred]})
    write_text_atomic(run_dir / PREDICTIONS, predictions.to_csv(index=False))
    kind = MODEL_KINDS.get(metrics["model"])  # None for an ensemble
    if kind and kind.grid_figure and metrics["n_configurations"] > 1:
        first_fold = o.grid[o.grid["fold"] == o.grid["fold"].iloc[0]] if "fold" in o.grid else o.grid
        name, plot = kind.grid_figure
        plot(first_fold.to_dict("records"), run_dir / name, f"{kind.name} on {features}: {metrics['validation_split']}")
    if "learning_curves" in metrics:
        curves = pd.DataFrame(metrics["learning_curves"])
        curves.index = pd.RangeIndex(1, len(curves) + 1, name="epoch")
        write_text_atomic(run_dir / "mlp_curves.csv", curves.to_csv())
        plot_learning_curves(metrics["learning_curves"], run_dir / "mlp_curves.png",
                             f"MLP {describe_params(o.best_params)}")
    write_metrics(run_dir, metrics)
    return metrics
