"""The descriptors by their command-line names: one registry for extract, train and the manifests."""

from __future__ import annotations

from ..errors import ConfigurationError, did_you_mean
from ..registry import Registry
from .base import ImageDescriptor
from .bovw import BoVWDescriptor
from .filterbank import FilterBankDescriptor
from .landmarks import LandmarkDescriptor
from .pixels import IntensityHistogram, RawPixels
from .texture import HOGDescriptor, LBPDescriptor

# The descriptor classes by their names on the command line and in feature files (each class's ``name``).
DESCRIPTORS: Registry[type[ImageDescriptor]] = Registry("descriptor")
for _cls in (RawPixels, IntensityHistogram, HOGDescriptor, LBPDescriptor, LandmarkDescriptor, BoVWDescriptor,
             FilterBankDescriptor):
    DESCRIPTORS.register(_cls.name, _cls)

# What extract computes when no --features are given: the cheap ones (bovw learns a vocabulary).
DEFAULT_DESCRIPTORS = ("raw", "hist", "hog", "lbp", "landmarks")


def make_descriptor(name: str, **params) -> ImageDescriptor:
    """The descriptor registered as ``name`` with ``params``; unknown names or parameters raise."""
    cls = DESCRIPTORS[name]
    known = cls().get_params()
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ConfigurationError(f"descriptor {name!r} has no parameter {', '.join(unknown)}"
                                 f"{did_you_mean(unknown[0], known)}")
    return cls(**params)


def validate_descriptor(name: str, **params) -> ImageDescriptor:
    """The descriptor ``name`` with ``params``, after checking they work on a blank face (descriptors
    that learn from images check their parameters without learning); raises ConfigurationError if not."""
    descriptor = make_descriptor(name, **params)
    try:
        if descriptor.learns_from_images:
            descriptor.check_params()
        else:
            descriptor.fit([[[0] * 48] * 48])
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"descriptor {name!r}: {exc}") from None
    return descriptor


def descriptors_markdown_table() -> str:
    """The documentation's table of descriptors (name, class with its defaults, what it computes), made
    from the registry."""
    from .base import RUNTIME_PARAMS

    lines = ["| name | class (defaults) | what it computes |", "|---|---|---|"]
    for name, cls in DESCRIPTORS.items():
        defaults = ", ".join(f"{k}={v!r}" for k, v in cls().get_params().items() if k not in RUNTIME_PARAMS)
        summary = " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split()).removesuffix(":") + " …"
        summary = summary.removesuffix(". …") + "." if summary.endswith(". …") else summary
        lines.append(f"| `{name}` | `{cls.__name__}({defaults})` | {summary.replace('|', '/')} |")
    return "\n".join(lines)
