import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from fer_classic.reporting.report import load_references

from .conftest import run


@pytest.fixture(scope="module")
def runs(sample_features, tmp_path_factory):
    root = tmp_path_factory.mktemp("report-runs")
    assert run("train", sample_features, "-f", "hist,lbp", "-m", "knn", "--grid", "-o", root / "knn", "-q").exit_code == 0
    assert run("train", sample_features, "-f", "hog", "-m", "mlp", "--hidden", "32", "--epochs", "6", "--pca", "30",
               "-o", root / "mlp", "-q").exit_code == 0
    assert run("train", sample_features, "-f", "hog", "-m", "svm", "--pca", "0.9", "--protocol", "stratified",
               "-o", root / "svm-stratified", "-q").exit_code == 0
    return root


def test_references_hold_the_published_numbers_with_sources():
    refs = load_references()
    by_method = dict(zip(refs["method"], refs["accuracy"]))
    assert by_method["KNN on raw pixels (L1, distance weighting, k=3)"] == pytest.approx(0.315)
    assert by_method["fine-tuned ResNet CNN"] == pytest.approx(0.6277)
    assert by_method["best hand-crafted entry (bag of visual words, local learning)"] == pytest.approx(0.6748)
    assert set(refs["family"]) == {"cnn", "classical", "human"}
    assert all(refs["source"].str.len() > 10) and all(refs["split"].str.len() > 5)


def test_report_ranks_comparable_runs_and_marks_the_others(runs, tmp_path):
    out = tmp_path / "report.md"
    result = run("report", runs / "knn", runs / "mlp", runs / "svm-stratified", "-o", out)
    assert result.exit_code == 0, result.output
    md = out.read_text()
    board = md.split("## Published reference numbers")[0]
    ranked = re.findall(r"^\| (\d) \| (\S+) \|", board, flags=re.M)
    accuracies = {m: json.loads((runs / m / "metrics.json").read_text())["accuracy"] for m in ("knn", "mlp")}
    assert [name for _, name in ranked] == sorted(accuracies, key=accuracies.get, reverse=True)
    assert "| not ranked (other data or protocol) | svm-stratified |" in board
    assert "Yuan, Nguyen and Nguyen" in md and "62.77%" in md and "| CNN |" in md
    assert "MCR (accuracy)" in md and "KNN: accuracy against k" in md
    for link in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md):
        assert (tmp_path / link).is_file(), link
    page = out.with_suffix(".html").read_text()
    assert page.count("data:image/png;base64,") == len(re.findall(r"!\[", md))
    assert "<table>" in page and 'class="marked"' in page


def test_report_of_nothing_or_a_non_run(tmp_path):
    (tmp_path / "x").mkdir()
    result = run("report", tmp_path / "x", "-o", tmp_path / "r.md")
    assert result.exit_code == 1 and "metrics.json is missing" in result.stderr


def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(not _chromium(), reason="Debian's chromium is not installed (.ci/run installs it)")
def test_html_report_renders_in_a_browser(runs, tmp_path):
    from PIL import Image

    out = tmp_path / "report.md"
    run("report", runs / "knn", runs / "mlp", "-o", out)
    page = out.with_suffix(".html")
    # Let the page report what it rendered: tables, images, and images that failed to decode.
    probe = page.read_text().replace("</body>", (
        "<script>window.onload=()=>{const imgs=[...document.images];"
        "document.title='tables='+document.querySelectorAll('table').length+' images='+imgs.length+"
        "' broken='+imgs.filter(i=>!i.complete||i.naturalWidth===0).length;"
        "document.body.insertAdjacentHTML('afterbegin','<pre id=probe>'+document.title+'</pre>')}</script></body>"))
    probe_page = tmp_path / "probe.html"
    probe_page.write_text(probe)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([_chromium(), *flags, "--virtual-time-budget=5000", "--dump-dom", probe_page.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    counts = dict(re.findall(r"(tables|images|broken)=(\d+)", dom))
    assert int(counts["tables"]) >= 4 and int(counts["images"]) == 4 and counts["broken"] == "0", counts
    shot = tmp_path / "shot.png"
    subprocess.run([_chromium(), *flags, "--window-size=1200,1600", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=120)
    image = np.asarray(Image.open(shot).convert("L"))
    assert image.shape == (1600, 1200)
    assert len(np.unique(image)) > 20  # text, tables and figures, not a blank page
