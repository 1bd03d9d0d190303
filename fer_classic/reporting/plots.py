"""PNG figures of a run: confusion matrix, KNN accuracy against k, MLP learning curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..store import atomic_path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(fig)


def plot_confusion_matrix(matrix, labels, path: Path, title: str) -> None:
    """Row-normalised (recall) colours, counts written in the cells; rows are the true class."""
    plt = _pyplot()
    m = np.asarray(matrix, dtype=float)
    norm = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * len(labels), 0.8 + 0.7 * len(labels)))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, int(m[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if norm[i, j] > 0.5 else "black")
    _save(fig, path)


def plot_knn_accuracy(rows: list[dict], path: Path, title: str) -> None:
    """Validation accuracy against k, one line per norm and weighting."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for (p, weights) in sorted({(r["p"], r["weights"]) for r in rows}):
        line = sorted((r["k"], r["validation_accuracy"]) for r in rows if r["p"] == p and r["weights"] == weights)
        ax.plot([k for k, _ in line], [a for _, a in line], marker="o", label=f"L{p}, {weights}")
    ax.set_xlabel("k (neighbours)")
    ax.set_ylabel("validation accuracy")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    _save(fig, path)


def plot_learning_curves(curves: dict, path: Path, title: str) -> None:
    """Train and validation accuracy and loss per epoch."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    epochs = np.arange(1, len(curves["train_accuracy"]) + 1)
    for ax, metric in zip(axes, ("accuracy", "loss")):
        ax.plot(epochs, curves[f"train_{metric}"], marker=".", label="train")
        ax.plot(epochs, curves[f"validation_{metric}"], marker=".", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=9)
    _save(fig, path)
