"""Evaluation protocols: which images fit the model, which select it, which test it.

Model selection only ever sees the ``fit`` and ``validation`` parts of a :class:`Split`; the ``test``
part is scored once, by the selected model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedKFold, train_test_split

from ..errors import ProtocolError

PROTOCOLS = ("usage", "stratified", "kfold")



@dataclass
class Split:
    """Row indices of one evaluation: fit the model on ``fit``, select on ``validation``, report on
    ``test``; after selection the chosen configuration is refitted on ``refit``."""

    fit: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    refit: np.ndarray
    validation_name: str
    test_name: str
    name: str = ""

    def sizes(self) -> dict[str, int]:
        return {"fit": len(self.fit), "validation": len(self.validation), "refit": len(self.refit),
                "test": len(self.test)}


def _stratified_holdout(index: np.ndarray, labels: np.ndarray, fraction: float, seed: int):
    """(rest, held out): a seeded stratified ``fraction`` of ``index``, or a plain seeded random one
    where some class is too small to stratify."""
    try:
        rest, held = train_test_split(index, test_size=fraction, random_state=seed, stratify=labels[index])
    except ValueError:
        try:
            rest, held = train_test_split(index, test_size=fraction, random_state=seed)
        except ValueError as exc:
            raise ProtocolError(f"cannot hold out {fraction:.0%} of {len(index)} images: {exc}") from None
    return np.sort(rest), np.sort(held)


def make_splits(labels: np.ndarray, usage: np.ndarray, protocol: str, *, seed: int = 42,
                folds: int = 10) -> list[Split]:
    """The splits of ``protocol``: one for ``usage`` and ``stratified``, ``folds`` for ``kfold``.

    usage
        fit on Training. With PrivateTest present: select on PublicTest, test on PrivateTest
        (the challenge protocol). Otherwise select on a seeded stratified 10% of Training, refit on all
        of Training, and test on PublicTest.
    stratified
        a seeded stratified 70/10/20 train/validation/test split of all images; refit on 80%.
    kfold
        stratified folds; in each, select on a stratified 10% of the training folds, refit on all of
        them, test on the held-out fold.
    """
    labels = np.asarray(labels)
    usage = np.asarray(usage).astype(str)
    everything = np.arange(len(labels))
    if protocol == "usage":
        train = np.flatnonzero(usage == "Training")
        public = np.flatnonzero(usage == "PublicTest")
        private = np.flatnonzero(usage == "PrivateTest")
        if not len(train) or not (len(public) or len(private)):
            raise ProtocolError("the usage protocol needs FER2013 usage (Training and PublicTest images); "
                                f"this data has {dict(zip(*np.unique(usage, return_counts=True)))}; "
                                "use --protocol stratified or kfold")
        if len(private):
            if not len(public):
                raise ProtocolError("PrivateTest images but no PublicTest images to select on")
            return [Split(train, public, private, train, "PublicTest", "PrivateTest", "usage")]
        fit, val = _stratified_holdout(train, labels, 0.10, seed)
        return [Split(fit, val, public, train, "10% of Training (stratified, seeded)", "PublicTest", "usage")]
    if protocol == "stratified":
        rest, test = _stratified_holdout(everything, labels, 0.20, seed)
        fit, val = _stratified_holdout(rest, labels, 0.125, seed)  # 10% of all images
        return [Split(fit, val, test, rest, "10% of all images (stratified, seeded)",
                      "20% of all images (stratified, seeded)", "stratified")]
    if protocol == "kfold":
        smallest = np.bincount(labels)[np.bincount(labels) > 0].min()
        if smallest < folds:
            raise ProtocolError(f"{folds} folds need at least {folds} images of every class; the smallest "
                                f"class has {smallest} (use --folds {max(2, smallest)})")
        out = []
        kfold = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        for i, (train, test) in enumerate(kfold.split(everything, labels)):
            fit, val = _stratified_holdout(train, labels, 0.10, seed + i)
            out.append(Split(fit, val, test, train, "10% of the training folds", f"fold {i + 1} of {folds}",
                             f"fold{i + 1}"))
        return out
    raise ProtocolError(f"unknown protocol {protocol!r}; choose from {', '.join(PROTOCOLS)}")


def check_trainable(labels: np.ndarray, splits: list[Split], class_names, where) -> None:
    """Every split must fit on at least two classes: a classifier of one class has nothing to learn
    (and scikit-learn's would fail, or score a meaningless 100%)."""
    for split in splits:
        present = np.unique(labels[split.fit])
        if len(present) < 2:
            only = ", ".join(f"{class_names[c]!r}" for c in present) or "none"
            raise ProtocolError(f"{where}: training needs images of at least two classes; the images to fit "
                                f"on{' in ' + split.name if split.name and split.name != 'usage' else ''} have only "
                                f"{only} ({len(split.fit)} images)")


def default_protocol(usage: np.ndarray) -> str:
    """``usage`` when the data has FER2013 usage (Training and a test split), else ``stratified``."""
    usage = np.asarray(usage).astype(str)
    return "usage" if np.isin(usage, ["Training"]).any() and np.isin(usage, ["PublicTest", "PrivateTest"]).any() \
        else "stratified"
