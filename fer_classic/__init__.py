"""fer-classic: honest classical (non-deep) baselines for facial expression recognition."""

__version__ = "0.1.0"

from .datasets import Dataset, DatasetError, load_dataset  # noqa: E402
from .labels import FER2013_CLASSES  # noqa: E402

__all__ = ["Dataset", "DatasetError", "FER2013_CLASSES", "load_dataset", "__version__"]
