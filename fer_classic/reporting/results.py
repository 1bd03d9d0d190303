"""Runs and external models as data: :func:`load_runs` (one row per run), a user's own model's
predictions on the same test images (:func:`read_external_predictions`), and exact McNemar tests
between any two that share their test images (:func:`paired_tests`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import RunError
from ..evaluation.metrics import classification_metrics
from ..evaluation.predictions import read_predictions_csv
from ..evaluation.uncertainty import holm, intervals, mcnemar
from ..models.registry import describe_params
from ..runs.folders import METRICS, read_run_record
from ..runs.record import PREDICTIONS


@dataclass
class Result:
    """A run, or an external model's predictions, on a test set: what a report shows of it."""

    name: str
    metrics: dict
    kind: str = "run"  # or "external"
    folder: Path | None = None
    predictions: pd.DataFrame | None = None  # id, true, predicted
    notes: list[str] = field(default_factory=list)

    @property
    def correct(self) -> pd.Series | None:
        """Per test image id: whether it was labelled right."""
        if self.predictions is None:
            return None
        p = self.predictions
        return pd.Series((p["true"] == p["predicted"]).to_numpy(), index=p["id"].astype(str))


def load_result(run_dir) -> Result:
    """A run directory's metrics (and per-image predictions where the run wrote them)."""
    d = Path(run_dir)
    m = read_run_record(d)
    if "accuracy" not in m or "protocol" not in m:
        raise RunError(f"{d / METRICS}: not the metrics of a fer-classic run")
    predictions = pd.read_csv(d / PREDICTIONS, dtype=str, keep_default_na=False) if (d / PREDICTIONS).is_file() \
        else None
    if "intervals" not in m and predictions is not None:  # a run from before intervals were recorded
        names = list(m["class_names"])
        m["intervals"] = intervals(predictions["true"].map(names.index).to_numpy(),
                                   predictions["predicted"].map(names.index).to_numpy())
    return Result(d.name, m, "run", d, predictions)


def read_external_predictions(name: str, path, reference: Result) -> Result:
    """A user's model's predictions on the same test images as ``reference`` (a run that wrote
    predictions.csv): a CSV with an image ``id`` (or ``file``) column and a ``predicted`` label column
    (class names; optional score columns are ignored). Every test image must be there once, and no
    other; labels must be the run's class names. The truth comes from the run."""
    path = Path(path)
    if reference.predictions is None:
        raise RunError(f"{reference.folder}: this run has no {PREDICTIONS} (train it again with this version) to "
                       f"match {path} against")
    truth = reference.predictions.set_index(reference.predictions["id"].astype(str))["true"]
    names = list(reference.metrics["class_names"])
    ids = list(truth.index)
    predicted = read_predictions_csv(path, ids, names, images=f"the test images of {reference.name}")
    predictions = pd.DataFrame({"id": ids, "true": truth.to_numpy(), "predicted": predicted})
    y_true = predictions["true"].map(names.index).to_numpy()
    y_pred = predictions["predicted"].map(names.index).to_numpy()
    m = classification_metrics(y_true, y_pred, tuple(names))
    m.update({"n_test": m.pop("n"), "intervals": intervals(y_true, y_pred), "model": "external",
              "features": [], "best_params": {}, "protocol": reference.metrics["protocol"],
              "test_split": reference.metrics["test_split"],
              "dataset_fingerprint": reference.metrics.get("dataset_fingerprint"), "source_file": str(path)})
    return Result(name, m, "external", None, predictions)


def paired_tests(results: list[Result]) -> pd.DataFrame:
    """Exact McNemar tests between every two results with per-image predictions on the same test
    images: A, B, n, the accuracy difference A − B, discordant counts, the p-value and the p-value
    adjusted by Holm's method for all the pairs in the table (``p_holm``)."""
    rows = []
    for i, a in enumerate(results):
        for b in results[i + 1:]:
            ca, cb = a.correct, b.correct
            if ca is None or cb is None or set(ca.index) != set(cb.index):
                continue
            test = mcnemar(ca.to_numpy(), cb.loc[ca.index].to_numpy())
            rows.append({"a": a.name, "b": b.name, "n": test["n"], "difference": test["difference"],
                         "a_right_b_wrong": test["a_right_b_wrong"], "a_wrong_b_right": test["a_wrong_b_right"],
                         "p_value": test["p_value"]})
    table = pd.DataFrame(rows, columns=["a", "b", "n", "difference", "a_right_b_wrong", "a_wrong_b_right", "p_value"])
    table["p_holm"] = holm(table["p_value"].to_numpy())
    return table


def pca_text(m: dict) -> str:
    """PCA as a person reads it, members' included for an ensemble."""
    spec = m.get("spec") or {}
    if spec.get("members"):
        pcas = {str(s.get("pca")) for s in spec["members"]}
        return "per member: " + ", ".join(sorted(pcas)) if pcas != {"None"} else "none"
    pca = spec.get("pca")
    if pca is None:
        return "none"
    return f"{m.get('pca_components', pca)}" + (f" ({pca:.0%} var.)" if isinstance(pca, float) else "")


def params_text(m: dict) -> str:
    """The selected parameters in full (reports and their CSV/JSON must let them be cited exactly)."""
    return describe_params(m.get("best_params") or {})


def results_frame(results: list[Result]) -> pd.DataFrame:
    """One row per result: what a leaderboard shows, intervals included."""
    rows = []
    for r in results:
        m, ci = r.metrics, r.metrics.get("intervals") or {}
        rows.append({
            "name": r.name, "kind": r.kind, "descriptors": "+".join(m.get("features") or []) or "–",
            "pca": pca_text(m) if r.kind == "run" else "–", "model": m.get("model"),
            "best_params": params_text(m) if r.kind == "run" else "–",
            "accuracy": m["accuracy"], "accuracy_low": (ci.get("accuracy") or [None, None])[0],
            "accuracy_high": (ci.get("accuracy") or [None, None])[1],
            "balanced_accuracy": m["balanced_accuracy"],
            "balanced_accuracy_low": (ci.get("balanced_accuracy") or [None, None])[0],
            "balanced_accuracy_high": (ci.get("balanced_accuracy") or [None, None])[1],
            "macro_f1": m["macro_f1"], "macro_f1_low": (ci.get("macro_f1") or [None, None])[0],
            "macro_f1_high": (ci.get("macro_f1") or [None, None])[1],
            "n_test": m.get("n_test"), "test_split": m.get("test_split"), "protocol": m.get("protocol"),
            "dataset_fingerprint": m.get("dataset_fingerprint"), "fit_seconds": m.get("fit_seconds"),
            "folder": str(r.folder) if r.folder else m.get("source_file"),
        })
    return pd.DataFrame(rows)


def load_runs(paths) -> pd.DataFrame:
    """One row per run directory: descriptors, PCA, model, parameters, accuracy, balanced accuracy and
    macro F1 each with its 95% interval, n, test split, protocol, data fingerprint, fit time.

    Parameters
    ----------
    paths : iterable of paths
        Run directories (``train``'s output).

    Returns
    -------
    pandas.DataFrame
    """
    return results_frame([load_result(p) for p in paths])
