"""Run directories: written whole or not at all, and model files that cannot run code when loaded.

Models are saved with ``skops.io``, which rebuilds objects from a tree of named nodes instead of
unpickling. Before anything is built, the tree is audited against an explicit list of classes
(:mod:`~fer_classic.runs.trusted_classes`); a file whose SHA-256 differs from the one recorded
beside it is refused too (which guards against damage, not against whoever wrote the folder).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from ..errors import OutputError, RunError, describe_os_error
from ..store import (
    atomic_path,
    compact_form,
    current_umask,
    file_sha256,
    from_compact_form,
    is_output_failure,
    library_versions,
    read_json,
    write_json_atomic,
    write_zip_deflating_where_it_pays,
)

METRICS = "metrics.json"
MODEL_FILE = "model.skops"
RUN_FORMAT = "fer-classic-run/1"

def skops_io():
    """``skops.io``, imported without building its default allow-list of scikit-learn estimators: that
    list comes from ``sklearn.utils.all_estimators()``, which imports every scikit-learn module (and
    pytest where it is installed) — about 0.7 s of a command's start. fer-classic audits every node of
    a file itself (:func:`~fer_classic.runs.trusted_classes.untrusted_parts`), so the list is not
    needed; when skops was imported already, it is used as it is."""
    if "skops.io" not in sys.modules:
        import sklearn.utils

        all_estimators = sklearn.utils.all_estimators
        sklearn.utils.all_estimators = lambda *args, **kwargs: []
        try:
            import skops.io  # noqa: F401
        finally:
            sklearn.utils.all_estimators = all_estimators
    return sys.modules["skops.io"]


@contextlib.contextmanager
def new_run_directory(path: str | os.PathLike, force: bool = False):
    """Yield a temporary folder beside ``path`` that becomes ``path`` only when the block succeeds.

    An existing ``path`` is an error unless ``force``, and is replaced only at the very end, so an
    interrupted run leaves either the old run or nothing, never a half-written one.
    """
    path = Path(path)
    occupied = any(path.iterdir()) if path.is_dir() else path.exists()
    if occupied and not force:
        raise RunError(f"{path} already exists (use --force to replace it)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes it private; a finished run follows the umask
    except OSError as exc:
        raise OutputError(describe_os_error(exc, path, writing=True)) from None
    try:
        yield tmp
        if path.exists():
            old = path.with_name(f".{path.name}.replaced")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OutputError):  # a file inside the run: named as it would have been
            raise OutputError(str(exc).replace(str(tmp), str(path))) from None
        if is_output_failure(exc, tmp):
            raise OutputError(describe_os_error(exc, path, writing=True)) from None
        raise


_SHRINK_MIN_SIZE = 4096  # float arrays from this many values up are stored in a smaller dtype where that is exact


def _attribute_slots(obj):
    """(key, value) of the places inside a model that can hold arrays: estimators' attributes, lists, dicts."""
    if isinstance(obj, dict):
        return list(obj.items())
    if isinstance(obj, list):
        return list(enumerate(obj))
    if isinstance(obj, tuple):
        return [(i, v) for i, v in enumerate(obj) if not isinstance(v, np.ndarray)]  # tuples cannot be assigned
    if type(obj).__module__.split(".")[0] in ("sklearn", "fer_classic") and hasattr(obj, "__dict__"):
        return list(vars(obj).items())
    return []


def _assign(obj, key, value) -> None:
    if isinstance(obj, (dict, list)):
        obj[key] = value
    else:
        setattr(obj, key, value)


def _child(obj, key):
    return obj[key] if isinstance(obj, (dict, list, tuple)) else getattr(obj, key)


def compact_arrays(model) -> list[list]:
    """Store, in place, every large float array of ``model`` in its most compact exact form
    (:func:`~fer_classic.store.compact_form`: a KNN model's pixel rows as uint8, rows rounded to an int8
    grid (``TrainSpec.int8_rows``) as int8 and a step per column, float16-valued ones (``float16_rows``,
    ``pca_precision``) as float16, an SVM's float32-valued support vectors as float32): no value changes.
    Returns ``[path, original dtype]`` entries, ``[path, original dtype, steps]`` for int8 grids, for
    :func:`restore_arrays`."""
    entries, seen = [], set()

    def walk(obj, path):
        if id(obj) in seen:
            return
        seen.add(id(obj))
        for key, value in _attribute_slots(obj):
            if isinstance(value, np.ndarray):
                if value.size < _SHRINK_MIN_SIZE:
                    continue
                stored, steps = compact_form(value)
                if stored is not value:
                    _assign(obj, key, stored)
                    entries.append([[*path, key], value.dtype.str] + ([] if steps is None else [steps]))
            else:
                walk(value, [*path, key])

    walk(model, [])
    return entries


def restore_arrays(model, entries) -> None:
    """Undo :func:`compact_arrays` (the same values, in their original dtypes again)."""
    for path, dtype, *steps in entries:
        parent = model
        for key in path[:-1]:
            parent = _child(parent, key)
        stored = _child(parent, path[-1])
        _assign(parent, path[-1], np.ascontiguousarray(from_compact_form(stored, steps[0] if steps else None,
                                                                         np.dtype(dtype))))


def save_model(pipeline, path: Path) -> str:
    """Write ``pipeline`` with skops (atomically), large float arrays in the smallest dtype that holds
    them exactly (:func:`compact_arrays`; restored on loading), each part of the file deflated only where
    that saves a fifth or more (the schema, smooth pixel rows; not support vectors, whose inflating would
    take most of the loading time for 6% of the size); returns the file's SHA-256. The same model gives
    the same bytes (:func:`_renumbered`)."""
    import io

    sio = skops_io()
    entries = compact_arrays(pipeline)
    try:
        plain = io.BytesIO()
        sio.dump({"model": pipeline, "compact_arrays": entries}, plain)
    finally:
        restore_arrays(pipeline, entries)
    with atomic_path(path) as tmp:
        write_zip_deflating_where_it_pays(_renumbered(plain), tmp)
    return file_sha256(path)


def _renumbered(skops_file):
    """The skops archive ``skops_file`` with its object ids and member names numbered in the order the
    schema mentions them: skops takes both from ``id()``, which differs from process to process."""
    import io
    from zipfile import ZipFile

    ids: dict[int, int] = {}
    files: dict[str, str] = {}

    def renumber(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "__id__" and isinstance(value, int):
                    node[key] = ids.setdefault(value, len(ids) + 1)
                elif key == "file" and isinstance(value, str):
                    stem, dot, suffix = value.rpartition(".")
                    node[key] = files.setdefault(value, f"{len(files) + 1}{dot}{suffix if dot else ''}")
                else:
                    renumber(value)
        elif isinstance(node, list):
            for value in node:
                renumber(value)

    out = io.BytesIO()
    with ZipFile(skops_file) as zin, ZipFile(out, "w") as zout:
        schema = json.loads(zin.read("schema.json"))
        renumber(schema)
        for info in zin.infolist():
            name = "schema.json" if info.filename == "schema.json" else files.get(info.filename)
            if name is None:
                raise ValueError(f"skops wrote a member the schema does not name: {info.filename}")
            data = json.dumps(schema, indent=2).encode() if name == "schema.json" else zin.read(info)
            zout.writestr(name, data)
    out.seek(0)
    return out


def _check_versions(recorded: dict, run_dir: Path) -> None:
    now = library_versions()

    def minor(v):
        return ".".join(str(v).split(".")[:2])

    for lib in ("scikit-learn", "fer-classic"):
        if lib in recorded and lib in now and minor(recorded[lib]) != minor(now[lib]):
            raise RunError(f"{run_dir}: the model was saved with {lib} {recorded[lib]}, this is {now[lib]}; "
                           f"install {lib}=={recorded[lib]} or train the run again")


def read_run_record(run_dir: Path) -> dict:
    """The run record (metrics.json) of a run directory, after checking it is one (RunError if not, saying
    which runs a folder of runs holds): the one reader of run records."""
    if not run_dir.is_dir():
        raise RunError(f"{run_dir}: no such run directory")
    if not (run_dir / METRICS).exists():
        inside = sorted(p.name for p in [*run_dir.glob(f"*/{METRICS}"), *run_dir.glob(f"runs/*/{METRICS}")]
                        for p in [p.parent])
        if inside:
            where = "runs/" if (run_dir / "runs").is_dir() else ""
            raise RunError(f"{run_dir} is not a run but holds runs: give one of {run_dir}/{where}<name>, with "
                           f"<name> one of {', '.join(inside)}")
    metrics = read_json(run_dir / METRICS, "run (metrics.json is missing: was the run interrupted?)")
    if metrics.get("format") != RUN_FORMAT:
        raise RunError(f"{run_dir / METRICS}: format {metrics.get('format')!r}, expected {RUN_FORMAT!r}")
    return metrics


def predictor_path(run_dir: Path, metrics: dict) -> Path | None:
    """The run's predictor file, or None where it has none (a model without a numpy form, a run trained
    before predictors, or a predictor deleted to save room: the model labels then)."""
    name = (metrics.get("predictor") or {}).get("file")
    return run_dir / name if name and (run_dir / name).exists() else None


def member_specs(metrics: dict) -> list[dict]:
    """The recorded training settings of a run's classifiers: its spec, or each member's."""
    spec = metrics.get("spec") or {}
    return spec.get("members") or [spec]


def load_run_labeller(run_dir: str | os.PathLike):
    """What labels faces for a run, and its metrics: the run's predictor (numpy alone, no scikit-learn
    imported, model.skops not opened; :mod:`fer_classic.runs.predictor`) where it has one, else its
    model (:func:`load_run`) behind the same interface
    (:class:`~fer_classic.runs.predictor.ModelLabeller`)."""
    from .predictor import ModelLabeller, load_predictor

    run_dir = Path(run_dir)
    metrics = read_run_record(run_dir)
    path = predictor_path(run_dir, metrics)
    if path is not None:
        return load_predictor(path, metrics["predictor"].get("sha256")), metrics
    model, metrics = load_run(run_dir)
    return ModelLabeller(model), metrics


def remove_model_copy(run_dir: str | os.PathLike) -> int:
    """Remove a run's model file where its predictor labels the same faces the same (``baseline`` does,
    unless --keep-models: predict, video and evaluate use the predictor); returns the bytes freed (0
    for a run without a predictor, which keeps its model)."""
    run_dir = Path(run_dir)
    metrics = read_run_record(run_dir)
    model_path = run_dir / metrics.get("model_file", MODEL_FILE)
    if predictor_path(run_dir, metrics) is None or not model_path.is_file():
        return 0
    size = model_path.stat().st_size
    model_path.unlink()
    return size


def load_run(run_dir: str | os.PathLike) -> tuple[object, dict]:
    """The fitted image→label model of a run and its metrics, after every safety check.

    Parameters
    ----------
    run_dir : path
        A run directory (``train``'s output).

    Returns
    -------
    model : estimator
        ``predict(images)`` labels uint8 face images.
    metrics : dict
        The run's metrics.json.

    Raises
    ------
    RunError
        No run there, a model file whose SHA-256 differs from the recorded one, one saved with
        another scikit-learn or fer-classic minor version, or one holding types fer-classic does not
        trust.
    """
    run_dir = Path(run_dir)
    metrics = read_run_record(run_dir)
    model_path = run_dir / metrics.get("model_file", MODEL_FILE)
    if not model_path.is_file():
        removed = predictor_path(run_dir, metrics) is not None
        raise RunError(f"{model_path}: the run's model file is missing" + removed * (
            " (fer-classic baseline keeps only the predictor of a run that has one, unless --keep-models; "
            "predict, evaluate and video labelling use the predictor)"))
    _check_versions(metrics.get("versions", {}), run_dir)
    saved = _load_trusted(model_path, metrics.get("model_sha256"))
    if isinstance(saved, dict) and "model" in saved:  # arrays stored in a smaller exact dtype
        if "compact_arrays" in saved:
            restore_arrays(saved["model"], saved["compact_arrays"])
        else:  # written by 0.2.0 before pixels were stored as integers: float64 arrays as float32
            restore_arrays(saved["model"], [[path, "<f8"] for path in saved["float64_paths"]])
        return saved["model"], metrics
    return saved, metrics


def _check_digest(model_path: Path, digest: str, recorded: str | None) -> None:
    if digest != recorded:
        raise RunError(f"{model_path}: its SHA-256 does not match the one recorded in metrics.json; "
                       f"refusing to load a model file that was changed")


def _load_trusted(model_path: Path, sha256: str | None):
    """The object in a skops file, read once: its SHA-256 is computed (in a thread) while skops reads the
    file's structure and arrays, and nothing is imported or built before the hash matches ``sha256`` and
    every node of the file passes :func:`~fer_classic.runs.trusted_classes.untrusted_parts`."""
    from concurrent.futures import ThreadPoolExecutor
    from zipfile import ZipFile

    from .trusted_classes import check_forest_trees, untrusted_parts

    skops_io()
    try:  # skops's own steps: parse the file into a tree of nodes without building anything
        from skops.io._audit import audit_tree, get_tree
        from skops.io._utils import read_schema
    except ImportError:  # a skops whose internals moved: no way to audit the file, so no loading
        raise RunError(f"{model_path}: this version of skops cannot be audited by fer-classic; "
                       f"install skops 0.10 to 0.16") from None
    with ThreadPoolExecutor(1) as pool:
        digest = pool.submit(file_sha256, model_path)
        try:
            with ZipFile(model_path, "r") as zip_file:
                schema, load_context = read_schema(zip_file)
                tree = get_tree(schema, load_context, trusted=None)
                _check_digest(model_path, digest.result(), sha256)
                refused = untrusted_parts(tree)
                if refused:
                    raise RunError(f"{model_path}: not trusted, nothing in it was loaded: it would build "
                                   f"{'; '.join(refused)}")
                audit_tree(tree, trusted=sorted(tree.get_unsafe_set()))
                model = tree.construct()
        except RunError:
            raise
        except Exception as exc:  # skops and zipfile raise various errors for files they cannot parse
            _check_digest(model_path, digest.result(), sha256)
            raise RunError(f"{model_path}: not a readable skops model file ({exc})") from None
    check_forest_trees(model, model_path)
    return model


def write_metrics(run_dir: Path, metrics: dict) -> None:
    write_json_atomic(run_dir / METRICS, {"format": RUN_FORMAT, **metrics})


def add_predictor(run_dir: str | os.PathLike) -> dict:
    """Write the predictor of a run trained before its model had a numpy form (local learning before
    fer-classic 0.2's predictor for it): the same file ``train`` writes now, from the run's model.
    Returns the run's predictor entry (``{"file", "sha256"}``, or ``{"absent": why}``), also written to
    its metrics.json; a run with a predictor is left as it is."""
    from .predictor_export import write_run_predictor

    run_dir = Path(run_dir)
    metrics = read_run_record(run_dir)
    if predictor_path(run_dir, metrics) is not None:
        return metrics["predictor"]
    model, metrics = load_run(run_dir)
    metrics["predictor"] = write_run_predictor(model, run_dir)
    write_metrics(run_dir, metrics)
    return metrics["predictor"]
