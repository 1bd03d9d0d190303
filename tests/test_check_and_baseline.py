import json

import pytest

from fer_classic.pipelines import named_pipeline, standard_suite
from fer_classic.suite import plan_feature_folders

from .conftest import REPO, run, write_images


def _baseline(path, pipelines, tolerance=0.01):
    path.write_text(json.dumps({"format": "fer-classic-baseline/1", "tolerance": tolerance, "pipelines": pipelines}))
    return path


SMALL = [{"name": "knn-lbp", "features": ["lbp"], "model": "knn", "params": {"k": 5}, "pca": None},
         {"name": "svm-hist", "features": ["hist"], "model": "svm", "params": {"kernel": "linear", "C": 1.0}}]


@pytest.fixture(scope="module")
def small_data(tmp_path_factory, sample):
    """A fifth of the embedded sample as class folders with usage prefixes, for quick checks (517 faces
    to fit on: more than the 450 principal components of best's aligned filter-bank member)."""
    root = tmp_path_factory.mktemp("small")
    for i in range(0, len(sample), 5):
        usage = sample.usage[i]
        folder = root / ("train" if usage == "Training" else "test") / sample.class_names[sample.labels[i]]
        write_images(folder, [sample.images[i]], prefix=f"{usage}_{i}")
    return root


def test_update_records_then_check_passes(tmp_path, small_data):
    path = _baseline(tmp_path / "b.json", SMALL)
    result = run("check", small_data, "--baseline", path, "--update", "-q")
    assert result.exit_code == 0, result.output
    doc = json.loads(path.read_text())
    assert all(0.1 < p["accuracy"] < 0.9 for p in doc["pipelines"])
    assert doc["dataset_fingerprint"].startswith("sha256:") and "scikit-learn" in doc["versions"]
    result = run("check", small_data, "--baseline", path, "-q")
    assert result.exit_code == 0 and result.stdout.count(" ok") == 2


def test_the_gate_fails_when_accuracy_drops(tmp_path, small_data):
    path = _baseline(tmp_path / "b.json", SMALL)
    run("check", small_data, "--baseline", path, "--update", "-q")
    doc = json.loads(path.read_text())
    doc["pipelines"][1]["accuracy"] = min(1.0, doc["pipelines"][1]["accuracy"] + 0.05)  # a baseline we no longer reach
    path.write_text(json.dumps(doc))
    result = run("check", small_data, "--baseline", path, "-q")
    assert result.exit_code == 1
    assert "svm-hist" in result.stdout and "REGRESSED" in result.stdout and "accuracy regressed" in result.stderr
    assert run("check", small_data, "--baseline", path, "--tolerance", "0.2", "-q").exit_code == 0


@pytest.mark.parametrize("content, message", [
    ("{not json", "not a valid baseline file"),
    ('{"format": "other", "pipelines": []}', "expected a JSON object"),
    ('{"format": "fer-classic-baseline/1", "pipelines": []}', "non-empty list"),
    ('{"format": "fer-classic-baseline/1", "pipelines": [{"name": "a", "features": ["sift"], "model": "knn"}]}',
     "unknown descriptor sift"),
    ('{"format": "fer-classic-baseline/1", "pipelines": [{"name": "a", "features": ["hog"], "model": "tree"}]}',
     "unknown model 'tree'"),
    ('{"format": "fer-classic-baseline/1", "pipelines": [{"name": "a", "features": ["hog"], "model": "svm", '
     '"mirror": "sideways"}]}', "mirror must be one of"),
    ('{"format": "fer-classic-baseline/1", "pipelines": [{"name": "a", "features": ["hog"], "model": "knn", '
     '"params": {"depth": 3}}]}', "knn has no parameter depth"),
    ('{"format": "fer-classic-baseline/1", "pipelines": [{"name": "a", "features": ["hog"], "model": "knn", '
     '"accuracy": 7}]}', "between 0 and 1"),
])
def test_malformed_baseline_files_exit_2(tmp_path, content, message):
    path = tmp_path / "b.json"
    path.write_text(content)
    result = run("check", "--baseline", path, "-q")
    assert result.exit_code == 2 and message in result.stderr


def test_the_committed_baseline_is_valid():
    from fer_classic.suite import read_baseline

    doc, pipelines = read_baseline(REPO / "reports" / "baseline.json")
    assert len(pipelines) >= 3 and all(acc is not None for _, acc in pipelines)


def test_standard_suite_extracts_each_descriptor_once():
    suite = standard_suite()
    folders, where = plan_feature_folders(suite)
    assert len(folders) == 1 and set(folders[0]) == {"raw", "hist", "hog", "lbp", "landmarks", "bovw", "filterbank"}
    assert folders[0]["filterbank"] == {"centroids": 1000, "pool": 3}  # the preset's parameters
    assert {p.spec.model for p in suite} == {"knn", "mlp", "svm", "rf", "ensemble"}


def test_aligned_pipelines_get_their_own_features_folder():
    aligned = named_pipeline("best-aligned")
    assert aligned.align and "--align" in aligned.extract_arguments()
    assert "--align" not in named_pipeline("best").extract_arguments()
    folders, where = plan_feature_folders([named_pipeline("svm-hog"), named_pipeline("best"), aligned])
    assert len(folders) == 2 and where["svm-hog"] == where["best"] != where["best-aligned"]


def test_baseline_command_runs_the_suite_and_writes_the_report(tmp_path, small_data):
    out = tmp_path / "bl"
    result = run("baseline", small_data, "-o", out, "-q")
    assert result.exit_code == 0, result.output
    names = {p.name for p in standard_suite()}
    assert {d.name for d in (out / "runs").iterdir()} == names
    md = (out / "report.md").read_text()
    assert all(f"| {n} |" in md for n in names) and "minutes of wall time" in md
    assert (out / "report.html").is_file()
    manifest = json.loads((out / "features" / "manifest.json").read_text())
    assert "mirror_file" in manifest["descriptors"]["bovw"] and "mirror_file" not in manifest["descriptors"]["raw"]
    # The feature files are gone once the runs are complete; manifests and learned states stay.
    assert sorted(p.name for p in (out / "features").rglob("*.npz") if not p.name.endswith(".state.npz")) == []
    assert (out / "features" / "aligned" / "manifest.json").is_file()
    assert (out / "features" / "filterbank.state.npz").is_file()
    # A run with a predictor keeps that alone (it labels alike): every run, best (local learning) too.
    for n in names:
        assert (out / "runs" / n / "predictor.npz").is_file() and not (out / "runs" / n / "model.skops").is_file(), n
    # evaluate labels through the predictor: the run's own accuracy on its test images.
    result = run("evaluate", out / "runs" / "svm-hog", small_data, "--split", "PublicTest", "-o", tmp_path / "e.json")
    assert result.exit_code == 0, result.output
    recorded = json.loads((out / "runs" / "svm-hog" / "metrics.json").read_text())
    evaluated = json.loads((tmp_path / "e.json").read_text())
    assert evaluated["n"] == recorded["n_test"] and evaluated["accuracy"] == recorded["accuracy"]

    # Run again: every run is up to date and kept, nothing is extracted; the wall time adds up both.
    created = {n: json.loads((out / "runs" / n / "metrics.json").read_text())["created"] for n in names}
    result = run("baseline", small_data, "-o", out)
    assert result.exit_code == 0, result.output
    assert result.output.count("up to date in") == len(names) and "extracting" not in result.output
    assert created == {n: json.loads((out / "runs" / n / "metrics.json").read_text())["created"] for n in names}
    assert len(json.loads((out / "wall_time.json").read_text())["invocations_seconds"]) == 2


def test_a_run_from_before_a_setting_existed_counts_as_done(sample_features, tmp_path):
    from fer_classic.suite import finished_run
    from fer_classic.training import TrainSpec, train_run

    spec = TrainSpec(["hist"], "knn", params={"k": 3}, scale=False)
    train_run(sample_features, tmp_path / "r", TrainSpec(["hist"], "knn", params={"k": 3}, scale=False))
    assert finished_run(tmp_path / "r", spec, sample_features) is not None
    metrics_path = tmp_path / "r" / "metrics.json"
    metrics = json.loads(metrics_path.read_text())
    del metrics["spec"]["mirror"], metrics["spec"]["dtype"]  # written by an older fer-classic
    metrics_path.write_text(json.dumps(metrics))
    assert finished_run(tmp_path / "r", spec, sample_features) is not None
    assert finished_run(tmp_path / "r", TrainSpec(["hist"], "knn", params={"k": 5}, scale=False), sample_features) is None
    assert finished_run(tmp_path / "r", TrainSpec(["hist"], "knn", params={"k": 3}, scale=False, mirror="train"),
                        sample_features) is None


def test_the_suite_removes_its_feature_files_only_when_asked_and_makes_them_again_the_same(tmp_path, sample):
    from fer_classic.errors import FeatureStoreError
    from fer_classic.features.extraction import manifest_describes
    from fer_classic.store import FeatureDirectory, file_sha256
    from fer_classic.suite import run_pipelines

    knn_hist = named_pipeline("knn-hist")
    work = tmp_path / "suite"
    first = run_pipelines(sample, [knn_hist], work, n_jobs=1, keep_features=False)
    assert (work / "runs" / "knn-hist" / "model.skops").is_file()  # kept unless asked
    manifest = json.loads((work / "features" / "manifest.json").read_text())
    assert not (work / "features" / "hist.npz").exists()
    with pytest.raises(FeatureStoreError, match="unless --keep-features"):
        FeatureDirectory(work / "features").load("hist")
    # Complete: kept without its features. Retrained with --force (or other descriptor parameters),
    # extracting the same features again; kept when asked.
    assert run_pipelines(sample, [knn_hist], work, n_jobs=1)["knn-hist"]["created"] == first["knn-hist"]["created"]
    assert not (work / "features" / "hist.npz").exists()
    again = run_pipelines(sample, [knn_hist], work, n_jobs=1, force=True)
    assert file_sha256(work / "features" / "hist.npz") == manifest["descriptors"]["hist"]["sha256"]
    assert again["knn-hist"]["accuracy"] == first["knn-hist"]["accuracy"]
    # Features of other parameters (or other data) are not those the run was trained on.
    fingerprint = sample.fingerprint()
    assert manifest_describes(work / "features", fingerprint, {"hist": {}})
    assert not manifest_describes(work / "features", fingerprint, {"hist": {"bins": 16}})
    assert not manifest_describes(work / "features", fingerprint, {"hist": {}}, align=True)
    assert not manifest_describes(work / "features", "sha256:other", {"hist": {}})


def test_the_suite_removes_the_model_file_of_a_run_with_a_predictor_only_when_asked(tmp_path, sample):
    from fer_classic.errors import RunError
    from fer_classic.runs.folders import load_run, load_run_labeller
    from fer_classic.suite import run_pipelines

    work = tmp_path / "suite"
    run_pipelines(sample, [named_pipeline("knn-hist")], work, n_jobs=1, keep_models=False)
    run_dir = work / "runs" / "knn-hist"
    assert (run_dir / "predictor.npz").is_file() and not (run_dir / "model.skops").exists()
    with pytest.raises(RunError, match="unless --keep-models"):
        load_run(run_dir)
    labeller, _ = load_run_labeller(run_dir)  # the predictor, the model being gone
    assert type(labeller).__name__ == "Predictor"
