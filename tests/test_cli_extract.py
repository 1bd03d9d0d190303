import json
import re
import subprocess
import sys

import numpy as np
import pytest

from fer_classic import __version__
from fer_classic.cli import main
from fer_classic.store import FeatureDirectory

from .conftest import REPO, run


def test_version_and_module_entry_point():
    assert run("--version").output.strip() == f"fer-classic, version {__version__}"
    out = subprocess.run([sys.executable, "-m", "fer_classic", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and __version__ in out.stdout


def test_the_command_group_imports_a_command_only_when_it_runs():
    """`fer-classic predict` does not pay for training's and reporting's imports, and its module imports
    neither scikit-learn nor pandas (the faces start being found while they import)."""
    code = ("import sys; from fer_classic.cli import main; before = 'sklearn' in sys.modules; "
            "main(['predict', '--help'], standalone_mode=False); "
            "print(before, 'fer_classic.cli.predict' in sys.modules, 'fer_classic.cli.baseline' in sys.modules, "
            "'fer_classic.reporting.report' in sys.modules, 'sklearn' in sys.modules, 'pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-6:] == ["False", "True", "False", "False", "False", "False"]


def test_every_command_has_help_with_an_example_and_is_in_the_readme_and_the_guide():
    readme = (REPO / "README.md").read_text()
    guide = (REPO / "docs" / "guide" / "commands.md").read_text()
    names = main.list_commands(None)
    assert names == ["baseline", "check", "evaluate", "extract", "predict", "report", "train"]
    for name in names:
        result = run(name, "--help")
        assert result.exit_code == 0 and "Example" in result.output, name
        assert f"fer-classic {name}" in readme, f"README lacks an example of {name}"
        assert f"## `fer-classic {name}" in guide, f"docs/guide/commands.md lacks a section on {name}"


def test_extract_writes_features_and_a_complete_manifest(split_folders, tmp_path):
    out = tmp_path / "feats"
    result = run("extract", split_folders, "--out", out, "--jobs", "1", "--hog-pixels-per-cell", "8")
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["n_images"] == 21 and manifest["skipped"] == []
    assert manifest["class_counts"]["happy"] == 3 and manifest["usage_counts"] == {"PublicTest": 7, "Training": 14}
    assert manifest["fingerprint"].startswith("sha256:")
    assert {"numpy", "scikit-learn", "scikit-image", "dlib-bin"} <= set(manifest["versions"])
    dims = {n: e["dim"] for n, e in manifest["descriptors"].items()}
    assert dims == {"raw": 2304, "hist": 32, "hog": 900, "lbp": 360, "landmarks": 136}
    assert manifest["descriptors"]["hog"]["params"]["pixels_per_cell"] == 8
    assert all(e["seconds"] >= 0 for e in manifest["descriptors"].values())
    for name in dims:
        assert FeatureDirectory(out).load(name).X.shape == (21, dims[name])
    assert re.search(r"hog\.npz\t900-d", result.stdout)


def test_rerun_reuses_and_force_or_new_parameters_recompute(split_folders, tmp_path):
    out = tmp_path / "feats"
    assert run("extract", split_folders, "-o", out, "-f", "hog,lbp", "-j", "1").exit_code == 0
    stamp = {p.name: p.stat().st_mtime_ns for p in out.glob("*.npz")}
    again = run("extract", split_folders, "-o", out, "-f", "hog,lbp", "-j", "1")
    assert "up to date" in again.stderr
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.npz")} == stamp
    run("extract", split_folders, "-o", out, "-f", "hog,lbp", "-j", "1", "--lbp-grid", "4")
    assert (out / "hog.npz").stat().st_mtime_ns == stamp["hog.npz"]
    assert (out / "lbp.npz").stat().st_mtime_ns != stamp["lbp.npz"]
    run("extract", split_folders, "-o", out, "-f", "hog", "-j", "1", "--force")
    assert (out / "hog.npz").stat().st_mtime_ns != stamp["hog.npz"]


def test_quiet_prints_only_the_results(split_folders, tmp_path):
    result = run("extract", split_folders, "-o", tmp_path, "-f", "hist", "-q")
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout.strip().endswith("s") and "hist.npz" in result.stdout


def test_unreadable_images_are_skipped_and_recorded(split_folders, tmp_path):
    (split_folders / "train" / "sad" / "Training_bad.png").write_bytes(b"nope")
    result = run("extract", split_folders, "-o", tmp_path, "-f", "hist")
    assert result.exit_code == 0
    assert "Training_bad.png" in result.stderr
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert [s["file"] for s in manifest["skipped"]] == ["train/sad/Training_bad.png"]
    strict = run("extract", split_folders, "-o", tmp_path / "s", "-f", "hist", "--strict")
    assert strict.exit_code == 1 and "Training_bad.png: unreadable image" in strict.stderr
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("args, code, message", [
    (["--features", "sift"], 2, "unknown descriptor sift"),
    (["--hog-pixels-per-cell", "40"], 2, "fewer than cells_per_block"),
    (["--lbp-grid", "x"], 2, "'x' is not a valid integer"),
    (["--jobs", "0"], 2, "0 workers"),
])
def test_usage_errors_exit_2(split_folders, tmp_path, args, code, message):
    result = run("extract", split_folders, "-o", tmp_path / "o", *args)
    assert result.exit_code == code and message in result.stderr
    assert not (tmp_path / "o").exists()


def test_missing_data_path_is_a_usage_error(tmp_path):
    result = run("extract", tmp_path / "missing", "-o", tmp_path / "o")
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_dataset_errors_exit_1_and_say_where(tmp_path, faces):
    (tmp_path / "empty").mkdir()
    result = run("extract", tmp_path / "empty", "-o", tmp_path / "o")
    assert result.exit_code == 1 and "expected a FER2013 CSV file" in result.stderr
    bad = tmp_path / "fer2013.csv"
    bad.write_text("emotion,pixels,Usage\n0," + " ".join(["1"] * 2304) + ",Training\n12,1 2,Training\n")
    result = run("extract", bad, "-o", tmp_path / "o")
    assert result.exit_code == 1 and "fer2013.csv: line 3: unknown label '12'" in result.stderr
    assert not (tmp_path / "o").exists()


def test_csv_input_end_to_end(fer_csv, tmp_path):
    result = run("extract", fer_csv, "-o", tmp_path, "-f", "raw,lbp", "-j", "2")
    assert result.exit_code == 0
    fs = FeatureDirectory(tmp_path).load("raw")
    assert fs.ids[0] == "fer2013.csv:2" and sorted(set(fs.usage)) == ["PrivateTest", "PublicTest", "Training"]
    assert np.array_equal(fs.labels, np.repeat(np.arange(7), 4))


def test_embedded_sample_is_the_default(tmp_path):
    result = run("extract", "-o", tmp_path, "-f", "hist", "-q")
    assert result.exit_code == 0
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["n_images"] == 3233 and manifest["source"].endswith("fer2013-sample")
