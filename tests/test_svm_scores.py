"""The BLAS computation of an RBF SVM's class scores agrees with libsvm's."""

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.svm import SVC, LinearSVC

from fer_classic.models import svm_scores
from fer_classic.models.mirror import predict_labels
from fer_classic.models.svm_scores import has_fast_scores, rbf_svc_predict, rbf_svc_scores
from fer_classic.store import FeatureDirectory


def test_scores_match_decision_function(sample_features):
    fs = FeatureDirectory(sample_features).load("hog")
    X = PCA(30, random_state=0).fit_transform(fs.X)
    train, test = fs.usage == "Training", fs.usage != "Training"
    for gamma in ("scale", 0.05):
        svc = SVC(C=10, gamma=gamma).fit(X[train], fs.labels[train])
        assert has_fast_scores(svc)
        expected = svc.decision_function(X[test])
        got = rbf_svc_scores(svc, X[test])
        assert got.shape == expected.shape == (test.sum(), 7)
        assert np.allclose(got, expected, atol=1e-4)
        assert np.array_equal(got.argmax(1), expected.argmax(1))


def test_labels_match_libsvm_predict(sample_features, monkeypatch):
    """libsvm's one-vs-one vote with its tie rule, on every sample row (training rows included, where many
    decision values sit near the margin), in batches that do not divide the rows evenly."""
    monkeypatch.setattr(svm_scores, "_BATCH", 500)
    fs = FeatureDirectory(sample_features).load("hog")
    X = PCA(30, random_state=0).fit_transform(fs.X)
    train = fs.usage == "Training"
    for options in ({"gamma": "scale"}, {"gamma": 0.05, "class_weight": "balanced"}, {"break_ties": True}):
        svc = SVC(C=10, **options).fit(X[train], fs.labels[train])
        expected = svc.predict(X)
        assert np.array_equal(rbf_svc_predict(svc, X), expected)
        assert np.array_equal(predict_labels(svc, X), expected)
    # one-vs-one votes often tie among 7 classes; the vote, not the one-vs-rest score, decides them
    ovr = rbf_svc_scores(svc, X)
    assert not np.array_equal(SVC(C=10).fit(X[train], fs.labels[train]).predict(X), svc.classes_[ovr.argmax(1)])


def test_only_multiclass_rbf_svms_take_the_fast_path(sample_features):
    fs = FeatureDirectory(sample_features).load("hist")
    two = np.isin(fs.labels, [3, 6])
    assert not has_fast_scores(SVC().fit(fs.X[two], fs.labels[two]))
    assert not has_fast_scores(SVC(kernel="linear").fit(fs.X[:300], fs.labels[:300]))
    assert not has_fast_scores(SVC(decision_function_shape="ovo").fit(fs.X[:300], fs.labels[:300]))
    assert not has_fast_scores(LinearSVC().fit(fs.X[:300], fs.labels[:300]))


def test_support_vectors_on_an_int8_grid_are_scored_from_their_int8_numbers(sample_features):
    """Rows rounded to an int8 grid (--int8-rows): the layout keeps the support vectors as int8 numbers and
    a step per column, and still gives libsvm's labels on every sample row and its scores."""
    from fer_classic.store import round_to_int8_grid

    fs = FeatureDirectory(sample_features).load("hog")
    X = PCA(30, random_state=0).fit_transform(fs.X)
    X = round_to_int8_grid(X, np.abs(X).max(axis=0) / 127)
    train = fs.usage == "Training"
    svc = SVC(C=10).fit(X[train], fs.labels[train])
    layout = svm_scores.svc_layout(svc)
    assert layout.support_vectors.dtype == np.int8 and layout.steps.dtype == np.float32
    assert np.array_equal(layout.support_vectors * layout.steps, svc.support_vectors_.astype(np.float32))
    assert np.array_equal(rbf_svc_predict(svc, X), svc.predict(X))
    assert np.allclose(rbf_svc_scores(svc, X), svc.decision_function(X), atol=1e-4)


def test_int8_row_products_match_float64_products_for_every_batch_shape():
    """The compiled kernel's row blocks of four and query pairs, with their remainders."""
    from fer_classic.models.int8_products import int8_row_products

    rng = np.random.default_rng(0)
    for rows in (0, 1, 3, 4, 5, 9, 103):
        for n in (0, 1, 2, 3, 8, 9):
            whole = rng.integers(-127, 128, (rows, 37)).astype(np.int8)
            queries = rng.standard_normal((n, 37)).astype(np.float32)
            got = int8_row_products(whole, queries)
            assert got.shape == (n, rows) and got.dtype == np.float32
            assert np.allclose(got, queries.astype(np.float64) @ whole.T.astype(np.float64), rtol=1e-5, atol=1e-3)
    with pytest.raises(ValueError, match="differ in width"):
        int8_row_products(np.zeros((3, 4), np.int8), np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match="not int8"):
        int8_row_products(np.zeros((3, 4)), np.zeros((2, 4), np.float32))
