"""Local learning: per query, an SVM fitted on its nearest training rows alone."""

import json

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors
from sklearn.svm import LinearSVC

from fer_classic.models import LocalLearningClassifier
from fer_classic.store import FeatureDirectory
from fer_classic.training import EnsembleSpec, TrainSpec, train_ensemble


@pytest.fixture(scope="module")
def hog_rows(sample_features):
    fs = FeatureDirectory(sample_features).load("hog")
    train, test = np.flatnonzero(fs.usage == "Training"), np.flatnonzero(fs.usage == "PublicTest")
    return fs.X[train], fs.labels[train], fs.X[test][:40], fs.labels[test][:40]


def test_each_query_gets_the_svm_of_its_own_neighbours(hog_rows):
    X, y, Q, _ = hog_rows
    model = LocalLearningClassifier(k=60, metric="cosine", C=0.5, random_state=3, n_jobs=1).fit(X, y)
    scores = model.decision_function(Q[:5])
    def unit(A):
        norms = np.linalg.norm(A, axis=1, keepdims=True)
        return A / np.where(norms > 0, norms, 1)

    _, nb = NearestNeighbors(n_neighbors=60).fit(unit(X)).kneighbors(unit(Q[:5]))
    for q, row, neighbours in zip(Q[:5], scores, nb):
        local = LinearSVC(C=0.5, random_state=3, max_iter=5000).fit(X[neighbours], y[neighbours])
        present = np.isin(model.classes_, local.classes_)
        assert np.allclose(row[present], local.decision_function(q[None])[0], atol=1e-4)
        assert (row[~present] < row[present].min()).all()


def test_rbf_local_models_are_scikit_learns_svc_on_the_neighbours(hog_rows):
    from sklearn.svm import SVC

    X, y, Q, _ = hog_rows
    model = LocalLearningClassifier(k=60, metric="cosine", kernel="rbf", C=10.0, class_weight="balanced",
                                    n_jobs=1).fit(X, y)
    scores, neighbours = model.decision_function(Q[:5]), model.neighbours(Q[:5])
    for q, row, nb in zip(Q[:5], scores, neighbours):
        local = SVC(C=10.0, gamma="scale", class_weight="balanced").fit(X[nb], y[nb])
        present = np.isin(model.classes_, local.classes_)
        # within libsvm's stopping tolerance (1e-3): the kernel's last bits differ (BLAS sums in another order)
        np.testing.assert_allclose(row[present], local.decision_function(q[None])[0], atol=1e-4)


def test_one_class_neighbourhood_answers_that_class():
    X = np.vstack([np.zeros((5, 3)) + [1, 0, 0], np.zeros((5, 3)) + [0, 1, 0]]) + np.arange(10)[:, None] * 1e-3
    y = np.array([0] * 5 + [1] * 5)
    model = LocalLearningClassifier(k=3, metric="l2", n_jobs=1).fit(X, y)
    assert list(model.predict([[1, 0, 0], [0, 1, 0]])) == [0, 1]
    assert np.array_equal(model.decision_function([[1, 0, 0]]), [[1.0, -1.0]])


def test_same_answers_on_any_core_count(hog_rows):
    X, y, Q, _ = hog_rows
    one = LocalLearningClassifier(k=50, n_jobs=1, random_state=0).fit(X, y).decision_function(Q)
    two = LocalLearningClassifier(k=50, n_jobs=2, random_state=0).fit(X, y).decision_function(Q)
    assert np.array_equal(one, two)


def test_rbf_local_scores_do_not_depend_on_the_blas_threads_around_them():
    """Neighbourhoods of 300 rows of 1,764 values (HOG's length): their kernel matrices computed on two
    BLAS threads differ in the last bits from those computed on one, and so would the scores (by about
    2e-15 here); local learning computes them on one thread whatever the limit around it."""
    from threadpoolctl import threadpool_limits

    from fer_classic.models.local_scores import local_scores

    rng = np.random.default_rng(0)
    X, y = rng.random((1000, 1764)), rng.integers(0, 3, 1000)
    Q, neighbours = rng.random((6, 1764)), np.stack([rng.permutation(1000)[:300] for _ in range(6)])
    scores = []
    for threads in (1, 2):
        with threadpool_limits(threads, user_api="blas"):
            scores.append(local_scores(X, y, 3, Q, neighbours, {"kernel": "rbf", "C": 10.0, "class_weight": "balanced"}))
    assert np.array_equal(*scores)


def test_local_learning_is_a_member_of_ensembles_with_mirrors(sample, tmp_path):
    """(A local-learning run of its own, mirrors averaged: tests/test_predictor.py and test_model_kinds.py.)"""
    from fer_classic.features.extraction import extract_features

    feats = tmp_path / "feats"
    extract_features(sample, feats, {"hog": {"pixels_per_cell": 8}, "lbp": {}}, mirror=True, n_jobs=2)
    ensemble = EnsembleSpec(members=[TrainSpec(["hog"], "local", params={"k": 50}, pca=50, mirror="both"),
                                     TrainSpec(["lbp"], "svm", pca=50, mirror="both")])
    metrics = train_ensemble(feats, tmp_path / "ens", ensemble, n_jobs=2)
    grid = (tmp_path / "ens" / "grid.csv").read_text()
    assert "local on hog" in grid and len(metrics["members"]) == 2
    saved = json.loads((tmp_path / "ens" / "metrics.json").read_text())
    assert saved["spec"]["members"][0]["model"] == "local" and saved["spec"]["members"][0]["mirror"] == "both"
    assert saved["spec"]["members"][0]["params"]["k"] == 50 and 0.2 < metrics["members"][0]["validation_accuracy"] < 1


def test_searched_rows_made_in_blocks_are_the_same_values(hog_rows):
    """The predictor makes local learning's searched rows from the stored rows (float16, or an int8 grid)
    a block at a time: exactly the rows the model searches (made from the whole float32 array)."""
    from fer_classic.models.local_scores import searched_rows, searched_rows_in_blocks
    from fer_classic.store import CompactRows, compact_form, int8_grid_steps, round_to_int8_grid

    X = hog_rows[0][:500].astype(np.float32)
    for rows in (X.astype(np.float16).astype(np.float32), round_to_int8_grid(X, int8_grid_steps(X))):
        stored, steps = compact_form(rows)
        assert stored.dtype == (np.float16 if steps is None else np.int8)
        for metric in ("cosine", "l2"):
            whole = searched_rows(rows, metric)
            assert np.array_equal(searched_rows_in_blocks(CompactRows(stored, steps, np.float32), metric, block=37),
                                  whole)
