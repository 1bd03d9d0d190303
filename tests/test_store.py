import numpy as np
import pytest

from fer_classic.data import load_dataset
from fer_classic.features import HOGDescriptor
from fer_classic.features.extraction import extract_features
from fer_classic.store import FeatureDirectory, FeatureStoreError, atomic_path, write_json_atomic


def test_atomic_path_keeps_the_old_file_when_interrupted(tmp_path):
    target = tmp_path / "out.json"
    write_json_atomic(target, {"good": True})
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target) as tmp:
            tmp.write_text('{"half": ')
            raise KeyboardInterrupt
    assert target.read_text().strip().startswith('{\n  "good": true')
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_interrupted_extraction_keeps_finished_descriptors_and_no_partial_file(split_folders, tmp_path,
                                                                                 monkeypatch):
    ds = load_dataset(split_folders, n_jobs=1)

    def interrupted(self, images):
        raise KeyboardInterrupt

    monkeypatch.setattr(HOGDescriptor, "_describe", interrupted)
    out = tmp_path / "feats"
    with pytest.raises(KeyboardInterrupt):
        extract_features(ds, out, {"raw": {}, "hog": {}}, n_jobs=1)
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "raw.npz"]
    folder = FeatureDirectory(out)
    assert list(folder.manifest()["descriptors"]) == ["raw"]
    with pytest.raises(FeatureStoreError, match="no 'hog' features .* has: raw"):
        folder.load("hog")
    monkeypatch.undo()
    manifest = extract_features(ds, out, {"raw": {}, "hog": {}}, n_jobs=1)
    assert set(manifest["descriptors"]) == {"raw", "hog"}


def test_feature_files_round_trip_without_pickle(split_folders, tmp_path):
    ds = load_dataset(split_folders, n_jobs=1)
    extract_features(ds, tmp_path, {"lbp": {"grid": 3}}, n_jobs=1)
    fs = FeatureDirectory(tmp_path).load("lbp")
    assert fs.X.shape == (21, 90) and fs.X.dtype == np.float32
    assert list(fs.ids) == list(ds.ids) and list(fs.usage) == list(ds.usage)
    assert np.array_equal(fs.labels, ds.labels) and fs.class_names == ds.class_names
    assert fs.descriptor_params["lbp"]["grid"] == 3
    with np.load(tmp_path / "lbp.npz", allow_pickle=False) as z:
        assert set(z.files) == {"X", "labels", "usage", "ids", "class_names"}


def test_changed_or_foreign_feature_file_is_refused(split_folders, tmp_path):
    ds = load_dataset(split_folders, n_jobs=1)
    extract_features(ds, tmp_path / "a", {"hist": {}}, n_jobs=1)
    extract_features(ds.subset(np.arange(10)), tmp_path / "b", {"hist": {}}, n_jobs=1)
    (tmp_path / "b" / "hist.npz").replace(tmp_path / "a" / "hist.npz")
    with pytest.raises(FeatureStoreError, match="does not match its manifest entry"):
        FeatureDirectory(tmp_path / "a").load("hist")


def test_missing_or_broken_manifest(tmp_path):
    with pytest.raises(FeatureStoreError, match="no such features folder"):
        FeatureDirectory(tmp_path / "nope").manifest()
    with pytest.raises(FeatureStoreError, match="no features manifest"):
        FeatureDirectory(tmp_path).manifest()
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(FeatureStoreError, match="not a valid features manifest"):
        FeatureDirectory(tmp_path).manifest()


def test_mostly_zero_features_are_stored_sparse_and_load_exactly(tmp_path):
    from fer_classic.store import _feature_rows, save_feature_file

    rng = np.random.default_rng(0)
    X = np.where(rng.random((500, 2000)) < 0.04, rng.random((500, 2000)), 0).astype(np.float32)
    save_feature_file(tmp_path / "s.npz", X, np.zeros(500), [""] * 500, [str(i) for i in range(500)], ["a"])
    save_feature_file(tmp_path / "d.npz", X + 1, np.zeros(500), [""] * 500, [str(i) for i in range(500)], ["a"])
    with np.load(tmp_path / "s.npz") as z:
        assert "X" not in z.files and np.array_equal(_feature_rows(z), X)
    with np.load(tmp_path / "d.npz") as z:
        assert "X" in z.files and np.array_equal(_feature_rows(z), X + 1)
    assert (tmp_path / "s.npz").stat().st_size < (tmp_path / "d.npz").stat().st_size / 5


def test_models_are_stored_with_exact_float32_arrays_and_load_unchanged(tmp_path):
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import SVC

    from fer_classic.models import LocalLearningClassifier
    from fer_classic.runs.folders import compact_arrays, restore_arrays, save_model

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 30)).astype(np.float32)  # float32 features: SVM support vectors are float32 numbers
    y = rng.integers(0, 3, 400)
    model = make_pipeline(PCA(20), SVC()).fit(X, y)
    before = model[-1].support_vectors_.copy()
    entries = compact_arrays(model)
    assert [["steps", 1, 1, "support_vectors_"], "<f8"] in entries and model[-1].support_vectors_.dtype == np.float32
    restore_arrays(model, entries)
    assert model[-1].support_vectors_.dtype == np.float64 and np.array_equal(model[-1].support_vectors_, before)
    # and through a file: the same scores, the searched copy of local learning's rows made again (from
    # the rows restored to float32, where they were stored as float16)
    local = LocalLearningClassifier(k=20).fit(X, y)
    local16 = LocalLearningClassifier(k=20).fit(X.astype(np.float16).astype(np.float32), y)
    import skops.io as sio
    for estimator in (model, local, local16):
        save_model(estimator, tmp_path / "m.skops")
        saved = sio.load(tmp_path / "m.skops", trusted=sio.get_untrusted_types(file=tmp_path / "m.skops"))
        restore_arrays(saved["model"], saved["compact_arrays"])
        assert np.array_equal(saved["model"].decision_function(X), estimator.decision_function(X))
    assert "_search_X" in vars(local)  # saving did not strip the model in memory


def test_pixel_rows_are_stored_as_bytes_and_other_arrays_only_where_exact():
    from fer_classic.store import compact_form

    def stored_dtype(X):
        stored, _ = compact_form(X)
        return None if stored is X else stored.dtype

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (100, 64)).astype(np.float32)
    assert stored_dtype(pixels) == np.uint8 and stored_dtype(pixels * 200) == np.uint16
    assert stored_dtype(pixels.astype(np.float64)) == np.uint8
    assert stored_dtype(pixels + 0.1) is None  # float32 already, not whole numbers, not float16 numbers
    assert stored_dtype((pixels + 0.1).astype(np.float64)) == np.float32
    assert stored_dtype(pixels + 0.5) == np.float16  # float16 numbers (TrainSpec.float16_rows' rows)
    assert stored_dtype((pixels + 0.5).astype(np.float64)) == np.float16
    assert stored_dtype(pixels - 1) == np.float16  # negative: no unsigned integer type, but float16
    signed_zero = pixels.copy()
    signed_zero[0, 0] = -0.0
    assert stored_dtype(signed_zero) == np.float16  # -0.0 would come back as +0.0 from uint8
    assert np.signbit(signed_zero.astype(np.float16)[0, 0])
    assert stored_dtype(rng.integers(0, 3, 5000)) is None  # not floats


def test_rows_on_an_int8_grid_are_stored_as_int8_and_a_step_per_column_exactly():
    from fer_classic.store import compact_form, from_compact_form, int8_columns, int8_grid_steps, round_to_int8_grid

    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 40)) * np.geomspace(30, 0.01, 40)  # PCA-like columns
    steps = int8_grid_steps(X)
    for dtype in (np.float64, np.float32):
        rows = round_to_int8_grid(X.astype(dtype), steps)
        assert rows.dtype == dtype and not np.array_equal(rows, X.astype(dtype))
        assert np.all(np.abs(rows - X) <= steps * 0.5001)  # the nearest grid point: nothing clipped
        for kept in (rows, rows[rng.choice(3000, 500)], rows.astype(np.float32).astype(np.float64)):
            stored, stored_steps = compact_form(kept)  # a model keeps a subset, perhaps widened
            assert stored.dtype == np.int8 and stored_steps.shape == (40,)
            back = from_compact_form(stored, stored_steps, kept.dtype)
            assert back.dtype == kept.dtype and np.array_equal(back, kept)
            assert not np.signbit(back[back == 0]).any()
    assert np.array_equal(round_to_int8_grid(X * 3, steps) / steps.astype(np.float64), 127 * np.sign(X * 3)
                          * (np.abs(X * 3) >= 127.5 * steps) + np.clip(np.rint(X * 3 / steps), -127, 127)
                          * (np.abs(X * 3) < 127.5 * steps))  # beyond the fit rows' range: clipped
    assert int8_columns(X) is None  # not on a grid
    wide = rng.integers(-254, 255, X.shape).astype(np.float32) * steps
    wide[0] = steps  # one step in every column: the grid is found, but 254 steps are more than int8 holds
    assert int8_columns(wide) is None and int8_columns(wide / 2) is None
    negative_zero = round_to_int8_grid(X.astype(np.float32), steps)
    negative_zero[0, 0] = -0.0
    assert int8_columns(negative_zero) is None  # would come back as +0.0


def test_model_files_deflate_only_what_compresses(tmp_path):
    """Pixel rows (a KNN model's, stored as bytes) shrink further when deflated and are; an SVM's support
    vectors barely do, and are stored as they are, so loading does not spend its time inflating them."""
    import zipfile

    import skops.io as sio
    from sklearn.svm import SVC

    from fer_classic.models import FastKNeighborsClassifier
    from fer_classic.runs.folders import restore_arrays, save_model

    rng = np.random.default_rng(0)
    pixels = np.repeat(rng.integers(0, 256, (10000, 8)), 8, axis=1).astype(np.float64)  # smooth "images"
    y = rng.integers(0, 3, 10000)
    knn = FastKNeighborsClassifier(n_neighbors=3).fit(pixels, y)
    for estimator, expected, size in ((knn, zipfile.ZIP_DEFLATED, pixels.size),  # one byte per pixel
                                      (SVC().fit(rng.normal(size=(2000, 64)), y[:2000]), zipfile.ZIP_STORED, None)):
        save_model(estimator, tmp_path / "m.skops")
        with zipfile.ZipFile(tmp_path / "m.skops") as z:
            largest = max(z.infolist(), key=lambda i: i.file_size)
            assert largest.file_size > 500_000 and largest.compress_type == expected
            assert size is None or size < largest.file_size < size + 1000  # + the .npy header
            assert z.getinfo("schema.json").compress_type == zipfile.ZIP_DEFLATED
    saved = sio.load(tmp_path / "m.skops", trusted=sio.get_untrusted_types(file=tmp_path / "m.skops"))
    restore_arrays(saved["model"], saved["compact_arrays"])
    assert saved["model"].support_vectors_.dtype == np.float64


def test_whole_number_features_are_stored_as_small_integers_and_load_exactly(split_folders, tmp_path):
    ds = load_dataset(split_folders, n_jobs=1)
    extract_features(ds, tmp_path, {"raw": {}, "hog": {}}, n_jobs=1)
    with np.load(tmp_path / "raw.npz", allow_pickle=False) as z:
        assert z["X_integers"].dtype == np.uint8 and "X" not in z.files
    with np.load(tmp_path / "hog.npz", allow_pickle=False) as z:
        assert "X" in z.files  # fractions stay float32
    raw = FeatureDirectory(tmp_path).load("raw")
    assert raw.X.dtype == np.float32 and np.array_equal(raw.X, ds.images.reshape(len(ds), -1).astype(np.float32))

    from fer_classic.store import _feature_rows, save_feature_file

    for X, dtype in [(np.array([[0, 70000.0]], dtype=np.float32), None), (np.array([[0, 300.0]]), np.uint16),
                     (np.array([[0, -1.0]]), None), (np.array([[0.5, 1.0]]), None), (np.array([[-0.0, 1.0]]), None),
                     (np.array([[np.nan, 1.0]]), None)]:
        save_feature_file(tmp_path / "x.npz", X, [0], [""], ["a"], ["a"])
        with np.load(tmp_path / "x.npz") as z:
            assert (z["X_integers"].dtype if "X_integers" in z.files else None) == dtype
            assert np.array_equal(_feature_rows(z), X, equal_nan=True)


def test_rows_rounded_to_float16_keep_their_dtype_and_stay_finite():
    from fer_classic.store import round_to_float16

    rows = np.array([[1e6, -1e6, 0.1, 3.0]], dtype=np.float32)
    rounded = round_to_float16(rows)
    assert rounded.dtype == np.float32
    assert rounded.tolist() == [[65504.0, -65504.0, float(np.float16(0.1)), 3.0]]
    assert np.array_equal(round_to_float16(rounded), rounded)  # idempotent: float16 numbers already
