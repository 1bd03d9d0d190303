"""What labelling one aligned face costs a run, stage by stage, on one core.

    python benchmarks/label_stages.py RUN_DIR... [--faces 64] [--batch 1,8] [--passes 5]

Through the run's predictor (what ``fer-classic predict`` and video labelling call), on faces of the
embedded sample aligned beforehand as the run aligns them (alignment, like detection and landmarks, is
the video path's and is timed by benchmarks/video_speed.py). For each part of the model (each member of
an ensemble; a part averaging over mirror images describes each face twice), the descriptors, each
reduction step (cast, scaler, PCA, rounding) and the classifier's labels and scores are timed on their
own, batches of ``--batch`` faces as video labelling passes them (8 frames at once), BLAS held to one
thread; each figure is the fastest of ``--passes`` passes, in milliseconds a face.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from fer_classic.data import default_sample_path, load_dataset
from fer_classic.faces import align_whole_images
from fer_classic.features.compute import DESCRIBERS, mirror_images
from fer_classic.runs.folders import load_run_labeller
from fer_classic.runs.predictor import _STEPS, _Ensemble, _Mirror, _Pipeline, _Temperature


def pipelines(part, mirrored=False):
    """The model's pipelines, each with whether it also describes the faces' mirror images."""
    if isinstance(part, _Pipeline):
        return [(part, mirrored)]
    if isinstance(part, _Mirror):
        return pipelines(part.inner, True)
    if isinstance(part, _Temperature):
        return pipelines(part.inner, mirrored)
    if isinstance(part, _Ensemble):
        return [p for m in part.members for p in pipelines(m, mirrored)]
    raise TypeError(f"unknown part {type(part).__name__}")


def per_face(fn, batches, passes: int) -> float:
    """Milliseconds a face of ``fn(batch)`` over ``batches``, the fastest of ``passes`` passes."""
    best, n = np.inf, sum(len(b) for b in batches)
    for _ in range(passes):
        start = time.perf_counter()
        for batch in batches:
            fn(batch)
        best = min(best, time.perf_counter() - start)
    return best / n * 1e3


def stage_times(pipe: _Pipeline, faces: np.ndarray, batch: int, passes: int) -> dict[str, float]:
    batches = [faces[i:i + batch] for i in range(0, len(faces) - batch + 1, batch)]
    times, inputs = {}, batches
    for name, d in pipe.descriptors:
        times[f"descriptor {name}"] = per_face(lambda b, d=d, name=name: DESCRIBERS[name].rows(d, b), batches, passes)
    rows = [pipe.rows(b, aligned=True) for b in batches]
    X = [np.hstack([np.asarray(DESCRIBERS[n].rows(d, b), dtype=np.float32) for n, d in pipe.descriptors])
         for b in inputs]
    for step in pipe.steps:
        times[step["kind"]] = per_face(lambda x, step=step: _STEPS[step["kind"]](x, step), X, passes)
        X = [_STEPS[step["kind"]](x, step) for x in X]
    assert all(np.array_equal(a, b) for a, b in zip(X, rows))
    times["classifier"] = per_face(lambda x: pipe.form.labels_and_scores_of(x, pipe.clf), X, passes)
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--faces", type=int, default=64)
    ap.add_argument("--batch", default="1,8", help="faces per call, comma-separated")
    ap.add_argument("--passes", type=int, default=5)
    args = ap.parse_args()
    sample = load_dataset(default_sample_path(), n_jobs=1)
    faces = sample.images[sample.usage == "PublicTest"][:args.faces]
    for run in args.runs:
        labeller, metrics = load_run_labeller(run)
        parts = pipelines(labeller._model)
        print(f"{run}: {metrics.get('best_params', metrics['model'])}; {len(parts)} part(s); "
              f"{args.faces} faces of the embedded sample, one thread, fastest of {args.passes} passes")
        with threadpool_limits(1):
            for batch in (int(b) for b in args.batch.split(",")):
                total = 0.0
                for i, (pipe, mirrored) in enumerate(parts):
                    ready = align_whole_images(faces, pipe.align) if pipe.align else faces
                    if mirrored:
                        ready = np.concatenate([ready, mirror_images(ready)])
                    times = stage_times(pipe, ready, batch, args.passes)
                    factor = 2 if mirrored else 1  # ms a face of the mirrored batch, times two images a face
                    line = ", ".join(f"{k} {v * factor:.2f}" for k, v in times.items())
                    total += sum(times.values()) * factor
                    print(f"  batches of {batch}, part {i + 1}{' (face and mirror image)' if mirrored else ''}: "
                          f"{line} ms a face")
                print(f"  batches of {batch}: {total:.2f} ms a face in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
