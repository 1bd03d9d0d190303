"""Labelling the faces in ordinary photos: detect (dlib), align to FER2013's framing, classify.

scikit-learn and pandas are imported inside :func:`predict_photos`, after the face finding has started.
In a fresh process (``fer-classic predict``) a second process loads dlib's shape predictor meanwhile;
a run with a predictor (:mod:`.predictor`) then labels the faces without importing scikit-learn at all.
"""

from __future__ import annotations

import functools
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from ..data import IMAGE_SUFFIXES, read_image
from ..store import atomic_path
from ..training.runs import load_run_labeller, predictor_path, read_run_metrics
from .face_finding import (align_detected, detect_in_photo, expand_inputs, find_faces,  # noqa: F401
                           find_faces_batch, is_cold_start, start_aligner)

log = logging.getLogger(__name__)

NO_FACE = "no face found"
CHUNK = 8  # photos per face-finding task


def _scores(labeller, X, class_names):
    """Class probabilities where the model has them (every run trained by this version: SVM and local
    learning runs are calibrated), otherwise decision scores, named as such; 4 decimals."""
    import pandas as pd

    classes = [class_names[int(c)] for c in labeller.classes_]
    return pd.DataFrame(labeller.class_scores(X), columns=[f"{labeller.score_kind}_{c}" for c in classes]).round(4)


def _find_and_load_cold(run_dir, paths, options: dict, has_predictor: bool):
    """The faces of a few photos, and the run's labeller, in a fresh process, where a second process
    loads dlib's shape predictor meanwhile. With a predictor (numpy, quick to load) this process loads
    the detector and boxes the faces, and the second one aligns them; without one, the second process
    finds the faces whole while this one imports scikit-learn and loads the model."""
    if has_predictor and not options["detect"]:  # nothing to load: the images are the faces
        return find_faces_batch(paths, **options), load_run_labeller(run_dir)
    try:
        helper = start_aligner()
        if has_predictor:
            detected = [detect_in_photo(p, **options) for p in paths]
            finding = helper.submit(align_detected, detected, options["size"])
        else:
            finding = helper.submit(find_faces_batch, [str(p) for p in paths], **options)
        helper.shutdown(wait=False)
    except Exception as exc:  # no second process here: everything in this one
        log.debug("no second process (%s): finding faces in this one", exc)
        finding = None
    loaded = load_run_labeller(run_dir)
    import pandas  # noqa: F401  (while the faces are being aligned)

    try:
        if finding is not None:
            return finding.result(), loaded
    except Exception as exc:  # the second process died: finish in this one
        log.debug("the second process failed (%s): finding faces in this one", exc)
    return find_faces_batch(paths, **options), loaded


def predict_photos(run_dir, inputs, *, detect: bool = True, upsample: int = 0, threshold: float = 0.0,
                   annotate: str | None = None, n_jobs: int | None = None, progress: bool = False,
                   min_score: float | None = None):
    """Label the expression of every face in ordinary photos.

    Parameters
    ----------
    run_dir : path
        A run directory (``train``'s output).
    inputs : paths
        Image files or folders (searched recursively).
    detect : bool
        Find faces with dlib's detector; False treats each image as an already-cropped face.
    upsample : int
        Upsample photos this many times before detection (small faces).
    threshold : float
        Detector score a face must exceed.
    min_score : float, optional
        Drop faces whose detector score is below this (the ``detector_score`` column).
    annotate : path, optional
        Folder for copies of the photos with boxes and labels drawn.
    n_jobs, progress
        Worker processes and a progress bar on stderr.

    Returns
    -------
    pandas.DataFrame
        One row per face: file, face index, box, label, status and a score per class. A photo
        without a face, or one that cannot be read, gets a row whose ``status`` says so.
    """
    paths = expand_inputs(inputs)
    if not paths:
        raise DatasetError(f"no image files in {', '.join(map(str, inputs))} (looked for "
                           f"{', '.join(sorted(IMAGE_SUFFIXES))}, in subfolders too)")
    metrics = read_run_metrics(Path(run_dir))
    options = {"detect": detect, "upsample": upsample, "threshold": threshold,
               "size": int((metrics.get("image_shape") or [48])[0]), "min_score": min_score}
    if len(paths) <= CHUNK and n_jobs != 1 and is_cold_start():
        has_predictor = predictor_path(Path(run_dir), metrics) is not None
        found, (labeller, metrics) = _find_and_load_cold(run_dir, paths, options, has_predictor)
    else:  # the model loads in a thread while the faces are found (reading and hashing it release the GIL)
        from ..parallel import map_in_chunks

        with ThreadPoolExecutor(1) as pool:
            loading = pool.submit(load_run_labeller, run_dir)
            found = map_in_chunks(functools.partial(find_faces_batch, **options), paths, n_jobs=n_jobs,
                                  progress=progress, desc="finding faces", chunk_size=CHUNK)
            labeller, metrics = loading.result()
    import pandas as pd  # here, not above: a fresh process starts finding faces first

    class_names = metrics["class_names"]
    rows, face_rows, face_images = [], [], []
    for item in found:
        if "error" in item:
            log.warning("skipping %s: %s", item["file"], item["error"])
            rows.append({"file": item["file"], "status": item["error"]})
        elif not item["faces"]:
            rows.append({"file": item["file"], "status": NO_FACE})
        for i, (face, (x, y, w, h), score) in enumerate(zip(item.get("faces", []), item.get("boxes", []),
                                                            item.get("scores", []))):
            rows.append({"file": item["file"], "face": i, "x": x, "y": y, "width": w, "height": h,
                         "detector_score": score, "status": "ok"})
            face_rows.append(rows[-1])
            face_images.append(face)
    small = [item["file"] for item in found if "faces" in item and not item["faces"] and max(item["shape"]) <= 96]
    if detect and small:
        log.warning("no face found in %d small image(s) (at most 96 px, e.g. %s): if they are already-cropped "
                    "faces like FER2013's, use --no-detect", len(small), small[0])
    if face_images:
        if hasattr(labeller, "model"):  # a scikit-learn model: its descriptors may use worker processes
            from ..features.extraction import set_descriptor_runtime

            set_descriptor_runtime(labeller.model, n_jobs if len(face_images) > 256 else 1, False)
        X = np.stack(face_images)
        scores = _scores(labeller, X, class_names)
        for row, label, score in zip(face_rows, labeller.predict(X), scores.to_dict("records")):
            row.update(label=class_names[int(label)], **score)
    table = pd.DataFrame(rows, columns=["file", "face", "x", "y", "width", "height", "detector_score", "label", "status",
                                        *(scores.columns if face_images else [])])
    for col in ("face", "x", "y", "width", "height"):
        table[col] = table[col].astype("Int64")
    if annotate:
        for file, group in table.groupby("file", sort=False):
            if (group["status"] != "ok").all() and group["status"].iloc[0] != NO_FACE:
                continue
            draw_annotations(file, group, Path(annotate))
    return table


def draw_annotations(file, faces_table, folder: Path) -> Path:
    """A copy of the photo with each face's box, label and top score drawn on it, in the photo's own
    format (``folder/<name>.<suffix>``; JPEG stays JPEG)."""
    from PIL import Image

    from .labels_drawing import draw_labels, top_score_text

    labelled = [(int(r["x"]), int(r["y"]), int(r["width"]), int(r["height"]), f"{r['face']}: {r['label']}",
                 top_score_text(r)) for _, r in faces_table[faces_table["status"] == "ok"].iterrows()]
    pil = Image.fromarray(draw_labels(read_image(file), labelled))
    folder.mkdir(parents=True, exist_ok=True)
    suffix = Path(file).suffix.lower()
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".bmp": "BMP", ".tif": "TIFF",
           ".tiff": "TIFF"}.get(suffix, "PNG")
    out = folder / (Path(file).stem + (suffix if fmt != "PNG" or suffix == ".png" else ".png"))
    with atomic_path(out) as tmp:
        pil.save(tmp, format=fmt, **({"quality": 92} if fmt == "JPEG" else {}))
    return out
