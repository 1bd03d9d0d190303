"""The metrics reported for a test split: accuracy, balanced accuracy, macro F1, per-class scores, the
confusion matrix; and the MLP's learning-curve rates."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support


def classification_metrics(y_true, y_pred, class_names: tuple[str, ...]) -> dict:
    """Accuracy, balanced accuracy, macro F1, per-class scores and the confusion matrix.

    Labels are indices into ``class_names``; only classes present in ``y_true`` or ``y_pred`` are
    listed. A class the model never predicts still gets its row (recall 0).
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    labels = np.unique(np.concatenate([y_true, y_pred]))
    names = [class_names[i] for i in labels]
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels,
                                                                     zero_division=0)
    present = np.isin(labels, y_true)
    return {
        "n": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        # Mean recall over the classes that occur in the truth (scikit-learn's balanced accuracy).
        "balanced_accuracy": float(recall[present].mean()) if present.any() else 0.0,
        "macro_f1": float(f1_score(y_true, y_pred, labels=labels[present], average="macro", zero_division=0)),
        "per_class": {n: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                      for n, p, r, f, s in zip(names, precision, recall, f1, support)},
        "labels": names,
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def learning_curve_rates(train: list[float], validation: list[float],
                         windows=((1, 5), (6, 10), (11, 15), (16, 20))) -> list[dict]:
    """Mean convergence rate (MCR) and mean overfitting rate (MOFR) over windows of epochs.

    MCR is the mean over the window's epochs i of ``train[i] - train[i-1]``; MOFR the mean of the change
    in ``train - validation``. Epochs are numbered from 1; epoch 1 has no predecessor and is left out.
    Windows beyond the recorded epochs are omitted.
    """
    train, validation = np.asarray(train, float), np.asarray(validation, float)
    gap = train - validation
    out = []
    for first, last in windows:
        epochs = [i for i in range(max(first, 2), last + 1) if i <= len(train)]
        if not epochs:
            continue
        idx = np.array(epochs) - 1  # epoch i lives at index i-1
        out.append({"epochs": f"{first}-{last}", "mcr": float(np.mean(train[idx] - train[idx - 1])),
                    "mofr": float(np.mean(gap[idx] - gap[idx - 1]))})
    return out
