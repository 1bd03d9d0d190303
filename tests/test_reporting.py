import json
import re
import shutil
import subprocess
import unicodedata

import numpy as np
import pandas as pd
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
    # every row says when and where it was published, and links to it where it can be read
    assert refs["year"].astype(int).between(2000, 2030).all()
    linked = refs[refs["link"] != ""]
    assert linked["link"].str.startswith("https://").all()
    assert set(linked["source"]) >= set(refs.loc[refs["source"].str.startswith(("Yuan", "Ionescu")), "source"])


def test_report_ranks_comparable_runs_and_marks_the_others(runs, tmp_path):
    out = tmp_path / "report.md"
    result = run("report", runs / "knn", runs / "mlp", runs / "svm-stratified", "-o", out)
    assert result.exit_code == 0, result.output
    md = out.read_text()
    board = md.split("## Paired comparisons")[0]
    ranked = re.findall(r"^\| (\d) \| (\S+) \|", board, flags=re.M)
    accuracies = {m: json.loads((runs / m / "metrics.json").read_text())["accuracy"] for m in ("knn", "mlp")}
    assert [name for _, name in ranked] == sorted(accuracies, key=accuracies.get, reverse=True)
    assert "| not ranked | svm-stratified |" in board
    # every accuracy-type number carries its interval, and n is shown
    assert re.search(r"\d+\.\d\d% \[\d+\.\d, \d+\.\d\]", board) and "| 361 |" in board
    assert "embedded sample of FER2013" in md
    assert re.search(r"(knn|mlp) vs (knn|mlp): [+-]\d+\.\d points .*p (=|<) ", md)
    assert "Yuan, Nguyen and Nguyen" in md and "62.77%" in md and "| CNN |" in md and "arxiv.org/abs/1306.0239" in md
    assert "MCR (accuracy)" in md and "KNN: accuracy against k" in md
    for link in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md):
        assert (tmp_path / link).is_file(), link
    page = out.with_suffix(".html").read_text()
    assert page.count("data:image/png;base64,") == len(re.findall(r"!\[", md))
    assert "<table>" in page and 'class="marked"' in page and 'href="#leaderboard"' in page


def test_runs_whose_folders_share_a_name_get_figures_of_their_own(runs, tmp_path):
    for group in ("a", "b"):
        shutil.copytree(runs / "knn", tmp_path / group / "run")
    out = tmp_path / "report.md"
    assert run("report", tmp_path / "a" / "run", tmp_path / "b" / "run", "-o", out).exit_code == 0
    links = re.findall(r"!\[(a/run|b/run) \(rank[^\]]*\]\(([^)]+)\)", out.read_text())
    assert sorted(name for name, _ in links) == ["a/run", "b/run"]
    assert len({link for _, link in links}) == 2  # each run its own confusion matrix
    for _, link in links:
        assert (tmp_path / link).is_file(), link


def test_references_are_ordered_by_kind_and_split_not_accuracy(runs, tmp_path):
    run("report", runs / "knn", "-o", tmp_path / "r.md")
    rows = re.findall(r"^\| (classical|CNN|human) \| .*?\| ([\d.]+)% \| (\S+)", (tmp_path / "r.md").read_text(), flags=re.M)
    kinds = [k for k, _, _ in rows]
    assert kinds == sorted(kinds, key=["classical", "CNN", "human"].index)


def test_external_predictions_join_with_intervals_and_mcnemar(runs, tmp_path):


    truth = pd.read_csv(runs / "knn" / "predictions.csv")
    mine = truth.assign(predicted=truth["true"])[["id", "predicted"]]
    mine.to_csv(tmp_path / "mine.csv", index=False)
    result = run("report", runs / "knn", runs / "mlp", "-p", f"my-cnn={tmp_path / 'mine.csv'}", "-o",
                 tmp_path / "r.md", "--format", "md,csv,json")
    assert result.exit_code == 0, result.output
    md = (tmp_path / "r.md").read_text()
    assert "| 1 | my-cnn (external) |" in md and "100.00% [" in md and "my-cnn vs knn:" in md
    doc = json.loads((tmp_path / "r.json").read_text())
    assert {t["a"] for t in doc["paired_tests"]} >= {"my-cnn"}
    table = pd.read_csv(tmp_path / "r.csv")
    assert set(table["name"]) == {"my-cnn", "knn", "mlp"} and (table["accuracy_low"] < table["accuracy"]).all()
    # rows that do not match the test images are named
    mine.iloc[:-2].to_csv(tmp_path / "short.csv", index=False)
    result = run("report", runs / "knn", "-p", f"x={tmp_path / 'short.csv'}", "-o", tmp_path / "bad.md")
    assert result.exit_code == 1 and "2 of the 361 images missing" in result.stderr
    pd.concat([mine, pd.DataFrame({"id": ["elsewhere.png"], "predicted": ["hapy"]})]).to_csv(tmp_path / "extra.csv",
                                                                                          index=False)
    result = run("report", runs / "knn", "-p", f"x={tmp_path / 'extra.csv'}", "-o", tmp_path / "bad.md")
    assert result.exit_code == 1 and "elsewhere.png (line 363)" in result.stderr and "'hapy'" not in result.stderr
    assert "unknown labels hapy (line 363)" in result.stderr
    assert not (tmp_path / "bad.md").exists()
    assert run("report", runs / "knn", "-p", "nonsense", "-o", tmp_path / "bad.md").exit_code == 2


def test_load_runs_is_a_dataframe(runs):
    from fer_classic import load_runs

    frame = load_runs([runs / "knn", runs / "mlp"])
    assert list(frame["name"]) == ["knn", "mlp"] and (frame["accuracy_high"] > frame["accuracy"]).all()


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
        "const tables=[...document.querySelectorAll('table')];"
        "document.title='tables='+tables.length+' images='+imgs.length+"
        "' broken='+imgs.filter(i=>!i.complete||i.naturalWidth===0).length+"
        "' overflowing='+tables.filter(t=>t.scrollWidth>t.clientWidth||t.getBoundingClientRect().right>"
        "document.documentElement.clientWidth).length;"
        "document.body.insertAdjacentHTML('afterbegin','<pre id=probe>'+document.title+'</pre>')}</script></body>"))
    probe_page = tmp_path / "probe.html"
    probe_page.write_text(probe)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([_chromium(), *flags, "--window-size=1280,1600", "--virtual-time-budget=5000", "--dump-dom",
                          probe_page.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    counts = dict(re.findall(r"(tables|images|broken|overflowing)=(\d+)", dom))
    assert int(counts["tables"]) >= 4 and int(counts["images"]) == 4 and counts["broken"] == "0", counts
    assert counts["overflowing"] == "0", counts  # every table fits at 1280 px
    shot = tmp_path / "shot.png"
    subprocess.run([_chromium(), *flags, "--window-size=1280,1600", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=120)
    image = np.asarray(Image.open(shot).convert("L"))
    assert image.shape == (1600, 1280)
    assert len(np.unique(image)) > 20  # text, tables and figures, not a blank page


def test_cross_dataset_table_from_evaluations(runs, class_folders, sample_path, tmp_path):
    result = run("evaluate", runs / "knn", class_folders, sample_path, "--split", "PublicTest", "-o", tmp_path / "e.json")
    assert result.exit_code == 1 and "no PublicTest images" in result.stderr  # the class folders have no usage
    result = run("evaluate", runs / "knn", class_folders, sample_path, "-o", tmp_path / "e.json", "-q")
    assert result.exit_code == 0, result.output
    evaluations = json.loads((tmp_path / "e.json").read_text())
    assert len(evaluations) == 2 and all("intervals" in e for e in evaluations)
    assert "unseen_classes" in evaluations[0] and evaluations[0]["unseen_classes"]  # contempt
    # another model's predictions on the same images: a perfect one, and the paired test against it
    from fer_classic.data import load_dataset

    folders = load_dataset(class_folders)
    names = folders.class_names
    pd.DataFrame({"file": folders.ids, "predicted": [names[i] for i in folders.labels]}).to_csv(
        tmp_path / "cnn.csv", index=False)
    result = run("evaluate", runs / "knn", class_folders, "-p", f"cnn={tmp_path / 'cnn.csv'}", "-o",
                 tmp_path / "c.json")
    assert result.exit_code == 0, result.output
    compared = json.loads((tmp_path / "c.json").read_text())["compared"][0]
    assert compared["name"] == "cnn" and compared["accuracy"] == 1.0 and compared["n"] == len(folders.ids)
    assert compared["mcnemar"]["a_right_b_wrong"] == 0 and compared["mcnemar"]["difference"] < 0
    assert "cnn: accuracy 100.00%" in result.output
    assert run("evaluate", runs / "knn", class_folders, sample_path, "-p", f"cnn={tmp_path / 'cnn.csv'}").exit_code == 2
    pd.read_csv(tmp_path / "cnn.csv").iloc[1:].to_csv(tmp_path / "short.csv", index=False)
    result = run("evaluate", runs / "knn", class_folders, "-p", f"cnn={tmp_path / 'short.csv'}", "-o", tmp_path / "x.json")
    assert result.exit_code == 1 and "short.csv: 1 of the" in result.stderr and not (tmp_path / "x.json").exists()

    result = run("report", runs / "knn", runs / "mlp", "-e", tmp_path / "e.json", "-e", tmp_path / "c.json",
                 "-o", tmp_path / "r.md", "--format", "md,html,json")
    assert result.exit_code == 0, result.output
    md = (tmp_path / "r.md").read_text()
    section = md.split("## Across datasets")[1].split("## Published")[0]
    assert f"### {class_folders} (all images)" in section and "unseen classes (errors): contempt" in section
    group = section.split(f"### {class_folders} (all images)")[1].split("###")[0]
    assert "| knn | " in group and "| cnn (other model) |" in group and "exact McNemar p =" in group
    assert group.count("] |") >= 9  # accuracy, balanced accuracy and macro F1 with intervals, for both rows
    assert section.count("![knn on ") == 3  # a confusion matrix per evaluation
    doc = json.loads((tmp_path / "r.json").read_text())
    assert [len(g["rows"]) for g in doc["cross_dataset"]] == [3, 1]  # knn twice (two evaluations) and cnn; knn


@pytest.mark.skipif(not _chromium(), reason="Debian's chromium is not installed (.ci/run installs it)")
def test_printed_report_breaks_no_run_name_inside_a_word(runs, tmp_path):
    pypdf = pytest.importorskip("pypdf")
    long_name = tmp_path / "svm-hog+lbp+landmarks+filterbank"  # the kind of name that broke mid-word in print
    shutil.copytree(runs / "knn", long_name)
    out = tmp_path / "report.md"
    assert run("report", long_name, runs / "mlp", runs / "svm-stratified", "-o", out).exit_code == 0
    pdf = tmp_path / "report.pdf"
    subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    f"--user-data-dir={tmp_path / 'profile'}", f"--print-to-pdf={pdf}", out.with_suffix(".html").as_uri()],
                   capture_output=True, timeout=120)
    pages = pypdf.PdfReader(pdf).pages
    text = unicodedata.normalize("NFKC", "\n".join(page.extract_text() for page in pages))  # "ﬁ" ligatures
    # A name may wrap only after "+", "-" or "/": joined there again, every name must be whole.
    joined = re.sub(r"(?<=[+\-/])\s*\n", "", text)
    for name in (long_name.name, "mlp", "svm-stratified"):
        assert name in joined, name
    assert "fit time (s)" in joined.replace("\n", " ")


def test_reports_cite_exact_settings_with_holm_p_values_class_n_and_a_latex_table(runs, tmp_path):
    out = tmp_path / "r.md"
    result = run("report", runs / "knn", runs / "mlp", runs / "svm-stratified", "-o", out, "--format", "md,csv,json,tex")
    assert result.exit_code == 0, result.output
    for suffix in (".csv", ".json"):
        assert "…" not in out.with_suffix(suffix).read_text(encoding="utf-8"), suffix
    doc = json.loads(out.with_suffix(".json").read_text())
    mlp = next(r for r in doc["results"] if r["name"] == "mlp")
    assert "learning_rate=0.001" in mlp["best_params"] and "hidden=32" in mlp["best_params"]
    assert all("p_holm" in t and t["p_holm"] >= t["p_value"] for t in doc["paired_tests"])
    md = out.read_text()
    assert "Holm-adjusted" in md and "Holm's method" in md
    n_disgust = json.loads((runs / "knn" / "metrics.json").read_text())["per_class"]["disgust"]["support"]
    assert f"disgust (n={n_disgust})" in md
    tex = out.with_suffix(".tex").read_text()
    assert "\\toprule" in tex and "\\midrule" in tex and "\\bottomrule" in tex and "\\begin{tabular}" in tex
    knn_row = next(line for line in tex.splitlines() if " & knn & " in line)
    assert re.search(r"\d+\.\d\d\\% \[\d+\.\d, \d+\.\d\]", knn_row)  # accuracy with its interval, % escaped


def test_holm_adjustment_matches_the_textbook_example():
    from fer_classic.evaluation.uncertainty import holm

    # Holm (1979) step-down: sorted p 0.01, 0.02, 0.03, 0.04 times 4, 3, 2, 1, kept non-decreasing.
    assert np.allclose(holm([0.04, 0.01, 0.03, 0.02]), [0.06, 0.04, 0.06, 0.06])
    assert np.allclose(holm([0.5, 0.9]), [1.0, 1.0]) and len(holm([])) == 0
