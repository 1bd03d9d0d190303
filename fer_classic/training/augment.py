"""Training under special conditions: the fit split's images again, each under a condition of
:mod:`fer_classic.faces.conditions` at a seeded random level, described by the run's own descriptors
and added to the rows the classifier is fitted on (never to validation or test, and never to what the
scaler and PCA are fitted on).

Feature files hold descriptors, not images, so the images are read again from where the features
were extracted (the manifest's source), checked against the features' data fingerprint.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from ..errors import FeatureStoreError
from ..faces.conditions import LEVELS, apply_condition, parse_conditions
from ..features.extraction import fitted_descriptors, set_runtime
from ..store import FeatureSet

log = logging.getLogger(__name__)


def _source_images(data: FeatureSet, rows: np.ndarray, n_jobs, features_dir) -> np.ndarray:
    """The images of feature rows ``rows``, read from the features' source and checked to be the same data.
    A relative source (older manifests stored the path as typed) is looked for from the
    working directory, then beside the features folder."""
    from pathlib import Path

    from ..data import load_dataset

    manifest = data.manifest
    source = manifest.get("source")
    if source and not Path(source).is_absolute() and not Path(source).exists():
        beside = Path(features_dir).resolve().parent / source
        source = str(beside) if beside.exists() else source
    try:
        counts = manifest.get("class_counts") or {}
        present = [c for c in manifest.get("class_names") or [] if counts.get(c, 1)]  # as extracted (--classes)
        dataset = load_dataset(source, classes=present or None, n_jobs=n_jobs,
                               size=tuple(manifest["image_shape"]) if manifest.get("image_shape") else None)
    except Exception as exc:
        raise FeatureStoreError(f"--augment needs the images the features were extracted from, and {source} "
                                f"cannot be read: {exc}") from None
    if dataset.fingerprint() != manifest.get("fingerprint"):
        raise FeatureStoreError(f"--augment: the images in {source} are not the ones the features were extracted "
                                f"from (their fingerprints differ); extract the features again")
    position = {image_id: i for i, image_id in enumerate(dataset.ids)}
    return dataset.images[[position[image_id] for image_id in data.ids[rows]]]


def augmented_rows(features_dir, data: FeatureSet, conditions, rows: np.ndarray, *, seed: int,
                   n_jobs=None) -> tuple[np.ndarray, np.ndarray] | None:
    """Feature rows and labels of the images ``rows`` under each of ``conditions``: every image once per
    condition, at a level drawn (seeded) from 1-3; None without conditions. The columns are ``data.X``'s
    (the same descriptors with the parameters of the extraction)."""
    if not conditions:
        return None
    if features_dir is None:
        raise ValueError("augmentation needs the features folder, not only a FeatureSet")
    conditions = parse_conditions(conditions)
    start = time.perf_counter()
    images = _source_images(data, rows, n_jobs, features_dir)
    describe = fitted_descriptors(features_dir, list(data.names), data.manifest)
    set_runtime(describe, n_jobs, False)
    rng = np.random.default_rng([seed, len(rows)])
    parts = []
    for name in conditions:
        levels = rng.choice(LEVELS, size=len(rows))
        changed = np.empty_like(images)
        for level in LEVELS:
            chosen = np.flatnonzero(levels == level)
            if chosen.size:
                changed[chosen] = apply_condition(images[chosen], name, int(level), seed=seed)
        parts.append(np.asarray(describe.transform(changed), dtype=data.X.dtype))
    log.info("augmented %d training images under %s in %.1f s", len(rows), ", ".join(conditions),
             time.perf_counter() - start)
    return np.vstack(parts), np.tile(data.labels[rows], len(conditions))
