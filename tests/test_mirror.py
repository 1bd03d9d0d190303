"""Mirror images: extraction of mirrored descriptors, training on them, averaging over them."""

import json

import numpy as np
import pytest

from fer_classic.apply.evaluate import image_pipelines
from fer_classic.features import make_descriptor
from fer_classic.models.mirror import MirrorAveragedClassifier, mirror_images
from fer_classic.runs.folders import load_run
from fer_classic.store import FeatureDirectory

from .conftest import run


@pytest.fixture(scope="module")
def mirrored_features(sample_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("mirror") / "features"
    result = run("extract", sample_path, "-f", "hog,landmarks", "--mirror", "-o", out)
    assert result.exit_code == 0, result.output
    return out


def test_mirror_images_flips_left_to_right(faces):
    flipped = mirror_images(faces)
    assert np.array_equal(flipped[:, :, 0], faces[:, :, -1])
    assert np.array_equal(mirror_images(flipped), faces)
    colour = np.repeat(faces[:2, ..., None], 3, axis=3)
    assert np.array_equal(mirror_images(list(colour))[1], colour[1][:, ::-1])


def test_extract_mirror_describes_the_flipped_images(mirrored_features, sample):
    folder = FeatureDirectory(mirrored_features)
    manifest = folder.manifest()
    for name in ("hog", "landmarks"):
        entry = manifest["descriptors"][name]
        assert entry["mirror_file"] == f"{name}.mirror.npz"
        mirrored = folder.load(name, mirrored=True)
        assert np.array_equal(mirrored.ids, folder.load(name).ids)
        expected = make_descriptor(name).fit(sample.images[:5]).transform(sample.images[:5, :, ::-1])
        assert np.allclose(mirrored.X[:5], expected)
        assert not np.allclose(mirrored.X[:5], folder.load(name).X[:5])


def test_extract_again_adds_only_the_missing_mirror(sample_path, tmp_path):
    assert run("extract", sample_path, "-f", "hog", "-o", tmp_path).exit_code == 0
    before = json.loads((tmp_path / "manifest.json").read_text())["descriptors"]["hog"]
    result = run("extract", sample_path, "-f", "hog", "--mirror", "-o", tmp_path)
    assert result.exit_code == 0, result.output
    after = json.loads((tmp_path / "manifest.json").read_text())["descriptors"]["hog"]
    assert after["sha256"] == before["sha256"] and after["seconds"] == before["seconds"]
    assert "mirror_sha256" in after


def test_training_on_mirrors_and_averaging_over_them(mirrored_features, sample, sample_path, tmp_path):
    runs = {}
    for mode in ("none", "train", "both"):
        out = tmp_path / mode
        result = run("train", mirrored_features, "-f", "hog", "-m", "svm", "--pca", "40", "--mirror", mode,
                     "-o", out)
        assert result.exit_code == 0, result.output
        runs[mode] = json.loads((out / "metrics.json").read_text())
    assert runs["train"]["spec"]["mirror"] == "train"
    assert len({m["accuracy"] for m in runs.values()}) > 1  # mirroring changes what is learned
    model, metrics = load_run(tmp_path / "both")
    assert isinstance(model.classifier, MirrorAveragedClassifier)  # inside the calibration
    # The saved image -> label model averages over each face and its mirror, as training scored it,
    # so a face and its mirror image get the same label.
    result = run("evaluate", tmp_path / "both", sample_path, "--split", "PublicTest")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["accuracy"] == pytest.approx(metrics["accuracy"])
    images = sample.images[:40]
    assert np.array_equal(model.predict(images), model.predict(mirror_images(images)))
    assert model.decision_function(images).shape == (40, 7)


def test_mirror_needs_mirrored_features_and_class_scores(sample_features, mirrored_features, tmp_path):
    result = run("train", sample_features, "-f", "hog", "-m", "svm", "--mirror", "train", "-o", tmp_path / "a")
    assert result.exit_code == 1 and "extract --features hog --mirror" in result.output
    result = run("train", mirrored_features, "-f", "hog", "-m", "knn", "--mirror", "both", "-o", tmp_path / "b")
    assert result.exit_code == 2 and "mirror=train" in result.output


def test_float32_reduction_keeps_accuracy_close(mirrored_features, tmp_path):
    accuracy = {}
    for dtype in ("float64", "float32"):
        from fer_classic.training import TrainSpec, train_run
        metrics = train_run(mirrored_features, tmp_path / dtype, TrainSpec(["hog"], "svm", pca=40, mirror="train",
                                                                           dtype=dtype))
        accuracy[dtype] = metrics["accuracy"]
    model, _ = load_run(tmp_path / "float32")
    assert image_pipelines(model)[0].steps[1][0] == "float32"
    assert abs(accuracy["float64"] - accuracy["float32"]) <= 0.02
