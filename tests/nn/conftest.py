"""Independent references for the nn tests: central differences in float64, nothing from chainrule.

The helpers are served by session-scoped fixtures so hypothesis tests can use them too.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Central-difference gradient of the scalar ``f()`` with respect to the float64 array ``x``.

    ``f`` takes no arguments and reads ``x`` (a parameter array, or an input closed over), which is
    perturbed in place one element at a time and restored exactly afterwards. Truncation error is
    O(eps²) and round-off O(1e-16 |f| / eps), so eps = 1e-5 gives ~1e-10 absolute accuracy.
    """
    if x.dtype != np.float64:
        raise TypeError(f"numerical_gradient needs a float64 array, got {x.dtype}")
    grad = np.empty_like(x)
    for idx in np.ndindex(x.shape):
        original = x[idx]
        x[idx] = original + eps
        f_plus = float(f())
        x[idx] = original - eps
        f_minus = float(f())
        x[idx] = original
        grad[idx] = (f_plus - f_minus) / (2 * eps)
    return grad


def relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| / (||a|| + ||b||), the gradient-checking measure (0 when both are zero)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


def layer_gradients(layer, x: np.ndarray, u: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Analytic vs numerical gradients of ``sum(layer.forward(x) * u)``.

    Returns ``{"x": (dx, dx_numeric), name: (grad, grad_numeric) for every parameter}``.
    """
    y = layer.forward(x)
    if y.shape != u.shape:
        raise ValueError(f"u must have the output's shape {y.shape}, got {u.shape}")
    dx = layer.backward(u.copy())
    analytic = {"x": dx, **{k: g.copy() for k, g in layer.grads.items()}}

    def scalar() -> float:
        return float(np.sum(layer.forward(x) * u))

    out = {"x": (analytic["x"], numerical_gradient(scalar, x))}
    for name, p in layer.params.items():
        out[name] = (analytic[name], numerical_gradient(scalar, p))
    return out


def away_from_zero(rng: np.random.Generator, shape: tuple[int, ...], margin: float = 0.1) -> np.ndarray:
    """Standard normal values pushed at least ``margin`` away from 0 (ReLU kinks), sign kept."""
    z = rng.standard_normal(shape)
    return np.where(z >= 0, z + margin, z - margin)


@pytest.fixture(scope="session")
def numgrad():
    return numerical_gradient


@pytest.fixture(scope="session")
def reldiff():
    return relative_difference


@pytest.fixture(scope="session")
def check_layer():
    return layer_gradients


@pytest.fixture(scope="session")
def away():
    return away_from_zero
