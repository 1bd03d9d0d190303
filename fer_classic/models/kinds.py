"""The model kinds fer-classic ships, registered in :data:`~fer_classic.models.registry.MODEL_KINDS`."""

from __future__ import annotations

from sklearn.ensemble import RandomForestClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.svm import LinearSVC

from .gram_svm import GramRBFSVC
from .knn import FastKNeighborsClassifier, knn_grid_predictions
from .local import LocalLearningClassifier
from .mlp import fit_mlp_with_curves
from .registry import ModelKind, Param, parse_gamma, parse_optional_int, parse_sizes, register_model


def _knn(p, *, seed, class_weight, n_jobs):
    return FastKNeighborsClassifier(n_neighbors=p["k"], weights=p["weights"], p=p["p"])


def _mlp(p, *, seed, class_weight, n_jobs):
    return MLPClassifier(hidden_layer_sizes=p["hidden"], activation=p["activation"],
                         learning_rate_init=p["learning_rate"], alpha=p["alpha"], batch_size=p["batch_size"],
                         max_iter=p["epochs"], random_state=seed)


def _svm(p, *, seed, class_weight, n_jobs):
    if p["kernel"] == "linear":
        return LinearSVC(C=p["C"], class_weight=class_weight, random_state=seed, max_iter=5000)
    return GramRBFSVC(kernel="rbf", C=p["C"], gamma=p["gamma"], class_weight=class_weight, random_state=seed,
                      cache_size=1000)


def _local(p, *, seed, class_weight, n_jobs):
    return LocalLearningClassifier(k=p["k"], metric=p["metric"], kernel=p["kernel"], C=p["C"],
                                   class_weight=class_weight, random_state=seed, n_jobs=n_jobs)


def _rf(p, *, seed, class_weight, n_jobs):
    return RandomForestClassifier(n_estimators=p["trees"], max_depth=p["max_depth"], class_weight=class_weight,
                                  random_state=seed, n_jobs=n_jobs)


KNN = register_model(ModelKind(
    "knn", "k nearest neighbours (exact; the grid searches once per norm)",
    (Param("k", int, 3, "neighbours", minimum=1),
     Param("weights", str, "distance", "neighbour weighting", choices=("uniform", "distance")),
     Param("p", int, 1, "Minkowski norm: 1 (L1), 2 (L2), 3 (L3)", minimum=1)),
    _knn, ({"weights": ["uniform", "distance"], "p": [1, 2, 3], "k": [1, 3, 5, 7, 9]},),
    has_scores=False, search=knn_grid_predictions))

MLP = register_model(ModelKind(
    "mlp", "multi-layer perceptron (Adam), learning curves recorded",
    (Param("hidden", parse_sizes, (1024, 1024, 64, 32), "hidden layer sizes, e.g. 1024,1024,64,32"),
     Param("activation", str, "relu", "activation", choices=("relu", "logistic", "tanh")),
     Param("learning_rate", float, 1e-3, "Adam's initial learning rate", minimum=0),
     Param("epochs", int, 20, "passes over the training split", minimum=1),
     Param("early_stopping", bool, False, "stop when validation accuracy has not improved for 5 epochs"),
     Param("alpha", float, 1e-4, "L2 penalty", minimum=0),
     Param("batch_size", int, 256, "minibatch size", minimum=1)),
    _mlp, ({"activation": ["relu", "logistic", "tanh"]},), fit_watching_validation=fit_mlp_with_curves))

SVM = register_model(ModelKind(
    "svm", "support vector machine: RBF kernel (SVC) or linear (LinearSVC)",
    (Param("kernel", str, "rbf", "rbf (SVC) or linear (LinearSVC)", choices=("rbf", "linear")),
     Param("C", float, 10.0, "regularisation: larger fits the training data more closely", minimum=0),
     Param("gamma", parse_gamma, "scale", "RBF width: scale, auto or a number")),
    _svm, ({"kernel": ["rbf"], "C": [1.0, 10.0], "gamma": ["scale"]}, {"kernel": ["linear"], "C": [0.01, 0.1]}),
    class_weight=True))

RF = register_model(ModelKind(
    "rf", "random forest",
    (Param("trees", int, 300, "trees in the forest", minimum=1),
     Param("max_depth", parse_optional_int, None, "maximum depth (none: unlimited)", minimum=1)),
    _rf, ({"trees": [100, 300], "max_depth": [None, 20]},), class_weight=True))

LOCAL = register_model(ModelKind(
    "local", "local learning: per query, an SVM fitted on its k nearest training rows alone",
    (Param("k", int, 200, "neighbours", minimum=1),
     Param("metric", str, "cosine", "how neighbours are found", choices=("cosine", "l2", "l1")),
     Param("kernel", str, "linear", "the local SVM: linear (LinearSVC) or rbf (SVC)", choices=("rbf", "linear")),
     Param("C", float, 1.0, "the local SVM's regularisation", minimum=0)),
    _local, ({"k": [100, 200], "C": [0.1, 1.0]},), class_weight=True))
