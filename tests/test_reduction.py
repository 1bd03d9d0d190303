"""The reducer's PCA with a rounded basis (``TrainSpec.pca_precision``)."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.decomposition import PCA

from fer_classic.errors import ConfigurationError
from fer_classic.models.reduction import RoundedPCA
from fer_classic.training import TrainSpec
from fer_classic.training.reducer import make_reducer


@pytest.mark.parametrize("dtype, precision", [(np.float64, "float32"), (np.float64, "float16"),
                                              (np.float32, "float16")])
def test_the_basis_is_rounded_to_the_precision_and_projects_as_it_is_stored(dtype, precision):
    X = np.random.default_rng(0).normal(size=(200, 40)).astype(dtype) * 30 + 5
    pca = RoundedPCA(n_components=10, random_state=0, precision=precision).fit(X)
    plain = PCA(n_components=10, random_state=0).fit(X)
    basis = pca.components_
    assert basis.dtype == dtype
    assert np.array_equal(basis.astype(precision).astype(dtype), basis)  # stored exactly in `precision`
    assert not np.array_equal(basis, plain.components_)  # rounded: not the basis as fitted
    assert np.allclose(basis, plain.components_, atol=1e-3)
    expected = (X - pca.mean_) @ basis.T
    assert np.allclose(pca.transform(X), expected, rtol=1e-4, atol=1e-3)
    assert np.array_equal(pca.fit_transform(X), pca.transform(X))  # the rows the classifier is fitted on
    assert clone(pca).get_params()["precision"] == precision


def test_an_unknown_precision_or_one_without_pca_is_refused():
    with pytest.raises(ValueError, match="precision"):
        RoundedPCA(n_components=2, precision="float8").fit(np.eye(5))
    with pytest.raises(ConfigurationError, match="pca_precision"):
        TrainSpec(["hog"], "svm", pca=None, pca_precision="float32").validate()
    with pytest.raises(ConfigurationError, match="pca_precision"):
        TrainSpec(["hog"], "svm", pca=10, pca_precision="half").validate()


def test_the_reducer_uses_the_rounded_pca_only_when_asked():
    assert type(make_reducer(TrainSpec(["hog"], "svm", pca=10)).named_steps["pca"]) is PCA
    step = make_reducer(TrainSpec(["hog"], "svm", pca=10, pca_precision="float16")).named_steps["pca"]
    assert isinstance(step, RoundedPCA) and step.precision == "float16"
