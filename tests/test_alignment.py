"""extract --align: faces aligned by their landmarks before description, in training and prediction alike."""

import json

import numpy as np
import pytest

from fer_classic.faces import landmarks
from fer_classic.faces.conditions import apply_condition
from fer_classic.faces.dlib_faces import eye_centres
from fer_classic.features.alignment import FaceAligner

from .conftest import run


def _eye_line(images):
    """Mean eye centres (left, right) over images, from dlib's landmarks."""
    centres = np.array([np.concatenate(eye_centres(landmarks(im))) for im in images])
    return centres.mean(axis=0)


def test_aligner_undoes_a_tilt(sample):
    faces = sample.images[:60]
    tilted = apply_condition(faces, "tilt", 3)  # 30 degrees
    before = _eye_line(tilted)
    after = _eye_line(FaceAligner().transform(tilted))
    slope = lambda e: abs(e[3] - e[1]) / abs(e[2] - e[0])  # noqa: E731
    assert slope(after) < 0.5 * slope(before)  # the eye line is level again
    assert FaceAligner().transform(faces).shape == faces.shape


def test_the_same_images_are_aligned_once(sample, monkeypatch):
    """Several aligned members of an ensemble get the same images: the landmarks are found once."""
    import fer_classic.features.alignment as alignment

    calls = []
    align_chunk = alignment._align_chunk
    monkeypatch.setattr(alignment, "_align_chunk", lambda images, size: calls.append(len(images))
                        or align_chunk(images, size))
    faces = sample.images[100:130].copy()
    first = FaceAligner(n_jobs=1).transform(faces)
    again = FaceAligner(n_jobs=1).transform(faces.copy())
    assert sum(calls) == 30 and np.array_equal(first, again)
    again[:] = 0  # what a caller does with its copy does not reach the next one
    assert np.array_equal(FaceAligner(n_jobs=1).transform(faces), first) and sum(calls) == 30
    FaceAligner(n_jobs=1).transform(faces[::-1].copy())  # other images: aligned
    FaceAligner(n_jobs=1, size=32).transform(faces)  # another size: aligned
    assert sum(calls) == 90


def test_pass_through_blocks_nest(sample):
    """A caller that hands aligned faces to a member that passes them through itself (the mirror
    averaging of an aligned member) keeps its own pass-through after the member's block ends."""
    aligner = FaceAligner(n_jobs=1)
    faces = sample.images[:3]
    with aligner.passing_through():
        with aligner.passing_through():
            assert np.array_equal(aligner.transform(faces), faces)
        assert np.array_equal(aligner.transform(faces), faces)  # still passing through
    assert not np.array_equal(aligner.transform(faces), faces)  # aligning again


def test_aligned_features_make_runs_that_align_what_they_are_given(sample_path, tmp_path):
    feats = tmp_path / "aligned"
    result = run("extract", sample_path, "-f", "hog", "--hog-pixels-per-cell", "8", "--align", "-o", feats, "-j", "2")
    assert result.exit_code == 0, result.output
    assert json.loads((feats / "manifest.json").read_text())["align"] is True
    result = run("train", feats, "-f", "hog", "-m", "svm", "--pca", "30", "-o", tmp_path / "run")
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["faces_aligned"] is True
    # evaluate runs the saved model on the raw images: the aligner inside gives the features trained on
    result = run("evaluate", tmp_path / "run", sample_path, "--split", "PublicTest")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["accuracy"] == pytest.approx(metrics["accuracy"])
    # unaligned extraction into the same folder replaces the aligned features instead of mixing them
    result = run("extract", sample_path, "-f", "hist", "-o", feats, "-j", "1")
    manifest = json.loads((feats / "manifest.json").read_text())
    assert result.exit_code == 0 and manifest["align"] is False and list(manifest["descriptors"]) == ["hist"]


def test_a_saved_model_with_mirror_images_predicts_what_training_measured(sample_path, tmp_path):
    """Mirror features of aligned faces are the aligned face flipped (extract aligns, then flips): the
    saved model must score the same flipped aligned face, not align the flipped image anew."""
    import pandas as pd

    feats = tmp_path / "aligned"
    assert run("extract", sample_path, "-f", "hog", "--hog-pixels-per-cell", "8", "--align", "--mirror", "-o", feats,
               "-j", "2").exit_code == 0
    result = run("train", feats, "-f", "hog", "-m", "svm", "--pca", "30", "--mirror", "both", "-o", tmp_path / "run")
    assert result.exit_code == 0, result.output
    measured = pd.read_csv(tmp_path / "run" / "predictions.csv")
    store: dict = {}
    from fer_classic.apply.evaluate import evaluate_run

    evaluate_run(tmp_path / "run", sample_path, split="PublicTest", n_jobs=1, predictions=store)
    names = json.loads((tmp_path / "run" / "metrics.json").read_text())["class_names"]
    assert [names[i] for i in store[("clean", 0)]] == list(measured["predicted"])


def test_an_ensemble_mixes_members_on_aligned_and_unaligned_faces(sample, sample_path, tmp_path):
    from fer_classic.errors import FeatureStoreError
    from fer_classic.features.extraction import extract_features
    from fer_classic.training import EnsembleSpec, TrainSpec, train_ensemble

    feats, hog = tmp_path / "feats", {"hog": {"pixels_per_cell": 8}}
    extract_features(sample, feats, hog, n_jobs=2)
    spec = EnsembleSpec([TrainSpec(["hog"], "svm", pca=30), TrainSpec(["hog"], "svm", pca=30, aligned=True)])
    with pytest.raises(FeatureStoreError, match=r"no hog features .*extract --features hog --align --out .*aligned$"):
        train_ensemble(feats, tmp_path / "run", spec)
    extract_features(sample.subset(np.arange(len(sample)) % 2 == 0), feats / "aligned", hog, align=True, n_jobs=2)
    with pytest.raises(FeatureStoreError, match="different images"):
        train_ensemble(feats, tmp_path / "run", spec)
    extract_features(sample, feats / "aligned", hog, align=True, n_jobs=2)
    metrics = train_ensemble(feats, tmp_path / "run", spec, n_jobs=2)
    assert [m["member"].count("(aligned faces)") for m in metrics["members"]] == [0, 1]
    assert metrics["faces_aligned"] is False
    # the saved model is given images as cropped: its aligned member aligns them itself
    result = run("evaluate", tmp_path / "run", sample_path, "--split", "PublicTest")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["accuracy"] == pytest.approx(metrics["accuracy"])


def test_a_pipeline_mixing_alignment_names_both_extractions():
    from fer_classic.pipelines import NamedPipeline
    from fer_classic.training import EnsembleSpec, TrainSpec

    p = NamedPipeline("mixed", EnsembleSpec([TrainSpec(["lbp"], "svm", mirror="both"),
                                             TrainSpec(["hog", "lbp"], "svm", aligned=True)]),
                      {"hog": {"pixels_per_cell": 8}})
    assert p.mixes_alignment and p.descriptors() == {"lbp": {}} and list(p.descriptors(aligned=True)) == ["hog", "lbp"]
    assert p.extract_commands("DATA", "F") == [
        "fer-classic extract DATA --features lbp --mirror --out F",
        "fer-classic extract DATA --features hog,lbp --hog-pixels-per-cell 8 --align --out F/aligned"]


def test_a_pipeline_may_extract_its_aligned_faces_otherwise():
    from fer_classic.pipelines import NamedPipeline
    from fer_classic.training import EnsembleSpec, TrainSpec

    p = NamedPipeline("mixed", EnsembleSpec([TrainSpec(["hog"], "svm"), TrainSpec(["hog"], "svm", aligned=True)]),
                      {"hog": {"pixels_per_cell": 8, "orientations": 9}},
                      aligned_descriptor_params={"hog": {"pixels_per_cell": 6}})
    assert p.descriptors() == {"hog": {"pixels_per_cell": 8, "orientations": 9}}
    assert p.descriptors(aligned=True) == {"hog": {"pixels_per_cell": 6, "orientations": 9}}
    assert p.with_seed(7).descriptors(aligned=True) == p.descriptors(aligned=True)
    assert p.extract_commands("DATA", "F")[1] == (
        "fer-classic extract DATA --features hog --hog-pixels-per-cell 6 --hog-orientations 9 --align --out F/aligned")
