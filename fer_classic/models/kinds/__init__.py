"""The model kinds fer-classic ships, one file each: its parameters, grid and builder, and the numpy
forms of what it fits (:mod:`fer_classic.models.numpy_form`). Each registers itself in
:data:`~fer_classic.models.registry.MODEL_KINDS` when imported below; adding a kind is a new file here
and its line in this list.

The files import scikit-learn only inside their builders and exporters, so that a run's predictor reads
the forms without it.
"""

from . import knn, local, logistic, mlp, rf, svm  # noqa: F401  (each registers its kind)
