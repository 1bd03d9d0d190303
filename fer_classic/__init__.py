"""fer-classic: honest classical (non-deep) baselines for facial expression recognition.

The flow, one package per stage::

    data/        load_dataset            images, labels, FER2013 usage
    features/    extract_features        descriptors (scikit-learn transformers) → feature files
    training/    train_run, train_ensemble   protocols, PCA, selection on validation → run folders
    models/      MODEL_KINDS             classifier kinds and their fast paths, mirror averaging, ensembles
    apply/       evaluate_run, predict_photos   a run on a labelled dataset, on photos
    reporting/   write_report            runs next to published references
    pipelines.py named_pipeline          the standard suite and the best preset, by name
"""

__version__ = "0.2.0"

from .apply.evaluate import evaluate_run  # noqa: E402
from .apply.photos import predict_photos  # noqa: E402
from .data import FER2013_CLASSES, Dataset, load_dataset  # noqa: E402
from .errors import (ConfigurationError, DatasetError, FeatureStoreError, FerClassicError, ProtocolError,  # noqa: E402
                     RunError)
from .features import DESCRIPTORS, make_descriptor  # noqa: E402
from .features.extraction import extract_features  # noqa: E402
from .models import MODEL_KINDS, model_kind  # noqa: E402
from .pipelines import PIPELINES, named_pipeline  # noqa: E402
from .reporting.report import write_report  # noqa: E402
from .training import EnsembleSpec, TrainSpec, load_run, train_ensemble, train_run  # noqa: E402

__all__ = ["ConfigurationError", "DESCRIPTORS", "Dataset", "DatasetError", "EnsembleSpec", "FER2013_CLASSES",
           "FeatureStoreError", "FerClassicError", "MODEL_KINDS", "PIPELINES", "ProtocolError", "RunError",
           "TrainSpec", "__version__", "evaluate_run", "extract_features", "load_dataset", "load_run",
           "make_descriptor", "model_kind", "named_pipeline", "predict_photos", "train_ensemble", "train_run",
           "write_report"]
