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

from fer_classic.evaluation.uncertainty import mcnemar, wilson_interval
from fer_classic.models import soft_vote, vote_weights
from fer_classic.store import FeatureDirectory

ms = np.load(sys.argv[1])
feat = FeatureDirectory(sys.argv[2]).load_fused(["hog"])
lab = dict(zip(feat.ids, feat.labels))
classes = ms["classes"]
yv = np.array([lab[i] for i in ms["validation_ids"]])
yt = np.array([lab[i] for i in ms["test_ids"]])
V, T = ms["validation"], ms["test"]
acc = [np.mean(classes[v.argmax(1)] == yv) for v in V]
w = vote_weights(acc, "rank"); scales = [float(np.std(v)) for v in V]
vote_v = soft_vote(list(V), w, scales)
right_vote = classes[vote_v.argmax(1)] == yv
print("rank vote validation", right_vote.mean())

Xv = np.concatenate([v / s for v, s in zip(V, scales)], axis=1)
Xt = np.concatenate([t / s for t, s in zip(T, scales)], axis=1)
folds = StratifiedKFold(10, shuffle=True, random_state=42)


def weights_fit(X, y):
    k = len(V)
    def loss(theta):
        z = sum(theta[i] * X[:, i * 7:(i + 1) * 7] for i in range(k))
        return -log_softmax(z, axis=1)[np.arange(len(y)), y].mean()
    return minimize(loss, np.ones(k), method="L-BFGS-B").x


def oof(make):
    pred = np.empty(len(yv), dtype=int)
    for a, b in folds.split(Xv, yv):
        pred[b] = make(Xv[a], yv[a], Xv[b])
    return pred


for C in (0.01, 0.03, 0.1, 0.3, 1.0):
    p = oof(lambda Xa, ya, Xb: LogisticRegression(C=C, max_iter=2000).fit(Xa, ya).predict(Xb))
    r = classes[p] == yv
    m = mcnemar(r, right_vote)
    print(f"stack LR C={C}: oof {r.mean():.4f} vs vote {right_vote.mean():.4f} "
          f"({m['a_right_b_wrong']} vs {m['a_wrong_b_right']}, p={m['p_value']:.3g})")


def wf(Xa, ya, Xb):
    th = weights_fit(Xa, ya)
    return sum(th[i] * Xb[:, i * 7:(i + 1) * 7] for i in range(len(V))).argmax(1)


r = classes[oof(wf)] == yv
m = mcnemar(r, right_vote)
print(f"log-loss weights: oof {r.mean():.4f} ({m['a_right_b_wrong']} vs {m['a_wrong_b_right']}, p={m['p_value']:.3g})",
      weights_fit(Xv, yv))
