"""Forward propagation and cost in the course's column layout (X is features x examples).

The affine step is the core's ``chainrule.nn.Linear`` (row layout, ``Y = X @ W + b``) applied to
the transposes: Z = W A + b  <=>  Z.T = A.T @ W.T + b.T. Caches have exactly the course's form:
``linear_cache = (A_prev, W, b)``, ``activation_cache = Z``, ``cache = (linear_cache,
activation_cache)`` and ``caches`` a list with one cache per layer, so a learner's own caches work
with these functions and the other way round.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..nn import Linear
from ._arrays import as_course_array, check_layer, common_float, course_parameters, labels
from .activations import activation_pair

LinearCache = tuple[np.ndarray, np.ndarray, np.ndarray]
Cache = tuple[LinearCache, np.ndarray]

# Linear draws its initial W from an rng; ours passes the course's W instead, so this one is unused.
_UNUSED_RNG = np.random.default_rng(0)


def affine_layer(W: np.ndarray, b: np.ndarray) -> Linear:
    """A core ``Linear`` whose parameters are views of the course's W (n_l, n_prev) and b (n_l, 1)."""
    n, n_prev = W.shape
    layer = Linear(n_prev, n, init=lambda fan_in, fan_out, rng, dtype: W.T, rng=_UNUSED_RNG, dtype=W.dtype)
    layer.params["b"] = b.reshape(n)
    return layer


def linear_arrays(A: object, W: object, b: object, name: str) -> LinearCache:
    """Validated (A, W, b) in one float dtype: W (n_l, n_prev), A (n_prev, m), b (n_l, 1)."""
    A = as_course_array(A, f"{name}: A")
    W = as_course_array(W, f"{name}: W")
    b = as_course_array(b, f"{name}: b", ndim=None)
    if A.shape[0] != W.shape[1]:
        raise ValueError(f"{name}: A must have shape ({W.shape[1]}, m) to match W {W.shape}, got {A.shape}")
    check_layer(W, b, "", name)
    return common_float(A, W, b)


def linear_forward(A: np.ndarray, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, LinearCache]:
    """Z = W A + b. A (n_prev, m), W (n_l, n_prev), b (n_l, 1) -> Z (n_l, m), cache (A, W, b)."""
    A, W, b = linear_arrays(A, W, b, "linear_forward")
    Z = affine_layer(W, b).forward(A.T).T
    return Z, (A, W, b)


def linear_activation_forward(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray,
                              activation: str) -> tuple[np.ndarray, Cache]:
    """A = g(W A_prev + b) for ``activation`` in "sigmoid", "relu" (and "tanh").

    Returns A (n_l, m) and ``cache = ((A_prev, W, b), Z)``.
    """
    forward, _ = activation_pair(activation, "linear_activation_forward")
    Z, linear_cache = linear_forward(A_prev, W, b)
    A, activation_cache = forward(Z)
    return A, (linear_cache, activation_cache)


def L_model_forward(X: np.ndarray, parameters: Mapping[str, np.ndarray]) -> tuple[np.ndarray, list[Cache]]:
    """[LINEAR -> RELU] x (L-1) -> LINEAR -> SIGMOID.

    X (n_x, m); ``parameters`` holds W1, b1, ..., WL, bL. Returns AL (n_L, m) and ``caches``, a list
    of L caches (``caches[l - 1]`` is layer l's).
    """
    L, params = course_parameters(parameters)
    A = X
    caches: list[Cache] = []
    for layer in range(1, L + 1):
        A, cache = linear_activation_forward(A, params[f"W{layer}"], params[f"b{layer}"],
                                             "sigmoid" if layer == L else "relu")
        caches.append(cache)
    return A, caches


def compute_cost(AL: np.ndarray, Y: np.ndarray) -> float:
    """Cross-entropy -1/m sum(Y log AL + (1 - Y) log(1 - AL)) for AL (1, m) probabilities, Y (1, m).

    A term whose weight is 0 contributes 0 even where its log is -inf (AL exactly 0 or 1 on the
    right side), so a confident correct prediction never turns the cost into NaN. The expression
    and its rounding are the course's (``1/m * sum(-log(AL) Y - log(1 - AL)(1 - Y))``): the
    difference a gradient check reports for a correct backward is rounding noise of the cost, and
    this keeps it at the course's printed 1.189e-07. (``log1p(-AL)`` would gain nothing here: both
    have an absolute error below 1e-16 per example.)
    """
    AL = as_course_array(AL, "compute_cost: AL")
    if AL.shape[0] != 1:
        raise ValueError(f"compute_cost: AL must have shape (1, m), got {AL.shape}")
    if np.any((AL < 0) | (AL > 1)):
        raise ValueError(f"compute_cost: AL must hold probabilities in [0, 1] (the sigmoid output), got "
                         f"values in [{AL.min():.6g}, {AL.max():.6g}]")
    m = AL.shape[1]
    Y = labels(Y, m, "compute_cost: Y")
    with np.errstate(divide="ignore", invalid="ignore"):
        logprobs = (np.where(Y > 0, np.multiply(-np.log(AL), Y), 0.0)
                    + np.where(Y < 1, np.multiply(-np.log(1 - AL), 1 - Y), 0.0))
    return float(1.0 / m * np.sum(logprobs))
