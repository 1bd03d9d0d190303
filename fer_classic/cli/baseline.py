"""``fer-classic baseline``: the whole standard suite and its report in one command."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import click

from ..data import default_sample_path, load_dataset
from ..errors import did_you_mean
from ..pipelines import standard_suite
from ..reporting.report import write_report
from ..suite import record_wall_time, run_pipelines
from . import main
from .options import command_line, runtime_options, scheduler_option

log = logging.getLogger(__name__)


@main.command(short_help="The whole standard suite and its report, in one command.")
@click.argument("data", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for features/, runs/ and report.md/.html.")
@click.option("--force", is_flag=True, help="Replace runs already in OUT.")
@click.option("--seed", type=int, default=42,
              help="Seed of every random choice of training (validation split, PCA, classifiers); the bag of "
                   "words' vocabulary keeps its own (extract --bovw-seed, default 0).")
@click.option("--keep-features", is_flag=True,
              help="Keep OUT/features, the descriptors of every image (597 MB for the embedded sample, about 6 GB "
                   "for FER2013), to train more models on them; by default only their manifests and learned "
                   "states stay once every run is complete.")
@click.option("--keep-models", is_flag=True,
              help="Keep every run's scikit-learn model (model.skops; 125 MB in all for the embedded sample), for Python "
                   "use (fer_classic.load_run); by default a run whose predictor.npz labels alike keeps that alone, "
                   "which predict, evaluate and video labelling use.")
@click.option("--skip", default="", metavar="NAMES",
              help="Pipelines of the suite to leave out, comma-separated (e.g. best: the standard suite alone).")
@scheduler_option
@runtime_options
def baseline(data, out, force, seed, keep_features, keep_models, skip, jobs, progress):
    """Extract every descriptor from DATA (default: the embedded sample), train the standard suite and
    write the comparison report OUT/report.md (and .html).

    Runs already complete in OUT with the same settings and data are kept, so an interrupted suite
    resumes where it stopped; the report's wall time adds up every invocation that built OUT. The
    feature files are removed once every run is complete (--keep-features keeps them); a later
    invocation that has runs to train extracts them again, the same. So is the scikit-learn model of
    each run that has a numpy predictor (--keep-models keeps it): the predictor gives the same labels.

    The suite: the KNN grid on raw pixels and on the intensity histogram; MLP, SVM and random forest
    on HOG, LBP and landmarks; an SVM on the fusion of HOG, LBP and landmarks; and the best preset
    (see train --preset).

    \b
    Example:
      fer-classic baseline --out out/baseline
      fer-classic baseline ~/fer2013 --out out/fer2013
      fer-classic baseline ~/fer2013 --out out/fer2013 --skip best
    """
    suite = standard_suite(seed)
    skipped = [name.strip() for name in skip.split(",") if name.strip()]
    for name in skipped:
        if name not in {p.name for p in suite}:
            raise click.BadParameter(f"{name!r} is not in the suite{did_you_mean(name, [p.name for p in suite])}",
                                     param_hint="--skip")
    suite = [p for p in suite if p.name not in skipped]
    start = time.perf_counter()
    dataset = load_dataset(data or default_sample_path(), n_jobs=jobs, progress=progress)
    log.info("%d images from %s", len(dataset), dataset.source)
    run_pipelines(dataset, suite, out, n_jobs=jobs, progress=progress, force=force, command=command_line(),
                  keep_features=keep_features, keep_models=keep_models)
    wall = record_wall_time(out, time.perf_counter() - start, restart=force)
    for path in write_report([out / "runs" / p.name for p in suite], out / "report.md", wall_seconds=wall):
        click.echo(path)
