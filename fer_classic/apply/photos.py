"""Labelling the faces in ordinary photos: detect (dlib), align to FER2013's framing, classify."""

from __future__ import annotations

import functools
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from .. import faces
from ..errors import DatasetError
from ..models.mirror import class_scores, predict_labels
from ..data import IMAGE_SUFFIXES, read_image, resize_image, to_gray
from .evaluate import set_descriptor_runtime
from ..parallel import map_in_chunks
from ..training.runs import METRICS, load_run
from ..store import atomic_path, read_json

log = logging.getLogger(__name__)

NO_FACE = "no face found"


def expand_inputs(inputs) -> list[Path]:
    """Files as given, and the image files inside given folders (recursively, sorted)."""
    out = []
    for item in map(Path, inputs):
        if item.is_dir():
            out += sorted(p for p in item.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                          and not p.name.startswith("."))
        else:
            out.append(item)
    return out


def find_faces(path, *, detect: bool = True, upsample: int = 0, threshold: float = 0.0, size: int = 48,
               min_score: float | None = None) -> dict:
    """Read one photo and return its aligned faces with their boxes, or the reason there are none."""
    try:
        image = read_image(path)
    except Exception as exc:  # any decoding failure is reported for this file alone
        return {"file": str(path), "error": f"unreadable: {type(exc).__name__}: {exc}"}
    gray = to_gray(image)
    shape = gray.shape
    if not detect:
        return {"file": str(path), "faces": [resize_image(gray, (size, size))],
                "boxes": [(0, 0, gray.shape[1], gray.shape[0])], "scores": [None], "shape": shape}
    found = [f for f in faces.find_aligned_faces(image, upsample=upsample, threshold=threshold, size=size)
             if min_score is None or f["score"] >= min_score]
    return {"file": str(path), "faces": [f["face"] for f in found], "boxes": [f["box"] for f in found],
            "scores": [round(f["score"], 3) for f in found], "shape": shape}


def _find_faces_batch(paths, **options):
    return [find_faces(p, **options) for p in paths]


def _scores(pipeline, X, class_names) -> pd.DataFrame:
    """Class probabilities where the model has them (every run trained by this version: SVM and local
    learning runs are calibrated), otherwise decision scores, named as such; 4 decimals."""
    classes = [class_names[int(c)] for c in pipeline.classes_]
    kind = "probability" if hasattr(pipeline, "predict_proba") else "decision"
    return pd.DataFrame(class_scores(pipeline, X), columns=[f"{kind}_{c}" for c in classes]).round(4)


def predict_photos(run_dir, inputs, *, detect: bool = True, upsample: int = 0, threshold: float = 0.0,
                   annotate: str | None = None, n_jobs: int | None = None, progress: bool = False,
                   min_score: float | None = None) -> pd.DataFrame:
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
    # The model loads in a thread while the faces are found (reading and hashing it release the GIL).
    with ThreadPoolExecutor(1) as pool:
        loading = pool.submit(load_run, run_dir)
        try:
            size = int((read_json(Path(run_dir) / METRICS, "run").get("image_shape") or [48])[0])
        except Exception:  # not a run: load_run says why
            size = 48
        options = {"detect": detect, "upsample": upsample, "threshold": threshold, "size": size,
                   "min_score": min_score}
        found = map_in_chunks(functools.partial(_find_faces_batch, **options), paths, n_jobs=n_jobs,
                              progress=progress, desc="finding faces", chunk_size=8)
        pipeline, metrics = loading.result()
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


def draw_annotations(file, faces_table: pd.DataFrame, folder: Path) -> Path:
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
