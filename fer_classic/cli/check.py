"""``fer-classic check``: the accuracy regression gate for CI."""

from __future__ import annotations

from pathlib import Path

import click

from ..data import default_sample_path, load_dataset
from ..suite import check_baseline
from . import main
from .options import command_line, runtime_options


@main.command(short_help="Fail (exit 1) when a baseline's accuracy regresses: the CI gate.")
@click.argument("data", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--baseline", "-b", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON file listing pipelines and the accuracy each reached.")
@click.option("--tolerance", type=click.FloatRange(0, 1), default=None,
              help="Allowed drop in accuracy [default: the file's, else 0.01].")
@click.option("--update", is_flag=True, help="Rewrite the baseline file with the accuracies reached now.")
@runtime_options
def check(data, baseline, tolerance, update, jobs, progress):
    """Re-run the pipelines of a baseline file on DATA (default: the embedded sample) and fail (exit
    status 1) when any accuracy falls below its baseline minus the tolerance.

    \b
    Example:
      fer-classic check --baseline reports/baseline.json
      fer-classic check --baseline reports/baseline.json --update
    """
    dataset = load_dataset(data or default_sample_path(), n_jobs=jobs, progress=progress)
    rows, regressed = check_baseline(baseline, dataset, tolerance=tolerance, update=update, n_jobs=jobs,
                                     progress=progress, command=command_line())
    click.echo(f"{'pipeline':28s} {'baseline':>9s} {'now':>9s} {'change':>8s}  status")
    for r in rows:
        base = "–" if r["baseline"] is None else f"{r['baseline']:.4f}"
        change = "" if r["change"] is None else f"{round(r['change'], 4) + 0.0:+.4f}"
        click.echo(f"{r['pipeline']:28s} {base:>9s} {r['now']:9.4f} {change:>8s}  {r['status']}")
    if update:
        click.echo(f"{baseline}: updated")
    elif regressed:
        raise click.ClickException("accuracy regressed below the baseline (see REGRESSED above)")
