"""``assert_gradients``: a gradient check as a pytest (or plain ``assert``) one-liner."""

from __future__ import annotations

from ..nn.module import Layer, Loss
from .check import check_gradients
from .layer import check_layer
from .model import check_model
from .report import GradientReport, LayerResult


def assert_gradients(target: object, *args, allow_undecided: bool = False,
                     **kwargs) -> GradientReport | LayerResult:
    """Run a gradient check and raise ``AssertionError`` carrying the full report unless it is
    decided correct: a wrong gradient raises, and so does an undecided one (the numbers could not
    tell, e.g. a gradient far below the cost's noise) unless ``allow_undecided=True``.

    ``target`` selects the check:

    * a ``Layer``/``Sequential`` with a loss runs ``check_model(target, loss, X, y, **kwargs)``;
    * a ``Layer`` with only an input runs ``check_layer(target, x, **kwargs)`` (its backward alone,
      with a random upstream gradient: the one-liner for a custom layer);
    * a callable runs ``check_gradients(target, params, grads, **kwargs)``;
    * an existing ``GradientReport`` is asserted as is.

    The error's first line says in one line what failed and whom to blame (e.g. "gradient check
    failed: blame layer 0 (StudentLinear): W scaled x1/8 (extra 1/m?) — <the hint>; failing: 0.W
    scaled x1/8 (extra 1/m?)"): the blamed layer's own finding first; the full report follows.
    pytest shows the caller's line, not chainrule's source (``__tracebackhide__``).

    Returns the report when it passed (or, with ``allow_undecided``, was undecided), so a test can
    look further::

        def test_my_layer():
            assert_gradients(MyReLU(), np.random.default_rng(0).standard_normal((8, 5)))
            assert_gradients(Sequential(Linear(3, 4, rng=0), MyReLU()), MSELoss(), X, y)
    """
    __tracebackhide__ = True  # pytest: the failure is in the user's gradients, not in this function
    if isinstance(target, GradientReport):
        if args or kwargs:
            raise TypeError("assert_gradients(report) takes no further arguments")
        report: GradientReport | LayerResult = target
    elif isinstance(target, Layer):
        with_loss = (args and isinstance(args[0], Loss)) or "loss" in kwargs
        report = check_model(target, *args, **kwargs) if with_loss else check_layer(target, *args, **kwargs)
    elif callable(target):
        report = check_gradients(target, *args, **kwargs)
    else:
        raise TypeError("assert_gradients: target must be a Layer, a cost callable or a GradientReport, "
                        f"got {type(target).__name__}")
    if report.outcome == "wrong" or (report.outcome == "undecided" and not allow_undecided):
        tail = ("\n(pass allow_undecided=True to accept a check the numbers cannot decide)"
                if report.outcome == "undecided" else "")
        raise AssertionError(f"{report.headline()}{tail}\n{report}")
    return report
