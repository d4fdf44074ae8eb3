"""The course's activation helpers: ``A, cache = g(Z)`` and ``dZ = g_backward(dA, cache)``.

Column layout does not matter for elementwise functions, so each helper is the core layer
(``chainrule.nn.ReLU``, ``Sigmoid``, ``Tanh``) run on the course's arrays; the cache is ``Z``, as in
the course's ``dnn_utils``. ``Z`` and ``dA`` have the same shape, (n_l, m).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..nn import Layer, ReLU, Sigmoid, Tanh
from ._arrays import as_course_array, common_float


def _forward(layer: Layer, Z: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    Z = as_course_array(Z, f"{name}: Z", ndim=None)
    return layer.forward(Z), Z


def _backward(activation: str, dA: np.ndarray, cache: np.ndarray, name: str) -> np.ndarray:
    Z = as_course_array(cache, f"{name}: cache (Z)", ndim=None)
    dA = as_course_array(dA, f"{name}: dA", ndim=None)
    if dA.shape != Z.shape:
        raise ValueError(f"{name}: dA must have the shape of Z (the activation cache) {Z.shape}, "
                         f"got {dA.shape}")
    return activation_backward(dA, Z, activation)


def activation_backward(dA: np.ndarray, Z: np.ndarray, activation: str) -> np.ndarray:
    """dZ = dA * g'(Z) by the core layer of ``activation``, for float arrays of one shape that need no
    further checks (``L_model_backward`` on its own caches)."""
    Z, dA = common_float(Z, dA)
    layer = LAYERS[activation]()
    layer.forward(Z)
    return layer.backward(dA)


def sigmoid(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A = 1 / (1 + exp(-Z)) computed without overflow; returns ``(A, Z)``."""
    return _forward(Sigmoid(), Z, "sigmoid")


def sigmoid_backward(dA: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """dZ = dA * s * (1 - s) with s = sigmoid(Z), ``cache = Z``."""
    return _backward("sigmoid", dA, cache, "sigmoid_backward")


def relu(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A = max(0, Z); returns ``(A, Z)``."""
    return _forward(ReLU(), Z, "relu")


def relu_backward(dA: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """dZ = dA where Z > 0, else 0 (the course sets dZ[Z <= 0] = 0), ``cache = Z``."""
    return _backward("relu", dA, cache, "relu_backward")


def tanh(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A = tanh(Z) (the course's week-3 hidden activation); returns ``(A, Z)``."""
    return _forward(Tanh(), Z, "tanh")


def tanh_backward(dA: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """dZ = dA * (1 - tanh(Z)²), ``cache = Z``."""
    return _backward("tanh", dA, cache, "tanh_backward")


#: activation name -> the core layer that computes it.
LAYERS: dict[str, type[Layer]] = {"sigmoid": Sigmoid, "relu": ReLU, "tanh": Tanh}

ActivationPair = tuple[Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
                       Callable[[np.ndarray, np.ndarray], np.ndarray]]

#: activation name -> (forward, backward), the names ``linear_activation_forward`` accepts.
ACTIVATIONS: dict[str, ActivationPair] = {
    "sigmoid": (sigmoid, sigmoid_backward),
    "relu": (relu, relu_backward),
    "tanh": (tanh, tanh_backward),
}


def activation_pair(activation: str, name: str) -> ActivationPair:
    """The (forward, backward) pair for ``activation``; ValueError naming the caller otherwise."""
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise ValueError(f"{name}: activation must be one of {', '.join(map(repr, ACTIVATIONS))}, "
                         f"got {activation!r}")
    return ACTIVATIONS[activation]
