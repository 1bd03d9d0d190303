"""scikit-learn's estimator checks over every estimator class of fer-classic, discovered from the
classes a saved model may hold (the registered descriptors, the registered model kinds' classes, the
steps and wrappers: :data:`~fer_classic.runs.trusted_classes.TRUSTED_CLASSES`), not listed by hand.

Estimators of tabular rows get every check (the known failures are listed with their reasons and run as
expected failures); those that take images (descriptors, the aligner, mirror averaging) or a fitted
classifier (temperature scaling), and the casts and roundings between pipeline steps, get the structural
checks, their behaviour on faces being tested in
test_features.py, test_alignment.py, test_mirror.py and test_calibration.py."""

import importlib

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.utils import estimator_checks
from sklearn.utils.estimator_checks import parametrize_with_checks

from fer_classic.features import HOGDescriptor, ImageDescriptor
from fer_classic.features.alignment import FaceAligner
from fer_classic.models import FastKNeighborsClassifier, MirrorAveragedClassifier, SoftVotingEnsemble
from fer_classic.models.calibration import TemperatureScaledClassifier
from fer_classic.models.reduction import Float64, RoundToFloat16, RoundToInt8Grid
from fer_classic.runs.trusted_classes import TRUSTED_CLASSES


def _classes():
    found = {}
    for name in sorted(TRUSTED_CLASSES):
        module, _, cls = name.rpartition(".")
        if module.startswith("fer_classic.") and not module.startswith("fer_classic.training."):  # 0.2's names
            found[name] = getattr(importlib.import_module(module), cls)
    return found


CLASSES = _classes()

# Classes whose constructor needs something to wrap, and small settings for the slow ones.
EXAMPLES = {
    SoftVotingEnsemble: lambda: SoftVotingEnsemble(members=[LogisticRegression(), GaussianNB()]),
    MirrorAveragedClassifier: lambda: MirrorAveragedClassifier(
        pipeline=make_pipeline(HOGDescriptor(n_jobs=1), LogisticRegression())),
    TemperatureScaledClassifier: lambda: TemperatureScaledClassifier(classifier=LogisticRegression()),
}
# Structural checks only: estimators of images or of a fitted classifier, and the casts and roundings
# inside a pipeline, whose rows the steps before them validated (no input checks of their own, no
# n_features_in_; their arithmetic is tested in test_reduction.py and test_store.py).
IMAGES_OR_FITTED = (ImageDescriptor, FaceAligner, MirrorAveragedClassifier, TemperatureScaledClassifier,
                    Float64, RoundToFloat16, RoundToInt8Grid)

_TWO_CLASS = ("two-class problems: decision_function has one column per class (scikit-learn's convention is "
              "one column); fer-classic labels two-class models through their model file")
_DENSE = "dense rows only: the kernel is computed with BLAS on dense arrays"
EXPECTED_FAILURES = {
    "LocalLearningClassifier": {"check_classifiers_classes": _TWO_CLASS, "check_classifiers_train": _TWO_CLASS},
    "GramRBFSVC": {"check_sample_weight_equivalence_on_dense_data": "the BLAS decision values agree with "
                   "libsvm's to about 1e-6, not the check's 1e-7", "check_sample_weight_equivalence_on_sparse_data":
                   _DENSE, "check_estimator_sparse_tag": _DENSE},
}


def _example(cls):
    return EXAMPLES[cls]() if cls in EXAMPLES else cls()


TABULAR = [_example(cls) for cls in CLASSES.values() if not issubclass(cls, IMAGES_OR_FITTED)]
STRUCTURAL = [cls for cls in CLASSES.values() if issubclass(cls, IMAGES_OR_FITTED)]


def test_the_discovery_finds_every_kind_of_estimator():
    names = {cls.__name__ for cls in CLASSES.values()}
    assert {"FastKNeighborsClassifier", "LocalLearningClassifier", "GramRBFSVC", "TemperatureScaledClassifier",
            "FaceAligner", "RoundedPCA", "RoundToInt8Grid", "SoftVotingEnsemble", "HOGDescriptor"} <= names


@parametrize_with_checks(TABULAR, expected_failed_checks=lambda e: EXPECTED_FAILURES.get(type(e).__name__, {}))
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


STRUCTURAL_CHECKS = ["check_no_attributes_set_in_init", "check_parameters_default_constructible",
                     "check_get_params_invariance", "check_set_params", "check_estimator_repr",
                     "check_estimators_unfitted", "check_do_not_raise_errors_in_init_or_set_params",
                     "check_mixin_order", "check_estimator_cloneable", "check_valid_tag_types"]


@pytest.mark.parametrize("check", STRUCTURAL_CHECKS)
@pytest.mark.parametrize("cls", STRUCTURAL, ids=lambda c: c.__name__)
def test_structural_checks_of_estimators_that_take_images(cls, check):
    estimator = _example(cls)
    if hasattr(estimator, "n_jobs"):
        estimator.set_params(n_jobs=1)
    getattr(estimator_checks, check)(type(estimator).__name__, estimator)


def test_keyword_only_parameters():
    for cls in (FastKNeighborsClassifier, MirrorAveragedClassifier, SoftVotingEnsemble):
        with pytest.raises(TypeError):
            cls(3)


def test_mirror_wrapper_fits_a_clone_and_averages(sample):
    images, labels = sample.images[:300], sample.labels[:300]
    pipeline = make_pipeline(HOGDescriptor(n_jobs=1), LogisticRegression(max_iter=200))
    wrapper = MirrorAveragedClassifier(pipeline=pipeline).fit(images, labels)
    assert not hasattr(pipeline, "classes_")  # the given pipeline is left unfitted
    fitted = wrapper.pipeline_
    both = (fitted.predict_proba(images[:20]) + fitted.predict_proba(images[:20, :, ::-1])) / 2
    assert np.allclose(wrapper.predict_proba(images[:20]), both)
