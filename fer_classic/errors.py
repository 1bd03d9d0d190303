"""The errors fer-classic raises for problems a user can act on.

Every one derives from :class:`FerClassicError`; the command line turns a :class:`ConfigurationError`
(a bad option, parameter, grid or baseline file) into a usage error (exit status 2) and any other into a
one-line error (exit status 1). The library never exits or prints.
"""

from __future__ import annotations


def did_you_mean(value: str, choices) -> str:
    """`` (did you mean 'svm'?)`` when ``value`` is close to one of ``choices``, else ``""``."""
    import difflib

    close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class FerClassicError(Exception):
    """Base of every error fer-classic raises on purpose: the message says what and where."""


class ConfigurationError(FerClassicError, ValueError):
    """Settings fer-classic cannot use: an unknown model, descriptor or parameter, a bad value, a
    malformed grid or baseline file."""


class DatasetError(FerClassicError, ValueError):
    """A dataset that cannot be read as asked: says what and where."""


class FeatureStoreError(FerClassicError, ValueError):
    """A features folder that lacks what was asked, or whose files do not match its manifest."""


class RunError(FeatureStoreError):
    """A run directory that is missing, incomplete, tampered with or from an incompatible version."""


class ProtocolError(FerClassicError, ValueError):
    """A protocol that the data cannot support (no usage column, too few images of a class, ...)."""


class ModelFileError(FerClassicError, RuntimeError):
    """A model file the toolkit needs (dlib's) is missing."""


class ClusterError(FerClassicError, RuntimeError):
    """Dask is missing, or the scheduler does not answer."""


class OutputError(FerClassicError, OSError):
    """An output that cannot be written where the user asked (no such folder, a file in the way, no
    space left, no permission): says which path, never a temporary name."""


def describe_os_error(exc: OSError, path=None, *, writing: bool = False) -> str:
    """A one-line account of ``exc`` about ``path`` (default: the error's own file name), ``writing`` it."""
    import errno
    from pathlib import Path

    where = path if path is not None else exc.filename
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        folder = Path(where).parent if where is not None else "the output's disk"
        return f"no space left on {folder} (writing {where}); nothing half-written was kept"
    if where is not None and exc.errno in (errno.ENOTDIR, errno.EEXIST):
        blocking = next((p for p in [Path(where), *Path(where).parents] if p.is_file()), None)
        if blocking is not None:
            return (f"{where}: cannot be created, {blocking} is a file, not a folder" if blocking != Path(where)
                    else f"{where} is a file, where a folder is needed")
    if where is None:
        return str(exc.strerror or exc)
    return f"{where}: " + (f"cannot be written ({exc.strerror or exc})" if writing else f"{exc.strerror or exc}")
