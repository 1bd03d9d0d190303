import json

import pytest

from fer_classic.suite import plan_feature_folders, standard_suite

from .conftest import REPO, run, write_images


def _baseline(path, pipelines, tolerance=0.01):
    path.write_text(json.dumps({"format": "fer-classic-baseline/1", "tolerance": tolerance, "pipelines": pipelines}))
    return path


SMALL = [{"name": "knn-lbp", "features": ["lbp"], "model": "knn", "params": {"k": 5}, "pca": None},
         {"name": "svm-hist", "features": ["hist"], "model": "svm", "params": {"kernel": "linear", "C": 1.0}}]


@pytest.fixture(scope="module")
def small_data(tmp_path_factory, sample):
    """A 10% slice of the embedded sample as class folders with usage prefixes, for quick checks."""
    root = tmp_path_factory.mktemp("small")
    for i in range(0, len(sample), 8):
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
    assert len(folders) == 1 and set(folders[0]) == {"raw", "hist", "hog", "lbp", "landmarks"}
    assert {p.spec.model for p in suite} == {"knn", "mlp", "svm", "rf"}


def test_baseline_command_runs_the_suite_and_writes_the_report(tmp_path, small_data):
    out = tmp_path / "bl"
    result = run("baseline", small_data, "-o", out, "-q")
    assert result.exit_code == 0, result.output
    names = {p.name for p in standard_suite()}
    assert {d.name for d in (out / "runs").iterdir()} == names
    md = (out / "report.md").read_text()
    assert all(f"| {n} |" in md for n in names) and "minutes of wall time" in md
    assert (out / "report.html").is_file()
