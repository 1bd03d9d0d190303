"""Run folders, the layer between training (which writes them) and applying and reporting (which read
them): the folder and its model file (:mod:`.folders`), the run record (:mod:`.record` writes
metrics.json and the predictions; :mod:`.folders` reads them), the predictor format
(:mod:`.predictor_export` writes predictor.npz, :mod:`.predictor` reads it) and what a model file may
build (:mod:`.trusted_classes`)."""

from ..lazy_exports import lazy_exports

_API = {"load_run": "folders", "load_run_labeller": "folders"}
__all__ = sorted(_API)

__getattr__, __dir__ = lazy_exports(__name__, _API)
