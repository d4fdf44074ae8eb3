"""Gradient clipping, in place on a dict of gradient arrays, as ``torch.nn.utils.clip_grad_*_``."""

from __future__ import annotations

import math

import numpy as np

from .._validate import check_mapping, check_real


def _check_grads(grads: object) -> dict[str, np.ndarray]:
    """``grads`` as a dict of writable float arrays (clipping works in place, so nothing is converted)."""
    check_mapping(grads, "grads")
    for k, g in grads.items():  # type: ignore[union-attr]
        if not isinstance(g, np.ndarray) or g.dtype.kind != "f":
            what = f"dtype {g.dtype}" if isinstance(g, np.ndarray) else type(g).__name__
            raise TypeError(f"grads[{k!r}] must be a float NumPy array (clipped in place), got {what}")
        if not g.flags.writeable:
            raise ValueError(f"grads[{k!r}] is read-only; clipping works in place on a writable array")
    return grads  # type: ignore[return-value]


def clip_grad_norm(grads: dict[str, np.ndarray], max_norm: float) -> float:
    """Scale every array of ``grads`` in place by min(1, max_norm / (total + 1e-6)), where total is
    the L2 norm of all gradients together; return total (the norm before clipping). A NaN/inf
    total makes the gradients NaN, as in PyTorch, so that divergence shows rather than hides."""
    grads = _check_grads(grads)
    max_norm = check_real(max_norm, "max_norm", 0.0, low_open=True)
    norms = [math.sqrt(float(np.vdot(g, g))) if g.size else 0.0 for g in grads.values()]
    total = math.sqrt(math.fsum(n * n for n in norms)) if all(map(math.isfinite, norms)) else math.inf
    if any(math.isnan(n) for n in norms):
        total = math.nan
    coef = max_norm / (total + 1e-6)
    if coef >= 1.0:  # a NaN coef scales too
        return total
    for g in grads.values():
        g *= g.dtype.type(coef)
    return total


def clip_grad_value(grads: dict[str, np.ndarray], clip_value: float) -> None:
    """Clamp every element of every array of ``grads`` to [-clip_value, clip_value], in place."""
    grads = _check_grads(grads)
    clip_value = check_real(clip_value, "clip_value", 0.0, low_open=True)
    for g in grads.values():
        np.clip(g, -clip_value, clip_value, out=g)
