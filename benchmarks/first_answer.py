"""How long `fer-classic predict RUN photo.jpg` takes from the command to its answer, per run, with the
size of the file it loads (the run's predictor.npz where it has one, else model.skops) and where the
time goes.

    python benchmarks/first_answer.py RUN_DIR... [--photo FILE] [--repeats 5]

Each repeat is a new process running the command as a user does (default options): the median wall
time over the repeats (the first one is run and left out, so the files are in the page cache as they
are after any earlier use). The command loads dlib's shape predictor in a second process meanwhile;
with a predictor it imports no scikit-learn (but for local learning's per-face SVMs: `best`). The
stages, timed one after another in one process, say what each part costs on its own: Python with numpy imported, fer-classic's predict command imported,
dlib's detector and shape predictor loaded, what labels the faces loaded (load_run_labeller: the
predictor, or the model with the scikit-learn imports its classes need), and predict_photos with
everything loaded (the faces found and labelled; the labeller read again). Default photo: three copies of scikit-image's astronaut's head on a 900x400 canvas (three faces).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STAGES = """
import time, sys
t0 = time.perf_counter()
import numpy
t1 = time.perf_counter()
import fer_classic.cli.predict
t2 = time.perf_counter()
from fer_classic.faces import dlib_faces
dlib_faces.face_detector(); dlib_faces.shape_predictor()
t3 = time.perf_counter()
from fer_classic.runs.folders import load_run_labeller
load_run_labeller(sys.argv[1])
t4 = time.perf_counter()
from fer_classic.apply.photos import predict_photos
predict_photos(sys.argv[1], [sys.argv[2]], n_jobs=1)
t5 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)
"""


def default_photo(folder: Path) -> Path:
    import numpy as np
    from PIL import Image
    from skimage import data

    photo = np.full((400, 900, 3), 128, dtype=np.uint8)
    for i in range(3):
        photo[50:350, 25 + 300 * i:275 + 300 * i] = data.astronaut()[0:300, 80:330]
    path = folder / "three-faces.jpg"
    Image.fromarray(photo).save(path, quality=95)
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--photo")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(args.photo) if args.photo else default_photo(Path(tmp))
        print("| run | file loaded (MB) | first answer (s, median) | imports: numpy | predict command "
              "| dlib models | load_run_labeller (with its imports) | predict_photos, all imported (s) |")
        print("|---|---|---|---|---|---|---|---|")
        for run_dir in args.runs:
            command = [sys.executable, "-m", "fer_classic", "predict", run_dir, str(photo)]
            walls = []
            for i in range(args.repeats + 1):
                start = time.perf_counter()
                subprocess.run(command, check=True, capture_output=True)
                if i:
                    walls.append(time.perf_counter() - start)
            stages = subprocess.run([sys.executable, "-c", STAGES, run_dir, str(photo)], check=True,
                                    capture_output=True, text=True).stdout.split()
            entry = json.loads((Path(run_dir) / "metrics.json").read_text()).get("predictor") or {}
            loaded = Path(run_dir) / (entry.get("file") or "model.skops")
            size = loaded.stat().st_size / 1e6
            print(f"| {Path(run_dir).name} | {loaded.name} {size:.1f} | {statistics.median(walls):.2f} | "
                  + " | ".join(f"{float(s):.2f}" for s in stages) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
