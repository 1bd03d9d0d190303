"""What each ingredient of the ``best`` preset adds: the ablation table of reports/best-pipeline.md.

    python benchmarks/best_ablation.py FEATURES_DIR RUN_DIR [--out reports/best-ablation.md]

RUN_DIR is a ``train --preset best`` run on FEATURES_DIR (made with ``extract --mirror``). Its
members (fitted on the fit split, with mirror images) are scored again without averaging over mirror
images; each member is also refitted without mirror images; and the members' class scores are
combined in other ways (subsets, equal or accuracy weights). Every row gives its accuracy on the
validation split (which chose the preset) and on the test split (PublicTest, never used to choose).
"""

from __future__ import annotations

import argparse
import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np

from fer_classic.models.ensemble import soft_vote, vote_weights
from fer_classic.models.mirror import mirror_averaged_scores
from fer_classic.pipelines import named_pipeline
from fer_classic.runs.folders import load_run
from fer_classic.store import FeatureDirectory
from fer_classic.training.ensemble import member_scores
from fer_classic.training.protocols import make_splits


def member_scores_from_run(model, data, split) -> dict:
    """The run's fitted member scored on validation and test rows, without ("train") and with
    ("both") averaging over the mirror images."""
    inner = model.pipeline_ if hasattr(model, "pipeline_") else model
    reduce_and_classify = inner[1:]  # skip the image descriptors: the rows are features already
    out = {}
    for part in ("validation", "test"):
        rows = getattr(split, part)
        out[part] = {"train": mirror_averaged_scores(reduce_and_classify, data.X[rows]),
                     "both": mirror_averaged_scores(reduce_and_classify, data.X[rows], data.X_mirror[rows])}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("features_dir", type=Path)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    ensemble, metrics = load_run(args.run_dir)
    spec = named_pipeline("best", seed=metrics["spec"]["seed"]).spec
    names = [f"{m.model} on {'+'.join(m.features)}" for m in spec.members]
    datas = [FeatureDirectory(args.features_dir).load_fused(m.features, mirrored=True) for m in spec.members]
    y = datas[0].labels
    split = make_splits(y, datas[0].usage, metrics["protocol"], seed=spec.seed)[0]
    scores = {}  # (member, mirror mode) -> {"validation": ..., "test": ...}
    for i, (m, data, fitted) in enumerate(zip(spec.members, datas, ensemble.members_)):
        from_run = member_scores_from_run(fitted, data, split)
        for mode in ("train", "both"):
            scores[i, mode] = {part: from_run[part][mode] for part in ("validation", "test")}
        print(f"refitting {names[i]} without mirror images", flush=True)
        scores[i, "none"] = member_scores(replace(m, mirror="none"), data, split, n_jobs=1)["scores"]
    classes = ensemble.classes_

    def accuracy(s, part):
        return float(np.mean(classes[s.argmax(1)] == y[getattr(split, part)]))

    def combine(keys, weighting):
        val_acc = [accuracy(scores[k]["validation"], "validation") for k in keys]
        w = vote_weights(val_acc, weighting)
        scale = [np.std(scores[k]["validation"]) for k in keys]
        return {part: soft_vote([scores[k][part] for k in keys], w, scale) for part in ("validation", "test")}

    rows = []
    for i, name in enumerate(names):
        for mode, what in (("none", "alone"), ("train", "+ mirror images in training"),
                           ("both", "+ averaging over the mirror image")):
            s = scores[i, mode]
            rows.append((f"{name} {what}", accuracy(s["validation"], "validation"), accuracy(s["test"], "test")))
    members = range(len(names))
    for size in range(2, len(names) + 1):
        for subset in itertools.combinations(members, size):
            for weighting in (("rank", "equal", "accuracy") if size == len(names) else ("rank",)):
                s = combine([(i, "both") for i in subset], weighting)
                label = " + ".join(names[i].split(" on ")[1] for i in subset)
                rows.append((f"ensemble of {label}, {weighting} weights", accuracy(s["validation"], "validation"),
                             accuracy(s["test"], "test")))
    table = ["| pipeline | validation (10% of Training) | PublicTest |", "|---|---|---|"]
    table += [f"| {r} | {100 * v:.2f}% | {100 * t:.2f}% |" for r, v, t in rows]
    text = "\n".join(table) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
