"""Move between the course's parameter dict (column layout) and a chainrule ``Sequential`` (row layout).

The course's layer l computes Z = W A + b with W (n_l, n_{l-1}), b (n_l, 1) on A (n_{l-1}, m);
chainrule's ``Linear`` computes Y = X @ W + b with W (n_{l-1}, n_l), b (n_l,) on X (m, n_{l-1}). So
``Linear.W = W_course.T`` and ``Linear.b = b_course.reshape(-1)``; both directions copy, so
training one never changes the other, and a round trip is exact.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .._validate import check_choice
from ..nn import Linear, Sequential, get_activation
from ..nn.activations import ACTIVATIONS
from ._arrays import course_parameters
from .forward import affine_layer


def to_sequential(parameters: Mapping[str, np.ndarray], activation: str = "relu",
                  output: str | None = "sigmoid") -> Sequential:
    """A ``Sequential`` computing the course's network: ``[Linear -> activation] x (L-1) -> Linear``
    followed by ``output`` (``"sigmoid"``, the course's; ``None`` leaves logits, for
    ``BCEWithLogitsLoss``). Feed it rows: ``model.forward(X.T)`` gives ``AL.T``."""
    L, params = course_parameters(parameters)
    check_choice(activation, tuple(ACTIVATIONS), "to_sequential: activation")
    if output is not None:
        check_choice(output, tuple(ACTIVATIONS), "to_sequential: output")
    dtype = np.result_type(*params.values())
    layers = []
    for layer in range(1, L + 1):
        W, b = (params[f"{p}{layer}"].astype(dtype, copy=False) for p in "Wb")
        layers.append(affine_layer(W, b, copy=True))
        if layer < L:
            layers.append(get_activation(activation))
    if output is not None:
        layers.append(get_activation(output))
    return Sequential(*layers)


def from_sequential(model: Sequential) -> dict[str, np.ndarray]:
    """The course's dict ``W1, b1, ..., WL, bL`` from the ``Linear`` layers of ``model``, in order.

    Activation layers carry no parameters and are skipped (the course dict does not record them);
    any other layer with parameters is refused, since the course's format cannot hold it.
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"from_sequential: model must be a chainrule Sequential, got {type(model).__name__}")
    parameters: dict[str, np.ndarray] = {}
    count = 0
    for i, layer in enumerate(model.layers):
        if isinstance(layer, Linear):
            count += 1
            parameters[f"W{count}"] = layer.params["W"].T.copy()
            parameters[f"b{count}"] = layer.params["b"].reshape(-1, 1).copy()
        elif layer.params:
            raise ValueError(f"from_sequential: layer {i} ({type(layer).__name__}) has parameters "
                             f"{sorted(layer.params)} that the course's W/b dict cannot hold")
    if count == 0:
        raise ValueError("from_sequential: model has no Linear layer")
    return parameters
