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
from ._arrays import as_course_array, check_examples, check_layer, common_float, course_parameters, labels
from .activations import ACTIVATIONS, activation_pair

LinearCache = tuple[np.ndarray, np.ndarray, np.ndarray]
Cache = tuple[LinearCache, np.ndarray]

# Linear draws its initial W from an rng; ours passes the course's W instead, so this one is unused.
_UNUSED_RNG = np.random.default_rng(0)


def affine_layer(W: np.ndarray, b: np.ndarray, *, copy: bool = False) -> Linear:
    """A core ``Linear`` computing the course's Z = W A + b on transposes: its parameters are views of
    W (n_l, n_prev) and b (n_l, 1) of one dtype, or with ``copy=True`` copies of them (C-ordered)."""
    n, n_prev = W.shape
    Wt = np.array(W.T, order="C") if copy else W.T
    layer = Linear(n_prev, n, init=lambda fan_in, fan_out, rng, dtype: Wt, rng=_UNUSED_RNG, dtype=W.dtype)
    layer.params["b"] = b.reshape(n).copy() if copy else b.reshape(n)
    return layer


def linear_arrays(A: object, W: object, b: object, name: str, a_name: str = "A") -> LinearCache:
    """Validated (A, W, b) in one float dtype: W (n_l, n_prev), A (n_prev, m), b (n_l, 1)."""
    A = as_course_array(A, f"{name}: {a_name}")
    W = as_course_array(W, f"{name}: W")
    b = as_course_array(b, f"{name}: b", ndim=None)
    _check_rows(A, W, f"{name}: {a_name}")
    check_layer(W, b, "", name)
    return common_float(A, W, b)


def _check_rows(A: np.ndarray, W: np.ndarray, name: str) -> None:
    if A.shape[0] != W.shape[1]:
        raise ValueError(f"{name} must have shape ({W.shape[1]}, m) to match W {W.shape}, got {A.shape}")


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
    activation_pair(activation, "linear_activation_forward")
    return affine_activation(*linear_arrays(A_prev, W, b, "linear_activation_forward", a_name="A_prev"),
                             activation)


def affine_activation(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray, activation: str
                      ) -> tuple[np.ndarray, Cache]:
    """``linear_activation_forward`` for (A_prev, W, b) that passed ``linear_arrays`` and a known
    ``activation``: a loop over checked parameters does not check them again for every layer."""
    Z = affine_layer(W, b).forward(A_prev.T).T
    A, Z = ACTIVATIONS[activation][0](Z)
    return A, ((A_prev, W, b), Z)


def L_model_forward(X: np.ndarray, parameters: Mapping[str, np.ndarray]) -> tuple[np.ndarray, list[Cache]]:
    """[LINEAR -> RELU] x (L-1) -> LINEAR -> SIGMOID.

    X (n_x, m); ``parameters`` holds W1, b1, ..., WL, bL. Returns AL (n_L, m) and ``caches``, a list
    of L caches (``caches[l - 1]`` is layer l's).
    """
    _, params = course_parameters(parameters)
    X = as_course_array(X, "L_model_forward: X")
    _check_rows(X, params["W1"], "L_model_forward: X")
    return model_forward(X, params)


def model_forward(X: np.ndarray, parameters: Mapping[str, np.ndarray]) -> tuple[np.ndarray, list[Cache]]:
    """``L_model_forward`` for X and parameters that passed its checks (or were made by chainrule's
    own initialization and ``update_parameters``): the training loops skip checking them again."""
    L = len(parameters) // 2
    A = X
    caches: list[Cache] = []
    for layer in range(1, L + 1):
        A, cache = affine_activation(*common_float(A, parameters[f"W{layer}"], parameters[f"b{layer}"]),
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
    AL = check_examples(as_course_array(AL, "compute_cost: AL"), "compute_cost: AL")
    if AL.shape[0] != 1:
        raise ValueError(f"compute_cost: AL must have shape (1, m), got {AL.shape}")
    if np.any((AL < 0) | (AL > 1)):
        raise ValueError(f"compute_cost: AL must hold probabilities in [0, 1] (the sigmoid output), got "
                         f"values in [{AL.min():.6g}, {AL.max():.6g}]")
    m = AL.shape[1]
    Y = labels(Y, m, "compute_cost: Y", of="AL")
    with np.errstate(divide="ignore", invalid="ignore"):
        logprobs = (np.where(Y > 0, np.multiply(-np.log(AL), Y), 0.0)
                    + np.where(Y < 1, np.multiply(-np.log(1 - AL), 1 - Y), 0.0))
    return float(1.0 / m * np.sum(logprobs))


def cost_derivative(AL: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """dAL = -(Y / AL - (1 - Y) / (1 - AL)), the course's derivative of the summed cross-entropy
    (the 1/m of ``compute_cost`` lives in dW and db). AL and Y have the same shape; entries where
    AL is exactly 0 or 1 come out infinite or NaN, for the caller to refuse."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
