"""Run directories: written whole or not at all, and model files that cannot run code when loaded.

Models are saved with ``skops.io``, which rebuilds objects from an allow-list of types instead of
unpickling; the toolkit trusts its own types and a fixed list of scikit-learn internals, and refuses
a file whose SHA-256 differs from the one recorded beside it.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from ..errors import RunError
from ..store import (atomic_path, compact_form, current_umask, file_sha256, from_compact_form, library_versions,
                     read_json, write_json_atomic, write_zip_deflating_where_it_pays)

METRICS = "metrics.json"
MODEL_FILE = "model.skops"
RUN_FORMAT = "fer-classic-run/1"

# scikit-learn internals that fitted estimators hold; everything else must be a fer_classic type.
TRUSTED_SKLEARN_TYPES = frozenset({
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
    "sklearn.tree._tree.Tree",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.metrics._dist_metrics.ManhattanDistance64",
    "sklearn.metrics._dist_metrics.MinkowskiDistance64",
    "sklearn.metrics._dist_metrics.EuclideanDistance32",
    "sklearn.metrics._dist_metrics.ManhattanDistance32",
    "sklearn.metrics._dist_metrics.MinkowskiDistance32",
})



def is_trusted_type(name: str) -> bool:
    """fer-classic's own types, the scikit-learn internals above, and scikit-learn's public estimators."""
    return name.startswith("fer_classic.") or name in TRUSTED_SKLEARN_TYPES or _is_sklearn_estimator(name)


def _is_sklearn_estimator(name: str) -> bool:
    """A concrete scikit-learn estimator class that a public scikit-learn module exports: what skops
    trusts by default (its list is scikit-learn's ``all_estimators()``; see :func:`skops_io`)."""
    module_name, _, class_name = name.rpartition(".")
    parts = module_name.split(".")
    if parts[0] != "sklearn" or class_name.startswith("_") or class_name == "BaseEstimator" \
            or {"tests", "externals", "experimental", "estimator_checks"} & set(parts):
        return False
    public = ".".join(parts[:next((i for i, p in enumerate(parts) if p.startswith("_")), len(parts))])
    try:
        cls = getattr(importlib.import_module(module_name), class_name, None)
        exported = getattr(importlib.import_module(public), class_name, None)
    except ImportError:
        return False
    from sklearn.base import BaseEstimator

    return (isinstance(cls, type) and cls is exported and cls.__module__ == module_name
            and issubclass(cls, BaseEstimator) and not inspect.isabstract(cls))


def skops_io():
    """``skops.io``, imported without building its default allow-list of scikit-learn estimators: that
    list comes from ``sklearn.utils.all_estimators()``, which imports every scikit-learn module (and
    pytest where it is installed) — about 0.7 s of a command's start. fer-classic checks every type in
    a file itself (:func:`is_trusted_type`, which accepts those estimators too), so the list is not
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
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))
    os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes it private; a finished run follows the umask
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
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
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
    take most of the loading time for 6% of the size); returns the file's SHA-256."""
    import io

    sio = skops_io()
    entries = compact_arrays(pipeline)
    try:
        plain = io.BytesIO()
        sio.dump({"model": pipeline, "compact_arrays": entries}, plain)
    finally:
        restore_arrays(pipeline, entries)
    with atomic_path(path) as tmp:
        write_zip_deflating_where_it_pays(plain, tmp)
    return file_sha256(path)


def _check_versions(recorded: dict, run_dir: Path) -> None:
    now = library_versions()

    def minor(v):
        return ".".join(str(v).split(".")[:2])

    for lib in ("scikit-learn", "fer-classic"):
        if lib in recorded and lib in now and minor(recorded[lib]) != minor(now[lib]):
            raise RunError(f"{run_dir}: the model was saved with {lib} {recorded[lib]}, this is {now[lib]}; "
                           f"install {lib}=={recorded[lib]} or train the run again")


def read_run_metrics(run_dir: Path) -> dict:
    """A run directory's metrics.json, after checking it is one (RunError if not)."""
    if not run_dir.is_dir():
        raise RunError(f"{run_dir}: no such run directory")
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


def load_run_labeller(run_dir: str | os.PathLike, *, prefer_model: bool = False):
    """What labels faces for a run, and its metrics: the run's predictor (numpy alone, no scikit-learn
    imported; :mod:`fer_classic.apply.predictor`) where it has one, else its model (:func:`load_run`)
    behind the same interface (:class:`~fer_classic.apply.predictor.ModelLabeller`). With
    ``prefer_model``, the model where its file is there (its descriptors run in worker processes: faster
    on large image sets), else the predictor."""
    from ..apply.predictor import ModelLabeller, load_predictor

    run_dir = Path(run_dir)
    metrics = read_run_metrics(run_dir)
    path = predictor_path(run_dir, metrics)
    if path is not None and not (prefer_model and (run_dir / metrics.get("model_file", MODEL_FILE)).is_file()):
        return load_predictor(path, metrics["predictor"].get("sha256")), metrics
    model, metrics = load_run(run_dir)
    return ModelLabeller(model), metrics


def remove_model_copy(run_dir: str | os.PathLike) -> int:
    """Remove a run's model file where its predictor labels the same faces the same (``baseline`` does,
    unless --keep-models: predict, video and evaluate use the predictor); returns the bytes freed (0
    for a run without a predictor, which keeps its model)."""
    run_dir = Path(run_dir)
    metrics = read_run_metrics(run_dir)
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
    metrics = read_run_metrics(run_dir)
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
    file's structure and arrays, and nothing is constructed before the hash matches ``sha256`` and every
    type in the file is one fer-classic trusts."""
    from concurrent.futures import ThreadPoolExecutor
    from zipfile import ZipFile

    sio = skops_io()

    try:  # skops's own steps, so the file is parsed once (get_untrusted_types + load would parse it twice)
        from skops.io._audit import audit_tree, get_tree
        from skops.io._utils import read_schema
    except ImportError:  # a skops that moved them: the public, two-pass way
        get_tree = None
    with ThreadPoolExecutor(1) as pool:
        digest = pool.submit(file_sha256, model_path)
        try:
            with ZipFile(model_path, "r") as zip_file:
                if get_tree is None:
                    untrusted = sio.get_untrusted_types(file=model_path)
                else:
                    schema, load_context = read_schema(zip_file)
                    tree = get_tree(schema, load_context, trusted=None)
                    untrusted = sorted(tree.get_unsafe_set())
                _check_digest(model_path, digest.result(), sha256)
                refused = [t for t in untrusted if not is_trusted_type(t)]
                if refused:
                    raise RunError(f"{model_path}: holds types fer-classic does not trust: {', '.join(refused)}")
                if get_tree is None:
                    return sio.load(model_path, trusted=untrusted)
                audit_tree(tree, trusted=untrusted)
                return tree.construct()
        except RunError:
            raise
        except Exception as exc:  # skops and zipfile raise various errors for files they cannot parse
            _check_digest(model_path, digest.result(), sha256)
            raise RunError(f"{model_path}: not a readable skops model file ({exc})") from None


def write_metrics(run_dir: Path, metrics: dict) -> None:
    write_json_atomic(run_dir / METRICS, {"format": RUN_FORMAT, **metrics})


def add_predictor(run_dir: str | os.PathLike) -> dict:
    """Write the predictor of a run trained before its model had a numpy form (local learning before
    fer-classic 0.2's predictor for it): the same file ``train`` writes now, from the run's model.
    Returns the run's predictor entry (``{"file", "sha256"}``, or ``{"absent": why}``), also written to
    its metrics.json; a run with a predictor is left as it is."""
    from .predictor_export import write_run_predictor

    run_dir = Path(run_dir)
    metrics = read_run_metrics(run_dir)
    if predictor_path(run_dir, metrics) is not None:
        return metrics["predictor"]
    model, metrics = load_run(run_dir)
    metrics["predictor"] = write_run_predictor(model, run_dir)
    write_metrics(run_dir, metrics)
    return metrics["predictor"]
