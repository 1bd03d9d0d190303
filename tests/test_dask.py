"""--scheduler: the same numbers computed on a Dask cluster, faults included."""

import dataclasses
import os
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest

from fer_classic.cluster import ClusterError, compute_on
from fer_classic.features.extraction import extract_features
from fer_classic.store import FeatureDirectory

from .conftest import run

distributed = pytest.importorskip("distributed")


def _same_features(a, b, names):
    for n in names:
        assert np.array_equal(FeatureDirectory(a).load(n).X, FeatureDirectory(b).load(n).X), n


def test_extract_and_grid_on_a_local_cluster_match_local_runs(split_folders, sample_features, tmp_path):
    assert run("extract", split_folders, "-f", "hog,lbp", "-o", tmp_path / "local", "-q").exit_code == 0
    result = run("extract", split_folders, "-f", "hog,lbp", "-o", tmp_path / "dask", "-q", "--scheduler", "local:2")
    assert result.exit_code == 0, result.output
    _same_features(tmp_path / "local", tmp_path / "dask", ["hog", "lbp"])
    computed_on = FeatureDirectory(tmp_path / "dask").manifest()["computed_on"]
    assert computed_on["workers"] == 2 and computed_on["scheduler"] == "LocalCluster(local:2)"

    args = ["train", sample_features, "-f", "hog", "-m", "svm", "--grid", "--pca", "30", "-q"]
    assert run(*args, "-o", tmp_path / "r-local").exit_code == 0
    assert run(*args, "-o", tmp_path / "r-dask", "--scheduler", "local:2").exit_code == 0
    grids = [pd.read_csv(tmp_path / r / "grid.csv").drop(columns="fit_seconds") for r in ("r-local", "r-dask")]
    assert grids[0].equals(grids[1]) and len(grids[0]) == 4


def test_a_killed_worker_loses_nothing(sample, tmp_path):
    """Kill one worker process in the middle of an extraction: Dask retries its tasks elsewhere."""
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        pids = list(client.run(os.getpid).values())
        descriptors = {"landmarks": {"patches": "hog"}}  # slow enough (several seconds) to be caught mid-way
        sample = dataclasses.replace(sample, images=sample.images[:1500], labels=sample.labels[:1500],
                                     usage=sample.usage[:1500], ids=sample.ids[:1500])
        killed = []

        def kill_soon():
            time.sleep(2.0)
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])

        threading.Thread(target=kill_soon, daemon=True).start()
        with compute_on(cluster.scheduler_address):
            extract_features(sample, tmp_path / "dask", descriptors)
        assert killed, "the worker was not killed during the extraction"
        extract_features(sample, tmp_path / "local", descriptors, n_jobs=2)
        _same_features(tmp_path / "local", tmp_path / "dask", ["landmarks"])
    finally:
        client.close()
        cluster.close()


def test_a_scheduler_that_does_not_answer_is_a_clear_error_within_10_seconds(tmp_path):
    start = time.perf_counter()
    result = run("extract", "-f", "hist", "-o", tmp_path / "o", "-q", "--scheduler", "tcp://127.0.0.1:9")
    assert result.exit_code == 1 and "no Dask scheduler answered at tcp://127.0.0.1:9" in result.stderr
    assert time.perf_counter() - start < 10.5


def test_the_environment_variable_means_the_same(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_CLASSIC_SCHEDULER", "tcp://127.0.0.1:9")
    result = run("extract", "-f", "hist", "-o", tmp_path / "o", "-q")
    assert result.exit_code == 1 and "tcp://127.0.0.1:9" in result.stderr


def test_without_dask_the_error_says_how_to_install_it(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ClusterError, match=r"pip install 'fer-classic\[dask\]'"):
        with compute_on("local:2"):
            pass
