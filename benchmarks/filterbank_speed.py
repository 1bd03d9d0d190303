"""The filter bank's cost per face on one core, stage by stage, against its arithmetic and against the
same formula in numpy.

Fits the filter bank (``--centroids``, pool 3, 6-px patches) on the embedded sample, then describes
``--faces`` of its faces one at a time, with BLAS held to one thread. Each stage is the fastest of
``--passes`` passes: the contrast-normalised, whitened patches; the patches' products with the
centroids (a BLAS matrix product: its GFLOP/s against the same BLAS on a large square product, this
core's practical peak); the compiled
triangle activation and pooling (fer_classic.features.triangle_pooling); the whole descriptor; and the
same arithmetic as whole-array numpy steps (distances, mean, activation, pooling product).

    python benchmarks/filterbank_speed.py [--centroids 1000] [--faces 200]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from fer_classic.data import default_sample_path, load_dataset
from fer_classic.features import compute
from fer_classic.features.filterbank import FilterBankDescriptor
from fer_classic.features.triangle_pooling import triangle_pooled


def fastest(fn, faces, passes: int) -> float:
    """Milliseconds per face of ``fn(face)``, the fastest of ``passes`` passes over ``faces``."""
    best = np.inf
    for _ in range(passes):
        start = time.perf_counter()
        for face in faces:
            fn(face)
        best = min(best, time.perf_counter() - start)
    return best / len(faces) * 1e3


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--centroids", type=int, default=1000)
    ap.add_argument("--pool", type=int, default=3)
    ap.add_argument("--faces", type=int, default=200)
    ap.add_argument("--passes", type=int, default=5)
    args = ap.parse_args()
    images = load_dataset(default_sample_path(), n_jobs=1).images
    d = FilterBankDescriptor(centroids=args.centroids, pool=args.pool, sample_images=2000).fit(images)
    faces = images[:args.faces]
    side = d.size - d.patch + 1
    region = compute.filterbank_regions(d)
    pooling = np.zeros((d.pool * d.pool, side * side), dtype=np.float32)
    pooling[region, np.arange(side * side)] = 1
    c_norms = (d.centroids_ ** 2).sum(axis=1)

    def whitened(face):
        return (compute.filterbank_patches(d, face) - d.mean_) @ d.whitening_

    rows = [whitened(face) for face in faces]
    products = [x @ d.centroids_.T for x in rows]
    norms = [(x ** 2).sum(axis=1) for x in rows]

    def in_numpy(i):
        z = np.sqrt(np.maximum(norms[i][:, None] + c_norms - 2 * products[i], 0))
        return pooling @ np.maximum(z.mean(axis=1, keepdims=True) - z, 0)

    index = range(len(faces))
    with threadpool_limits(1):
        compute.filterbank_rows(d, faces[:2])  # compiles (or loads) the kernel
        stages = {
            "patches, normalised and whitened": fastest(whitened, faces, args.passes),
            "products with the centroids (BLAS)": fastest(lambda i: rows[i] @ d.centroids_.T, index, args.passes),
            "triangle activation and pooling (numba)": fastest(
                lambda i: triangle_pooled(products[i], norms[i], c_norms, region, d.pool * d.pool), index, args.passes),
        }
        whole = fastest(lambda face: compute.filterbank_rows(d, face[None]), faces, args.passes)
        numpy_steps = fastest(in_numpy, index, args.passes)
        square = np.random.default_rng(0).standard_normal((1024, 1024), dtype=np.float32)
        peak_ms = fastest(lambda a: a @ a, [square], args.passes)
    flops = 2 * side * side * d.patch ** 2 * d.centroids
    print(f"filter bank: {d.centroids} centroids, {d.patch}-px patches at {side}x{side} positions, pool {d.pool}; "
          f"{len(faces)} faces of the embedded sample, one thread, fastest of {args.passes} passes")
    for name, ms in stages.items():
        print(f"  {name:42s} {ms:6.2f} ms")
    print(f"  {'the whole descriptor':42s} {whole:6.2f} ms a face")
    gemm = stages["products with the centroids (BLAS)"]
    print(f"products: {flops / 1e6:.0f} MFLOP a face at {flops / gemm / 1e6:.0f} GFLOP/s; the same BLAS on a "
          f"1024x1024 float32 square product: {2 * 1024 ** 3 / peak_ms / 1e6:.0f} GFLOP/s")
    print(f"activation and pooling as numpy steps: {numpy_steps:.2f} ms a face, "
          f"{numpy_steps / stages['triangle activation and pooling (numba)']:.1f}x the compiled pass")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
