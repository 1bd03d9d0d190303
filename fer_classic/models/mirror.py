"""Mirror images: training on left-right flipped copies, and averaging a prediction over a face and
its mirror (test-time augmentation). A mirrored face shows the same expression."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.pipeline import Pipeline
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ..features.alignment import FaceAligner
from ..features.base import check_images
from ..features.compute import mirror_images
from .svm_scores import has_fast_scores, layout_labels_and_scores, rbf_svc_predict, rbf_svc_scores, svc_layout

MIRROR_MODES = ("none", "train", "both")


def score_columns(scores) -> np.ndarray:
    """Scores as an (n, classes) float64 array: a binary ``decision_function``'s one column (positive for
    the second class) becomes two."""
    scores = np.asarray(scores, dtype=np.float64)
    return np.column_stack([-scores, scores]) if scores.ndim == 1 else scores


def class_scores(clf, X) -> np.ndarray:
    """Per-class scores, higher for likelier classes, in ``clf.classes_`` order: probabilities where
    the model has them, else the one-vs-rest decision values (for an RBF SVM, alone or ending a
    pipeline, computed with BLAS: the same values, faster)."""
    final = clf.steps[-1][1] if isinstance(clf, Pipeline) else clf
    if has_fast_scores(final):
        return rbf_svc_scores(final, clf[:-1].transform(X) if isinstance(clf, Pipeline) else X)
    if hasattr(clf, "predict_proba"):
        try:
            return clf.predict_proba(X)
        except AttributeError:  # e.g. an SVC without probability=True
            pass
    return score_columns(clf.decision_function(X))


def predict_labels(clf, X) -> np.ndarray:
    """``clf.predict(X)``; for an RBF SVM, alone or ending a pipeline, libsvm's vote computed with BLAS."""
    final = clf.steps[-1][1] if isinstance(clf, Pipeline) else clf
    if has_fast_scores(final):
        return rbf_svc_predict(final, clf[:-1].transform(X) if isinstance(clf, Pipeline) else X)
    return clf.predict(X)


def labels_and_scores(clf, X) -> tuple[np.ndarray, np.ndarray]:
    """``predict_labels(clf, X)`` and ``class_scores(clf, X)``, their shared work done once: a model
    that gives both from one pass (ensembles, temperature scaling, mirror averaging) does, and a
    pipeline describes the images once for both."""
    if hasattr(clf, "labels_and_scores"):
        return clf.labels_and_scores(X)
    if isinstance(clf, Pipeline):
        rows = clf[:-1].transform(X)
        return labels_and_scores(clf.steps[-1][1], rows)
    if has_fast_scores(clf):
        return layout_labels_and_scores(svc_layout(clf), X)
    return predict_labels(clf, X), class_scores(clf, X)


def labels_and_decision(clf, X) -> tuple[np.ndarray, np.ndarray]:
    """``predict_labels(clf, X)`` and ``clf.decision_function(X)``, their shared work done once (as
    :func:`labels_and_scores`)."""
    if hasattr(clf, "labels_and_decision"):
        return clf.labels_and_decision(X)
    if isinstance(clf, Pipeline):
        rows = clf[:-1].transform(X)
        final = clf.steps[-1][1]
        return predict_labels(final, rows), final.decision_function(rows)
    return predict_labels(clf, X), clf.decision_function(X)


def mirror_averaged_scores(clf, X, X_mirror=None) -> np.ndarray:
    """``clf``'s class scores for rows ``X``, averaged with those of ``X_mirror`` (the same images
    mirrored) when given."""
    scores = class_scores(clf, X)
    return scores if X_mirror is None else (scores + class_scores(clf, X_mirror)) / 2


def predict_mirror_averaged(clf, X, X_mirror=None) -> np.ndarray:
    """``clf``'s labels for rows ``X``; with ``X_mirror``, the class whose averaged score is highest."""
    if X_mirror is None:
        return predict_labels(clf, X)
    return clf.classes_[np.argmax(mirror_averaged_scores(clf, X, X_mirror), axis=1)]


def mirror_averaged_labels_and_scores(clf, X, X_mirror=None) -> tuple[np.ndarray, np.ndarray]:
    """``predict_mirror_averaged`` and ``mirror_averaged_scores`` of the same rows, scored once."""
    if X_mirror is None:
        return labels_and_scores(clf, X)
    scores = mirror_averaged_scores(clf, X, X_mirror)
    return clf.classes_[np.argmax(scores, axis=1)], scores


def leading_aligner(pipeline) -> FaceAligner | None:
    """The FaceAligner a run's image pipeline starts with (its descriptors step is align → describe)."""
    first = pipeline.steps[0][1] if isinstance(pipeline, Pipeline) else None
    if isinstance(first, Pipeline) and isinstance(first.steps[0][1], FaceAligner):
        return first.steps[0][1]
    return None


class MirrorAveragedClassifier(ClassifierMixin, BaseEstimator):
    """An image classifier whose scores are averaged over each image and its mirror image.

    Parameters
    ----------
    pipeline : estimator
        An image → label pipeline (descriptors, reduction, classifier). ``fit`` fits a clone of it;
        :meth:`from_fitted` wraps one fitted elsewhere.
    """

    def __init__(self, *, pipeline=None):
        self.pipeline = pipeline

    @classmethod
    def from_fitted(cls, pipeline) -> "MirrorAveragedClassifier":
        wrapper = cls(pipeline=pipeline)
        wrapper.pipeline_ = pipeline
        return wrapper

    def fit(self, X, y):
        """Fit a clone of the pipeline on the images ``X`` (not their mirrors: train on mirrored
        copies by adding them to ``X``)."""
        self.pipeline_ = clone(self.pipeline).fit(X, y)
        return self

    @property
    def classes_(self):
        return self.pipeline_.classes_

    def __sklearn_is_fitted__(self):
        return hasattr(self, "pipeline_")

    def image_pipelines(self) -> list:
        """The image → label pipelines inside (for setting their descriptors' runtime options)."""
        return [self.pipeline_]

    def _both(self, X, scores):
        """Mean of ``scores`` over each image and its mirror image, computed in one batch. A pipeline
        that aligns faces scores the mirror of each aligned face, as its mirrored training rows were
        described (``extract --align --mirror`` aligns, then flips), not the flipped image aligned anew."""
        check_is_fitted(self)
        X = check_images(X)
        aligner = leading_aligner(self.pipeline_)
        if aligner is not None:
            aligned = aligner.transform(X)
            with aligner.passing_through():
                s = scores(np.concatenate([aligned, mirror_images(aligned)]))
        else:
            both = np.concatenate([X, mirror_images(X)]) if isinstance(X, np.ndarray) else X + mirror_images(X)
            s = scores(both)
        return (s[:len(X)] + s[len(X):]) / 2

    @available_if(lambda self: hasattr(self.pipeline, "predict_proba"))
    def predict_proba(self, X) -> np.ndarray:
        return self._both(X, lambda images: self.pipeline_.predict_proba(images))

    @available_if(lambda self: not hasattr(self.pipeline, "predict_proba"))
    def decision_function(self, X) -> np.ndarray:
        return self._both(X, lambda images: class_scores(self.pipeline_, images))

    def predict(self, X) -> np.ndarray:
        scores = self._both(X, lambda images: class_scores(self.pipeline_, images))
        return self.classes_[np.argmax(scores, axis=1)]

    def labels_and_scores(self, X) -> tuple[np.ndarray, np.ndarray]:
        """``predict(X)`` and the class scores, from one pass where the scores are the ones it votes with."""
        scores = self._both(X, lambda images: class_scores(self.pipeline_, images))
        labels = self.classes_[np.argmax(scores, axis=1)]
        return labels, (self.predict_proba(X) if hasattr(self, "predict_proba") else scores)

    @available_if(lambda self: not hasattr(self.pipeline, "predict_proba"))
    def labels_and_decision(self, X) -> tuple[np.ndarray, np.ndarray]:
        return self.labels_and_scores(X)
