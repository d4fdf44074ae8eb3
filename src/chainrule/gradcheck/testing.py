"""``assert_gradients``: a gradient check as a pytest (or plain ``assert``) one-liner."""

from __future__ import annotations

import sys

from ..nn.module import Layer, Loss
from .check import check_gradients
from .layer import check_layer
from .model import check_model
from .report import GradientReport, LayerResult


def _torch_target(target: object, args: tuple, kwargs: dict) -> bool:
    """Whether ``target`` is PyTorch code (looked at only when torch is already imported): a module,
    an ``autograd.Function`` (the class or its ``apply``), or a callable given tensors."""
    torch = sys.modules.get("torch")
    if torch is None:
        return False
    owner = target if isinstance(target, type) else getattr(target, "__self__", None)
    return (isinstance(target, torch.nn.Module)
            or (isinstance(owner, type) and issubclass(owner, torch.autograd.Function))
            or any(isinstance(a, torch.Tensor) for a in (*args, *kwargs.values())))


def assert_gradients(target: object, *args, allow_undecided: bool = False,
                     **kwargs) -> GradientReport | LayerResult:
    """Run a gradient check and raise ``AssertionError`` carrying the full report unless it is
    decided correct: a wrong gradient raises, and so does an undecided one (the numbers could not
    tell, e.g. a gradient far below the cost's noise) unless ``allow_undecided=True``.

    ``target`` selects the check:

    * a ``Layer``/``Sequential`` with a loss runs ``check_model(target, loss, X, y, **kwargs)``;
    * a ``Layer`` with only an input runs ``check_layer(target, x, **kwargs)`` (its backward alone,
      with a random upstream gradient: the one-liner for a custom layer);
    * a PyTorch target (an ``nn.Module``, an ``autograd.Function`` or its ``apply``, or any callable
      given tensors) runs ``chainrule.torch.check_module``/``check_function(target, *inputs, **kwargs)``;
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
    elif _torch_target(target, args, kwargs):
        from ..torch import assert_gradients as assert_torch  # its checks, then this very assertion

        return assert_torch(target, *args, allow_undecided=allow_undecided, **kwargs)
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
