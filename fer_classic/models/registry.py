"""Classifier kinds, each declared once: its parameters (typed, with defaults and choices), its default
grid, whether it takes class weights, how it is built and fitted, what its models hold and their numpy
form. The kinds themselves are files in :mod:`fer_classic.models.kinds`.

Users name parameters the way FER papers do (``k``, ``weights``, ``p``, ``hidden``, ``trees``...). The
command line's options, the validation of grid and baseline files, the documentation's table of models,
the classes a model file may build and the predictor's forms are all read from :data:`MODEL_KINDS`;
adding a model kind is one file with one :func:`register_model` call, and its line in
``models/kinds/__init__.py``.
"""

from __future__ import annotations

import itertools
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..errors import ConfigurationError, did_you_mean
from ..registry import Registry
from .numpy_form import NUMPY_FORMS, NumpyForm

# --------------------------------------------------------------------------- parameter types

def parse_bool(value) -> bool:
    if isinstance(value, str):
        if value.lower() not in ("true", "false", "yes", "no", "1", "0"):
            raise ValueError(f"{value!r} is not true or false")
        return value.lower() in ("true", "yes", "1")
    return bool(value)


def parse_int(value) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"{value!r} is not a whole number")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not a whole number") from None


def parse_float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not a number") from None


def parse_sizes(value) -> tuple[int, ...]:
    """Layer sizes: ``1024,1024,64`` (or ``1024-1024-64``, or a list)."""
    parts = value if isinstance(value, (list, tuple)) else str(value).replace("-", ",").split(",")
    try:
        sizes = tuple(parse_int(v) for v in parts if str(v).strip())
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise ValueError(f"{value!r}: layer sizes are positive whole numbers, e.g. 1024,1024,64,32")
    return sizes


def parse_gamma(value):
    return value if value in ("scale", "auto") else parse_float(value)


def parse_optional_int(value):
    return None if value in (None, "none", "None", "") else parse_int(value)


PARSERS = {int: parse_int, float: parse_float, bool: parse_bool, str: str}


@dataclass(frozen=True)
class Param:
    """A user-facing model parameter.

    Parameters
    ----------
    name : str
        As users write it (``k``, ``C``, ``early_stopping``; on the command line ``--early-stopping``).
    type : type or callable
        ``int``, ``float``, ``bool`` or ``str``, or a function parsing the value (raising ValueError).
    default : object
        The value when none is given.
    help : str
        One line for ``--help`` and the documentation.
    choices : tuple
        The allowed values, when they are a fixed set.
    minimum : number, optional
        The smallest allowed value of a number.
    """

    name: str
    type: Any
    default: Any
    help: str
    choices: tuple = ()
    minimum: float | None = None

    def parse(self, value):
        """``value`` as this parameter's type; raises ValueError saying what was expected."""
        if self.choices:
            if value not in self.choices:
                raise ValueError(f"{value!r} is not one of {', '.join(map(str, self.choices))}"
                                 f"{did_you_mean(value, self.choices)}")
            return value
        parsed = PARSERS.get(self.type, self.type)(value)
        if self.minimum is not None and parsed is not None and parsed < self.minimum:
            raise ValueError(f"{value!r} is below the minimum {self.minimum:g}")
        return parsed

    def shown_default(self) -> str:
        return ",".join(map(str, self.default)) if isinstance(self.default, tuple) else str(self.default).lower() \
            if isinstance(self.default, bool) else "none" if self.default is None else str(self.default)


@dataclass(frozen=True)
class ModelKind:
    """A classifier kind: everything fer-classic knows about it, in one declaration.

    Parameters
    ----------
    name : str
        Its name on the command line and in run records (``knn``, ``svm``...).
    summary : str
        What it is, in a few words (the documentation's table, ``--help``).
    params : tuple of Param
        Its user-facing parameters.
    build : callable
        ``build(params, *, seed, class_weight, n_jobs)`` returns the unfitted scikit-learn estimator.
    default_grid : tuple of dict
        What ``--grid`` alone searches: mappings of parameter to a list of values.
    class_weight : bool
        Whether it takes ``class_weight="balanced"``.
    has_scores : bool
        Whether it has class scores (probabilities or decision values), which mirror averaging and
        ensembles need.
    search : callable, optional
        A fast path scoring every grid configuration at once:
        ``search(X_fit, y_fit, queries, configs) -> [{query name: labels}]``.
    fit_watching_validation : callable, optional
        For kinds trained against the validation split (early stopping):
        ``fit(estimator, params, X, y, X_val, y_val) -> (estimator, curves)``; such a model is kept as
        fitted instead of refitted after selection.
    relative_cost : float
        Its training time relative to an MLP's on the same rows (the standard suite starts the longest
        runs first).
    saved_classes : tuple of str
        The classes (module.name) its fitted models hold beyond plain data: the only ones a model file
        of this kind may build when loaded (:mod:`fer_classic.runs.trusted_classes`).
    numpy_forms : tuple of NumpyForm
        How the estimators it fits are stored in a run's predictor and computed from it; a kind without
        one is labelled through its model file.
    grid_figure : tuple, optional
        ``(file name, plot)``: a figure of its grid's validation accuracies that runs and reports draw
        when a grid searched more than one configuration: ``plot(rows, path, title)``, ``rows`` the grid's
        rows (of one fold).
    """

    name: str
    summary: str
    params: tuple[Param, ...]
    build: Callable[..., Any]
    default_grid: tuple[dict, ...]
    class_weight: bool = False
    has_scores: bool = True
    search: Callable | None = None
    fit_watching_validation: Callable | None = None
    relative_cost: float = 1
    saved_classes: tuple[str, ...] = ()
    numpy_forms: tuple[NumpyForm, ...] = ()
    grid_figure: tuple[str, Callable] | None = None

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise ConfigurationError(f"{self.name} has no parameter {name}{did_you_mean(name, self.param_names())}; "
                                 f"it takes {', '.join(self.param_names())}")

    def param_names(self) -> list[str]:
        return [p.name for p in self.params]

    def resolve(self, given: dict | None = None) -> dict:
        """Every parameter: the defaults completed with ``given``, each value parsed."""
        given = dict(given or {})
        for name in given:
            self.param(name)  # unknown names raise, with a suggestion
        out = {}
        for p in self.params:
            try:
                out[p.name] = p.parse(given.get(p.name, p.default))
            except (TypeError, ValueError) as exc:
                raise ConfigurationError(f"{self.name} parameter {p.name}: {exc}") from None
        return out

    def expand_grid(self, grid, fixed: dict | None = None) -> list[dict]:
        """Every configuration of ``grid`` (a mapping of parameter to list of values, or a list of
        such mappings), completed from ``fixed`` and the defaults, in a stable order."""
        grids = [grid] if isinstance(grid, dict) else list(grid)
        configs = []
        for g in grids:
            if not isinstance(g, dict) or not all(isinstance(v, list) and v for v in g.values()):
                raise ConfigurationError(f"a grid maps each parameter to a non-empty list of values, got {g!r}")
            keys = list(g)
            for values in itertools.product(*(g[k] for k in keys)):
                configs.append(self.resolve({**(fixed or {}), **dict(zip(keys, values))}))
        if not configs:
            raise ConfigurationError("the grid has no configuration")
        return configs

    def make(self, params: dict, *, seed: int, class_weight: str | None = None, n_jobs: int | None = None):
        """The unfitted estimator for resolved or partial ``params``."""
        if class_weight and not self.class_weight:
            raise ConfigurationError(f"--class-weight is not supported by {self.name}")
        return self.build(self.resolve(params), seed=seed, class_weight=class_weight, n_jobs=n_jobs)

    def fit(self, params: dict, X, y, *, seed: int, class_weight: str | None = None, n_jobs: int | None = None):
        """The estimator built from ``params`` and fitted on ``X, y`` (convergence warnings silenced:
        a capped iteration count is a setting here, not an accident)."""
        from sklearn.exceptions import ConvergenceWarning

        estimator = self.make(params, seed=seed, class_weight=class_weight, n_jobs=n_jobs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return estimator.fit(X, y)


MODEL_KINDS: Registry[ModelKind] = Registry("model")


def register_model(kind: ModelKind) -> ModelKind:
    """Add ``kind`` to :data:`MODEL_KINDS` (the command line and grid files pick it up) and its numpy
    forms to :data:`~fer_classic.models.numpy_form.NUMPY_FORMS`."""
    MODEL_KINDS.register(kind.name, kind)
    for form in kind.numpy_forms:
        NUMPY_FORMS.register(form.name, form)
    return kind


def unregister_model(name: str) -> None:
    """Remove the kind ``name`` and its numpy forms (for kinds registered for a while, as tests do)."""
    for form in MODEL_KINDS.pop(name).numpy_forms:
        del NUMPY_FORMS[form.name]


def model_kind(name: str) -> ModelKind:
    """The registered kind ``name``; an unknown name raises ConfigurationError with a suggestion."""
    if not isinstance(name, str):
        return MODEL_KINDS[repr(name)]
    return MODEL_KINDS[name]


def resolve_params(model: str, given: dict) -> dict:
    """Defaults of ``model`` completed with ``given``, each value parsed; unknown names or bad values raise."""
    return model_kind(model).resolve(given)


def expand_grid(model: str, grid, fixed: dict | None = None) -> list[dict]:
    return model_kind(model).expand_grid(grid, fixed)


def describe_params(params: dict) -> str:
    """``k=3 weights=distance p=1`` for tables and logs."""
    return " ".join(f"{k}={','.join(map(str, v)) if isinstance(v, (tuple, list)) else v}" for k, v in params.items())


def read_grid_file(path, model: str):
    """A grid from a YAML or JSON file: a mapping of parameter to list of values, a list of such
    mappings, or mappings keyed by model name (the entry for ``model`` is taken). Its configurations
    are checked against ``model``'s parameters."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        grid = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except OSError as exc:
        raise ConfigurationError(f"cannot read grid file {path}: {exc.strerror}") from None
    except (ValueError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"grid file {path} is not valid YAML/JSON: {exc}") from None
    if isinstance(grid, dict) and model in grid and set(grid) <= set(MODEL_KINDS):
        grid = grid[model]
    if not isinstance(grid, (dict, list)) or not grid:
        raise ConfigurationError(f"grid file {path}: a grid is a mapping of parameter to list of values")
    try:
        expand_grid(model, grid)
    except ConfigurationError as exc:
        raise ConfigurationError(f"grid file {path}: {exc}") from None
    return grid


def models_markdown_table() -> str:
    """The documentation's table of model kinds and their parameters, made from the registry."""
    lines = ["| model | what | parameters (defaults) |", "|---|---|---|"]
    for kind in MODEL_KINDS.values():
        params = ", ".join(f"`--{p.name.replace('_', '-')} {p.shown_default()}`"
                           + (f" ({'/'.join(map(str, p.choices))})" if p.choices else "") for p in kind.params)
        lines.append(f"| `{kind.name}` | {kind.summary} | {params} |")
    return "\n".join(lines)
