"""``fer-classic report``: runs side by side with published reference numbers."""

from __future__ import annotations

from pathlib import Path

import click

from ..reporting.report import FORMATS, write_report
from . import main
from .options import parse_predictions


def parse_formats(ctx, param, value) -> list[str]:
    formats = [f.strip() for f in value.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise click.BadParameter(f"{', '.join(unknown) or '(none)'}: choose from {', '.join(FORMATS)}")
    return formats


@main.command(short_help="Runs side by side with published reference numbers.")
@click.argument("run_dirs", nargs=-1, required=True,
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The report's path; each format is written beside it with its own suffix.")
@click.option("--predictions", "-p", multiple=True, callback=parse_predictions, metavar="NAME=FILE.csv",
              help="Your own model's predictions on the same test images (columns id or file, predicted): shown "
                   "as an external row with its interval and McNemar tests. Repeatable.")
@click.option("--evaluation", "-e", "evaluations", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Output of fer-classic evaluate (a run on other datasets), shown as a dataset x run table. "
                   "Repeatable.")
@click.option("--format", "formats", default="md,html", show_default=True, callback=parse_formats,
              help=f"Formats to write, comma-separated: {', '.join(FORMATS)}.")
@click.option("--title", default="fer-classic: classical FER baselines", help="The report's title.")
def report(run_dirs, out, predictions, evaluations, formats, title):
    """Compare RUN_DIRS with each other, with your own models and with published reference numbers.

    Each accuracy comes with n and a 95% interval; results on the same test images are compared with
    exact McNemar tests. Markdown figures go in OUT's <name>_files/ folder; the HTML is self-contained.
    Runs on other data or another protocol than the main group are shown but not ranked with it.

    \b
    Example:
      fer-classic report runs/* --out reports/fer2013.md
      fer-classic report runs/* -p my-cnn=cnn_predictions.csv --format md,html,json -o report.md
      fer-classic report runs/* --format tex -o leaderboard.tex     # a booktabs table for a paper
    """
    for path in write_report(run_dirs, out, title=title, predictions=predictions, evaluations=evaluations,
                             formats=formats):
        click.echo(path)
