import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fer_classic.data import to_gray
from fer_classic.features import DESCRIPTORS, LandmarkDescriptor, make_descriptor

# The descriptors that learn from images, with a smaller vocabulary / filter bank than their defaults
# (500 words, 800 filters), where the size makes no difference to what a test checks but to its time.
QUICK = {"bovw": {"words": 50}, "filterbank": {"centroids": 100}}
EXPECTED_DIM = {"raw": 2304, "hist": 32, "hog": 1764, "lbp": 360, "landmarks": 136, "bovw": 50 * 21,
                "filterbank": 100 * 4}
DEFAULT_DIM = {**EXPECTED_DIM, "bovw": 500 * 21, "filterbank": 800 * 4}
VARIANTS = [(name, QUICK.get(name, {})) for name in DESCRIPTORS] + [
    ("landmarks", {"patches": "hog"}), ("landmarks", {"patches": "lbp"}),
    ("hog", {"pixels_per_cell": 8, "orientations": 12}), ("lbp", {"points": 16, "radius": 2, "grid": 4}),
]
IDS = [f"{n}-{'-'.join(f'{k}{v}' for k, v in p.items())}" for n, p in VARIANTS]


@pytest.mark.parametrize("name, params", VARIANTS, ids=IDS)
def test_descriptor_rows_are_float32_of_a_fixed_length_and_deterministic(name, params, faces):
    d = make_descriptor(name, n_jobs=1, **params)
    X = d.fit_transform(faces)
    assert X.dtype == np.float32 and X.shape == (len(faces), d.n_features_out_)
    assert np.all(np.isfinite(X))
    if params == QUICK.get(name, {}):
        assert X.shape[1] == EXPECTED_DIM[name]
    assert np.array_equal(X, clone(d).fit_transform(faces))
    # Parallel workers give the very same rows as one process.
    assert np.array_equal(X, make_descriptor(name, n_jobs=2, **params).fit(faces).transform(faces))
    # Rows do not depend on the other images in the batch.
    assert np.array_equal(d.transform(faces[::-1])[::-1], X)
    assert np.array_equal(d.transform(faces[3:5]), X[3:5])


_FITTED: dict = {}


@pytest.mark.parametrize("name", list(DESCRIPTORS))
@settings(max_examples=15, deadline=None)
@given(images=arrays(np.uint8, st.tuples(st.integers(1, 3), st.integers(20, 70), st.integers(20, 70))))
def test_length_never_depends_on_image_content_or_size(name, images, faces):
    if name not in _FITTED:  # fitted once for all examples (transform changes nothing in it); a vocabulary needs real faces
        d = make_descriptor(name, n_jobs=1)
        _FITTED[name] = d.fit(faces if d.learns_from_images else np.zeros((1, 48, 48), np.uint8))
    d = _FITTED[name]
    assert d.n_features_out_ == DEFAULT_DIM[name]
    X = d.transform(images)
    assert X.shape == (len(images), d.n_features_out_) and np.all(np.isfinite(X))


@pytest.mark.parametrize("name", list(DESCRIPTORS))
def test_input_forms_flattened_rows_lists_of_sizes_and_colour(name, faces):
    d = make_descriptor(name, n_jobs=1, **QUICK.get(name, {})).fit(faces)
    X = d.transform(faces[:3])
    assert np.array_equal(d.transform(faces[:3].reshape(3, -1)), X)  # FER2013 CSV rows
    assert np.array_equal(d.transform(faces[:3].astype(np.float64) / 255), X)
    mixed = [faces[0], np.kron(faces[1], np.ones((2, 2), np.uint8)), np.stack([faces[2]] * 3, axis=-1)]
    assert d.transform(mixed).shape == (3, d.n_features_out_)
    # A colour copy of a gray face describes like the gray face for a gray-fitted descriptor.
    assert np.allclose(d.transform(np.stack([faces[:3]] * 3, axis=-1)), X, atol=1e-5)


def test_colour_descriptors_learn_channels_from_fit(faces):
    rgb = np.stack([faces, faces // 2, faces // 3], axis=-1)
    assert make_descriptor("hist", bins=16).fit(rgb).transform(rgb).shape == (len(faces), 48)
    assert make_descriptor("raw").fit(rgb).transform(faces).shape == (len(faces), 48 * 48 * 3)
    hist = make_descriptor("hist", bins=16).fit(rgb).transform(rgb)
    assert np.allclose(hist.reshape(len(faces), 3, 16).sum(axis=2), 1.0)


@pytest.mark.parametrize("bad", [np.zeros((3, 5)), np.zeros((2, 4, 4, 2)), np.zeros(5),
                                 np.full((1, 8, 8), np.nan), np.array([[["a"] * 4] * 4])])
def test_bad_input_is_refused_with_a_message(bad):
    with pytest.raises(ValueError, match="expected|finite|numeric"):
        make_descriptor("hog").fit(bad)


@pytest.mark.parametrize("name, params, message", [
    ("hog", {"pixels_per_cell": 30}, "fewer than cells_per_block"),
    ("lbp", {"method": "fancy"}, "method must be one of"),
    ("hist", {"bins": 0}, "bins must be between"),
    ("landmarks", {"patches": "sift"}, "patches must be one of"),
])
def test_bad_parameters_fail_at_fit(name, params, message, faces):
    with pytest.raises(ValueError, match=message):
        make_descriptor(name, **params).fit(faces)


def test_unknown_descriptor_or_parameter():
    with pytest.raises(ValueError, match="unknown descriptor 'sift'"):
        make_descriptor("sift")
    with pytest.raises(ValueError, match="has no parameter cell"):
        make_descriptor("hog", cell=3)


# scikit-learn's structural estimator checks of the descriptors: test_estimator_checks.py.


@pytest.mark.parametrize("name", list(DESCRIPTORS))
def test_estimator_contract_on_images(name, faces):
    d = DESCRIPTORS[name](n_jobs=1, **QUICK.get(name, {}))
    before = d.get_params()
    assert d.fit(faces) is d
    assert d.get_params() == before  # fit does not touch parameters
    restored = pickle.loads(pickle.dumps(d))
    assert np.array_equal(restored.transform(faces[:4]), d.transform(faces[:4]))
    pipe = make_pipeline(DESCRIPTORS[name](n_jobs=1, **QUICK.get(name, {})), StandardScaler()).fit(faces)
    assert pipe.transform(faces[:2]).shape == (2, d.n_features_out_)
    pipe.set_params(**{f"{type(d).__name__.lower()}__n_jobs": 2})


def test_landmarks_are_real_face_points(sample):
    """dlib's predictor on real faces: eyes above the nose tip above the mouth, jaw wide."""
    happy = sample.images[sample.labels == 3][:30]
    from fer_classic import faces as dlib_faces

    pts = np.stack([dlib_faces.landmarks(im) for im in happy])
    eyes_y, nose_y, mouth_y = pts[:, 36:48, 1].mean(1), pts[:, 33, 1], pts[:, 48:68, 1].mean(1)
    assert np.mean(eyes_y < nose_y) > 0.9 and np.mean(nose_y < mouth_y) > 0.9
    assert np.mean((pts[:, 16, 0] - pts[:, 0, 0]) > 24) > 0.9  # jaw spans most of a 48px face
    coords = LandmarkDescriptor(n_jobs=1).fit(happy).transform(happy).reshape(len(happy), 68, 2)
    assert np.allclose(coords.mean(axis=1), 0, atol=1e-5)
    assert np.allclose(np.sqrt((coords ** 2).sum(axis=2).mean(axis=1)), 1, atol=1e-4)


def test_landmark_detection_finds_a_face_in_a_photo():
    from skimage import data

    from fer_classic import faces as dlib_faces

    photo = data.astronaut()
    boxes = dlib_faces.detect_faces(to_gray(photo))
    assert boxes, "no face found in astronaut.png"
    left, top, right, bottom = boxes[0]
    assert 150 < (left + right) / 2 < 260 and 50 < (top + bottom) / 2 < 160  # Eileen Collins' face
    with_detection = LandmarkDescriptor(detect=True, n_jobs=1).fit([photo]).transform([photo])
    whole_image = LandmarkDescriptor(n_jobs=1).fit([photo]).transform([photo])
    assert not np.allclose(with_detection, whole_image)
