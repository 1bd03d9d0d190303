"""Comparison reports: runs (and a user's own models, from their predictions on the same test images)
next to published reference numbers, with 95% intervals and exact McNemar tests, as Markdown, a
self-contained HTML page (Jinja2 templates in ``templates/``), CSV and JSON.

The report's content is built once (:func:`build_report`) and rendered in each format; its figures are
drawn from the runs' recorded numbers, so every report has the same figures whatever version trained
the runs.
"""

from __future__ import annotations

import base64
import json
import os
import platform
import re
import shutil
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import ConfigurationError, DatasetError, RunError
from ..evaluation.plots import plot_confusion_matrix, plot_learning_curves, plot_robustness
from ..evaluation.uncertainty import wilson_interval
from ..models import MODEL_KINDS  # every kind registered (the package imports them first)
from ..store import read_json, write_text_atomic
from .results import Result, load_result, paired_tests, read_external_predictions, results_frame

FORMATS = ("md", "html", "csv", "json", "tex")
FAMILY_LABELS = {"cnn": "CNN", "classical": "classical", "human": "human"}
SAMPLE_FOLDER = "fer2013-sample"


def load_references() -> pd.DataFrame:
    """Published numbers (``references.csv`` in the package): dataset, method, family, accuracy, split,
    source, year, venue, link, notes."""
    with resources.files("fer_classic.reporting").joinpath("references.csv").open(encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype={"year": str}).fillna("")


def reference_rows(dataset: str) -> list[dict]:
    """The published numbers for one dataset as the report lists them: ordered by kind (classical, CNN,
    human), then PrivateTest before other splits, then year and method."""
    refs = load_references()
    refs = refs[refs["dataset"] == dataset]
    order = {"classical": 0, "cnn": 1, "human": 2}
    refs = refs.assign(_kind=refs["family"].map(order), _private=~refs["split"].str.startswith("PrivateTest"))
    return [{"method": r.method, "kind": FAMILY_LABELS.get(r.family, r.family), "accuracy": _pct(float(r.accuracy)),
             "split": r.split, "source": r.source, "year": _known(r.year, int), "venue": _known(r.venue),
             "link": _known(r.link, default=""), "notes": _known(r.notes, default="")}
            for r in refs.sort_values(["_kind", "_private", "year", "method"]).itertuples()]


def _pct(x) -> str:
    return "–" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{100 * x:.2f}%"


def _with_ci(x, lo, hi) -> str:
    return _pct(x) if lo is None or pd.isna(lo) else f"{100 * x:.2f}% [{100 * lo:.1f}, {100 * hi:.1f}]"


def _fraction_with_ci(accuracy: float, n: int) -> str:
    return _accuracy_with_ci(int(round(accuracy * n)), n)


def _comparable_key(m) -> tuple:
    return (m.get("dataset_fingerprint"), m.get("protocol"), m.get("test_split"))


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _p_holm(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _known(value, kind=str, default: str = "–"):
    """A reference table's cell as shown: ``default`` where the source does not give it."""
    return default if value is None or (isinstance(value, float) and np.isnan(value)) or value == "" else kind(value)


def _seconds(s) -> str:
    """A fit time as a person reads it: two significant digits below 100 s (0.42, 3.1, 47), whole seconds above."""
    if s is None or pd.isna(s):
        return "–"
    return f"{s:.2g}" if s < 100 else f"{s:.0f}"


def _accuracy_with_ci(correct: int, n: int) -> str:
    lo, hi = wilson_interval(correct, n)
    return f"{100 * correct / n:.2f}% [{100 * lo:.1f}, {100 * hi:.1f}]" if n else "–"


def _per_class_rows(results: list[Result], classes: list[str]) -> tuple[list[dict], dict[str, int]]:
    """Each result's recall per class with its Wilson interval; the header's n per class (the main
    group's), and a cell's own n where a result's differs from it."""
    def support(r, c):
        return int(r.metrics["per_class"][c]["support"]) if c in r.metrics["per_class"] else 0

    header = {c: support(results[0], c) for c in classes}
    rows = []
    for r in results:
        cells = []
        for c in classes:
            n = support(r, c)
            if not n:
                cells.append("–")
                continue
            correct = int(round(r.metrics["per_class"][c]["recall"] * n))
            cells.append(_accuracy_with_ci(correct, n) + ("" if n == header[c] else f" (n={n})"))
        rows.append({"name": r.name, "cells": cells})
    return rows, header


def cross_dataset_table(evaluations: list[dict], figures: Path) -> list[dict]:
    """``evaluate`` outputs grouped by dataset: each dataset (and split) a group of rows, one per run and
    per other model scored on the same images (``evaluate --predictions``), with n, accuracy, balanced
    accuracy and macro F1 and their 95% intervals, the exact McNemar test of the run against each other
    model, and each run's confusion matrix normalised per true class."""
    groups: dict[str, dict] = {}
    figures.mkdir(parents=True, exist_ok=True)
    for e in evaluations:
        key = f"{e['data']} ({e['split']})"
        group = groups.setdefault(key, {"data": key, "rows": [], "matrices": []})
        run_name = Path(e["run"]).name
        unseen = ", ".join(e.get("unseen_classes") or {})
        group["rows"].append(_cross_row(run_name, e, "", f"unseen classes (errors): {unseen}" if unseen else ""))
        for c in e.get("compared", []):
            t = c["mcnemar"]
            group["rows"].append(_cross_row(c["name"], c, "other model", (
                f"{run_name} {100 * t['difference']:+.2f} points ({t['a_right_b_wrong']} vs {t['a_wrong_b_right']}), "
                f"exact McNemar p = {t['p_value']:.2g}")))
        path = figures / f"cross-{list(groups).index(key)}-{len(group['matrices'])}.png"
        plot_confusion_matrix(e["confusion_matrix"], e["labels"], path, f"{run_name} on {key}: {e['accuracy']:.1%}")
        group["matrices"].append({"caption": f"{run_name} on {key}: rows are the true class; cells give % of the "
                                             f"true class and the image count", "path": path})
    return list(groups.values())


def _cross_row(name: str, m: dict, kind: str, note: str) -> dict:
    ci = m.get("intervals") or {}
    cells = [_with_ci(m[k], *(ci.get(k) or (None, None))) for k in ("accuracy", "balanced_accuracy", "macro_f1")]
    return {"name": name, "kind": kind, "n": m["n"], "cells": cells, "note": note}


def _figure(figures: Path, name: str, kind: str) -> Path:
    """The figure ``kind`` of the result ``name`` in ``figures``, a file directly in it: a run named by part of
    its path (``a/run``, see :func:`_distinctly_named`) gets ``a_run-...``, not a folder of its own."""
    return figures / f"{name.replace('/', '_')}-{kind}.png"


def robustness_tables(evaluations: list[dict], figures: Path) -> list[dict]:
    """Per evaluation with conditions: condition × severity → accuracy [95% CI] and the drop from clean,
    and a plot of accuracy against severity."""
    out = []
    for i, e in enumerate(e for e in evaluations if e.get("robustness")):
        run = Path(e["run"]).name
        rows = []
        for name in dict.fromkeys(r["condition"] for r in e["robustness"]):
            levels = sorted((r for r in e["robustness"] if r["condition"] == name), key=lambda r: r["level"])
            rows.append({"condition": name, "description": levels[0]["description"],
                         "cells": [f"{_with_ci(r['accuracy'], *r['interval'])} ({-100 * r['drop']:+.1f})" for r in levels]})
        figures.mkdir(parents=True, exist_ok=True)
        path = figures / f"robustness-{i}-{run}.png"
        plot_robustness(e["accuracy"], e["robustness"], path, f"{run} on {Path(str(e['data'])).name} ({e['split']})")
        out.append({"title": f"{run} on {e['data']} ({e['split']}, n={e['n']}): clean {_with_ci(e['accuracy'], *e['intervals']['accuracy'])}",
                    "rows": rows, "path": path})
    return out


def read_evaluations(paths) -> list[dict]:
    """The JSON ``evaluate`` wrote (one evaluation, or a list), from each path."""
    out = []
    for path in paths:
        doc = read_json(path, "evaluation (from fer-classic evaluate --out)", (dict, list))
        for e in doc if isinstance(doc, list) else [doc]:
            if not isinstance(e, dict) or not {"run", "data", "accuracy", "n"} <= set(e):
                raise DatasetError(f"{path}: not the output of fer-classic evaluate")
            out.append(e)
    return out


def build_report(results: list[Result], figures: Path, *, title: str, wall_seconds: float | None = None,
                 evaluations: list[dict] | None = None) -> dict:
    """Everything a report shows, as plain data for the templates; figures are drawn into ``figures``."""
    keys = pd.Series([_comparable_key(r.metrics) for r in results])
    main_key = keys.value_counts().index[0]
    ranked = sorted([r for r in results if _comparable_key(r.metrics) == main_key], key=lambda r: -r.metrics["accuracy"])
    others = [r for r in results if _comparable_key(r.metrics) != main_key]
    frame = results_frame(ranked + others).set_index("name")

    board_columns = ["accuracy", "balanced_accuracy", "macro_f1"]
    best = {c: frame.loc[[r.name for r in ranked], c].max() for c in board_columns}
    board = []
    for rank, r in enumerate(ranked + others, 1):
        row = frame.loc[r.name]
        board.append({
            "rank": str(rank) if r in ranked else "not ranked", "name": r.name,
            "kind": "external" if r.kind == "external" else "", "descriptors": row["descriptors"], "pca": row["pca"],
            "model": row["model"], "n": row["n_test"], "fit": _seconds(row["fit_seconds"]),
            "cells": [{"text": _with_ci(row[c], row[f"{c}_low"], row[f"{c}_high"]),
                       "best": r in ranked and row[c] == best[c]} for c in board_columns],
            "params": row["best_params"], "test": f"{row['test_split']} ({row['protocol']})", "marked": r not in ranked,
        })
    tests = paired_tests(ranked)
    top = ranked[0].name
    position = {r.name: i for i, r in enumerate(ranked)}
    kinds = {r.name: r.kind for r in ranked}
    pairs = [{"a": t.a, "b": t.b, "text": f"{t.a} vs {t.b}: {100 * t.difference:+.1f} points "
              f"({t.a_right_b_wrong} vs {t.a_wrong_b_right} images only one got right), {_p(t.p_value)}, "
              f"Holm-adjusted {_p_holm(t.p_holm)}",
              "significant": t.p_holm < 0.05}
             for t in tests.itertuples() if top in (t.a, t.b) or abs(position[t.a] - position[t.b]) == 1
             or "external" in {kinds[t.a], kinds[t.b]}]

    references = reference_rows("FER2013")

    classes = list(dict.fromkeys(c for r in ranked + others for c in r.metrics["labels"]))
    per_class, class_n = _per_class_rows(ranked + others, classes)
    figures.mkdir(parents=True, exist_ok=True)
    matrices = []
    for i, r in enumerate(ranked + others):
        path = _figure(figures, r.name, "confusion")
        plot_confusion_matrix(r.metrics["confusion_matrix"], r.metrics["labels"], path,
                              f"{r.name}: {r.metrics['accuracy']:.1%} on {r.metrics['test_split']}")
        matrices.append({"caption": f"{r.name} (rank {board[i]['rank']}): rows are the true class; cells give % of "
                                    f"the true class and the image count", "path": path})
    knn, mlp = [], []
    for r in ranked + others:
        grid = r.folder / "grid.csv" if r.folder else None
        kind = MODEL_KINDS.get(r.metrics.get("model"))  # None for ensembles and other models
        if kind and kind.grid_figure and grid and grid.is_file() and r.metrics.get("n_configurations", 1) > 1:
            rows = pd.read_csv(grid)
            if "fold" in rows:
                rows = rows[rows["fold"] == rows["fold"].iloc[0]]
            path = _figure(figures, r.name, "grid")
            kind.grid_figure[1](rows.to_dict("records"), path, f"{r.name}: {r.metrics['validation_split']}")
            knn.append({"caption": f"{r.name}: validation accuracy across its grid", "path": path})
        if "learning_curves" in r.metrics:
            path = _figure(figures, r.name, "mlp")
            plot_learning_curves(r.metrics["learning_curves"], path, f"{r.name}: learning curves")
            mlp.append({"name": r.name, "path": path, "rates": [
                {"epochs": a["epochs"], "cells": [f"{a['mcr']:+.4f}", f"{a['mofr']:+.4f}", f"{l['mcr']:+.4f}",
                                                  f"{l['mofr']:+.4f}"]}
                for a, l in zip(r.metrics["convergence"]["accuracy"], r.metrics["convergence"]["loss"])]})
    ensembles = [{"name": r.name, "weighting": r.metrics["best_params"]["weighting"],
                  "fit": r.metrics["split_sizes"]["fit"],
                  "rows": [[m["member"], _fraction_with_ci(m["validation_accuracy"], r.metrics["split_sizes"]["validation"]),
                            _fraction_with_ci(m["test_accuracy_not_used_for_selection"], r.metrics["n_test"]),
                            f"{m['weight']:.3f}"] for m in r.metrics["members"]]
                  + [["ensemble (soft vote)", _fraction_with_ci(r.metrics["ensemble_validation_accuracy"],
                                                                r.metrics["split_sizes"]["validation"]),
                      _fraction_with_ci(r.metrics["accuracy"], r.metrics["n_test"]), ""]]}
                 for r in ranked + others if r.metrics.get("members")]

    sources = {str(r.metrics.get("dataset_source") or "") for r in ranked if r.kind == "run"}
    sample = any(Path(s).name == SAMPLE_FOLDER for s in sources)
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return {
        "title": title,
        "intro": (f"Written {when} by fer-classic {__version__} on {machine_description()}"
                  + (f"; the whole suite took {wall_seconds / 60:.1f} minutes of wall time" if wall_seconds else "")
                  + ". Accuracies are on each run's test split, which no model selection looked at; each comes with "
                    "n and a 95% interval (Wilson for accuracy, a seeded bootstrap of the test images for balanced "
                    "accuracy and macro F1)."),
        "sample_note": (f"These runs use the embedded sample of FER2013 (a seeded stratified 10%: {ranked[0].metrics['n_test']} "
                        "test images), not the full dataset: their numbers are not comparable with the published "
                        "full-data references below." if sample else ""),
        "board": board, "board_note": (f"Ranked: results on {main_key[2]} under the {main_key[1]} protocol, on the same "
                                       f"data (fingerprint {str(main_key[0])[:19]}…); the best value of each column in "
                                       f"bold. External rows are a user's own models, scored here from their predictions "
                                       f"on the same images."),
        "pairs": pairs, "pairs_note": f"Exact McNemar tests on the same test images (on the images exactly one of the two got "
                                      f"right): the top result against each other, each against the next one down, "
                                      f"and every external model against each run. Each p-value is shown raw and "
                                      f"adjusted by Holm's method for all {len(tests)} pairs of ranked results (the "
                                      f"JSON and CSV formats list every pair); Holm-adjusted p < 0.05 in bold.",
        "references": references, "classes": classes, "class_n": class_n, "per_class": per_class, "matrices": matrices,
        "knn": knn, "mlp": mlp, "ensembles": ensembles,
        "frame": frame.reset_index(), "tests": tests,
        "cross": cross_dataset_table(evaluations, figures) if evaluations else None,
        "robustness": robustness_tables(evaluations or [], figures),
    }


def machine_description() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, " \
           f"Python {platform.python_version()}"


def _environment():
    import jinja2
    import markupsafe

    env = jinja2.Environment(loader=jinja2.PackageLoader("fer_classic.reporting", "templates"),
                             autoescape=jinja2.select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.filters["md"] = lambda v: str(v).replace("|", "\\|")
    # Run names wrap only after "+" or "/" (never inside a word, nor after a hyphen), in print as on screen.
    env.filters["name"] = lambda v: markupsafe.Markup("<wbr>").join(
        markupsafe.Markup('<span class="nb">{}</span>').format(part) for part in re.split(r"(?<=[+/])", str(v)))
    env.filters["data_uri"] = lambda p: "data:image/png;base64," + base64.b64encode(Path(p).read_bytes()).decode()
    return env


def leaderboard_latex(report: dict) -> str:
    """The leaderboard as a LaTeX table (booktabs rules; needs ``\\usepackage{booktabs}``): rank, run,
    descriptors, model, accuracy, balanced accuracy and macro F1 each with its 95% interval, n."""
    board = pd.DataFrame([{"rank": r["rank"], "run": r["name"], "descriptors": r["descriptors"], "model": r["model"],
                           "accuracy [95% CI]": r["cells"][0]["text"], "balanced acc. [95% CI]": r["cells"][1]["text"],
                           "macro F1 [95% CI]": r["cells"][2]["text"], "n": r["n"]} for r in report["board"]])
    first = report["board"][0]
    caption = (f"Test accuracy on {first['test']}, n = {first['n']}, with 95\\% intervals (Wilson for accuracy, a "
               f"seeded bootstrap of the test images for balanced accuracy and macro F1). Rows after the ranked "
               f"ones are marked not ranked.")
    styler = board.style.hide(axis="index").format(escape="latex").format_index(escape="latex", axis=1)
    table = styler.to_latex(hrules=True, column_format="rlllrrrr", position="htbp",
                            caption=caption.replace("_", "\\_"), label="tab:fer-classic-leaderboard")
    return f"% fer-classic report: {report['intro']}\n% needs \\usepackage{{booktabs}}\n{table}"


def _distinctly_named(results: list[Result]) -> list[Result]:
    """Runs named by their folder, or where two folders share a name by as much of their paths as tells
    them apart (``a/runs/svm``, ``b/runs/svm``); the same folder given twice is an error."""
    import dataclasses

    paths = [Path(r.folder).resolve() for r in results]
    twice = sorted({str(p) for p in paths if paths.count(p) > 1})
    if twice:
        raise ConfigurationError(f"the same run is given twice: {', '.join(twice)}")
    named = []
    for r, path in zip(results, paths):
        depth = 1
        while depth < len(path.parts) and sum(p.parts[-depth:] == path.parts[-depth:] for p in paths) > 1:
            depth += 1
        named.append(dataclasses.replace(r, name="/".join(path.parts[-depth:])) if depth > 1 else r)
    return named


def write_report(run_dirs, out, *, title: str = "fer-classic: classical FER baselines", wall_seconds: float | None = None,
                 predictions: dict[str, str] | None = None, evaluations=(), formats=("md", "html")) -> list[Path]:
    """Write a comparison report of ``run_dirs`` (and of external models' ``predictions``).

    Parameters
    ----------
    run_dirs : paths
        Run directories.
    out : path
        The report's path; each format is written beside it with its own suffix (``.md``, ``.html``,
        ``.csv``, ``.json``), the Markdown's figures in ``<stem>_files/``.
    predictions : dict, optional
        Name → CSV of a user's model's predictions on the same test images as the runs (``id`` or
        ``file``, ``predicted``), shown as external rows with intervals and McNemar tests.
    evaluations : paths
        Outputs of ``evaluate`` (a run on other datasets), shown as a dataset × run table.
    formats : iterable of str
        Any of md, html, csv, json, tex (the leaderboard as a LaTeX booktabs table, for a paper).

    Returns
    -------
    list of Path
        The files written.
    """
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown or not formats:
        raise ConfigurationError(f"unknown report format {', '.join(unknown) or '(none)'}; choose from {', '.join(FORMATS)}")
    results = _distinctly_named([load_result(d) for d in run_dirs])
    if not results:
        raise RunError("no runs to report")
    for name, path in (predictions or {}).items():
        if any(r.name == name for r in results):
            raise ConfigurationError(f"--predictions {name}=...: {name!r} is already the name of a run in the "
                                     f"report; give your model another name")
        reference = next((r for r in results if r.predictions is not None), results[0])
        results.append(read_external_predictions(name, path, reference))
    out = Path(out)
    stem = out.with_suffix("")
    files = stem.with_name(stem.name + "_files")
    if files.exists():
        shutil.rmtree(files)
    report = build_report(results, files, title=title, wall_seconds=wall_seconds,
                          evaluations=read_evaluations(evaluations))
    env = _environment()
    written = []
    if "md" in formats:
        figures = [f for group in ("matrices", "knn", "mlp", "robustness") for f in report[group]]
        figures += [m for g in report["cross"] or [] for m in g["matrices"]]
        links = {str(f["path"]): f"{files.name}/{Path(f['path']).name}" for f in figures}
        text = env.get_template("report.md.j2").render(**report, link=lambda p: links[str(p)])
        write_text_atomic(stem.with_suffix(".md"), text)
        written.append(stem.with_suffix(".md"))
    if "html" in formats:
        write_text_atomic(stem.with_suffix(".html"), env.get_template("report.html.j2").render(**report))
        written.append(stem.with_suffix(".html"))
    if "csv" in formats:
        write_text_atomic(stem.with_suffix(".csv"), report["frame"].to_csv(index=False))
        written.append(stem.with_suffix(".csv"))
    if "json" in formats:
        doc = {"title": title, "intro": report["intro"], "results": report["frame"].to_dict("records"),
               "paired_tests": report["tests"].to_dict("records"), "cross_dataset": report["cross"],
               "references": report["references"]}
        write_text_atomic(stem.with_suffix(".json"), json.dumps(doc, indent=2, default=str) + "\n")
        written.append(stem.with_suffix(".json"))
    if "tex" in formats:
        write_text_atomic(stem.with_suffix(".tex"), leaderboard_latex(report))
        written.append(stem.with_suffix(".tex"))
    if "md" not in formats:
        shutil.rmtree(files, ignore_errors=True)  # the figures live on only beside the Markdown
    return written
