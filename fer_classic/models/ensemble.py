"""Soft-voting ensembles: several image → label pipelines (each its own descriptors, PCA and
classifier) whose class scores are added up with weights.

Weighting ``rank`` gives member i the weight R(A_i) / Σ R(A_j), where R(A_i) is the rank of its
validation accuracy (1 for the worst); ``equal`` weights all alike; ``accuracy`` in proportion to the
validation accuracy. Fitting the members and choosing the weights on a validation split is training's
job (:func:`fer_classic.training.train_ensemble`).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

from ..errors import ConfigurationError
from .mirror import class_scores, score_columns

WEIGHTINGS = ("rank", "equal", "accuracy")


def vote_weights(accuracies, weighting: str) -> np.ndarray:
    """Member weights summing to 1 from their validation ``accuracies``."""
    accuracies = np.asarray(accuracies, dtype=float)
    if weighting == "rank":
        raw = rankdata(accuracies)  # ties share the mean rank
    elif weighting == "accuracy":
        raw = accuracies
    elif weighting == "equal":
        raw = np.ones_like(accuracies)
    else:
        raise ConfigurationError(f"weighting must be one of {', '.join(WEIGHTINGS)}, got {weighting!r}")
    return raw / raw.sum()


def soft_vote(scores, weights, scales) -> np.ndarray:
    """The ensemble's class scores: each member's ``scores`` divided by its ``scales`` entry (its
    scores' spread on validation, so members with different score ranges count alike), weighted."""
    return sum(w * s / scale for s, w, scale in zip(scores, weights, scales))


class SoftVotingEnsemble(ClassifierMixin, BaseEstimator):
    """A classifier voting with its members' class scores (see :func:`soft_vote`).

    ``fit`` fits a clone of each member; :meth:`from_fitted` wraps members fitted elsewhere (training
    fits each member on its own features, then weights them on validation).

    Parameters
    ----------
    members : list of estimators
        Classifiers with class scores (``predict_proba`` or ``decision_function``); in fer-classic,
        image → label pipelines.
    weights : list of float, optional
        One per member, summing to 1 (see :func:`vote_weights`); equal when not given.
    scales : list of float, optional
        One per member: its class scores are divided by it (default 1).
    """

    def __init__(self, *, members=None, weights=None, scales=None):
        self.members = members
        self.weights = weights
        self.scales = scales

    @classmethod
    def from_fitted(cls, members, weights=None, scales=None) -> "SoftVotingEnsemble":
        """The ensemble of members that are already fitted (on the same classes)."""
        ensemble = cls(members=members, weights=weights, scales=scales)
        ensemble.members_ = list(members)
        return ensemble

    def fit(self, X, y):
        """Fit a clone of every member on ``X, y``."""
        if not self.members:
            raise ValueError("an ensemble needs at least one member")
        self.members_ = [clone(m).fit(X, y) for m in self.members]
        if hasattr(self.members_[0], "n_features_in_"):
            self.n_features_in_ = self.members_[0].n_features_in_
        return self

    @property
    def classes_(self):
        return self.members_[0].classes_

    def __sklearn_is_fitted__(self):
        return hasattr(self, "members_")

    def image_pipelines(self) -> list:
        out = []
        for m in self.members_:
            out += m.image_pipelines() if hasattr(m, "image_pipelines") else [m]
        return out

    def _scores(self, X) -> np.ndarray:
        check_is_fitted(self)
        n = len(self.members_)
        weights = self.weights if self.weights is not None else [1 / n] * n
        scales = self.scales if self.scales is not None else [1.0] * n
        return soft_vote([class_scores(m, X) for m in self.members_], weights, scales)

    def decision_function(self, X) -> np.ndarray:
        """Combined class scores, ``(n, n_classes)`` (for two classes, the second's margin)."""
        scores = self._scores(X)
        return scores[:, 1] - scores[:, 0] if scores.shape[1] == 2 else scores

    def predict(self, X) -> np.ndarray:
        return self.labels_and_decision(X)[0]

    def labels_and_decision(self, X) -> tuple[np.ndarray, np.ndarray]:
        """``predict(X)`` and ``decision_function(X)`` from one vote."""
        scores = self._scores(X)
        labels = self.classes_[np.argmax(scores, axis=1)]
        return labels, (scores[:, 1] - scores[:, 0] if scores.shape[1] == 2 else scores)

    def labels_and_scores(self, X) -> tuple[np.ndarray, np.ndarray]:
        labels, decision = self.labels_and_decision(X)
        return labels, score_columns(decision)
