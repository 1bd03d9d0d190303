"""Training a soft-voting ensemble: members fitted on the protocol's fit split (in parallel), weighted
by their scores on the validation split, the ensemble scored once on the test split.

Members are fitted on the fit split, since their scores on the validation split set the weights (as
the MLP keeps the model early-stopped on validation). With ``EnsembleSpec.refit`` each member is then
fitted once more on fit + validation, and those members, under the weights, score scales and
temperature set by the first ones, are the model that is scored on test and saved.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from ..errors import FeatureStoreError
from ..evaluation.metrics import classification_metrics
from ..models import (
    SoftVotingEnsemble,
    TemperatureScaledClassifier,
    describe_params,
    fit_temperature,
    model_kind,
    soft_vote,
    vote_weights,
)
from ..models.calibration import calibration_summary
from ..models.mirror import mirror_averaged_scores
from ..parallel import call_unpacked
from ..runs.folders import new_run_directory
from ..runs.record import RunOutcome, write_run
from ..store import FeatureDirectory, FeatureSet
from .augment import augmented_rows
from .protocols import check_trainable, default_protocol, make_splits
from .reducer import fit_reducer, query_rows
from .spec import EnsembleSpec, TrainSpec
from .train import image_pipeline

log = logging.getLogger(__name__)


def member_scores(spec: TrainSpec, data, split, n_jobs, fit_on: str = "fit",
                  parts: tuple[str, ...] = ("validation", "test")) -> dict:
    """Fit one member on the split's ``fit_on`` part (``fit`` or ``refit``); its class scores on
    ``parts``. ``data`` is its FeatureSet, or the features folder to load it from (in the worker, so
    that the parent process does not hold every member's features at once)."""
    features_dir = None
    if not isinstance(data, FeatureSet):
        features_dir, data = data, FeatureDirectory(data).load_fused(spec.features, mirrored=spec.mirror != "none")
    params = model_kind(spec.model).resolve(spec.params)
    start = time.perf_counter()
    rows = getattr(split, fit_on)
    augmented = augmented_rows(features_dir, data, spec.augment, rows, seed=spec.seed, n_jobs=n_jobs)
    reducer, X_fit, y_fit = fit_reducer(spec, data, rows, augmented)
    queries = {part: query_rows(spec, data, reducer, getattr(split, part)) for part in parts}
    del data, augmented  # (when loaded here) gigabytes of descriptors, not needed while the classifier fits
    clf = model_kind(spec.model).fit(params, X_fit, y_fit, seed=spec.seed, class_weight=spec.class_weight,
                                     n_jobs=n_jobs)
    fit_seconds = time.perf_counter() - start
    scores = {part: mirror_averaged_scores(clf, *queries[part]) for part in parts}
    return {"reducer": reducer, "classifier": clf, "params": params, "scores": scores,
            "fit_seconds": fit_seconds}


def member_name(m: TrainSpec) -> str:
    pca = "" if m.pca is None else f" pca={m.pca}"
    mirror = "" if m.mirror == "none" else f" mirror={m.mirror}"
    aligned = " (aligned faces)" if m.aligned else ""
    basis = "" if m.pca_precision is None else f" {m.pca_precision} basis"
    half = " float16 rows" if m.float16_rows else " int8 rows" if m.int8_rows else ""
    return (f"{m.model} on {'+'.join(m.features)}{aligned}{pca}{basis}{half}{mirror} "
            f"({describe_params(model_kind(m.model).resolve(m.params))})")


def member_label(m: TrainSpec) -> str:
    """A member in a few characters, as a report's parameters column shows it: ``svm:filterbank``, and
    ``svm:filterbank@aligned`` for the same on aligned faces."""
    return f"{m.model}:{'+'.join(m.features)}{'@aligned' if m.aligned else ''}"


def member_manifests(features_dir, spec: EnsembleSpec) -> dict:
    """The manifest of each features folder the members read (the folder itself, its ``aligned/``),
    checked to hold the members' descriptors and to describe the same images."""
    manifests, missing, mirrored = {}, {}, set()
    for m in spec.members:
        folder = m.features_folder(features_dir)
        if folder not in manifests:
            manifests[folder] = (FeatureDirectory(folder).manifest_or_none() if m.aligned
                                 else FeatureDirectory(folder).manifest()) or {"descriptors": {}}
        have = manifests[folder].get("descriptors", {})
        missing.setdefault(folder, {}).update(dict.fromkeys(f for f in m.features if f not in have))
        if m.mirror != "none":
            mirrored.add(folder)
        if m.aligned and have and not manifests[folder].get("align"):
            raise FeatureStoreError(f"{folder}: features of faces as cropped, but the member {member_name(m)} wants "
                                    f"them aligned (extract --align --out {folder})")
    for folder, names in missing.items():
        if names:
            have = manifests[folder]["descriptors"]
            aligned = folder != Path(features_dir)
            raise FeatureStoreError(
                f"{folder}: no {', '.join(names)} features (this folder has: {', '.join(have) or 'none'}); run "
                f"fer-classic extract --features {','.join(names)}{' --mirror' if folder in mirrored else ''}"
                f"{' --align' if aligned else ''} --out {folder}")
    fingerprints = {str(f): mf.get("fingerprint") for f, mf in manifests.items()}
    if len(set(fingerprints.values())) > 1:
        raise FeatureStoreError("the members' features folders were extracted from different images: "
                                + "; ".join(f"{f}: {fp}" for f, fp in fingerprints.items()))
    return manifests


def recorded_manifest(manifests: dict) -> dict:
    """What an ensemble's run record shows of its features folders (:func:`member_manifests`): every
    descriptor with its parameters (the first member's folder's where two folders have one), and faces
    aligned only when every member's were."""
    manifest = dict(next(iter(manifests.values())))
    manifest["descriptors"] = {d: e for mf in reversed(list(manifests.values())) for d, e in mf["descriptors"].items()}
    manifest["align"] = all(mf.get("align") for mf in manifests.values())
    return manifest


def train_ensemble(features_dir, out_dir, spec: EnsembleSpec, *, n_jobs: int | None = None, force: bool = False,
                   command: str | None = None) -> dict:
    """Fit the members (in parallel), weight them on validation, score the ensemble once on test, and
    write a run directory like :func:`~fer_classic.training.train_run`'s (its grid.csv lists the
    members with their validation and test accuracy and weight).

    Parameters
    ----------
    features_dir, out_dir, n_jobs, force, command
        As for :func:`~fer_classic.training.train_run`.
    spec : EnsembleSpec
        The members and their weighting.

    Returns
    -------
    dict
        The run's metrics; ``members`` lists each member's scores and weight.
    """
    spec.validate()
    manifests = member_manifests(features_dir, spec)
    # Labels and splits from the narrowest descriptor: the members load their own features.
    folder, narrowest = min(((m.features_folder(features_dir), d) for m in spec.members for d in m.features),
                            key=lambda fd: manifests[fd[0]]["descriptors"][fd[1]].get("dim", 0))
    first = FeatureDirectory(folder).load_fused([narrowest])
    spec = dataclasses.replace(spec, protocol=spec.protocol or default_protocol(first.usage))
    split = make_splits(first.labels, first.usage, spec.protocol, seed=spec.seed)[0]
    check_trainable(first.labels, [split], first.class_names, features_dir)
    manifest = recorded_manifest(manifests)
    log.info("ensemble of %d members on %s, %s protocol, %s weighting", len(spec.members),
             "+".join(spec.features), spec.protocol, spec.weighting)
    start = time.perf_counter()
    with new_run_directory(out_dir, force=force) as tmp:
        def fit_members(fit_on: str, parts: tuple[str, ...]) -> list[dict]:
            return Parallel(n_jobs=n_jobs if len(spec.members) > 1 else 1)(
                delayed(call_unpacked)(member_scores, (m, m.features_folder(features_dir), split, 1, fit_on, parts))
                for m in spec.members)

        fitted = fit_members("fit", ("validation", "test"))
        classes = fitted[0]["classifier"].classes_

        def accuracy(scores, part):
            return float(np.mean(classes[scores.argmax(1)] == first.labels[getattr(split, part)]))

        accuracies = [accuracy(f["scores"]["validation"], "validation") for f in fitted]
        weights = vote_weights(accuracies, spec.weighting)
        scales = [float(np.std(f["scores"]["validation"])) or 1.0 for f in fitted]
        shipped = fitted
        if spec.refit:  # weighted and scaled above; now fitted on fit + validation, scored on test only
            log.info("refitting the %d members on fit + validation (%d images)", len(spec.members), len(split.refit))
            shipped = fit_members("refit", ("test",))
        combined = {"validation": soft_vote([f["scores"]["validation"] for f in fitted], weights, scales),
                    "test": soft_vote([f["scores"]["test"] for f in shipped], weights, scales)}
        y_pred = classes[combined["test"].argmax(1)]
        metrics = classification_metrics(first.labels[split.test], y_pred, first.class_names)
        rows = [{"member": member_name(m), "validation_accuracy": acc,
                 "test_accuracy_not_used_for_selection": accuracy(s["scores"]["test"], "test"),
                 "weight": round(float(w), 6), "fit_seconds": round(f["fit_seconds"], 3),
                 **({"refit_seconds": round(s["fit_seconds"], 3)} if spec.refit else {})}
                for m, f, s, acc, w in zip(spec.members, fitted, shipped, accuracies, weights)]
        rows.append({"member": "ensemble", "validation_accuracy": accuracy(combined["validation"], "validation"),
                     "test_accuracy_not_used_for_selection": metrics["accuracy"], "weight": 1.0,
                     "fit_seconds": None})
        # The weighted members never saw the validation split: the vote's temperature is fitted there.
        y_validation = first.labels[split.validation]
        temperature = fit_temperature(combined["validation"], y_validation, classes)
        model = TemperatureScaledClassifier.prefit(SoftVotingEnsemble.from_fitted(
            [image_pipeline(m.features_folder(features_dir), m, manifests[m.features_folder(features_dir)],
                            f["reducer"], f["classifier"])
             for m, f in zip(spec.members, shipped)],
            [float(w) for w in weights], scales), temperature)
        outcome = RunOutcome(
            spec=spec, manifest=manifest, split=split, test_metrics=metrics,
            best_params={"weighting": spec.weighting,
                         "members": [member_label(m) for m in spec.members]},
            grid=pd.DataFrame(rows), model=model,
            seconds={"fit": time.perf_counter() - start, "predict": None, "grid": 0.0},
            details={"members": rows[:-1], "ensemble_validation_accuracy": rows[-1]["validation_accuracy"],
                     "calibration": calibration_summary(combined["validation"], y_validation, classes, temperature),
                     "members_fitted_on": (f"fit + validation (n={len(split.refit)}), after weighting by the members "
                                           f"fitted on the fit split (n={len(split.fit)}), whose validation accuracies "
                                           f"these are" if spec.refit else f"fit split (n={len(split.fit)})")},
            command=command, test_ids=first.ids[split.test], y_true=first.labels[split.test], y_pred=y_pred)
        write_member_scores(tmp / MEMBER_SCORES, spec, fitted, shipped, classes, first.ids, split)
        return write_run(tmp, outcome)


MEMBER_SCORES = "member_scores.npz"


def write_member_scores(path: Path, spec: EnsembleSpec, fitted: list[dict], shipped: list[dict], classes, ids,
                        split) -> None:
    """Each member's class scores on validation (fitted on the fit split) and on test (as shipped: refitted
    on fit + validation with ``spec.refit``, then also ``test_fit_split``), with the images' ids: a later
    search weighs these members against new candidates without fitting them again
    (``benchmarks/ensemble_search.py --also-run``)."""
    extra = {"test_fit_split": np.stack([f["scores"]["test"] for f in fitted])} if spec.refit else {}
    np.savez_compressed(path, classes=np.asarray(classes), members=np.array([member_name(m) for m in spec.members]),
                        validation=np.stack([f["scores"]["validation"] for f in fitted]),
                        test=np.stack([f["scores"]["test"] for f in shipped]), **extra,
                        validation_ids=np.asarray(ids[split.validation], dtype=str),
                        test_ids=np.asarray(ids[split.test], dtype=str))
