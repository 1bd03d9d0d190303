"""Training: protocols and splits, reduction, selection on validation, the run record and run folders."""

from .ensemble import train_ensemble
from .metrics import classification_metrics
from .protocols import PROTOCOLS, Split, default_protocol, make_splits
from .runs import load_run
from .spec import EnsembleSpec, TrainSpec
from .train import train_run

__all__ = ["EnsembleSpec", "PROTOCOLS", "Split", "TrainSpec", "classification_metrics", "default_protocol",
           "load_run", "make_splits", "train_ensemble", "train_run"]
