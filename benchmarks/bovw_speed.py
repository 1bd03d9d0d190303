"""The bag of words' dense DAISY against scikit-image's ``daisy``, on FER2013 faces: seconds per 1,000
faces for each, their ratio, whether the descriptors are equal (in float32), and the whole descriptor
(DAISY, word assignment, pyramid counts) per 1,000 faces. One process, one core.

    python benchmarks/bovw_speed.py [../shared/datasets/fer2013] [--faces 1000]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from skimage.feature import daisy
from threadpoolctl import threadpool_limits

from fer_classic.data import load_dataset
from fer_classic.features.bovw import BoVWDescriptor
from fer_classic.features.compute import dense_daisy


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", nargs="?", default="../shared/datasets/fer2013")
    ap.add_argument("--faces", type=int, default=1000)
    args = ap.parse_args()
    ds = load_dataset(args.data, n_jobs=2)
    faces = ds.images[np.random.default_rng(0).choice(len(ds), args.faces, replace=False)]
    d = BoVWDescriptor(n_jobs=1)
    options = dict(step=d.step, radius=d.radius, rings=d.rings, histograms=d.histograms, orientations=d.orientations)
    with threadpool_limits(1):
        start = time.perf_counter()
        reference = np.stack([daisy(face, **options) for face in faces]).astype(np.float32)
        skimage_s = time.perf_counter() - start
        start = time.perf_counter()
        ours = np.concatenate([dense_daisy(faces[i:i + 256], **options) for i in range(0, len(faces), 256)])
        ours_s = time.perf_counter() - start
        d.fit(faces[:300])
        start = time.perf_counter()
        d.transform(faces)
        whole_s = time.perf_counter() - start
    per = 1000 / len(faces)
    print(f"{len(faces)} faces, one core: scikit-image daisy {skimage_s * per:.2f} s per 1,000 faces; batched "
          f"dense_daisy {ours_s * per:.2f} s ({skimage_s / ours_s:.2f}x faster); equal in float32: "
          f"{np.array_equal(reference, ours.astype(np.float32))} (largest difference "
          f"{np.abs(reference - ours.astype(np.float32)).max():.2g})")
    print(f"whole bovw descriptor (DAISY + 500 words + 1/2/4 pyramid): {whole_s * per:.2f} s per 1,000 faces")
    return 0


if __name__ == "__main__":
    sys.exit(main())
