"""Named pipelines users run by name: ``fer-classic train FEATURES --preset best``.

``best`` is fer-classic's strongest classical pipeline on FER2013 (reports/best-pipeline.md has its
ablation): a soft-voting ensemble of RBF SVMs on a bag of dense DAISY words, on HOG and on LBP with
the landmarks, each trained on the training faces and their mirror images and averaging each
prediction over the face and its mirror; votes weighted by the rank of each member's validation
accuracy.
"""

from __future__ import annotations

from .ensemble import EnsembleSpec
from .training import TrainSpec

# Descriptor parameters the presets' features must be extracted with (the defaults otherwise).
PRESET_DESCRIPTORS: dict[str, dict[str, dict]] = {
    "best": {"bovw": {}, "hog": {}, "lbp": {}, "landmarks": {}},
}


def preset(name: str, seed: int = 42) -> EnsembleSpec:
    """The spec of preset ``name``."""
    if name != "best":
        raise KeyError(f"unknown preset {name!r}; known: {', '.join(PRESET_DESCRIPTORS)}")
    svm = {"kernel": "rbf", "C": 10.0}
    return EnsembleSpec(members=[
        TrainSpec(["bovw"], "svm", params=svm, pca=300, mirror="both", dtype="float32", seed=seed),
        TrainSpec(["hog"], "svm", params=svm, pca=200, mirror="both", seed=seed),
        TrainSpec(["lbp", "landmarks"], "svm", params=svm, pca=200, mirror="both", seed=seed),
    ], weighting="rank", seed=seed)


PRESETS = tuple(PRESET_DESCRIPTORS)
