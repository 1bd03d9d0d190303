"""A run's predictor (predictor.npz): the model's labels, computed with numpy alone."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from skimage import data

from fer_classic.errors import RunError
from fer_classic.runs.folders import load_run, load_run_labeller
from fer_classic.runs.predictor import PREDICTOR_FILE, ModelLabeller, load_predictor

from .conftest import run


@pytest.fixture(scope="module")
def runs(sample, tmp_path_factory):
    """Runs on the embedded sample covering every part a predictor has: an RBF SVM (calibrated), and a
    soft-voting ensemble of an RBF SVM on two descriptors side by side with mirror averaging, an MLP on
    landmarks, and a linear SVM and an MLP on aligned faces; a random forest; KNNs under L1, L2 and L3; local
    learning, with float16 rows, mirror averaging and a rounded basis; an RBF SVM and local learning on
    rows rounded to an int8 grid; and a logistic MLP, which has no predictor."""
    from fer_classic.features.extraction import extract_features
    from fer_classic.training import EnsembleSpec, TrainSpec, train_ensemble, train_run

    root = tmp_path_factory.mktemp("predictor-runs")
    feats = root / "features"
    extract_features(sample, feats, {"raw": {}, "hog": {"pixels_per_cell": 8}, "lbp": {}, "landmarks": {}},
                     mirror=["hog", "lbp"], n_jobs=2)
    extract_features(sample, feats / "aligned", {"hog": {"pixels_per_cell": 8}}, align=True, n_jobs=2)
    train_run(feats, root / "svm", TrainSpec(["hog"], "svm", pca=30), n_jobs=2)
    train_run(feats, root / "svm-float16", TrainSpec(["hog"], "svm", pca=30, float16_rows=True,
                                                    pca_precision="float16"), n_jobs=2)
    train_run(feats, root / "mlp-basis32", TrainSpec(["hog"], "mlp", params={"hidden": (16,), "epochs": 3}, pca=30,
                                                     pca_precision="float32"), n_jobs=2)
    members = [TrainSpec(["hog", "lbp"], "svm", pca=40, mirror="both"),
               TrainSpec(["landmarks"], "mlp", params={"hidden": (32,), "epochs": 5}),
               TrainSpec(["hog"], "svm", params={"kernel": "linear", "C": 0.01}, aligned=True),
               TrainSpec(["hog"], "mlp", params={"hidden": (16,), "epochs": 3}, aligned=True)]
    train_ensemble(feats, root / "ensemble", EnsembleSpec(members), n_jobs=2)
    train_run(feats, root / "rf", TrainSpec(["lbp", "landmarks"], "rf", params={"trees": 30}), n_jobs=2)
    for p in (1, 2, 3):
        train_run(feats, root / f"knn-l{p}", TrainSpec(["hog"], "knn", params={"k": 5, "p": p}, pca=20), n_jobs=2)
    # raw pixels: neighbours tied at the 9th for some test faces (scikit-learn's choice is replayed)
    train_run(feats, root / "knn-raw", TrainSpec(["raw"], "knn", params={"k": 9, "p": 2}, scale=False), n_jobs=2)
    train_run(feats, root / "local", TrainSpec(["hog", "lbp"], "local", params={"k": 30, "kernel": "rbf", "C": 10.0},
                                               pca=20, mirror="both", float16_rows=True, pca_precision="float16"),
              n_jobs=2)
    train_run(feats, root / "svm-int8", TrainSpec(["hog"], "svm", pca=30, int8_rows=True), n_jobs=2)
    train_run(feats, root / "local-int8", TrainSpec(["hog"], "local", params={"k": 30, "kernel": "rbf", "C": 10.0},
                                                    pca=20, mirror="both", int8_rows=True), n_jobs=2)
    train_run(feats, root / "mlp-logistic", TrainSpec(["hog"], "mlp", pca=20, params={
        "hidden": (8,), "epochs": 3, "activation": "logistic"}), n_jobs=2)
    return root


@pytest.fixture(scope="module")
def test_faces(sample):
    return sample.images[sample.usage == "PublicTest"]


@pytest.mark.parametrize("name", ["svm", "svm-float16", "mlp-basis32", "ensemble", "rf", "knn-l1", "knn-l2", "knn-l3",
                                  "local", "svm-int8", "local-int8"])
def test_the_predictor_gives_the_models_labels_and_scores(runs, test_faces, name):
    model, metrics = load_run(runs / name)
    predictor, _ = load_run_labeller(runs / name)
    assert metrics["predictor"]["file"] == PREDICTOR_FILE and type(predictor).__name__ == "Predictor"
    from fer_classic.models.mirror import class_scores, predict_labels

    labels = predictor.predict(test_faces)
    assert np.array_equal(labels, predict_labels(model, test_faces))
    # the run's own test predictions, made by training from the feature files, are the same labels
    names = np.asarray(metrics["class_names"])
    assert list(names[labels]) == list(pd.read_csv(runs / name / "predictions.csv")["predicted"])
    # scores: equal up to libsvm's own decision values, which a calibrated SVM's probabilities use
    np.testing.assert_allclose(predictor.class_scores(test_faces), class_scores(model, test_faces), atol=1e-6)
    assert predictor.score_kind == "probability"
    # labels and scores together (what predict writes) are the two computed apart, exactly, for the
    # predictor and for the model behind the same interface
    both = predictor.labels_and_scores(test_faces)
    assert np.array_equal(both[0], labels) and np.array_equal(both[1], predictor.class_scores(test_faces))
    both = ModelLabeller(model).labels_and_scores(test_faces)
    assert np.array_equal(both[0], labels) and np.array_equal(both[1], class_scores(model, test_faces))


def test_an_ensemble_aligns_each_face_once_for_all_its_members_on_aligned_faces(runs, test_faces, monkeypatch):
    import fer_classic.faces as faces

    predictor, _ = load_run_labeller(runs / "ensemble")
    expected = predictor.labels_and_scores(test_faces[:20])
    real, calls = faces.align_whole_images, []
    monkeypatch.setattr(faces, "align_whole_images", lambda images, size: calls.append(len(images)) or real(images, size))
    labels, scores = predictor.labels_and_scores(test_faces[:20])
    assert calls == [20]  # two members read aligned faces
    assert np.array_equal(labels, expected[0]) and np.array_equal(scores, expected[1])


def test_float16_rows_are_stored_in_half_the_bytes_and_computed_with_as_before(runs):
    """``float16_rows``: the SVM's rows are float16 values, so its support vectors are stored as float16 in
    the predictor and in model.skops (restored to float64 on loading): half the bytes of float32; and
    ``pca_precision``: the PCA basis, rounded, is stored in float16 (float64 as fitted) or float32."""
    model, _ = load_run(runs / "svm-float16")  # temperature scaling around the pipeline
    svc = model.classifier.steps[-1][1]
    assert svc.support_vectors_.dtype == np.float64
    assert np.array_equal(svc.support_vectors_.astype(np.float16), svc.support_vectors_)
    predictor, _ = load_run_labeller(runs / "svm-float16")
    vectors = predictor.spec["model"]["inner"]["classifier"]["support_vectors"]
    with np.load(runs / "svm-float16" / PREDICTOR_FILE) as npz:
        assert npz[vectors["array"]].dtype == np.float16
    assert "float16" in [s["kind"] for s in predictor.spec["model"]["inner"]["steps"]]
    for name, stored in (("svm-float16", np.float16), ("mlp-basis32", np.float32)):
        predictor, _ = load_run_labeller(runs / name)
        model, _ = load_run(runs / name)
        steps = predictor.spec["model"]["steps"] if name == "mlp-basis32" else predictor.spec["model"]["inner"]["steps"]
        pca = next(s for s in steps if s["kind"] == "pca")
        with np.load(runs / name / PREDICTOR_FILE) as npz:
            assert npz[pca["components"]["array"]].dtype == stored
        fitted = model.named_steps["pca"] if name == "mlp-basis32" else model.classifier.named_steps["pca"]
        assert fitted.components_.dtype == np.float64 and type(fitted).__name__ == "RoundedPCA"


def test_rows_on_an_int8_grid_are_stored_as_int8_and_computed_with_as_before(runs):
    """``int8_rows``: what the SVM and local learning keep of their rows is stored as int8 numbers and a
    step per column, in the predictor and in model.skops (restored to the fitted values on loading: the
    labels test above compares both with the run's own predictions)."""
    import skops.io as sio

    for name, kept in (("svm-int8", "support_vectors"), ("local-int8", "rows")):
        predictor, _ = load_run_labeller(runs / name)
        pipeline = predictor.spec["model"]["inner"]  # inside temperature scaling (and mirror averaging)
        pipeline = pipeline.get("inner", pipeline)
        clf = pipeline["classifier"]
        with np.load(runs / name / PREDICTOR_FILE) as npz:
            stored = npz[clf[kept]["array"]]
            steps = npz[clf["sv_steps" if kept == "support_vectors" else "rows_steps"]["array"]]
        assert stored.dtype == np.int8 and steps.shape == (stored.shape[1],) and np.abs(stored).max() == 127
        assert "int8" in [s["kind"] for s in pipeline["steps"]]
        model, _ = load_run(runs / name)
        final = getattr(model.classifier, "pipeline_", model.classifier).steps[-1][1]
        fitted = final.support_vectors_ if kept == "support_vectors" else final._fit_X
        assert np.array_equal(fitted, (stored.astype(np.float32) * steps).astype(fitted.dtype))
        saved = sio.load(runs / name / "model.skops", trusted=sio.get_untrusted_types(file=runs / name / "model.skops"))
        grids = [entry for entry in saved["compact_arrays"] if len(entry) == 3]  # [path, dtype, steps]
        assert [entry[0][-1] for entry in grids] == ["support_vectors_" if kept == "support_vectors" else "_fit_X"]
        assert np.array_equal(grids[0][2], steps)


def test_faces_aligned_by_another_process_are_used_as_the_predictor_would_align_them(runs, test_faces, monkeypatch):
    """`predict`'s aligner process also aligns the faces as a run's aligned members do (where dlib's shape
    predictor is loaded already); the predictor, and a model through its aligners' cache, then use them:
    the same labels and scores, no alignment."""
    import fer_classic.faces as faces
    from fer_classic.apply.face_finding import align_detected, detect_in_photo
    from fer_classic.features import alignment

    photo = _photo(runs / "photos")
    item = align_detected([detect_in_photo(photo, size=48)], 48, realign=48)[0]
    assert np.array_equal(np.stack(item["realigned"]), faces.align_whole_images(item["faces"], 48))
    predictor, _ = load_run_labeller(runs / "ensemble")
    model = ModelLabeller(load_run(runs / "ensemble")[0])
    found, realigned = np.stack(item["faces"]), {48: np.stack(item["realigned"])}
    expected = [labeller.labels_and_scores(found) for labeller in (predictor, model)]
    alignment._aligned.clear()  # the model's aligners keep what they aligned
    monkeypatch.setattr(faces, "align_whole_images", lambda images, size: pytest.fail("aligned again"))
    for labeller, (labels, scores) in zip((predictor, model), expected):
        given = labeller.labels_and_scores(found, aligned=realigned)
        assert np.array_equal(given[0], labels) and np.array_equal(given[1], scores)


def test_a_knn_predictor_keeps_pixel_rows_as_bytes_and_replays_tied_neighbours(runs, test_faces):
    """Raw pixels: the rows stored as bytes, and the model's labels and scores on the test faces whose 9th
    and 10th neighbours are equally far (scikit-learn's choice among them replayed) and on forty others
    (an exhaustive search per face: a subset keeps the test quick)."""
    from fer_classic.models.mirror import class_scores, predict_labels
    from fer_classic.models.neighbours import kneighbors

    model, _ = load_run(runs / "knn-raw")
    predictor, _ = load_run_labeller(runs / "knn-raw")
    rows = predictor.spec["model"]["classifier"]["rows"]
    with np.load(runs / "knn-raw" / PREDICTOR_FILE) as npz:
        assert npz[rows["array"]].dtype == np.uint8
    dist, _ = kneighbors(model.steps[-1][1]._fit_X, test_faces.reshape(len(test_faces), -1).astype(np.float64), 10, 2)
    tied = np.flatnonzero(dist[:, 8] == dist[:, 9])
    assert tied.size
    faces = test_faces[np.r_[tied, np.arange(40)]]
    assert np.array_equal(predictor.predict(faces), predict_labels(model, faces))
    np.testing.assert_allclose(predictor.class_scores(faces), class_scores(model, faces), atol=1e-12)


def test_a_model_without_a_numpy_form_says_why_and_labels_through_its_model(runs, test_faces):
    metrics = json.loads((runs / "mlp-logistic" / "metrics.json").read_text())
    assert metrics["predictor"] == {"absent": "MLPClassifier has no numpy form"}
    assert not (runs / "mlp-logistic" / PREDICTOR_FILE).exists()
    labeller, _ = load_run_labeller(runs / "mlp-logistic")
    model, _ = load_run(runs / "mlp-logistic")
    assert np.array_equal(labeller.predict(test_faces), model.predict(test_faces))
    from fer_classic.models.mirror import class_scores

    labels, scores = labeller.labels_and_scores(test_faces)
    assert np.array_equal(labels, model.predict(test_faces)) and np.array_equal(scores, class_scores(model, test_faces))


def test_a_changed_or_broken_predictor_file_is_refused(runs, tmp_path):
    copy = tmp_path / "svm"
    shutil.copytree(runs / "svm", copy)
    recorded = json.loads((copy / "metrics.json").read_text())["predictor"]["sha256"]
    path = copy / PREDICTOR_FILE
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 1
    path.write_bytes(bytes(raw))
    with pytest.raises(RunError, match="SHA-256 does not match"):
        load_predictor(path, recorded)
    path.write_bytes(b"not a zip")
    import hashlib

    with pytest.raises(RunError, match="not a readable predictor file"):
        load_predictor(path, "sha256:" + hashlib.sha256(b"not a zip").hexdigest())
    result = run("predict", copy, tmp_path, "--no-detect")
    assert result.exit_code == 1 and "predictor.npz" in result.output
    # a run whose predictor was deleted (to save room) labels through its model
    path.unlink()
    labeller, _ = load_run_labeller(copy)
    assert type(labeller).__name__ == "ModelLabeller"


def _photo(folder):
    folder.mkdir(exist_ok=True)
    Image.fromarray(data.astronaut()).save(folder / "astronaut.jpg", quality=95)
    return folder / "astronaut.jpg"


def test_a_fresh_command_labels_photos_with_the_predictor_without_scikit_learn(runs, tmp_path):
    """`fer-classic predict` in a new process, on a run with a predictor: the table is the one the
    scikit-learn model gives, and scikit-learn is never imported (local learning's RBF SVMs included:
    libsvm's library directly). The faces' landmarks come from the second process (the ensemble's aligned
    members: twice), which did not fail (its debug lines)."""
    photo = _photo(tmp_path / "photos")
    out = tmp_path / "fresh.csv"
    probe = ("import sys; sys.argv = ['fer-classic', *sys.argv[1:]]; from fer_classic.console import main; "
             "import atexit; atexit.register(lambda: print('sklearn imported:', 'sklearn' in sys.modules, "
             "file=sys.stderr)); main()")
    for name in ("svm", "ensemble", "local-int8"):
        done = subprocess.run([sys.executable, "-c", probe, "predict", str(runs / name), str(photo), "-o", str(out),
                               "-v"], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert "sklearn imported: False" in done.stderr
        assert "second process" not in done.stderr, done.stderr
        fresh = pd.read_csv(out)
        # the same photo through the run's scikit-learn model: a copy of the run without its predictor
        copy = tmp_path / f"{name}-model-only"
        shutil.copytree(runs / name, copy, dirs_exist_ok=True)
        metrics = json.loads((copy / "metrics.json").read_text())
        metrics["predictor"] = {"absent": "removed for the test"}
        (copy / "metrics.json").write_text(json.dumps(metrics))
        from fer_classic.apply.photos import predict_photos

        expected = predict_photos(copy, [photo])
        assert list(fresh["label"]) == list(expected["label"]) and len(fresh) >= 1
        scores = [c for c in fresh if c.startswith("probability_")]
        np.testing.assert_allclose(fresh[scores].to_numpy(), expected[scores].to_numpy(float), atol=2e-4)


def test_a_run_trained_before_its_model_had_a_predictor_gets_one(runs, test_faces, tmp_path):
    """Local learning had no numpy form before: ``add_predictor`` writes the one ``train`` writes now, from
    the run's model, and records it; the predictor gives the model's labels."""
    from fer_classic.runs.folders import add_predictor

    old = tmp_path / "local"
    shutil.copytree(runs / "local", old)
    (old / PREDICTOR_FILE).unlink()
    metrics = json.loads((old / "metrics.json").read_text())
    metrics["predictor"] = {"absent": "LocalLearningClassifier has no numpy form"}
    (old / "metrics.json").write_text(json.dumps(metrics))
    assert type(load_run_labeller(old)[0]).__name__ == "ModelLabeller"
    entry = add_predictor(old)
    assert entry == json.loads((runs / "local" / "metrics.json").read_text())["predictor"]  # the same file
    predictor, metrics = load_run_labeller(old)
    assert type(predictor).__name__ == "Predictor" and metrics["predictor"] == entry
    assert np.array_equal(predictor.predict(test_faces[:30]), load_run(old)[0].predict(test_faces[:30]))
    assert add_predictor(old) == entry  # a run with its predictor is left as it is
