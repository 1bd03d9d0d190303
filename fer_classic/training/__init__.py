"""Training: protocols and splits, reduction, selection on validation, the run record and run folders."""

# Imported on first use, so that loading a run (``training.runs``) does not import training itself.
from ..lazy_exports import lazy_exports

_API = {
    "train_ensemble": "ensemble", "classification_metrics": "metrics", "PROTOCOLS": "protocols",
    "Split": "protocols", "default_protocol": "protocols", "make_splits": "protocols", "load_run": "runs",
    "EnsembleSpec": "spec", "TrainSpec": "spec", "train_run": "train",
}
__all__ = sorted(_API)


__getattr__, __dir__ = lazy_exports(__name__, _API)
