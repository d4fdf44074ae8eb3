"""Gradient checking that finds the bug, not only that there is one, and never a verdict the numbers
do not support.

``check_gradients`` compares any cost's analytic gradients with numerical ones; ``check_model``
does it for a model and its loss and also checks every layer's backward alone, so the report can
say which layer is wrong (``blame``). Every parameter and every report has an ``outcome``:
"correct", "wrong" or "undecided" (the numbers cannot tell; the hint says why and what would
decide it), and ``passed`` is True only for "correct". One pipeline, a module per step:
``estimate`` (numerical gradients through ``element_costs``) -> ``noise`` (the cost's rounding
noise, measured) -> ``judge`` (three outcomes; kinks re-checked, left out and counted; larger steps
and the Taylor remainder test as further witnesses) -> ``diagnose`` (a ``pattern``: "scaled",
"sign", "zero", "transposed", "swapped", "missing-mean", "shape", "masked", "activation",
"mismatch", "inplace", "non-finite") -> ``report``. A check with nothing to check raises or is
undecided, never passes.
"""

from .check import DEFAULT_THRESHOLD, PrecisionWarning, StepWarning, check_gradients, relative_difference
from .diagnose import PATTERNS
from .estimate import DEFAULT_EPS, METHODS, ElementCosts
from .judge import OUTCOMES
from .layer import check_layer, check_loss
from .model import check_model
from .report import GradientReport, LayerResult, ParameterResult, WorstElement
from .testing import assert_gradients

__all__ = [
    "DEFAULT_EPS", "DEFAULT_THRESHOLD", "METHODS", "OUTCOMES", "PATTERNS", "ElementCosts", "GradientReport",
    "LayerResult", "ParameterResult", "PrecisionWarning", "StepWarning", "WorstElement", "assert_gradients",
    "check_gradients", "check_layer", "check_loss", "check_model", "relative_difference",
]
