"""Gradient checks for PyTorch code: custom ``torch.autograd.Function``s, functions on tensors and
``nn.Module``s, with chainrule's report (optional extra ``chainrule[torch]``).

``check_function(fn, *inputs)`` and ``check_module(module, *inputs, loss=None)`` turn the torch
code into a cost on a dict of float64 arrays plus the analytic gradients autograd computes, and
hand both to ``chainrule.check_gradients``: the same report, outcomes, patterns and worst elements
as the NumPy checks, keyed by argument and parameter names. ``import chainrule`` never imports
torch; importing this module does.
"""

from .check import OUTPUTS, assert_gradients, check_function, check_module

__all__ = ["OUTPUTS", "assert_gradients", "check_function", "check_module"]
