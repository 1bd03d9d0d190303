"""Turning a dataset into feature files: one per descriptor, plus the manifest that describes them."""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

import numpy as np
from sklearn.pipeline import FeatureUnion, Pipeline

from ..cluster import current_cluster
from ..data import Dataset
from ..store import FEATURES_FORMAT, FeatureDirectory, file_sha256, library_versions, save_feature_file
from . import make_descriptor
from .alignment import FaceAligner
from .compute import mirror_images

log = logging.getLogger(__name__)


def _normalised(params: dict) -> dict:
    """Parameters as they read back from JSON (tuples become lists), so that they compare equal."""
    return json.loads(json.dumps(params))


def recorded_params(name: str, params: dict) -> dict:
    """What a manifest records as the parameters of descriptor ``name`` made with ``params``."""
    return _normalised(make_descriptor(name, **params).descriptor_params())


def manifest_describes(out_dir, fingerprint: str, descriptors: dict[str, dict], align: bool = False) -> bool:
    """Whether the manifest in ``out_dir`` records each of ``descriptors`` with these parameters, for
    the data of ``fingerprint`` (faces aligned or not alike); the feature files need not be there (the
    baseline removes them once its runs are complete)."""
    manifest = FeatureDirectory(out_dir).manifest_or_none()
    if not manifest or manifest.get("fingerprint") != fingerprint or bool(manifest.get("align")) != align:
        return False
    return all((manifest["descriptors"].get(n) or {}).get("params") == recorded_params(n, params)
               for n, params in descriptors.items())


def extract_features(dataset: Dataset, out_dir, descriptors: dict[str, dict], *, force: bool = False,
                     mirror: bool | Iterable[str] = False, align: bool = False, n_jobs: int | None = None,
                     progress: bool = False, fingerprint: str | None = None, strict: bool = False) -> dict:
    """Describe every image of a dataset with each descriptor, into feature files and a manifest.

    A descriptor already in ``out_dir`` for the same data (same fingerprint) and the same parameters
    is reused unless ``force``. The manifest is rewritten after each descriptor, so an interrupted
    run keeps what it finished.

    Parameters
    ----------
    dataset : Dataset
        From :func:`~fer_classic.load_dataset`.
    out_dir : path
        Folder for ``<name>.npz`` per descriptor and ``manifest.json``.
    descriptors : dict
        Descriptor name → its parameters (``{"hog": {"pixels_per_cell": 8}, "lbp": {}}``).
    force : bool
        Recompute descriptors that are up to date.
    mirror : bool or names
        Also describe each image flipped left to right (``<name>.mirror.npz``), for all descriptors
        or the named ones: for training on mirror images and averaging predictions over them.
    align : bool
        Align every face by its landmarks first (:class:`~fer_classic.features.alignment.FaceAligner`);
        recorded in the manifest, so that runs trained on these features align their inputs too. A
        folder holds aligned or unaligned features, never both. Images in which dlib's detector finds
        no face (:func:`~fer_classic.faces.faces_found_whole`) are aligned by the shape predictor's guess,
        and listed in the manifest (``align_no_face``) and in a warning.
    strict : bool
        With ``align``, stop (DatasetError) if any image shows no face, before anything is written.
    n_jobs, progress
        Worker processes and a progress bar on stderr.
    fingerprint : str, optional
        ``dataset.fingerprint()``, where the caller has it already (a hash of every pixel).

    Returns
    -------
    dict
        The manifest: data fingerprint, counts, skipped files, and per descriptor its file,
        dimension, parameters, time and SHA-256.
    """
    folder = FeatureDirectory(out_dir)
    fingerprint = fingerprint or dataset.fingerprint()
    previous = folder.manifest_or_none()
    if previous is None and folder.manifest_path.exists():
        _refuse_or_rebuild(folder, force)
    same_data = previous and previous.get("fingerprint") == fingerprint and bool(previous.get("align")) == align
    entries = dict(previous["descriptors"]) if same_data else {}
    manifest = {
        "format": FEATURES_FORMAT,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": str(Path(dataset.source).resolve()),  # absolute: train --augment reads it from anywhere
        "layout": dataset.layout,
        "n_images": len(dataset),
        "image_shape": list(dataset.images.shape[1:]),
        "class_names": list(dataset.class_names),
        "class_counts": dataset.class_counts(),
        "usage_counts": dataset.usage_counts(),
        "skipped": dataset.skipped,
        "fingerprint": fingerprint,
        "align": align,
        "versions": library_versions(),
        "computed_on": current_cluster() or {"local_processes": n_jobs or -1},
        "descriptors": entries,
    }
    if align and descriptors:
        manifest["align_no_face"] = _check_faces(dataset, n_jobs, progress, strict)
        start = time.perf_counter()
        dataset = dataclasses.replace(dataset, images=FaceAligner(size=dataset.images.shape[1], n_jobs=n_jobs,
                                                                  progress=progress).transform(dataset.images))
        log.info("aligned %d faces by their landmarks in %.1f s", len(dataset), time.perf_counter() - start)
    descriptors_made = {name: make_descriptor(name, **params, n_jobs=n_jobs, progress=progress)
                        for name, params in descriptors.items()}
    for name, descriptor in descriptors_made.items():
        params = _normalised(descriptor.descriptor_params())
        old = entries.get(name) if not force and (entries.get(name) or {}).get("params") == params else None
        ready = False
        for mirrored in (False, True) if mirror is True or (mirror and name in mirror) else (False,):
            path = folder.file_for(name, mirrored)
            key = "mirror_" if mirrored else ""
            if old and path.is_file() and file_sha256(path) == old.get(f"{key}sha256"):
                log.info("%s%s: up to date in %s (--force recomputes)", name, " (mirrored)" * mirrored, path)
                continue
            start = time.perf_counter()
            if not ready:
                learned = _prepare(name, descriptor, dataset, folder, old)
                ready = True
            X = descriptor.transform(mirror_images(dataset.images) if mirrored else dataset.images)
            seconds = time.perf_counter() - start
            save_feature_file(path, X, dataset.labels, dataset.usage, dataset.ids, dataset.class_names)
            if not mirrored:
                old = entries[name] = {"file": path.name, "dim": int(X.shape[1]), "params": params,
                                       "seconds": round(seconds, 3), "sha256": file_sha256(path), **learned}
            else:
                old.update({"mirror_file": path.name, "mirror_seconds": round(seconds, 3),
                            "mirror_sha256": file_sha256(path)})
            folder.write_manifest(manifest)
            log.info("%s%s: %d images -> %d-d in %.1f s (%.0f images/s)", name, " (mirrored)" * mirrored,
                     len(X), X.shape[1], seconds, len(X) / max(seconds, 1e-9))
    folder.write_manifest(manifest)
    return manifest


def _refuse_or_rebuild(folder: FeatureDirectory, force: bool) -> None:
    """A features folder whose manifest cannot be read (damaged, or not fer-classic's): refused, or
    rebuilt with ``force``, saying which files it holds (each descriptor asked for is computed again)."""
    from ..errors import FeatureStoreError

    try:
        folder.manifest()
        return
    except FeatureStoreError as exc:
        problem = str(exc)
    files = sorted(p.name for p in folder.path.iterdir() if p.is_file() and p != folder.manifest_path)
    listed = ", ".join(files) if files else "no other file"
    if not force:
        raise FeatureStoreError(f"{problem}; the folder holds {listed}. fer-classic extract --force rebuilds its "
                                f"manifest, describing the images again")
    log.warning("%s; rebuilding it (--force): the folder's %s are computed again or left as they are", problem, listed)


def _check_faces(dataset: Dataset, n_jobs, progress: bool, strict: bool) -> dict:
    """The manifest's record of the images dlib's detector finds no face in (see ``extract_features``)."""
    from ..errors import DatasetError
    from ..faces.dlib_faces import FACE_CHECK_SCORE, FACE_CHECK_SIDE, faces_found_whole
    from ..parallel import map_in_chunks

    found = map_in_chunks(faces_found_whole, dataset.images, n_jobs=n_jobs, progress=progress, desc="face check")
    missing = [str(dataset.ids[i]) for i in np.flatnonzero(~np.asarray(found, bool))]
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        if strict:
            raise DatasetError(f"{dataset.source}: dlib's detector finds no face in {len(missing)} of {len(dataset)} "
                               f"images ({shown}); without --strict they are aligned by the shape predictor's "
                               f"guess and listed in the manifest")
        log.warning("no face found in %d of %d images (%s): aligned by the shape predictor's guess, listed in "
                    "the manifest under align_no_face", len(missing), len(dataset), shown)
    return {"count": len(missing), "ids": missing,
            "rule": f"dlib's frontal face detector, whole image scaled to at least {FACE_CHECK_SIDE} px, "
                    f"score > {FACE_CHECK_SCORE}"}


def _prepare(name: str, descriptor, dataset: Dataset, folder: FeatureDirectory, entry: dict | None) -> dict:
    """Fit ``descriptor``; one that learns from images (a vocabulary) is fitted on the Training images
    only (all images when the data has no usage), or given the state stored with ``entry``, and its
    learned arrays are written to ``<name>.state.npz``. Returns the manifest fields about that."""
    if not descriptor.learns_from_images:
        descriptor.fit(dataset.images)
        return {}
    if entry and entry.get("state_file"):
        descriptor.set_learned_state(folder.load_state(name, entry))
        return {k: entry[k] for k in ("state_file", "state_sha256", "fitted_on")}
    training = dataset.usage == "Training"
    images, fitted_on = (dataset.images[training], f"{int(training.sum())} Training images") if training.any() \
        else (dataset.images, f"all {len(dataset)} images (no usage column)")
    log.info("%s: learning from %s (no labels)", name, fitted_on)
    descriptor.fit(images)
    path = folder.save_state(name, descriptor.learned_state())
    return {"state_file": path.name, "state_sha256": file_sha256(path), "fitted_on": fitted_on}


def fitted_descriptors(features_dir, names: list[str], manifest: dict | None = None):
    """The descriptors ``names`` as they were run to make the features in ``features_dir``: built
    from the manifest's parameters, stateless ones fitted on a blank image (``fit`` sets channel
    handling), the others given what they learned at extraction. One descriptor, or a FeatureUnion
    of several in the given order (their columns side by side, as ``load_fused`` puts them); after a
    FaceAligner (a Pipeline) when the features were extracted from aligned faces."""
    folder = FeatureDirectory(features_dir)
    manifest = manifest or folder.manifest()
    blank = np.zeros((1,) + tuple(manifest.get("image_shape") or (48, 48)), dtype=np.uint8)
    steps = []
    for n in names:
        entry = manifest["descriptors"][n]
        descriptor = make_descriptor(n, **entry["params"])
        if descriptor.learns_from_images:
            descriptor.set_learned_state(folder.load_state(n, entry))
        else:
            descriptor.fit(blank)
        steps.append((n, descriptor))
    describe = steps[0][1] if len(steps) == 1 else FeatureUnion(steps)
    if manifest.get("align"):
        return Pipeline([("align", FaceAligner(size=int(blank.shape[1]))), ("describe", describe)])
    return describe


def set_runtime(described, n_jobs: int | None, progress: bool) -> None:
    """Give every descriptor and aligner inside ``described`` (what :func:`fitted_descriptors` returns)
    ``n_jobs`` workers and a progress bar or not."""
    from .base import ImageDescriptor

    todo = [described]
    while todo:
        step = todo.pop()
        if isinstance(step, (ImageDescriptor, FaceAligner)):
            step.set_params(n_jobs=n_jobs, progress=progress)
        todo += [e for _, e in getattr(step, "transformer_list", None) or getattr(step, "steps", None) or []]


def set_descriptor_runtime(pipeline, n_jobs: int | None, progress: bool) -> None:
    """Run a saved model's descriptors with ``n_jobs`` workers and a progress bar or not."""
    for inner in image_pipelines(pipeline):
        set_runtime(inner.steps[0][1], n_jobs, progress)


def image_pipelines(model) -> list:
    """The descriptor → classifier pipelines of a saved model (one, or those a wrapper holds)."""
    return model.image_pipelines() if hasattr(model, "image_pipelines") else [model]
