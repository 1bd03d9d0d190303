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


def _legend_beside(ax, fontsize: int) -> None:
    """The legend to the right of the plot, where it covers no data."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=fontsize)


def plot_confusion_matrix(matrix, labels, path: Path, title: str) -> None:
    """The confusion matrix normalised per true class (each row: where that class's images went, in %),
    with the image counts in the cells and a colour bar; rows are the true class. Drawn at the size it
    is printed (about 5 by 4.3 inches, cell text 8 pt), which reports show two to a row."""
    from sklearn.metrics import ConfusionMatrixDisplay

    plt = _pyplot()
    m = np.asarray(matrix, dtype=float)
    norm = 100 * m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(5.2, 4.3))
    display = ConfusionMatrixDisplay(norm, display_labels=labels)
    display.plot(ax=ax, cmap="Blues", colorbar=True, include_values=False, im_kw={"vmin": 0, "vmax": 100},
                 xticks_rotation=45)
    display.im_.colorbar.set_label("% of the true class")
    font = 8
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, f"{norm[i, j]:.0f}%\n{int(m[i, j])}", ha="center", va="center", fontsize=font,
                    color="white" if norm[i, j] > 50 else "black")
    ax.tick_params(labelsize=font)
    ax.set_xlabel("predicted", fontsize=font + 1)
    ax.set_ylabel("true", fontsize=font + 1)
    ax.set_title(title, fontsize=font + 1)
    _save(fig, path)


def plot_knn_accuracy(rows: list[dict], path: Path, title: str) -> None:
    """Validation accuracy (%) against k, one line per norm and weighting."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for (p, weights) in sorted({(r["p"], r["weights"]) for r in rows}):
        line = sorted((r["k"], r["validation_accuracy"]) for r in rows if r["p"] == p and r["weights"] == weights)
        ax.plot([k for k, _ in line], [100 * a for _, a in line], marker="o", label=f"L{p}, {weights}")
    ax.set_xlabel("k (neighbours)")
    ax.set_ylabel("validation accuracy (%)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    _legend_beside(ax, fontsize=9)
    _save(fig, path)


def plot_learning_curves(curves: dict, path: Path, title: str) -> None:
    """Train and validation accuracy (%) and loss per epoch, side by side."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
    epochs = np.arange(1, len(curves["train_accuracy"]) + 1)
    for ax, metric, scale, unit in zip(axes, ("accuracy", "loss"), (100, 1), (" (%)", "")):
        ax.plot(epochs, scale * np.asarray(curves[f"train_{metric}"]), marker=".", label="train")
        ax.plot(epochs, scale * np.asarray(curves[f"validation_{metric}"]), marker=".", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric + unit)
        ax.grid(alpha=0.3)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="upper center", ncol=2, fontsize=9,
               bbox_to_anchor=(0.5, 0.0))  # below both plots and their labels, over neither
    fig.suptitle(title, fontsize=10)
    _save(fig, path)


def plot_robustness(clean: float, rows: list[dict], path: Path, title: str) -> None:
    """Accuracy (%) against severity (0 = clean), one line per condition."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for name in dict.fromkeys(r["condition"] for r in rows):
        mine = sorted((r["level"], r["accuracy"]) for r in rows if r["condition"] == name)
        ax.plot([0] + [lv for lv, _ in mine], [100 * clean] + [100 * a for _, a in mine], marker="o", label=name)
    ax.set_xticks([0, 1, 2, 3], ["clean", "1", "2", "3"])
    ax.set_xlabel("severity")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    _legend_beside(ax, fontsize=8)
    _save(fig, path)


def plot_timelines(rows, folder: Path) -> list[Path]:
    """One figure per face track of a video: its class scores over time (``predict`` rows)."""
    plt = _pyplot()
    score_cols = [c for c in rows.columns if c.startswith(("probability_", "decision_"))]
    out = []
    for (file, face), track in rows.groupby(["file", "face_id"], sort=False):
        fig, ax = plt.subplots(figsize=(8, 3.2))
        for c in score_cols:
            ax.plot(track["time"], track[c], label=c.split("_", 1)[1])
        ax.set_xlabel("time (s)")
        ax.set_ylabel("probability" if score_cols[0].startswith("probability") else "decision score")
        ax.set_title(f"{Path(str(file)).name}: face {face}", fontsize=10)
        ax.grid(alpha=0.3)
        _legend_beside(ax, fontsize=8)
        path = folder / f"{Path(str(file)).stem.replace(':', '')}-face{face}.png"
        folder.mkdir(parents=True, exist_ok=True)
        _save(fig, path)
        out.append(path)
    return out
