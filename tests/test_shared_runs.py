"""A run folder from someone else: loading it never runs code of the file's choosing."""

import json
import shutil
import zipfile

import pytest

from fer_classic.runs.folders import RunError, load_run
from fer_classic.store import file_sha256

from .conftest import run


@pytest.fixture(scope="module")
def svm_run(sample_features, tmp_path_factory):
    out = tmp_path_factory.mktemp("shared") / "svm"
    result = run("train", sample_features, "-f", "hist", "-m", "svm", "--pca", "10", "-o", out, "-q")
    assert result.exit_code == 0, result.output
    return out


def _json(value):
    return {"__class__": type(value).__name__, "__module__": "builtins", "__loader__": "JsonNode",
            "content": json.dumps(value), "is_json": True}


def _payload(target, loader: str) -> dict:
    """A skops node that makes ``fer_classic.store.write_text_atomic`` write ``target``."""
    args = {"__class__": "tuple", "__module__": "builtins", "__loader__": "TupleNode",
            "content": [_json(str(target)), _json("pwned\n")]}
    node = {"__class__": "write_text_atomic", "__module__": "fer_classic.store", "__loader__": loader}
    if loader == "ConstructorFromReduceNode":
        return {**node, "content": args}
    if loader == "ObjectNode":
        str_type = {"__class__": "str", "__module__": "builtins", "__loader__": "TypeNode"}
        return {**node, "content": {"__class__": "dict", "__module__": "builtins", "__loader__": "DictNode",
                                    "content": {"path": _json(str(target)), "text": _json("pwned\n")},
                                    "key_types": {"__class__": "list", "__module__": "builtins",
                                                  "__loader__": "ListNode", "content": [str_type, str_type]}}}
    return {**node, "__loader__": "FunctionNode", "content": {"module_path": "fer_classic.store",
                                                               "function": "write_text_atomic"}}


def _plant(run_dir, payload: dict, *, keep_predictor: bool = False) -> None:
    """Replace the run's model by ``payload`` inside its skops file, the recorded SHA-256 updated to match
    (as anyone who can write the folder can), and without its predictor unless ``keep_predictor``."""
    model = run_dir / "model.skops"
    with zipfile.ZipFile(model) as z:
        members = {i.filename: z.read(i) for i in z.infolist()}
    schema = json.loads(members["schema.json"])
    schema["content"]["model"] = payload
    members["schema.json"] = json.dumps(schema).encode()
    with zipfile.ZipFile(model, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    metrics["model_sha256"] = file_sha256(model)
    if not keep_predictor:
        (run_dir / metrics.pop("predictor")["file"]).unlink()
    (run_dir / "metrics.json").write_text(json.dumps(metrics))


@pytest.mark.parametrize("loader", ["ConstructorFromReduceNode", "ObjectNode", "FunctionNode"])
def test_a_model_file_that_calls_a_function_is_refused_and_nothing_runs(svm_run, sample_path, tmp_path, loader):
    target = tmp_path / "written-by-the-model-file.txt"
    shared = tmp_path / "shared-run"
    shutil.copytree(svm_run, shared)
    _plant(shared, _payload(target, loader))

    with pytest.raises(RunError, match="not trusted") as refused:
        load_run(shared)
    assert "fer_classic.store.write_text_atomic" in str(refused.value)
    photo = sorted((sample_path / "test").rglob("*.png"))[0]
    for args in (["predict", shared, photo, "--no-detect"], ["evaluate", shared, sample_path, "-q"]):
        result = run(*args)
        assert result.exit_code == 1, result.output
        assert "not trusted" in result.output and "write_text_atomic" in result.output
        assert "Traceback" not in result.output
    assert not target.exists()


def test_a_class_outside_the_list_is_refused_even_from_scikit_learn(svm_run, tmp_path):
    """Trust is by exact class, not by module: a scikit-learn estimator the toolkit never saves is refused."""
    shared = tmp_path / "shared-run"
    shutil.copytree(svm_run, shared)
    _plant(shared, {"__class__": "GaussianProcessClassifier", "__module__": "sklearn.gaussian_process._gpc",
                    "__loader__": "ObjectNode"})
    with pytest.raises(RunError, match="not trusted.*GaussianProcessClassifier.*not one of the classes"):
        load_run(shared)


def test_predict_and_evaluate_use_the_predictor_without_opening_the_model_file(svm_run, sample_path, tmp_path):
    target = tmp_path / "written-by-the-model-file.txt"
    shared = tmp_path / "shared-run"
    shutil.copytree(svm_run, shared)
    _plant(shared, _payload(target, "ConstructorFromReduceNode"), keep_predictor=True)
    (shared / "model.skops").write_bytes(b"not even a zip file")  # never opened
    photo = sorted((sample_path / "test").rglob("*.png"))[0]
    assert run("predict", shared, photo, "--no-detect").exit_code == 0
    result = run("evaluate", shared, sample_path, "-q", "-j", "2")
    assert result.exit_code == 0, result.output
    assert not target.exists()


def test_evaluate_gives_the_same_numbers_on_one_and_two_workers(svm_run, sample_path, tmp_path):
    docs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"eval-{jobs}.json"
        assert run("evaluate", svm_run, sample_path, "--split", "PublicTest", "-q", "-j", jobs, "-o", out).exit_code == 0
        docs.append(json.loads(out.read_text()))
    assert docs[0]["confusion_matrix"] == docs[1]["confusion_matrix"]
    assert docs[0]["confusion_matrix"] == json.loads((svm_run / "metrics.json").read_text())["confusion_matrix"]


def test_the_same_training_writes_the_same_model_bytes(svm_run, sample_features, tmp_path):
    again = tmp_path / "again"
    assert run("train", sample_features, "-f", "hist", "-m", "svm", "--pca", "10", "-o", again, "-q").exit_code == 0
    assert (again / "model.skops").read_bytes() == (svm_run / "model.skops").read_bytes()
    a, b = (json.loads((d / "metrics.json").read_text()) for d in (svm_run, again))
    assert a["model_sha256"] == b["model_sha256"]
    with zipfile.ZipFile(again / "model.skops") as z:
        names = [i.filename for i in z.infolist()]
    assert "schema.json" in names and all(n == "schema.json" or n.split(".")[0].isdigit() and
                                          int(n.split(".")[0]) < 1000 for n in names)
    load_run(again)


def test_every_trusted_name_is_a_class():
    import importlib

    from fer_classic.runs.trusted_classes import TRUSTED_CLASSES

    for name in TRUSTED_CLASSES:
        module, _, attr = name.rpartition(".")
        obj = getattr(importlib.import_module(module), attr)
        assert isinstance(obj, type), name


def test_a_forest_whose_tree_points_outside_its_arrays_is_refused():
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier

    from fer_classic.runs.trusted_classes import check_forest_trees

    rng = np.random.default_rng(0)
    forest = RandomForestClassifier(n_estimators=2, random_state=0).fit(rng.normal(size=(40, 3)),
                                                                        rng.integers(0, 2, 40))
    check_forest_trees(forest, "forest")
    state = forest.estimators_[0].tree_.__getstate__()
    state["nodes"]["left_child"][0] = 10_000
    forest.estimators_[0].tree_.__setstate__(state)
    with pytest.raises(RunError, match="points outside its own arrays"):
        check_forest_trees(forest, "forest")
