"""``fer-classic report``: runs side by side with published reference numbers."""

from __future__ import annotations

from pathlib import Path

import click

from ..reporting.report import write_report
from . import main


@main.command(short_help="Runs side by side with published reference numbers.")
@click.argument("run_dirs", nargs=-1, required=True,
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The Markdown report; the HTML is written beside it with the same name.")
@click.option("--title", default="fer-classic: classical FER baselines", help="The report's title.")
def report(run_dirs, out, title):
    """Compare RUN_DIRS with each other and with published reference numbers.

    Writes OUT (Markdown, figures in OUT's <name>_files/ folder) and a self-contained HTML beside it.
    Runs on other data or another protocol than the main group are shown but not ranked with it.

    \b
    Example:
      fer-classic report runs/* --out reports/fer2013.md
    """
    md, page = write_report(run_dirs, out, title=title)
    click.echo(f"{md}\n{page}")
