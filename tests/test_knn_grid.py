"""The fast KNN grid against scikit-learn's KNeighborsClassifier, configuration by configuration."""

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from fer_classic.features import HOGDescriptor, RawPixels
from fer_classic.models import expand_grid, model_kind
from fer_classic.models.knn import FastKNeighborsClassifier, knn_grid_predictions
from fer_classic.models.neighbours import _heap_push, kneighbors, minkowski_distances


def _features(sample, kind):
    train = sample.usage == "Training"
    if kind == "raw":  # integer pixels: many exact distance ties, duplicates included
        X = RawPixels(size=12).fit_transform(sample.images).astype(np.float64)
    else:
        H = HOGDescriptor(pixels_per_cell=8, n_jobs=2).fit_transform(sample.images).astype(np.float64)
        scaler = StandardScaler().fit(H[train])
        X = PCA(30, random_state=0).fit(scaler.transform(H[train])).transform(scaler.transform(H))
    return X[train], sample.labels[train], X[~train]


@pytest.mark.parametrize("kind", ["raw", "hog-pca"])
def test_every_default_grid_configuration_predicts_like_scikit_learn(sample, kind):
    X_fit, y_fit, X_test = _features(sample, kind)
    # Training rows as queries too: zero distances, where distance weighting has its special rule.
    queries = {"test": X_test, "train": X_fit[:60]}
    configs = expand_grid("knn", list(model_kind("knn").default_grid))
    assert len(configs) == 30
    fast = knn_grid_predictions(X_fit, y_fit, queries, configs)
    # One OpenMP thread: scikit-learn then scans training rows in order, and its tie-breaking does
    # not depend on the machine (see knn_grid's docstring).
    with threadpool_limits(1, user_api="openmp"):
        for config, predicted in zip(configs, fast):
            reference = KNeighborsClassifier(n_neighbors=config["k"], weights=config["weights"],
                                             p=config["p"]).fit(X_fit, y_fit)
            model = FastKNeighborsClassifier(n_neighbors=config["k"], weights=config["weights"], p=config["p"]).fit(X_fit, y_fit)
            for name, X in queries.items():
                expected = reference.predict(X)
                assert np.array_equal(predicted[name], expected), (config, name)
                assert np.array_equal(model.predict(X), expected), (config, name)


def test_ties_at_the_k_th_neighbour_occur_in_this_data(sample):
    """The test above would be weak if no tie ever had to be broken."""
    X_fit, _, X_test = _features(sample, "raw")
    dist, _ = kneighbors(X_fit, X_test, 10, 1)
    assert (dist[:, :9] == dist[:, 1:10]).any(axis=0).sum() >= 3


def test_kneighbors_is_exact_and_ordered():
    rng = np.random.default_rng(0)
    X, Q = rng.normal(size=(300, 7)), rng.normal(size=(20, 7))
    for p in (1, 2, 3):
        dist, idx = kneighbors(X, Q, 5, p)
        full = minkowski_distances(Q, np.broadcast_to(X, (20,) + X.shape), p)
        assert np.allclose(dist, np.sort(full, axis=1)[:, :5], rtol=1e-12)
        assert np.array_equal(idx, np.argsort(full, axis=1, kind="stable")[:, :5])


def test_heap_push_keeps_the_k_smallest_and_refuses_ties_at_the_root():
    values, indices = [np.inf] * 3, [-1] * 3
    for i, v in enumerate([5.0, 1.0, 4.0, 4.0, 0.5, 4.0]):
        _heap_push(values, indices, 3, v, i)
    assert sorted(values) == [0.5, 1.0, 4.0] and indices[0] == 2  # the first 4.0 stays, later equal ones don't


def test_lp_kernel_matches_float64_sums():
    from fer_classic.models.lp_kernel import lp_power_sums

    rng = np.random.default_rng(5)
    X, Q = rng.integers(0, 256, (300, 2304)).astype(np.float32), rng.integers(0, 256, (21, 2304)).astype(np.float32)
    for p in (3, 4, 2.5):
        exact = (np.abs(Q[:, None, :].astype(np.float64) - X[None]) ** p).sum(2)
        assert np.allclose(lp_power_sums(Q, X, p), exact, rtol=1e-5)


@pytest.mark.parametrize("p", [1, 2])
def test_pixel_rows_are_searched_in_integers_with_the_float64_answers(sample, p):
    """A predictor's KNN on raw pixels keeps the rows as bytes and sums whole numbers exactly: the
    distances and neighbours of the float64 search, ties (duplicated rows, queries equal to rows) and the
    largest possible distance included."""
    from fer_classic.models.neighbours import _pixel_queries, exact_kneighbors

    train = sample.images[sample.usage == "Training"][:1500].reshape(1500, -1)
    rows = np.vstack([train, train[:40], np.full((1, train.shape[1]), 255, np.uint8)])
    test = sample.images[sample.usage == "PublicTest"][:20].reshape(20, -1)
    queries = np.vstack([test, train[:3], np.zeros((1, train.shape[1]), np.uint8)]).astype(np.float64)
    got = exact_kneighbors(rows, queries, 12, p)
    want = exact_kneighbors(rows.astype(np.float64), queries, 12, p)
    assert _pixel_queries(rows, queries, p) is not None
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    far = exact_kneighbors(rows, queries[-1:], len(rows), p)  # every row, the white one farthest
    assert np.array_equal(far[0], exact_kneighbors(rows.astype(np.float64), queries[-1:], len(rows), p)[0])
    assert far[0][0, -1] == (255.0 * rows.shape[1] if p == 1 else np.sqrt(255.0 ** 2 * rows.shape[1]))
    # other queries or norms take the float64 path
    assert _pixel_queries(rows, queries + 0.5, p) is None and _pixel_queries(rows, queries, 3) is None
    assert _pixel_queries(rows, -queries - 1, p) is None
