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


def test_faces_of_several_frames_labelled_at_once_get_the_rows_of_frame_by_frame(video_run, video):
    by_frame = pd.DataFrame(list(label_video(video_run, video, smooth=3, label_batch=1)))
    for size in (3, 8, 64):  # a batch that divides the 20 frames unevenly, the default, more than all
        batched = pd.DataFrame(list(label_video(video_run, video, smooth=3, label_batch=size)))
        pd.testing.assert_frame_equal(batched, by_frame)
    assert len(by_frame) == 20 and by_frame["label"].notna().all()
    with pytest.raises(Exception, match="label_batch are at least 1"):
        list(label_video(video_run, video, label_batch=0))


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
    kept = len(pd.read_csv(partial))
    assert not out.exists() and 0 < kept < 20 and str(partial) in result.stderr
    result = run("predict", video_run, cut, "--out", out, "--allow-partial", "-j", "1")
    assert result.exit_code == 0, result.output
    assert "warning:" in result.stderr and "of the 20 frames" in result.stderr
    assert len(pd.read_csv(out)) == kept  # the stop kept the rows of every frame that could be read
    assert run("predict", video_run, whole, "--out", tmp_path / "whole.csv", "-j", "1").exit_code == 0


def test_contradictory_sampling_options_are_usage_errors(video_run, video, tmp_path):
    result = run("predict", video_run, video, "--every", "3", "--fps", "2")
    assert result.exit_code == 2 and "--every and --fps" in result.output
    result = run("predict", video_run, video, "--start", "8", "--end", "2")
    assert result.exit_code == 2 and "--end" in result.output
    with pytest.raises(Exception, match="end .* must come after start"):
        list(label_video(video_run, video, start=8, end=2))


def test_faces_followed_between_detections_give_the_labels_of_detection_on_every_frame(video_run, tmp_path):
    long_video = make_video(tmp_path / "long.mp4", seconds=4, fps=25)  # 100 frames, the face crossing the frame
    every_frame = pd.DataFrame(list(label_video(video_run, long_video, n_jobs=1)))
    followed = pd.DataFrame(list(label_video(video_run, long_video, detect_every=10)))
    assert len(every_frame) == len(followed) == 100 and set(followed["face_id"]) == {0}
    both = every_frame.merge(followed, on="frame", suffixes=("", "_followed"))
    # this test's model (5 neighbours on 30 HOG components, unsmoothed) flips on small framing changes;
    # benchmarks/video_speed.py measures the agreement of the shipped presets
    assert (both["label"] == both["label_followed"]).mean() >= 0.9
    # the boxes stay on the face: overlap with the detector's box on every frame
    from fer_classic.faces.tracking import iou

    overlaps = [iou(tuple(a), tuple(b)) for a, b in zip(both[["x", "y", "width", "height"]].to_numpy(),
                                                       both[["x_followed", "y_followed", "width_followed",
                                                             "height_followed"]].to_numpy())]
    assert min(overlaps) > 0.5


def test_the_detector_runs_on_schedule_and_when_tracking_is_lost(tmp_path):
    from fer_classic.apply.video import sampled_frames
    from fer_classic.faces.tracking import FollowedFaces

    frames = [rgb for _, _, rgb in sampled_frames(make_video(tmp_path / "v.mp4", seconds=2, fps=10))]
    follow = FollowedFaces(detect_every=5, detect_width=640)
    found = [follow(rgb) for rgb in frames]
    assert follow.detections == 4 and [f[0]["detected"] for f in found[:6]] == [True] + [False] * 4 + [True]
    # the face gone (a blank frame): the tracker's confidence drops, the detector runs and finds nothing
    follow = FollowedFaces(detect_every=50, detect_width=640)
    follow(frames[0])
    assert follow(np.full_like(frames[1], 90)) == [] and follow.detections == 2
    with pytest.raises(ValueError):
        FollowedFaces(detect_every=0)


def test_decoding_in_a_thread_keeps_order_raises_in_place_and_stops_when_closed():
    from fer_classic.apply.video import decoded_in_thread

    assert list(decoded_in_thread(iter(range(50)), ahead=3)) == list(range(50))

    def failing():
        yield 1
        raise ValueError("damaged packet")

    got = []
    with pytest.raises(ValueError, match="damaged packet"):
        for item in decoded_in_thread(failing()):
            got.append(item)
    assert got == [1]
    closed = []

    def endless():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.append(True)

    stream = decoded_in_thread(endless(), ahead=2)
    assert [next(stream) for _ in range(5)] == [0, 1, 2, 3, 4]
    stream.close()
    assert closed == [True]


def test_predict_detect_every_from_the_command_line(video_run, video, tmp_path):
    result = run("predict", video_run, video, "--detect-every", "5", "--out", tmp_path / "rows.csv", "-q")
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(tmp_path / "rows.csv")
    assert len(rows) == 20 and set(rows["face_id"]) == {0}
    assert run("predict", video_run, video, "--detect-every", "0", "--out", tmp_path / "x.csv").exit_code == 2
