"""Training: protocols and splits, reduction, selection on validation, the run record and run folders."""

# Imported on first use, so that loading a run (``training.runs``) does not import training itself.
_API = {
    "train_ensemble": "ensemble", "classification_metrics": "metrics", "PROTOCOLS": "protocols",
    "Split": "protocols", "default_protocol": "protocols", "make_splits": "protocols", "load_run": "runs",
    "EnsembleSpec": "spec", "TrainSpec": "spec", "train_run": "train",
}
__all__ = sorted(_API)


def __getattr__(name):
    if name in _API:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_API[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return __all__
