"""``fer-classic evaluate``: a trained run's metrics on another dataset or split."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..apply.evaluate import evaluate_run
from ..data import USAGES
from ..store import write_json_atomic
from . import main
from .options import Choice, dataset_options, parse_predictions, runtime_options


@main.command(short_help="A trained run's metrics on another dataset or split.")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("data", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--split", type=Choice(["test", "all", *USAGES]), default="test",
              help="Which images: test is the run's own test split (e.g. PublicTest) where DATA has it, else "
                   "every image (class folders have no split); all is every image, Training included; or a "
                   "FER2013 usage.")
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the metrics as JSON here (default: to stdout).")
@click.option("--conditions", default=None,
              help="Also score under image conditions at each of --levels, comma-separated, or all: "
                   "lowlight, glasses, mask, tilt, blur, noise, jpeg, shift.")
@click.option("--levels", default="1,2,3", show_default=True,
              help="The conditions' levels to score at, comma-separated (1 mild ... 3 severe).")
@click.option("--seed", type=int, default=0, help="Seed of the conditions' random choices.")
@click.option("--predictions", "-p", multiple=True, callback=parse_predictions, metavar="NAME=FILE.csv",
              help="Another model's predictions on the same images (columns id or file, predicted), e.g. a "
                   "CNN's: scored beside the run with its intervals and an exact McNemar test against it. "
                   "Repeatable; with one DATA.")
@dataset_options
@runtime_options
def evaluate(run_dir, data, split, out, conditions, levels, seed, predictions, dataset_kwargs, jobs, progress):
    """Score the pipeline of RUN_DIR on the images of each DATA (any layout extract reads).

    By default only DATA's images of the run's test split are scored where DATA has that split (a
    FER2013 copy: PublicTest), and every image of data without splits; --split all scores every image.
    The run's descriptors are extracted from DATA with the parameters it was trained with. Classes
    the model never saw are reported and counted as errors. Each accuracy comes with n and a 95%
    interval. With several DATA, the JSON is a list (one entry per dataset); give it to
    report --evaluation for a dataset x run table.

    \b
    Example:
      fer-classic evaluate runs/svm ~/fer2013 --split PrivateTest --out private.json
      fer-classic evaluate runs/svm ~/fer2013 ~/ckplus ~/jaffe --out cross.json
      fer-classic evaluate runs/svm ~/fer2013 --split PublicTest --conditions all --out robust.json
      fer-classic evaluate runs/svm ~/jaffe -p mini-xception=cnn-jaffe.csv --out jaffe.json
    """
    if predictions and len(data) > 1:
        raise click.UsageError("--predictions name one dataset's images: give one DATA with it (and every "
                               "evaluation's JSON to report --evaluation)")
    from ..faces.conditions import CONDITIONS, parse_conditions, parse_levels

    names = list(CONDITIONS) if conditions == "all" else parse_conditions(conditions) if conditions else []
    levels = parse_levels(levels)
    results = [evaluate_run(run_dir, d, split=split, n_jobs=jobs, progress=progress, dataset_kwargs=dataset_kwargs,
                            conditions=names, seed=seed, levels=levels, compare=predictions) for d in data]
    doc = results[0] if len(results) == 1 else results
    if out:
        write_json_atomic(out, doc)
        for r in results:
            lo, hi = r["intervals"]["accuracy"]
            click.echo(f"{r['data']} ({r['split']}): accuracy {r['accuracy']:.2%} [{lo:.2%}, {hi:.2%}] (n={r['n']})"
                       f"\tbalanced {r['balanced_accuracy']:.2%}\tmacro-F1 {r['macro_f1']:.2%}")
            for c in r.get("compared", []):
                t = c["mcnemar"]
                click.echo(f"  {c['name']}: accuracy {c['accuracy']:.2%} (n={c['n']}); the run {t['difference']:+.2%} "
                           f"({t['a_right_b_wrong']} vs {t['a_wrong_b_right']} images only one got right, "
                           f"exact McNemar p = {t['p_value']:.2g})")
        click.echo(out)
    else:
        click.echo(json.dumps(doc, indent=2))
