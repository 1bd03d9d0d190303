"""Class scores of a fitted RBF ``SVC`` computed with BLAS: its ``decision_function`` (one-vs-rest
shape) to within about 1e-5, and its ``predict``, several times faster than libsvm.

libsvm evaluates the kernel of each query against every support vector in a scalar loop; here the
kernel matrix of a batch is one matrix product (with support vectors on an int8 grid, a compiled
product with their int8 numbers: :mod:`fer_classic.models.int8_products`), and the one-vs-one decision
values another, with the dual coefficients laid out once per model (cached, not stored in the model file).

The arithmetic (:class:`SVMLayout` and the functions taking one) needs numpy (and numba for int8 support
vectors): a run's predictor (:mod:`fer_classic.runs.predictor`) computes the same numbers without
importing scikit-learn.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

import numpy as np

from ..store import compact_form, int8_columns
from .int8_products import int8_row_products

_layouts: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_BATCH = 1024  # query rows per kernel block: 1024 x 50k support vectors is 200 MB of float32


@dataclass
class SVMLayout:
    """What the BLAS scores of a multi-class RBF SVM need: the support vectors in float32 (half the
    memory read per query; the kernel values differ from libsvm's float64 ones by about 1e-6), or, where
    they lie on an int8 grid (``--int8-rows``), as int8 whole numbers of a float32 ``steps`` per column
    (a quarter: :mod:`fer_classic.models.int8_products`); the squared norms of the support vectors as
    fitted, the ``(n_sv, n_pairs)`` one-vs-one coefficients, the intercepts, gamma and the classes."""

    support_vectors: np.ndarray
    sv_norms: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    gamma: float
    classes: np.ndarray
    break_ties: bool = False
    steps: np.ndarray | None = None
    sv_norms32: np.ndarray = field(init=False, repr=False)  # what the float32 kernel block adds

    def __post_init__(self):
        self.sv_norms32 = np.asarray(self.sv_norms, dtype=np.float32)

    @classmethod
    def from_parts(cls, support_vectors, sv_norms, dual_coef, n_support, intercept, gamma, classes,
                   break_ties=False, steps=None) -> "SVMLayout":
        """From libsvm's parts (``SVC``'s ``dual_coef_``, ``n_support_``, ...); ``support_vectors`` in
        float32, or int8 whole numbers of ``steps``; ``sv_norms`` those of the fitted (float64) ones."""
        n = len(classes)
        starts = np.r_[0, np.cumsum(n_support)]
        coef = np.zeros((len(support_vectors), n * (n - 1) // 2))
        pair = 0
        for i in range(n):
            for j in range(i + 1, n):
                own, other = slice(starts[i], starts[i + 1]), slice(starts[j], starts[j + 1])
                coef[own, pair] = dual_coef[j - 1, own]
                coef[other, pair] = dual_coef[i, other]
                pair += 1
        if steps is None:
            support_vectors = np.ascontiguousarray(support_vectors, dtype=np.float32)
            support_vectors, steps = int8_columns(support_vectors) or (support_vectors, None)
        return cls(np.ascontiguousarray(support_vectors), sv_norms, coef, intercept, float(gamma),
                   np.asarray(classes), bool(break_ties), None if steps is None else steps.astype(np.float32))

    def compact_support_vectors(self) -> tuple[np.ndarray, np.ndarray | None]:
        """The support vectors in their most compact exact form (:func:`fer_classic.store.compact_form`)."""
        return (self.support_vectors, self.steps) if self.steps is not None else compact_form(self.support_vectors)


def one_vs_one_values(layout: SVMLayout, X) -> np.ndarray:
    """libsvm's one-vs-one decision values, (n, n_pairs), computed in batches of rows: the kernel block in
    float32 (its cross products are float32 products already), in place, and its weighted sums in float64."""
    sv, coef = layout.support_vectors, layout.coef
    minus_gamma = np.float32(-layout.gamma)
    X = np.asarray(X)
    out = np.empty((len(X), coef.shape[1]))
    for start in range(0, len(X), _BATCH):
        part = X[start:start + _BATCH]
        if layout.steps is None:
            kernel = (sv @ part.astype(np.float32).T).T  # (n, n_sv); (n_sv, d) @ (d, n) is the faster layout
        else:
            kernel = int8_row_products(sv, part.astype(np.float32) * layout.steps)
        kernel *= -2
        kernel += layout.sv_norms32
        kernel += (part.astype(np.float64) ** 2).sum(axis=1).astype(np.float32)[:, None]
        np.maximum(kernel, 0, out=kernel)  # the squared distances
        kernel *= minus_gamma
        np.exp(kernel, out=kernel)
        out[start:start + _BATCH] = kernel @ coef + layout.intercept
    return out


def ovr_decision_function(predictions, confidences, n_classes: int) -> np.ndarray:
    """One-vs-rest scores from one-vs-one votes and confidences: scikit-learn's
    ``sklearn.utils.multiclass._ovr_decision_function``, operation for operation (votes, plus the summed
    confidences mapped into (-1/3, 1/3) to break ties without changing any vote)."""
    n_samples = predictions.shape[0]
    votes = np.zeros((n_samples, n_classes))
    sum_of_confidences = np.zeros((n_samples, n_classes))
    k = 0
    for i in range(n_classes):
        for j in range(i + 1, n_classes):
            sum_of_confidences[:, i] -= confidences[:, k]
            sum_of_confidences[:, j] += confidences[:, k]
            votes[predictions[:, k] == 0, i] += 1
            votes[predictions[:, k] == 1, j] += 1
            k += 1
    transformed_confidences = sum_of_confidences / (3 * (np.abs(sum_of_confidences) + 1))
    return votes + transformed_confidences


def layout_scores(layout: SVMLayout, X) -> np.ndarray:
    """The one-vs-rest class scores (``SVC.decision_function``'s shape and values, to about 1e-5)."""
    return _ovr_scores(layout, one_vs_one_values(layout, X))


def layout_predict(layout: SVMLayout, X) -> np.ndarray:
    """``SVC.predict``: libsvm's one-vs-one vote (a pair's first class wins where its decision value is
    positive; equal votes go to the earlier class), from the BLAS decision values. A label can differ
    from libsvm's only where a decision value is within about 1e-6 of zero."""
    if layout.break_ties:
        return layout.classes[np.argmax(layout_scores(layout, X), axis=1)]
    return _vote(layout, one_vs_one_values(layout, X))


def layout_labels_and_scores(layout: SVMLayout, X) -> tuple[np.ndarray, np.ndarray]:
    """``layout_predict`` and ``layout_scores`` from one computation of the decision values."""
    ovo = one_vs_one_values(layout, X)
    scores = _ovr_scores(layout, ovo)
    return (layout.classes[np.argmax(scores, axis=1)] if layout.break_ties else _vote(layout, ovo)), scores


def _ovr_scores(layout: SVMLayout, ovo: np.ndarray) -> np.ndarray:
    return ovr_decision_function(ovo < 0, -ovo, len(layout.classes))


def _vote(layout: SVMLayout, ovo: np.ndarray) -> np.ndarray:
    n = len(layout.classes)
    first, second = np.triu_indices(n, k=1)  # the pairs in libsvm's order: (0, 1), (0, 2), ..., (n-2, n-1)
    votes = np.zeros((len(ovo), n), dtype=np.int64)
    wins = ovo > 0
    for pair, (i, j) in enumerate(zip(first, second)):
        votes[:, i] += wins[:, pair]
        votes[:, j] += ~wins[:, pair]
    return layout.classes[np.argmax(votes, axis=1)]


# --------------------------------------------------------------------------- scikit-learn's SVC

def has_fast_scores(clf) -> bool:
    from sklearn.svm import SVC

    return (isinstance(clf, SVC) and clf.kernel == "rbf" and clf.decision_function_shape == "ovr"
            and len(clf.classes_) > 2)


def svc_layout(svc) -> SVMLayout:
    """The :class:`SVMLayout` of a fitted RBF ``SVC`` (cached per model, not stored in its file)."""
    if svc not in _layouts:
        _layouts[svc] = SVMLayout.from_parts(
            svc.support_vectors_, (svc.support_vectors_ ** 2).sum(axis=1), svc.dual_coef_, svc.n_support_,
            svc.intercept_, svc._gamma, svc.classes_, svc.break_ties)
    return _layouts[svc]


def rbf_svc_scores(svc, X) -> np.ndarray:
    """``svc.decision_function(X)`` for a multi-class RBF SVC with one-vs-rest scores."""
    return layout_scores(svc_layout(svc), X)


def rbf_svc_predict(svc, X) -> np.ndarray:
    """``svc.predict(X)`` (see :func:`layout_predict`)."""
    return layout_predict(svc_layout(svc), X)
