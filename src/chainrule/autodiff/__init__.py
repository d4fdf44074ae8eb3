"""Reverse-mode automatic differentiation over NumPy arrays: the third witness beside hand-written
backward passes and numerical gradients.

    >>> import numpy as np
    >>> from chainrule import autodiff as ad
    >>> w = ad.Tensor(np.array([0.5, -1.0]), requires_grad=True)
    >>> loss = ad.tanh(np.array([1.0, 2.0]) @ w) ** 2
    >>> loss.backward()
    >>> w.grad.shape
    (2,)

Pieces: ``Tensor`` and ``no_grad`` (tensor.py); the operations with their VJPs (ops.py,
array_ops.py); ``grad``/``value_and_grad`` (functional.py); ``to_dot``/``render`` (graphviz.py);
the bridge to ``chainrule.nn`` layers and losses (layers.py); ``AutodiffModule`` and ``MLP``,
layers trained through the usual Layer protocol (module.py).
"""

from .array_ops import (
    concatenate,
    cross_entropy,
    getitem,
    log_softmax,
    logsumexp,
    mean,
    reshape,
    softmax,
    sum,
    transpose,
)
from .functional import grad, value_and_grad
from .graphviz import GraphvizNotFoundError, render, to_dot
from .layers import (
    graph,
    layer_gradients,
    loss_gradient,
    loss_graph,
    model_gradients,
    register_layer,
    rule_for,
)
from .module import MLP, AutodiffModule
from .ops import (
    abs,
    add,
    as_tensor,
    cos,
    div,
    exp,
    leaky_relu,
    log,
    matmul,
    maximum,
    mul,
    neg,
    power,
    relu,
    sigmoid,
    sin,
    softplus,
    sqrt,
    sub,
    tanh,
)
from .tensor import Tensor, enable_grad, is_grad_enabled, no_grad

__all__ = [
    "MLP", "AutodiffModule", "GraphvizNotFoundError", "Tensor", "abs", "add", "as_tensor",
    "concatenate", "cos", "cross_entropy", "div", "enable_grad", "exp", "getitem", "grad", "graph",
    "is_grad_enabled", "layer_gradients", "leaky_relu", "log", "log_softmax", "logsumexp",
    "loss_gradient", "loss_graph", "matmul", "maximum", "mean", "model_gradients", "mul", "neg",
    "no_grad", "power", "register_layer", "relu", "render", "reshape", "rule_for", "sigmoid", "sin",
    "softmax", "softplus", "sqrt", "sub", "sum", "tanh", "to_dot", "transpose", "value_and_grad",
]
