import json
import shutil

import numpy as np
import pandas as pd
import pytest

from fer_classic.apply.evaluate import image_pipelines
from fer_classic.runs.folders import load_run

from .conftest import run


@pytest.fixture(scope="module")
def knn_run(sample_features, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "knn"
    result = run("train", sample_features, "-f", "hist,lbp", "-m", "knn", "--grid", "--pca", "20", "-o", out)
    assert result.exit_code == 0, result.output
    return out


def test_knn_grid_run_writes_every_output(knn_run):
    metrics = json.loads((knn_run / "metrics.json").read_text())
    for key in ("accuracy", "balanced_accuracy", "macro_f1", "per_class", "confusion_matrix", "labels",
                "protocol", "test_split", "split_sizes", "best_params", "fit_seconds", "predict_seconds",
                "features", "dataset_fingerprint", "versions", "model_sha256", "command"):
        assert key in metrics, key
    assert metrics["protocol"] == "usage" and metrics["test_split"] == "PublicTest"
    assert metrics["split_sizes"] == {"fit": 2584, "validation": 288, "refit": 2872, "test": 361}
    assert metrics["features"] == ["hist", "lbp"] and metrics["feature_dims"] == {"hist": 32, "lbp": 360}
    assert metrics["pca_components"] == 20
    assert set(metrics["per_class"]) == set(metrics["labels"])
    assert sum(map(sum, metrics["confusion_matrix"])) == 361 == metrics["n_test"]
    grid = pd.read_csv(knn_run / "grid.csv")
    assert len(grid) == 30 and grid["selected"].sum() == 1
    best = grid[grid["selected"]].iloc[0]
    assert best["validation_accuracy"] == grid["validation_accuracy"].max()
    assert {"k": best["k"], "weights": best["weights"], "p": best["p"]} == metrics["best_params"]
    assert "test_accuracy_not_used_for_selection" in grid
    cm = pd.read_csv(knn_run / "confusion_matrix.csv", index_col=0)
    assert cm.values.tolist() == metrics["confusion_matrix"]
    for png in ("confusion_matrix.png", "knn_accuracy_vs_k.png"):
        assert (knn_run / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_same_seed_same_numbers(knn_run, sample_features, tmp_path):
    again = tmp_path / "again"
    run("train", sample_features, "-f", "hist,lbp", "-m", "knn", "--grid", "--pca", "20", "-o", again, "-q")
    a, b = (json.loads((d / "metrics.json").read_text()) for d in (knn_run, again))
    for key in ("accuracy", "confusion_matrix", "best_params", "split_sizes"):
        assert a[key] == b[key]
    assert pd.read_csv(knn_run / "grid.csv").drop(columns="fit_seconds").equals(
        pd.read_csv(again / "grid.csv").drop(columns="fit_seconds"))


def test_evaluate_reproduces_the_test_accuracy_from_the_images(knn_run, sample_path, tmp_path):
    out = tmp_path / "eval.json"
    result = run("evaluate", knn_run, sample_path, "--split", "PublicTest", "-o", out, "-q")
    assert result.exit_code == 0, result.output
    evaluation = json.loads(out.read_text())
    metrics = json.loads((knn_run / "metrics.json").read_text())
    assert evaluation["n"] == 361 and evaluation["accuracy"] == pytest.approx(metrics["accuracy"])
    assert evaluation["confusion_matrix"] == metrics["confusion_matrix"]


def test_evaluate_reports_classes_the_model_never_saw(knn_run, class_folders):
    result = run("evaluate", knn_run, class_folders, "-q")
    assert result.exit_code == 0
    evaluation = json.loads(result.stdout)
    assert evaluation["unseen_classes"] == {"contempt": 2}
    assert "contempt" in evaluation["labels"] and evaluation["per_class"]["contempt"]["recall"] == 0


@pytest.mark.parametrize("model, extra", [
    ("svm", ["--kernel", "linear", "--C", "0.1", "--class-weight", "balanced"]),
    ("rf", ["--trees", "20", "--max-depth", "8"]),
])
def test_svm_and_forest_runs(sample_features, tmp_path, model, extra):
    result = run("train", sample_features, "-f", "hog", "-m", model, "--pca", "0.9", "-o", tmp_path / model, *extra)
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / model / "metrics.json").read_text())
    assert 0.2 < metrics["accuracy"] < 0.8  # clearly above chance (1/7) on 361 real faces
    model_, _ = load_run(tmp_path / model)
    pipeline = image_pipelines(model_)[0]
    assert [name for name, _ in pipeline.steps] == ["descriptors", "float64", "scaler", "pca", "classifier"]


def test_a_run_stored_in_half_precision(sample_features, sample, tmp_path):
    """--pca-precision float16 --float16-rows: an RBF SVM whose basis and support vectors are float16
    numbers, stored so, and labelled by its predictor as by its model."""
    from fer_classic.runs.folders import load_run_labeller

    result = run("train", sample_features, "-f", "hog", "-m", "svm", "--pca", "40", "--pca-precision", "float16",
                 "--float16-rows", "-o", tmp_path / "half")
    assert result.exit_code == 0, result.output
    spec = json.loads((tmp_path / "half" / "metrics.json").read_text())["spec"]
    assert spec["pca_precision"] == "float16" and spec["float16_rows"]
    model, _ = load_run(tmp_path / "half")
    pipeline = image_pipelines(model)[0]
    assert [name for name, _ in pipeline.steps] == ["descriptors", "float64", "scaler", "pca", "float16", "classifier"]
    basis, vectors = pipeline.named_steps["pca"].components_, pipeline.named_steps["classifier"].support_vectors_
    assert all(np.array_equal(a.astype(np.float16), a) for a in (basis, vectors))
    predictor, _ = load_run_labeller(tmp_path / "half")
    faces = sample.images[sample.usage == "PublicTest"][:60]
    labels = predictor.predict(faces)
    assert np.array_equal(labels, model.predict(faces)) and len(set(labels)) > 2


def test_a_run_on_an_int8_grid(sample_features, sample, tmp_path):
    """--int8-rows: an RBF SVM whose support vectors are whole numbers of a step per column, at most 127
    of them, labelled by its predictor as by its model."""
    from fer_classic.runs.folders import load_run_labeller

    result = run("train", sample_features, "-f", "hog", "-m", "svm", "--pca", "40", "--int8-rows",
                 "-o", tmp_path / "int8")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "int8" / "metrics.json").read_text())["spec"]["int8_rows"]
    model, _ = load_run(tmp_path / "int8")
    pipeline = image_pipelines(model)[0]
    assert [name for name, _ in pipeline.steps] == ["descriptors", "float64", "scaler", "pca", "int8", "classifier"]
    steps, vectors = pipeline.named_steps["int8"].steps_, pipeline.named_steps["classifier"].support_vectors_
    counts = vectors / steps
    assert np.array_equal(counts, np.rint(counts)) and np.abs(counts).max() == 127
    predictor, _ = load_run_labeller(tmp_path / "int8")
    faces = sample.images[sample.usage == "PublicTest"][:60]
    labels = predictor.predict(faces)
    assert np.array_equal(labels, model.predict(faces)) and len(set(labels)) > 2


def test_mlp_records_curves_and_convergence_rates(sample_features, tmp_path):
    out = tmp_path / "mlp"
    result = run("train", sample_features, "-f", "hog", "-m", "mlp", "--hidden", "64,32", "--epochs", "12",
                 "--activation", "tanh", "--pca", "40", "-o", out, "-q")
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    curves = metrics["learning_curves"]
    assert len(curves["train_accuracy"]) == 12 == len(curves["validation_loss"])
    assert curves["train_accuracy"][-1] > curves["train_accuracy"][0]
    rates = metrics["convergence"]["accuracy"]
    assert [r["epochs"] for r in rates] == ["1-5", "6-10", "11-15"]
    tr = curves["train_accuracy"]
    assert rates[0]["mcr"] == pytest.approx(np.mean(np.diff(tr[:5])))
    assert (out / "mlp_curves.png").exists() and len(pd.read_csv(out / "mlp_curves.csv")) == 12


def test_mlp_early_stopping_keeps_the_best_epoch(sample_features, tmp_path):
    out = tmp_path / "mlp"
    run("train", sample_features, "-f", "raw", "-m", "mlp", "--hidden", "256", "--epochs", "60",
        "--learning-rate", "0.01", "--early-stopping", "true", "--pca", "100", "-o", out, "-q")
    metrics = json.loads((out / "metrics.json").read_text())
    val = metrics["learning_curves"]["validation_accuracy"]
    assert len(val) < 60 and metrics["best_epoch"] == int(np.argmax(val)) + 1


def test_kfold_on_a_small_dataset(class_folders, tmp_path):
    feats = tmp_path / "f"
    assert run("extract", class_folders, "-o", feats, "-f", "lbp", "-q",
               "--classes", "happy,sad,angry").exit_code == 0
    result = run("train", feats, "-f", "lbp", "-m", "knn", "--k", "1", "--protocol", "kfold", "--folds", "3",
                 "-o", tmp_path / "run")
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["protocol"] == "kfold" and len(metrics["folds"]) == 3
    assert metrics["accuracy_mean"] == pytest.approx(np.mean([f["accuracy"] for f in metrics["folds"]]))


def test_grid_from_a_yaml_file(sample_features, tmp_path):
    grid = tmp_path / "grid.yaml"
    grid.write_text("knn:\n  k: [1, 5]\n  p: [2]\n")
    result = run("train", sample_features, "-f", "hist", "-m", "knn", "--grid", grid, "-o", tmp_path / "r")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "r" / "grid.csv")
    assert table[["k", "p"]].values.tolist() == [[1, 2], [5, 2]]


@pytest.mark.parametrize("args, message", [
    (["-m", "svm", "--k", "3"], "svm takes no --k"),
    (["-m", "knn", "--weights", "heavy"], "'heavy' is not one of uniform, distance"),
    (["-m", "knn", "--pca", "1.5"], "a count must be a whole number"),
    (["-m", "knn", "--class-weight", "balanced"], "not supported by knn"),
    (["-m", "knn", "--features", "sift"], "unknown descriptor sift"),
    (["-m", "knn", "--pca-precision", "float16"], "pca_precision must be one of float32, float16, with a PCA"),
    (["-m", "knn", "--pca", "10", "--pca-precision", "half"], "'half' is not one of 'float32', 'float16'"),
    (["-m", "knn", "--float16-rows", "--int8-rows"], "give --float16-rows or --int8-rows, not both"),
    (["-m", "knn", "--no-refit"], "--no-refit is for ensembles (--preset best, compact); knn hist is a single model"),
])
def test_usage_errors(sample_features, tmp_path, args, message):
    argv = ["train", sample_features, "-f", "hist", *args, "-o", tmp_path / "r"]
    result = run(*argv)
    assert result.exit_code == 2 and message in result.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("text, message", [
    ("k: [1, 3]\nneighbours: [2]\n", "knn has no parameter neighbours"),
    ("k: [1, 3\n", "not valid YAML/JSON"),
    ("k: 3\n", "non-empty list of values"),
])
def test_bad_grid_files_exit_2(sample_features, tmp_path, text, message):
    grid = tmp_path / "grid.yaml"
    grid.write_text(text)
    result = run("train", sample_features, "-f", "hist", "-m", "knn", "--grid", grid, "-o", tmp_path / "r")
    assert result.exit_code == 2 and message in result.stderr


def test_missing_descriptor_and_mismatched_files(sample_features, tmp_path, split_folders):
    result = run("train", sample_features, "-f", "hist", "-m", "knn", "-o", tmp_path / "r")
    assert result.exit_code == 0
    partial = tmp_path / "partial"
    run("extract", split_folders, "-o", partial, "-f", "hist", "-q")
    result = run("train", partial, "-f", "hist,lbp", "-m", "knn", "-o", tmp_path / "r2")
    assert result.exit_code == 1 and "no 'lbp' features" in result.stderr
    mixed = tmp_path / "mixed"
    shutil.copytree(sample_features, mixed)
    shutil.copy(partial / "hist.npz", mixed / "hist.npz")
    result = run("train", mixed, "-f", "hist", "-m", "knn", "-o", tmp_path / "r3")
    assert result.exit_code == 1 and "does not match its manifest entry" in result.stderr


def test_existing_run_needs_force(knn_run, sample_features):
    before = (knn_run / "metrics.json").read_text()
    result = run("train", sample_features, "-f", "hist", "-m", "knn", "-o", knn_run)
    assert result.exit_code == 1 and "already exists (use --force" in result.stderr
    assert (knn_run / "metrics.json").read_text() == before


def test_interrupted_run_leaves_nothing_that_looks_complete(sample_features, tmp_path, monkeypatch):
    import fer_classic.runs.record as record
    from fer_classic.training import TrainSpec, train_run

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(record, "save_model", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train_run(sample_features, tmp_path / "run", TrainSpec(["hist"], "knn"))
    assert list(tmp_path.iterdir()) == []


def test_model_files_are_checked_before_loading(knn_run, tmp_path, sample_path):
    copy = tmp_path / "copy"
    shutil.copytree(knn_run, copy)
    model = copy / "model.skops"
    data = bytearray(model.read_bytes())
    data[-10] ^= 0xFF
    model.write_bytes(bytes(data))
    (copy / "predictor.npz").unlink()  # evaluate would use the predictor, never opening model.skops
    metrics = json.loads((copy / "metrics.json").read_text())
    del metrics["predictor"]
    (copy / "metrics.json").write_text(json.dumps(metrics))
    result = run("evaluate", copy, sample_path)
    assert result.exit_code == 1 and "SHA-256 does not match" in result.stderr

    shutil.copy(knn_run / "model.skops", model)
    metrics["versions"]["scikit-learn"] = "0.19.0"
    (copy / "metrics.json").write_text(json.dumps(metrics))
    result = run("evaluate", copy, sample_path)
    assert result.exit_code == 1 and "saved with scikit-learn 0.19.0" in result.stderr


class Untrusted:
    """Stands for any type a shared model file could smuggle in."""

    constructed = 0

    def __setstate__(self, state):
        type(self).constructed += 1


def test_untrusted_types_are_refused(knn_run, tmp_path):
    import skops.io as sio

    from fer_classic.runs.folders import RunError, load_run
    from fer_classic.store import file_sha256

    copy = tmp_path / "copy"
    shutil.copytree(knn_run, copy)
    sio.dump({"payload": Untrusted()}, copy / "model.skops")
    metrics = json.loads((copy / "metrics.json").read_text())
    metrics["model_sha256"] = file_sha256(copy / "model.skops")
    (copy / "metrics.json").write_text(json.dumps(metrics))
    with pytest.raises(RunError, match="not trusted.*tests.test_cli_train.Untrusted"):
        load_run(copy)
    assert Untrusted.constructed == 0  # refused before anything in the file was built

    (copy / "model.skops").write_bytes(b"not a zip file")
    metrics["model_sha256"] = file_sha256(copy / "model.skops")
    (copy / "metrics.json").write_text(json.dumps(metrics))
    with pytest.raises(RunError, match="not a readable skops model file"):
        load_run(copy)


def test_a_killed_training_run_cleans_up(sample_features, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "fer_classic", "train", str(sample_features), "-f", "raw", "-m",
                             "knn", "--grid", "--pca", "none", "-o", str(out), "-q"])
    deadline = time.time() + 60
    while time.time() < deadline and not any(p.name.startswith(".run.") for p in tmp_path.iterdir()):
        time.sleep(0.05)
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=60) != 0
    assert list(tmp_path.iterdir()) == []


def test_loading_skips_skops_estimator_scan(knn_run):
    """A fresh process loads a run without skops's scan of every scikit-learn module (which imports
    sklearn.utils._testing, and pytest with it)."""
    import subprocess
    import sys

    probe = ("import sys; from fer_classic.runs.folders import load_run; load_run(sys.argv[1]); "
             "print('sklearn.utils._testing' in sys.modules, 'sklearn.svm' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe, str(knn_run)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True"]


def test_evaluate_scores_the_runs_test_split_unless_told_otherwise(knn_run, sample_path, tmp_path):
    default, everything = tmp_path / "default.json", tmp_path / "all.json"
    assert run("evaluate", knn_run, sample_path, "-o", default, "-q").exit_code == 0
    assert run("evaluate", knn_run, sample_path, "--split", "all", "-o", everything, "-q").exit_code == 0
    default, everything = json.loads(default.read_text()), json.loads(everything.read_text())
    assert (default["split"], default["n"]) == ("PublicTest", 361)
    assert (everything["split"], everything["n"]) == ("all images", 3233)
    assert default["confusion_matrix"] == json.loads((knn_run / "metrics.json").read_text())["confusion_matrix"]


def test_a_preset_refuses_the_settings_it_fixes_naming_them(sample_features, tmp_path):
    result = run("train", sample_features, "--preset", "svm-hog", "--pca", "50", "--C", "3", "--no-scale",
                 "--no-calibrate", "--seed", "7", "-o", tmp_path / "run")
    assert result.exit_code == 2
    assert "--preset sets the whole pipeline; drop --params" not in result.output
    for flag in ("--pca", "--C", "--no-scale", "--no-calibrate"):
        assert flag in result.output
    assert "--seed" not in result.output.split("drop")[1]


def test_baseline_entries_may_set_every_train_spec_setting():
    from dataclasses import fields

    from fer_classic.suite import SPEC_KEYS
    from fer_classic.training import TrainSpec

    assert set(SPEC_KEYS) == {f.name for f in fields(TrainSpec)}
