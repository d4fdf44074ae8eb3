"""Backward propagation and the gradient-descent update in the course's column layout.

The course folds the mean over the batch into the parameter gradients: dW = 1/m dZ A_prev.T and
db = 1/m sum(dZ), while dA_prev = W.T dZ carries no 1/m. The core ``Linear.backward`` returns the
sums (row layout, no 1/m), so ``linear_backward`` transposes its results and divides dW and db by m.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from .._validate import check_mapping, check_real
from ..optim import SGD
from ._arrays import as_course_array, check_examples, common_float, course_parameters
from .activations import activation_backward, activation_pair
from .forward import Cache, LinearCache, affine_layer, cost_derivative, linear_arrays


def _unpack(cache: object, size: int, what: str, name: str) -> tuple:
    if not isinstance(cache, (tuple, list)) or len(cache) != size:
        length = f" of length {len(cache)}" if isinstance(cache, (tuple, list)) else ""
        raise TypeError(f"{name}: cache must be the {what} tuple from the forward pass, got "
                        f"{type(cache).__name__}{length}")
    return tuple(cache)


def linear_backward(dZ: np.ndarray, cache: LinearCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of the linear step from dZ (n_l, m) and ``cache = (A_prev, W, b)``.

    Returns dA_prev (n_prev, m) = W.T dZ, dW (n_l, n_prev) = 1/m dZ A_prev.T and
    db (n_l, 1) = 1/m sum over examples of dZ.
    """
    # Every array here comes from the cache: the messages say so ("linear_backward: cache W ...").
    A_prev, W, b = linear_arrays(*_unpack(cache, 3, "(A_prev, W, b)", "linear_backward"),
                                 "linear_backward: cache", a_name="A_prev")
    dZ = as_course_array(dZ, "linear_backward: dZ")
    check_examples(A_prev, "linear_backward: A_prev (in the cache)")
    m = A_prev.shape[1]
    if dZ.shape != (W.shape[0], m):
        raise ValueError(f"linear_backward: dZ must have shape ({W.shape[0]}, {m}) (rows of W, columns of "
                         f"A_prev), got {dZ.shape}")
    return affine_backward(dZ, A_prev, W, b)


def affine_backward(dZ: np.ndarray, A_prev: np.ndarray, W: np.ndarray,
                    b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``linear_backward`` for arrays that passed its checks: dZ (n_l, m), A_prev (n_prev, m),
    W (n_l, n_prev), b (n_l, 1) -> (dA_prev, dW, db)."""
    m = A_prev.shape[1]
    A_prev, W, b, dZ = common_float(A_prev, W, b, dZ)
    layer = affine_layer(W, b)
    # The course's cache already holds the layer's input: hand it to the layer as its cached forward
    # input (the state Linear.forward would set) instead of recomputing the product W A_prev.
    layer.x = A_prev.T
    dA_prev = layer.backward(dZ.T).T
    dW = layer.grads["W"].T / m
    db = layer.grads["b"].reshape(b.shape) / m
    return dA_prev, dW, db


def linear_activation_backward(dA: np.ndarray, cache: Cache,
                               activation: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward of LINEAR -> ACTIVATION: dZ = dA * g'(Z), then ``linear_backward``.

    ``cache = ((A_prev, W, b), Z)``; returns ``(dA_prev, dW, db)``.
    """
    _, backward = activation_pair(activation, "linear_activation_backward")
    linear_cache, activation_cache = _unpack(cache, 2, "(linear_cache, activation_cache)",
                                             "linear_activation_backward")
    dZ = backward(dA, activation_cache)
    return linear_backward(dZ, linear_cache)


def L_model_backward(AL: np.ndarray, Y: np.ndarray, caches: Sequence[Cache]) -> dict[str, np.ndarray]:
    """Backward of [LINEAR -> RELU] x (L-1) -> LINEAR -> SIGMOID with the cross-entropy cost.

    AL (1, m) is the forward output, Y (1, m) the labels (a (m,) vector is accepted), ``caches``
    the list from ``L_model_forward`` (or a learner's own, checked layer by layer). Returns ``grads``
    with ``dA{l-1}``, ``dW{l}``, ``db{l}`` for l = 1..L, as the course does (``dA0`` is the
    gradient with respect to X).
    """
    return _backward_pass(_output_gradient(AL, Y, caches), caches, linear_activation_backward)


def model_backward(AL: np.ndarray, Y: np.ndarray, caches: Sequence[Cache]) -> dict[str, np.ndarray]:
    """``L_model_backward`` for caches made by chainrule's ``L_model_forward``, whose arrays were
    checked on the way in: the training loops skip checking them again at every layer."""
    return _backward_pass(_output_gradient(AL, Y, caches), caches, _checked_cache_backward)


def _checked_cache_backward(dA: np.ndarray, cache: Cache, activation: str
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    (A_prev, W, b), Z = cache
    return affine_backward(activation_backward(dA, Z, activation), A_prev, W, b)


def _output_gradient(AL: np.ndarray, Y: np.ndarray, caches: Sequence[Cache]) -> np.ndarray:
    """dAL for ``L_model_backward``, after checking AL, Y and that there are caches."""
    if not isinstance(caches, (list, tuple)) or not caches:
        raise TypeError(f"L_model_backward: caches must be the non-empty list from L_model_forward, "
                        f"got {type(caches).__name__}")
    AL = as_course_array(AL, "L_model_backward: AL")
    Y = as_course_array(Y, "L_model_backward: Y", ndim=(1, 2))
    if Y.size != AL.size or (Y.ndim == 2 and Y.shape != AL.shape):
        raise ValueError(f"L_model_backward: Y must have the shape of AL {AL.shape}, got {Y.shape}")
    Y = Y.reshape(AL.shape).astype(AL.dtype, copy=False)
    if np.any(AL == np.where(Y > 0, 0, 1)):
        raise ValueError("L_model_backward: AL is exactly 0 where Y = 1 or exactly 1 where Y = 0 (the "
                         "sigmoid saturated); dAL = -(Y/AL - (1-Y)/(1-AL)) is infinite there")
    dAL = cost_derivative(AL, Y)
    if not np.all(np.isfinite(dAL)):
        raise ValueError("L_model_backward: AL has entries exactly 0 or 1 (the sigmoid saturated), where "
                         "dAL = -(Y/AL - (1-Y)/(1-AL)) is 0/0; the course's formula cannot be evaluated")
    return dAL


def _backward_pass(dAL: np.ndarray, caches: Sequence[Cache], step: Callable) -> dict[str, np.ndarray]:
    """The course's loop from the output layer down, with ``step`` as linear_activation_backward."""
    L = len(caches)
    grads: dict[str, np.ndarray] = {}
    dA = dAL
    for layer in range(L, 0, -1):
        dA, grads[f"dW{layer}"], grads[f"db{layer}"] = step(dA, caches[layer - 1],
                                                             "sigmoid" if layer == L else "relu")
        grads[f"dA{layer - 1}"] = dA
    return grads


def update_parameters(parameters: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray],
                      learning_rate: float) -> dict[str, np.ndarray]:
    """One gradient-descent step, W{l} - learning_rate * dW{l} and b{l} - learning_rate * db{l}.

    Returns a new dict; ``parameters`` (and its arrays) are left unchanged. ``grads`` needs dW{l}
    and db{l} for every layer (other keys, such as dA{l}, are ignored).
    """
    L, params = course_parameters(parameters)
    check_real(learning_rate, "update_parameters: learning_rate", 0.0, low_open=True,
               expected="be a positive number")
    check_mapping(grads, "update_parameters: grads", keys="gradient names such as 'dW1'")
    new = {k: np.array(v, copy=True) for k, v in params.items()}
    named: dict[str, np.ndarray] = {}
    for k, p in new.items():
        if "d" + k not in grads:
            raise ValueError(f"update_parameters: grads has no 'd{k}' (it must hold dW1, db1, ..., dW{L}, "
                             f"db{L}); got keys {sorted(grads)}")
        g = as_course_array(grads["d" + k], f"update_parameters: grads['d{k}']")
        if g.shape != p.shape:
            raise ValueError(f"update_parameters: grads['d{k}'] must have the shape of {k} {p.shape}, "
                             f"got {g.shape}")
        named[k] = g.astype(p.dtype, copy=False)
    with np.errstate(over="ignore", invalid="ignore"):  # reported below, naming the parameter
        SGD(learning_rate).step(new, named)
    bad = [k for k, v in new.items() if not np.all(np.isfinite(v))]
    if bad:
        raise NonFiniteUpdate(f"update_parameters: the step made {', '.join(bad)} non-finite (NaN or inf); "
                              f"learning_rate={learning_rate!r} is too large for these gradients")
    return new


class NonFiniteUpdate(ValueError):
    """``update_parameters`` would return NaN/inf parameters (the learning rate is too large)."""
