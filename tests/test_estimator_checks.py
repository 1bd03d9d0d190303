"""scikit-learn's estimator checks over fer-classic's own classifiers (the descriptors' are in
test_features.py). Tabular checks apply to the KNN and the ensemble; the mirror wrapper takes images,
so only the structural checks apply to it, and its behaviour on faces is tested in test_mirror.py."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.utils import estimator_checks
from sklearn.utils.estimator_checks import parametrize_with_checks

from fer_classic.features import HOGDescriptor
from fer_classic.models import FastKNeighborsClassifier, MirrorAveragedClassifier, SoftVotingEnsemble


@parametrize_with_checks([FastKNeighborsClassifier(),
                          SoftVotingEnsemble(members=[LogisticRegression(), GaussianNB()])])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


STRUCTURAL_CHECKS = ["check_no_attributes_set_in_init", "check_parameters_default_constructible",
                     "check_get_params_invariance", "check_set_params", "check_estimator_repr",
                     "check_estimators_unfitted", "check_do_not_raise_errors_in_init_or_set_params",
                     "check_mixin_order", "check_estimator_cloneable", "check_valid_tag_types"]


@pytest.mark.parametrize("check", STRUCTURAL_CHECKS)
def test_mirror_wrapper_structural_checks(check):
    wrapper = MirrorAveragedClassifier(pipeline=make_pipeline(HOGDescriptor(n_jobs=1), LogisticRegression()))
    getattr(estimator_checks, check)(type(wrapper).__name__, wrapper)


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
