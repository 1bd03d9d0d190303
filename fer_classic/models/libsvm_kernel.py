"""RBF C-SVC fits on a precomputed kernel by libsvm, for local learning's per-face SVMs.

libsvm's C library, as the ``libsvm-official`` package (libsvm's authors') builds it, is called
through ctypes and its public C API alone (``svm_train``, ``svm_predict_values``, ``svm_check_parameter``,
``svm_free_and_destroy_model``). Why not scikit-learn's ``SVC``, which wraps libsvm too: importing
scikit-learn takes over a second here, longer than labelling a photo's faces with a run's predictor
(#16); and not the package's own Python API: it copies a dense matrix into libsvm's nodes one value at
a time in Python, and imports numba and scipy.sparse. The kernel is computed with numpy (BLAS), then
libsvm solves the same one-vs-one problems as ``SVC(kernel="rbf", gamma="scale")`` with the same
tolerance; the kernel's last bits may differ from libsvm's own (BLAS sums in another order).

Scores follow scikit-learn's ``SVC.decision_function`` (``decision_function_shape="ovr"``): one-vs-one
votes plus the confidences squashed into (-1/3, 1/3), and for two classes the one decision value,
positive for the second class.
"""

from __future__ import annotations

import ctypes
import importlib.util
import threading
from pathlib import Path

import numpy as np

_C_SVC, _PRECOMPUTED = 0, 4
_NODE = np.dtype([("index", np.int32), ("value", np.float64)], align=True)  # struct svm_node


class _Parameter(ctypes.Structure):  # struct svm_parameter (libsvm 2.x to 3.x)
    _fields_ = [("svm_type", ctypes.c_int), ("kernel_type", ctypes.c_int), ("degree", ctypes.c_int),
                ("gamma", ctypes.c_double), ("coef0", ctypes.c_double), ("cache_size", ctypes.c_double),
                ("eps", ctypes.c_double), ("C", ctypes.c_double), ("nr_weight", ctypes.c_int),
                ("weight_label", ctypes.POINTER(ctypes.c_int)), ("weight", ctypes.POINTER(ctypes.c_double)),
                ("nu", ctypes.c_double), ("p", ctypes.c_double), ("shrinking", ctypes.c_int),
                ("probability", ctypes.c_int)]


class _Problem(ctypes.Structure):  # struct svm_problem
    _fields_ = [("l", ctypes.c_int), ("y", ctypes.POINTER(ctypes.c_double)), ("x", ctypes.POINTER(ctypes.c_void_p))]


_library = None
_one_thread = None  # libgomp's omp_set_num_threads, where libsvm was built with OpenMP
_lock = threading.Lock()
_SILENT = ctypes.CFUNCTYPE(None, ctypes.c_char_p)(lambda text: None)


def library() -> ctypes.CDLL:
    """libsvm's C library from the libsvm-official package, its functions typed, its output silenced."""
    global _library
    with _lock:
        if _library is None:
            spec = importlib.util.find_spec("libsvm")
            found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("clib*")) if spec else []
            if not found:
                raise ImportError("local learning's SVMs need libsvm's C library: pip install libsvm-official")
            lib = ctypes.CDLL(str(found[0]))
            lib.svm_train.restype = ctypes.c_void_p
            lib.svm_train.argtypes = [ctypes.POINTER(_Problem), ctypes.POINTER(_Parameter)]
            lib.svm_check_parameter.restype = ctypes.c_char_p
            lib.svm_check_parameter.argtypes = [ctypes.POINTER(_Problem), ctypes.POINTER(_Parameter)]
            lib.svm_predict_values.restype = ctypes.c_double
            lib.svm_predict_values.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_double)]
            lib.svm_free_and_destroy_model.restype = None
            lib.svm_free_and_destroy_model.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
            lib.svm_set_print_string_function.restype = None
            lib.svm_set_print_string_function.argtypes = [type(_SILENT)]
            lib.svm_set_print_string_function(_SILENT)
            _library = lib
            _find_openmp()
    return _library


def _find_openmp() -> None:
    """libsvm-official builds libsvm with OpenMP, which spreads each kernel column (a few hundred values
    here) over threads: on two busy cores that made a fit 8x slower. Its fits are run on one thread."""
    global _one_thread
    try:
        _one_thread = ctypes.CDLL("libgomp.so.1").omp_set_num_threads  # the one libsvm loaded, if any
        _one_thread.argtypes = [ctypes.c_int]
    except (OSError, AttributeError):
        _one_thread = None


def _nodes(kernel_rows: np.ndarray) -> np.ndarray:
    """libsvm's precomputed-kernel rows: row i is (0, i + 1), (1, K[i, 0]), ..., (l, K[i, l - 1]), (-1, 0)."""
    n, l = kernel_rows.shape
    nodes = np.zeros((n, l + 2), dtype=_NODE)
    nodes["index"][:, 1:l + 1] = np.arange(1, l + 1)
    nodes["value"][:, 1:l + 1] = kernel_rows
    nodes["value"][:, 0] = np.arange(1, n + 1)
    nodes["index"][:, l + 1] = -1
    return nodes


def rbf_gamma(X: np.ndarray) -> float:
    """``gamma="scale"`` as scikit-learn's SVC computes it: 1 / (features x the variance of every value)."""
    variance = X.var()
    return 1.0 / (X.shape[1] * variance) if variance != 0 else 1.0


def _rbf(A: np.ndarray, B: np.ndarray, gamma: float) -> np.ndarray:
    """exp(-gamma ||a - b||^2) for every row pair, from the squared norms and the dot products."""
    squared = (A * A).sum(axis=1)[:, None] + (B * B).sum(axis=1)[None, :] - 2.0 * (A @ B.T)
    return np.exp(-gamma * squared)


def rbf_svc_scores(X: np.ndarray, y: np.ndarray, queries: np.ndarray, C: float,
                   class_weight: dict | None = None) -> np.ndarray:
    """Fit an RBF C-SVC (gamma "scale", tolerance 1e-3, shrinking) on rows ``X`` (float64) with class
    numbers ``y`` (at least two of them), and give the ``queries``' scores in sorted class order, as
    scikit-learn's ``SVC(...).fit(X, y).decision_function(queries)`` does: ``(n, classes)``, or ``(n,)``
    for two classes. ``class_weight``: class number → weight (C times it for that class)."""
    lib = library()
    order = np.argsort(y, kind="stable")  # the classes in sorted order, as libsvm meets them first
    X, y = np.asarray(X, dtype=np.float64)[order], np.asarray(y)[order]
    classes = np.unique(y)
    gamma = rbf_gamma(X)
    train = _nodes(_rbf(X, X, gamma))
    labels = y.astype(np.float64)
    row_pointers = train.ctypes.data + np.arange(len(X), dtype=np.uintp) * train.strides[0]  # each row's nodes
    problem = _Problem(len(X), labels.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
                       row_pointers.ctypes.data_as(ctypes.POINTER(ctypes.c_void_p)))
    weighted = sorted((class_weight or {}).items())
    weight_labels = (ctypes.c_int * len(weighted))(*(int(c) for c, _ in weighted))
    weights = (ctypes.c_double * len(weighted))(*(float(w) for _, w in weighted))
    parameter = _Parameter(svm_type=_C_SVC, kernel_type=_PRECOMPUTED, degree=3, gamma=gamma, coef0=0.0,
                           cache_size=200.0, eps=1e-3, C=float(C), nr_weight=len(weighted),
                           weight_label=weight_labels, weight=weights, nu=0.5, p=0.1, shrinking=1, probability=0)
    error = lib.svm_check_parameter(ctypes.byref(problem), ctypes.byref(parameter))
    if error:
        raise ValueError(f"libsvm: {error.decode()}")
    if _one_thread is not None:
        _one_thread(1)  # for parallel regions this thread starts
    model = ctypes.c_void_p(lib.svm_train(ctypes.byref(problem), ctypes.byref(parameter)))
    try:
        pairs = len(classes) * (len(classes) - 1) // 2
        decision = np.empty((len(queries), pairs))
        query_nodes = _nodes(_rbf(np.asarray(queries, dtype=np.float64), X, gamma))
        values = (ctypes.c_double * pairs)()
        for i in range(len(queries)):
            lib.svm_predict_values(model, query_nodes[i].ctypes.data, values)
            decision[i] = values[:]
    finally:
        lib.svm_free_and_destroy_model(ctypes.byref(model))
    if len(classes) == 2:
        return -decision[:, 0]  # positive for the second class
    return ovr_scores(decision, len(classes))


def ovr_scores(decision: np.ndarray, n_classes: int) -> np.ndarray:
    """One-vs-one decision values (pairs (i, j), i < j, positive for i) as one-vs-rest scores: each
    class's votes plus its summed confidences squashed into (-1/3, 1/3) (scikit-learn's
    ``_ovr_decision_function``, the arithmetic of ``SVC.decision_function``)."""
    votes = np.zeros((len(decision), n_classes))
    confidences = np.zeros((len(decision), n_classes))
    k = 0
    for i in range(n_classes):
        for j in range(i + 1, n_classes):
            confidences[:, i] += decision[:, k]
            confidences[:, j] -= decision[:, k]
            votes[decision[:, k] >= 0, i] += 1
            votes[decision[:, k] < 0, j] += 1
            k += 1
    return votes + confidences / (3 * (np.abs(confidences) + 1))
