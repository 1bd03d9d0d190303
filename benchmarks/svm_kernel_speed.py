"""The cross products of an RBF SVM's kernel on one core: int8 support vectors (numba) against float32 (BLAS).

    python benchmarks/svm_kernel_speed.py RUN_DIR [--batch 1,8] [--passes 20]

For a run whose SVM keeps its support vectors on an int8 grid (``--int8-rows``; `live`, `best`'s SVMs),
times ``queries @ support_vectors.T`` for batches of query rows as the labeller computes it
(:func:`fer_classic.models.int8_products.int8_row_products` on the int8 numbers) and as one float32 BLAS
product over the same support vectors widened to float32, BLAS held to one thread, the fastest of
``--passes`` passes; prints milliseconds a query, GFLOP/s (two a multiply-add) and the size of the support
vectors in each form. Query rows are the support vectors' own rows (real values, real scales).
"""

from __future__ import annotations

import argparse

import numpy as np
from label_stages import per_face, pipelines  # this folder's: a run's pipelines, the fastest of passes
from threadpoolctl import threadpool_limits

from fer_classic.models.int8_products import int8_row_products
from fer_classic.runs.folders import load_run_labeller


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run")
    ap.add_argument("--batch", default="1,8")
    ap.add_argument("--passes", type=int, default=20)
    args = ap.parse_args()
    labeller, _ = load_run_labeller(args.run)
    layouts = [pipe.clf["svm"] for pipe, _ in pipelines(labeller._model)
               if isinstance(pipe.clf, dict) and "svm" in pipe.clf and pipe.clf["svm"].steps is not None]
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
                flops = 2.0 * n_sv * d  # a query
                int8_ms = per_face(lambda q: int8_row_products(whole, q * steps), [queries], args.passes)
                blas_ms = per_face(lambda q: widened @ q.T, [queries], args.passes)
                print(f"  batches of {batch}: int8 {int8_ms:.2f} ms a query ({flops / int8_ms / 1e6:.0f} GFLOP/s), "
                      f"float32 BLAS {blas_ms:.2f} ms a query ({flops / blas_ms / 1e6:.0f} GFLOP/s): "
                      f"{blas_ms / int8_ms:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
