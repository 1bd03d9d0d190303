"""Does averaging a member's scores over small shifts of the face (besides its mirror image) pay
on validation? Fits one of best's members on the fit split (its own seed, the dataset's default
protocol), scores validation images at several shifts, each averaged with its mirror image as the
member does. Usage: python benchmarks/shift_average.py FEATURES MEMBER DATASET (MEMBER: index into
best's members).
"""
import contextlib
import json
import sys
import time

import numpy as np

from fer_classic.evaluation.uncertainty import accuracy_text, mcnemar

from fer_classic.training.ensemble import member_scores
from fer_classic.training.train import image_pipeline
from fer_classic.training.protocols import default_protocol, make_splits
from fer_classic.store import FeatureDirectory
from fer_classic.data.datasets import load_dataset
from fer_classic.pipelines import PIPELINES
from fer_classic.models.mirror import class_scores, leading_aligner

features, member, dataset = sys.argv[1], int(sys.argv[2]), sys.argv[3]
shift_sets = {"1": [(0, 1), (0, -1), (1, 0), (-1, 0)], "2": [(0, 2), (0, -2), (2, 0), (-2, 0)],
              "diag1": [(1, 1), (1, -1), (-1, 1), (-1, -1)]}
shift_sets["all"] = [o for offs in shift_sets.values() for o in offs]  # the 12 together
spec = PIPELINES["best"].spec.members[member]
folder = spec.features_folder(features)
fd = FeatureDirectory(folder)
data = fd.load_fused(spec.features, mirrored=True)
split = make_splits(data.labels, data.usage, spec.protocol or default_protocol(data.usage), seed=spec.seed)[0]
t = time.time()
f = member_scores(spec, folder, split, 1, "fit", ("validation",))
print("fit", time.time() - t, flush=True)
model = image_pipeline(folder, spec, fd.manifest(), f["reducer"], f["classifier"])
ds = load_dataset(dataset)
where = {i: k for k, i in enumerate(ds.ids)}
val_ids = data.ids[split.validation]
images = ds.images[[where[i] for i in val_ids]]
y = data.labels[split.validation]
classes = f["classifier"].classes_
base = f["scores"]["validation"]
aligner = leading_aligner(model.pipeline_)


def shifted(img, dy, dx):
    p = max(abs(dy), abs(dx))
    padded = np.pad(img, ((0, 0), (p, p), (p, p)), mode="edge")
    h, w = img.shape[1:]
    return padded[:, p - dy:p - dy + h, p - dx:p - dx + w]


def scores_at(faces):
    """The member's scores of ``faces`` (aligned already, where it aligns), averaged with their mirrors."""
    with aligner.passing_through() if aligner is not None else contextlib.nullcontext():
        return class_scores(model, faces)


faces = aligner.transform(images) if aligner is not None else images
t = time.time()
s0 = scores_at(faces)
same = np.mean(classes[s0.argmax(1)] == classes[base.argmax(1)])
print("labels recomputed from the images equal to those from the stored rows:", same, time.time() - t, flush=True)
right0 = classes[base.argmax(1)] == y
out = {"member": member, "centre": right0.mean()}
per_shift = {}
for name, offs in shift_sets.items():
    for o in offs:
        if o not in per_shift:
            per_shift[o] = scores_at(shifted(faces, *o))
    avg = (s0 + sum(per_shift[o] for o in offs)) / (1 + len(offs))
    right = classes[avg.argmax(1)] == y
    m = mcnemar(right, right0); b, c, p = m["a_right_b_wrong"], m["a_wrong_b_right"], m["p_value"]
    print(f"member {member} shifts {name}: {accuracy_text(right)} vs centre {accuracy_text(right0)} "
          f"({b} vs {c}, p={p:.3g})", flush=True)
    out[name] = right.mean()
np.savez(f"shift-scores-member{member}.npz", base=base, s0=s0, y=y,
         **{f"{dy}_{dx}": s for (dy, dx), s in per_shift.items()})
print(json.dumps(out))
