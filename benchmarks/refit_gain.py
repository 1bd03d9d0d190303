"""What refitting an ensemble's members on fit + validation changes, on the same test images.

A run trained with ``EnsembleSpec(refit=True)`` keeps each member's test scores twice in its
member_scores.npz: as shipped (refitted) and as fitted on the fit split (``test_fit_split``). Both votes
use the run's weights and score scales (set on validation by the fit-split members), so this is the
ensemble without and with the refit, paired on the same images (exact McNemar), each with n and a 95%
Wilson interval; ``--against NAME=CSV`` adds prediction files (a CNN's, another run's predictions.csv)
paired with the shipped ensemble.

    python benchmarks/refit_gain.py runs/best --against mini-xception=cnn.csv
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from fer_classic.evaluation.uncertainty import accuracy_text, mcnemar
from fer_classic.models import soft_vote


def describe(name: str, correct: np.ndarray) -> str:
    return f"{name}: {accuracy_text(correct)}"


def paired(a: str, b: str, correct_a: np.ndarray, correct_b: np.ndarray) -> str:
    t = mcnemar(correct_a, correct_b)
    return (f"{a} − {b}: {100 * t['difference']:+.2f} points ({t['a_right_b_wrong']} vs {t['a_wrong_b_right']} "
            f"images only one got right, exact McNemar p = {t['p_value']:.2g})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--against", action="append", default=[], metavar="NAME=CSV")
    args = ap.parse_args()
    metrics = json.loads((args.run / "metrics.json").read_text())
    with np.load(args.run / "member_scores.npz") as z:
        kept = {k: z[k] for k in z.files}
    if "test_fit_split" not in kept:
        raise SystemExit(f"{args.run}: its members were not refitted (no test_fit_split scores)")
    weights = [m["weight"] for m in metrics["members"]]
    scales = [float(np.std(v)) or 1.0 for v in kept["validation"]]
    predictions = pd.read_csv(args.run / "predictions.csv")
    if list(predictions["id"].astype(str)) != list(kept["test_ids"]):
        raise SystemExit(f"{args.run}: predictions.csv and member_scores.npz list other images")
    names = np.array(metrics["class_names"])
    truth = predictions["true"].to_numpy()
    votes = {part: names[kept["classes"][soft_vote(kept[part], weights, scales).argmax(1)]]
             for part in ("test", "test_fit_split")}
    if not np.array_equal(votes["test"], predictions["predicted"].to_numpy()):
        raise SystemExit(f"{args.run}: the kept scores do not give the run's predictions")
    shipped, first = votes["test"] == truth, votes["test_fit_split"] == truth
    print(describe("members refitted on fit + validation (shipped)", shipped))
    print(describe("members fitted on the fit split", first))
    print(paired("refitted", "fit split", shipped, first))
    for other in args.against:
        name, _, path = other.partition("=")
        theirs = pd.read_csv(path).set_index("id").reindex(predictions["id"])
        if theirs["predicted"].isna().any():
            raise SystemExit(f"{path}: no prediction for {int(theirs['predicted'].isna().sum())} of the run's images")
        correct = theirs["predicted"].to_numpy() == truth
        print(describe(name, correct))
        print(paired("refitted", name, shipped, correct))
        print(paired("fit split", name, first, correct))
    return 0


if __name__ == "__main__":
    sys.exit(main())
