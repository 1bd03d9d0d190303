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


def _largest_pair(y) -> int:
    return int(np.sort(np.bincount(np.unique(y, return_inverse=True)[1]))[-2:].sum())


@pytest.mark.parametrize("class_weight", [None, "balanced"])
def test_above_the_memory_limit_the_class_pairs_give_libsvms_solution(hog_rows, monkeypatch, class_weight):
    X, y, queries = hog_rows
    monkeypatch.setattr(gram_svm, "GRAM_LIMIT_BYTES", 8 * _largest_pair(y) ** 2)  # a pair fits, the whole does not
    sizes = []
    monkeypatch.setattr(gram_svm, "rbf_gram", lambda rows, gamma: sizes.append(len(rows)) or rbf_gram(rows, gamma))
    ours = GramRBFSVC(C=10.0, class_weight=class_weight).fit(X, y)
    assert len(sizes) == 21 and max(sizes) == _largest_pair(y)  # one kernel matrix per pair of the 7 classes
    theirs = SVC(C=10.0, class_weight=class_weight).fit(X, y)
    assert set(vars(ours)) == set(vars(theirs))
    assert np.array_equal(ours.support_, theirs.support_) and np.array_equal(ours.n_support_, theirs.n_support_)
    assert np.array_equal(ours.n_iter_, theirs.n_iter_)
    assert np.allclose(ours.dual_coef_, theirs.dual_coef_, rtol=0, atol=1e-9)
    assert np.allclose(ours.intercept_, theirs.intercept_, rtol=0, atol=1e-9)
    assert np.allclose(ours.class_weight_, theirs.class_weight_)
    assert np.allclose(ours.decision_function(queries), theirs.decision_function(queries), atol=1e-9)
    assert np.array_equal(ours.predict(queries), theirs.predict(queries))


def test_class_pairs_keep_the_labels_given(hog_rows, monkeypatch):
    X, y, queries = hog_rows
    names = np.array(["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"])[y]
    monkeypatch.setattr(gram_svm, "GRAM_LIMIT_BYTES", 8 * _largest_pair(y) ** 2)
    sizes = []
    monkeypatch.setattr(gram_svm, "rbf_gram", lambda rows, gamma: sizes.append(len(rows)) or rbf_gram(rows, gamma))
    ours, theirs = GramRBFSVC(C=10.0).fit(X, names), SVC(C=10.0).fit(X, names)
    assert len(sizes) == 21  # fitted by pairs, not handed to libsvm
    assert np.array_equal(ours.classes_, theirs.classes_)
    assert np.array_equal(ours.predict(queries), theirs.predict(queries))


@pytest.mark.parametrize("weighted", [False, True])
def test_above_the_memory_limit_of_a_pair_libsvm_fits_it(hog_rows, monkeypatch, weighted):
    X, y, queries = hog_rows
    # over the limit for the two largest classes (or, with sample weights, for the whole): libsvm's own fit
    limit = 8 * _largest_pair(y) ** 2 if weighted else 8 * (_largest_pair(y) ** 2 - 1)
    monkeypatch.setattr(gram_svm, "GRAM_LIMIT_BYTES", limit)
    weights = np.where(y == 3, 0.5, 1.0) if weighted else None
    ours = GramRBFSVC(C=10.0).fit(X, y, sample_weight=weights)
    theirs = SVC(C=10.0).fit(X, y, sample_weight=weights)
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
