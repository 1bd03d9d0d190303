"""Photometric normalisation: each method maps a face to a face, undoes changes of lighting it is meant
to undo, and runs trained on normalised features normalise every face they are given."""

import json

import numpy as np
import pytest

from fer_classic.features import HOGDescriptor
from fer_classic.features.photometric import PHOTOMETRIC, normalise
from fer_classic.runs.folders import load_run, load_run_labeller

from .conftest import run


@pytest.mark.parametrize("method", list(PHOTOMETRIC))
def test_each_method_maps_a_face_to_a_face(sample, method):
    face = sample.images[0]
    out = normalise(face, method)
    assert out.dtype == np.uint8 and out.shape == face.shape


@pytest.mark.parametrize("method", ["standardise", "tan-triggs"])
def test_a_dimmed_face_comes_out_nearly_as_the_face(sample, method):
    faces = sample.images[:50]
    dimmed = (faces.astype(np.float64) * 0.4 + 10).astype(np.uint8)  # a darker, lower-contrast exposure
    before = np.abs(faces.astype(int) - dimmed.astype(int)).mean()
    after = np.mean([np.abs(normalise(f, method).astype(int) - normalise(d, method).astype(int)).mean()
                     for f, d in zip(faces, dimmed)])
    assert after < before / 4, (before, after)


def test_clahe_spreads_a_low_contrast_face(sample):
    face = (sample.images[0].astype(np.float64) * 0.3 + 90).astype(np.uint8)
    assert np.ptp(normalise(face, "clahe")) > 2 * np.ptp(face)


def test_an_unknown_method_is_named(sample):
    with pytest.raises(ValueError, match="unknown photometric normalisation 'clahee' \\(did you mean 'clahe'"):
        HOGDescriptor(photometric="clahee").fit(sample.images[:2])


def test_extract_photometric_trains_a_run_that_normalises_what_it_labels(sample_path, sample, tmp_path):
    feats = tmp_path / "feats"
    result = run("extract", sample_path, "-f", "hog,hist", "--photometric", "tan-triggs", "-o", feats, "-q")
    assert result.exit_code == 0, result.output
    entries = json.loads((feats / "manifest.json").read_text())["descriptors"]
    assert entries["hog"]["params"]["photometric"] == "tan-triggs" and entries["hist"]["params"]["photometric"] == "tan-triggs"
    assert run("extract", sample_path, "-f", "hog", "--photometric", "tan-trigs", "-o", tmp_path / "x").exit_code == 2
    result = run("train", feats, "-f", "hog", "-m", "svm", "--pca", "30", "-o", tmp_path / "run", "-q")
    assert result.exit_code == 0, result.output
    model = load_run(tmp_path / "run")[0]
    predictor = load_run_labeller(tmp_path / "run")[0]
    faces = sample.images[sample.usage == "PublicTest"][:80]
    from fer_classic.models.mirror import predict_labels

    assert np.array_equal(predict_labels(model, faces), predictor.predict(faces))
    # the run's descriptor normalises: its rows are those of the normalised faces
    from fer_classic.features.extraction import fitted_descriptors

    hog = fitted_descriptors(feats, ["hog"])
    plain = HOGDescriptor().fit(faces[:1])
    normalised = np.stack([normalise(f, "tan-triggs") for f in faces[:5]])
    assert np.allclose(hog.transform(faces[:5]), plain.transform(normalised))
