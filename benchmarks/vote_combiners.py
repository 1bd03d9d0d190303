"""Combine best's members' validation scores by a learned combiner instead of the rank-weighted
vote; compare out-of-fold on validation (10 folds, paired).
Usage: python benchmarks/vote_combiners.py RUN/member_scores.npz FEATURES.
"""
import sys
import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from fer_classic.evaluation.uncertainty import accuracy_text, mcnemar
from fer_classic.models import soft_vote, vote_weights
from fer_classic.store import FeatureDirectory

ms = np.load(sys.argv[1])
feat = FeatureDirectory(sys.argv[2]).load_fused(["hog"])
lab = dict(zip(feat.ids, feat.labels))
classes = ms["classes"]
yv = np.array([lab[i] for i in ms["validation_ids"]])
V = ms["validation"]
acc = [np.mean(classes[v.argmax(1)] == yv) for v in V]
w = vote_weights(acc, "rank"); scales = [float(np.std(v)) for v in V]
vote_v = soft_vote(list(V), w, scales)
right_vote = classes[vote_v.argmax(1)] == yv


print("rank-weighted vote, validation:", accuracy_text(right_vote))

Xv = np.concatenate([v / s for v, s in zip(V, scales)], axis=1)
folds = StratifiedKFold(10, shuffle=True, random_state=42)


def weighted(theta, X):
    """The vote with one weight per member, on rows of the members' scaled scores side by side."""
    return soft_vote(np.split(X, len(V), axis=1), theta, np.ones(len(V)))


def weights_fit(X, y):
    def loss(theta):
        return -log_softmax(weighted(theta, X), axis=1)[np.arange(len(y)), y].mean()
    return minimize(loss, np.ones(len(V)), method="L-BFGS-B").x


def oof(make):
    pred = np.empty(len(yv), dtype=int)
    for a, b in folds.split(Xv, yv):
        pred[b] = make(Xv[a], yv[a], Xv[b])
    return pred


for C in (0.01, 0.03, 0.1, 0.3, 1.0):
    p = oof(lambda Xa, ya, Xb: LogisticRegression(C=C, max_iter=2000).fit(Xa, ya).predict(Xb))
    r = classes[p] == yv
    m = mcnemar(r, right_vote)
    print(f"logistic regression C={C}, out-of-fold: {accuracy_text(r)}; against the vote "
          f"{m['a_right_b_wrong']} vs {m['a_wrong_b_right']}, p={m['p_value']:.3g}")


r = classes[oof(lambda Xa, ya, Xb: weighted(weights_fit(Xa, ya), Xb).argmax(1))] == yv
m = mcnemar(r, right_vote)
print(f"one log-loss weight per member, out-of-fold: {accuracy_text(r)}; against the vote "
      f"{m['a_right_b_wrong']} vs {m['a_wrong_b_right']}, p={m['p_value']:.3g}; weights on all of validation:",
      weights_fit(Xv, yv))
