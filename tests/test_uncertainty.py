"""Intervals and paired tests: the numbers researchers cite."""

from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from fer_classic.evaluation.uncertainty import accuracy_text, bootstrap_intervals, intervals, mcnemar, wilson_interval


def test_wilson_interval_matches_the_formula():
    k, n = 2228, 3589
    p, z = k / n, NormalDist().inv_cdf(0.975)
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    lo, hi = wilson_interval(k, n)
    assert lo == pytest.approx(centre - half, abs=1e-9) and hi == pytest.approx(centre + half, abs=1e-9)
    assert 0.015 < (hi - lo) / 2 < 0.017  # about ±1.6 points at FER2013's PublicTest size


def test_bootstrap_intervals_are_seeded_and_contain_the_estimate():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 7, 500)
    pred = np.where(rng.random(500) < 0.6, y, rng.integers(0, 7, 500))
    first, again = bootstrap_intervals(y, pred), bootstrap_intervals(y, pred)
    assert first == again
    from sklearn.metrics import balanced_accuracy_score
    lo, hi = first["balanced_accuracy"]
    assert lo < balanced_accuracy_score(y, pred) < hi
    assert intervals(y, pred)["n"] == 500


@pytest.mark.parametrize("n, n_classes, unseen", [(500, 7, 0), (30, 7, 2), (12, 3, 1)])
def test_bootstrap_intervals_are_those_of_scikit_learns_metrics_on_each_resample(n, n_classes, unseen):
    """Small resamples lack classes and predictions name classes the truth lacks: scikit-learn's
    balanced accuracy and macro F1 (labels = the classes of the truth, zero_division=0) on the same draws."""
    import warnings

    from sklearn.metrics import balanced_accuracy_score, f1_score

    rng = np.random.default_rng(n)
    y = rng.integers(0, n_classes, n)
    pred = np.where(rng.random(n) < 0.6, y, rng.integers(0, n_classes + unseen, n))
    draws, labels, values = np.random.default_rng(3), np.unique(y), {"balanced_accuracy": [], "macro_f1": []}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(250):
            i = draws.integers(0, n, n)
            values["balanced_accuracy"].append(balanced_accuracy_score(y[i], pred[i]))
            values["macro_f1"].append(f1_score(y[i], pred[i], labels=labels, average="macro", zero_division=0))
    expected = {k: (np.percentile(v, 2.5), np.percentile(v, 97.5)) for k, v in values.items()}
    got = bootstrap_intervals(y, pred, rounds=250, seed=3)
    assert all(got[k] == pytest.approx(expected[k], abs=1e-12) for k in expected)
    # class names as strings give the same intervals as their codes
    names = np.array(list("abcdefghij"))
    assert bootstrap_intervals(names[y], names[pred], rounds=250, seed=3) == got


def test_exact_mcnemar():
    a = np.array([1] * 30 + [0] * 10 + [1] * 50, bool)
    b = np.array([0] * 30 + [1] * 10 + [1] * 50, bool)
    result = mcnemar(a, b)
    assert (result["a_right_b_wrong"], result["a_wrong_b_right"]) == (30, 10)
    from scipy.stats import binom
    assert result["p_value"] == pytest.approx(2 * binom.cdf(10, 40, 0.5))
    assert mcnemar(a, a)["p_value"] == 1.0


def test_runs_record_intervals_and_per_image_predictions(sample_features, tmp_path):
    import json

    from fer_classic.training import TrainSpec, train_run

    knn_run = tmp_path / "run"
    train_run(sample_features, knn_run, TrainSpec(["hist"], "knn"), n_jobs=1)
    metrics = json.loads((knn_run / "metrics.json").read_text())
    lo, hi = metrics["intervals"]["accuracy"]
    assert lo < metrics["accuracy"] < hi and metrics["intervals"]["n"] == metrics["n_test"]
    predictions = pd.read_csv(knn_run / "predictions.csv")
    assert len(predictions) == metrics["n_test"]
    assert np.mean(predictions["true"] == predictions["predicted"]) == pytest.approx(metrics["accuracy"])


def test_accuracy_text_gives_percent_interval_and_counts():
    correct = np.array([True] * 7 + [False] * 3)
    lo, hi = wilson_interval(7, 10)
    assert accuracy_text(correct) == f"70.00% [{lo:.2%}, {hi:.2%}] (7 of 10)"
    assert accuracy_text([1, 1, 0, 0]).startswith("50.00% [")
