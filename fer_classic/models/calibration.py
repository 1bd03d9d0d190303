"""Class probabilities for classifiers that only score: temperature scaling (Guo et al., "On Calibration of
Modern Neural Networks", ICML 2017) of their class scores, fitted on held-out data.

An SVM's one-vs-rest scores, local learning's and a soft-voting ensemble's are unbounded numbers whose
scale differs from run to run; ``softmax(scores / T)`` with the one temperature ``T`` that minimises the
log loss on a validation split turns them into probabilities that mean the same across runs. One
parameter, shared by every class, so the most probable class is the one the scores chose: predictions,
and so every accuracy, stay exactly as they were.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from .mirror import labels_and_decision, predict_labels, score_columns

_LOG_T_BOUNDS = (-10.0, 10.0)  # T from e^-10 to e^10: far beyond any useful scale


def mean_log_loss(scores, y, classes, temperature: float) -> float:
    """Mean log loss of ``softmax(scores / temperature)`` for true labels ``y``."""
    rows = np.arange(len(y))
    return -float(np.mean(log_softmax(score_columns(scores) / temperature, axis=1)[rows, np.searchsorted(classes, y)]))


def fit_temperature(scores, y, classes) -> float:
    """The temperature minimising :func:`mean_log_loss` (``scores`` columns in the order of ``classes``)."""
    scores, y = score_columns(scores), np.asarray(y)
    best = minimize_scalar(lambda log_t: mean_log_loss(scores, y, classes, np.exp(log_t)), bounds=_LOG_T_BOUNDS,
                           method="bounded")
    return float(np.exp(best.x))


class TemperatureScaledClassifier(ClassifierMixin, BaseEstimator):
    """A fitted classifier whose class scores become probabilities: ``predict_proba(X) =
    softmax(classifier.decision_function(X) / temperature_)``; ``predict`` is the classifier's own.

    ``fit(X, y)`` fits the temperature only, on held-out data (the classifier is used as fitted, as
    scikit-learn's ``CalibratedClassifierCV(FrozenEstimator(clf))`` does); :meth:`prefit` wraps it with
    a temperature fitted elsewhere (training fits it on validation scores it has already computed).

    Parameters
    ----------
    classifier : fitted estimator with ``decision_function``
    """

    def __init__(self, *, classifier=None):
        self.classifier = classifier

    def fit(self, X, y):
        self.temperature_ = fit_temperature(self.classifier.decision_function(X), np.asarray(y),
                                            self.classifier.classes_)
        self.classes_ = self.classifier.classes_
        return self

    @classmethod
    def prefit(cls, classifier, temperature: float) -> "TemperatureScaledClassifier":
        """Wrap ``classifier`` with a temperature already fitted (see :func:`fit_temperature`)."""
        out = cls(classifier=classifier)
        out.classes_, out.temperature_ = classifier.classes_, float(temperature)
        return out

    def image_pipelines(self) -> list:
        """The image → label pipelines inside (for setting their descriptors' runtime options)."""
        inner = self.classifier
        return inner.image_pipelines() if hasattr(inner, "image_pipelines") else [inner]

    def decision_function(self, X) -> np.ndarray:
        check_is_fitted(self, "temperature_")
        return self.classifier.decision_function(X)

    def predict_proba(self, X) -> np.ndarray:
        return softmax(score_columns(self.decision_function(X)) / self.temperature_, axis=1)

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self, "temperature_")
        return predict_labels(self.classifier, X)

    def labels_and_scores(self, X) -> tuple[np.ndarray, np.ndarray]:
        """``predict(X)`` and ``predict_proba(X)``, the classifier's shared work done once."""
        check_is_fitted(self, "temperature_")
        labels, decision = labels_and_decision(self.classifier, X)
        return labels, softmax(score_columns(decision) / self.temperature_, axis=1)


def calibration_summary(scores, y, classes, temperature: float) -> dict:
    """What metrics.json records: the temperature and the validation log loss before (T = 1) and after."""
    return {"method": "temperature scaling of class scores (softmax(scores / T)); predictions unchanged",
            "temperature": round(temperature, 6), "fitted_on": f"validation split (n={len(y)})",
            "validation_log_loss_at_T1": round(mean_log_loss(scores, y, classes, 1.0), 6),
            "validation_log_loss": round(mean_log_loss(scores, y, classes, temperature), 6)}
