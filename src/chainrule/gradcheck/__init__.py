"""Gradient checking that finds the bug, not only that there is one.

``check_gradients`` compares any cost's analytic gradients with numerical ones; ``check_model``
does it for a model and its loss and also checks every layer's backward alone, so the report can
say which layer is wrong (``blame``). Each failing gradient gets a ``pattern`` ("scaled", "sign",
"zero", "transposed", "swapped", "shape", "masked", "activation", "mismatch", "inplace" for a
backward that writes into its ``dout`` argument, and "non-finite" for NaN or inf elements, which
always fail) with a plain-language hint. Elements on a kink are
left out and counted; a gradient too small for the numerical noise to resolve, or whose every
element sat on a kink, is reported as ``unresolved`` rather than vouched for; a check with nothing
to check raises or fails, never passes.
"""

from .check import DEFAULT_THRESHOLD, PrecisionWarning, check_gradients, relative_difference
from .diagnose import PATTERNS
from .layer import check_layer, check_loss
from .model import check_model
from .numerical import DEFAULT_EPS, METHODS
from .report import GradientReport, LayerResult, ParameterResult, WorstElement
from .testing import assert_gradients

__all__ = [
    "DEFAULT_EPS", "DEFAULT_THRESHOLD", "METHODS", "PATTERNS", "GradientReport", "LayerResult",
    "ParameterResult", "PrecisionWarning", "WorstElement", "assert_gradients", "check_gradients",
    "check_layer", "check_loss", "check_model", "relative_difference",
]
