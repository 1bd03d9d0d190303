"""``fer-classic train``: PCA and a classifier on extracted features, selected and tested honestly."""

from __future__ import annotations

from dataclasses import MISSING, fields
from pathlib import Path

import click

from ..models import MIRROR_MODES, MODEL_KINDS, read_grid_file
from ..pipelines import PIPELINES, named_pipeline
from ..store import BASIS_PRECISIONS
from ..training import PROTOCOLS, EnsembleSpec, TrainSpec, train_ensemble, train_run
from . import main
from .options import Choice, command_line, model_param_options, parse_feature_names, runtime_options, scheduler_option


def parse_pca(value: str):
    """``none``, a component count (``50``) or a fraction of variance to keep (``0.95``)."""
    if value.lower() == "none":
        return None
    try:
        number = float(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: use none, a component count or a variance fraction",
                                 param_hint="--pca") from None
    if 0 < number < 1:
        return number
    if number >= 1 and number == int(number):
        return int(number)
    raise click.BadParameter(f"{value!r}: a count must be a whole number >= 1, a fraction lie in (0, 1)",
                             param_hint="--pca")


@main.command(short_help="PCA and a classifier on extracted features, selected honestly.")
@click.argument("features_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--features", "-f", help="Descriptors to fuse, comma-separated (e.g. hog,lbp).")
@click.option("--model", "-m", type=Choice(list(MODEL_KINDS)), help="Classifier.")
@click.option("--preset", "preset_name", type=Choice(list(PIPELINES)), default=None,
              help="A named pipeline instead of --features/--model: best is the strongest (an ensemble; "
                   f"extract its features with: {'; '.join(named_pipeline('best').extract_commands())}); "
                   "the others are the standard suite's.")
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Run directory to create.")
@click.option("--pca", default="none", help="PCA: none, a component count (200) or a variance fraction (0.95).")
@click.option("--whiten", is_flag=True, help="Whiten the PCA components.")
@click.option("--pca-precision", type=Choice(list(BASIS_PRECISIONS)), default=None,
              help="Round the fitted PCA basis to float32 or float16 values: stored exactly in that type "
                   "(half a float64 or a float32 basis), used so in training and prediction alike.")
@click.option("--float16-rows", is_flag=True,
              help="Round the classifier's input rows to float16 values: the rows a model keeps (SVM support "
                   "vectors, KNN and local learning's rows) are stored in half the bytes of float32.")
@click.option("--int8-rows", is_flag=True,
              help="Round the classifier's input rows to a grid of -127..127 steps per column (a column's step: "
                   "its largest magnitude among the fit rows over 127): the rows a model keeps are stored as int8 "
                   "numbers and a step per column, a quarter of the bytes of float32.")
@click.option("--scale/--no-scale", default=True, help="Standardise features before PCA and the classifier.")
@click.option("--grid", "grid", is_flag=False, flag_value="default", default=None,
              help="Search the model's default grid (--grid alone) or one from a YAML/JSON file.")
@click.option("--protocol", type=Choice(PROTOCOLS), default=None,
              help="usage (default when the data has FER2013 usage), stratified 70/10/20, or kfold.")
@click.option("--folds", type=click.IntRange(2, 100), default=10, help="Folds for --protocol kfold.")
@click.option("--seed", type=int, default=42,
              help="Seed of every random choice of training: validation split, folds, PCA, classifier. (A bag "
                   "of words' vocabulary is learned at extraction, seeded by extract --bovw-seed.)")
@click.option("--class-weight", type=Choice(["balanced"]), default=None,
              help="Weight classes inversely to their frequency (svm, rf).")
@click.option("--mirror", type=Choice(MIRROR_MODES), default="none", show_default=True,
              help="train: add each training image's mirror image (needs extract --mirror); both: also "
                   "average each prediction over the face and its mirror.")
@click.option("--calibrate/--no-calibrate", default=True, show_default=True,
              help="svm, local: keep the model fitted on the fit split and calibrate its scores into probabilities "
                   "on the validation split (temperature scaling; predictions unchanged). --no-calibrate refits on "
                   "fit + validation and gives raw decision scores.")
@click.option("--refit/--no-refit", default=None,
              help="Ensembles (--preset best, compact): after weighting the members fitted on the fit split, fit "
                   "each again on fit + validation and ship those (best does unless --no-refit: every member fitted "
                   "twice, and +1.03 points on FER2013's PublicTest, exact McNemar p = 0.014; compact "
                   "does with --refit).")
@click.option("--augment", default="", metavar="CONDITIONS",
              help="Fit the classifier on every fit-split image once more under each of these conditions "
                   "(comma-separated: lowlight, glasses, mask, tilt, blur, noise, jpeg, shift), at a seeded random "
                   "level; never validation or test. Reads the images again from where the features came from.")
@click.option("--force", is_flag=True, help="Replace an existing run directory.")
@model_param_options
@scheduler_option
@runtime_options
def train(features_dir, features, model, preset_name, out, pca, whiten, pca_precision, float16_rows, int8_rows, scale,
          grid, protocol, folds, seed, class_weight, mirror, calibrate, refit, augment, force, jobs, progress,
          **options):
    """Train MODEL on the FEATURES of FEATURES_DIR (made by extract) and test it honestly.

    Model selection (--grid) uses the protocol's validation split, never its test split. Writes
    OUT/metrics.json, confusion_matrix.csv/.png, grid.csv, model.skops, and for KNN grids a plot of
    accuracy against k, for MLPs the learning curves.

    \b
    Example:
      fer-classic train feats --features raw --model knn --grid --pca none --no-scale --out runs/knn-raw
      fer-classic train feats -f hog,lbp -m svm --pca 0.95 --C 10 --out runs/svm
      fer-classic train feats --preset best --out runs/best
    """
    given = {k[len("param_"):]: v for k, v in options.items() if k.startswith("param_") and v is not None}
    # the TrainSpec settings given on the command line, by their TrainSpec names
    chosen = dict(features=features, model=model, params=given, pca=parse_pca(pca), whiten=whiten,
                  pca_precision=pca_precision, float16_rows=float16_rows, int8_rows=int8_rows, scale=scale,
                  grid=grid, class_weight=class_weight, mirror=mirror, calibrate=calibrate,
                  augment=[a for a in augment.split(",") if a.strip()])
    if preset_name:
        conflicting = _settings_a_preset_fixes(chosen)
        if conflicting:
            raise click.UsageError(f"--preset sets the whole pipeline; drop {', '.join(conflicting)}")
        pipeline = named_pipeline(preset_name, seed=seed)
        spec = pipeline.spec
        spec.protocol = protocol
        what = f"{preset_name} preset"
        _warn_if_extracted_otherwise(features_dir, pipeline)
    else:
        if not features or not model:
            raise click.UsageError("give --features and --model, or --preset")
        if float16_rows and int8_rows:
            raise click.UsageError("give --float16-rows or --int8-rows, not both")
        names = parse_feature_names(features)
        foreign = sorted(set(given) - set(MODEL_KINDS[model].param_names()))
        if foreign:
            raise click.UsageError(f"{model} takes no --{', --'.join(f.replace('_', '-') for f in foreign)} "
                                   f"(it takes --{', --'.join(p.replace('_', '-') for p in MODEL_KINDS[model].param_names())})")
        spec = TrainSpec(**{**chosen, "features": names,
                            "grid": read_grid_file(grid, model) if grid and grid != "default" else grid},
                         protocol=protocol, seed=seed, folds=folds)
        what = f"{model} {'+'.join(names)}"
    if refit is not None:
        if not isinstance(spec, EnsembleSpec):
            raise click.UsageError(f"--{'' if refit else 'no-'}refit is for ensembles (--preset best, compact); "
                                   f"{what} is a single model")
        spec.refit = refit
    trainer = train_ensemble if isinstance(spec, EnsembleSpec) else train_run
    metrics = trainer(features_dir, out, spec, n_jobs=jobs, force=force,
                      command=command_line())
    lo, hi = metrics["intervals"]["accuracy"]
    click.echo(f"{out}\t{what}\t{metrics['test_split']} accuracy {metrics['accuracy']:.4f} [95% CI {lo:.4f}, "
               f"{hi:.4f}] (n={metrics['n_test']})\tbalanced {metrics['balanced_accuracy']:.4f}"
               f"\tmacro-F1 {metrics['macro_f1']:.4f}\t({metrics['protocol']} protocol)")


# The TrainSpec settings a preset takes from the command line; it fixes every other one.
PRESET_TAKES = ("protocol", "seed", "folds")


def _settings_a_preset_fixes(chosen: dict) -> list[str]:
    """The options in ``chosen`` (TrainSpec settings from the command line) that a preset fixes and that
    were given a value other than TrainSpec's default, as the user typed them."""
    flags = []
    for f in fields(TrainSpec):
        value = chosen.get(f.name)
        default = f.default_factory() if f.default_factory is not MISSING else f.default
        if f.name in PRESET_TAKES or value is None or value == default or (f.default is MISSING and not value):
            continue
        if f.name == "params":
            flags += [f"--{p.replace('_', '-')}" for p in value]
        else:
            flags.append(f"--no-{f.name}" if value is False and default is True else f"--{f.name.replace('_', '-')}")
    return flags


def _warn_if_extracted_otherwise(features_dir, pipeline) -> None:
    """A preset names the descriptor parameters its features are extracted with; features extracted
    otherwise still train, but the run is then not the preset's, and the user is told."""
    import json
    import logging

    from ..features import make_descriptor
    from ..store import FeatureDirectory
    from ..training.spec import ALIGNED_FOLDER

    log = logging.getLogger(__name__)
    for aligned in ((False, True) if pipeline.mixes_alignment else (False,)):
        folder = Path(features_dir) / ALIGNED_FOLDER if aligned else Path(features_dir)
        manifest = FeatureDirectory(folder).manifest_or_none() or {}
        if manifest and bool(manifest.get("align")) != (pipeline.align or aligned):
            log.warning("%s holds features of %s faces; the %s preset extracts them %s: this run is not the preset's",
                        folder, "aligned" if manifest.get("align") else "unaligned", pipeline.name,
                        "with --align" if pipeline.align or aligned else "without --align")
        for name, params in pipeline.descriptors(aligned).items():
            entry = (manifest.get("descriptors") or {}).get(name)
            if entry is None:
                continue  # training reports the missing descriptor
            wanted = json.loads(json.dumps(make_descriptor(name, **params).descriptor_params()))
            if entry.get("params") != wanted:
                differ = {k: v for k, v in entry["params"].items() if wanted.get(k) != v}
                log.warning("%s was extracted with %s; the %s preset extracts it with %s: this run is not the preset's",
                            name, differ, pipeline.name, {k: wanted[k] for k in differ})
