"""Packages whose public names are imported on first use (PEP 562): ``import fer_classic.runs.predictor``
then costs numpy, not scikit-learn, and a command imports only what it runs."""

from __future__ import annotations

import importlib


def lazy_exports(package: str, api: dict[str, str], *, first: tuple[str, ...] = ()):
    """The ``__getattr__`` and ``__dir__`` of ``package``: each name in ``api`` comes from the submodule
    it maps to, imported when the name is first asked for (after the submodules ``first``)."""

    def __getattr__(name):
        if name in api:
            for module in first:
                importlib.import_module(f"{package}.{module}")
            return getattr(importlib.import_module(f"{package}.{api[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(api)

    return __getattr__, __dir__
