"""``local``: local learning (:class:`~fer_classic.models.local.LocalLearningClassifier`): for each
query an SVM fitted on its k nearest training rows alone (:mod:`fer_classic.models.local_scores`)."""

from __future__ import annotations

import numpy as np

from ...store import CompactRows, compact_form
from .. import local_scores
from ..numpy_form import NumpyForm
from ..registry import ModelKind, Param, register_model

# Faces from which the per-face fits go to worker processes (whose start costs about a second).
WORKERS_FROM = 64


def build(p, *, seed, class_weight, n_jobs):
    from ..local import LocalLearningClassifier

    return LocalLearningClassifier(k=p["k"], metric=p["metric"], kernel=p["kernel"], C=p["C"],
                                   class_weight=class_weight, random_state=seed, n_jobs=n_jobs)


def accepts(clf) -> bool:
    return type(clf).__name__ == "LocalLearningClassifier"


def export(clf, arrays) -> dict:
    rows, steps = compact_form(clf._fit_X)  # float32, stored in their most compact exact form (as SVMs')
    return {"k": int(clf.k), "metric": clf.metric, "model": clf._local_model_params(), "dtype": clf._fit_X.dtype.name,
            "rows": arrays.ref(rows), "rows_steps": arrays.ref(steps), "labels": arrays.ref(clf._y.astype(np.int32))}


def load(clf) -> dict:
    """The rows as stored, widened a neighbourhood at a time, and as searched; the local SVMs' library
    imported in a thread meanwhile."""
    local_scores.start_importing_models(clf["model"]["kernel"])
    rows = CompactRows(clf["rows"], clf.get("rows_steps"), clf["dtype"])
    return {**clf, "rows": rows, "search_rows": local_scores.searched_rows_in_blocks(rows, clf["metric"])}


def scores(X, clf) -> np.ndarray:
    """LocalLearningClassifier.decision_function: the same neighbourhoods and local SVMs, on the rows in
    float32 as the model takes them; for many faces (``evaluate``) in a worker process per core, like
    the model."""
    X = np.asarray(X, dtype=np.float32)
    neighbours = local_scores.local_neighbours(clf["search_rows"], X, clf["k"], clf["metric"])
    return local_scores.local_scores_in_workers(clf["rows"], clf["labels"], len(clf["classes"]), X, neighbours,
                                                clf["model"], None if len(X) >= WORKERS_FROM else 1)


LOCAL = register_model(ModelKind(
    "local", "local learning: per query, an SVM fitted on its k nearest training rows alone",
    (Param("k", int, 200, "neighbours", minimum=1),
     Param("metric", str, "cosine", "how neighbours are found", choices=("cosine", "l2", "l1")),
     Param("kernel", str, "linear", "the local SVM: linear (LinearSVC) or rbf (SVC)", choices=("rbf", "linear")),
     Param("C", float, 1.0, "the local SVM's regularisation", minimum=0)),
    build, ({"k": [100, 200], "C": [0.1, 1.0]},), class_weight=True, relative_cost=4,
    saved_classes=("fer_classic.models.local.LocalLearningClassifier",),
    numpy_forms=(NumpyForm("local", accepts, export, scores, load),)))
