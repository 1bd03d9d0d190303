"""``fer-classic evaluate``: a trained run's metrics on another dataset or split."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..apply.evaluate import evaluate_run
from ..data import USAGES
from . import main
from .options import Choice, dataset_options, runtime_options


@main.command(short_help="A trained run's metrics on another dataset or split.")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("data", type=click.Path(exists=True, path_type=Path))
@click.option("--split", type=Choice(USAGES), default=None,
              help="Only the images of this FER2013 usage (default: all images).")
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the metrics as JSON here (default: to stdout).")
@dataset_options
@runtime_options
def evaluate(run_dir, data, split, out, dataset_kwargs, jobs, progress):
    """Score the pipeline of RUN_DIR on the images of DATA (any layout extract reads).

    The run's descriptors are extracted from DATA with the parameters it was trained with. Classes
    the model never saw are reported and counted as errors.

    \b
    Example:
      fer-classic evaluate runs/svm ~/fer2013 --split PrivateTest --out private.json
    """
    result = evaluate_run(run_dir, data, split=split, out=out, n_jobs=jobs, progress=progress,
                          dataset_kwargs=dataset_kwargs)
    if out:
        click.echo(f"{out}\t{result['split']}: accuracy {result['accuracy']:.4f}\tbalanced "
                   f"{result['balanced_accuracy']:.4f}\tmacro-F1 {result['macro_f1']:.4f}\t(n={result['n']})")
    else:
        click.echo(json.dumps(result, indent=2))
