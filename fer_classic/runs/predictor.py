"""A run's predictor: what labelling a face needs, in one numpy file, computed without scikit-learn.

``train`` writes ``predictor.npz`` beside ``model.skops`` when every part of the model has a plain
numpy form (:mod:`fer_classic.runs.predictor_export`): descriptors (their parameters and learned
arrays; :mod:`fer_classic.features.compute` describes the faces), the float casts, the scaler, PCA,
and the classifier in the numpy form its model kind declares (:mod:`fer_classic.models.kinds`: RBF and
linear SVMs, MLPs, random forests, KNN, local learning, logistic regression), with mirror averaging,
temperature scaling and soft-voting ensembles around them. Local learning fits an SVM per face on its
neighbours (:mod:`fer_classic.models.local_scores`): RBF ones by libsvm's C library directly; linear ones
by scikit-learn's LinearSVC, imported in a thread started as the predictor is read.

Why: importing scikit-learn (which imports scipy.stats and pandas) takes a second or more here, longer
than finding and labelling the faces of a photo, and a model.skops file is slower to load than the
same arrays in an ``.npz``; ``fer-classic predict`` on a run with a predictor answers without them.
The predictor computes the labels the model's ``predict`` gives — RBF SVMs by the BLAS one-vs-one vote
(:mod:`fer_classic.models.svm_scores`), which is also what the model uses — and its class scores equal the model's ``class_scores`` except where the model takes libsvm's own
decision values (a temperature-scaled SVM without mirror averaging): there, to about 1e-6.

The file is an ``.npz`` (``numpy.load`` without pickles: loading it runs no code; members deflated only
where that saves a fifth): the arrays, and under ``spec`` the JSON tree that says how they fit together.
Its SHA-256 is recorded in metrics.json and checked before use.
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from ..errors import RunError
from ..features.compute import DESCRIBERS, check_images, mirror_images
from ..models import kinds  # noqa: F401  (registers the model kinds' numpy forms)
from ..models.numpy_form import load_classifier
from ..store import file_sha256, from_compact_form, round_to_float16, round_to_int8_grid

PREDICTOR_FILE = "predictor.npz"
PREDICTOR_FORMAT = "fer-classic-predictor/1"


# --------------------------------------------------------------------------- the parts

# Faces aligned during one call of an ensemble, by (id(images), size): each is aligned once for all members.
_ALIGNED: contextvars.ContextVar[dict | None] = contextvars.ContextVar("fer_classic_aligned", default=None)


@contextlib.contextmanager
def _sharing_alignments(known: dict | None = None):
    """Within the block, parts that align faces share what is aligned (starting from ``known``); an
    enclosing block's sharing is kept."""
    if _ALIGNED.get() is not None and not known:
        yield
        return
    token = _ALIGNED.set({**(_ALIGNED.get() or {}), **(known or {})})
    try:
        yield
    finally:
        _ALIGNED.reset(token)


class _Pipeline:
    """Descriptors → casts, scaler, PCA → one classifier."""

    def __init__(self, spec, arrays):
        self.align = spec["align"]
        self.descriptors = [(d["name"], SimpleNamespace(**_resolve(d["attributes"], arrays)))
                            for d in spec["descriptors"]]
        self.steps = [_resolve(s, arrays) for s in spec["steps"]]
        for step in self.steps:  # a basis stored in a smaller exact type projects in its own, as fitted
            if step["kind"] == "pca":
                if "dtype" in step:
                    step["components"] = from_compact_form(step["components"], None, step["dtype"])
                # the projected mean once, not a second pass over the basis for every call
                step["projected_mean"] = step["mean"].reshape(1, -1) @ step["components"].T
        clf = _resolve(spec["classifier"], arrays)
        self.classes = np.asarray(clf["classes"])
        self.form, self.clf = load_classifier(clf)  # the classifier's numpy form (its model kind's) and state

    def aligned(self, images):
        """``images`` aligned as the run's features were (once per call of an ensemble, whichever
        members want them), or as they are."""
        from ..faces import align_whole_images

        if not self.align:
            return images
        shared = _ALIGNED.get()
        if shared is None:
            return align_whole_images(images, self.align)
        key = (id(images), self.align)  # the images are held in the entry: their id is not reused
        if key not in shared:
            shared[key] = (images, align_whole_images(images, self.align))
        return shared[key][1]

    def rows(self, images, aligned: bool = False) -> np.ndarray:
        """The classifier's input rows for ``images`` (already aligned when ``aligned``)."""
        images = check_images(images)
        if not aligned:
            images = self.aligned(images)
        blocks = [np.asarray(DESCRIBERS[name].rows(d, images), dtype=np.float32) for name, d in self.descriptors]
        X = blocks[0] if len(blocks) == 1 else np.hstack(blocks)
        for step in self.steps:
            X = _STEPS[step["kind"]](X, step)
        return X

    def _outputs(self, X):
        return self.form.scores(X, self.clf)

    def scores(self, images, aligned=False):
        return self._outputs(self.rows(images, aligned))

    def labels(self, images, aligned=False):
        return self.form.labels_of(self.rows(images, aligned), self.clf)

    def labels_and_decision(self, images, aligned=False):
        """Labels and scores from one description of the faces."""
        return self.form.labels_and_scores_of(self.rows(images, aligned), self.clf)

    decision = scores


class _VotesByScore:
    """A part whose label is the class of its highest score."""

    def labels(self, images):
        return self.labels_and_decision(images)[0]

    def labels_and_decision(self, images):
        scores = self.scores(images)
        return self.classes[np.argmax(scores, axis=1)], scores


class _Mirror(_VotesByScore):
    """Scores averaged over each face and its mirror image (a run aligning faces mirrors the aligned
    face, as ``extract --align --mirror`` did)."""

    def __init__(self, spec, arrays):
        self.inner = _Pipeline(spec["inner"], arrays)
        self.classes = self.inner.classes

    def scores(self, images):
        images = check_images(images)
        aligned = self.inner.aligned(images)
        s = self.inner.scores(np.concatenate([aligned, mirror_images(aligned)]) if isinstance(aligned, np.ndarray)
                              else aligned + mirror_images(aligned), aligned=True)
        return (s[:len(images)] + s[len(images):]) / 2

    decision = scores


class _Temperature:
    """``softmax(scores / T)``; the labels are the inner model's."""

    def __init__(self, spec, arrays):
        self.inner = _part(spec["inner"], arrays)
        self.temperature = spec["temperature"]
        self.classes = self.inner.classes

    def decision(self, images):
        return self.inner.decision(images)

    def scores(self, images):
        return self.scores_from(self.decision(images))

    def scores_from(self, decision):
        x = _score_columns(decision) / self.temperature
        shifted = np.exp(x - np.max(x, axis=1, keepdims=True))  # scipy.special.softmax's arithmetic
        return shifted / np.sum(shifted, axis=1, keepdims=True)

    def labels(self, images):
        return self.inner.labels(images)

    def labels_and_decision(self, images):
        return self.inner.labels_and_decision(images)


class _Ensemble(_VotesByScore):
    """Soft vote: the members' class scores, each divided by its scale, weighted and added."""

    def __init__(self, spec, arrays):
        self.members = [_part(m, arrays) for m in spec["members"]]
        self.weights, self.scales = spec["weights"], spec["scales"]
        self.classes = self.members[0].classes

    def scores(self, images):
        images = check_images(images)
        with _sharing_alignments():
            return sum(w * s / scale for s, w, scale in zip((m.scores(images) for m in self.members),
                                                            self.weights, self.scales))

    decision = scores


_PARTS = {"pipeline": _Pipeline, "mirror": _Mirror, "temperature": _Temperature, "ensemble": _Ensemble}


def _part(spec, arrays):
    return _PARTS[spec["kind"]](spec, arrays)


def _score_columns(scores) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64)
    return np.column_stack([-scores, scores]) if scores.ndim == 1 else scores


# --------------------------------------------------------------------------- the reduction steps

def _cast(X, step):
    return np.asarray(X, dtype=step["dtype"])


def _scale(X, step):
    # StandardScaler.transform's arithmetic: a copy, centred, then divided, in the rows' dtype.
    X = np.array(X, copy=True)
    if step["mean"] is not None:
        X -= step["mean"].astype(X.dtype)
    if step["scale"] is not None:
        X /= step["scale"].astype(X.dtype)
    return X


def _pca(X, step):
    # PCA.transform's arithmetic: project, subtract the projected mean, whiten.
    out = X @ step["components"].T
    out -= step["projected_mean"]
    if step["whiten_scale"] is not None:
        out /= step["whiten_scale"]
    return out


_STEPS = {"cast": _cast, "scaler": _scale, "pca": _pca, "float16": lambda X, step: round_to_float16(X),
          "int8": lambda X, step: round_to_int8_grid(X, step["steps"])}


def _resolve(node, arrays):
    """A spec node with its array references (``{"array": name}``) replaced by the arrays."""
    if isinstance(node, dict):
        if set(node) == {"array"}:
            return arrays[node["array"]]
        return {k: _resolve(v, arrays) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, arrays) for v in node]
    return node


# --------------------------------------------------------------------------- the file

CHUNK = 256  # faces a worker process labels at a time (Predictor.set_runtime)


class Predictor:
    """A run's model in its numpy form: ``predict(images)`` labels, ``class_scores(images)`` the
    scores ``fer_classic.models.class_scores`` gives (probabilities where the model has them), in
    ``classes_`` order; ``score_kind`` says which."""

    def __init__(self, spec: dict, arrays: dict[str, np.ndarray]):
        self.spec = spec
        self._model = _part(spec["model"], arrays)
        self.classes_ = self._model.classes
        self.score_kind = spec["score_kind"]
        self._n_jobs, self._progress = 1, False

    def set_runtime(self, n_jobs: int | None, progress: bool) -> None:
        """Label ``predict``'s and ``class_scores``' images in ``n_jobs`` worker processes (chunks of
        :data:`CHUNK` faces, whatever the number of workers, so the numbers do not depend on it)."""
        self._n_jobs, self._progress = n_jobs, progress

    def predict(self, images) -> np.ndarray:
        return self._in_chunks(self._model.labels, images)

    def class_scores(self, images) -> np.ndarray:
        return _score_columns(self._in_chunks(self._model.scores, images))

    def _in_chunks(self, method, images):
        if self._n_jobs == 1 or len(images) <= CHUNK:
            return method(images)
        from ..parallel import map_in_chunks

        return map_in_chunks(method, check_images(images), n_jobs=self._n_jobs, progress=self._progress,
                             desc="labelling", chunk_size=CHUNK)

    def labels_and_scores(self, images, aligned: dict[int, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``predict(images)`` and ``class_scores(images)``, the faces described once. ``aligned``: the
        images already aligned by :func:`~fer_classic.faces.align_whole_images` at a size (``{48: array}``),
        where another process did it (``predict``'s aligner); parts that align at that size use them."""
        images = check_images(images)
        with _sharing_alignments({(id(images), size): (images, faces) for size, faces in (aligned or {}).items()}):
            labels, decision = self._model.labels_and_decision(images)
        scores_from = getattr(self._model, "scores_from", None)
        return labels, _score_columns(scores_from(decision) if scores_from else decision)


class ModelLabeller:
    """A run's scikit-learn model (model.skops) behind the :class:`Predictor`'s interface."""

    def __init__(self, model):
        self.model = model
        self.classes_ = model.classes_
        self.score_kind = "probability" if hasattr(model, "predict_proba") else "decision"

    def set_runtime(self, n_jobs: int | None, progress: bool) -> None:
        """Run the model's descriptors with ``n_jobs`` worker processes, with a progress bar or not."""
        from ..features.extraction import set_descriptor_runtime

        set_descriptor_runtime(self.model, n_jobs, progress)

    def predict(self, images) -> np.ndarray:
        from ..models.mirror import predict_labels

        return predict_labels(self.model, images)

    def class_scores(self, images) -> np.ndarray:
        from ..models.mirror import class_scores

        return class_scores(self.model, images)

    def labels_and_scores(self, images, aligned: dict[int, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The model's labels and class scores; ``aligned`` as for :meth:`Predictor.labels_and_scores` (given
        to the model's face aligners through their cache)."""
        from ..features.alignment import remember_aligned
        from ..models.mirror import labels_and_scores

        for size, faces in (aligned or {}).items():
            remember_aligned(images, size, faces)
        return labels_and_scores(self.model, images)


def write_predictor(spec: dict, arrays: dict[str, np.ndarray], path: Path) -> str:
    """Write the predictor file (atomically) and return its SHA-256."""
    from ..store import atomic_path, write_zip_deflating_where_it_pays

    plain = io.BytesIO()
    np.savez(plain, spec=np.frombuffer(json.dumps({"format": PREDICTOR_FORMAT, **spec}).encode(), np.uint8), **arrays)
    with atomic_path(path) as tmp:
        write_zip_deflating_where_it_pays(plain, tmp)
    return file_sha256(path)


def read_npz(data: bytes) -> dict[str, np.ndarray]:
    """The arrays of the ``.npz`` file whose bytes are ``data``, read as ``numpy.load`` reads them (no
    pickles): each member stored as it is (the rows and support vectors: nearly all of a predictor's
    bytes) as a read-only view into ``data``, not a copy; deflated ones (small) by numpy."""
    import struct
    import zipfile

    arrays = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            name = info.filename.removesuffix(".npy")
            if info.compress_type != zipfile.ZIP_STORED:
                with archive.open(info) as member:
                    arrays[name] = np.lib.format.read_array(member, allow_pickle=False)
                continue
            name_length, extra_length = struct.unpack_from("<HH", data, info.header_offset + 26)  # local header
            start = info.header_offset + 30 + name_length + extra_length
            header = io.BytesIO(data[start:start + min(info.file_size, 1 << 16)])
            version = np.lib.format.read_magic(header)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = read_header(header)
            if dtype.hasobject:
                raise ValueError(f"{info.filename}: an array of Python objects (pickles are not read)")
            count = int(np.prod(shape, dtype=np.int64))
            if header.tell() + count * dtype.itemsize != info.file_size:
                raise ValueError(f"{info.filename}: its size does not match its header")
            array = np.frombuffer(data, dtype=dtype, count=count, offset=start + header.tell())
            arrays[name] = array.reshape(shape, order="F" if fortran else "C")
    return arrays


def load_predictor(path, sha256: str | None) -> Predictor:
    """The predictor in ``path``, after checking its SHA-256 against the one metrics.json recorded."""
    import hashlib

    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RunError(f"{path}: cannot read the run's predictor ({exc.strerror})") from None
    if "sha256:" + hashlib.sha256(data).hexdigest() != sha256:
        raise RunError(f"{path}: its SHA-256 does not match the one recorded in metrics.json; "
                       f"refusing to use a predictor file that was changed")
    try:
        arrays = read_npz(data)
        spec = json.loads(arrays.pop("spec").tobytes())
    except Exception as exc:  # numpy and json raise various errors for files they cannot parse
        raise RunError(f"{path}: not a readable predictor file ({exc})") from None
    if spec.get("format") != PREDICTOR_FORMAT:
        raise RunError(f"{path}: format {spec.get('format')!r}, expected {PREDICTOR_FORMAT!r}")
    try:
        return Predictor(spec, arrays)
    except (KeyError, TypeError, ValueError, IndexError) as exc:  # parts the format does not have
        raise RunError(f"{path}: not a readable predictor file ({type(exc).__name__}: {exc})") from None
