"""Classifiers, their user-facing parameters and default grids.

Users name parameters the way FER papers do (``k``, ``weights``, ``p``, ``hidden``, ``trees``...);
:func:`make_classifier` turns them into a scikit-learn estimator.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Callable

from sklearn.ensemble import RandomForestClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC, LinearSVC

from .knn_grid import FastKNeighborsClassifier

MODELS = ("knn", "mlp", "svm", "rf")


class GridError(ValueError):
    """A parameter grid or parameter value the model cannot take."""


def _hidden(value) -> tuple[int, ...]:
    if isinstance(value, (list, tuple)):
        sizes = tuple(int(v) for v in value)
    else:
        sizes = tuple(int(v) for v in str(value).replace("-", ",").split(",") if v.strip())
    if not sizes or min(sizes) < 1:
        raise GridError(f"hidden layer sizes must be positive whole numbers, got {value!r}")
    return sizes


def _gamma(value):
    if value in ("scale", "auto"):
        return value
    return float(value)


def _optional_int(value):
    return None if value in (None, "none", "None", "") else int(value)


def _bool(value) -> bool:
    if isinstance(value, str):
        if value.lower() not in ("true", "false", "yes", "no", "1", "0"):
            raise GridError(f"{value!r} is not true or false")
        return value.lower() in ("true", "yes", "1")
    return bool(value)


def _choice(*choices):
    def parse(value):
        if value not in choices:
            raise GridError(f"{value!r} is not one of {', '.join(map(str, choices))}")
        return value
    return parse


@dataclass(frozen=True)
class Param:
    """A user-facing parameter: how to parse it and its default."""

    parse: Callable[[Any], Any]
    default: Any
    help: str


PARAMS: dict[str, dict[str, Param]] = {
    "knn": {
        "k": Param(int, 3, "neighbours"),
        "weights": Param(_choice("uniform", "distance"), "distance", "neighbour weighting"),
        "p": Param(int, 1, "Minkowski norm: 1 (L1), 2 (L2), 3 (L3)"),
    },
    "mlp": {
        "hidden": Param(_hidden, (1024, 1024, 64, 32), "hidden layer sizes, e.g. 1024,1024,64,32"),
        "activation": Param(_choice("relu", "logistic", "tanh"), "relu", "activation"),
        "learning_rate": Param(float, 1e-3, "Adam's initial learning rate"),
        "epochs": Param(int, 20, "passes over the training split"),
        "early_stopping": Param(_bool, False, "stop when validation accuracy has not improved for 5 epochs"),
        "alpha": Param(float, 1e-4, "L2 penalty"),
        "batch_size": Param(int, 256, "minibatch size"),
    },
    "svm": {
        "kernel": Param(_choice("rbf", "linear"), "rbf", "rbf (SVC) or linear (LinearSVC)"),
        "C": Param(float, 10.0, "regularisation: larger fits the training data more closely"),
        "gamma": Param(_gamma, "scale", "RBF width: scale, auto or a number"),
    },
    "rf": {
        "trees": Param(int, 300, "trees in the forest"),
        "max_depth": Param(_optional_int, None, "maximum depth (none: unlimited)"),
    },
}

DEFAULT_GRIDS: dict[str, list[dict[str, list]]] = {
    "knn": [{"weights": ["uniform", "distance"], "p": [1, 2, 3], "k": [1, 3, 5, 7, 9]}],
    "mlp": [{"activation": ["relu", "logistic", "tanh"]}],
    "svm": [{"kernel": ["rbf"], "C": [1.0, 10.0], "gamma": ["scale"]}, {"kernel": ["linear"], "C": [0.01, 0.1]}],
    "rf": [{"trees": [100, 300], "max_depth": [None, 20]}],
}

SUPPORTS_CLASS_WEIGHT = {"knn": False, "mlp": False, "svm": True, "rf": True}


def check_model(model: str) -> None:
    if model not in MODELS:
        raise GridError(f"unknown model {model!r}; choose from {', '.join(MODELS)}")


def resolve_params(model: str, given: dict) -> dict:
    """Defaults completed with ``given``, each value parsed; unknown names or bad values raise."""
    check_model(model)
    spec = PARAMS[model]
    unknown = sorted(set(given) - set(spec))
    if unknown:
        raise GridError(f"{model} has no parameter {', '.join(unknown)}; it takes {', '.join(spec)}")
    out = {}
    for name, param in spec.items():
        value = given.get(name, param.default)
        try:
            out[name] = param.parse(value)
        except (TypeError, ValueError) as exc:
            raise GridError(f"{model} parameter {name}: {exc}") from None
    if model == "knn" and (out["k"] < 1 or out["p"] < 1):
        raise GridError("knn needs k >= 1 and p >= 1")
    return out


def expand_grid(model: str, grid: list[dict] | dict, fixed: dict | None = None) -> list[dict]:
    """Every configuration of a grid (a dict of lists, or a list of them), completed from ``fixed``
    and the defaults, in a stable order."""
    grids = [grid] if isinstance(grid, dict) else list(grid)
    configs = []
    for g in grids:
        if not isinstance(g, dict) or not all(isinstance(v, list) and v for v in g.values()):
            raise GridError(f"a grid maps each parameter to a non-empty list of values, got {g!r}")
        keys = list(g)
        for values in itertools.product(*(g[k] for k in keys)):
            configs.append(resolve_params(model, {**(fixed or {}), **dict(zip(keys, values))}))
    if not configs:
        raise GridError("the grid has no configuration")
    return configs


def make_classifier(model: str, params: dict, *, seed: int = 0, class_weight: str | None = None,
                    n_jobs: int | None = None):
    """The scikit-learn estimator for ``model`` with resolved user-facing ``params``."""
    params = resolve_params(model, params)
    if class_weight and not SUPPORTS_CLASS_WEIGHT[model]:
        raise GridError(f"--class-weight is not supported by {model}")
    if model == "knn":
        return FastKNeighborsClassifier(n_neighbors=params["k"], weights=params["weights"], p=params["p"])
    if model == "mlp":
        return MLPClassifier(hidden_layer_sizes=params["hidden"], activation=params["activation"],
                             learning_rate_init=params["learning_rate"], alpha=params["alpha"],
                             batch_size=params["batch_size"], max_iter=params["epochs"], random_state=seed)
    if model == "svm":
        if params["kernel"] == "linear":
            return LinearSVC(C=params["C"], class_weight=class_weight, random_state=seed, max_iter=5000)
        return SVC(kernel="rbf", C=params["C"], gamma=params["gamma"], class_weight=class_weight,
                   random_state=seed, cache_size=1000)
    return RandomForestClassifier(n_estimators=params["trees"], max_depth=params["max_depth"],
                                  class_weight=class_weight, random_state=seed, n_jobs=n_jobs)


def describe_params(params: dict) -> str:
    """``k=3 weights=distance p=1`` for tables and logs."""
    return " ".join(f"{k}={','.join(map(str, v)) if isinstance(v, (tuple, list)) else v}" for k, v in params.items())
