"""``mlp``: scikit-learn's multi-layer perceptron (Adam), with its learning curves recorded."""

from __future__ import annotations

import numpy as np

from ..numpy_form import NumpyForm
from ..registry import ModelKind, Param, parse_sizes, register_model

_ACTIVATIONS = ("relu", "tanh", "identity")  # the hidden activations the numpy form computes


def build(p, *, seed, class_weight, n_jobs):
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(hidden_layer_sizes=p["hidden"], activation=p["activation"],
                         learning_rate_init=p["learning_rate"], alpha=p["alpha"], batch_size=p["batch_size"],
                         max_iter=p["epochs"], random_state=seed)


def fit_watching_validation(clf, params, X, y, X_val, y_val):
    from ..mlp import fit_mlp_with_curves

    return fit_mlp_with_curves(clf, params, X, y, X_val, y_val)


def accepts(clf) -> bool:
    return (type(clf).__name__ == "MLPClassifier" and clf.activation in _ACTIVATIONS
            and clf.out_activation_ == "softmax")


def export(clf, arrays) -> dict:
    return {"coefs": [arrays.ref(c) for c in clf.coefs_], "intercepts": [arrays.ref(i) for i in clf.intercepts_],
            "activation": clf.activation}


def scores(X, clf) -> np.ndarray:
    """MLPClassifier.predict_proba's forward pass (relu, tanh or identity hidden layers, softmax out)."""
    activation = X
    layers = len(clf["coefs"])
    for i, (coef, intercept) in enumerate(zip(clf["coefs"], clf["intercepts"])):
        activation = activation @ coef
        activation += intercept
        if i != layers - 1:
            if clf["activation"] == "relu":
                np.maximum(activation, 0, out=activation)
            elif clf["activation"] == "tanh":
                np.tanh(activation, out=activation)
    tmp = activation - activation.max(axis=1)[:, np.newaxis]
    np.exp(tmp, out=activation)
    activation /= activation.sum(axis=1)[:, np.newaxis]
    return activation


MLP = register_model(ModelKind(
    "mlp", "multi-layer perceptron (Adam), learning curves recorded",
    (Param("hidden", parse_sizes, (1024, 1024, 64, 32), "hidden layer sizes, e.g. 1024,1024,64,32"),
     Param("activation", str, "relu", "activation", choices=("relu", "logistic", "tanh")),
     Param("learning_rate", float, 1e-3, "Adam's initial learning rate", minimum=0),
     Param("epochs", int, 20, "passes over the training split", minimum=1),
     Param("early_stopping", bool, False, "stop when validation accuracy has not improved for 5 epochs"),
     Param("alpha", float, 1e-4, "L2 penalty", minimum=0),
     Param("batch_size", int, 256, "minibatch size", minimum=1)),
    build, ({"activation": ["relu", "logistic", "tanh"]},), fit_watching_validation=fit_watching_validation,
    saved_classes=("sklearn.neural_network._multilayer_perceptron.MLPClassifier",
                   "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
                   "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
                   "sklearn.preprocessing._label.LabelBinarizer"),
    numpy_forms=(NumpyForm("mlp", accepts, export, scores),)))
