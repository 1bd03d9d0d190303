"""Named pipelines run together: the standard baseline suite, and the accuracy regression gate.

``run_pipelines`` extracts what the pipelines (:mod:`fer_classic.pipelines`) need, once per distinct
set of descriptor parameters, and trains each into its own run directory; ``check_baseline`` re-runs
the pipelines of a baseline file and compares their accuracy with the recorded one.
"""

from __future__ import annotations

import itertools
import json
import logging
import tempfile
import time
from dataclasses import MISSING, asdict, fields
from pathlib import Path

from joblib import Parallel, delayed

from .data import Dataset
from .errors import ConfigurationError, FeatureStoreError, did_you_mean
from .features import DESCRIPTORS, validate_descriptor
from .features.extraction import extract_features, manifest_describes
from .models import model_kind
from .parallel import call_unpacked, effective_n_jobs
from .pipelines import PIPELINES, NamedPipeline, named_pipeline
from .runs.folders import read_run_record, remove_model_copy
from .store import FeatureDirectory, library_versions, read_json, write_json_atomic
from .training import EnsembleSpec, TrainSpec, train_ensemble, train_run
from .training.ensemble import member_manifests, recorded_manifest
from .training.spec import ALIGNED_FOLDER

log = logging.getLogger(__name__)

BASELINE_FORMAT = "fer-classic-baseline/1"
DEFAULT_TOLERANCE = 0.01


class BaselineError(ConfigurationError):
    """A baseline file that is malformed or names something fer-classic does not know."""


def plan_feature_folders(pipelines: list[NamedPipeline]) -> tuple[list[dict], dict[str, int]]:
    """Descriptor sets to extract, one per folder, and the folder of each pipeline: a descriptor is
    extracted once for all pipelines that want it with the same parameters (and faces aligned or not)."""
    folders: list[dict] = []
    aligned: list[bool] = []
    where: dict[str, int] = {}
    for p in pipelines:
        wanted = p.descriptors()
        for i, have in enumerate(folders):
            if aligned[i] == p.align and all(have.get(f, params) == params for f, params in wanted.items()):
                have.update(wanted)
                where[p.name] = i
                break
        else:
            folders.append(dict(wanted))
            aligned.append(p.align)
            where[p.name] = len(folders) - 1
    return folders, where


# Rough relative cost of a pipeline by model kind, to start the longest first when pipelines share the
# cores (longest-processing-time-first scheduling). From benchmarks/suite_time.py on the full FER2013:
# RBF SVM fits 43-409 s, KNN grids 38-392 s, forests 58-344 s, MLPs 10-45 s; wider features cost more.
_ENSEMBLE_COST = 5  # an ensemble's training time relative to an MLP's (ModelKind.relative_cost)


def run_pipelines(dataset: Dataset, pipelines: list[NamedPipeline], workdir, *, n_jobs=None,
                  progress=False, force=False, command: str | None = None,
                  keep_features: bool = True, keep_models: bool = True) -> dict[str, dict]:
    """Extract and train every pipeline under ``workdir``; returns each one's metrics by name.

    Descriptors are extracted with ``n_jobs`` workers, for the pipelines not already complete in
    ``workdir`` (with the same settings and data) alone. Single pipelines then train ``n_jobs`` at a
    time, each in its own worker process on one core (most of their time is single-threaded: an SVM
    fit, a forest's trees, one KNN search), longest first; ensembles train afterwards with every
    worker. Each run is seeded on its own, so the numbers do not depend on the order or the number of
    workers. ``keep_features=False`` removes the feature files once every run is complete (the
    manifests and learned descriptor states stay: a later call recognises the runs without them), and
    ``keep_models=False`` each run's model file where the run has a predictor, which labels alike."""
    workdir = Path(workdir)
    folders, where = plan_feature_folders(pipelines)
    paths = [workdir / ("features" if i == 0 else f"features-{i + 1}") for i in range(len(folders))]
    extractions = []  # (folder, descriptors, mirrored descriptors, faces aligned, pipelines reading it)
    for i, (descriptors, path) in enumerate(zip(folders, paths)):
        users = [p for p in pipelines if where[p.name] == i]
        mirrored = {f for p in users if p.spec.mirror != "none" for f in p.spec.features}
        extractions.append((path, descriptors, mirrored, users[0].align, users))
        for p in users:  # members on aligned faces read the folder's aligned/ subfolder
            if p.mixes_alignment:
                extractions.append((path / ALIGNED_FOLDER, p.descriptors(aligned=True),
                                    {f for m in p.members() if m.aligned and m.mirror != "none" for f in m.features},
                                    True, [p]))
    fingerprint = dataset.fingerprint()
    results = {}
    for p in [] if force else pipelines:
        described = all(manifest_describes(path, fingerprint, descriptors, align)
                        for path, descriptors, _, align, users in extractions if p in users)
        done = finished_run(workdir / "runs" / p.name, p.spec, paths[where[p.name]]) if described else None
        if done is not None:
            log.info("%s: up to date in %s (--force retrains)", p.name, workdir / "runs" / p.name)
            results[p.name] = done
    todo = [p for p in pipelines if p.name not in results]
    for path, descriptors, mirrored, align, users in extractions:
        if any(p in todo for p in users):
            log.info("extracting %s%s", ", ".join(descriptors), " of aligned faces" * align)
            extract_features(dataset, path, descriptors, mirror=mirrored, align=align, n_jobs=n_jobs,
                             progress=progress, fingerprint=fingerprint)
    command = command or "fer_classic.suite.run_pipelines"
    jobs = [(p, paths[where[p.name]], workdir / "runs" / p.name, f"{command} (pipeline {p.name})") for p in todo]
    single = sorted((j for j in jobs if isinstance(j[0].spec, TrainSpec)), key=_expected_cost, reverse=True)
    workers = min(effective_n_jobs(n_jobs), len(single))
    if workers > 1:
        log.info("training %d pipelines, %d at a time: %s", len(single), workers, ", ".join(j[0].name for j in single))
        trained = Parallel(n_jobs=workers, return_as="generator_unordered")(
            delayed(call_unpacked)(_train_pipeline, (*j, 1, force)) for j in single)
    else:
        trained = (_train_pipeline(*j, n_jobs, force) for j in single)
    ensembles = (_train_pipeline(*j, n_jobs, force) for j in jobs if not isinstance(j[0].spec, TrainSpec))
    for count, (name, metrics) in enumerate(itertools.chain(trained, ensembles), 1):
        log.info("[%d/%d] %s: %s accuracy %.4f", count, len(jobs), name, metrics["test_split"],
                 metrics["accuracy"])
        results[name] = metrics
    if not keep_features:
        freed = sum(FeatureDirectory(path).remove_feature_files() for path, *_ in extractions)
        if freed:
            log.info("removed the feature files (%.0f MB; --keep-features keeps them)", freed / 1e6)
    if not keep_models:
        freed = sum(remove_model_copy(workdir / "runs" / p.name) for p in pipelines)
        if freed:
            log.info("removed the model files of the runs with a predictor (%.0f MB; --keep-models keeps them)",
                     freed / 1e6)
    return {p.name: results[p.name] for p in pipelines}


def _expected_cost(job) -> float:
    """Kind cost times the width of the features (from the manifest: raw 2,304, hog 1,764, hist 32)."""
    pipeline, features_dir = job[0], job[1]
    try:
        entries = read_json(Path(features_dir) / "manifest.json", "features")["descriptors"]
        width = sum(entries[f]["dim"] for f in pipeline.spec.features)
    except (FeatureStoreError, KeyError):
        width = 1
    cost = _ENSEMBLE_COST if isinstance(pipeline.spec, EnsembleSpec) else model_kind(pipeline.spec.model).relative_cost
    return cost * width ** 0.5


def _train_pipeline(pipeline: NamedPipeline, features_dir, run_dir, command, n_jobs, force) -> tuple[str, dict]:
    train = train_ensemble if isinstance(pipeline.spec, EnsembleSpec) else train_run
    return pipeline.name, train(features_dir, run_dir, pipeline.spec, n_jobs=n_jobs, force=force, command=command)


def record_wall_time(workdir, seconds: float, restart: bool = False) -> float:
    """Add ``seconds`` to the wall time recorded in ``workdir`` (reset with ``restart``); the total."""
    path = Path(workdir) / "wall_time.json"
    try:
        before = [] if restart else list(read_json(path, "wall time log")["invocations_seconds"])
    except (ValueError, KeyError, TypeError):
        before = []
    times = before + [round(seconds, 1)]
    write_json_atomic(path, {"invocations_seconds": times})
    return sum(times)


def finished_run(run_dir: Path, spec: TrainSpec | EnsembleSpec, features_dir: Path) -> dict | None:
    """The metrics of a complete run in ``run_dir`` trained as ``spec`` says on the features now in
    ``features_dir``, or None (no run, an interrupted one, or different settings or data): an
    interrupted suite resumes where it stopped instead of training everything again."""
    try:
        metrics = read_run_record(Path(run_dir))
        manifest = (recorded_manifest(member_manifests(features_dir, spec)) if isinstance(spec, EnsembleSpec)
                    else read_json(Path(features_dir) / "manifest.json", "features"))
    except FeatureStoreError:  # RunError included
        return None
    recorded = dict(metrics.get("spec") or {})
    # A run made before a setting existed was made with its default.
    defaults = json.loads(json.dumps({f.name: f.default if f.default is not MISSING else f.default_factory()
                                      for f in fields(TrainSpec)
                                      if f.default is not MISSING or f.default_factory is not MISSING}))
    if isinstance(spec, TrainSpec):
        recorded = {**defaults, **recorded}
    else:
        recorded["members"] = [{**defaults, **m} for m in recorded.get("members", [])]
    wanted = json.loads(json.dumps(asdict(spec)))
    if wanted["protocol"] is None:
        recorded.pop("protocol", None), wanted.pop("protocol")
    same_features = all(metrics.get("descriptor_params", {}).get(f) == manifest["descriptors"].get(f, {}).get("params")
                        for f in spec.features)
    same_features = same_features and bool(metrics.get("faces_aligned")) == bool(manifest.get("align"))
    if recorded != wanted or metrics.get("dataset_fingerprint") != manifest.get("fingerprint") or not same_features:
        return None
    return metrics


# --------------------------------------------------------------------------- the baseline file

SPEC_KEYS = tuple(f.name for f in fields(TrainSpec))  # what a spelled-out baseline entry may set


def _pipeline_from_json(entry: dict, where: str) -> tuple[NamedPipeline, float | None]:
    """One baseline entry: a registered pipeline by ``name`` alone (with an optional ``seed``), or a
    pipeline spelled out (``name``, ``features``, ``model`` and any other TrainSpec setting)."""
    if not isinstance(entry, dict):
        raise BaselineError(f"{where}: a pipeline is a JSON object")
    if "name" not in entry:
        raise BaselineError(f"{where}: missing 'name'")
    extra = sorted(set(entry) - {"name", "accuracy", "descriptor_params", *SPEC_KEYS})
    if extra:
        raise BaselineError(f"{where}: unknown key {', '.join(extra)}{did_you_mean(extra[0], SPEC_KEYS)}")
    accuracy = entry.get("accuracy")
    if accuracy is not None and not (isinstance(accuracy, (int, float)) and 0 <= accuracy <= 1):
        raise BaselineError(f"{where}: accuracy must be a number between 0 and 1")
    try:
        if "features" not in entry and "model" not in entry:
            if set(entry) - {"name", "accuracy", "seed"}:
                raise BaselineError(f"{where}: a pipeline named alone takes only a seed; spell out features and "
                                    f"model to change it")
            if entry["name"] not in PIPELINES:
                raise BaselineError(f"{where}: {entry['name']!r} is not a registered pipeline"
                                    f"{did_you_mean(entry['name'], PIPELINES)}; give its features and model")
            return named_pipeline(entry["name"], seed=entry.get("seed", 42)), accuracy
        for key in ("features", "model"):
            if key not in entry:
                raise BaselineError(f"{where}: missing {key!r}")
        features = [entry["features"]] if isinstance(entry["features"], str) else list(entry["features"])
        unknown = [f for f in features if f not in DESCRIPTORS]
        if unknown:
            raise BaselineError(f"{where}: unknown descriptor {', '.join(unknown)}"
                                f"{did_you_mean(unknown[0], DESCRIPTORS)} (known: {', '.join(DESCRIPTORS)})")
        descriptor_params = entry.get("descriptor_params", {})
        for f, params in descriptor_params.items():
            validate_descriptor(f, **params)
        spec = TrainSpec(**{k: entry[k] for k in SPEC_KEYS if k in entry and k != "features"}, features=features)
        spec.validate().configurations()
    except BaselineError:
        raise
    except (ValueError, TypeError) as exc:
        raise BaselineError(f"{where}: {exc}") from None
    return NamedPipeline(entry["name"], spec, descriptor_params), accuracy


def read_baseline(path) -> tuple[dict, list[tuple[NamedPipeline, float | None]]]:
    try:
        doc = read_json(path, "baseline file")
    except ValueError as exc:
        raise BaselineError(str(exc)) from None
    if not isinstance(doc, dict) or doc.get("format") != BASELINE_FORMAT:
        raise BaselineError(f"{path}: expected a JSON object with \"format\": \"{BASELINE_FORMAT}\"")
    entries = doc.get("pipelines")
    if not isinstance(entries, list) or not entries:
        raise BaselineError(f"{path}: \"pipelines\" must be a non-empty list")
    pipelines = [_pipeline_from_json(e, f"{path}: pipeline {i + 1}") for i, e in enumerate(entries)]
    names = [p.name for p, _ in pipelines]
    if len(set(names)) != len(names):
        raise BaselineError(f"{path}: pipeline names must be unique")
    return doc, pipelines


def check_baseline(baseline_path, dataset: Dataset, *, tolerance: float | None = None, update: bool = False,
                   n_jobs=None, progress=False, command: str | None = None) -> tuple[list[dict], bool]:
    """Re-run the baseline's pipelines on ``dataset``; rows of (name, baseline, now, change, status),
    and whether any fell below its baseline minus the tolerance. ``update`` rewrites the file."""
    doc, pipelines = read_baseline(baseline_path)
    tolerance = doc.get("tolerance", DEFAULT_TOLERANCE) if tolerance is None else tolerance
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fer-classic-check-") as work:
        results = run_pipelines(dataset, [p for p, _ in pipelines], work, n_jobs=n_jobs, progress=progress,
                                command=command)
    rows, regressed = [], False
    for (p, before), entry in zip(pipelines, doc["pipelines"]):
        now = results[p.name]["accuracy"]
        status = "new" if before is None else "REGRESSED" if now < before - tolerance else \
            "improved" if now > before + tolerance else "ok"
        regressed |= status == "REGRESSED"
        rows.append({"pipeline": p.name, "baseline": before, "now": now,
                     "change": None if before is None else now - before, "status": status})
        if update:
            entry["accuracy"] = round(now, 6)
    if update:
        doc.update({"data": str(dataset.source), "dataset_fingerprint": dataset.fingerprint(),
                    "versions": library_versions(), "seconds": round(time.perf_counter() - start, 1)})
        write_json_atomic(baseline_path, doc)
    return rows, regressed
