"""Numerically stable elementwise and row-wise functions shared by layers, losses and the course API.

All functions accept array-likes, keep a floating input's dtype (float32 stays float32) and compute
integer or boolean input in float64.
"""

from __future__ import annotations

import numpy as np


def _floating(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    return x if x.dtype.kind == "f" else x.astype(np.float64)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function 1 / (1 + exp(-x)), without overflow for large |x|.

    Written as exp(min(x, 0)) / (1 + exp(-|x|)) so exp never sees a positive argument, and
    sigmoid(-40) keeps its full relative precision instead of rounding 1 - 1 to 0.
    """
    x = _floating(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1, e) / (1 + e)


def logsumexp(x: np.ndarray, axis: int | tuple[int, ...] | None = -1, keepdims: bool = False) -> np.ndarray:
    """log(sum(exp(x))) over ``axis`` (an int, a tuple, or None for all), shifted by the maximum so
    it never overflows."""
    x = _floating(x)
    m = np.max(x, axis=axis, keepdims=True)
    out = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """x - logsumexp(x) along ``axis``, computed as (x - max) - log(sum(exp(x - max))) so that the
    largest entry's log-probability keeps full precision even when |x| is huge."""
    x = _floating(x)
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """exp(x) / sum(exp(x)) along ``axis``, computed from the max-shifted logits."""
    x = _floating(x)
    e = x - np.max(x, axis=axis, keepdims=True)
    np.exp(e, out=e)  # in place: e is our own temporary
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


def softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + exp(x)) computed as max(x, 0) + log1p(exp(-|x|))."""
    x = _floating(x)
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))
