"""``svm``: an RBF support vector machine (:class:`~fer_classic.models.gram_svm.GramRBFSVC`, scored
with BLAS: :mod:`fer_classic.models.svm_scores`) or a linear one (LinearSVC)."""

from __future__ import annotations

import numpy as np

from ...store import from_compact_form
from ..numpy_form import NumpyForm
from ..registry import ModelKind, Param, parse_gamma, register_model
from ..svm_scores import SVMLayout, layout_labels_and_scores, layout_predict, layout_scores


def build(p, *, seed, class_weight, n_jobs):
    if p["kernel"] == "linear":
        from sklearn.svm import LinearSVC

        return LinearSVC(C=p["C"], class_weight=class_weight, random_state=seed, max_iter=5000)
    from ..gram_svm import GramRBFSVC

    return GramRBFSVC(kernel="rbf", C=p["C"], gamma=p["gamma"], class_weight=class_weight, random_state=seed,
                      cache_size=1000)


# --------------------------------------------------------------------------- RBF: SVC and GramRBFSVC

def accepts_rbf(clf) -> bool:
    from sklearn.svm import SVC

    from ..svm_scores import has_fast_scores

    return isinstance(clf, SVC) and has_fast_scores(clf)


def export_rbf(clf, arrays) -> dict:
    from ..svm_scores import svc_layout

    layout = svc_layout(clf)
    # float32 (float16 numbers with TrainSpec.float16_rows, an int8 grid's with int8_rows): stored in
    # their most compact exact form, scored in float32 or from the int8 numbers
    support_vectors, steps = layout.compact_support_vectors()
    return {"support_vectors": arrays.ref(support_vectors), "sv_steps": arrays.ref(steps),
            "sv_norms": arrays.ref(layout.sv_norms), "dual_coef": arrays.ref(clf.dual_coef_),
            "n_support": clf.n_support_.tolist(), "intercept": arrays.ref(clf.intercept_),
            "gamma": float(clf._gamma), "break_ties": bool(clf.break_ties)}


def load_rbf(clf) -> dict:
    steps = clf.get("sv_steps")
    support_vectors = (clf["support_vectors"] if steps is not None
                       else from_compact_form(clf["support_vectors"], None, np.float32))
    return {"classes": clf["classes"], "svm": SVMLayout.from_parts(
        support_vectors, clf["sv_norms"], clf["dual_coef"], np.asarray(clf["n_support"]), clf["intercept"],
        clf["gamma"], clf["classes"], clf["break_ties"], steps=steps)}


RBF = NumpyForm("rbf_svm", accepts_rbf, export_rbf, lambda X, s: layout_scores(s["svm"], X), load_rbf,
                labels_and_scores=lambda X, s: layout_labels_and_scores(s["svm"], X),
                labels=lambda X, s: layout_predict(s["svm"], X))


# --------------------------------------------------------------------------- linear: LinearSVC

def accepts_linear(clf) -> bool:
    return type(clf).__name__ == "LinearSVC" and len(clf.classes_) > 2


def export_linear(clf, arrays) -> dict:
    return {"coef": arrays.ref(clf.coef_), "intercept": arrays.ref(clf.intercept_)}


def linear_scores(X, clf) -> np.ndarray:
    """A linear model's ``decision_function``: ``X coefᵀ + intercept``."""
    return X @ clf["coef"].T + clf["intercept"]


LINEAR = NumpyForm("linear", accepts_linear, export_linear, linear_scores)


SVM = register_model(ModelKind(
    "svm", "support vector machine: RBF kernel (SVC) or linear (LinearSVC)",
    (Param("kernel", str, "rbf", "rbf (SVC) or linear (LinearSVC)", choices=("rbf", "linear")),
     Param("C", float, 10.0, "regularisation: larger fits the training data more closely", minimum=0),
     Param("gamma", parse_gamma, "scale", "RBF width: scale, auto or a number")),
    build, ({"kernel": ["rbf"], "C": [1.0, 10.0], "gamma": ["scale"]}, {"kernel": ["linear"], "C": [0.01, 0.1]}),
    class_weight=True, relative_cost=4,
    saved_classes=("fer_classic.models.gram_svm.GramRBFSVC", "sklearn.svm._classes.SVC",
                   "sklearn.svm._classes.LinearSVC"),
    numpy_forms=(RBF, LINEAR)))
