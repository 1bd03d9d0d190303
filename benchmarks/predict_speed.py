"""Face detection rate on scikit-image's LFW subset, and the time to label one face in a 640x480 photo.

    python benchmarks/predict_speed.py RUN_DIR [--repeats 20]

Detection: dlib's frontal face detector on the 100 faces and 100 non-faces of ``lfw_subset`` (25x25
crops), at each upsampling level. Timing: scikit-image's astronaut photo centred on a 640x480 canvas,
through each stage of ``fer-classic predict`` (detection, landmarks and alignment, descriptors and
classifier of RUN_DIR), median over repeats, one process.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from skimage import data

from fer_classic import faces
from fer_classic.data import to_gray
from fer_classic.features.extraction import set_descriptor_runtime
from fer_classic.runs.folders import load_run


def timed(func, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = func()
        times.append(time.perf_counter() - start)
    return out, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()

    lfw = (data.lfw_subset() * 255).astype(np.uint8)
    for upsample in (0, 1, 2):
        found = np.array([len(faces.detect_faces(im, upsample)) > 0 for im in lfw])
        print(f"LFW subset, upsample {upsample}: faces detected {found[:100].mean():.0%} of 100, "
              f"false detections on non-faces {found[100:].mean():.0%} of 100")

    photo = np.full((480, 640, 3), 128, dtype=np.uint8)
    photo[:, 64:576] = data.astronaut()[16:496]
    pipeline, metrics = load_run(args.run_dir)
    set_descriptor_runtime(pipeline, 1, False)
    faces.shape_predictor(), faces.face_detector()  # loaded once per process, not timed

    gray, t_gray = timed(lambda: to_gray(photo), args.repeats)
    boxes, t_detect = timed(lambda: faces.detect_faces(photo), args.repeats)
    assert boxes, "no face found"
    # The photo has one face; dlib at its default threshold may add a weak second box, which is timed too.
    face, t_align = timed(lambda: [faces.align_face(gray, faces.landmarks(gray, b), 48) for b in boxes][0],
                          args.repeats)
    _, t_model = timed(lambda: pipeline.predict(face[None]), args.repeats)
    total = t_gray + t_detect + t_align + t_model
    print(f"640x480 photo, one face ({len(boxes)} box(es) at dlib's default threshold), run {args.run_dir} ({metrics['model']} on {'+'.join(metrics['features'])}):")
    for name, t in (("grayscale", t_gray), ("detection", t_detect), ("landmarks + alignment", t_align),
                    ("descriptors + classifier", t_model), ("total", total)):
        print(f"  {name:26s} {1000 * t:8.1f} ms")


if __name__ == "__main__":
    main()
