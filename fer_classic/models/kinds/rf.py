"""``rf``: scikit-learn's random forest."""

from __future__ import annotations

import numpy as np

from ..numpy_form import NumpyForm
from ..registry import ModelKind, Param, parse_optional_int, register_model


def build(p, *, seed, class_weight, n_jobs):
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=p["trees"], max_depth=p["max_depth"], class_weight=class_weight,
                                  random_state=seed, n_jobs=n_jobs)


def accepts(clf) -> bool:
    return type(clf).__name__ == "RandomForestClassifier" and clf.n_outputs_ == 1


def export(forest, arrays) -> dict:
    """Every tree's nodes in one set of arrays, in their smallest exact form: children as int32 node
    numbers across the forest (-1 at leaves), split features as int32, thresholds as the largest float32
    not above each float64 one (the forest compares float32 rows, and a float32 ``x <= t`` exactly when
    ``x <=`` that float32), and class fractions for the leaves alone, in float64 as fitted."""
    trees = [e.tree_ for e in forest.estimators_]
    starts = np.r_[0, np.cumsum([t.node_count for t in trees])]
    left = np.concatenate([np.where(t.children_left < 0, -1, t.children_left + s) for t, s in zip(trees, starts)])
    right = np.concatenate([np.where(t.children_right < 0, -1, t.children_right + s) for t, s in zip(trees, starts)])
    threshold = np.concatenate([t.threshold for t in trees])
    below = threshold.astype(np.float32)
    over = below.astype(np.float64) > threshold
    below[over] = np.nextafter(below[over], np.float32(-np.inf))
    leaves = left < 0
    values = np.concatenate([t.value[:, 0, :] for t in trees])
    leaf_row = np.full(len(left), -1, dtype=np.int32)
    leaf_row[leaves] = np.arange(leaves.sum())
    parts = {"roots": starts[:-1].astype(np.int32), "left": left.astype(np.int32), "right": right.astype(np.int32),
             "feature": np.concatenate([t.feature for t in trees]).astype(np.int32), "threshold": below,
             "leaf_row": leaf_row, "leaf_value": values[leaves]}
    return {k: arrays.ref(v) for k, v in parts.items()}


def scores(X, clf) -> np.ndarray:
    """RandomForestClassifier.predict_proba: float32 rows down every tree at once, the leaves' class
    fractions added tree by tree (the order a forest with one job adds them), divided by the trees."""
    left, right, feature, threshold = clf["left"], clf["right"], clf["feature"], clf["threshold"]
    X = np.asarray(X, dtype=np.float32)
    node = np.tile(clf["roots"], (len(X), 1))
    rows = np.repeat(np.arange(len(X)), len(clf["roots"])).reshape(node.shape)
    inner = left[node] >= 0
    while inner.any():
        at = node[inner]
        node[inner] = np.where(X[rows[inner], feature[at]] <= threshold[at], left[at], right[at])
        inner = left[node] >= 0
    leaf_rows = clf["leaf_row"][node]
    proba = np.zeros((len(X), clf["leaf_value"].shape[1]))
    for tree in range(leaf_rows.shape[1]):
        proba += clf["leaf_value"][leaf_rows[:, tree]]
    proba /= leaf_rows.shape[1]
    return proba


RF = register_model(ModelKind(
    "rf", "random forest",
    (Param("trees", int, 300, "trees in the forest", minimum=1),
     Param("max_depth", parse_optional_int, None, "maximum depth (none: unlimited)", minimum=1)),
    build, ({"trees": [100, 300], "max_depth": [None, 20]},), class_weight=True, relative_cost=3,
    saved_classes=("sklearn.ensemble._forest.RandomForestClassifier", "sklearn.tree._classes.DecisionTreeClassifier",
                   "sklearn.tree._tree.Tree"),
    numpy_forms=(NumpyForm("forest", accepts, export, scores),)))
