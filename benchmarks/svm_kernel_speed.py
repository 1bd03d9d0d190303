"""The cross products of an RBF SVM's kernel on one core: int8 support vectors (numba) against float32 (BLAS).

    python benchmarks/svm_kernel_speed.py RUN_DIR [--batch 1,8] [--passes 20]

For a run whose SVM keeps its support vectors on an int8 grid (``--int8-rows``; `live`, `best`'s SVMs),
times ``queries @ support_vectors.T`` for batches of query rows as the labeller computes it
(:func:`fer_classic.models.int8_products.int8_row_products` on the int8 numbers) and as one float32 BLAS
product over the same support vectors widened to float32, BLAS held to one thread, the fastest of
``--passes`` passes; prints milliseconds a query, GFLOP/s (two a multiply-add) and the bytes of support
vectors read a query. Query rows are the support vectors' own rows (real values, real scales).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from fer_classic.models.int8_products import int8_row_products
from fer_classic.runs.folders import load_run_labeller


def svm_layouts(part):
    """The SVM layouts of a run's predictor parts."""
    clf = getattr(part, "clf", None)
    if isinstance(clf, dict) and "svm" in clf:
        return [clf["svm"]]
    inner = [getattr(part, "inner", None)] + list(getattr(part, "members", []))
    return [layout for p in inner if p is not None for layout in svm_layouts(p)]


def fastest(fn, passes: int) -> float:
    best = np.inf
    for _ in range(passes):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run")
    ap.add_argument("--batch", default="1,8")
    ap.add_argument("--passes", type=int, default=20)
    args = ap.parse_args()
    labeller, _ = load_run_labeller(args.run)
    layouts = [lay for lay in svm_layouts(labeller._model) if lay.steps is not None]
    if not layouts:
        raise SystemExit(f"{args.run}: no SVM with int8 support vectors")
    for layout in layouts:
        whole, steps = layout.support_vectors, layout.steps
        widened = whole * steps  # float32
        n_sv, d = whole.shape
        print(f"{args.run}: {n_sv} support vectors x {d} columns; int8 {whole.nbytes / 1e6:.1f} MB, "
              f"float32 {widened.nbytes / 1e6:.1f} MB; one thread, fastest of {args.passes} passes")
        with threadpool_limits(1):
            for batch in (int(b) for b in args.batch.split(",")):
                queries = np.ascontiguousarray(widened[:batch])
                int8_row_products(whole, queries * steps)  # compiled before timing
                flops = 2.0 * n_sv * d * batch
                int8_s = fastest(lambda: int8_row_products(whole, queries * steps), args.passes)
                blas_s = fastest(lambda: widened @ queries.T, args.passes)
                print(f"  batches of {batch}: int8 {int8_s / batch * 1e3:.2f} ms a query "
                      f"({flops / int8_s / 1e9:.0f} GFLOP/s), float32 BLAS {blas_s / batch * 1e3:.2f} ms a query "
                      f"({flops / blas_s / 1e9:.0f} GFLOP/s): {blas_s / int8_s:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
