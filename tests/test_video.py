"""Expressions over time: videos made from a real face, decoded by PyAV, faces tracked across frames."""

import json

import numpy as np
import pandas as pd
import pytest

from fer_classic.apply.video import BASE_COLUMNS, RowWriter, label_video, score_columns
from fer_classic.faces.tracking import IoUTracker, ScoreSmoother

from .conftest import make_video, run


@pytest.fixture(scope="module")
def video_run(sample_features, tmp_path_factory):
    from fer_classic.training import TrainSpec, train_run

    out = tmp_path_factory.mktemp("video-run") / "run"
    train_run(sample_features, out, TrainSpec(["hog"], "knn", params={"k": 5}, pca=30), n_jobs=1)
    return out


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("video") / "astronaut.mp4", seconds=2.0, fps=10)


def test_tracker_keeps_ids_and_smoother_averages():
    tracker = IoUTracker(min_iou=0.3, max_missed=1)
    assert tracker.update([(0, 0, 10, 10), (50, 50, 10, 10)]) == [0, 1]
    assert tracker.update([(52, 51, 10, 10), (1, 0, 10, 10)]) == [1, 0]
    assert tracker.update([]) == [] and tracker.update([]) == []
    assert tracker.update([(0, 0, 10, 10)]) == [2]  # both tracks ended; ids are never reused
    smoother = ScoreSmoother(2)
    smoother.update(0, [0, 2])
    assert np.allclose(smoother.update(0, [2, 0]), [1, 1]) and np.allclose(smoother.update(0, [4, 0]), [3, 0])


def test_video_rows_follow_one_face(video_run, video, tmp_path):
    result = run("predict", video_run, video, "--out", tmp_path / "rows.csv", "--smooth", "3",
                 "--annotate", tmp_path / "ann", "--timeline", tmp_path / "plots")
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(tmp_path / "rows.csv")
    assert list(rows.columns[:len(BASE_COLUMNS)]) == BASE_COLUMNS
    assert len(rows) == 20 and set(rows["face_id"]) == {0}  # one track across every frame
    assert rows["time"].is_monotonic_increasing and rows["x"].iloc[-1] > rows["x"].iloc[0] + 200  # it moves right
    assert np.allclose(rows.filter(like="probability_").sum(axis=1), 1, atol=1e-3)
    import av
    with av.open(str(tmp_path / "ann" / "astronaut.annotated.mp4")) as c:
        assert sum(1 for _ in c.decode(video=0)) == 20
    assert (tmp_path / "plots" / "astronaut-face0.png").is_file()
    assert not list(tmp_path.rglob("*.partial*"))


def test_video_table_from_python(video_run, video):
    from fer_classic import video_table

    table = video_table(video_run, video, every=5)
    assert list(table["frame"]) == [0, 5, 10, 15] and table["label"].notna().all()


def test_sampling_by_step_rate_and_time(video_run, video):
    every = list(label_video(video_run, video, every=4))
    assert [r["frame"] for r in every] == [0, 4, 8, 12, 16]
    rate = list(label_video(video_run, video, fps=2.5))
    assert [r["time"] for r in rate] == [0.0, 0.4, 0.8, 1.2, 1.6]
    window = list(label_video(video_run, video, start=0.5, end=1.0))
    assert min(r["time"] for r in window) >= 0.5 and max(r["time"] for r in window) <= 1.0


def test_interrupted_video_keeps_the_rows_written_so_far(video_run, video, tmp_path):
    out = tmp_path / "rows.csv"
    writer = RowWriter(out, BASE_COLUMNS + score_columns(video_run))
    with pytest.raises(KeyboardInterrupt):
        for i, row in enumerate(label_video(video_run, video)):
            writer.write(row)
            if i == 6:
                raise KeyboardInterrupt
    partial = writer.keep_partial()
    assert not out.exists() and len(pd.read_csv(partial)) == 7


def test_bad_videos_get_clear_answers(video_run, video, tmp_path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video")
    result = run("predict", video_run, fake, "--out", tmp_path / "x.csv")
    assert result.exit_code == 1 and "notes.mp4" in result.stderr and "not a readable video" in result.stderr
    assert "Traceback" not in result.output and not (tmp_path / "x.csv").exists()
    assert not list(tmp_path.glob("x.csv*"))  # no header-only x.csv.partial either
    result = run("predict", video_run, video, tmp_path / "notes.mp4")
    assert result.exit_code == 1  # both are videos by name; the fake one is reported
    photo = tmp_path / "p.png"
    from PIL import Image
    Image.fromarray(np.zeros((48, 48), np.uint8)).save(photo)
    assert run("predict", video_run, video, photo).exit_code == 2  # photos and videos in separate calls


def test_photos_get_detector_scores_min_score_and_keep_their_format(video_run, tmp_path):
    from PIL import Image
    from skimage import data

    Image.fromarray(data.astronaut()).save(tmp_path / "astronaut.jpg", quality=90)
    result = run("predict", video_run, tmp_path / "astronaut.jpg", "--annotate", tmp_path / "ann", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows[0]["detector_score"] > 0 and (tmp_path / "ann" / "astronaut.jpg").is_file()
    # dlib also boxes the mission patch on the spacesuit, weakly: the detector score tells them apart
    assert "1 photo: 2 faces, 0 photos with no face, 0 unreadable" in result.stderr
    assert sorted(r["detector_score"] for r in rows)[0] < 0.5 < sorted(r["detector_score"] for r in rows)[1]
    result = run("predict", video_run, tmp_path / "astronaut.jpg", "--min-score", "0.5", "--format", "json")
    assert len(json.loads(result.stdout)) == 1
    result = run("predict", video_run, tmp_path / "astronaut.jpg", "--min-score", "100", "--format", "json")
    assert json.loads(result.stdout)[0]["status"] == "no face found"


def test_a_truncated_video_stops_unless_partial_labelling_is_allowed(video_run, tmp_path):
    whole = make_video(tmp_path / "whole.mp4", seconds=2.0, fps=10, options={"movflags": "faststart"})
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: len(whole.read_bytes()) * 9 // 10])  # the index is first: it opens
    out = tmp_path / "cut.csv"
    result = run("predict", video_run, cut, "--out", out, "-j", "1")
    assert result.exit_code == 1, result.output
    assert "cut.mp4" in result.stderr and "of the 20 frames its container claims" in result.stderr
    assert "--allow-partial" in result.stderr and "Traceback" not in result.output
    partial = tmp_path / "cut.csv.partial"
    assert not out.exists() and 0 < len(pd.read_csv(partial)) < 20 and str(partial) in result.stderr
    result = run("predict", video_run, cut, "--out", out, "--allow-partial", "-j", "1")
    assert result.exit_code == 0, result.output
    assert "warning:" in result.stderr and "of the 20 frames" in result.stderr
    assert 0 < len(pd.read_csv(out)) < 20
    assert run("predict", video_run, whole, "--out", tmp_path / "whole.csv", "-j", "1").exit_code == 0


def test_contradictory_sampling_options_are_usage_errors(video_run, video, tmp_path):
    result = run("predict", video_run, video, "--every", "3", "--fps", "2")
    assert result.exit_code == 2 and "--every and --fps" in result.output
    result = run("predict", video_run, video, "--start", "8", "--end", "2")
    assert result.exit_code == 2 and "--end" in result.output
    with pytest.raises(Exception, match="end .* must come after start"):
        list(label_video(video_run, video, start=8, end=2))
