"""The bag-of-visual-words descriptor: a vocabulary learned without labels, a spatial pyramid."""

import json

import numpy as np
import pytest

from fer_classic.apply.evaluate import image_pipelines
from fer_classic.features import BoVWDescriptor
from fer_classic.runs.folders import load_run
from fer_classic.store import FeatureDirectory, FeatureStoreError

from .conftest import run

SMALL = ["--bovw-words", "24", "--bovw-sample-images", "300"]


def test_vocabulary_is_learned_reproducibly_and_histograms_are_normalised(sample):
    images = sample.images[:400]
    a = BoVWDescriptor(words=16, sample_images=200).fit(images)
    b = BoVWDescriptor(words=16, sample_images=200).fit(images)
    assert a.vocabulary_.shape == (16, 104)
    assert np.array_equal(a.vocabulary_, b.vocabulary_)
    assert not np.array_equal(a.vocabulary_, BoVWDescriptor(words=16, sample_images=200, seed=1).fit(images).vocabulary_)
    X = a.transform(images[:30])
    assert X.shape == (30, 16 * (1 + 4 + 16))
    # Square roots of per-cell frequencies: the squares of each cell's 16 entries sum to 1.
    cells = (X.astype(np.float64) ** 2).reshape(30, 21, 16).sum(axis=2)
    assert np.allclose(cells, 1, atol=1e-5)
    # Different expressions give different word counts.
    assert not np.allclose(X[0], X[1])


def test_a_descriptor_that_learns_needs_enough_local_descriptors(sample):
    with pytest.raises(ValueError, match="vocabulary of 500 words"):
        BoVWDescriptor(words=500).fit(sample.images[:2])


def test_extract_learns_on_training_images_and_train_ships_the_vocabulary(sample_path, tmp_path):
    feats = tmp_path / "features"
    result = run("extract", sample_path, "-f", "bovw", *SMALL, "-o", feats)
    assert result.exit_code == 0, result.output
    entry = json.loads((feats / "manifest.json").read_text())["descriptors"]["bovw"]
    assert entry["fitted_on"] == "2872 Training images" and entry["params"]["words"] == 24
    vocabulary = FeatureDirectory(feats).load_state("bovw")["vocabulary"]
    assert vocabulary.shape == (24, 104)

    out = tmp_path / "run"
    result = run("train", feats, "-f", "bovw", "-m", "svm", "--pca", "30", "-o", out)
    assert result.exit_code == 0, result.output
    model, metrics = load_run(out)
    assert np.array_equal(image_pipelines(model)[0].steps[0][1].vocabulary_, vocabulary)
    result = run("evaluate", out, sample_path, "--split", "PublicTest")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["accuracy"] == pytest.approx(metrics["accuracy"])

    # Extracting again reuses the vocabulary; a changed vocabulary file is refused.
    result = run("extract", sample_path, "-f", "bovw", *SMALL, "--mirror", "-o", feats)
    assert result.exit_code == 0, result.output
    assert np.array_equal(FeatureDirectory(feats).load_state("bovw")["vocabulary"], vocabulary)
    np.savez(feats / "bovw.state.npz", vocabulary=vocabulary + 1)
    with pytest.raises(FeatureStoreError, match="changed since extraction"):
        FeatureDirectory(feats).load_state("bovw")


def test_bad_bovw_parameters_are_usage_errors(sample_path, tmp_path):
    result = run("extract", sample_path, "-f", "bovw", "--bovw-words", "1", "-o", tmp_path)
    assert result.exit_code == 2 and "words >= 2" in result.output
    result = run("extract", sample_path, "-f", "bovw", "--bovw-levels", "1,x", "-o", tmp_path)
    assert result.exit_code == 2 and "comma" in result.output


def test_batched_daisy_equals_scikit_image(sample):
    from skimage.feature import daisy

    from fer_classic.features.compute import dense_daisy

    images = sample.images[:40]
    for params in ({"step": 3, "radius": 6, "rings": 2, "histograms": 6, "orientations": 8},
                   {"step": 4, "radius": 8, "rings": 3, "histograms": 4, "orientations": 6}):
        ours = dense_daisy(images, **params).astype(np.float32)
        theirs = np.stack([daisy(im, **params) for im in images]).astype(np.float32)
        assert np.array_equal(ours, theirs)


def _pq(x, y):
    """The PQ kernel by its definition: 2 (concordant - discordant) over every pair of words."""
    i, j = np.triu_indices(len(x), 1)
    return 2 * int(np.sum(np.sign(x[i] - x[j]) * np.sign(y[i] - y[j])))


def test_pq_and_intersection_kernels_of_presence_vectors_are_linear_kernels_of_their_encodings(sample):
    images = sample.images[:300]
    common = dict(words=16, sample_images=200, levels=(1, 2))
    pq = BoVWDescriptor(encoding="pq", **common).fit(images).transform(images[:12]).astype(np.float64)
    presence = BoVWDescriptor(encoding="presence", **common).fit(images).transform(images[:12]).astype(np.float64)
    hellinger = BoVWDescriptor(**common).fit(images).transform(images[:12]).astype(np.float64)
    binary = (hellinger > 0).astype(int).reshape(12, 5, 16)  # each cell's presence vector
    for a in range(12):
        for b in range(12):
            for cell in range(5):
                x, y = binary[a, cell], binary[b, cell]
                pq_xy = _pq(x, y)
                norm = np.sqrt(_pq(x, x) * _pq(y, y))
                cells_pq = pq.reshape(12, 5, 16)
                assert np.dot(cells_pq[a, cell], cells_pq[b, cell]) == pytest.approx(pq_xy / norm if norm else 0.0, abs=1e-6)
                hik = np.minimum(x, y).sum() / np.sqrt(np.minimum(x, x).sum() * np.minimum(y, y).sum())
                cells = presence.reshape(12, 5, 16)
                assert np.dot(cells[a, cell], cells[b, cell]) == pytest.approx(hik, abs=1e-6)


def test_presence_and_power_encodings_make_unit_cells(sample):
    images = sample.images[:300]
    presence = BoVWDescriptor(words=16, sample_images=200, encoding="presence").fit(images)
    X = presence.transform(images[:20]).astype(np.float64).reshape(20, 21, 16)
    assert np.allclose((X ** 2).sum(axis=2), 1, atol=1e-6)
    for cell in X.reshape(-1, 16):  # each cell: 1/sqrt(k) on the k words present, 0 elsewhere
        present = cell > 0
        assert np.allclose(cell[present], 1 / np.sqrt(present.sum()), atol=1e-6)
    power = BoVWDescriptor(words=16, sample_images=200, encoding="power", alpha=0.3).fit(images)
    P = power.transform(images[:20]).astype(np.float64).reshape(20, 21, 16)
    assert np.allclose((P ** 2).sum(axis=2), 1, atol=1e-6)
    hellinger = BoVWDescriptor(words=16, sample_images=200).fit(images).transform(images[:20]).reshape(20, 21, 16)
    assert np.array_equal(P > 0, hellinger > 0) and np.array_equal(X > 0, hellinger > 0)  # same words, other weights


def test_level_weights_make_the_linear_kernel_a_weighted_sum_of_level_kernels(sample):
    images, faces = sample.images[:300], sample.images[300:306]
    plain = BoVWDescriptor(words=16, sample_images=200, encoding="presence").fit(images)
    weighted = BoVWDescriptor(words=16, sample_images=200, encoding="presence", level_weights=(1, 2, 5)).fit(images)
    X, W = plain.transform(faces).astype(np.float64), weighted.transform(faces).astype(np.float64)
    blocks = {1: slice(0, 16), 2: slice(16, 80), 4: slice(80, 336)}
    expected = sum(w / 8 * (X[:, blocks[g]] @ X[:, blocks[g]].T) / (g * g) for g, w in zip((1, 2, 4), (1, 2, 5)))
    assert np.allclose(W @ W.T, expected, atol=1e-6)
    assert np.allclose(np.diag(W @ W.T), 1, atol=1e-6)  # each level kernel of a face with itself is 1


def test_one_vocabulary_per_level_round_trips_through_its_state(sample):
    images = sample.images[:300]
    d = BoVWDescriptor(level_words=(30, 20, 10), sample_images=200).fit(images)
    assert [v.shape[0] for v in d.vocabularies_] == [30, 20, 10] and d.n_features_out_ == 30 + 4 * 20 + 16 * 10
    state = d.learned_state()
    assert sorted(state) == ["vocabulary_0", "vocabulary_1", "vocabulary_2"]
    again = BoVWDescriptor(level_words=(30, 20, 10)).set_learned_state(state)
    assert np.array_equal(again.transform(images[:10]), d.transform(images[:10]))
    with pytest.raises(ValueError, match="one count >= 2 per pyramid level"):
        BoVWDescriptor(level_words=(30, 20)).fit(images)


def test_ionescu_options_from_the_command_line(sample_path, tmp_path):
    result = run("extract", sample_path, "-f", "bovw", "--bovw-encoding", "presence", "--bovw-level-weights", "1,2,4",
                 "--bovw-level-words", "24,16,8", "--bovw-sample-images", "300", "-o", tmp_path / "f", "-j", "2")
    assert result.exit_code == 0, result.output
    entry = json.loads((tmp_path / "f" / "manifest.json").read_text())["descriptors"]["bovw"]
    assert entry["dim"] == 24 + 4 * 16 + 16 * 8
    assert entry["params"]["encoding"] == "presence" and entry["params"]["level_weights"] == [1, 2, 4]
    result = run("extract", sample_path, "-f", "bovw", "--bovw-encoding", "presense", "-o", tmp_path / "g")
    assert result.exit_code == 2 and "presence" in result.output


def test_a_descriptor_saved_before_the_newer_parameters_loads_with_their_defaults(sample):
    """A model file written before encoding, alpha, level_words and per-level vocabularies existed."""
    import skops.io as sio

    images = sample.images[:300]
    d = BoVWDescriptor(words=16, sample_images=200).fit(images)
    old = BoVWDescriptor(words=16, sample_images=200).fit(images)
    for name in ("encoding", "alpha", "level_weights", "level_words", "local", "sift_bins", "vocabularies_"):
        del old.__dict__[name]
    with pytest.raises(AttributeError):
        old.get_params()
    data = sio.dumps(old)
    loaded = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    assert loaded.get_params() == d.get_params()
    assert np.array_equal(loaded.transform(images[:20]), d.transform(images[:20]))


def test_dense_sift_is_opencvs_descriptor_at_every_grid_point_and_scale(sample):
    cv2 = pytest.importorskip("cv2")
    from fer_classic.features.compute import dense_sift

    faces = sample.images[:5]
    dense = dense_sift(faces, step=4, bins=(4, 8))
    assert dense.shape == (5, 12, 12, 2, 128)
    sift = cv2.SIFT_create()
    for i, face in enumerate(faces):
        for s, b in enumerate((4, 8)):
            points = [cv2.KeyPoint(float(x), float(y), b / 1.5, 0.0) for y in range(2, 48, 4) for x in range(2, 48, 4)]
            _, expected = sift.compute(face, points)
            assert np.array_equal(dense[i, :, :, s].reshape(-1, 128), expected)
    # upright and local: a descriptor changes when its patch changes, and only there
    moved = faces[:1].copy()
    moved[0, :12, :12] = 255 - moved[0, :12, :12]
    changed = np.any(dense_sift(moved, step=4, bins=(4,))[0, :, :, 0] != dense[:1, :, :, 0][0], axis=-1)
    assert changed[0, 0] and not changed[-1, -1]


def test_a_sift_bag_counts_one_word_per_scale_at_every_location(sample):
    pytest.importorskip("cv2")
    images = sample.images[:200]
    d = BoVWDescriptor(local="sift", sift_bins=(4, 6, 8), words=20, levels=(1,), sample_images=100, n_jobs=1)
    rows = d.fit(images).transform(images[:10])
    assert rows.shape == (10, 20)
    # the Hellinger map of frequencies: squares sum to one over the cell, whatever the number of scales
    assert np.allclose((rows ** 2).sum(axis=1), 1.0, atol=1e-5)
    assert not np.array_equal(rows, BoVWDescriptor(local="sift", sift_bins=(8,), words=20, levels=(1,),
                                                   sample_images=100, n_jobs=1).fit(images).transform(images[:10]))
    with pytest.raises(ValueError, match="local must be one of daisy, sift"):
        BoVWDescriptor(local="surf").fit(images)
