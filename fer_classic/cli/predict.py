"""``fer-classic predict``: the expressions of the faces in photos, videos and camera streams."""

from __future__ import annotations

import csv
import io
import json
import logging
import sys
from pathlib import Path

import click

from ..apply.photos import NO_FACE, annotate_photos, label_photos
from ..errors import FerClassicError
from ..store import write_text_atomic
from . import main
from .options import Choice, runtime_options

log = logging.getLogger(__name__)


@main.command(short_help="The expressions of the faces in photos, videos and camera streams.")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("inputs", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the table here (default: stdout).")
@click.option("--format", "fmt", type=Choice(["csv", "json"]), default="csv", help="Table format.")
@click.option("--annotate", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write a copy of each photo (in its own format) or video (as .mp4) with boxes and labels "
                   "drawn into this folder.")
@click.option("--detect/--no-detect", default=True,
              help="Find faces with dlib's detector, or treat each image as a cropped face (FER2013-style).")
@click.option("--upsample", type=click.IntRange(0, 4), default=0,
              help="Upsample photos this many times before detection, to find small faces.")
@click.option("--min-score", type=float, default=None,
              help="Keep the faces whose detector score (the detector_score column) is above this: 0.5 drops "
                   "most false faces; below 0 (e.g. -0.5) finds more faces, false ones too [default: 0].")
@click.option("--threshold", type=float, default=None, hidden=True, help="The former name of --min-score.")
@click.option("--camera", type=click.IntRange(0, 63), default=None, help="Read camera N (/dev/videoN) live.")
@click.option("--every", type=click.IntRange(1, None), default=1, help="Videos: label every N-th frame.")
@click.option("--fps", type=click.FloatRange(0, None, min_open=True), default=None,
              help="Videos: label this many frames per second instead.")
@click.option("--start", type=click.FloatRange(0, None), default=0.0, help="Videos: start at this second.")
@click.option("--end", type=click.FloatRange(0, None), default=None, help="Videos: stop at this second.")
@click.option("--smooth", type=click.IntRange(1, 1000), default=5,
              help="Videos: average each face's class scores over its last N sampled frames.")
@click.option("--detect-width", type=click.IntRange(64, 4096), default=640,
              help="Videos: find faces on a copy this many pixels wide (faster; landmarks use the full frame).")
@click.option("--detect-every", type=click.IntRange(1, 1000), default=1,
              help="Videos: run the face detector on every N-th sampled frame only (and whenever a face's "
                   "tracking confidence drops), following faces with dlib's correlation tracker in between: "
                   "several times faster for live use; 1 detects on every frame.")
@click.option("--timeline", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Videos: write a plot of each face's class scores over time into this folder.")
@click.option("--allow-partial", is_flag=True,
              help="Videos: label the readable frames of a truncated or damaged file with a warning, instead "
                   "of stopping with exit status 1.")
@runtime_options
@click.pass_context
def predict(ctx, run_dir, inputs, out, fmt, annotate, detect, upsample, threshold, min_score, camera, every, fps,
            start, end, smooth, detect_width, detect_every, timeline, allow_partial, jobs, progress):
    """Label the expression of every face in the photos or videos INPUTS (files or folders), or in a
    live camera (--camera N), with RUN_DIR's model.

    Faces are found by dlib's frontal face detector, aligned the way FER2013's faces are framed
    (eyes level, same crop), and classified. Photos: one row per face (file, face index, box,
    detector score, label, a score per class); a photo with no face gets a row saying so; unreadable
    files are reported and skipped (exit status 1 only if no file could be read). Videos (mp4, avi,
    mov, mkv, webm...): one row per face per sampled frame, with time, a face id that follows the face
    across frames, and class scores smoothed over its last frames; rows stream out as frames are
    decoded, and Ctrl-C keeps the rows written so far in OUT.partial. A video that cannot be read to
    its end stops the command (exit status 1, the rows so far kept in OUT.partial) unless
    --allow-partial.

    \b
    Example:
      fer-classic predict runs/svm-hog photos/ --annotate annotated/ --out predictions.csv
      fer-classic predict runs/svm-hog talk.mp4 --fps 5 --smooth 3 --timeline plots/ --out talk.csv
      fer-classic predict runs/svm-hog --camera 0 --fps 2
    """
    from ..apply.video import is_video

    if threshold is not None:
        if min_score is not None:
            raise click.UsageError("--threshold is the former name of --min-score: give --min-score alone")
        min_score = threshold
    # The detector keeps faces above the score (so a negative one finds more); the rows are filtered alike.
    threshold = min_score if min_score is not None else 0.0
    videos = [i for i in inputs if is_video(i)] + ([f"camera:{camera}"] if camera is not None else [])
    if not inputs and camera is None:
        raise click.UsageError("give photos, videos or folders, or --camera N")
    if videos and len(videos) != len(inputs) + (camera is not None):
        raise click.UsageError("label photos and videos in separate calls (their tables have different columns)")
    if videos:
        from click.core import ParameterSource

        if fps is not None and ctx.get_parameter_source("every") is not ParameterSource.DEFAULT:
            raise click.UsageError("--every and --fps both choose the frames to label: give one of them")
        if end is not None and end <= start:
            raise click.BadParameter(f"{end} s is not after --start ({start} s)", param_hint="--end")
        return _predict_videos(run_dir, videos, out, fmt, annotate, threshold, upsample, min_score, every, fps,
                               start, end, smooth, detect_width, timeline, jobs, progress, allow_partial, detect_every)
    # Rows as plain dicts (no pandas: with a run's predictor the first answer comes without importing it).
    columns, rows = label_photos(run_dir, inputs, detect=detect, upsample=upsample, threshold=threshold,
                                 n_jobs=jobs, progress=progress, min_score=min_score)
    if annotate:
        annotate_photos(rows, annotate)
    _emit_rows(columns, rows, out, fmt)
    statuses = [r["status"] for r in rows]
    unreadable = sum(s.startswith("unreadable") for s in statuses)
    photos = len({r["file"] for r in rows})
    log.info("%s: %s, %s with no face, %d unreadable", _count(photos, "photo"), _count(statuses.count("ok"), "face"),
             _count(statuses.count(NO_FACE), "photo"), unreadable)
    if unreadable == len(rows):
        raise click.ClickException(f"none of the {len(rows)} image files could be read (see the warnings above)")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _emit_rows(columns, rows, out, fmt) -> None:
    """The table as CSV (empty cells where a value is missing) or as a JSON list of records (null)."""
    if fmt == "json":
        text = json.dumps(rows, indent=2) + "\n"
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        text = buffer.getvalue()
    if out:
        write_text_atomic(out, text)
    else:
        click.echo(text, nl=False)


def _predict_videos(run_dir, videos, out, fmt, annotate, threshold, upsample, min_score, every, fps, start, end,
                    smooth, detect_width, timeline, jobs, progress, allow_partial, detect_every=1):
    from ..apply.video import BASE_COLUMNS, RowWriter, label_video, score_columns

    columns = BASE_COLUMNS + score_columns(run_dir)
    streaming = fmt == "csv"
    writer = RowWriter(out, columns) if streaming and out else None
    stdout = csv.DictWriter(sys.stdout, fieldnames=columns) if streaming and not out else None
    if stdout:
        stdout.writeheader()
    kept, faces = [], set()
    try:
        for video in videos:
            target = Path(annotate) / (Path(str(video)).stem.replace(":", "") + ".annotated.mp4") if annotate else None
            for row in label_video(run_dir, video, every=every, fps=fps, start=start, end=end, smooth=smooth,
                                   detect_width=detect_width, upsample=upsample, threshold=threshold,
                                   min_score=min_score, annotate=target, n_jobs=jobs, progress=progress,
                                   allow_partial=allow_partial, detect_every=detect_every):
                faces.add((row["file"], row["face_id"]))
                if writer:
                    writer.write(row)
                elif stdout:
                    stdout.writerow(row)
                if timeline or not streaming:
                    kept.append(row)
    except KeyboardInterrupt:
        if writer:
            path = writer.keep_partial()
            if path:
                click.echo(f"fer-classic: interrupted; the {writer.rows} rows written so far are in {path}", err=True)
        raise
    except FerClassicError as exc:
        path = writer.keep_partial() if writer else None
        if path:
            raise click.ClickException(f"{exc}\nthe {writer.rows} rows written before it are in {path}") from exc
        raise
    if writer:
        writer.finish()
    if not streaming:
        _emit_rows(columns, [{c: row.get(c) for c in columns} for row in kept], out, fmt)
    if timeline:
        import pandas as pd

        from ..evaluation.plots import plot_timelines

        for path in plot_timelines(pd.DataFrame(kept, columns=columns), Path(timeline)):
            log.info("timeline: %s", path)
    log.info("%s: %s", _count(len(videos), "video"), _count(len(faces), "face track"))
