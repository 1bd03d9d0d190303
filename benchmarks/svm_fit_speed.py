"""An RBF SVM member's fit: kernel matrices per pair of classes (GramRBFSVC) against libsvm's own.

    python benchmarks/svm_fit_speed.py FEATURES_DIR [--candidate filterbank-int8] [--fit-on fit|refit]

Fits ``--candidate``'s reducer (one of ensemble_search.py's candidates: its descriptors, PCA, mirror
images, int8 rows) on the usage protocol's fit split (or fit + validation with ``--fit-on refit``), then
fits its RBF SVM on those rows twice, one after the other on one core: as fer-classic does
(:class:`fer_classic.models.gram_svm.GramRBFSVC`; above its memory limit, one BLAS kernel matrix per
pair of classes) and as ``sklearn.svm.SVC`` does (libsvm computing every kernel value itself). Prints
both wall times, the largest resident size after each fit, and how far apart the two solutions are
(support vectors, dual coefficients, decision values and labels on the validation split).
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
from ensemble_search import CANDIDATES  # this folder's
from sklearn.svm import SVC
from threadpoolctl import threadpool_limits

from fer_classic.models import gram_svm, model_kind
from fer_classic.models.gram_svm import GramRBFSVC
from fer_classic.store import FeatureDirectory
from fer_classic.training.protocols import make_splits
from fer_classic.training.reducer import fit_reducer, query_rows


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("features_dir")
    ap.add_argument("--candidate", default="filterbank-int8")
    ap.add_argument("--fit-on", choices=("fit", "refit"), default="fit")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    spec = CANDIDATES[args.candidate].with_seed(args.seed)
    params = model_kind(spec.model).resolve(spec.params)
    if spec.model != "svm" or params["kernel"] != "rbf":
        raise SystemExit(f"{args.candidate}: not an RBF SVM")
    data = FeatureDirectory(args.features_dir).load_fused(spec.features, mirrored=spec.mirror != "none")
    split = make_splits(data.labels, data.usage, "usage", seed=spec.seed)[0]
    reducer, X, y = fit_reducer(spec, data, getattr(split, args.fit_on))
    queries, _ = query_rows(spec, data, reducer, split.validation)
    queries = np.asarray(queries, dtype=np.float64)
    options = {"C": params["C"], "gamma": params["gamma"], "class_weight": spec.class_weight,
               "random_state": spec.seed, "cache_size": 1000}
    counts = np.unique(y, return_counts=True)[1]
    print(f"{args.candidate} on {args.features_dir}, {args.fit_on} split: {X.shape[0]} rows x {X.shape[1]} "
          f"columns, classes {counts.tolist()}; one core each, one after the other")
    whole = "one kernel matrix" if len(X) ** 2 * 8 <= gram_svm.GRAM_LIMIT_BYTES else "a kernel matrix per class pair"
    fitted, seconds = {}, {}
    with threadpool_limits(1):
        for name, clf in ((f"{whole} (GramRBFSVC)", GramRBFSVC(**options)),
                          ("libsvm's own kernel (SVC)", SVC(**options))):
            start = time.perf_counter()
            fitted[name] = clf.fit(X, y)
            seconds[name] = time.perf_counter() - start
            print(f"  {name}: {seconds[name]:.1f} s, largest resident size so far {peak_gib():.2f} GiB")
    ours, theirs = fitted.values()
    ratio = seconds[list(seconds)[1]] / seconds[list(seconds)[0]]
    decision = np.abs(ours.decision_function(queries) - theirs.decision_function(queries)).max()
    same_labels = np.mean(ours.predict(queries) == theirs.predict(queries))
    print(f"  libsvm's own takes {ratio:.2f}x as long; same support vectors: "
          f"{np.array_equal(ours.support_, theirs.support_)}; dual coefficients within "
          f"{np.abs(ours.dual_coef_ - theirs.dual_coef_).max():.1e}; decision values on {len(queries)} "
          f"validation rows within {decision:.1e}; labels equal on {same_labels:.2%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
