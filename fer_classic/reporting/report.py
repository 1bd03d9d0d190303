"""Comparison reports: runs next to published reference numbers, as Markdown and self-contained HTML.

A report is built once as a list of sections (text, tables, images) and rendered twice: Markdown with
the figures copied beside it and linked, and HTML with the figures embedded, so it can be mailed or
attached to a CI build as one file.
"""

from __future__ import annotations

import base64
import html
import os
import platform
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

import pandas as pd

from .. import __version__
from ..models.registry import describe_params
from ..errors import RunError
from ..training.runs import METRICS
from ..store import read_json, write_text_atomic

FAMILY_LABELS = {"cnn": "CNN", "classical": "classical", "human": "human"}


def load_references() -> pd.DataFrame:
    """Published numbers (``references.csv`` in the package): dataset, method, family, accuracy, split,
    source, notes."""
    with resources.files("fer_classic.reporting").joinpath("references.csv").open(encoding="utf-8") as fh:
        return pd.read_csv(fh).fillna("")


# --------------------------------------------------------------------------- the document

@dataclass
class Table:
    headers: list[str]
    rows: list[list]
    note: str = ""


@dataclass
class Figure:
    caption: str
    path: Path


@dataclass
class Section:
    title: str
    blocks: list = field(default_factory=list)


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return "–"
    return str(v)


def render_markdown(title: str, intro: str, sections: list[Section], figure_links: dict[Path, str]) -> str:
    out = [f"# {title}", "", intro, ""]
    for s in sections:
        out += [f"## {s.title}", ""]
        for b in s.blocks:
            if isinstance(b, str):
                out += [b, ""]
            elif isinstance(b, Table):
                out.append("| " + " | ".join(b.headers) + " |")
                out.append("|" + "---|" * len(b.headers))
                out += ["| " + " | ".join(_fmt(c).replace("|", "\\|") for c in row) + " |" for row in b.rows]
                out += (["", f"_{b.note}_"] if b.note else []) + [""]
            elif isinstance(b, Figure):
                out += [f"![{b.caption}]({figure_links[b.path]})", "", f"_{b.caption}_", ""]
    return "\n".join(out)


def render_html(title: str, intro: str, sections: list[Section]) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">', f"<title>{e(title)}</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
        "table{border-collapse:collapse;margin:1em 0;font-size:0.9em}th,td{border:1px solid #ccc;padding:4px 8px;"
        "text-align:left}th{background:#f0f0f0}tr.marked td{color:#777;font-style:italic}"
        "figure{display:inline-block;margin:0.5em;vertical-align:top}figure img{max-width:520px}"
        "figcaption{font-size:0.85em;color:#555;max-width:520px}.note{font-size:0.85em;color:#555}</style>",
        "</head><body>", f"<h1>{e(title)}</h1>", f"<p>{e(intro)}</p>",
    ]
    for s in sections:
        parts.append(f"<h2>{e(s.title)}</h2>")
        for b in s.blocks:
            if isinstance(b, str):
                parts.append(f"<p>{e(b)}</p>")
            elif isinstance(b, Table):
                parts.append("<table><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in b.headers) + "</tr></thead><tbody>")
                for row in b.rows:
                    marked = ' class="marked"' if any("not ranked" in str(c) for c in row) else ""
                    parts.append(f"<tr{marked}>"
                                 + "".join(f"<td>{e(_fmt(c))}</td>" for c in row) + "</tr>")
                parts.append("</tbody></table>" + (f'<p class="note">{e(b.note)}</p>' if b.note else ""))
            elif isinstance(b, Figure):
                data = base64.b64encode(b.path.read_bytes()).decode("ascii")
                parts.append(f'<figure><img alt="{e(b.caption)}" src="data:image/png;base64,{data}">'
                             f"<figcaption>{e(b.caption)}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)


# --------------------------------------------------------------------------- runs

def load_report_runs(run_dirs) -> list[dict]:
    runs = []
    for d in run_dirs:
        d = Path(d)
        m = read_json(d / METRICS, "run (metrics.json is missing: was the run interrupted?)")
        if "accuracy" not in m or "protocol" not in m:
            raise RunError(f"{d / METRICS}: not the metrics of a fer-classic run")
        m["_dir"], m["_name"] = d, d.name
        runs.append(m)
    if not runs:
        raise RunError("no runs to report")
    return runs


def _pct(x) -> str:
    return f"{100 * x:.2f}%"


def _pca_text(m) -> str:
    pca = m.get("spec", {}).get("pca")
    if pca is None:
        return "none"
    return f"{m.get('pca_components', pca)} components" + (f" ({pca:.0%} var.)" if isinstance(pca, float) else "")


def _comparable_key(m) -> tuple:
    return (m.get("dataset_fingerprint"), m["protocol"], m["test_split"])


def build_sections(runs: list[dict], references: pd.DataFrame, dataset: str = "FER2013") -> list[Section]:
    # Rank together only runs on the same data, protocol and test split as the most common one.
    keys = pd.Series([_comparable_key(m) for m in runs])
    main_key = keys.value_counts().index[0]
    ranked = sorted([m for m in runs if _comparable_key(m) == main_key], key=lambda m: -m["accuracy"])
    others = [m for m in runs if _comparable_key(m) != main_key]
    rows = []
    for rank, m in enumerate(ranked, 1):
        rows.append(_run_row(str(rank), m))
    for m in others:
        rows.append(_run_row("not ranked (other data or protocol)", m))
    board = Table(["rank", "run", "descriptors", "PCA", "model", "best parameters", "accuracy",
                   "balanced acc.", "macro F1", "fit s", "test data (protocol)"], rows,
                  note=f"Ranked: runs on {main_key[2]} under the {main_key[1]} protocol, on the same data "
                       f"(fingerprint {str(main_key[0])[:19]}…). Model selection used only each run's validation "
                       f"split.")
    refs = references[references["dataset"] == dataset] if "dataset" in references else references
    ref_rows = [[r["method"], FAMILY_LABELS.get(r["family"], r["family"]), _pct(float(r["accuracy"])),
                 r["split"], r["source"]] for _, r in refs.sort_values("accuracy", ascending=False).iterrows()]
    ref_table = Table(["published method", "kind", "accuracy", "data and split", "source"], ref_rows,
                      note="Published reference numbers, not re-run here; their splits and protocols differ from "
                           "each other and from the runs above, so they are listed, not ranked with them.")
    sections = [Section("Leaderboard: this toolkit's runs", [board]),
                Section(f"Published reference numbers on {dataset}", [ref_table])]

    classes = list(dict.fromkeys(c for m in runs for c in m["labels"]))
    per_class = Table(["class"] + [m["_name"] for m in runs],
                      [[c] + [_pct(m["per_class"][c]["recall"]) if c in m["per_class"] else None for m in runs]
                       for c in classes],
                      note="Per-class accuracy (recall) on each run's test split.")
    sections.append(Section("Per-class accuracy", [per_class]))
    sections.append(Section("Confusion matrices", [Figure(f"{m['_name']}: rows are the true class",
                                                          m["_dir"] / "confusion_matrix.png")
                                                   for m in runs if (m["_dir"] / "confusion_matrix.png").exists()]))
    for m in (m for m in runs if m.get("members")):
        sections.append(Section(f"{m['_name']}: ensemble members", [Table(
            ["member", "validation accuracy", "test accuracy (not used to weight)", "weight", "fit s"],
            [[r["member"], _pct(r["validation_accuracy"]), _pct(r["test_accuracy_not_used_for_selection"]),
              f"{r['weight']:.3f}", f"{r['fit_seconds']:.0f}"] for r in m["members"]]
            + [["ensemble (soft vote)", _pct(m["ensemble_validation_accuracy"]), _pct(m["accuracy"]), "", ""]],
            note=f"Members fitted on {m['split_sizes']['fit']} images of the fit split; weights from the "
                 f"validation split ({m['best_params']['weighting']} weighting).")]))
    knn = [Figure(f"{m['_name']}: validation accuracy against k", m["_dir"] / "knn_accuracy_vs_k.png")
           for m in runs if (m["_dir"] / "knn_accuracy_vs_k.png").exists()]
    if knn:
        sections.append(Section("KNN: accuracy against k, per norm and weighting", knn))
    mlps = [m for m in runs if "convergence" in m]
    if mlps:
        blocks = []
        for m in mlps:
            rates = m["convergence"]
            blocks.append(Table(["run", "epochs", "MCR (accuracy)", "MOFR (accuracy)", "MCR (loss)", "MOFR (loss)"],
                                [[m["_name"], a["epochs"], f"{a['mcr']:+.4f}", f"{a['mofr']:+.4f}",
                                  f"{l['mcr']:+.4f}", f"{l['mofr']:+.4f}"]
                                 for a, l in zip(rates["accuracy"], rates["loss"])]))
            if (m["_dir"] / "mlp_curves.png").exists():
                blocks.append(Figure(f"{m['_name']}: learning curves", m["_dir"] / "mlp_curves.png"))
        blocks.insert(0, "MCR: mean change per epoch of the training metric; MOFR: mean change per epoch of "
                         "(training − validation) metric, over each window of epochs.")
        sections.append(Section("MLP learning curves", blocks))
    return sections


def _run_row(rank: str, m: dict) -> list:
    return [rank, m["_name"], "+".join(m["features"]), _pca_text(m), m["model"],
            describe_params(m["best_params"]), _pct(m["accuracy"]), _pct(m["balanced_accuracy"]),
            _pct(m["macro_f1"]), f"{m['fit_seconds']:.1f}", f"{m['test_split']} ({m['protocol']})"]


def machine_description() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, " \
           f"Python {platform.python_version()}"


def write_report(run_dirs, out, *, title: str = "fer-classic: classical FER baselines",
                 wall_seconds: float | None = None) -> tuple[Path, Path]:
    """Write ``out`` (Markdown, figures in ``<stem>_files/``) and ``<stem>.html`` (self-contained)."""
    out = Path(out)
    runs = load_report_runs(run_dirs)
    sections = build_sections(runs, load_references())
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    intro = (f"Written {when} by fer-classic {__version__} on {machine_description()}"
             + (f"; the whole suite took {wall_seconds / 60:.1f} minutes of wall time" if wall_seconds else "")
             + ". Accuracies are on each run's test split, which no model selection looked at.")
    files = out.with_name(out.stem + "_files")
    if files.exists():
        shutil.rmtree(files)
    links = {}
    for s in sections:
        for b in s.blocks:
            if isinstance(b, Figure):
                name = f"{b.path.parent.name}-{b.path.name}"
                files.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(b.path, files / name)
                links[b.path] = f"{files.name}/{name}"
    write_text_atomic(out, render_markdown(title, intro, sections, links))
    html_path = out.with_suffix(".html")
    write_text_atomic(html_path, render_html(title, intro, sections))
    return out, html_path
