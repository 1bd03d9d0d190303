"""The reduction steps' old home: model files saved by fer-classic 0.2 name their classes here."""

from ..models.reduction import Float32, Float64, RoundedPCA, RoundToFloat16, RoundToInt8Grid

__all__ = ["Float32", "Float64", "RoundedPCA", "RoundToFloat16", "RoundToInt8Grid"]
