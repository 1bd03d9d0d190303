"""What a model file may build when it is loaded: an explicit list of classes, nothing else.

A skops file is a tree of nodes, each naming a Python object by module and name and saying how skops
rebuilds it. skops's own check trusts by name, and some of its nodes *call* what they name (a "reduce"
node calls it with arguments from the file, a function node hands back the function itself). A file
from someone else can name any function that way. So fer-classic audits the tree itself, before
anything in it is imported or built:

- only the node kinds that rebuild plain data or an instance of a class are accepted
  (:data:`ACCEPTED_NODES`); a node that calls, or returns, a named callable (skops's reduce, function,
  method, partial and operator nodes) is refused whatever it names;
- every name a node uses must be one of :data:`TRUSTED_CLASSES`, written out in full: the toolkit's own
  estimators and the scikit-learn and numpy classes they hold. No module prefix is trusted.

Instances are built by skops with ``cls.__new__(cls)`` and ``__setstate__``/``__dict__`` (no
``__init__``); a forest's trees are built by ``Tree(n_features, n_classes, n_outputs)`` and their
arrays are then checked (:func:`check_forest_trees`), since scikit-learn follows a tree's child and
feature indices without bounds checks.
"""

from __future__ import annotations

from ..errors import RunError
from ..features.registry import DESCRIPTORS
from ..models import MODEL_KINDS  # every kind registered (the package imports them first)

# The toolkit's classes a saved model may hold around its descriptors (the registered descriptors' classes)
# and its classifier (each model kind names its own: ModelKind.saved_classes): steps and wrappers.
_FER_CLASSIC = (
    "fer_classic.features.alignment.FaceAligner",
    "fer_classic.models.calibration.TemperatureScaledClassifier",
    "fer_classic.models.ensemble.SoftVotingEnsemble",
    "fer_classic.models.mirror.MirrorAveragedClassifier",
    "fer_classic.models.reduction.Float32",
    "fer_classic.models.reduction.Float64",
    "fer_classic.models.reduction.RoundedPCA",
    "fer_classic.models.reduction.RoundToFloat16",
    "fer_classic.models.reduction.RoundToInt8Grid",
    # the same classes under the names model files saved by fer-classic 0.2 give them
    *(f"fer_classic.training.reduction.{name}"
      for name in ("Float32", "Float64", "RoundedPCA", "RoundToFloat16", "RoundToInt8Grid")),
)

# scikit-learn's classes that the toolkit's pipelines are made of (the classifiers: their kinds').
_SKLEARN = (
    "sklearn.pipeline.Pipeline",
    "sklearn.pipeline.FeatureUnion",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.decomposition._pca.PCA",
    "sklearn.cluster._kmeans.MiniBatchKMeans",
)

# Plain data: containers, numpy arrays, their scalar types and dtypes.
_DATA = (
    "builtins.dict", "builtins.list", "builtins.tuple", "builtins.set", "builtins.str", "builtins.bytes",
    "builtins.int", "builtins.float", "builtins.bool", "builtins.slice",
    "numpy.ndarray", "numpy.dtype", "numpy.random.mtrand.RandomState",
    *(f"numpy.{t}" for t in ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
                             "uint16", "uint32", "uint64", "bool_", "str_")),
    *(f"numpy.dtypes.{t}DType" for t in ("Float16", "Float32", "Float64", "Int8", "Int16", "Int32", "Int64",
                                         "UInt8", "UInt16", "UInt32", "UInt64", "Bool", "Str", "Object")),
)

TRUSTED_CLASSES = frozenset(
    _FER_CLASSIC + _SKLEARN + _DATA
    + tuple(f"{cls.__module__}.{cls.__qualname__}" for cls in DESCRIPTORS.values())
    + tuple(name for kind in MODEL_KINDS.values() for name in kind.saved_classes))

# skops's node kinds that rebuild data or an instance without calling anything the file names
# (TypeNode hands back a class: only as a forest tree's constructor, see TreeNode).
ACCEPTED_NODES = frozenset({
    "DictNode", "ListNode", "TupleNode", "SetNode", "JsonNode", "BytesNode", "BytearrayNode", "SliceNode",
    "NdArrayNode", "DTypeNode", "RandomStateNode", "ObjectNode", "CachedNode", "TreeNode", "TypeNode",
})


def untrusted_parts(tree) -> list[str]:
    """Why the skops node tree ``tree`` may not be built: one line per refused node (empty if none).

    Nothing is imported or built here: only the names and kinds written in the file are read."""
    from skops.io._audit import Node

    refused: dict[str, None] = {}  # ordered, without repeats
    seen: set[int] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        kind, name = type(node).__name__, f"{node.module_name}.{node.class_name}"
        if kind not in ACCEPTED_NODES:
            refused[f"{name} (a {kind}: the file would call or hand back a named callable)"] = None
        elif kind == "TreeNode" and name != "sklearn.tree._tree.Tree":
            refused[f"{name} (a TreeNode that is not a scikit-learn tree)"] = None
        elif kind not in ("JsonNode", "CachedNode") and name not in TRUSTED_CLASSES:
            refused[f"{name} (not one of the classes a fer-classic model is made of)"] = None
        for child in node.children.values():
            parts = child if isinstance(child, list) else child.values() if isinstance(child, dict) else [child]
            for part in parts:
                if isinstance(part, Node):
                    stack.append(part)
                elif isinstance(part, type):
                    refused[f"{part.__module__}.{part.__qualname__} (a class given as a value)"] = None
    return list(refused)


def check_forest_trees(model, path) -> None:
    """Refuse a loaded model whose decision trees point outside their own arrays (scikit-learn reads a
    tree's children, features and values by these indices without checking them)."""
    import numpy as np
    from sklearn.tree import DecisionTreeClassifier

    for tree_model in _estimators_of(model, DecisionTreeClassifier):
        tree = getattr(tree_model, "tree_", None)
        if tree is None:  # a forest's unfitted template
            continue
        n = tree.node_count
        left, right, feature = tree.children_left, tree.children_right, tree.feature
        leaf = left == -1
        inner_ok = (~leaf & (left > np.arange(n)) & (left < n) & (right > np.arange(n)) & (right < n)
                    & (feature >= 0) & (feature < tree.n_features))
        leaf_ok = leaf & (right == -1)
        if n < 1 or not np.all(inner_ok | leaf_ok) or tree.value.shape[0] != n:
            raise RunError(f"{path}: a decision tree in the file points outside its own arrays; "
                           f"refusing a model file that was tampered with")


def _estimators_of(model, cls):
    """Every object of type ``cls`` reachable through estimators' attributes, lists, tuples and dicts."""
    from .folders import _attribute_slots  # the places of a model that hold its parts

    seen: set[int] = set()
    stack = [model]
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, cls):
            yield obj
        stack.extend(value for _, value in _attribute_slots(obj))
