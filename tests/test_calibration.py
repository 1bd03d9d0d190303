"""Probabilities for models that only score: temperature scaling fitted on the validation split."""

import json

import numpy as np
import pytest
from scipy.special import softmax
from sklearn.svm import SVC

from fer_classic.models import TemperatureScaledClassifier, fit_temperature
from fer_classic.runs.folders import load_run

from .conftest import run


def test_fit_temperature_recovers_the_temperature_labels_were_drawn_with():
    rng = np.random.default_rng(0)
    scores = rng.normal(scale=3.0, size=(20000, 5))
    p = softmax(scores / 2.5, axis=1)
    y = np.array([rng.choice(5, p=row) for row in p])
    assert fit_temperature(scores, y, np.arange(5)) == pytest.approx(2.5, rel=0.05)


def test_wrapper_keeps_predictions_and_gives_probabilities():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    svc = SVC(C=1.0).fit(X[:200], y[:200])
    model = TemperatureScaledClassifier(classifier=svc).fit(X[200:], y[200:])
    proba = model.predict_proba(X)
    assert np.allclose(proba.sum(axis=1), 1) and np.all(proba > 0)
    assert np.array_equal(model.predict(X), svc.predict(X))
    assert np.array_equal(model.classes_[proba.argmax(1)], svc.predict(X))
    assert model.temperature_ > 0


def test_svm_runs_are_calibrated_on_validation_and_keep_the_fit_split_model(sample_features, tmp_path):
    calibrated, raw = tmp_path / "calibrated", tmp_path / "raw"
    assert run("train", sample_features, "-f", "hog", "-m", "svm", "--pca", "40", "-o", calibrated).exit_code == 0
    assert run("train", sample_features, "-f", "hog", "-m", "svm", "--pca", "40", "--no-calibrate",
               "-o", raw).exit_code == 0
    metrics = json.loads((calibrated / "metrics.json").read_text())
    c = metrics["calibration"]
    assert c["validation_log_loss"] <= c["validation_log_loss_at_T1"]
    assert c["fitted_on"] == f"validation split (n={metrics['split_sizes']['validation']})"
    model, _ = load_run(calibrated)
    fitted_rows = model.classifier.steps[-1][1].n_support_.sum()  # support vectors come from the fit split
    assert hasattr(model, "predict_proba") and fitted_rows <= metrics["split_sizes"]["fit"]
    raw_metrics = json.loads((raw / "metrics.json").read_text())
    assert raw_metrics["calibration"] is None and not hasattr(load_run(raw)[0], "predict_proba")
    # the table of a photo run says probability, in 4 decimals, summing to 1
    result = run("predict", calibrated, "data/fer2013-sample/test/happy", "--no-detect")
    assert result.exit_code == 0, result.output
    header, first = result.stdout.splitlines()[:2]
    values = [float(v) for h, v in zip(header.split(","), first.split(",")) if h.startswith("probability_")]
    assert len(values) == 7 and abs(sum(values) - 1) < 1e-3 and all(len(f"{v}") <= 6 for v in values)


def test_a_calibrated_run_of_one_configuration_records_its_validation_accuracy(sample_features, tmp_path):
    import pandas as pd

    from fer_classic.training import TrainSpec, train_run

    metrics = train_run(sample_features, tmp_path / "svm", TrainSpec(["hog"], "svm", pca=30), n_jobs=1)
    grid = pd.read_csv(tmp_path / "svm" / "grid.csv")
    assert len(grid) == 1 and 0.2 < grid["validation_accuracy"].iloc[0] < 1.0
    assert metrics["calibration"]["fitted_on"].startswith("validation split")
    # without calibration the model is refitted on fit + validation: no validation accuracy to give
    train_run(sample_features, tmp_path / "raw", TrainSpec(["hog"], "svm", pca=30, calibrate=False), n_jobs=1)
    assert pd.read_csv(tmp_path / "raw" / "grid.csv")["validation_accuracy"].isna().all()
