"""One kind of registry for every named thing the toolkit lets users choose: descriptors, model kinds,
pipelines (and the predictor's numpy forms). Each is a dict by name with one way to add an entry and
one error for a name it does not have."""

from __future__ import annotations

from typing import Generic, TypeVar

from .errors import ConfigurationError, did_you_mean

T = TypeVar("T")


class UnknownNameError(ConfigurationError, KeyError):
    """A name a registry does not have (also a KeyError, as a dict's missing key is)."""

    def __str__(self):  # KeyError's would quote the message
        return str(self.args[0])


class Registry(dict, Generic[T]):
    """Entries by name. ``registry[name]`` of an unknown name raises :class:`UnknownNameError`, saying
    what the registry holds (``what``: "descriptor", "model", "pipeline"), the closest known name and
    every known one."""

    def __init__(self, what: str):
        super().__init__()
        self.what = what

    def register(self, name: str, entry: T) -> T:
        """Add ``entry`` as ``name``; a name registered twice is a programming error (ValueError)."""
        if name in self:
            raise ValueError(f"{self.what} {name!r} is registered twice")
        self[name] = entry
        return entry

    def __missing__(self, name):
        raise UnknownNameError(f"unknown {self.what} {name!r}{did_you_mean(name, self)}; "
                               f"choose from {', '.join(self)}")
