"""Labelling the faces in ordinary photos: detect (dlib), align to FER2013's framing, classify.

scikit-learn and pandas are imported inside :func:`predict_photos`, after the face finding has started:
in a fresh process (``fer-classic predict``) the faces are found in a second process meanwhile."""

from __future__ import annotations

import functools
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from ..data import IMAGE_SUFFIXES, read_image
from ..parallel import map_in_chunks
from ..store import atomic_path, read_json
from ..training.runs import METRICS, load_run
from .face_finding import (expand_inputs, find_faces, find_faces_batch, find_faces_in_background,  # noqa: F401
                           is_cold_start)

log = logging.getLogger(__name__)

NO_FACE = "no face found"
CHUNK = 8  # photos per face-finding task


def _scores(pipeline, X, class_names):
    """Class probabilities where the model has them (every run trained by this version: SVM and local
    learning runs are calibrated), otherwise decision scores, named as such; 4 decimals."""
    import pandas as pd

    from ..models.mirror import class_scores

    classes = [class_names[int(c)] for c in pipeline.classes_]
    kind = "probability" if hasattr(pipeline, "predict_proba") else "decision"
    return pd.DataFrame(class_scores(pipeline, X), columns=[f"{kind}_{c}" for c in classes]).round(4)


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
    try:
        size = int((read_json(Path(run_dir) / METRICS, "run").get("image_shape") or [48])[0])
    except Exception:  # not a run: load_run says why
        size = 48
    options = {"detect": detect, "upsample": upsample, "threshold": threshold, "size": size,
               "min_score": min_score}
    if len(paths) <= CHUNK and n_jobs != 1 and is_cold_start():
        # A fresh process (the command line): dlib's models load and the faces are found in a second
        # process while this one imports scikit-learn and loads the model (on two cores, at once).
        finding = find_faces_in_background(paths, **options)
        pipeline, metrics = load_run(run_dir)
        try:
            found = finding.result()
        except Exception as exc:  # no second process here (or it died): find them in this one
            log.debug("finding faces in this process: %s", exc)
            found = find_faces_batch(paths, **options)
    else:  # the model loads in a thread while the faces are found (reading and hashing it release the GIL)
        with ThreadPoolExecutor(1) as pool:
            loading = pool.submit(load_run, run_dir)
            found = map_in_chunks(functools.partial(find_faces_batch, **options), paths, n_jobs=n_jobs,
                                  progress=progress, desc="finding faces", chunk_size=CHUNK)
            pipeline, metrics = loading.result()
    import pandas as pd  # here, not above: a fresh process starts finding faces first

    from ..features.extraction import set_descriptor_runtime
    from ..models.mirror import predict_labels

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
        set_descriptor_runtime(pipeline, n_jobs if len(face_images) > 256 else 1, False)
        X = np.stack(face_images)
        scores = _scores(pipeline, X, class_names)
        for row, label, score in zip(face_rows, predict_labels(pipeline, X), scores.to_dict("records")):
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
