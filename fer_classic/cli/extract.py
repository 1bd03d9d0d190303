"""``fer-classic extract``: a dataset's descriptors, written as feature files and a manifest."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from ..data import default_sample_path, load_dataset
from ..features import DEFAULT_DESCRIPTORS, DESCRIPTORS, validate_descriptor
from ..features.extraction import extract_features
from ..features.photometric import PHOTOMETRIC
from . import main
from .options import (
    Choice,
    dataset_options,
    descriptor_options,
    descriptor_params_from,
    parse_feature_names,
    runtime_options,
    scheduler_option,
)

log = logging.getLogger(__name__)

@main.command(short_help="Descriptors of a face dataset, as feature files.")
@click.argument("data", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--features", "-f", default=",".join(DEFAULT_DESCRIPTORS), show_default=True,
              help=f"Descriptors to extract, comma-separated, from: {', '.join(DESCRIPTORS)}.")
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the feature files and manifest.json.")
@click.option("--mirror", is_flag=True,
              help="Also describe every image flipped left to right (OUT/<descriptor>.mirror.npz), for "
                   "train --mirror.")
@click.option("--align", is_flag=True,
              help="Align every face by its dlib landmarks first (eyes level, at FER2013's positions); runs "
                   "trained on these features align the faces they are given too. For data framed unlike FER2013.")
@click.option("--photometric", type=Choice(list(PHOTOMETRIC)), default="none", show_default=True,
              help="Normalise every grayscale face's lighting before it is described (clahe: adaptive "
                   "histogram equalisation; tan-triggs: gamma, difference of Gaussians and contrast "
                   "equalisation; standardise: zero mean, unit variance per face); runs trained on these "
                   "features normalise the faces they are given too.")
@click.option("--force", is_flag=True, help="Recompute descriptors that are already up to date.")
@dataset_options
@descriptor_options
@scheduler_option
@runtime_options
def extract(data, features, out, mirror, align, photometric, force, dataset_kwargs, jobs, progress, **options):
    """Extract descriptors from the face images in DATA (default: the embedded FER2013 sample).

    DATA is a fer2013.csv, a folder with train/ and test/ split folders holding one folder per
    class, or a folder of class folders. Writes OUT/<descriptor>.npz and OUT/manifest.json;
    descriptors already there for the same data and parameters are reused.

    \b
    Example:
      fer-classic extract ~/fer2013 --features hog,lbp --hog-pixels-per-cell 8 --out feats
      fer-classic extract ~/photos --features hog --align --photometric clahe --out feats-canonical
    """
    names = parse_feature_names(features)
    params = descriptor_params_from(options, names)
    if photometric != "none":
        for name in names:
            params[name]["photometric"] = photometric
    for name in names:  # bad descriptor parameters are a usage error, found before any work
        try:
            validate_descriptor(name, **params[name])
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint=f"--{name}-*") from None
    dataset = load_dataset(data or default_sample_path(), n_jobs=jobs, progress=progress, **dataset_kwargs)
    log.info("%d images from %s (%s layout%s)", len(dataset), dataset.source, dataset.layout,
             f", {len(dataset.skipped)} unreadable files skipped" if dataset.skipped else "")
    manifest = extract_features(dataset, out, params, force=force, mirror=mirror, align=align, n_jobs=jobs,
                                progress=progress, strict=dataset_kwargs["strict"])
    for name in names:
        entry = manifest["descriptors"][name]
        click.echo(f"{out / entry['file']}\t{entry['dim']}-d\t{entry['seconds']:.1f} s")
