"""Soft-voting ensembles and the ``best`` preset."""

import json

import numpy as np
import pandas as pd
import pytest
from skimage import data as skdata

from fer_classic.apply.evaluate import evaluate_run
from fer_classic.apply.photos import predict_photos
from fer_classic.errors import ConfigurationError
from fer_classic.models.ensemble import SoftVotingEnsemble, vote_weights
from fer_classic.models.mirror import leading_aligner, mirror_images
from fer_classic.pipelines import named_pipeline
from fer_classic.runs.folders import load_run

from .conftest import run


def test_vote_weights():
    # w_i = R(A_i) / sum R(A_j): the best of three gets 3/6.
    assert np.allclose(vote_weights([0.50, 0.60, 0.55], "rank"), [1 / 6, 3 / 6, 2 / 6])
    assert np.allclose(vote_weights([0.5, 0.5, 0.6], "rank"), [1.5 / 6, 1.5 / 6, 3 / 6])
    assert np.allclose(vote_weights([0.4, 0.6], "accuracy"), [0.4, 0.6])
    assert np.allclose(vote_weights([0.4, 0.6, 0.1], "equal"), [1 / 3] * 3)
    with pytest.raises(ConfigurationError, match="weighting"):
        vote_weights([0.4], "median")


@pytest.fixture(scope="module")
def preset_run(sample_path, tmp_path_factory):
    root = tmp_path_factory.mktemp("preset")
    # small vocabularies and filter banks; 60 filters pooled 3×3 give 540 columns, over the 450
    # principal components best's aligned filter-bank member keeps
    small = ["--bovw-words", "24", "--bovw-sample-images", "300", "--filterbank-centroids", "60", "--filterbank-pool", "3",
             "--filterbank-sample-images", "300"]
    best = named_pipeline("best")
    for aligned in (False, True):  # best's members read faces as cropped and, from aligned/, aligned faces
        names = best.descriptors(aligned)
        result = run("extract", sample_path, "-f", ",".join(names), "--mirror",
                     *[a for i in range(0, len(small), 2) for a in small[i:i + 2] if small[i].split("-")[2] in names],
                     *(["--align"] if aligned else []), "-o", root / "features" / ("aligned" if aligned else ""))
        assert result.exit_code == 0, result.output
    result = run("train", root / "features", "--preset", "best", "-o", root / "best")
    assert result.exit_code == 0, result.output
    return root


def test_preset_trains_a_weighted_ensemble_and_records_its_members(preset_run):
    metrics = json.loads((preset_run / "best" / "metrics.json").read_text())
    spec = named_pipeline("best").spec
    assert metrics["model"] == "ensemble" and len(metrics["members"]) == len(spec.members)
    assert metrics["split_sizes"] == {"fit": 2584, "validation": 288, "refit": 2872, "test": 361}
    # the members as a report's parameters column names them: the two views of a descriptor apart
    assert metrics["best_params"]["members"] == ["svm:filterbank", "svm:filterbank@aligned", "local:hog",
                                                 "local:hog@aligned", "local:bovw"]
    assert sum(m["weight"] for m in metrics["members"]) == pytest.approx(1)
    accuracies = [m["validation_accuracy"] for m in metrics["members"]]
    weights = [m["weight"] for m in metrics["members"]]
    assert np.argmax(weights) == np.argmax(accuracies)  # rank weighting favours the best member
    grid = pd.read_csv(preset_run / "best" / "grid.csv")
    assert list(grid["member"])[-1] == "ensemble"
    assert grid["test_accuracy_not_used_for_selection"].iloc[-1] == pytest.approx(metrics["accuracy"])
    assert metrics["accuracy"] > 0.3  # well above the 7-class chance level on 361 faces
    # each member's scores are kept: its recorded accuracies, and the ensemble's labels, follow from them
    with np.load(preset_run / "best" / "member_scores.npz") as z:
        scores = {k: z[k] for k in z.files}
    assert scores["validation"].shape == (len(spec.members), 288, 7) and scores["test"].shape == (len(spec.members), 361, 7)
    assert list(scores["members"]) == list(grid["member"])[:-1]
    predictions = pd.read_csv(preset_run / "best" / "predictions.csv")
    assert list(scores["test_ids"]) == list(predictions.iloc[:, 0].astype(str))
    names = np.array(metrics["class_names"])
    truth = predictions["true"].to_numpy()
    for i, member in enumerate(metrics["members"]):
        assert np.mean(names[scores["classes"][scores["test"][i].argmax(1)]] == truth) == pytest.approx(
            member["test_accuracy_not_used_for_selection"])


def test_the_saved_ensemble_reproduces_its_test_accuracy_and_labels_photos(preset_run, sample, sample_path):
    model, metrics = load_run(preset_run / "best")
    assert isinstance(model.classifier, SoftVotingEnsemble) and len(model.image_pipelines()) == len(named_pipeline("best").members())
    assert metrics["calibration"]["validation_log_loss"] <= metrics["calibration"]["validation_log_loss_at_T1"]
    # every image gets the label training measured (mirror images of aligned faces included)
    store: dict = {}
    evaluated = evaluate_run(preset_run / "best", sample_path, split="PublicTest", n_jobs=1, predictions=store)
    assert evaluated["accuracy"] == pytest.approx(metrics["accuracy"])
    measured = pd.read_csv(preset_run / "best" / "predictions.csv")
    assert [metrics["class_names"][i] for i in store[("clean", 0)]] == list(measured["predicted"])
    # a member on faces as cropped averages over a face and its mirror: either gives the same label
    faces = sample.images[:30]
    cropped = [m for m in model.classifier.members_ if leading_aligner(m.pipeline_) is None]
    assert cropped and all(np.array_equal(m.predict(faces), m.predict(mirror_images(faces))) for m in cropped)
    photo = preset_run / "astronaut.png"
    from PIL import Image
    Image.fromarray(skdata.astronaut()).save(photo)
    rows = predict_photos(preset_run / "best", [photo], upsample=1, threshold=0.5)
    assert len(rows) == 1 and rows.loc[0, "label"] in metrics["class_names"]
    probabilities = rows[[f"probability_{c}" for c in metrics["class_names"]]]  # calibrated on validation
    assert probabilities.sum(axis=1).iloc[0] == pytest.approx(1, abs=1e-3)


def test_preset_usage_errors(preset_run, sample_features, tmp_path):
    result = run("train", preset_run / "features", "--preset", "best", "-m", "svm", "-o", tmp_path / "a")
    assert result.exit_code == 2 and "drop --model" in result.output
    result = run("train", preset_run / "features", "-o", tmp_path / "b")
    assert result.exit_code == 2 and "--preset" in result.output
    result = run("train", sample_features, "--preset", "best", "-o", tmp_path / "c")
    assert result.exit_code == 1 and "no filterbank, bovw features" in result.output.replace("\n", " ") and "--mirror" in result.output
    assert not (tmp_path / "c").exists()


def test_report_lists_the_members(preset_run, tmp_path):
    result = run("report", preset_run / "best", "-o", tmp_path / "report.md")
    assert result.exit_code == 0, result.output
    md = (tmp_path / "report.md").read_text()
    assert "## Ensembles" in md and "### best" in md and "| ensemble (soft vote) |" in md


@pytest.mark.parametrize("preset", ["best", "compact", "live"])
def test_the_presets_label_through_their_predictors_as_their_models_did(preset_run, sample, preset):
    """The presets have a predictor: `compact` (best's SVM members alone) and `live` (one of them, on
    aligned faces) label without scikit-learn, `best` imports its SVMs for local learning's per-face fits;
    every test face gets the label training measured."""
    from fer_classic.runs.folders import load_run_labeller

    if preset != "best":
        features = preset_run / "features" / ("aligned" if named_pipeline(preset).align else "")
        # compact, which ships its fit-split members, refitted on fit + validation when asked
        result = run("train", features, "--preset", preset, "-o", preset_run / preset,
                     *(["--refit"] if preset == "compact" else []))
        assert result.exit_code == 0, result.output
    labeller, metrics = load_run_labeller(preset_run / preset)
    if preset != "live":
        assert metrics["members_fitted_on"].startswith("fit + validation (n=2872)")
    assert type(labeller).__name__ == "Predictor"
    assert len(metrics.get("members", [metrics])) == len(named_pipeline(preset).members())
    test = sample.usage == "PublicTest"
    measured = pd.read_csv(preset_run / preset / "predictions.csv")
    assert [metrics["class_names"][i] for i in labeller.predict(sample.images[test])] == list(measured["predicted"])


def test_refit_members_are_weighted_on_the_fit_split_and_shipped_fitted_on_fit_and_validation(sample_features,
                                                                                             tmp_path):
    """With refit, the weights, scales and validation numbers are the fit-split members' (the same as
    without refit); the saved members are fitted again on fit + validation and give the test labels."""
    from fer_classic.training import EnsembleSpec, TrainSpec, train_ensemble

    members = [TrainSpec(["hog"], "logistic", pca=20), TrainSpec(["lbp"], "logistic", params={"C": 0.1}, pca=20)]
    runs = {refit: train_ensemble(sample_features, tmp_path / str(refit), EnsembleSpec(members=members, refit=refit),
                                  n_jobs=1) for refit in (False, True)}
    for key in ("validation_accuracy", "weight"):
        assert [m[key] for m in runs[True]["members"]] == [m[key] for m in runs[False]["members"]]
    assert runs[True]["ensemble_validation_accuracy"] == runs[False]["ensemble_validation_accuracy"]
    sizes = runs[True]["split_sizes"]
    assert runs[True]["members_fitted_on"].startswith(f"fit + validation (n={sizes['refit']})")
    assert runs[False]["members_fitted_on"] == f"fit split (n={sizes['fit']})"
    assert all(m["refit_seconds"] > 0 for m in runs[True]["members"])
    fitted_rows = {refit: [m.named_steps["scaler"].n_samples_seen_
                           for m in load_run(tmp_path / str(refit))[0].classifier.members_] for refit in (False, True)}
    assert fitted_rows == {False: [sizes["fit"]] * 2, True: [sizes["refit"]] * 2}
    with np.load(tmp_path / "True" / "member_scores.npz") as refitted, \
            np.load(tmp_path / "False" / "member_scores.npz") as first:
        assert np.array_equal(refitted["validation"], first["validation"])
        assert np.array_equal(refitted["test_fit_split"], first["test"])
        assert not np.array_equal(refitted["test"], first["test"])  # other members, other scores
    # the shipped model's labels are the ones measured
    predictions = pd.read_csv(tmp_path / "True" / "predictions.csv")
    assert np.mean(predictions["true"] == predictions["predicted"]) == pytest.approx(runs[True]["accuracy"])
