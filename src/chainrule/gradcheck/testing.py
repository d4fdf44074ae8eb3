"""``assert_gradients``: a gradient check as a pytest (or plain ``assert``) one-liner."""

from __future__ import annotations

from ..nn.module import Layer
from .check import check_gradients
from .model import check_model
from .report import GradientReport


def assert_gradients(target, *args, **kwargs) -> GradientReport:
    """Run a gradient check and raise ``AssertionError`` carrying the full report if it fails.

    ``target`` selects the check: a ``Layer``/``Sequential`` runs
    ``check_model(target, loss, X, y, **kwargs)``; a callable runs
    ``check_gradients(target, params, grads, **kwargs)``; an existing ``GradientReport`` is
    asserted as is. Returns the report when it passed, so a test can look further::

        def test_my_layer():
            assert_gradients(Sequential(Linear(3, 4, rng=0), MyReLU()), MSELoss(), X, y)
    """
    if isinstance(target, GradientReport):
        if args or kwargs:
            raise TypeError("assert_gradients(report) takes no further arguments")
        report = target
    elif isinstance(target, Layer):
        report = check_model(target, *args, **kwargs)
    elif callable(target):
        report = check_gradients(target, *args, **kwargs)
    else:
        raise TypeError("assert_gradients: target must be a Layer, a cost callable or a GradientReport, "
                        f"got {type(target).__name__}")
    if not report.passed:
        raise AssertionError(f"gradient check failed\n{report}")
    return report
