"""Training a multi-layer perceptron one epoch at a time, with learning curves and early stopping."""

from __future__ import annotations

import copy
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, log_loss


def fit_mlp_with_curves(clf, params: dict, X, y, X_val, y_val, patience: int = 5):
    """Train an MLPClassifier one epoch at a time (Adam state kept across epochs), recording train
    and validation accuracy and loss; with early stopping, keep the epoch best on validation."""
    classes = np.unique(y)
    curves = {k: [] for k in ("train_accuracy", "validation_accuracy", "train_loss", "validation_loss")}
    best = (-1.0, None, 0)
    for epoch in range(1, params["epochs"] + 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.partial_fit(X, y, classes=classes)
        for split, Xs, ys in (("train", X, y), ("validation", X_val, y_val)):
            proba = clf.predict_proba(Xs)
            curves[f"{split}_accuracy"].append(float(accuracy_score(ys, clf.classes_[proba.argmax(1)])))
            curves[f"{split}_loss"].append(float(log_loss(ys, proba, labels=clf.classes_)))
        val = curves["validation_accuracy"][-1]
        if val > best[0]:
            best = (val, (copy.deepcopy(clf.coefs_), copy.deepcopy(clf.intercepts_)), epoch)
        elif params["early_stopping"] and epoch - best[2] >= patience:
            break
    if params["early_stopping"]:
        clf.coefs_, clf.intercepts_ = best[1]
    curves["best_epoch"] = best[2] if params["early_stopping"] else len(curves["train_accuracy"])
    return clf, curves
