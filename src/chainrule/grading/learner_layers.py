"""A learner's backward functions made into chainrule layers and course loops, for ``check_backward``.

``_LearnerLinear`` and the ``_LearnerReLU``/``_LearnerSigmoid``/``_LearnerTanh`` steps run the
core's forward and the learner's backward, translating between the layer protocol's row layout and the
course's column layout, so ``chainrule.gradcheck.check_model`` can check each step alone.
``_CourseCost`` is the course's cost as a chainrule loss. ``_course_activation_backward`` and
``_course_loop`` rebuild the course's ``linear_activation_backward`` and ``L_model_backward`` from
whichever of the learner's pieces were given. Every learner function arrives wrapped in
``learner.Watched``, called with ``where`` = (layer, step) first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from ..dlai.forward import compute_cost, cost_derivative
from ..nn import Layer, Linear, Loss, ReLU, Sigmoid, Tanh
from .learner import Watched


class _LearnerLinear(Linear):
    """The core's affine forward; backward through a course-layout ``linear_backward``.

    The course's dW and db carry 1/m and its dA_prev does not, so the upstream gradient is passed
    as m * dout.T (the course's dZ) and dA_prev is divided by m: exact layer-protocol gradients.
    """

    def __init__(self, W: np.ndarray, b: np.ndarray, linear_backward: Watched, layer: int) -> None:
        super().__init__(W.shape[1], W.shape[0], init=lambda fan_in, fan_out, rng, dtype: W.T.copy(), rng=0,
                         dtype=W.dtype)
        self.params["b"][...] = b.reshape(-1)
        self.linear_backward = linear_backward
        self.layer = layer

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self._require(self.x)
        m = self.x.shape[0]
        A_prev, W, b = self.x.T, self.params["W"].T, self.params["b"].reshape(-1, 1)
        try:
            dA_prev, dW, db = self.linear_backward((self.layer, "linear"), m * np.asarray(dout).T,
                                                   (A_prev, W, b))
        except ValueError as e:
            if "broadcast" not in str(e):
                raise
            raise ValueError(f"{e} (an elementwise * where a matrix product is needed? e.g. W.T * dZ "
                             "instead of np.dot(W.T, dZ))") from e
        dA_prev = _course_shaped(dA_prev, "dA_prev", A_prev, "A_prev")
        self.grads["W"] = _course_shaped(dW, "dW", W, "W").T
        self.grads["b"] = _course_shaped(db, "db", b, "b").reshape(-1)
        return dA_prev.T / m


def _course_shaped(value: object, key: str, ref: np.ndarray, like: str) -> np.ndarray:
    """A gradient returned by a learner's ``linear_backward`` must have its variable's course shape:
    reshaping it here would hide the bug the course's asserts catch (a db of shape (n,) broadcasts
    b - lr * db to (n, n) in ``update_parameters``)."""
    arr = np.asarray(value)
    if arr.shape != ref.shape:
        why = " (keepdims=True forgotten in np.sum?)" if arr.size == ref.size and key == "db" else ""
        why = " (transposed)" if arr.shape == ref.shape[::-1] and arr.ndim == 2 else why
        raise ValueError(f"linear_backward returned {key} of shape {arr.shape}; it must have the shape of "
                         f"{like}, {ref.shape}{why}")
    return arr


class _LearnerActivation:
    """The core activation's forward; backward through ``dZ_of(dA, Z)`` in the course's layout (see
    ``_activation_step``)."""

    def __init__(self, dZ_of: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> None:
        super().__init__()
        self.dZ_of = dZ_of
        self.z: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.z = x
        return super().forward(x)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self._require(self.z)
        return np.asarray(self.dZ_of(np.asarray(dout).T, self.z.T)).T


class _LearnerReLU(_LearnerActivation, ReLU):
    pass


class _LearnerSigmoid(_LearnerActivation, Sigmoid):
    pass


class _LearnerTanh(_LearnerActivation, Tanh):
    pass


_STEPS: dict[str, type[Layer]] = {"relu": _LearnerReLU, "sigmoid": _LearnerSigmoid, "tanh": _LearnerTanh}


class _CourseCost(Loss):
    """The course's cross-entropy on sigmoid outputs, in row layout: probs and target (m, 1)."""

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float:
        self.cache = (np.asarray(logits), np.asarray(target, dtype=np.float64))
        return compute_cost(self.cache[0].T, self.cache[1].T)

    def backward(self) -> np.ndarray:
        AL, Y = self._cached()
        return cost_derivative(AL, Y) / AL.shape[0]


def _course_activation_backward(linear_backward: Watched, backward: Mapping[str, Watched]) -> Callable:
    """The course's ``linear_activation_backward``, called with ``where`` first: dZ from the
    activation's backward (the learner's relu_backward/sigmoid_backward in ``backward``, else
    chainrule's), then ``linear_backward``."""
    from ..dlai.activations import activation_pair

    def linear_activation_backward(where: tuple[int, str], dA: np.ndarray, cache: tuple,
                                   activation: str) -> tuple:
        linear_cache, activation_cache = cache
        if activation in backward:
            dZ = backward[activation](where, dA, activation_cache)
        else:
            dZ = activation_pair(activation, "check_backward")[1](dA, activation_cache)
        return linear_backward((where[0], "linear"), dZ, linear_cache)

    return linear_activation_backward


def _course_loop(linear_activation_backward: Callable) -> Callable:
    """The course's L_model_backward loop, calling
    ``linear_activation_backward(where, dA, cache, activation)``."""

    def L_model_backward(AL: np.ndarray, Y: np.ndarray, caches: list) -> dict[str, np.ndarray]:
        L, grads = len(caches), {}
        dA = cost_derivative(AL, np.asarray(Y).reshape(AL.shape))
        for layer in range(L, 0, -1):
            activation = "sigmoid" if layer == L else "relu"
            dA, grads[f"dW{layer}"], grads[f"db{layer}"] = linear_activation_backward(
                (layer, activation), dA, caches[layer - 1], activation)
        return grads

    return L_model_backward


def _activation_step(layer: int, activation: str, linear_activation_backward: Watched | None,
                     backward: Watched | None) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """dZ from dA at layer ``layer``: the learner's ``relu_backward``/``sigmoid_backward`` itself when
    given, else the activation step of the learner's ``linear_activation_backward``, isolated by
    handing it an identity linear step (W = I, so its dA_prev = W.T dZ is the dZ it computed), else
    chainrule's."""
    from ..dlai.activations import activation_pair

    where = (layer, activation)
    if backward is not None:
        return lambda dA, Z: backward(where, dA, Z)
    if linear_activation_backward is None:
        return activation_pair(activation, "check_backward")[1]

    def dZ_of(dA: np.ndarray, Z: np.ndarray) -> np.ndarray:
        n, m = Z.shape
        identity = (np.zeros((n, m)), np.eye(n), np.zeros((n, 1)))
        return linear_activation_backward(where, dA, (identity, Z), activation)[0]

    return dZ_of
