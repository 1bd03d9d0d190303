"""Loading face datasets: the FER2013 CSV, split folders (train/test/<class>) and class folders.

Every layout ends up as one :class:`Dataset`: ``uint8`` images of one size, labels in the FER2013
order, the FER2013 ``Usage`` of each image where known, stable ids and the class names.
"""

from __future__ import annotations

import collections
import csv
import gzip
import hashlib
import io
import logging
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..errors import ConfigurationError, DatasetError, did_you_mean
from .labels import FER2013_CLASSES, USAGES, canonical_class_name, normalise_extra_class_name

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".pgm", ".ppm", ".webp"})
LAYOUTS_EXPECTED = (
    "a FER2013 CSV file (columns emotion,pixels,Usage; optionally .csv.gz); "
    "split folders ROOT/{train,test}/<class>/<image>; "
    "or class folders ROOT/<class>/<image>"
)
# Split-folder names and the FER2013 Usage they stand for when file names carry no prefix.
SPLIT_FOLDERS = {
    "train": "Training", "training": "Training",
    "val": "PublicTest", "valid": "PublicTest", "validation": "PublicTest", "publictest": "PublicTest",
    "test": "PublicTest", "privatetest": "PrivateTest",
}
_USAGE_PREFIX = re.compile(r"^(Training|PublicTest|PrivateTest)_")



@dataclass
class Dataset:
    """Face images with their labels.

    Attributes
    ----------
    images : uint8 array, ``(n, h, w)`` grayscale or ``(n, h, w, 3)`` RGB
    labels : int array, indices into ``class_names`` (FER2013 order first, extra classes after)
    usage : str array, ``Training``/``PublicTest``/``PrivateTest`` or ``""`` where unknown
    ids : str array, relative paths or ``file.csv:line``, stable across runs
    class_names : the label names; the first seven are always FER2013's
    skipped : files that could not be read, as ``{"file", "reason"}``
    """

    images: np.ndarray
    labels: np.ndarray
    usage: np.ndarray
    ids: np.ndarray
    class_names: tuple[str, ...] = FER2013_CLASSES
    source: str = ""
    layout: str = ""
    skipped: list[dict] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def has_usage(self) -> bool:
        return bool(len(self.usage)) and bool(np.all(self.usage != ""))

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.labels, minlength=len(self.class_names))
        return {name: int(c) for name, c in zip(self.class_names, counts)}

    def usage_counts(self) -> dict[str, int]:
        return dict(sorted(collections.Counter(str(u) or "unknown" for u in self.usage).items()))

    def subset(self, index) -> "Dataset":
        """The images selected by a boolean mask or an index array, with everything else alike."""
        return Dataset(self.images[index], self.labels[index], self.usage[index], self.ids[index],
                       self.class_names, self.source, self.layout, list(self.skipped))

    def fingerprint(self) -> str:
        """A hash of the pixels, labels, usage and ids: equal fingerprints mean the same data."""
        h = hashlib.sha256()
        h.update("\n".join(self.class_names).encode())
        h.update(repr(self.images.shape).encode())
        h.update(np.ascontiguousarray(self.images).tobytes())
        h.update(np.asarray(self.labels, dtype=np.int64).tobytes())
        # File names that are not valid UTF-8 (old archives) reach Python as surrogate escapes.
        h.update("\n".join(map(str, self.usage)).encode("utf-8", "surrogateescape"))
        h.update("\n".join(map(str, self.ids)).encode("utf-8", "surrogateescape"))
        return "sha256:" + h.hexdigest()


# --------------------------------------------------------------------------- images

def read_image(path: str | os.PathLike) -> np.ndarray:
    """Decode one image file to ``uint8`` ``(h, w)`` or ``(h, w, 3)``, EXIF orientation applied.

    Colour files whose three channels are equal are returned as grayscale. Raises ``OSError`` or
    ``ValueError`` for files that are not readable images.
    """
    from PIL import Image, ImageOps

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", Image.DecompressionBombWarning)
        im = Image.open(path)
    if caught:
        log.warning("%s: a very large image (%dx%d): decoding it takes much memory", path, *im.size)
    with im:
        im.load()
        im = ImageOps.exif_transpose(im)
        if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
            arr = np.asarray(im, dtype=np.float64)
            top = arr.max()
            return np.round(arr * (255.0 / top)).astype(np.uint8) if top > 0 else arr.astype(np.uint8)
        if im.mode in ("1", "L", "LA", "La"):
            return np.asarray(im.convert("L"), dtype=np.uint8)
        if im.mode == "P" and not im.palette.mode.startswith("RGB"):
            return np.asarray(im.convert("L"), dtype=np.uint8)
        rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
    if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2]):
        return np.ascontiguousarray(rgb[..., 0])
    return rgb


def _read_images(paths: Sequence[str]) -> list:
    """Decode paths; an unreadable file gives its error message (a string) in place of an array."""
    out = []
    for p in paths:
        try:
            out.append(read_image(p))
        except Exception as exc:  # PIL raises many types for corrupt data; each becomes a skip reason
            out.append(f"{type(exc).__name__}: {exc}")
    return out


def resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a ``uint8`` image to ``size`` (rows, cols) with anti-aliasing, keeping ``uint8``."""
    if image.shape[:2] == tuple(size):
        return image
    from skimage.transform import resize

    out = resize(image, tuple(size) + image.shape[2:], order=1, anti_aliasing=True, preserve_range=True)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def to_gray(image: np.ndarray) -> np.ndarray:
    """``uint8`` grayscale from a grayscale or RGB ``uint8`` image (ITU-R 601 luma)."""
    if image.ndim == 2:
        return image
    weights = np.array([0.299, 0.587, 0.114])
    return np.clip(np.round(image[..., :3] @ weights), 0, 255).astype(np.uint8)


def _named(names: Sequence[str] | None, index, most: int = 5) -> str:
    """``a.png, b.png and 3 more`` for the images at ``index``."""
    index = list(index)
    if names is None:
        return f"{len(index)} images"
    shown = ", ".join(str(names[i]) for i in index[:most])
    return shown + (f" and {len(index) - most} more" if len(index) > most else "")


def stack_images(images: Sequence[np.ndarray], size: tuple[int, int] | None = None,
                 names: Sequence[str] | None = None) -> np.ndarray:
    """One ``uint8`` array from images of possibly different sizes and colour modes.

    Images are resized to ``size``, or, when that is None and sizes differ, to the most common
    size (the smallest of equally common ones), with a warning naming the odd ones (``names``). Mixed
    colour modes follow the majority: a few colour images among grayscale ones are converted to
    grayscale (and a few grayscale ones among colour repeated into three channels), with a warning
    naming them.
    """
    if not len(images):
        return np.zeros((0,) + tuple(size or (48, 48)), dtype=np.uint8)
    shapes = collections.Counter(im.shape[:2] for im in images)
    # The most common size; between equally common sizes, the smallest.
    target = tuple(size) if size else min(shapes, key=lambda s: (-shapes[s], s[0] * s[1], s))
    if len(shapes) > 1 and not size:
        odd = [i for i, im in enumerate(images) if im.shape[:2] != target]
        log.warning("images have %d different sizes; resizing %d to the most common, %dx%d: %s", len(shapes),
                    len(odd), *target, _named(names, odd))
    in_colour = [i for i, im in enumerate(images) if im.ndim == 3]
    colour = len(in_colour) * 2 > len(images)
    if in_colour and len(in_colour) < len(images):
        odd = in_colour if not colour else [i for i, im in enumerate(images) if im.ndim == 2]
        log.warning("%d of %d images are %s, the rest %s: converting them to %s: %s", len(odd), len(images),
                    *(("colour", "grayscale", "grayscale") if not colour else ("grayscale", "colour", "colour")),
                    _named(names, odd))
    out = np.empty((len(images),) + target + ((3,) if colour else ()), dtype=np.uint8)
    for i, im in enumerate(images):
        im = resize_image(im, target)
        if colour and im.ndim == 2:
            im = np.repeat(im[..., None], 3, axis=2)
        elif not colour and im.ndim == 3:
            im = to_gray(im)
        out[i] = im
    return out


# --------------------------------------------------------------------------- layouts

def _is_image_file(p: Path) -> bool:
    return p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")


def _subdirs(p: Path) -> list[Path]:
    return sorted(d for d in p.iterdir() if d.is_dir() and not d.name.startswith("."))


class _ClassResolver:
    """Turns folder or CSV class names into label indices, collecting classes FER2013 lacks."""

    def __init__(self, keep: Iterable[str] | None):
        self.extra: list[str] = []
        self.keep = None if keep is None else {self._name(k) for k in keep}

    @staticmethod
    def _name(raw: str) -> str:
        return canonical_class_name(raw) or normalise_extra_class_name(raw)

    def wanted(self, raw: str) -> bool:
        return self.keep is None or self._name(raw) in self.keep

    def check_asked(self, observed: Iterable[str], where) -> None:
        """Every class asked for must match a class of the data (a typo is an error, not a silent skip)."""
        if self.keep is None:
            return
        present = {self._name(r) for r in observed}
        missing = sorted(self.keep - present)
        if missing:
            hints = [f"{m!r}{did_you_mean(m, sorted(present))}" for m in missing]
            raise ConfigurationError(f"--classes: {', '.join(hints)} matches no class of {where}; its classes: "
                                     f"{', '.join(sorted(present))}")

    def names(self, observed: Iterable[str]) -> tuple[str, ...]:
        extra = sorted({self._name(r) for r in observed if canonical_class_name(r) is None and self.wanted(r)})
        self.extra = extra
        return FER2013_CLASSES + tuple(extra)

    def index(self, raw: str, names: tuple[str, ...]) -> int:
        return names.index(self._name(raw))


def _collect_folder_files(root: Path, layout: str) -> tuple[list[Path], list[str], list[str]]:
    """(files, raw class names, usage) for the split-folder or class-folder layout; a class folder
    without images is reported."""
    files, raw_labels, usage = [], [], []
    before = 0

    def check_not_empty(class_dir: Path):
        nonlocal before
        if len(files) == before:
            log.warning("%s: class folder with no images (%s gets none from it)", class_dir, class_dir.name)
        before = len(files)

    if layout == "split":
        splits = [d for d in _subdirs(root) if d.name.lower() in SPLIT_FOLDERS]
        names = {d.name.lower() for d in splits}
        for split in splits:
            folder_usage = SPLIT_FOLDERS[split.name.lower()]
            # With a validation folder beside it, "test" is the final test split.
            if split.name.lower() == "test" and names & {"val", "valid", "validation"}:
                folder_usage = "PrivateTest"
            for class_dir in _subdirs(split):
                for f in sorted(class_dir.iterdir()):
                    if _is_image_file(f):
                        m = _USAGE_PREFIX.match(f.name)
                        files.append(f)
                        raw_labels.append(class_dir.name)
                        usage.append(m.group(1) if m else folder_usage)
                check_not_empty(class_dir)
    else:
        for class_dir in _subdirs(root):
            for f in sorted(class_dir.iterdir()):
                if _is_image_file(f):
                    files.append(f)
                    raw_labels.append(class_dir.name)
                    m = _USAGE_PREFIX.match(f.name)
                    usage.append(m.group(1) if m else "")
            check_not_empty(class_dir)
    return files, raw_labels, usage


def detect_layout(path: Path) -> str:
    """``csv``, ``split`` or ``classes``; raises :class:`DatasetError` for anything else."""
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder; expected {LAYOUTS_EXPECTED}")
    if path.is_file():
        if path.name.lower().endswith((".csv", ".csv.gz")):
            return "csv"
        raise DatasetError(f"{path}: not a dataset; expected {LAYOUTS_EXPECTED}")
    subdirs = _subdirs(path)
    if any(d.name.lower() in SPLIT_FOLDERS and _subdirs(d) for d in subdirs):
        return "split"
    if any(any(_is_image_file(f) for f in d.iterdir()) for d in subdirs):
        return "classes"
    csvs = sorted(p for p in path.iterdir() if p.name.lower().endswith((".csv", ".csv.gz")))
    if len(csvs) == 1:
        return "csv-in-folder"
    raise DatasetError(f"{path}: found no images in class folders; expected {LAYOUTS_EXPECTED}")


def load_dataset(path: str | os.PathLike, *, strict: bool = False, classes: Iterable[str] | None = None,
                 size: tuple[int, int] | None = None, n_jobs: int | None = None,
                 progress: bool = False) -> Dataset:
    """Load a face dataset in any of the layouts fer-classic reads.

    Parameters
    ----------
    path : a ``fer2013.csv`` (or ``.csv.gz``), a split-folder root (``train/<class>/…``,
        ``test/<class>/…``) or a class-folder root (``<class>/…``).
    strict : make an unreadable image an error instead of a skip with a warning.
    classes : keep only these classes (FER2013 names or synonyms, or extra names such as contempt).
    size : (rows, cols) to resize every image to; by default images keep their size, and mixed
        sizes are resized to the most common one.
    n_jobs, progress : parallel decoding of image files, with a progress bar on stderr.

    Raises
    ------
    DatasetError
        for a path that is no dataset, an empty one, a malformed CSV row (naming the line) or,
        with ``strict``, an unreadable image (naming the file).
    """
    path = Path(path)
    layout = detect_layout(path)
    if layout == "csv-in-folder":
        path = next(p for p in sorted(path.iterdir()) if p.name.lower().endswith((".csv", ".csv.gz")))
        layout = "csv"
    if layout == "csv":
        ds = _load_csv(path, classes)
        if size:
            ds.images = stack_images(list(ds.images), size)
        return ds
    return _load_folders(path, layout, strict=strict, classes=classes, size=size, n_jobs=n_jobs,
                         progress=progress)


def _load_folders(root, layout, *, strict, classes, size, n_jobs, progress) -> Dataset:
    resolver = _ClassResolver(classes)
    files, raw_labels, usage = _collect_folder_files(root, layout)
    resolver.check_asked(raw_labels, root)
    keep = [i for i, r in enumerate(raw_labels) if resolver.wanted(r)]
    files = [files[i] for i in keep]
    raw_labels = [raw_labels[i] for i in keep]
    usage = [usage[i] for i in keep]
    if not files:
        what = "the classes asked for" if classes is not None else "any class folder"
        raise DatasetError(f"{root}: no images in {what}; expected {LAYOUTS_EXPECTED}")
    names = resolver.names(raw_labels)
    if resolver.extra:
        log.warning("%s: classes with no FER2013 equivalent kept as extra labels: %s "
                    "(leave them out with --classes)", root, ", ".join(resolver.extra))
    from ..parallel import map_in_chunks  # here: reading one photo (predict) needs no joblib

    decoded = map_in_chunks(_read_images, [str(f) for f in files], n_jobs=n_jobs, progress=progress,
                            desc="reading images")
    images, labels, usages, ids, skipped = [], [], [], [], []
    for f, raw, u, im in zip(files, raw_labels, usage, decoded):
        rel = f.relative_to(root).as_posix()
        if isinstance(im, str):
            if strict:
                raise DatasetError(f"{f}: unreadable image ({im})")
            log.warning("skipping %s: %s", f, im)
            skipped.append({"file": rel, "reason": im})
            continue
        images.append(im)
        labels.append(resolver.index(raw, names))
        usages.append(u)
        ids.append(rel)
    if not images:
        raise DatasetError(f"{root}: none of the {len(files)} image files could be read")
    return Dataset(stack_images(images, size, ids), np.asarray(labels, dtype=np.int64),
                   np.asarray(usages, dtype=object), np.asarray(ids, dtype=object), names,
                   str(root), layout, skipped)


def _open_text(path: Path):
    if path.name.lower().endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


CSV_COLUMNS = ("emotion", "pixels", "Usage")


def _load_csv(path: Path, classes) -> Dataset:
    """The FER2013 CSV: one face per row, 2,304 space-separated pixels (any square count works)."""
    resolver = _ClassResolver(classes)
    where = path.name
    rows, raw_labels, usages, ids, seen = [], [], [], [], set()
    n_pixels = None
    try:
        with _open_text(path) as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in (reader.fieldnames or [])]
            if "emotion" not in header or "pixels" not in header:
                raise DatasetError(f"{path}: line 1: expected the columns emotion,pixels[,Usage], "
                                   f"found {','.join(header) or 'nothing'}")
            unknown = [h for h in header if h not in CSV_COLUMNS]
            if unknown:
                named = ", ".join(f"{h!r}{did_you_mean(h, CSV_COLUMNS)}" for h in unknown)
                raise DatasetError(f"{path}: line 1: unknown column{'s' * (len(unknown) > 1)} {named}; the "
                                   f"columns are emotion, pixels and optionally Usage")
            reader.fieldnames = header
            for row in reader:
                line = reader.line_num
                if None in row or any(v is None for v in row.values()):
                    raise DatasetError(f"{path}: line {line}: expected {len(header)} columns")
                raw = row["emotion"].strip()
                if canonical_class_name(raw) is None and not (raw and not raw.isdigit()):
                    raise DatasetError(f"{path}: line {line}: unknown label {raw!r} "
                                       f"(expected 0-6 or a class name)")
                u = (row.get("Usage") or "").strip()
                if u and u not in USAGES:
                    raise DatasetError(f"{path}: line {line}: unknown Usage {u!r} "
                                       f"(expected one of {', '.join(USAGES)})")
                seen.add(raw)
                if not resolver.wanted(raw):
                    continue
                try:
                    pixels = np.array(row["pixels"].split(), dtype=np.int64)
                except ValueError:
                    raise DatasetError(f"{path}: line {line}: pixels must be whole numbers "
                                       f"separated by spaces") from None
                if n_pixels is None:
                    n_pixels = len(pixels)
                    side = int(round(np.sqrt(n_pixels)))
                    if side * side != n_pixels or n_pixels == 0:
                        raise DatasetError(f"{path}: line {line}: {n_pixels} pixels is not a square image "
                                           f"(FER2013 rows have 2304 = 48x48)")
                if len(pixels) != n_pixels:
                    raise DatasetError(f"{path}: line {line}: {len(pixels)} pixels, expected {n_pixels}")
                if pixels.min() < 0 or pixels.max() > 255:
                    raise DatasetError(f"{path}: line {line}: pixel values must lie in 0..255")
                rows.append(pixels.astype(np.uint8))
                raw_labels.append(raw)
                usages.append(u)
                ids.append(f"{where}:{line}")
    except (UnicodeDecodeError, csv.Error, OSError, EOFError) as exc:
        raise DatasetError(f"{path}: not a readable CSV ({exc})") from None
    resolver.check_asked(seen, path)
    if not rows:
        raise DatasetError(f"{path}: no data rows" + (" for the classes asked for" if classes else ""))
    names = resolver.names(raw_labels)
    side = int(round(np.sqrt(n_pixels)))
    images = np.stack(rows).reshape(len(rows), side, side)
    labels = np.array([resolver.index(r, names) for r in raw_labels], dtype=np.int64)
    return Dataset(images, labels, np.asarray(usages, dtype=object), np.asarray(ids, dtype=object),
                   names, str(path), "csv", [])
