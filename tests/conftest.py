"""Fixtures: the embedded sample, small datasets in every layout built from it, the full FER2013."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fer_classic.data import default_sample_path, load_dataset

REPO = Path(__file__).resolve().parent.parent
FULL_FER2013 = Path(os.environ.get("FER2013_PATH", REPO.parent / "shared" / "datasets" / "fer2013"))


def pytest_collection_modifyitems(config, items):
    if (FULL_FER2013 / "train").is_dir():
        return
    skip = pytest.mark.skip(reason=f"full FER2013 not found at {FULL_FER2013} (set FER2013_PATH)")
    for item in items:
        if "fer2013" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def sample_path() -> Path:
    return default_sample_path()


@pytest.fixture(scope="session")
def sample(sample_path):
    """The embedded sample (3,233 FER2013 images), loaded once."""
    return load_dataset(sample_path, n_jobs=1)


@pytest.fixture(scope="session")
def faces(sample):
    """Twenty-eight real 48x48 faces, four of each FER2013 class."""
    idx = np.concatenate([np.flatnonzero(sample.labels == c)[:4] for c in range(7)])
    return sample.images[idx]


@pytest.fixture(scope="session")
def full_fer2013() -> Path:
    return FULL_FER2013


def write_images(folder: Path, images, suffix=".png", prefix="img", mode=None, size=None):
    folder.mkdir(parents=True, exist_ok=True)
    for i, im in enumerate(images):
        pil = Image.fromarray(im)
        if mode:
            pil = pil.convert(mode)
        if size:
            pil = pil.resize(size)
        pil.save(folder / f"{prefix}_{i}{suffix}")


@pytest.fixture
def split_folders(tmp_path, faces):
    """ROOT/{train,test}/<class>/ with FER2013 file-name prefixes, 2 train + 1 test image per class."""
    root = tmp_path / "split"
    for c, name in enumerate(("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")):
        ims = faces[4 * c:4 * c + 3]
        write_images(root / "train" / name, ims[:2], prefix="Training")
        write_images(root / "test" / name, ims[2:], prefix="PublicTest")
    return root


@pytest.fixture
def class_folders(tmp_path, faces):
    """ROOT/<class>/ as in CK+ or JAFFE: synonyms, colour, mixed sizes and formats, a contempt class."""
    root = tmp_path / "classes"
    write_images(root / "Happiness", faces[12:15], suffix=".jpg", mode="RGB", size=(96, 96))
    write_images(root / "sadness", faces[16:19], suffix=".bmp")
    write_images(root / "AN", faces[0:3], suffix=".tif")
    write_images(root / "contempt", faces[24:26], suffix=".png")
    # Colour that really is colour: a tinted copy of one face.
    tinted = np.stack([faces[20], faces[20] // 2, faces[20] // 3], axis=-1)
    write_images(root / "surprised", [tinted], suffix=".png")
    (root / "surprised" / "notes.txt").write_text("not an image, ignored")
    return root


def write_fer_csv(path: Path, images, labels, usages, gz=False):
    import gzip

    opener = (lambda: gzip.open(path, "wt", newline="")) if gz else (lambda: open(path, "w", newline=""))
    with opener() as fh:
        w = csv.writer(fh)
        w.writerow(["emotion", "pixels", "Usage"])
        for im, lab, u in zip(images, labels, usages):
            w.writerow([lab, " ".join(map(str, im.ravel())), u])
    return path


@pytest.fixture
def fer_csv(tmp_path, faces):
    labels = np.repeat(np.arange(7), 4)
    usages = ["Training", "Training", "PublicTest", "PrivateTest"] * 7
    return write_fer_csv(tmp_path / "fer2013.csv", faces, labels, usages)


@pytest.fixture(autouse=True)
def _reset_cli_logging():
    """A CLI run configures the package logger for its process; tests share one process."""
    yield
    import logging

    logger = logging.getLogger("fer_classic")
    logger.handlers[:] = []
    logger.setLevel(logging.NOTSET)


@pytest.fixture(scope="session")
def sample_features(tmp_path_factory, sample):
    """Every descriptor of the embedded sample, extracted once (hog at 8-px cells, to keep it quick)."""
    from fer_classic.features.extraction import extract_features

    out = tmp_path_factory.mktemp("sample-features")
    extract_features(sample, out, {"raw": {}, "hist": {}, "hog": {"pixels_per_cell": 8}, "lbp": {},
                                   "landmarks": {}}, n_jobs=2)
    return out


def run(*args):
    """Invoke the CLI in-process with click's runner; arguments may be paths."""
    from click.testing import CliRunner

    from fer_classic.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def make_video(path, seconds: float = 2.0, fps: int = 10, size=(640, 480), codec: str = "libx264", options=None):
    """A video of a real face (scikit-image's astronaut) moving left to right across a grey frame;
    ``options`` are the container's (``{"movflags": "faststart"}``: the index first, as streamed files)."""
    import av
    from skimage import data

    face = np.asarray(Image.fromarray(data.astronaut()[20:240, 110:330]).resize((300, 300)))
    w, h = size
    n = int(seconds * fps)
    with av.open(str(path), mode="w", options=options or {}) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for i in range(n):
            frame = np.full((h, w, 3), 90, np.uint8)
            x = int(10 + (w - 320) * i / max(n - 1, 1))
            frame[90:390, x:x + 300] = face
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
