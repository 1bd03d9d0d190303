"""MkDocs hooks: the tables of descriptors, model kinds and pipelines are made from the registries when
the site is built (``{{ descriptors_table }}``, ``{{ models_table }}``, ``{{ pipelines_table }}`` in a
page), and the results pages are the files of ``reports/`` (served under ``results/``)."""

from __future__ import annotations

from pathlib import Path

from mkdocs.structure.files import File

REPORTS = Path(__file__).resolve().parents[2] / "reports"


def _tables() -> dict[str, str]:
    from fer_classic.features.registry import descriptors_markdown_table
    from fer_classic.models import MODEL_KINDS  # noqa: F401  (registers the kinds)
    from fer_classic.models.registry import models_markdown_table
    from fer_classic.pipelines import pipelines_markdown_table

    return {"descriptors_table": descriptors_markdown_table(), "models_table": models_markdown_table(),
            "pipelines_table": pipelines_markdown_table()}


def on_files(files, config):
    for path in sorted(REPORTS.rglob("*")):
        if path.is_file():
            relative = path.relative_to(REPORTS).as_posix()
            if path.name == "README.md":
                relative = relative[:-len("README.md")] + "index.md"
            files.append(File.generated(config, f"results/{relative}", abs_src_path=str(path)))
    return files


def on_page_markdown(markdown, page, config, files):
    for name, table in _tables().items():
        markdown = markdown.replace("{{ " + name + " }}", table)
    return markdown
