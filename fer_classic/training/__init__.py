"""Training: protocols and splits, selection on validation, ensembles; it writes run folders
(:mod:`fer_classic.runs`)."""

# Imported on first use: a command imports only what it runs.
from ..lazy_exports import lazy_exports

_API = {
    "train_ensemble": "ensemble", "PROTOCOLS": "protocols",
    "Split": "protocols", "default_protocol": "protocols", "make_splits": "protocols",
    "EnsembleSpec": "spec", "TrainSpec": "spec", "train_run": "train",
}
__all__ = sorted(_API)


__getattr__, __dir__ = lazy_exports(__name__, _API)
