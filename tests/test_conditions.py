"""Image conditions for robustness: seeded, graded, and measured by evaluate."""

import json

import numpy as np
import pytest

from fer_classic.errors import ConfigurationError
from fer_classic.faces.conditions import CONDITIONS, apply_condition, face_landmarks

from .conftest import run


@pytest.fixture(scope="module")
def faces8(sample):
    return sample.images[:8]


@pytest.mark.parametrize("name", list(CONDITIONS))
def test_conditions_are_seeded_graded_images(faces8, name):
    points = face_landmarks(faces8) if CONDITIONS[name].needs_landmarks else None
    levels = [apply_condition(faces8, name, level, seed=3, points=points) for level in (1, 2, 3)]
    for out in levels:
        assert out.shape == faces8.shape and out.dtype == np.uint8
    assert np.array_equal(levels[0], apply_condition(faces8, name, 1, seed=3, points=points))
    change = [np.abs(out.astype(int) - faces8).mean() for out in levels]
    assert 0 < change[0] <= change[1] <= change[2] + 1e-9, change  # more severe, further from the face


def test_unknown_condition_or_level(faces8, sample_features, tmp_path):
    with pytest.raises(ConfigurationError, match="did you mean 'glasses'"):
        apply_condition(faces8, "glases", 1)
    with pytest.raises(ConfigurationError, match="levels are 1, 2, 3"):
        apply_condition(faces8, "blur", 4)


def test_evaluate_under_conditions_and_report_them(sample_features, sample_path, tmp_path):
    from fer_classic.training import TrainSpec, train_run

    train_run(sample_features, tmp_path / "run", TrainSpec(["hog"], "knn", params={"k": 5}, pca=20), n_jobs=1)
    result = run("evaluate", tmp_path / "run", sample_path, "--split", "PublicTest", "--conditions", "blur,jpeg",
                 "-o", tmp_path / "e.json", "-q")
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "e.json").read_text())["robustness"]
    assert [(r["condition"], r["level"]) for r in rows] == [(c, lv) for c in ("blur", "jpeg") for lv in (1, 2, 3)]
    assert all(r["interval"][0] <= r["accuracy"] <= r["interval"][1] and r["n"] == 361 for r in rows)
    assert run("evaluate", tmp_path / "run", sample_path, "--conditions", "glases").exit_code == 2
    one_level = run("evaluate", tmp_path / "run", sample_path, "--split", "PublicTest", "--conditions", "blur",
                    "--levels", "2", "-o", tmp_path / "e2.json", "-q")
    assert one_level.exit_code == 0, one_level.output
    assert json.loads((tmp_path / "e2.json").read_text())["robustness"] == [r for r in rows if r["condition"] == "blur"
                                                                          and r["level"] == 2]
    bad = run("evaluate", tmp_path / "run", sample_path, "--conditions", "blur", "--levels", "2,4")
    assert bad.exit_code == 2 and "levels are 1, 2, 3" in bad.output
    run("report", tmp_path / "run", "-e", tmp_path / "e.json", "-o", tmp_path / "r.md")
    md = (tmp_path / "r.md").read_text()
    assert "## Robustness under image conditions" in md and "| blur |" in md
