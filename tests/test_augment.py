"""train --augment: fit-split images under conditions, described by the run's own descriptors."""

import json

import numpy as np

from fer_classic.features.extraction import fitted_descriptors
from fer_classic.store import FeatureDirectory
from fer_classic.training.augment import _source_images, augmented_rows

from .conftest import run


def test_images_read_again_give_the_stored_features(sample_features):
    data = FeatureDirectory(sample_features).load_fused(["hog", "lbp"])
    rows = np.arange(0, len(data.labels), 97)
    images = _source_images(data, rows, n_jobs=1, features_dir=sample_features)
    described = fitted_descriptors(sample_features, ["hog", "lbp"], data.manifest).transform(images)
    assert np.allclose(described, data.X[rows], atol=1e-6)  # the columns line up with the feature files


def test_augmented_rows_are_seeded_and_changed(sample_features):
    data = FeatureDirectory(sample_features).load_fused(["hog"])
    rows = np.flatnonzero(data.usage == "Training")[:40]
    X1, y1 = augmented_rows(sample_features, data, ["tilt", "lowlight"], rows, seed=3, n_jobs=1)
    X2, _ = augmented_rows(sample_features, data, ["tilt", "lowlight"], rows, seed=3, n_jobs=1)
    assert X1.shape == (80, data.X.shape[1]) and np.array_equal(y1, np.tile(data.labels[rows], 2))
    assert np.array_equal(X1, X2) and not np.allclose(X1[:40], data.X[rows])


def test_train_augment_adds_fit_rows_only(sample_features, tmp_path):
    out = tmp_path / "aug"
    result = run("train", sample_features, "-f", "hog", "-m", "svm", "--pca", "30", "--augment", "tilt,blur", "-o", out)
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["spec"]["augment"] == ["tilt", "blur"]
    assert metrics["augmentation"]["rows_added_to_the_fit_split"] == 2 * metrics["split_sizes"]["fit"]
    result = run("train", sample_features, "-f", "hog", "-m", "svm", "--augment", "tlit", "-o", tmp_path / "bad")
    assert result.exit_code == 2 and "tilt" in result.output and not (tmp_path / "bad").exists()
