"""Options shared by several commands, bundled into decorators so they are declared once."""

from __future__ import annotations

import difflib
import functools
import logging
import shlex
import sys
from pathlib import Path

import click


class Choice(click.Choice):
    """click's Choice, suggesting the closest choice for a mistyped value (``-m svn``: did you mean svm?)."""

    def convert(self, value, param, ctx):
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter as exc:
            close = difflib.get_close_matches(str(value), [str(c) for c in self.choices], n=1, cutoff=0.5)
            if close:
                exc.message = f"{exc.message} Did you mean {close[0]!r}?"
            raise


class _StderrFormatter(logging.Formatter):
    def format(self, record):
        msg = super().format(record)
        return msg if record.levelno < logging.WARNING else f"{record.levelname.lower()}: {msg}"


def command_line() -> str:
    """The command as the user typed it, for the records outputs keep."""
    return shlex.join(["fer-classic", *sys.argv[1:]])


def configure_logging(quiet: bool, verbose: int) -> None:
    level = logging.ERROR if quiet else logging.DEBUG if verbose else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_StderrFormatter("%(message)s"))
    root = logging.getLogger("fer_classic")
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("py.warnings").handlers[:] = [handler]


def runtime_options(func):
    """``--jobs``, ``--quiet`` and ``-v``; the command receives ``jobs`` and ``progress``."""

    @click.option("--jobs", "-j", type=int, default=-1, help="Worker processes (-1: every core).")
    @click.option("--quiet", "-q", is_flag=True, help="No progress bars or log lines, only errors.")
    @click.option("--verbose", "-v", count=True, help="More detail on stderr.")
    @functools.wraps(func)
    def wrapper(*args, jobs, quiet, verbose, **kwargs):
        configure_logging(quiet, verbose)
        if jobs == 0:
            raise click.BadParameter("0 workers; use a positive count or -1 for every core",
                                     param_hint="--jobs")
        return func(*args, jobs=jobs, progress=not quiet, **kwargs)

    return wrapper


def dataset_options(func):
    """How a dataset is read: ``--strict``, ``--classes``, ``--size``."""

    @click.option("--strict", is_flag=True, help="Stop at the first unreadable image instead of skipping it (extract --align: also at images "
                       "with no face).")
    @click.option("--classes", type=str, default=None,
                  help="Keep only these classes, comma-separated (e.g. happy,sad,neutral).")
    @click.option("--size", type=click.IntRange(8, 1024), default=None,
                  help="Resize every image to SIZE x SIZE when loading (default: keep; mixed sizes go to "
                       "the most common).")
    @functools.wraps(func)
    def wrapper(*args, strict, classes, size, **kwargs):
        names = [c.strip() for c in classes.split(",") if c.strip()] if classes else None
        return func(*args, dataset_kwargs={"strict": strict, "classes": names,
                                           "size": (size, size) if size else None}, **kwargs)

    return wrapper


def descriptor_option_name(descriptor: str, param: str) -> str:
    return f"{descriptor}_{param}"


def int_tuple(value) -> tuple[int, ...]:
    """``1,2,4`` as ``(1, 2, 4)``."""
    if isinstance(value, tuple):
        return value
    try:
        return tuple(int(v) for v in str(value).split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected whole numbers separated by commas") from None


def descriptor_options(func):
    """One ``--<descriptor>-<parameter>`` option for every descriptor parameter, from its defaults."""
    from ..features import DESCRIPTORS, RUNTIME_PARAMS

    for name, cls in reversed(list(DESCRIPTORS.items())):
        for param, default in reversed(list(cls().get_params().items())):
            if param in RUNTIME_PARAMS or param == "photometric":  # extract --photometric sets it for all
                continue
            flag = f"--{name}-{param.replace('_', '-')}"
            dest = descriptor_option_name(name, param)
            if param in cls.param_choices:
                func = click.option(flag, dest, type=Choice(cls.param_choices[param]), default=None,
                                    show_default=False, help=f"{name} descriptor: {param} [default: {default}]")(func)
            elif isinstance(default, bool):
                func = click.option(f"{flag}/--no-{name}-{param.replace('_', '-')}", dest, default=None,
                                    help=f"{name} descriptor: {param} [default: {default}]",
                                    show_default=False)(func)
            elif isinstance(default, tuple):
                func = click.option(flag, dest, type=int_tuple, default=None, show_default=False,
                                    help=f"{name} descriptor: {param}, comma-separated "
                                         f"[default: {','.join(map(str, default))}]")(func)
            else:
                func = click.option(flag, dest, type=type(default), default=None, show_default=False,
                                    help=f"{name} descriptor: {param} [default: {default}]")(func)
    return func


def descriptor_params_from(kwargs: dict, names: list[str]) -> dict[str, dict]:
    """Pop every descriptor option from ``kwargs``; return the parameters set for each named descriptor."""
    from ..features import DESCRIPTORS

    params: dict[str, dict] = {n: {} for n in names}
    for name, cls in DESCRIPTORS.items():
        for param in cls().get_params():
            value = kwargs.pop(descriptor_option_name(name, param), None)
            if value is not None and name in params:
                params[name][param] = value
    return params


def parse_feature_names(value: str, param_hint: str = "--features") -> list[str]:
    from ..features import DESCRIPTORS

    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in DESCRIPTORS]
    if unknown or not names:
        close = difflib.get_close_matches(unknown[0], list(DESCRIPTORS), n=1, cutoff=0.5) if unknown else []
        raise click.BadParameter(f"unknown descriptor {', '.join(unknown) or '(none given)'}"
                                 f"{f' (did you mean {close[0]!r}?)' if close else ''}; "
                                 f"choose from {', '.join(DESCRIPTORS)}", param_hint=param_hint)
    return list(dict.fromkeys(names))


class ModelParamType(click.ParamType):
    """A model parameter's value, parsed by its registry declaration (so ``--k three`` says what a
    whole number is, and ``--weights distanse`` suggests ``distance``)."""

    def __init__(self, param):
        self.param = param
        self.name = param.type.__name__ if isinstance(param.type, type) else param.name

    def convert(self, value, option, ctx):
        try:
            return self.param.parse(value)
        except (TypeError, ValueError) as exc:
            self.fail(str(exc), option, ctx)


def model_param_options(func):
    """One typed option per model parameter (``--k``, ``--hidden``, ``--C``...), from the model registry.
    A name two kinds share becomes one option; its value is checked against the chosen model."""
    from ..models import MODEL_KINDS

    seen: dict[str, list] = {}
    for kind in MODEL_KINDS.values():
        for param in kind.params:
            seen.setdefault(param.name, []).append((kind.name, param))
    for name, uses in reversed(list(seen.items())):
        param = uses[0][1]
        kinds = "/".join(k for k, _ in uses)
        typed = len({(p.type, p.choices) for _, p in uses}) == 1  # one declaration: parse it here
        choices = f" ({'|'.join(map(str, param.choices))})" if param.choices and typed else ""
        defaults = {p.shown_default() for _, p in uses}
        default = param.shown_default() if len(defaults) == 1 else \
            ", ".join(f"{k} {p.shown_default()}" for k, p in uses)
        func = click.option(f"--{name.replace('_', '-')}", f"param_{name}", default=None, show_default=False,
                            type=ModelParamType(param) if typed else str,
                            help=f"{kinds}: {param.help}{choices} [default: {default}]")(func)
    return func


def scheduler_option(func):
    """``--scheduler ADDRESS`` (or $FER_CLASSIC_SCHEDULER): run extraction chunks and grid fits on Dask."""
    from ..cluster import ENV_VAR, compute_on

    @click.option("--scheduler", envvar=ENV_VAR, default=None, show_envvar=True,
                  help="Dask scheduler (tcp://host:8786) or local:N for a LocalCluster of N workers; "
                       "workers must reach the image paths. Needs pip install 'fer-classic[dask]'.")
    @functools.wraps(func)
    def wrapper(*args, scheduler, **kwargs):
        with compute_on(scheduler):
            return func(*args, **kwargs)

    return wrapper


def parse_predictions(ctx, param, values) -> dict[str, Path]:
    """``NAME=FILE.csv`` values (repeatable) as {name: path}; a malformed value, a name given twice or a
    missing file is a usage error."""
    out = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name.strip() or not path:
            raise click.BadParameter(f"{value!r}: write NAME=FILE.csv (e.g. my-cnn=predictions.csv)")
        if name in out:
            raise click.BadParameter(f"{name!r} is given twice")
        if not Path(path).is_file():
            raise click.BadParameter(f"{path}: no such file")
        out[name.strip()] = Path(path)
    return out
