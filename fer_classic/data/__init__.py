"""Reading face datasets: layouts (FER2013 CSV, split folders, class folders), labels and their
synonyms, image decoding. Everything ends up as one :class:`Dataset`."""

from pathlib import Path

from ..errors import DatasetError
from .datasets import (
    IMAGE_SUFFIXES,
    Dataset,
    detect_layout,
    load_dataset,
    read_image,
    resize_image,
    stack_images,
    to_gray,
)
from .labels import FER2013_CLASSES, USAGES, canonical_class_name


def default_sample_path() -> Path:
    """The embedded stratified FER2013 sample in the source tree's ``data/`` folder."""
    return Path(__file__).resolve().parents[2] / "data" / "fer2013-sample"


__all__ = ["Dataset", "DatasetError", "FER2013_CLASSES", "IMAGE_SUFFIXES", "USAGES", "canonical_class_name",
           "default_sample_path", "detect_layout", "load_dataset", "read_image", "resize_image", "stack_images",
           "to_gray"]
