import io
import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from skimage import data

from fer_classic import faces
from fer_classic.apply.photos import predict_photos
from fer_classic.data import to_gray

from .conftest import run


@pytest.fixture(scope="module")
def trained(sample_features, tmp_path_factory):
    """Runs trained on the embedded sample: a KNN (probabilities), a linear SVM calibrated on validation
    (probabilities) and one trained with --no-calibrate (decision scores)."""
    root = tmp_path_factory.mktemp("predict-runs")
    assert run("train", sample_features, "-f", "hog,lbp", "-m", "knn", "--k", "9", "--pca", "40",
               "-o", root / "knn", "-q").exit_code == 0
    assert run("train", sample_features, "-f", "hog", "-m", "svm", "--kernel", "linear", "--C", "0.01",
               "-o", root / "svm", "-q").exit_code == 0
    assert run("train", sample_features, "-f", "hog", "-m", "svm", "--kernel", "linear", "--C", "0.01",
               "--no-calibrate", "-o", root / "svm-raw", "-q").exit_code == 0
    return root


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    Image.fromarray(data.astronaut()).save(root / "astronaut.jpg", quality=95)
    Image.fromarray(data.coffee()).save(root / "coffee.png")  # no face
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    # The astronaut stored on its side, with the EXIF tag that tells viewers to turn it upright.
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(np.rot90(data.astronaut(), 1)).save(root / "rotated.jpg", exif=exif, quality=95)
    return root


def test_faces_in_photos_end_to_end(trained, photos, tmp_path):
    table = predict_photos(trained / "knn", [photos], annotate=str(tmp_path / "ann"), n_jobs=2)
    by_file = {p.split("/")[-1]: g for p, g in table.groupby("file")}
    assert set(by_file) == {"astronaut.jpg", "coffee.png", "broken.jpg", "rotated.jpg"}
    face = by_file["astronaut.jpg"].iloc[0]
    assert face["status"] == "ok" and 150 < face["x"] + face["width"] / 2 < 260 and 50 < face["y"] + 40 < 180
    assert face["label"] in ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    probabilities = face[[c for c in table if c.startswith("probability_")]].astype(float)
    assert len(probabilities) == 7 and probabilities.sum() == pytest.approx(1.0)
    assert by_file["rotated.jpg"].iloc[0]["status"] == "ok"  # found only if EXIF orientation is applied
    assert by_file["coffee.png"].iloc[0]["status"] == "no face found"
    assert by_file["broken.jpg"].iloc[0]["status"].startswith("unreadable")
    # annotated copies keep the input's format (a JPEG stays a JPEG, not a PNG five times larger)
    assert sorted(p.name for p in (tmp_path / "ann").iterdir()) == ["astronaut.jpg", "coffee.png", "rotated.jpg"]
    drawn = np.asarray(Image.open(tmp_path / "ann" / "astronaut.jpg"))
    assert drawn.shape == data.astronaut().shape and not np.array_equal(drawn, data.astronaut())
    assert (tmp_path / "ann" / "astronaut.jpg").stat().st_size < 2 * (photos / "astronaut.jpg").stat().st_size


def test_models_without_probabilities_give_named_decision_scores(trained, photos):
    table = predict_photos(trained / "svm-raw", [photos / "astronaut.jpg"])
    assert [c for c in table if c.startswith("decision_")] and not [c for c in table if c.startswith("prob")]
    calibrated = predict_photos(trained / "svm", [photos / "astronaut.jpg"])
    assert [c for c in calibrated if c.startswith("probability_")]


def test_alignment_levels_the_eyes_at_fer2013_positions():
    gray = to_gray(data.astronaut())
    box = faces.detect_faces(gray)[0]
    tilted = np.asarray(Image.fromarray(gray).rotate(20, center=((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)))
    for image in (gray, tilted):
        aligned = faces.align_face(image, faces.landmarks(image, faces.detect_faces(image)[0]), 48)
        left, right = faces.eye_centres(faces.landmarks(aligned))
        assert abs(left[1] - right[1]) < 2.5 and 14 < (left[1] + right[1]) / 2 < 22
        assert 14 < right[0] - left[0] < 23


def test_no_detect_matches_evaluate_on_cropped_faces(trained, sample, sample_path, tmp_path):
    test_files = [sample_path / i for i in sample.ids[sample.usage == "PublicTest"][:40]]
    table = predict_photos(trained / "knn", test_files, detect=False)
    assert (table["status"] == "ok").all() and len(table) == 40
    from fer_classic.runs.folders import load_run

    pipeline, metrics = load_run(trained / "knn")
    expected = [metrics["class_names"][i] for i in pipeline.predict(sample.images[sample.usage == "PublicTest"][:40])]
    assert table["label"].tolist() == expected


def test_cli_formats_and_exit_codes(trained, photos, tmp_path):
    out = tmp_path / "p.csv"
    result = run("predict", trained / "knn", photos / "astronaut.jpg", photos / "broken.jpg", "-o", out, "-q")
    assert result.exit_code == 0
    assert pd.read_csv(out)["status"].tolist()[0] == "ok"
    result = run("predict", trained / "knn", photos / "astronaut.jpg", "--format", "json", "-q")
    assert json.loads(result.stdout)[0]["face"] == 0
    result = run("predict", trained / "knn", photos / "broken.jpg", "-q")
    assert result.exit_code == 1 and "none of the 1 image files could be read" in result.stderr


def test_a_fresh_command_finds_faces_in_a_second_process_with_the_same_answer(trained, photos, tmp_path):
    """`fer-classic predict` in a new process starts a second one for dlib's shape predictor while it
    loads the model (a KNN run: scikit-learn; the calibrated linear SVM: its predictor); the table is the
    one predict_photos gives in this process."""
    import subprocess
    import sys

    out = tmp_path / "fresh.csv"
    # the command line as the console script runs it, counting the second processes started
    probe = ("import sys, fer_classic.apply.photos as p; from fer_classic.apply import face_finding as f; "
             "assert f.is_cold_start(); used = []; start = p.start_aligner; "
             "p.start_aligner = lambda *a, **k: used.append(1) or start(*a, **k); "
             "sys.argv = ['fer-classic', *sys.argv[1:]]; from fer_classic.console import main; "
             "import atexit; atexit.register(lambda: print('second process', len(used), file=sys.stderr)); main()")
    files = [photos / "astronaut.jpg", photos / "coffee.png", photos / "broken.jpg"]
    for name in ("knn", "svm"):
        args = ["predict", str(trained / name), *map(str, files), "-o", str(out), "-q"]
        done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert "second process 1" in done.stderr
        here = predict_photos(trained / name, files)
        expected = pd.read_csv(io.StringIO(here.to_csv(index=False)))
        pd.testing.assert_frame_equal(pd.read_csv(out), expected)
        out.unlink()
        # where no second process can start, the faces are found in the command's own process
        broken = probe.replace("used.append(1) or start(*a, **k)", "used.append(1) or (_ for _ in ()).throw(OSError('no processes'))")
        done = subprocess.run([sys.executable, "-c", broken, *args], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0 and "second process 1" in done.stderr, done.stderr
        pd.testing.assert_frame_equal(pd.read_csv(out), expected)


def test_the_import_thread_loads_what_aligning_and_the_descriptors_use_not_just_their_packages():
    """scikit-image's packages load their parts when a name is first asked for: after the thread of a
    fresh process, aligning a face and describing it with HOG and the bag of words import nothing more."""
    import subprocess
    import sys

    probe = ("import sys; from fer_classic.features.compute import ALIGNING_IMPORTS, start_importing_describers; "
             "start_importing_describers(['hog', 'bovw'], also=ALIGNING_IMPORTS).join(); before = set(sys.modules); "
             "from skimage.transform import SimilarityTransform, warp; from skimage.feature import hog; "
             "from scipy.ndimage import gaussian_filter; print(sorted(set(sys.modules) - before))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_lfw_faces_are_found_and_non_faces_are_not():
    lfw = (data.lfw_subset() * 255).astype(np.uint8)  # 100 faces, then 100 non-faces, 25x25
    found = np.array([len(faces.detect_faces(im, upsample=2)) > 0 for im in lfw])
    assert found[:100].mean() > 0.8 and found[100:].mean() < 0.05


def test_labels_stay_inside_the_image_and_show_the_detector_score():
    from PIL import ImageDraw

    from fer_classic.apply.labels_drawing import BOX_COLOUR, _font, draw_labels, top_score_text

    row = {"label": "happy", "probability_happy": 0.684, "detector_score": 1.234}
    assert top_score_text(row) == "68% det 1.23"
    image = np.zeros((120, 200, 3), np.uint8)
    text = f"0: happy {top_score_text(row)}"
    drawn = draw_labels(image, [(150, 50, 48, 48, "0: happy", top_score_text(row))])  # the box at the right edge
    filled = np.all(drawn == BOX_COLOUR, axis=-1)
    label_row = np.flatnonzero(filled[:50].sum(axis=1) > 60)[0]  # the label's background, above the box
    columns = np.flatnonzero(filled[label_row])
    left, _, right, _ = ImageDraw.Draw(Image.new("RGB", (1, 1))).textbbox((0, 0), text, font=_font(12))
    line = 2  # the box's line width on a 200-px image
    # The whole label, not clipped at the edge: moved left so its background is as wide as the text.
    assert columns.max() <= 199 and columns.min() < 150
    assert columns.max() - columns.min() + 1 == right - left + 2 * line + 1


def test_a_baseline_folder_given_as_a_run_names_its_runs(tmp_path, sample_path):
    from .conftest import run

    (tmp_path / "out" / "runs" / "svm-hog").mkdir(parents=True)
    (tmp_path / "out" / "runs" / "svm-hog" / "metrics.json").write_text("{}")
    photo = sorted((sample_path / "test" / "happy").glob("*.png"))[0]
    result = run("predict", tmp_path / "out", photo, "--no-detect")
    assert result.exit_code == 1 and "is not a run but holds runs" in result.stderr
    assert f"{tmp_path / 'out'}/runs/<name>" in result.stderr and "svm-hog" in result.stderr
