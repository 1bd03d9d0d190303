"""The package's layers: each part of fer_classic imports only parts below it (function-level imports
included; names only for type checkers are not imports)."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import fer_classic

PACKAGE = Path(fer_classic.__file__).parent

# Lowest first. A part may import itself and any part listed before it, nothing after.
LAYERS = [
    "lazy_exports",  # names imported on first use (PEP 562)
    "fer_classic",  # the package's __init__: its version and the lazily imported public names
    "errors", "registry", "cluster", "parallel", "store",  # general helpers
    "evaluation",  # metrics, intervals, paired tests, their figures
    "data", "faces", "features", "models",
    "runs",  # run folders, the run record, the predictor format
    "training", "pipelines", "suite",
    "apply", "reporting",
    "cli", "console", "__main__",
]


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _module_name(path: Path, package: Path) -> str:
    parts = ["fer_classic", *path.relative_to(package).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str, package: Path) -> bool:
    relative = Path(*name.split(".")[1:])
    return (package / relative).with_suffix(".py").exists() or (package / relative / "__init__.py").exists()


def _type_checking_only(tree: ast.AST) -> set[int]:
    """The ids of the import nodes under ``if TYPE_CHECKING:``."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            skipped |= {id(n) for child in node.body for n in ast.walk(child)}
    return skipped


def imports_of(path: Path, root: Path = PACKAGE) -> list[tuple[int, str]]:
    """(line, module) of every fer_classic module ``path`` (a file of the package at ``root``) imports."""
    module = _module_name(path, root)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_only(tree)
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("fer_classic")]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
            if not base.startswith("fer_classic"):
                continue
            for alias in node.names:
                name = f"{base}.{alias.name}"
                found.append((node.lineno, name if _is_module(name, root) else base))
    return found


def upward_imports(root: Path = PACKAGE) -> list[str]:
    """Every import in the package at ``root`` of a part above the importer's."""
    rank = {name: i for i, name in enumerate(LAYERS)}
    problems = []
    for path in sorted(root.rglob("*.py")):
        importer = _part(_module_name(path, root))
        assert importer in rank, f"{path}: part {importer!r} is missing from LAYERS"
        for line, imported in imports_of(path, root):
            target = _part(imported)
            assert target in rank, f"{path}:{line}: part {target!r} is missing from LAYERS"
            if rank[target] > rank[importer]:
                problems.append(f"{path.relative_to(root.parent)}:{line}: {importer} imports {imported} "
                                f"(layer {target}, above {importer})")
    return problems


def test_imports_only_point_down():
    assert upward_imports() == []


def test_the_check_sees_an_upward_import(tmp_path):
    # a copy of the package in which a module of the runs layer imports from apply inside a function
    root = tmp_path / "fer_classic"
    shutil.copytree(PACKAGE, root, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "runs" / "_layer_probe.py").write_text("import numpy\n\n\ndef f():\n    from ..apply import photos\n",
                                                   encoding="utf-8")
    problems = upward_imports(root)
    assert problems == ["fer_classic/runs/_layer_probe.py:5: runs imports fer_classic.apply.photos "
                        "(layer apply, above runs)"]


def test_the_root_package_imports_nothing_but_its_lazy_names():
    assert [m for _, m in imports_of(PACKAGE / "__init__.py")] == ["fer_classic.lazy_exports"]
