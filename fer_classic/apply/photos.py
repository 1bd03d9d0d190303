"""Labelling the faces in ordinary photos: detect (dlib), align to FER2013's framing, classify.

:func:`label_photos` gives the rows as plain dicts and imports neither scikit-learn nor pandas where
the run has a predictor (:mod:`.predictor`): in a fresh process (``fer-classic predict``) a second
process loads dlib's shape predictor meanwhile, and the first answer comes without either import.
:func:`predict_photos` returns the same rows as a pandas DataFrame.
"""

from __future__ import annotations

import functools
import logging
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..data import IMAGE_SUFFIXES, read_image
from ..errors import DatasetError
from ..runs.folders import load_run_labeller, member_specs, predictor_path, read_run_record
from ..store import atomic_path
from .face_finding import (
    align_detected,
    aligned_items,
    box_landmarks,
    detect_in_photo,
    expand_inputs,
    faces_of,
    find_faces_batch,
    is_cold_start,
    start_aligner,
    whole_image_landmarks,
    with_realigned,
)

log = logging.getLogger(__name__)

NO_FACE = "no face found"
CHUNK = 8  # photos per face-finding task
COLUMNS = ["file", "face", "x", "y", "width", "height", "detector_score", "label", "status"]


def _find_and_load_cold(run_dir, paths, options: dict, has_predictor: bool, realign: int | None, describers):
    """The faces of a few photos, and the run's labeller, in a fresh process, where a second process
    loads dlib's shape predictor meanwhile (half a second, holding its interpreter's lock) and a thread
    imports what aligning and the run's ``describers`` need. With a predictor (numpy, quick to load) this
    process boxes the faces (dlib's detector), hands the boxes to the second process for their landmarks
    and reads the predictor, then aligns the faces; for a run on aligned faces it asks for the aligned
    faces' landmarks and aligns them again as its descriptors do (``realign``, their size). Without one,
    the second process finds the faces whole while this one imports scikit-learn and loads the model.
    Where the second process cannot start or dies, this one finishes alone."""
    from ..features.compute import ALIGNING_IMPORTS, start_importing_describers

    if has_predictor and not options["detect"]:  # no detector: the images are the faces
        start_importing_describers(describers, also=ALIGNING_IMPORTS if realign else ())
        return find_faces_batch(paths, realign=realign, **options), load_run_labeller(run_dir)
    try:
        helper = start_aligner()
    except Exception as exc:
        log.debug("no second process (%s): finding faces in this one", exc)
        return find_faces_batch(paths, realign=realign, **options), load_run_labeller(run_dir)
    # after the fork (see start_aligner); this process aligns only where it reads a predictor
    start_importing_describers(describers, also=ALIGNING_IMPORTS if has_predictor else ())
    try:
        if not has_predictor:
            finding = _submitted(helper, find_faces_batch, [str(p) for p in paths], realign=realign, **options)
            loaded = load_run_labeller(run_dir)
            try:
                return finding.result(), loaded
            except Exception as exc:
                log.debug("the second process failed (%s): finding faces in this one", exc)
                return find_faces_batch(paths, realign=realign, **options), loaded
        detected = [detect_in_photo(path, **options) for path in paths]
        landmarking = _submitted(helper, box_landmarks, detected)
        loaded = load_run_labeller(run_dir)
        try:
            found = aligned_items(detected, landmarking.result(), options["size"])
            if realign:
                found = with_realigned(found, realign,
                                       _submitted(helper, whole_image_landmarks, faces_of(found)).result())
            return found, loaded
        except Exception as exc:
            log.debug("the second process failed (%s): finding faces in this one", exc)
            return align_detected(detected, options["size"], realign), loaded
    finally:
        helper.shutdown(wait=False)


def _submitted(executor, func, *args, **kwargs) -> Future:
    """``executor.submit(func, ...)``, or a future that failed with the reason it could not be submitted
    (the second process died)."""
    try:
        return executor.submit(func, *args, **kwargs)
    except Exception as exc:
        failed = Future()
        failed.set_exception(exc)
        return failed


def aligns_faces(metrics: dict) -> bool:
    """Whether a run (or a member of it) was trained on faces aligned by their landmarks."""
    return bool(metrics.get("faces_aligned")) or any(m.get("aligned") for m in member_specs(metrics))


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
    import pandas as pd

    columns, rows = label_photos(run_dir, inputs, detect=detect, upsample=upsample, threshold=threshold,
                                 n_jobs=n_jobs, progress=progress, min_score=min_score)
    table = pd.DataFrame(rows, columns=columns)
    for col in ("face", "x", "y", "width", "height"):
        table[col] = table[col].astype("Int64")
    if annotate:
        annotate_photos(rows, Path(annotate))
    return table


def annotate_photos(rows, folder: Path) -> None:
    """Copies of the photos of ``rows`` (:func:`label_photos`') with their faces drawn (photos with no face
    too; unreadable ones are left out)."""
    by_file: dict[str, list] = {}
    for row in rows:
        by_file.setdefault(row["file"], []).append(row)
    for file, group in by_file.items():
        if all(r["status"] != "ok" for r in group) and group[0]["status"] != NO_FACE:
            continue
        draw_annotations(file, [r for r in group if r["status"] == "ok"], folder)


def label_photos(run_dir, inputs, *, detect: bool = True, upsample: int = 0, threshold: float = 0.0,
                 n_jobs: int | None = None, progress: bool = False, min_score: float | None = None):
    """:func:`predict_photos`' rows as plain dicts (every column present, None where empty) and the column
    names: ``(columns, rows)``. Neither scikit-learn nor pandas is imported where the run has a predictor."""
    paths = expand_inputs(inputs)
    if not paths:
        raise DatasetError(f"no image files in {', '.join(map(str, inputs))} (looked for "
                           f"{', '.join(sorted(IMAGE_SUFFIXES))}, in subfolders too)")
    metrics = read_run_record(Path(run_dir))
    options = {"detect": detect, "upsample": upsample, "threshold": threshold,
               "size": int((metrics.get("image_shape") or [48])[0]), "min_score": min_score}
    # faces as a run on aligned faces aligns them, made where they are found (a second process, workers)
    realign = options["size"] if aligns_faces(metrics) else None
    if len(paths) <= CHUNK and n_jobs != 1 and is_cold_start():
        has_predictor = predictor_path(Path(run_dir), metrics) is not None
        found, (labeller, metrics) = _find_and_load_cold(run_dir, paths, options, has_predictor, realign,
                                                         metrics.get("features") or [])
    else:  # the model loads in a thread while the faces are found (reading and hashing it release the GIL)
        from ..parallel import map_in_chunks

        with ThreadPoolExecutor(1) as pool:
            loading = pool.submit(load_run_labeller, run_dir)
            found = map_in_chunks(functools.partial(find_faces_batch, realign=realign, **options), paths, n_jobs=n_jobs,
                                  progress=progress, desc="finding faces", chunk_size=CHUNK)
            labeller, metrics = loading.result()
    class_names = metrics["class_names"]
    rows, face_rows, face_images, realigned, score_columns = [], [], [], [], []
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
        realigned += item.get("realigned", [])
    small = [item["file"] for item in found if "faces" in item and not item["faces"] and max(item["shape"]) <= 96]
    if detect and small:
        log.warning("no face found in %d small image(s) (at most 96 px, e.g. %s): if they are already-cropped "
                    "faces like FER2013's, use --no-detect", len(small), small[0])
    if face_images:
        labeller.set_runtime(n_jobs if len(face_images) > 256 else 1, False)  # a model's descriptors: workers
        X = np.stack(face_images)
        # probabilities where the model has them (every run trained by this version: SVM and local learning
        # runs are calibrated), otherwise decision scores, named as such; 4 decimals
        score_columns = [f"{labeller.score_kind}_{class_names[int(c)]}" for c in labeller.classes_]
        # the faces aligned as the run's aligned members align them, where they were found
        known = {options["size"]: np.stack(realigned)} if realigned and len(realigned) == len(face_images) else None
        labels, scores = labeller.labels_and_scores(X, aligned=known)
        for row, label, score in zip(face_rows, labels, np.round(scores, 4).tolist()):
            row.update(label=class_names[int(label)], **dict(zip(score_columns, score)))
    columns = COLUMNS + score_columns
    return columns, [{c: row.get(c) for c in columns} for row in rows]


def draw_annotations(file, faces, folder: Path) -> Path:
    """A copy of the photo with each face's box, label and top score drawn on it (``faces``: rows of
    :func:`label_photos`), in the photo's own format (``folder/<name>.<suffix>``; JPEG stays JPEG)."""
    from PIL import Image

    from .labels_drawing import draw_labels, top_score_text

    labelled = [(int(r["x"]), int(r["y"]), int(r["width"]), int(r["height"]), f"{r['face']}: {r['label']}",
                 top_score_text(r)) for r in faces]
    pil = Image.fromarray(draw_labels(read_image(file), labelled))
    folder.mkdir(parents=True, exist_ok=True)
    suffix = Path(file).suffix.lower()
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".bmp": "BMP", ".tif": "TIFF",
           ".tiff": "TIFF"}.get(suffix, "PNG")
    out = folder / (Path(file).stem + (suffix if fmt != "PNG" or suffix == ".png" else ".png"))
    with atomic_path(out) as tmp:
        pil.save(tmp, format=fmt, **({"quality": 92} if fmt == "JPEG" else {}))
    return out
