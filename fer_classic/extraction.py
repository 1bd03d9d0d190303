"""Turning a dataset into feature files: one per descriptor, plus the manifest that describes them."""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timezone
from pathlib import Path

from .cluster import current_cluster
from .datasets import Dataset
from .features import make_descriptor
from .store import FEATURES_FORMAT, FeatureDirectory, file_sha256, library_versions, save_feature_file

log = logging.getLogger(__name__)


def _normalised(params: dict) -> dict:
    """Parameters as they read back from JSON (tuples become lists), so that they compare equal."""
    return json.loads(json.dumps(params))


def extract_features(dataset: Dataset, out_dir, descriptors: dict[str, dict], *, force: bool = False,
                     n_jobs: int | None = None, progress: bool = False) -> dict:
    """Write ``out_dir/<name>.npz`` for each descriptor ``name`` (with its parameters) and the manifest.

    A descriptor already in ``out_dir`` for the same data (same fingerprint) and the same parameters
    is reused unless ``force``. The manifest is rewritten after each descriptor, so an interrupted
    run keeps what it finished. Returns the manifest.
    """
    folder = FeatureDirectory(out_dir)
    fingerprint = dataset.fingerprint()
    previous = folder.manifest_or_none()
    entries = dict(previous["descriptors"]) if previous and previous.get("fingerprint") == fingerprint else {}
    manifest = {
        "format": FEATURES_FORMAT,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": str(dataset.source),
        "layout": dataset.layout,
        "n_images": len(dataset),
        "image_shape": list(dataset.images.shape[1:]),
        "class_names": list(dataset.class_names),
        "class_counts": dataset.class_counts(),
        "usage_counts": dataset.usage_counts(),
        "skipped": dataset.skipped,
        "fingerprint": fingerprint,
        "versions": library_versions(),
        "computed_on": current_cluster() or {"local_processes": n_jobs or -1},
        "descriptors": entries,
    }
    descriptors_made = {name: make_descriptor(name, **params, n_jobs=n_jobs, progress=progress)
                        for name, params in descriptors.items()}
    for name, descriptor in descriptors_made.items():
        params = _normalised(descriptor.descriptor_params())
        old = entries.get(name)
        path = folder.file_for(name)
        if (not force and old and old.get("params") == params and path.is_file()
                and file_sha256(path) == old.get("sha256")):
            log.info("%s: up to date in %s (--force recomputes)", name, path)
            continue
        start = time.perf_counter()
        X = descriptor.fit_transform(dataset.images)
        seconds = time.perf_counter() - start
        save_feature_file(path, X, dataset.labels, dataset.usage, dataset.ids, dataset.class_names)
        entries[name] = {"file": path.name, "dim": int(X.shape[1]), "params": params,
                         "seconds": round(seconds, 3), "sha256": file_sha256(path)}
        folder.write_manifest(manifest)
        log.info("%s: %d images -> %d-d in %.1f s (%.0f images/s)", name, len(X), X.shape[1], seconds,
                 len(X) / max(seconds, 1e-9))
    folder.write_manifest(manifest)
    return manifest


def default_sample_path() -> Path:
    """The embedded stratified FER2013 sample in the source tree's ``data/`` folder."""
    return Path(__file__).resolve().parent.parent / "data" / "fer2013-sample"
