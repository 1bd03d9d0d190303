"""Model kinds: each is one file in fer_classic/models/kinds/ plus its line there, and every registered
kind trains, exports a predictor and labels faces through it as its model does."""

from __future__ import annotations

import numpy as np
import pytest

from fer_classic.models.numpy_form import NUMPY_FORMS, NumpyForm
from fer_classic.models.registry import MODEL_KINDS, ModelKind, Param, register_model, unregister_model
from fer_classic.runs.folders import load_run, load_run_labeller
from fer_classic.training import TrainSpec, train_run

# Small settings for the kinds whose defaults take long on the sample; a new kind runs with its defaults.
QUICK = {"mlp": {"hidden": (16,), "epochs": 3}, "rf": {"trees": 30}, "local": {"k": 30}}


@pytest.fixture(scope="module")
def test_faces(sample):
    return sample.images[sample.usage == "PublicTest"]


def _labels_of_model_and_predictor(run_dir, faces):
    model = load_run(run_dir)[0]
    predictor = load_run_labeller(run_dir)[0]
    assert type(predictor).__name__ == "Predictor", "the run has no predictor"
    from fer_classic.models.mirror import class_scores, predict_labels

    return (predict_labels(model, faces), predictor.predict(faces),
            class_scores(model, faces), predictor.class_scores(faces))


@pytest.mark.parametrize("kind", list(MODEL_KINDS))
def test_every_registered_kind_exports_a_predictor_with_its_models_labels(sample_features, tmp_path, test_faces,
                                                                          kind):
    train_run(sample_features, tmp_path / kind, TrainSpec(["hog"], kind, params=QUICK.get(kind, {}), pca=30),
              n_jobs=1)
    model_labels, predictor_labels, model_scores, predictor_scores = _labels_of_model_and_predictor(
        tmp_path / kind, test_faces)
    assert np.array_equal(model_labels, predictor_labels)
    assert np.allclose(model_scores, predictor_scores, atol=1e-5)


def _ridge(p, *, seed, class_weight, n_jobs):
    from sklearn.linear_model import RidgeClassifier

    return RidgeClassifier(alpha=p["alpha"], class_weight=class_weight)


def _ridge_export(clf, arrays):
    return {"coef": arrays.ref(clf.coef_), "intercept": arrays.ref(clf.intercept_)}


RIDGE = ModelKind(
    "ridge", "ridge regression of one-hot labels", (Param("alpha", float, 1.0, "L2 penalty", minimum=0),),
    _ridge, ({"alpha": [0.1, 1.0]},), class_weight=True,
    saved_classes=("sklearn.linear_model._ridge.RidgeClassifier", "sklearn.preprocessing._label.LabelBinarizer"),
    numpy_forms=(NumpyForm("ridge", lambda clf: type(clf).__name__ == "RidgeClassifier", _ridge_export,
                           lambda X, clf: X @ clf["coef"].T + clf["intercept"]),))


def test_a_kind_declared_outside_the_package_trains_exports_and_labels(sample_features, tmp_path, test_faces,
                                                                       monkeypatch):
    from fer_classic.runs import trusted_classes

    register_model(RIDGE)
    monkeypatch.setattr(trusted_classes, "TRUSTED_CLASSES", trusted_classes.TRUSTED_CLASSES | set(RIDGE.saved_classes))
    try:
        metrics = train_run(sample_features, tmp_path / "ridge", TrainSpec(["hog", "lbp"], "ridge", grid="default", pca=40),
                            n_jobs=1)
        assert metrics["model"] == "ridge" and metrics["predictor"]["file"] == "predictor.npz"
        model_labels, predictor_labels, model_scores, predictor_scores = _labels_of_model_and_predictor(
            tmp_path / "ridge", test_faces)
        assert np.array_equal(model_labels, predictor_labels)
        assert np.allclose(model_scores, predictor_scores, atol=1e-6)
    finally:
        unregister_model("ridge")
    assert "ridge" not in MODEL_KINDS and "ridge" not in NUMPY_FORMS


def test_an_unknown_name_is_one_error_in_every_registry():
    from fer_classic.errors import ConfigurationError
    from fer_classic.features import DESCRIPTORS
    from fer_classic.pipelines import PIPELINES

    for registry, wrong, right in ((MODEL_KINDS, "svn", "svm"), (DESCRIPTORS, "hgo", "hog"),
                                   (PIPELINES, "svm-hgo", "svm-hog"), (NUMPY_FORMS, "mpl", "mlp")):
        with pytest.raises(ConfigurationError, match=f"unknown {registry.what} '{wrong}' \\(did you mean '{right}'"):
            registry[wrong]
        with pytest.raises(KeyError):
            registry[wrong]


def test_descriptors_and_their_describers_are_the_same_names():
    from fer_classic.features import DESCRIPTORS
    from fer_classic.features.compute import DESCRIBERS

    assert list(DESCRIPTORS) == list(DESCRIBERS)
    assert all(cls.name == name for name, cls in DESCRIPTORS.items())
