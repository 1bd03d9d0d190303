"""A fitted classifier's numpy form: how a run's predictor (:mod:`fer_classic.runs.predictor`) stores
it and computes its outputs without scikit-learn. Each model kind declares the forms of the estimators
it builds next to its builder (:mod:`fer_classic.models.kinds`), export and inference together.

This module and the inference functions of the forms import numpy alone: the predictor reads them
without importing scikit-learn. Exporting runs at training, where the estimator's own library is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..registry import Registry


class NoNumpyForm(Exception):
    """The model has a part without a numpy form (the message names it)."""


class ArrayRefs:
    """The arrays of a predictor, each stored once however often the spec refers to it."""

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}
        self._names: dict[int, str] = {}

    def ref(self, array) -> dict | None:
        """``{"array": name}`` for ``array`` (None for None), storing it under a new name the first time."""
        if array is None:
            return None
        if id(array) not in self._names:
            self._names[id(array)] = name = f"a{len(self.arrays)}"
            self.arrays[name] = np.ascontiguousarray(array)
        return {"array": self._names[id(array)]}


@dataclass(frozen=True)
class NumpyForm:
    """How one fitted estimator type is stored in a predictor and computed from it.

    Parameters
    ----------
    name : str
        The ``kind`` of its node in predictor files (``"mlp"``, ``"rbf_svm"``...): never renamed.
    accepts : callable
        ``accepts(estimator) -> bool``: whether this form stores that fitted estimator.
    export : callable
        ``export(estimator, arrays: ArrayRefs) -> dict``: the JSON node (arrays as ``arrays.ref(a)``);
        ``kind`` and ``classes`` are added to it.
    scores : callable
        ``scores(X, state) -> ndarray``: the class scores the estimator's ``class_scores`` gives for the
        classifier input rows ``X`` (probabilities, or decision values), in ``classes`` order.
    load : callable
        ``load(node) -> state``: the node read back (arrays in place of their references) made ready
        for ``scores`` (default: the node itself, a dict with ``classes`` as an array).
    labels_and_scores : callable, optional
        ``(X, state) -> (labels, scores)`` where the labels are not the argmax of the scores (libsvm's
        one-vs-one vote).
    labels : callable, optional
        ``(X, state) -> labels`` where the labels alone cost less than with the scores.
    """

    name: str
    accepts: Callable[[Any], bool]
    export: Callable[[Any, ArrayRefs], dict]
    scores: Callable[[np.ndarray, Any], np.ndarray]
    load: Callable[[dict], Any] = dict
    labels_and_scores: Callable | None = None
    labels: Callable | None = None

    def labels_and_scores_of(self, X, state) -> tuple[np.ndarray, np.ndarray]:
        """The labels the estimator's ``predict`` gives and its class scores."""
        if self.labels_and_scores is not None:
            return self.labels_and_scores(X, state)
        scores = self.scores(X, state)
        return state["classes"][np.argmax(scores, axis=1)], scores

    def labels_of(self, X, state) -> np.ndarray:
        """The labels the estimator's ``predict`` gives."""
        return self.labels(X, state) if self.labels is not None else self.labels_and_scores_of(X, state)[0]


# By their names in predictor files; filled as the model kinds are registered.
NUMPY_FORMS: Registry[NumpyForm] = Registry("numpy form")


def export_classifier(estimator, arrays: ArrayRefs) -> dict:
    """The predictor node of a fitted classifier; raises :class:`NoNumpyForm` when no registered form
    stores it."""
    for form in NUMPY_FORMS.values():
        if form.accepts(estimator):
            return {"kind": form.name, "classes": np.asarray(estimator.classes_).tolist(),
                    **form.export(estimator, arrays)}
    raise NoNumpyForm(f"{type(estimator).__name__} has no numpy form")


def load_classifier(node: dict) -> tuple[NumpyForm, Any]:
    """The form of a predictor's classifier node and its state, ready for :meth:`NumpyForm.scores`."""
    form = NUMPY_FORMS[node["kind"]]
    return form, form.load({**node, "classes": np.asarray(node["classes"])})
