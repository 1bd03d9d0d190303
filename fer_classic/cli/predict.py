"""``fer-classic predict``: the expressions of the faces in ordinary photos."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..apply.photos import predict_photos
from ..store import write_text_atomic
from . import main
from .options import Choice, runtime_options


@main.command(short_help="The expressions of the faces in photos.")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the table here (default: stdout).")
@click.option("--format", "fmt", type=Choice(["csv", "json"]), default="csv", help="Table format.")
@click.option("--annotate", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write a copy of each photo with boxes and labels drawn into this folder.")
@click.option("--detect/--no-detect", default=True,
              help="Find faces with dlib's detector, or treat each image as a cropped face (FER2013-style).")
@click.option("--upsample", type=click.IntRange(0, 4), default=0,
              help="Upsample photos this many times before detection, to find small faces.")
@click.option("--threshold", type=float, default=0.0,
              help="Detector score a face must exceed; raise it (e.g. 0.3) to drop weak detections.")
@runtime_options
def predict(run_dir, inputs, out, fmt, annotate, detect, upsample, threshold, jobs, progress):
    """Label the expression of every face in the photos INPUTS (files or folders) with RUN_DIR's model.

    Faces are found by dlib's frontal face detector, aligned the way FER2013's faces are framed
    (eyes level, same crop), and classified. One row per face: file, face index, box, label and a
    score per class (probabilities where the model has them, otherwise decision scores). A photo
    with no face gets a row saying so; unreadable files are reported and skipped (exit status 1 only
    if no file could be read).

    \b
    Example:
      fer-classic predict runs/svm-hog photos/ --annotate annotated/ --out predictions.csv
    """
    table = predict_photos(run_dir, inputs, detect=detect, upsample=upsample, threshold=threshold,
                           annotate=str(annotate) if annotate else None, n_jobs=jobs, progress=progress)
    if fmt == "json":
        records = table.astype(object).where(table.notna(), None).to_dict("records")
        text = json.dumps(records, indent=2, default=lambda v: v.item()) + "\n"
    else:
        text = table.to_csv(index=False)
    if out:
        write_text_atomic(out, text)
    else:
        click.echo(text, nl=False)
    if table["status"].str.startswith("unreadable").all():
        raise click.ClickException(f"none of the {len(table)} image files could be read (see the warnings above)")
