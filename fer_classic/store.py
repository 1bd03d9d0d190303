"""Files on disk: atomic writes, feature files with their manifest, library versions.

A file is always written under a temporary name in its final folder and renamed into place, so an
interrupted run never leaves a truncated file under a name that looks good.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from .errors import FeatureStoreError, OutputError, describe_os_error

MANIFEST = "manifest.json"
FEATURES_FORMAT = "fer-classic-features/1"



# --------------------------------------------------------------------------- atomic writes

@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside ``path``; on success it is renamed to ``path``, otherwise removed.
    Failing to write there (no such folder, a file in the way, no space left) raises OutputError naming
    ``path``, not the temporary name."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes it private; a finished file follows the umask
    except OSError as exc:
        raise OutputError(describe_os_error(exc, path, writing=True)) from None
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if is_output_failure(exc, tmp):
            raise OutputError(describe_os_error(exc, path, writing=True)) from None
        raise


def is_output_failure(exc: BaseException, temporary) -> bool:
    """Whether ``exc`` is a failure to write the ``temporary`` path or something inside it (or a full disk)."""
    import errno

    return isinstance(exc, OSError) and not isinstance(exc, OutputError) and (
        exc.errno in (errno.ENOSPC, errno.EDQUOT) or str(exc.filename or "").startswith(str(temporary)))


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(path, text: str) -> None:
    """``text`` as UTF-8 (file names that were not valid UTF-8 written back as the bytes they were)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8", errors="surrogateescape")


def write_json_atomic(path, obj) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (set, tuple)):
        return list(o)
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"cannot write {type(o).__name__} as JSON")


def file_sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return "sha256:" + h.hexdigest()


def read_json(path, what: str, kinds: tuple[type, ...] = (dict,)):
    """The JSON document in ``path``, an object unless other ``kinds`` are allowed (FeatureStoreError,
    naming ``what`` was expected, if there is none)."""
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except FileNotFoundError:
        raise FeatureStoreError(f"{path}: no {what} here") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FeatureStoreError(f"{path}: not a valid {what} ({exc})") from None
    if not isinstance(doc, kinds):
        raise FeatureStoreError(f"{path}: not a valid {what} (a JSON {type(doc).__name__}, expected "
                                f"{' or '.join('an object' if k is dict else 'a list' for k in kinds)})")
    return doc


# --------------------------------------------------------------------------- provenance

_VERSIONED = ("fer-classic", "numpy", "scipy", "scikit-learn", "scikit-image", "pandas", "joblib",
              "dlib-bin", "dlib", "pillow", "skops", "faiss-cpu")


def library_versions() -> dict[str, str]:
    """Versions of Python and of the libraries whose behaviour decides the numbers."""
    out = {"python": platform.python_version()}
    for name in _VERSIONED:
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    return out


# --------------------------------------------------------------------------- feature files

@dataclass
class FeatureSet:
    """Descriptor rows for a dataset, with what identifies each row: one descriptor's, or several
    side by side (feature fusion), and optionally the same rows for every image's mirror image.

    Attributes
    ----------
    names : the descriptors, in column order
    X : float32 ``(n, d)``, the descriptors' columns side by side
    labels, usage, ids : per row, as in :class:`~fer_classic.data.Dataset`
    class_names : the label names
    blocks : each descriptor's number of columns
    manifest : the features folder's manifest (data fingerprint, descriptor parameters)
    X_mirror : the same columns for each image flipped left to right, or None
    """

    names: tuple[str, ...]
    X: np.ndarray
    labels: np.ndarray
    usage: np.ndarray
    ids: np.ndarray
    class_names: tuple[str, ...]
    blocks: dict[str, int]
    manifest: dict
    X_mirror: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def descriptor_params(self) -> dict[str, dict]:
        return {n: self.manifest["descriptors"][n]["params"] for n in self.names}


# Rows with at most this share of non-zero values (a bag of words: about 4%) are stored sparse.
SPARSE_BELOW = 0.25


def exact_integer_dtype(X: np.ndarray):
    """uint8 or uint16 when every value of the float array ``X`` is a whole number in that type's range
    (raw pixels) and none is -0.0, so the smaller type holds ``X`` exactly; else None."""
    if not X.size or not np.all(np.isfinite(X)) or X.min() < 0 or np.signbit(X).any():
        return None
    for dtype in (np.uint8, np.uint16):
        if X.max() <= np.iinfo(dtype).max:
            return dtype if np.array_equal(X.astype(dtype), X) else None
    return None


def smallest_exact_dtype(X: np.ndarray, *, half: bool = False):
    """The smallest dtype that holds every value of the float array ``X`` exactly: uint8 or uint16 for
    whole numbers (pixels), float32 for float64 arrays of float32 numbers, and with ``half`` float16
    for arrays of float16 numbers (for storing: BLAS does not compute in float16); None if none is
    smaller."""
    if X.dtype.kind != "f":
        return None
    integer_dtype = exact_integer_dtype(X)
    if integer_dtype is not None:
        return integer_dtype
    if half and X.dtype != np.float16 and np.array_equal(X.astype(np.float16), X):
        return np.float16
    if X.dtype == np.float64 and np.array_equal(X.astype(np.float32), X):
        return np.float32
    return None


BASIS_PRECISIONS = ("float32", "float16")  # the types a PCA basis may be rounded to (RoundedPCA)


def round_to_float16(X: np.ndarray) -> np.ndarray:
    """``X``'s values rounded to the nearest float16 (clipped to its finite range), in ``X``'s dtype: rows
    a model keeps are then stored exactly at half the bytes of float32 (``TrainSpec.float16_rows``)."""
    limit = float(np.finfo(np.float16).max)
    return np.clip(X, -limit, limit).astype(np.float16).astype(X.dtype)


INT8_STEPS = 127  # a column's values are -127..127 steps of its own size


def int8_grid_steps(X: np.ndarray) -> np.ndarray:
    """Each column's step for :func:`round_to_int8_grid`: its largest magnitude in ``X`` over
    :data:`INT8_STEPS` (1 for a column of zeros), rounded up to 17 significant bits, as float32: a whole
    number of steps up to 127 (7 bits) is then exact in float32 and float64 alike."""
    largest = np.abs(np.asarray(X, dtype=np.float64)).max(axis=0) if len(X) else np.zeros(X.shape[1])
    mantissa, exponent = np.frexp(np.where(largest > 0, largest / INT8_STEPS, 1.0))
    return np.ldexp(np.ceil(mantissa * 2.0 ** 17) / 2.0 ** 17, exponent).astype(np.float32)


def round_to_int8_grid(X: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """``X``'s values rounded to whole numbers of their column's step (at most :data:`INT8_STEPS` of them
    either way: beyond, clipped), in ``X``'s dtype: rows a model keeps are then stored exactly as int8
    and one step per column (:func:`int8_columns`), a quarter of float32's bytes."""
    X = np.asarray(X)
    steps = steps.astype(X.dtype)
    whole = np.clip(np.rint(X / steps), -INT8_STEPS, INT8_STEPS) + 0.0  # + 0.0: no -0.0 (int8 has none)
    return whole.astype(X.dtype) * steps


def int8_columns(X: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``X`` (2-D, float) as int8 whole numbers and a step per column, ``(whole, steps)``, where that is
    exact (:func:`from_int8_columns` gives back every value bit for bit: rows rounded by
    :func:`round_to_int8_grid`, or any subset of them); else None. A column's step is its smallest
    non-zero magnitude divided by the smallest whole number that makes every value a whole number of
    steps, at most 127 of them."""
    if X.ndim != 2 or X.dtype.kind != "f" or X.size == 0:
        return None
    magnitudes = np.abs(X)
    smallest = np.where(magnitudes > 0, magnitudes, np.inf).min(axis=0)
    smallest[~np.isfinite(smallest)] = 1
    whole = np.empty(X.shape, dtype=np.int8)
    steps = np.empty(X.shape[1], dtype=X.dtype)
    for j in range(X.shape[1]):
        column = X[:, j]
        for times in range(1, INT8_STEPS + 1):  # the smallest value is this many steps (nearly always 1)
            step = smallest[j] / X.dtype.type(times)
            counts = np.rint(column / step)
            if np.abs(counts).max() <= INT8_STEPS and np.array_equal(counts.astype(X.dtype) * step, column):
                break
        else:
            return None
        whole[:, j], steps[j] = counts, step
    if np.signbit(X[X == 0]).any():  # -0.0 would come back as +0.0
        return None
    return whole, steps


def from_int8_columns(whole: np.ndarray, steps: np.ndarray, dtype=None) -> np.ndarray:
    """The values :func:`int8_columns` took apart, computed in the steps' dtype, in ``dtype`` (default:
    the steps')."""
    values = np.multiply(whole, steps, dtype=steps.dtype)  # each int8 cast as it is multiplied: no widened copy
    return values if dtype is None or values.dtype == dtype else values.astype(dtype)


def compact_form(X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The most compact exact form of the float array ``X``, ``(stored, steps)``: whole numbers as uint8 or
    uint16, rows on an int8 grid (:func:`int8_columns`) as int8 with a step per column, float16 or float32
    numbers in that type (:func:`smallest_exact_dtype`), else ``X`` itself; ``steps`` is None but for the
    int8 grid. :func:`from_compact_form` gives ``X`` back."""
    if X.dtype.kind != "f":
        return X, None
    if exact_integer_dtype(X) is None:
        grid = int8_columns(X)
        if grid is not None:
            return grid
    smaller = smallest_exact_dtype(X, half=True)
    return (X, None) if smaller is None else (X.astype(smaller), None)


def from_compact_form(stored: np.ndarray, steps: np.ndarray | None, dtype) -> np.ndarray:
    """The array :func:`compact_form` stored, in ``dtype`` (vectorised ``astype``: a float16 array cast by
    ``np.ascontiguousarray`` converts one value at a time, about 8x slower)."""
    if steps is not None:
        return from_int8_columns(stored, steps, dtype)
    return stored.astype(dtype) if stored.dtype != dtype else np.ascontiguousarray(stored)


class CompactRows:
    """Rows kept in their compact form (:func:`compact_form`: ``stored``, ``steps``), given in ``dtype`` a
    selection at a time (``rows[indices]``, ``rows[start:stop]``): a neighbourhood's rows are widened
    when it is fitted, never the whole array at once."""

    def __init__(self, stored: np.ndarray, steps: np.ndarray | None, dtype):
        self.stored, self.steps, self.dtype = stored, steps, np.dtype(dtype)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.stored.shape

    def __len__(self) -> int:
        return len(self.stored)

    def __getitem__(self, selection) -> np.ndarray:
        return from_compact_form(self.stored[selection], self.steps, self.dtype)


def save_feature_file(path, X, labels, usage, ids, class_names) -> None:
    """An ``.npz`` that loads without pickle: every array is numeric or fixed-width text. Mostly-zero
    features are stored as their non-zero values and positions (CSR), and whole numbers (pixels) as
    uint8 or uint16, exactly, at a fraction of the size; :meth:`FeatureDirectory.load` returns float32
    rows either way."""
    X = np.asarray(X, dtype=np.float32)
    rows = {"labels": np.asarray(labels, dtype=np.int64), "usage": np.asarray(usage, dtype=str),
            "ids": np.asarray(ids, dtype=str), "class_names": np.asarray(class_names, dtype=str)}
    integer_dtype = exact_integer_dtype(X)
    if integer_dtype is not None:
        rows["X_integers"] = X.astype(integer_dtype)
    elif X.size and np.count_nonzero(X) < SPARSE_BELOW * X.size:
        import scipy.sparse

        csr = scipy.sparse.csr_matrix(X)
        rows.update(X_data=csr.data, X_indices=csr.indices.astype(np.int32), X_indptr=csr.indptr.astype(np.int64),
                    X_shape=np.asarray(X.shape, dtype=np.int64))
    else:
        rows["X"] = X
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **rows)


def _feature_rows(z) -> np.ndarray:
    """The dense float32 rows of a feature file, stored dense, as whole numbers or sparse."""
    if "X" in z.files:
        return z["X"]
    if "X_integers" in z.files:
        return z["X_integers"].astype(np.float32)
    n, d = (int(v) for v in z["X_shape"])
    out = np.zeros((n, d), dtype=np.float32)
    indptr, indices, data = z["X_indptr"], z["X_indices"], z["X_data"]
    rows = np.repeat(np.arange(n), np.diff(indptr))
    out[rows, indices] = data
    return out


class FeatureDirectory:
    """A folder written by ``extract``: one ``<descriptor>.npz`` per descriptor and ``manifest.json``."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    def manifest(self) -> dict:
        if not self.path.is_dir():
            raise FeatureStoreError(f"{self.path}: no such features folder (make one with fer-classic extract)")
        m = read_json(self.manifest_path, "features manifest (make one with fer-classic extract)")
        if m.get("format") != FEATURES_FORMAT:
            raise FeatureStoreError(f"{self.manifest_path}: format {m.get('format')!r}, "
                                    f"expected {FEATURES_FORMAT!r}")
        return m

    def manifest_or_none(self) -> dict | None:
        try:
            return self.manifest()
        except FeatureStoreError:
            return None

    def write_manifest(self, manifest: dict) -> None:
        write_json_atomic(self.manifest_path, manifest)

    def file_for(self, name: str, mirrored: bool = False) -> Path:
        return self.path / (f"{name}.mirror.npz" if mirrored else f"{name}.npz")

    def remove_feature_files(self) -> int:
        """Delete the feature files the manifest lists (``<name>.npz``, ``<name>.mirror.npz``), keeping
        the manifest and what descriptors learned (``<name>.state.npz``): runs trained on them are still
        recognised, and an extraction into this folder computes the files again, the same. Returns the
        bytes freed."""
        manifest = self.manifest_or_none() or {"descriptors": {}}
        freed = 0
        for entry in manifest["descriptors"].values():
            for name in filter(None, (entry.get("file"), entry.get("mirror_file"))):
                path = self.path / name
                if path.is_file():
                    freed += path.stat().st_size
                    path.unlink()
        return freed

    def save_state(self, name: str, arrays: dict[str, np.ndarray]) -> Path:
        """Write what a descriptor learned from the images (``<name>.state.npz``)."""
        path = self.path / f"{name}.state.npz"
        self.path.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, **arrays)
        return path

    def load_state(self, name: str, entry: dict | None = None) -> dict[str, np.ndarray]:
        """The learned arrays of descriptor ``name``, checked against its manifest entry."""
        entry = entry or self.manifest()["descriptors"][name]
        path = self.path / entry["state_file"]
        if not path.is_file() or file_sha256(path) != entry.get("state_sha256"):
            raise FeatureStoreError(f"{path}: missing or changed since extraction; re-run fer-classic extract "
                                    f"--force --features {name}")
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}

    def load(self, name: str, verify: bool = True, mirrored: bool = False) -> FeatureSet:
        """The feature set of one descriptor, checked against the manifest; ``mirrored``: the same
        descriptor of every image flipped left to right (``extract --mirror``)."""
        manifest = self.manifest()
        entry = manifest.get("descriptors", {}).get(name)
        if entry is None:
            have = ", ".join(manifest.get("descriptors", {})) or "none"
            raise FeatureStoreError(f"{self.path}: no {name!r} features (this folder has: {have}); "
                                    f"run fer-classic extract --features {name}")
        if mirrored:
            if "mirror_file" not in entry:
                raise FeatureStoreError(f"{self.path}: no mirrored {name!r} features; "
                                        f"run fer-classic extract --features {name} --mirror")
            entry = {**entry, "file": entry["mirror_file"], "sha256": entry["mirror_sha256"]}
        path = self.path / entry["file"]
        if not path.is_file():
            raise FeatureStoreError(f"{path}: listed in the manifest but missing (fer-classic baseline removes its "
                                    f"feature files once its runs are complete, unless --keep-features; "
                                    f"fer-classic extract makes them again)")
        if verify and file_sha256(path) != entry.get("sha256"):
            raise FeatureStoreError(f"{path}: does not match its manifest entry (changed or from another "
                                    f"run); re-run fer-classic extract --force")
        try:
            with np.load(path, allow_pickle=False) as z:
                X = _feature_rows(z)
                fs = FeatureSet((name,), X, z["labels"], z["usage"].astype(str), z["ids"],
                                tuple(str(c) for c in z["class_names"]), {name: int(X.shape[1])}, manifest)
        except (OSError, ValueError, KeyError) as exc:
            raise FeatureStoreError(f"{path}: not a readable feature file ({exc})") from None
        if len(fs) != manifest.get("n_images") or fs.X.shape != (len(fs), entry.get("dim")):
            raise FeatureStoreError(f"{path}: {fs.X.shape} does not match the manifest "
                                    f"({manifest.get('n_images')} images, dim {entry.get('dim')})")
        return fs

    def load_fused(self, names, mirrored: bool = False) -> FeatureSet:
        """The named descriptors side by side (feature fusion), checked to describe the same images
        in the same order; with ``mirrored``, those of the mirror images too (``X_mirror``)."""
        sets = [self.load(n) for n in names]
        first = sets[0]
        for other in sets[1:]:
            if not (np.array_equal(other.ids, first.ids) and np.array_equal(other.labels, first.labels)):
                raise FeatureStoreError(f"{self.path}: {first.names[0]}.npz and {other.names[0]}.npz describe "
                                        f"different images; extract them again together")
        X = np.hstack([s.X for s in sets]) if len(sets) > 1 else first.X
        X_mirror = np.hstack([self.load(n, mirrored=True).X for n in names]) if mirrored else None
        return FeatureSet(tuple(names), X, first.labels, first.usage, first.ids, first.class_names,
                          {s.names[0]: s.X.shape[1] for s in sets}, first.manifest, X_mirror)


# --------------------------------------------------------------------------- zip archives (model files)

_DEFLATE_PROBE = 1 << 20  # bytes of a zip member deflated to judge whether deflating it pays


def write_zip_deflating_where_it_pays(source, target) -> None:
    """Copy the zip archive ``source`` (a path or file object) to ``target``, each member deflated only
    where that saves a fifth or more (support vectors do not shrink; schemas and one-hot arrays do), and
    dated 1980-01-01 (zip's first date): a predictor file is then the same, byte for byte, whenever its
    model is (a skops file's member names are object ids, which differ from process to process)."""
    import zipfile
    import zlib

    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            # Judged on evenly spaced slices of the member (arrays are uniform throughout), so only the
            # members that are kept deflated are deflated in full.
            step = max(1, len(data) // _DEFLATE_PROBE) * (1 << 14)
            probe = b"".join(data[i:i + (1 << 14)] for i in range(0, len(data), step))
            packed = zlib.compressobj(1, zlib.DEFLATED, -15)
            deflated_size = len(packed.compress(probe)) + len(packed.flush())
            method = zipfile.ZIP_DEFLATED if deflated_size <= 0.8 * len(probe) else zipfile.ZIP_STORED
            member = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            member.external_attr = 0o644 << 16  # -rw-r--r-- when unzipped
            zout.writestr(member, data, compress_type=method, compresslevel=1)
