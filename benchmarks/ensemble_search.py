"""Which members make the strongest soft-voting ensemble, chosen on validation only.

Each candidate member (a TrainSpec) is fitted once on the usage protocol's fit split (90% of Training,
seeded) and its class scores on the validation split (the other 10%) and on PublicTest are cached in
--cache. Then members are added greedily, each time the one that most raises the *validation* accuracy
of the rank-weighted soft vote, until none helps (or, with --exhaustive N, every subset of up to N is
scored on validation and the best taken). PublicTest is scored once per listed ensemble and
never used to choose. Prints each candidate and each step with validation and PublicTest accuracy
(n and a 95% Wilson interval), and the exact McNemar test of the chosen ensemble against the one given
by --against (default: the members of the `best` preset before this search).

    python benchmarks/ensemble_search.py out/full/features --cache out/full/member-scores -j 2
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed

from fer_classic.evaluation.uncertainty import accuracy_text, mcnemar, wilson_interval
from fer_classic.models import soft_vote, vote_weights
from fer_classic.store import FeatureDirectory
from fer_classic.training import TrainSpec
from fer_classic.training.ensemble import member_name, member_scores
from fer_classic.training.protocols import make_splits

SVM = {"kernel": "rbf", "C": 10.0}
CANDIDATES = {
    "bovw": TrainSpec(["bovw"], "svm", params=SVM, pca=300, mirror="both", dtype="float32"),
    "hog": TrainSpec(["hog"], "svm", params=SVM, pca=200, mirror="both"),
    "hog-train-mirror": TrainSpec(["hog"], "svm", params=SVM, pca=200, mirror="train"),
    "lbp+landmarks": TrainSpec(["lbp", "landmarks"], "svm", params=SVM, pca=200, mirror="both"),
    "filterbank": TrainSpec(["filterbank"], "svm", params=SVM, pca=300, mirror="both", dtype="float32"),
    # trained on mirror images too, but a face labelled without its mirror image: half the descriptor's cost
    "filterbank-train-mirror": TrainSpec(["filterbank"], "svm", params=SVM, pca=300, mirror="train", dtype="float32"),
    "filterbank-pca600": TrainSpec(["filterbank"], "svm", params=SVM, pca=600, mirror="both", dtype="float32"),
    "filterbank-linear": TrainSpec(["filterbank"], "svm", params={"kernel": "linear", "C": 0.01}, mirror="both",
                                   dtype="float32"),
    "bovw-local": TrainSpec(["bovw"], "local", params={"k": 200, "kernel": "rbf", "C": 10.0}, pca=300,
                            mirror="both", dtype="float32"),
    "hog-local": TrainSpec(["hog"], "local", params={"k": 200, "kernel": "rbf", "C": 10.0}, pca=200, mirror="both"),
    # presence-vector bags (Ionescu et al.'s recipe; reports/best-pipeline.md): C chosen by each one's grid
    # on validation, for DAISY, VLFeat-style dense SIFT (phow) and the PQ encoding alike
    "bovw-linear": TrainSpec(["bovw"], "svm", params={"kernel": "linear", "C": 0.3}, scale=False, dtype="float32"),
    "bovw-local-linear": TrainSpec(["bovw"], "local", params={"k": 200, "metric": "cosine", "kernel": "linear",
                                                              "C": 1.0}, pca=500, scale=False, dtype="float32"),
    "fused": TrainSpec(["bovw", "hog", "lbp", "landmarks"], "svm", params=SVM, pca=400, mirror="both",
                       dtype="float32"),
    # `live`'s pipeline (the filter bank and HOG in one SVM, PCA 400) as a member: averaged over mirror
    # images and stored as `best`'s members are (int8 rows, float16 basis)
    "filterbank+hog": TrainSpec(["filterbank", "hog"], "svm", params=SVM, pca=400, mirror="both", dtype="float32",
                                int8_rows=True, pca_precision="float16"),
    # local learning on the filter bank (the strongest descriptor), stored as `best`'s members are, with the
    # other local members' k = 200 and with 400 (reports/best-pipeline.md: no gain)
    "filterbank-local": TrainSpec(["filterbank"], "local", params={"k": 200, "kernel": "rbf", "C": 10.0}, pca=300,
                                  mirror="both", dtype="float32", int8_rows=True, pca_precision="float16"),
    "filterbank-local-k400": TrainSpec(["filterbank"], "local", params={"k": 400, "kernel": "rbf", "C": 10.0},
                                       pca=300, mirror="both", dtype="float32", int8_rows=True,
                                       pca_precision="float16"),
    # `best`'s local members with twice the neighbours, stored as `best`'s are
    "hog-local-k400": TrainSpec(["hog"], "local", params={"k": 400, "kernel": "rbf", "C": 10.0}, pca=200,
                                mirror="both", int8_rows=True, pca_precision="float16"),
    "bovw-local-k400": TrainSpec(["bovw"], "local", params={"k": 400, "kernel": "rbf", "C": 10.0}, pca=300,
                                 mirror="both", dtype="float32", int8_rows=True, pca_precision="float16"),
    # `best`'s filter-bank member as it is stored: for filter banks extracted otherwise (finer pooling)
    "filterbank-int8": TrainSpec(["filterbank"], "svm", params=SVM, pca=300, mirror="both", dtype="float32",
                                 int8_rows=True, pca_precision="float16"),
    # the same with more of the filter bank's principal components: with a kernel matrix per class pair
    # (GramRBFSVC) the columns cost BLAS time only, not libsvm's
    "filterbank-int8-pca600": TrainSpec(["filterbank"], "svm", params=SVM, pca=600, mirror="both", dtype="float32",
                                        int8_rows=True, pca_precision="float16"),
    # and the most of them that keeps `best` within its 100 MB model budget with 8×8 patches
    "filterbank-int8-pca450": TrainSpec(["filterbank"], "svm", params=SVM, pca=450, mirror="both", dtype="float32",
                                        int8_rows=True, pca_precision="float16"),
    # `best`'s HOG and bag-of-words members as they are stored (int8 rows, float16 basis): from an aligned
    # features folder, those of aligned faces
    "hog-local-int8": TrainSpec(["hog"], "local", params={"k": 200, "kernel": "rbf", "C": 10.0}, pca=200,
                                mirror="both", int8_rows=True, pca_precision="float16"),
    "bovw-local-int8": TrainSpec(["bovw"], "local", params={"k": 200, "kernel": "rbf", "C": 10.0}, pca=300,
                                 mirror="both", dtype="float32", int8_rows=True, pca_precision="float16"),
    "filterbank+hog-local": TrainSpec(["filterbank", "hog"], "local", params={"k": 200, "kernel": "rbf", "C": 10.0},
                                      pca=400, mirror="both", dtype="float32", int8_rows=True,
                                      pca_precision="float16"),
    "filterbank+hog-local-k400": TrainSpec(["filterbank", "hog"], "local",
                                           params={"k": 400, "kernel": "rbf", "C": 10.0}, pca=400, mirror="both",
                                           dtype="float32", int8_rows=True, pca_precision="float16"),
}
PREVIOUS_BEST = ["bovw", "hog", "lbp+landmarks"]


def key(spec: TrainSpec) -> str:
    # members are never calibrated; the folder, not the spec, says whether faces are aligned here (and a
    # field added at its default leaves the keys of cached scores as they were)
    fields = {k: v for k, v in asdict(spec).items()
              if k not in ("calibrate", "aligned") and not (k in ("float16_rows", "pca_precision") and not v)}
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:16]


def compute(name, spec, features_dir, split, cache: Path):
    path = cache / f"{name}-{key(spec)}.npz"
    if not path.exists():
        start = time.perf_counter()
        result = member_scores(spec, features_dir, split, 1)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, validation=result["scores"]["validation"], test=result["scores"]["test"],
                 classes=result["classifier"].classes_, seconds=time.perf_counter() - start)
        tmp.rename(path)
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def describe(name, correct) -> str:
    return f"{name} {accuracy_text(correct)}"


def members_of(expression: str, known) -> list[str]:
    """The candidates of ``A+B+...``; a candidate's own name may hold a + (``filterbank+hog``), and the
    longest name in ``known`` that matches from the left is taken."""
    tokens, members, i = expression.split("+"), [], 0
    while i < len(tokens):
        j = next((j for j in range(len(tokens), i, -1) if "+".join(tokens[i:j]) in known), None)
        if j is None:
            raise SystemExit(f"--pair {expression}: no candidate starts at {'+'.join(tokens[i:])!r} "
                             f"(have: {', '.join(known)})")
        members.append("+".join(tokens[i:j]))
        i = j
    return members


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("features_dir")
    ap.add_argument("--cache", required=True)
    ap.add_argument("--only", default=",".join(CANDIDATES), help="candidates to consider, comma-separated")
    ap.add_argument("--against", default=",".join(PREVIOUS_BEST))
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--cnn", help="predictions of a CNN on PublicTest (benchmarks/reference_cnn.py) to test against")
    ap.add_argument("--markdown", help="also write the tables as Markdown here")
    ap.add_argument("--exhaustive", type=int, metavar="N",
                    help="choose the subset of at most N candidates with the best validation accuracy instead")
    ap.add_argument("--also", action="append", default=[], metavar="LABEL=CACHE",
                    help="also every member cached in CACHE by a search on another features folder of the same "
                         "images and seed (e.g. aligned=out/full/member-scores), as candidates LABEL/NAME")
    ap.add_argument("--pair", action="append", default=[], metavar="A:B",
                    help="compare two candidates (or ensembles, members joined by +; where names hold a + themselves, "
                         "the longest candidate name is read first) on the same images: exact McNemar on "
                         "validation and on PublicTest")
    ap.add_argument("--also-run", action="append", default=[], metavar="LABEL=RUN",
                    help="also the members of a trained ensemble (its member_scores.npz; the same images and seed), "
                         "as candidates LABEL/1, LABEL/2, ... (fitted on the fit split: a refitted ensemble's "
                         "first fits)")
    args = ap.parse_args()
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    base = FeatureDirectory(args.features_dir).load(CANDIDATES[names[0]].features[0], verify=False)  # labels only
    split = make_splits(base.labels, base.usage, "usage", seed=args.seed)[0]
    y_val, y_test = base.labels[split.validation], base.labels[split.test]
    specs = {n: CANDIDATES[n].with_seed(args.seed) for n in names}
    done = Parallel(n_jobs=args.jobs)(delayed(compute)(n, s, args.features_dir, split, cache) for n, s in specs.items())
    scores = dict(zip(names, done))
    classes = scores[names[0]]["classes"]
    labels = {n: member_name(specs[n]) for n in names}
    for also in args.also:
        label, _, other = also.partition("=")
        for path in sorted(Path(other).glob("*.npz")):
            name = f"{label}/{path.stem.rsplit('-', 1)[0]}"
            with np.load(path) as z:
                scores[name] = {k: z[k] for k in z.files}
            if scores[name]["validation"].shape != scores[names[0]]["validation"].shape:
                raise SystemExit(f"{path}: scores for another split; --also needs the same images and seed")
            names.append(name)
            labels[name] = f"{label}: {path.stem.rsplit('-', 1)[0]}"

    for also in args.also_run:
        label, _, run = also.partition("=")
        with np.load(Path(run) / "member_scores.npz") as z:
            kept = {k: z[k] for k in z.files}
        if not (np.array_equal(kept["validation_ids"], np.asarray(base.ids[split.validation], dtype=str))
                and np.array_equal(kept["test_ids"], np.asarray(base.ids[split.test], dtype=str))):
            raise SystemExit(f"{run}: scores for other images; --also-run needs the same images and seed")
        for i, member in enumerate(kept["members"], start=1):
            name = f"{label}/{i}"
            # a refitted ensemble's members as fitted on the fit split, like every other candidate here
            test = kept["test_fit_split"] if "test_fit_split" in kept else kept["test"]
            scores[name] = {"validation": kept["validation"][i - 1], "test": test[i - 1],
                            "classes": kept["classes"], "seconds": 0.0}
            names.append(name)
            labels[name] = f"{label}: {member}"

    def correct(members, part):
        vals = [scores[m]["validation"] for m in members]
        accs = [np.mean(classes[v.argmax(1)] == y_val) for v in vals]
        weights = vote_weights(accs, "rank")
        scales = [float(np.std(v)) or 1.0 for v in vals]
        combined = soft_vote([scores[m][part] for m in members], weights, scales)
        return classes[combined.argmax(1)] == (y_val if part == "validation" else y_test)

    against = [n.strip() for n in args.against.split(",") if n.strip() in scores]
    previous = correct(against, "test") if against else None
    cnn = None
    if args.cnn:
        import pandas as pd

        table = pd.read_csv(args.cnn).set_index("id")
        cnn = (table.loc[base.ids[split.test], "predicted"] == table.loc[base.ids[split.test], "true"]).to_numpy()
    md = ["| | validation accuracy [95% CI] | PublicTest accuracy [95% CI] | vs previous best on PublicTest "
          "(exact McNemar) |", "|---|---|---|---|"]

    def versus(c):
        if previous is None:
            return "–"
        t = mcnemar(c, previous)
        return f"{100 * t['difference']:+.2f} points, p = {t['p_value']:.2g}"

    def md_row(label, members):
        v, t = correct(members, "validation"), correct(members, "test")
        lv, hv = wilson_interval(int(v.sum()), len(v))
        lt, ht = wilson_interval(int(t.sum()), len(t))
        md.append(f"| {label} | {v.mean():.2%} [{lv:.1%}, {hv:.1%}] (n={len(v)}) | {t.mean():.2%} [{lt:.1%}, {ht:.1%}] "
                  f"(n={len(t)}) | {versus(t)} |")

    for n in names:
        print(f"{n:18s} {labels[n]}: fit {float(scores[n]['seconds']):.0f} s; "
              f"{describe('validation', correct([n], 'validation'))}; {describe('PublicTest', correct([n], 'test'))}")
        md_row(f"member `{n}`: {labels[n]}", [n])
    if against:
        md_row(f"previous best: {' + '.join(against)} (rank-weighted soft vote)", against)
    chosen, best_val = [], 0.0
    while True:
        options = [(correct(chosen + [n], "validation").mean(), n) for n in names if n not in chosen]
        if not options:
            break
        val, n = max(options)
        if val <= best_val:
            break
        chosen.append(n)
        best_val = val
        print(f"+ {n:16s} -> {describe('validation', correct(chosen, 'validation'))}; "
              f"{describe('PublicTest', correct(chosen, 'test'))}")
        md_row(f"greedy step {len(chosen)}: {' + '.join(chosen)}", list(chosen))
    if args.exhaustive:
        # Every subset of up to N candidates, ranked by validation accuracy alone (ties: fewer members, then
        # the earlier listed); greedy addition can stop at a local optimum that a swap would leave.
        ranked = sorted(((correct(list(c), "validation").mean(), -len(c), i, c) for i, c in enumerate(
            itertools.chain.from_iterable(itertools.combinations(names, r) for r in range(1, args.exhaustive + 1)))),
            key=lambda t: (-t[0], -t[1], t[2]))
        print(f"exhaustive search over subsets of up to {args.exhaustive} members; the best five on validation:")
        for val, _, _, c in ranked[:5]:
            print(f"  {describe('validation', correct(list(c), 'validation'))}; "
                  f"{describe('PublicTest', correct(list(c), 'test'))}: {' + '.join(c)}")
        chosen = list(ranked[0][3])
        md_row(f"best subset of up to {args.exhaustive} on validation: {' + '.join(chosen)}", chosen)
    if against:
        test = mcnemar(correct(chosen, "test"), previous)
        print(f"chosen {'+'.join(chosen)} vs {'+'.join(against)} on PublicTest: {test['difference']:+.2%} "
              f"({test['a_right_b_wrong']} vs {test['a_wrong_b_right']} discordant), exact McNemar p = {test['p_value']:.3g}")
    if cnn is not None:
        test = mcnemar(correct(chosen, "test"), cnn)
        line = (f"chosen {'+'.join(chosen)} vs the CNN ({args.cnn}) on PublicTest: {test['difference']:+.2%} "
                f"({test['a_right_b_wrong']} vs {test['a_wrong_b_right']} discordant), exact McNemar p = {test['p_value']:.3g}")
        print(line)
        md += ["", line]
    if len(chosen) > 1:
        # What each ingredient adds: the chosen ensemble without it, paired against the chosen one.
        full = {part: correct(chosen, part) for part in ("validation", "test")}
        md += ["", "Each member's contribution: the chosen ensemble without it (exact McNemar against the chosen "
               "ensemble on the same images; negative: the member helps).", "",
               "| without | validation [95% CI] | PublicTest [95% CI] | change on validation | change on PublicTest |",
               "|---|---|---|---|---|"]
        for n in chosen:
            rest = [m for m in chosen if m != n]
            cells = []
            for part in ("validation", "test"):
                c = correct(rest, part)
                lo, hi = wilson_interval(int(c.sum()), len(c))
                cells.append(f"{c.mean():.2%} [{lo:.1%}, {hi:.1%}]")
            changes = []
            for part in ("validation", "test"):
                t = mcnemar(correct(rest, part), full[part])
                changes.append(f"{100 * t['difference']:+.2f} ({t['a_right_b_wrong']} vs {t['a_wrong_b_right']}, "
                               f"p = {t['p_value']:.2g})")
            md.append(f"| `{n}` ({labels[n]}) | {cells[0]} | {cells[1]} | {changes[0]} | {changes[1]} |")
            print(f"without {n}: {md[-1]}")
    if args.pair:
        md += ["", "Paired comparisons (exact McNemar on the same images; A minus B):", "",
               "| A | B | validation: A, B, difference (p) | PublicTest: A, B, difference (p) |", "|---|---|---|---|"]
    for pair in args.pair:
        a, _, b = pair.partition(":")
        cells = []
        for part in ("validation", "test"):
            ca, cb = correct(members_of(a, names), part), correct(members_of(b, names), part)
            t = mcnemar(ca, cb)
            cells.append(f"{ca.mean():.2%}, {cb.mean():.2%}, {100 * t['difference']:+.2f} points "
                         f"({t['a_right_b_wrong']} vs {t['a_wrong_b_right']}, p = {t['p_value']:.2g})")
        md.append(f"| `{a}` | `{b}` | {cells[0]} | {cells[1]} |")
        print(f"{a} vs {b}: validation {cells[0]}; PublicTest {cells[1]}")
    if args.markdown:
        Path(args.markdown).write_text("\n".join(md) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
