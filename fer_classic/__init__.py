"""fer-classic: honest classical (non-deep) baselines for facial expression recognition.

The flow, one package per stage::

    data/        load_dataset            images, labels, FER2013 usage
    features/    extract_features        descriptors (scikit-learn transformers) → feature files
    models/      MODEL_KINDS             classifier kinds and their fast paths, mirror averaging, ensembles
    evaluation/                          metrics, intervals, paired tests, their figures
    runs/        load_run                run folders: the model, the run record, the predictor
    training/    train_run, train_ensemble   protocols, PCA, selection on validation → run folders
    apply/       evaluate_run, predict_photos   a run on a labelled dataset, on photos
    reporting/   write_report            runs next to published references
    pipelines.py named_pipeline          the standard suite and the best preset, by name
"""

__version__ = "0.2.0"

# The public API, imported on first use (``import fer_classic`` stays quick, which the command line's
# start-up and its Ctrl-C handling rely on).
from .lazy_exports import lazy_exports  # noqa: E402

_API = {
    "evaluate_run": "apply.evaluate", "predict_photos": "apply.photos", "label_video": "apply.video",
    "video_table": "apply.video",
    "Dataset": "data", "FER2013_CLASSES": "data", "load_dataset": "data",
    "ConfigurationError": "errors", "DatasetError": "errors", "FeatureStoreError": "errors",
    "FerClassicError": "errors", "ProtocolError": "errors", "RunError": "errors",
    "DESCRIPTORS": "features", "make_descriptor": "features", "extract_features": "features.extraction",
    "MODEL_KINDS": "models", "model_kind": "models", "PIPELINES": "pipelines", "named_pipeline": "pipelines",
    "write_report": "reporting.report", "load_runs": "reporting.results", "EnsembleSpec": "training", "TrainSpec": "training",
    "load_run": "runs", "train_ensemble": "training", "train_run": "training",
}
__all__ = sorted(_API) + ["__version__"]


__getattr__ = lazy_exports(__name__, _API)[0]


def __dir__():
    return __all__
