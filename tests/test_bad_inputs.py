"""Every bad input gets a clear answer: what and where, exit status 1 for errors, 2 for usage, 130 after
Ctrl-C, no traceback, nothing half-written."""

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from .conftest import make_video, run, write_images


def no_traceback(result):
    return "Traceback" not in result.output + (result.stderr or "")


@pytest.fixture
def one_class_features(tmp_path, faces):
    root = tmp_path / "one"
    write_images(root / "train" / "happy", faces[:12], prefix="Training")
    write_images(root / "test" / "happy", faces[12:16], prefix="PublicTest")
    assert run("extract", root, "-f", "hog,hist", "-o", tmp_path / "f", "-q", "-j", "1").exit_code == 0
    return tmp_path / "f"


@pytest.mark.parametrize("model", ["svm", "mlp", "knn", "rf"])
def test_training_on_one_class_is_an_error(one_class_features, tmp_path, model):
    result = run("train", one_class_features, "-f", "hist", "-m", model, "-o", tmp_path / "run")
    assert result.exit_code == 1 and "at least two classes" in result.stderr and "'happy'" in result.stderr
    assert no_traceback(result) and not (tmp_path / "run").exists()


def test_pca_above_the_rank_is_a_usage_error(sample_features, tmp_path):
    result = run("train", sample_features, "-f", "hog", "-m", "svm", "--pca", "2000", "-o", tmp_path / "run")
    assert result.exit_code == 2 and "--pca 2000" in result.stderr and "at most" in result.stderr
    assert no_traceback(result) and not (tmp_path / "run").exists()


def test_file_names_that_are_not_utf8(tmp_path, faces):
    root = tmp_path / "latin1"
    for c, name in enumerate(("angry", "happy")):
        write_images(root / name, faces[4 * c:4 * c + 4])
    folder = os.fsencode(root / "happy")
    os.rename(os.path.join(folder, b"img_0.png"), os.path.join(folder, b"caf\xe9.png"))  # a Latin-1 byte
    result = run("extract", root, "-f", "hist", "-o", tmp_path / "f", "-j", "1")
    assert result.exit_code == 0 and no_traceback(result)
    assert json.loads((tmp_path / "f" / "manifest.json").read_text())["n_images"] == 8


def _start_extract(out):
    return subprocess.Popen([sys.executable, "-m", "fer_classic", "extract", "-f", "hog,lbp,landmarks", "-o", out,
                             "-j", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _interrupt_like_a_terminal(proc, out):
    """Ctrl-C in a terminal: SIGINT to the whole process group, workers included."""
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:  # finished before the signal: nothing to check
        return
    # 130 = 128 + SIGINT; a signal that lands before Python has started ends it by the signal, which a
    # shell reports as 130 too.
    assert proc.returncode in (130, -signal.SIGINT), err.decode()
    assert b"Traceback" not in err and b"interrupted" in err, err.decode()
    assert not list(out.glob(".*.tmp")) if out.exists() else True


def test_ctrl_c_while_importing_exits_130_without_traceback(tmp_path):
    proc = _start_extract(tmp_path / "f")
    time.sleep(0.3)
    _interrupt_like_a_terminal(proc, tmp_path / "f")


def _sigint_blocked(pid):
    """Linux: /proc/PID/status SigBlk is the blocked-signal mask in hex, bit SIGNUM - 1."""
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("SigBlk:"):
            return bool(int(line.split()[1], 16) >> (signal.SIGINT - 1) & 1)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ctrl_c_reaches_only_the_command_not_its_workers(tmp_path):
    # A worker that got the terminal's SIGINT would print its own traceback (one still importing has no
    # handler); the workers must inherit SIGINT blocked, the command alone answers it.
    psutil = pytest.importorskip("psutil")
    proc = _start_extract(tmp_path / "f")
    deadline, workers = time.monotonic() + 60, []
    while time.monotonic() < deadline and proc.poll() is None and len(workers) < 2:
        workers = [c for c in psutil.Process(proc.pid).children(recursive=True) if "loky" in " ".join(c.cmdline())]
        time.sleep(0.05)
    assert len(workers) >= 2, "the command started no worker processes"
    assert all(_sigint_blocked(w.pid) for w in workers)
    _interrupt_like_a_terminal(proc, tmp_path / "f")


def test_empty_class_folder_is_reported(class_folders, caplog):
    (class_folders / "fear").mkdir()
    result = run("extract", class_folders, "-f", "hist", "-o", class_folders.parent / "f", "-j", "1")
    assert result.exit_code == 0 and "fear" in result.stderr and "no images" in result.stderr


def test_mistyped_values_get_suggestions(sample_features, class_folders, tmp_path):
    result = run("extract", class_folders, "--classes", "hapy,sad", "-o", tmp_path / "f")
    assert result.exit_code == 2 and "'hapy'" in result.stderr and "did you mean 'happy'" in result.stderr
    result = run("extract", "-f", "hgo", "-o", tmp_path / "f")
    assert result.exit_code == 2 and "did you mean 'hog'" in result.stderr
    result = run("train", sample_features, "-f", "hog", "-m", "svn", "-o", tmp_path / "r")
    assert result.exit_code == 2 and "Did you mean 'svm'" in result.stderr
    result = run("extract", "--lbp-method", "unifrom", "-o", tmp_path / "f")
    assert result.exit_code == 2 and "Did you mean 'uniform'" in result.stderr


def test_help_lists_full_summaries_and_working_examples():
    text = run("--help").output
    commands = text.split("Commands:")[1]
    assert "..." not in commands
    for line in text.splitlines():
        if line.strip().startswith("fer-classic extract"):
            assert "--out" in line  # extract needs --out: an example without it would fail
    assert "uniform|nri_uniform" in run("extract", "--help").output.replace(" ", "").replace("\n", "")


def test_predict_on_a_folder_without_images_names_it(sample_features, tmp_path):
    (tmp_path / "empty").mkdir()
    from fer_classic.training import TrainSpec, train_run

    train_run(sample_features, tmp_path / "run", TrainSpec(["hist"], "knn"), n_jobs=1)
    result = run("predict", tmp_path / "run", tmp_path / "empty")
    assert result.exit_code == 1 and str(tmp_path / "empty") in result.stderr and "no image files" in result.stderr


def test_predict_hints_at_no_detect_for_face_crops(sample_features, sample, tmp_path):
    from fer_classic.training import TrainSpec, train_run

    train_run(sample_features, tmp_path / "run", TrainSpec(["hist"], "knn"), n_jobs=1)
    write_images(tmp_path / "crops", sample.images[:3])
    result = run("predict", tmp_path / "run", tmp_path / "crops", "-j", "1")
    assert result.exit_code == 0 and "--no-detect" in result.stderr


def test_outputs_follow_the_umask_and_record_their_command(sample_features, tmp_path):
    from fer_classic.data import default_sample_path, load_dataset
    from fer_classic.pipelines import named_pipeline
    from fer_classic.suite import run_pipelines

    old = os.umask(0o022)
    try:
        result = run("train", sample_features, "-f", "hist", "-m", "knn", "-o", tmp_path / "run")
    finally:
        os.umask(old)
    assert result.exit_code == 0
    assert stat.S_IMODE((tmp_path / "run").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "run" / "metrics.json").stat().st_mode) == 0o644
    assert "fer-classic" in json.loads((tmp_path / "run" / "metrics.json").read_text())["command"]
    ds = load_dataset(default_sample_path(), n_jobs=1)
    results = run_pipelines(ds, [named_pipeline("knn-hist")], tmp_path / "suite", n_jobs=1, command="fer-classic baseline")
    assert results["knn-hist"]["command"] == "fer-classic baseline (pipeline knn-hist)"


def test_no_progress_bar_junk_in_redirected_stderr(tmp_path):
    result = run("extract", "-f", "hist", "-o", tmp_path / "f")
    assert result.exit_code == 0 and "\r" not in result.stderr


def test_huge_photos_get_a_clean_warning(tmp_path, monkeypatch, caplog):
    from fer_classic.data import read_image

    Image.fromarray(np.zeros((400, 400), np.uint8)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100_000)
    with caplog.at_level("WARNING"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # Pillow's own warning must not escape
            assert read_image(tmp_path / "big.png").shape == (400, 400)
    assert "big.png: a very large image (400x400)" in caplog.text


# --------------------------------------------------------------------------- outputs that cannot be written

@pytest.fixture
def small_run(sample_features, tmp_path_factory):
    out = tmp_path_factory.mktemp("small-run") / "run"
    assert run("train", sample_features, "-f", "hist", "-m", "knn", "-o", out, "-q").exit_code == 0
    return out


def test_an_out_whose_parent_is_a_file_is_named_without_traceback(small_run, sample_features, sample_path, tmp_path,
                                                                 tmp_path_factory):
    blocker = tmp_path / "afile"
    blocker.write_text("in the way")
    photos = sample_path / "test" / "happy"
    video = make_video(tmp_path_factory.mktemp("video") / "v.mp4", seconds=0.5, fps=10)
    cases = {
        "extract": ["extract", "-f", "hist", "-o", blocker / "feats", "-j", "1"],
        "train": ["train", sample_features, "-f", "hist", "-m", "knn", "-o", blocker / "run"],
        "predict --out": ["predict", small_run, photos, "--no-detect", "-o", blocker / "x.csv"],
        "predict --annotate": ["predict", small_run, photos, "--no-detect", "--annotate", blocker / "ann"],
        "evaluate": ["evaluate", small_run, sample_path, "-o", blocker / "e.json"],
        "report": ["report", small_run, "-o", blocker / "report.md"],
        "video --out": ["predict", small_run, video, "-o", blocker / "v.csv", "-j", "1"],
        "video --annotate": ["predict", small_run, video, "--annotate", blocker / "ann", "-j", "1"],
    }
    for what, args in cases.items():
        result = run(*args, "-q") if what != "report" else run(*args)
        assert result.exit_code == 1, (what, result.output)
        assert f"{blocker} is a file, not a folder" in result.stderr, (what, result.stderr)
        assert no_traceback(result), what
    assert blocker.read_text() == "in the way" and [p.name for p in tmp_path.iterdir()] == ["afile"]


def test_an_out_that_cannot_be_written_names_the_users_path(small_run, sample_path):
    result = run("predict", small_run, sample_path / "test" / "happy", "--no-detect", "-o", "/proc/x.csv", "-q")
    assert result.exit_code == 1 and "/proc/x.csv: cannot be written" in result.stderr
    assert ".tmp" not in result.stderr and no_traceback(result)


def test_a_full_disk_is_named_and_nothing_half_written_is_left(sample_features, sample, tmp_path, monkeypatch):
    import errno

    import fer_classic.runs.folders as runs
    import fer_classic.store as store

    def full(*args, **kwargs):  # what a write on a full disk raises (no file name)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store.np, "savez", full)
    result = run("extract", "-f", "hist", "-o", tmp_path / "feats", "-j", "1", "-q")
    assert result.exit_code == 1 and f"no space left on {tmp_path / 'feats'}" in result.stderr, result.output
    assert no_traceback(result) and not list((tmp_path / "feats").iterdir())
    monkeypatch.undo()
    monkeypatch.setattr(runs, "write_zip_deflating_where_it_pays", full)
    result = run("train", sample_features, "-f", "hist", "-m", "knn", "-o", tmp_path / "run", "-q")
    assert result.exit_code == 1 and f"no space left on {tmp_path}" in result.stderr, result.output
    assert no_traceback(result) and [p.name for p in tmp_path.iterdir()] == ["feats"]


def test_non_utf8_output_names_for_train_and_predict(sample_features, small_run, sample_path, tmp_path):
    out = os.fsdecode(os.fsencode(tmp_path) + b"/run-\xff")
    result = run("train", sample_features, "-f", "hist", "-m", "knn", "-o", out, "-q")
    assert result.exit_code == 0 and no_traceback(result), result.output
    assert os.path.isfile(os.path.join(out, "metrics.json"))
    folder = tmp_path / "photos"
    folder.mkdir()
    photo = sorted((sample_path / "test" / "happy").glob("*.png"))[0]
    (folder / os.fsdecode(b"caf\xe9.png")).write_bytes(photo.read_bytes())
    table = os.fsdecode(os.fsencode(tmp_path) + b"/x-\xff.csv")
    result = run("predict", small_run, folder, "--no-detect", "-o", table, "-q")
    assert result.exit_code == 0 and no_traceback(result), result.output
    assert b"caf\xe9.png,0" in open(table, "rb").read()


# --------------------------------------------------------------------------- inputs

def test_unknown_csv_columns_are_named_with_a_suggestion(tmp_path, faces):
    path = tmp_path / "fer.csv"
    pixels = " ".join(map(str, faces[0].ravel()))
    path.write_text(f"emotion,pixels,Usgae\n3,{pixels},Training\n4,{pixels},PublicTest\n")
    result = run("extract", path, "-f", "hist", "-o", tmp_path / "f", "-q")
    assert result.exit_code == 1 and "unknown column 'Usgae'" in result.stderr
    assert "did you mean 'Usage'?" in result.stderr and "line 1" in result.stderr and no_traceback(result)


def test_a_damaged_manifest_is_refused_listing_the_folder_then_rebuilt_with_force(tmp_path):
    out = tmp_path / "f"
    assert run("extract", "-f", "hist,lbp", "-o", out, "-q", "-j", "1").exit_code == 0
    manifest = out / "manifest.json"
    manifest.write_text(manifest.read_text()[:150])  # cut short
    result = run("extract", "-f", "hist", "-o", out, "-q", "-j", "1")
    assert result.exit_code == 1 and "not a valid features manifest" in result.stderr
    assert "hist.npz, lbp.npz" in result.stderr and "--force" in result.stderr and no_traceback(result)
    assert manifest.read_text().endswith(manifest.read_text()[-10:]) and len(manifest.read_text()) == 150
    assert run("extract", "-f", "hist", "-o", out, "-q", "-j", "1", "--force").exit_code == 0
    assert json.loads(manifest.read_text())["descriptors"].keys() == {"hist"}


def test_a_manifest_that_is_a_json_list_is_named(tmp_path):
    out = tmp_path / "f"
    out.mkdir()
    (out / "manifest.json").write_text("[1, 2]")
    result = run("train", out, "-f", "hist", "-m", "knn", "-o", tmp_path / "run")
    assert result.exit_code == 1 and "a JSON list, expected an object" in result.stderr and no_traceback(result)


def test_align_says_which_images_show_no_face_and_strict_stops(tmp_path, sample):
    from fer_classic.faces import faces_found_whole

    # Faces the detector finds (it misses about 6% of FER2013's crops: those are listed too).
    clear = sample.images[:40][faces_found_whole(sample.images[:40])]
    root = tmp_path / "data"
    write_images(root / "happy", clear[:4])
    write_images(root / "sad", clear[4:8])
    Image.fromarray(np.full((48, 48), 128, np.uint8)).save(root / "happy" / "blank.png")
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (48, 48)).astype(np.uint8)).save(root / "sad" / "noise.png")
    result = run("extract", root, "-f", "hist", "--align", "-o", tmp_path / "f", "-j", "1")
    assert result.exit_code == 0 and "no face found in 2 of 10 images" in result.stderr
    assert "happy/blank.png" in result.stderr and "sad/noise.png" in result.stderr
    record = json.loads((tmp_path / "f" / "manifest.json").read_text())["align_no_face"]
    assert record["count"] == 2 and record["ids"] == ["happy/blank.png", "sad/noise.png"]
    result = run("extract", root, "-f", "hist", "--align", "-o", tmp_path / "g", "-j", "1", "--strict")
    assert result.exit_code == 1 and "finds no face in 2 of 10 images" in result.stderr and no_traceback(result)
    assert not (tmp_path / "g").exists()


def test_report_names_runs_that_share_a_folder_name_apart(small_run, tmp_path):
    other = tmp_path / "elsewhere" / small_run.name
    shutil.copytree(small_run, other)
    result = run("report", small_run, other, "-o", tmp_path / "r.md", "--format", "json")
    assert result.exit_code == 0, result.output
    names = [row["name"] for row in json.loads((tmp_path / "r.json").read_text())["results"]]
    assert f"elsewhere/{small_run.name}" in names and len(set(names)) == 2
    assert run("report", small_run, small_run, "-o", tmp_path / "s.md").exit_code == 2
    predictions = tmp_path / "p.csv"
    import pandas as pd
    pd.read_csv(small_run / "predictions.csv")[["id", "predicted"]].to_csv(predictions, index=False)
    result = run("report", small_run, "-p", f"{small_run.name}={predictions}", "-o", tmp_path / "t.md")
    assert result.exit_code == 2 and "already the name of a run" in result.output


def test_augment_finds_the_images_from_another_working_directory(tmp_path, faces, monkeypatch):
    root = tmp_path / "data"
    for c, name in enumerate(("angry", "happy")):
        write_images(root / "train" / name, faces[4 * c:4 * c + 4].repeat(3, axis=0), prefix="Training")
        write_images(root / "test" / name, faces[4 * c:4 * c + 2], prefix="PublicTest")
    monkeypatch.chdir(tmp_path)
    assert run("extract", "data", "-f", "hist", "-o", "feats", "-q", "-j", "1").exit_code == 0
    assert json.loads((tmp_path / "feats" / "manifest.json").read_text())["source"] == str(root)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = run("train", tmp_path / "feats", "-f", "hist", "-m", "knn", "--augment", "blur", "-o", "run", "-q")
    assert result.exit_code == 0, result.output
