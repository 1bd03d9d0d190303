"""Members compared on every Training face: out-of-fold scores, each face scored by a member fitted
without it.

    python benchmarks/out_of_fold.py LABEL=CANDIDATE@FEATURES_DIR ... --cache DIR [--folds 5] [-j 2]
        [--vote NAME=LABEL+LABEL+... ...]

The validation split (10% of Training, 2,871 FER2013 faces) cannot tell members apart that differ by
half a point; here each candidate (one of ensemble_search.py's, on the features folder given) is fitted
``--folds`` times, on all of Training but one seeded stratified fold, and scores that fold, so every one
of Training's faces gets a score from a model that never saw it (the same folds for every candidate).
PublicTest is not touched. Prints each candidate's out-of-fold accuracy (n and a 95% Wilson interval)
and the exact McNemar test of every pair on the same faces. Each fold's scores are cached in --cache
under the label and the candidate's settings: a label stands for one features folder.

``--vote`` adds the rank-weighted soft vote of the labelled members as ``best`` votes: weights from the
ranks of the members' out-of-fold accuracies, each member's scores divided by their spread on the fold
(a fold's held faces play the validation split's part), and the votes' pairwise McNemar tests too.
``--learned-vote C`` sets each vote beside a learned one: a multinomial logistic regression (inverse
regularisation C) on the members' scaled scores, fitted on one fold's faces, as a vote would be on the
validation split, and tested against the rank-weighted vote on the other folds' faces, for every fold.
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from ensemble_search import CANDIDATES, key  # this folder's
from joblib import Parallel, delayed
from sklearn.model_selection import StratifiedKFold

from fer_classic.evaluation.uncertainty import accuracy_text, mcnemar
from fer_classic.models import soft_vote, vote_weights
from fer_classic.store import FeatureDirectory
from fer_classic.training.ensemble import member_name, member_scores


def fold_scores(label, spec, features_dir, fit, held, fold, cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """The candidate's class scores of the ``held`` faces, fitted on ``fit``, and its classes (cached)."""
    path = cache / f"{label}-{key(spec)}-fold{fold}.npz"
    if not path.exists():
        start = time.perf_counter()
        result = member_scores(spec, features_dir, SimpleNamespace(fit=fit, validation=held), 1, "fit",
                               ("validation",))
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, scores=result["scores"]["validation"], classes=result["classifier"].classes_, held=held,
                 seconds=time.perf_counter() - start)
        tmp.rename(path)
        print(f"  {label} fold {fold}: {time.perf_counter() - start:.0f} s", flush=True)
    with np.load(path) as z:
        if not np.array_equal(z["held"], held):
            raise SystemExit(f"{path}: cached for other folds (another seed or fold count)")
        return z["scores"], z["classes"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("candidates", nargs="+", metavar="LABEL=CANDIDATE@FEATURES_DIR")
    ap.add_argument("--cache", required=True, type=Path)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--vote", action="append", default=[], metavar="NAME=LABEL+LABEL+...",
                    help="the rank-weighted soft vote of these candidates (repeatable)")
    ap.add_argument("--learned-vote", type=float, metavar="C",
                    help="each vote against a logistic regression on its members' scores, fitted on one fold")
    args = ap.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    candidates = {}
    for text in args.candidates:
        label, _, rest = text.partition("=")
        name, _, folder = rest.partition("@")
        if name not in CANDIDATES or not folder:
            raise SystemExit(f"{text}: expected LABEL=CANDIDATE@FEATURES_DIR with a candidate of ensemble_search.py")
        candidates[label] = (CANDIDATES[name].with_seed(args.seed), folder)
    votes = {}
    for text in args.vote:
        name, _, members = text.partition("=")
        votes[name] = members.split("+")
        if not name or name in candidates or len(votes[name]) < 2 or not set(votes[name]) <= set(candidates):
            raise SystemExit(f"--vote {text}: expected NAME=LABEL+LABEL+... with a new name and two or more of the "
                             "candidates' labels")
    spec, folder = next(iter(candidates.values()))
    fingerprint = FeatureDirectory(folder).manifest().get("fingerprint")
    for _, other in candidates.values():
        if FeatureDirectory(other).manifest().get("fingerprint") != fingerprint:
            raise SystemExit(f"{other}: features of other images than {folder}'s (their fingerprints differ)")
    base = FeatureDirectory(folder).load(spec.features[0], verify=False)  # labels and usage only
    training = np.flatnonzero(np.asarray(base.usage).astype(str) == "Training")
    if not len(training):
        raise SystemExit(f"{folder}: no Training images (FER2013 usage) to fold")
    folds = list(StratifiedKFold(args.folds, shuffle=True, random_state=args.seed)
                 .split(training, base.labels[training]))
    print(f"{len(training)} Training faces, {args.folds} stratified folds (seed {args.seed})")
    jobs = [(label, fold) for label in candidates for fold in range(args.folds)]
    scored = dict(zip(jobs, Parallel(n_jobs=args.jobs)(
        delayed(fold_scores)(label, candidates[label][0], candidates[label][1], training[folds[f][0]],
                             training[folds[f][1]], f, args.cache) for label, f in jobs)))
    classes = next(iter(scored.values()))[1]
    if any(not np.array_equal(c, classes) for _, c in scored.values()):
        raise SystemExit("the candidates' scores are for different classes")
    correct = {label: np.zeros(len(base.labels), dtype=bool) for label in candidates}
    for (label, f), (scores, _) in scored.items():
        held = training[folds[f][1]]
        correct[label][held] = classes[scores.argmax(1)] == base.labels[held]
    for label, (spec, folder) in candidates.items():
        print(f"{label}: {member_name(spec)} on {folder}: out of fold {accuracy_text(correct[label][training])}")
    compare(candidates, correct, training)
    for name, members in votes.items():
        weights = vote_weights([correct[m][training].mean() for m in members], "rank")
        # each fold's member scores divided by their spread on it, as best scales them on validation
        by_fold = [[scored[m, f][0] / (float(np.std(scored[m, f][0])) or 1.0) for m in members]
                   for f in range(args.folds)]
        correct[name] = np.zeros(len(base.labels), dtype=bool)
        for f, scores in enumerate(by_fold):
            held = training[folds[f][1]]
            combined = soft_vote(scores, weights, [1.0] * len(members))
            correct[name][held] = classes[combined.argmax(1)] == base.labels[held]
        shares = ", ".join(f"{m} {w:.3f}" for m, w in zip(members, weights))
        print(f"{name}: rank-weighted vote of {shares}: out of fold {accuracy_text(correct[name][training])}")
        if args.learned_vote is not None:
            learned_vote(name, [np.hstack(scores) for scores in by_fold], folds, training, base.labels,
                         correct[name], args.learned_vote)
    compare(votes, correct, training)
    return 0


def learned_vote(name, inputs, folds, training, labels, vote_correct, C) -> None:
    """Print, for every fold, a logistic regression on ``inputs[fold]`` (the members' scaled scores of
    that fold's faces, side by side) against the rank-weighted vote on the other folds' faces (exact
    McNemar)."""
    from sklearn.linear_model import LogisticRegression

    for f in range(len(folds)):
        combiner = LogisticRegression(C=C, max_iter=2000).fit(inputs[f], labels[training[folds[f][1]]])
        others = [g for g in range(len(folds)) if g != f]
        faces = np.concatenate([training[folds[g][1]] for g in others])
        predicted = np.concatenate([combiner.predict(inputs[g]) for g in others])
        right = predicted == labels[faces]
        t = mcnemar(right, vote_correct[faces])
        print(f"  {name}, logistic regression (C = {C}) fitted on fold {f}: {accuracy_text(right)} against the "
              f"vote's {vote_correct[faces].mean():.2%}: {t['difference'] * 100:+.2f} points "
              f"({t['a_right_b_wrong']} vs {t['a_wrong_b_right']}, exact McNemar p = {t['p_value']:.2g})")


def compare(labels, correct, faces) -> None:
    """Print the exact McNemar test of every pair of ``labels`` on ``faces``."""
    for a, b in itertools.combinations(labels, 2):
        t = mcnemar(correct[a][faces], correct[b][faces])
        print(f"{a} - {b}: {t['difference'] * 100:+.2f} points ({t['a_right_b_wrong']} vs {t['a_wrong_b_right']}, "
              f"exact McNemar p = {t['p_value']:.2g})")


if __name__ == "__main__":
    raise SystemExit(main())
