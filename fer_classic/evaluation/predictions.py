"""Another model's predictions (a user's CNN, a reference CNN) on the same images as a run: read from a
CSV with an image ``id`` (or ``file``) column and a ``predicted`` column of class names, matched to the
images one by one, every problem named with its line."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import DatasetError


def _some(items, line_of=None) -> str:
    shown = [f"{i} (line {line_of[i]})" if line_of else str(i) for i in list(items)[:5]]
    return ", ".join(shown) + (f" and {len(items) - 5} more" if len(items) > 5 else "")


def read_predictions_csv(path, ids, class_names, images: str = "the images") -> np.ndarray:
    """The predicted class names of ``path`` for each of ``ids`` (image ids, in that order).

    Every image must be in the file once and no other (``images`` names them in the messages); ids given
    as files with a folder are matched on their tail; labels must be among ``class_names``. Raises
    DatasetError listing what is wrong, with line numbers."""
    import pandas as pd

    path = Path(path)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: not a readable CSV ({exc})") from None
    key = "id" if "id" in table else "file" if "file" in table else None
    if key is None or "predicted" not in table:
        raise DatasetError(f"{path}: line 1: expected an id (or file) column and a predicted column, found "
                           f"{', '.join(table.columns) or 'nothing'}")
    given = table[key].map(lambda v: Path(v).as_posix())
    wanted = [Path(str(i)).as_posix() for i in ids]
    wanted_set = set(wanted)
    if not given.isin(wanted_set).all() and key == "file":  # files given with a folder: match on the tail
        given = given.map(lambda v: next((w for w in wanted if v.endswith(w) or w.endswith(os.path.basename(v))), v))
    names = list(class_names)
    line_of = {i: n + 2 for n, i in enumerate(given)}  # line 1 is the header
    dupes = given[given.duplicated()].unique()
    extra = [i for i in given.unique() if i not in wanted_set]
    missing = sorted(wanted_set - set(given))
    unknown = sorted(set(table["predicted"]) - set(names))
    problems = []
    if len(dupes):
        problems.append(f"ids listed twice: {_some(dupes, line_of)}")
    if extra:
        problems.append(f"{len(extra)} ids that are not among {images}: {_some(extra, line_of)}")
    if missing:
        problems.append(f"{len(missing)} of the {len(wanted_set)} images missing: {_some(missing)}")
    if unknown:
        bad = {v: line_of[given[table['predicted'] == v].iloc[0]] for v in unknown}
        problems.append(f"unknown labels {_some(unknown, bad)} (the classes are {', '.join(names)})")
    if problems:
        raise DatasetError(f"{path}: " + "; ".join(problems))
    return table["predicted"].to_numpy()[pd.Index(given).get_indexer(wanted)]
