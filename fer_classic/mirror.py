"""Mirror images: training on left-right flipped copies, and averaging a prediction over a face and
its mirror (test-time augmentation). A mirrored face shows the same expression."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.pipeline import Pipeline
from sklearn.utils.metaestimators import available_if

from .features.base import check_images
from .svm_scores import has_fast_scores, rbf_svc_scores

MIRROR_MODES = ("none", "train", "both")


def mirror_images(images):
    """Every image flipped left to right; arrays ``(n, h, w[, 3])`` or lists of images."""
    if isinstance(images, np.ndarray) and images.ndim in (3, 4):
        return np.ascontiguousarray(images[:, :, ::-1])
    return [np.ascontiguousarray(np.asarray(im)[:, ::-1]) for im in images]


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
    scores = clf.decision_function(X)
    return scores if scores.ndim == 2 else np.column_stack([-scores, scores])


def predict_mirror_averaged(clf, X, X_mirror=None) -> np.ndarray:
    """``clf``'s labels for rows ``X``; with ``X_mirror`` (the same images mirrored), the class whose
    score summed over both is highest."""
    if X_mirror is None:
        return clf.predict(X)
    return clf.classes_[np.argmax(class_scores(clf, X) + class_scores(clf, X_mirror), axis=1)]


class MirrorAveragedClassifier(ClassifierMixin, BaseEstimator):
    """An image classifier whose scores are averaged over each image and its mirror image.

    ``pipeline`` is a fitted image → label pipeline (descriptors, reduction, classifier).
    """

    def __init__(self, pipeline=None):
        self.pipeline = pipeline

    def fit(self, X, y):
        self.pipeline.fit(X, y)
        return self

    @property
    def classes_(self):
        return self.pipeline.classes_

    def __sklearn_is_fitted__(self):
        return hasattr(self.pipeline, "classes_")

    def image_pipelines(self) -> list:
        """The image → label pipelines inside (for setting their descriptors' runtime options)."""
        return [self.pipeline]

    def _both(self, X, scores):
        """Mean of ``scores`` over each image and its mirror image, computed in one batch."""
        X = check_images(X)
        both = np.concatenate([X, mirror_images(X)]) if isinstance(X, np.ndarray) else X + mirror_images(X)
        s = scores(both)
        return (s[:len(X)] + s[len(X):]) / 2

    @available_if(lambda self: hasattr(self.pipeline, "predict_proba"))
    def predict_proba(self, X) -> np.ndarray:
        return self._both(X, self.pipeline.predict_proba)

    @available_if(lambda self: not hasattr(self.pipeline, "predict_proba"))
    def decision_function(self, X) -> np.ndarray:
        return self._both(X, lambda images: class_scores(self.pipeline, images))

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self._both(X, lambda images: class_scores(self.pipeline, images)), axis=1)]
