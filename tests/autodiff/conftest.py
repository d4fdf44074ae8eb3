"""Independent references for the autodiff tests, as fixtures: a central-difference gradient
written from the definition, the relative difference of seed 000, and PyTorch autograd in float64."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytest
import torch


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences (f(x + eps e_i) - f(x - eps e_i)) / (2 eps), perturbing ``x`` in place
    and restoring every element afterwards. ``f`` reads ``x`` and returns a float."""
    grad = np.zeros_like(x, dtype=np.float64)
    flat = x.reshape(-1)
    assert np.shares_memory(flat, x), "x must be contiguous so that its elements can be perturbed"
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = f()
        flat[i] = old - eps
        minus = f()
        flat[i] = old
        grad.reshape(-1)[i] = (plus - minus) / (2 * eps)
    return grad


def relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| / (||a|| + ||b||), seed 000's formula 2 (0 when both are zero)."""
    den = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if den == 0 else float(np.linalg.norm(a - b) / den)


def torch_vjp(fn: Callable[..., torch.Tensor], inputs: Sequence[np.ndarray], upstream: np.ndarray,
              wrt: Sequence[int]) -> list[np.ndarray]:
    """Gradients of sum(fn(*inputs) * upstream) w.r.t. ``inputs[i]`` for i in ``wrt``, by PyTorch."""
    ts = [torch.tensor(x, dtype=torch.float64 if x.dtype.kind == "f" else None,
                       requires_grad=i in wrt) for i, x in enumerate(inputs)]
    out = fn(*ts)
    (out * torch.tensor(upstream, dtype=torch.float64)).sum().backward()
    return [ts[i].grad.numpy() for i in wrt]


@pytest.fixture(name="numerical_gradient", scope="session")
def _numerical_gradient_fixture():
    return numerical_gradient


@pytest.fixture(name="relative_difference", scope="session")
def _relative_difference_fixture():
    return relative_difference


@pytest.fixture(name="torch_vjp", scope="session")
def _torch_vjp_fixture():
    return torch_vjp
