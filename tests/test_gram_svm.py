"""An RBF SVM fitted through its BLAS kernel matrix is libsvm's own solution."""

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.svm import SVC
from threadpoolctl import threadpool_limits

from fer_classic.models import gram_svm
from fer_classic.models.gram_svm import GramRBFSVC, rbf_gram
from fer_classic.store import FeatureDirectory


@pytest.fixture(scope="module")
def hog_rows(sample_features):
    fs = FeatureDirectory(sample_features).load("hog")
    X = PCA(40, random_state=0).fit_transform(fs.X)
    train = fs.usage == "Training"
    return X[train], fs.labels[train], X[~train]


@pytest.mark.parametrize("options", [{"gamma": "scale"}, {"gamma": "auto", "C": 1.0},
                                     {"gamma": 0.01, "class_weight": "balanced"}])
def test_same_solution_as_libsvm(hog_rows, options):
    X, y, queries = hog_rows
    options = {"C": 10.0, **options}
    ours, theirs = GramRBFSVC(**options).fit(X, y), SVC(**options).fit(X, y)
    assert np.array_equal(ours.support_, theirs.support_)
    assert np.allclose(ours.dual_coef_, theirs.dual_coef_, atol=1e-6)
    assert np.allclose(ours.decision_function(queries), theirs.decision_function(queries), atol=1e-6)
    assert np.array_equal(ours.predict(queries), theirs.predict(queries))
    assert ours._gamma == pytest.approx(theirs._gamma, rel=1e-12)


def test_sample_weights_reach_the_solver(hog_rows):
    X, y, queries = hog_rows
    weights = np.where(y == 3, 0.2, 1.0)
    ours = GramRBFSVC(C=10.0).fit(X, y, sample_weight=weights)
    theirs = SVC(C=10.0).fit(X, y, sample_weight=weights)
    assert np.array_equal(ours.support_, theirs.support_)
    assert not np.array_equal(ours.support_, SVC(C=10.0).fit(X, y).support_)


def test_above_the_memory_limit_libsvm_fits_it(hog_rows, monkeypatch):
    X, y, queries = hog_rows
    monkeypatch.setattr(gram_svm, "GRAM_LIMIT_BYTES", 8 * (len(X) ** 2 - 1))
    ours, theirs = GramRBFSVC(C=10.0).fit(X, y), SVC(C=10.0).fit(X, y)
    assert np.array_equal(ours.decision_function(queries), theirs.decision_function(queries))  # bit for bit


def test_kernel_matrix_is_exact_and_the_same_on_any_thread_count(hog_rows, monkeypatch):
    X = hog_rows[0][:700].astype(np.float64)
    monkeypatch.setattr(gram_svm, "_BLOCK", 256)  # blocks that do not divide the rows
    with threadpool_limits(1):
        one = rbf_gram(X, 0.002)
    with threadpool_limits(2):
        two = rbf_gram(X, 0.002)
    assert np.array_equal(one, two)
    squared = ((X[:50, None, :] - X[None, :, :]) ** 2).sum(-1)
    assert np.allclose(one[:50], np.exp(-0.002 * squared), rtol=1e-10, atol=1e-13)
    assert np.allclose(one, one.T, rtol=0, atol=1e-15)
