"""The model registry and the pipeline registry: declared once, read by the CLI, grid and baseline
files and the documentation's tables."""

import json

import pytest

from fer_classic.errors import ConfigurationError
from fer_classic.models import MODEL_KINDS, ModelKind, Param, model_kind, read_grid_file
from fer_classic.models.registry import models_markdown_table
from fer_classic.pipelines import PIPELINES, named_pipeline, pipelines_markdown_table, standard_suite
from fer_classic.suite import read_baseline

from .conftest import REPO, run


def test_the_documentations_tables_are_made_from_the_registries():
    import importlib.util

    from fer_classic.features import DESCRIPTORS

    spec = importlib.util.spec_from_file_location("docs_hook", REPO / "docs" / "hooks" / "registries.py")
    if importlib.util.find_spec("mkdocs") is None:
        pytest.skip("mkdocs is not installed (pip install -e '.[docs]')")
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    pages = "".join(p.read_text(encoding="utf-8") for p in (REPO / "docs").rglob("*.md"))
    rendered = hook.on_page_markdown(pages, None, None, None)
    assert "{{" not in rendered
    assert models_markdown_table() in rendered and pipelines_markdown_table() in rendered
    for name in [*MODEL_KINDS, *DESCRIPTORS, *PIPELINES]:
        assert f"| `{name}` |" in rendered, name


def test_parameters_are_typed_and_checked():
    knn = model_kind("knn")
    assert knn.resolve({"k": "5"}) == {"k": 5, "weights": "distance", "p": 1}
    with pytest.raises(ConfigurationError, match="'three' is not a whole number"):
        knn.resolve({"k": "three"})
    with pytest.raises(ConfigurationError, match="did you mean 'distance'"):
        knn.resolve({"weights": "distanse"})
    with pytest.raises(ConfigurationError, match="below the minimum"):
        knn.resolve({"k": 0})
    assert model_kind("mlp").resolve({"early_stopping": "yes"})["early_stopping"] is True
    with pytest.raises(ConfigurationError, match="did you mean 'svm'"):
        model_kind("svn")


def test_cli_options_come_typed_from_the_registry(sample_features, tmp_path):
    result = run("train", sample_features, "-f", "hist", "-m", "knn", "--k", "three", "-o", tmp_path / "r")
    assert result.exit_code == 2 and "--k" in result.stderr and "'three' is not a whole number" in result.stderr
    result = run("train", sample_features, "-f", "hist", "-m", "mlp", "--early-stopping", "maybe", "-o", tmp_path / "r")
    assert result.exit_code == 2 and "--early-stopping" in result.stderr
    help_text = run("train", "--help").output
    for kind in MODEL_KINDS.values():
        for p in kind.params:
            assert f"--{p.name.replace('_', '-')}" in help_text


def test_a_new_model_kind_is_one_declaration():
    from sklearn.linear_model import LogisticRegression

    kind = ModelKind("logreg", "logistic regression", (Param("C", float, 1.0, "inverse penalty", minimum=0),),
                     lambda p, *, seed, class_weight, n_jobs: LogisticRegression(C=p["C"], random_state=seed),
                     ({"C": [0.1, 1.0]},))
    assert [c["C"] for c in kind.expand_grid(list(kind.default_grid))] == [0.1, 1.0]
    assert kind.make({"C": "2"}, seed=42).C == 2.0


def test_grid_files_parse_in_the_library(tmp_path):
    good = tmp_path / "grid.yaml"
    good.write_text("svm:\n  C: [1, 10]\nknn:\n  k: [1]\n")
    assert read_grid_file(good, "svm") == {"C": [1, 10]}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"k": [1, "x"]}))
    with pytest.raises(ConfigurationError, match="bad.json: knn parameter k"):
        read_grid_file(bad, "knn")


def test_pipelines_are_one_registry_with_fresh_seeded_copies():
    assert [p.name for p in standard_suite()] == [p.name for p in PIPELINES.values() if p.in_suite]
    a, b = named_pipeline("best", seed=7), named_pipeline("best")
    assert a.spec.seed == 7 and all(m.seed == 7 for m in a.spec.members)
    assert b.spec.seed == 42 and a.spec is not PIPELINES["best"].spec
    with pytest.raises(ConfigurationError, match="did you mean 'svm-hog'"):
        named_pipeline("svm-hgo")


def test_baseline_file_may_name_a_registered_pipeline(tmp_path):
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"format": "fer-classic-baseline/1", "pipelines": [
        {"name": "svm-hog", "accuracy": 0.4}, {"name": "mine", "features": "hog", "model": "knn"}]}))
    _, pipelines = read_baseline(path)
    assert pipelines[0][0].spec == named_pipeline("svm-hog").spec and pipelines[0][1] == 0.4
    assert pipelines[1][0].spec.model == "knn"
    path.write_text(json.dumps({"format": "fer-classic-baseline/1", "pipelines": [{"name": "svm-hgo"}]}))
    assert run("check", "--baseline", path, "-q").exit_code == 2


def test_train_preset_runs_any_registered_pipeline(sample_features, tmp_path):
    result = run("train", sample_features, "--preset", "svm-hog", "-o", tmp_path / "run", "-q")
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["model"] == "svm" and metrics["features"] == ["hog"] and metrics["spec"]["pca"] == 0.95
