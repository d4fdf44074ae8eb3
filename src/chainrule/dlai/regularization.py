"""The course's L2 regularization (course 2, week 1, "Regularization"), in its names and layout.

cost = cross-entropy + lambd / (2m) * sum over layers of ||W{l}||²; each dW{l} gains lambd / m * W{l}.
A thin face over ``chainrule.nn.regularization`` (the same penalty as ``nn.L2Regularized``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .._validate import check_mapping, check_real
from ..nn.regularization import l2_penalty, l2_penalty_grads
from ._arrays import as_course_array
from .forward import compute_cost
from .gradcheck import backward_propagation_n


def _is_course_weight(name: str) -> bool:
    return name[:1] == "W" and name[1:].isdigit()


def compute_cost_with_regularization(A3: np.ndarray, Y: np.ndarray, parameters: Mapping[str, np.ndarray],
                                     lambd: float) -> float:
    """The cross-entropy of A3 (1, m) against Y plus lambd/(2m) * sum of ||W{l}||² over every W{l}
    in ``parameters`` (biases are not penalized), as the course's function of that name."""
    A3 = as_course_array(A3, "compute_cost_with_regularization: A3")
    if A3.ndim != 2 or A3.shape[0] != 1 or A3.shape[1] == 0:
        raise ValueError(f"A3 must have shape (1, m) with m >= 1 (the output layer's activations), "
                         f"got {A3.shape}")
    outside = ~((A3 >= 0) & (A3 <= 1))  # NaN is outside too
    if outside.any():
        raise ValueError(f"A3 must hold probabilities in [0, 1] (the sigmoid output), got "
                         f"{int(outside.sum())} value(s) outside, e.g. {float(A3[outside].flat[0])!r}")
    lambd = check_real(lambd, "lambd", 0.0)
    check_mapping(parameters, "parameters")
    weights = {k: as_course_array(v, f"parameters['{k}']")
               for k, v in parameters.items() if _is_course_weight(k)}
    if not weights:
        raise ValueError(f"parameters must hold the weights W1, W2, ...; got keys {sorted(parameters)}")
    return compute_cost(A3, Y) + l2_penalty(weights, lambd, A3.shape[1], _is_course_weight)


def backward_propagation_with_regularization(X: np.ndarray, Y: np.ndarray, cache: tuple,
                                             lambd: float) -> dict[str, np.ndarray]:
    """The gradients of ``compute_cost_with_regularization`` for the course's network
    [LINEAR -> RELU] x (L-1) -> LINEAR -> SIGMOID, from the cache ``(Z1, A1, W1, b1, ..., ZL, AL, WL,
    bL)`` of ``forward_propagation_n``: ``backward_propagation_n``'s, with lambd/m * W{l} added to
    each dW{l}. Returns dZ{l}, dW{l}, db{l} and dA{l}, as the course's function."""
    lambd = check_real(lambd, "lambd", 0.0)
    gradients = backward_propagation_n(X, Y, cache)
    m = np.shape(X)[1]
    weights = {f"W{i + 1}": as_course_array(cache[4 * i + 2], f"cache W{i + 1}")
               for i in range(len(cache) // 4)}
    for name, extra in l2_penalty_grads(weights, lambd, m, _is_course_weight).items():
        gradients[f"d{name}"] = gradients[f"d{name}"] + extra
    return gradients
