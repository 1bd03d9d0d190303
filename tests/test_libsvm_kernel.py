"""Local learning's RBF SVMs, fitted by libsvm on a kernel computed with numpy: the problem and the scores
of scikit-learn's SVC, which the local models were before (#16)."""

import numpy as np
import pytest
from sklearn.svm import SVC

from fer_classic.models.libsvm_kernel import ovr_scores, rbf_gamma, rbf_svc_scores


def neighbourhood(rng, classes, n=120, d=40):
    y = rng.choice(classes, n)
    X = rng.normal(size=(n, d)) * np.geomspace(2, 0.1, d) + rng.normal(size=(max(classes) + 1, d))[y] * 0.4
    return X.astype(np.float32).astype(np.float64), y


@pytest.mark.parametrize("classes", [[0, 1, 2, 3, 4, 5, 6], [1, 3, 4], [2, 5]])
@pytest.mark.parametrize("class_weight", [None, "balanced"])
def test_scores_are_scikit_learns_svc_ones(classes, class_weight):
    rng = np.random.default_rng(len(classes))
    X, y = neighbourhood(rng, classes)
    queries = X[:3] + rng.normal(size=(3, X.shape[1])) * 0.2
    expected = SVC(C=10.0, gamma="scale", class_weight=class_weight).fit(X, y).decision_function(queries)
    weights = None
    if class_weight:
        present, counts = np.unique(y, return_counts=True)
        weights = dict(zip(present, len(y) / (len(present) * counts)))
    scores = rbf_svc_scores(X, y, queries, 10.0, weights)
    assert scores.shape == expected.shape
    np.testing.assert_allclose(scores, expected, atol=1e-9)  # libsvm's kernel sums in another order
    assert not np.allclose(rbf_svc_scores(X, y, queries, 0.01, weights), expected, atol=1e-3)  # C matters


def test_the_inputs_are_not_changed():
    rng = np.random.default_rng(0)
    X, y = neighbourhood(rng, [0, 2, 6])
    X_before, y_before = X.copy(), y.copy()
    rbf_svc_scores(X, y, X[:4], 10.0)
    assert np.array_equal(X, X_before) and np.array_equal(y, y_before)


def test_gamma_and_the_one_vs_rest_scores_are_scikit_learns():
    from sklearn.utils.multiclass import _ovr_decision_function

    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 5))
    assert rbf_gamma(X) == 1.0 / (5 * X.var()) and rbf_gamma(np.ones((4, 2))) == 1.0
    decision = rng.normal(size=(50, 10))
    decision[0, 3] = 0.0  # a tie goes to the pair's first class, as in scikit-learn
    np.testing.assert_array_equal(ovr_scores(decision, 5), _ovr_decision_function(decision < 0, -decision, 5))


def test_a_parameter_libsvm_rejects_is_an_error():
    X, y = neighbourhood(np.random.default_rng(2), [0, 1])
    with pytest.raises(ValueError, match="libsvm: C <= 0"):
        rbf_svc_scores(X, y, X[:1], 0.0)
