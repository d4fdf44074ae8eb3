"""Losses from logits, named as in PyTorch. Each averages over the batch ('mean' reduction) and
returns a Python float; ``backward()`` returns dL/dlogits with the logits' shape and dtype."""

from __future__ import annotations

import math

import numpy as np

from .._validate import check_float_array, to_array
from . import functional as F
from .module import _FLOAT32, _FLOAT64, Loss

_INTP = np.dtype(np.intp)


_ROWS = np.arange(0)


def _rows(n: int) -> np.ndarray:
    """np.arange(n), read-only, a view of one array kept for batch sizes up to 65,536 (each training
    step picks one logit per row; larger n, e.g. a whole data set, get their own)."""
    global _ROWS
    if _ROWS.shape[0] < n:
        if n > 65536:
            return np.arange(n)
        _ROWS = np.arange(max(n, min(2 * _ROWS.shape[0], 65536)))
        _ROWS.flags.writeable = False
    return _ROWS[:n]


def _check_logits(logits: np.ndarray, name: str) -> np.ndarray:
    logits = check_float_array(logits, f"{name}: logits")
    if logits.size == 0:
        raise ValueError(f"{name}: logits is empty (shape {logits.shape})")
    return logits


def check_unit_interval(t: np.ndarray, name: str) -> None:
    """``ValueError`` unless every entry of ``t`` lies in [0, 1]. Shared with the autodiff rules."""
    if t.size == 0:
        return
    # Written so that NaN fails too: every comparison with NaN is False.
    lo, hi = t.min(), t.max()
    if not (lo >= 0 and hi <= 1):
        raise ValueError(f"{name} values must lie in [0, 1], got values in [{lo}, {hi}]")


def check_cross_entropy_target(t: np.ndarray, n: int, c: int, dtype: np.dtype,
                               name: str = "CrossEntropyLoss") -> np.ndarray:
    """The cross-entropy target for logits (n, c): integer labels (n,) in [0, c) as intp, or class
    probabilities (n, c) in [0, 1] as ``dtype``. ``name`` starts the messages. Shared with
    ``autodiff.cross_entropy`` and the autodiff rule of ``CrossEntropyLoss``."""
    if t.__class__ is np.ndarray and t.dtype is _INTP and t.shape == (n,) and \
            (n == 0 or t.view(np.uintp).max() < c):  # a negative label wraps to a huge unsigned one
        return t  # labels as training passes them, checked in one reduction
    t = to_array(t, f"{name}: target")
    if t.dtype.kind == "b" and t.ndim == 1:  # as fit: True/False are not class indices by accident
        raise TypeError(f"{name}: target labels must be integers, got dtype bool; for two classes "
                        "pass target.astype(int)")
    if t.dtype.kind in "iu" and t.ndim == 1:
        if t.shape != (n,):
            raise ValueError(f"{name}: integer target must have shape ({n},) for logits of shape ({n}, {c}), "
                             f"got {t.shape}")
        if n and (t.min() < 0 or t.max() >= c):
            raise ValueError(f"{name}: target labels must lie in [0, {c - 1}], "
                             f"got values in [{t.min()}, {t.max()}]")
        return t.astype(np.intp, copy=False)
    if t.dtype.kind in "iubf" and t.ndim == 2 and t.shape == (n, c):
        check_unit_interval(t, f"{name}: probability target")
        return t.astype(dtype, copy=False)
    hint = ""
    if t.ndim == 2 and t.shape == (n, 1):
        hint = "; for labels of shape (N, 1) pass target.ravel()"
    elif t.ndim == 1 and t.dtype.kind == "f":
        hint = "; for float class labels pass target.astype(int)"
    raise ValueError(f"{name}: target must be integer labels of shape ({n},) or class "
                     f"probabilities of shape ({n}, {c}) for logits of shape ({n}, {c}); got dtype "
                     f"{t.dtype}, shape {t.shape}{hint}")


def check_same_shape_target(t: np.ndarray, z: np.ndarray, name: str, whose: str) -> np.ndarray:
    """A numeric target of exactly ``z``'s shape (never broadcast), as ``z``'s dtype. ``whose``
    names ``z`` in the message ("the logits'", "the input's"). Shared with the autodiff rules."""
    t = to_array(t, f"{name}: target")
    if t.dtype.kind not in "biuf":
        raise TypeError(f"{name}: target must be numeric, got dtype {t.dtype}")
    if t.shape != z.shape:
        raise ValueError(f"{name}: target must have {whose} shape {z.shape}, got {t.shape}")
    return t.astype(z.dtype, copy=False)


def _log1p(u: np.ndarray) -> np.ndarray:
    """log(1 + u), from its series when every |u| <= 1e-3 (terms until the next falls below 1e-17 of
    u), else np.log1p: the batched check's losses move by tiny amounts, millions of times."""
    top = float(np.abs(u).max()) if u.size else 0.0
    if top > 1e-3:
        return np.log1p(u)
    terms = next((p for p in range(1, 8) if top ** p / (p + 1) < 1e-17), 7)
    out = np.full_like(u, (-1.0) ** (terms + 1) / terms)
    for p in range(terms - 1, 0, -1):  # Horner: u (1 - u (1/2 - u (1/3 - ...)))
        out *= u
        out += (-1.0) ** (p + 1) / p
    out *= u
    return out


class CrossEntropyLoss(Loss):
    """Softmax + cross-entropy, fused and computed with log-sum-exp.

    logits: (N, C) float32/float64. target: integer class labels (N,) in [0, C), or class
    probabilities / one-hot rows (N, C) with entries in [0, 1]. Loss = mean over the batch of
    -sum_c t_c log softmax(z)_c; backward returns (softmax(z) * sum_c t_c - t) / N, shape (N, C).

    Integer labels never build a one-hot matrix: the loss picks one logit per row and backward
    subtracts 1/N at the labels' positions, so the cost is that of one softmax. Inside
    ``reuse_buffers`` (``fit``'s steps) the softmax and, for labels, the gradient are written into
    arrays the loss owns, overwritten by its next call.
    """

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float:
        z = logits
        if z.__class__ is not np.ndarray or not (z.dtype is _FLOAT32 or z.dtype is _FLOAT64) or z.size == 0:
            z = _check_logits(logits, "CrossEntropyLoss")
        if z.ndim != 2:
            raise ValueError(f"CrossEntropyLoss: logits must have shape (N, C), got {z.shape}")
        n, c = z.shape
        t = check_cross_entropy_target(target, n, c, z.dtype)
        m = np.maximum.reduce(z, axis=1, keepdims=True)
        e = np.subtract(z, m, out=self._scratch("e", z.shape, z.dtype))
        if t.ndim == 1:
            picked = e[_rows(n), t]  # z_t - m, before e is exponentiated in place
        else:
            shifted = e.copy()
        np.exp(e, out=e)  # e is our own temporary: exponentiate in place
        s = np.add.reduce(e, axis=1, keepdims=True)
        log_s = np.log(s)
        if t.ndim == 1:
            # -log softmax(z)_t = log(s) - (z_t - m): both terms are small, so no cancellation.
            loss = np.add.reduce(log_s[:, 0] - picked) / n
        else:
            loss = -np.sum(t * (shifted - log_s)) / n
        # t may be the caller's array (labels are not copied when already intp): keep our own copy,
        # except inside reuse_buffers, whose caller leaves it unchanged until backward.
        self.cache = (e, s, t if self._reuse else t.copy())
        return float(loss)

    def backward(self) -> np.ndarray:
        e, s, t = self._cached()
        n = e.shape[0]
        if t.ndim == 1:
            grad = np.divide(e, s * n, out=self._scratch("grad", e.shape, e.dtype))
            grad[_rows(n), t] -= grad.dtype.type(1) / n
            return grad
        # The sum over t allows targets whose rows do not add up to 1, exactly as PyTorch.
        return (e * (t.sum(axis=1, keepdims=True) / s) - t) / n

    def row_losses(self, logits: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Batched-check opt-in: each row's -sum_c t_c log softmax(z)_c, as ``forward`` computes it."""
        z, t = logits, np.asarray(target)
        if z.shape[-1] <= 64:  # NumPy reduces a short last axis slowly: a few vector maxima instead
            m = z[..., :1].copy()
            for c in range(1, z.shape[-1]):
                np.maximum(m, z[..., c:c + 1], out=m)
        else:
            m = z.max(axis=-1, keepdims=True)
        e = z - m
        np.exp(e, out=e)
        log_s = np.log(e @ np.ones(z.shape[-1], z.dtype))
        if t.ndim == z.ndim - 1:  # class labels
            labels = np.broadcast_to(t.astype(np.intp, copy=False)[..., None], (*z.shape[:-1], 1))
            return log_s - (np.take_along_axis(z, labels, axis=-1)[..., 0] - m[..., 0])
        return -np.sum(t.astype(z.dtype, copy=False) * ((z - m) - log_s[..., None]), axis=-1)

    def row_changes(self, logits: np.ndarray, delta: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Row changes for logits z + delta[k]: log-sum-exp moves by log1p(sum_c e_c (exp(d_c) - 1) /
        sum_c e_c), e = exp(z - max z), with exp(d) - 1 from its series while |d| <= 1e-3 (no K copies
        of exp, and no cancellation between two nearly equal losses); larger moves use expm1."""
        z, t = logits, np.asarray(target)
        if z.ndim != 2 or len(delta) == 0:
            return super().row_changes(logits, delta, target)
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        s = e.sum(axis=-1)
        top = float(np.abs(delta).max())
        if top <= 1e-3:
            terms = next((p for p in range(1, 5) if top ** p / math.factorial(p + 1) < 1e-17), 4)
            grow = delta / terms + 1 if terms > 1 else np.ones_like(delta)  # d (1 + d/2 (1 + d/3 (...)))
            for p in range(terms - 1, 1, -1):
                grow *= delta / p
                grow += 1
            grow *= delta
        else:
            grow = np.expm1(delta)
        grow *= e
        lse = _log1p(grow.sum(axis=-1) / s)
        if t.ndim == z.ndim - 1:
            labels = np.broadcast_to(t.astype(np.intp, copy=False)[None, :, None],
                                     (len(delta), z.shape[0], 1))
            return lse - np.take_along_axis(delta, labels, axis=-1)[..., 0]
        tf = t.astype(z.dtype, copy=False)
        return lse * tf.sum(axis=-1) - np.sum(tf * delta, axis=-1)

    def row_changes_outer(self, logits: np.ndarray, a: np.ndarray, b: np.ndarray,
                          target: np.ndarray) -> np.ndarray:
        """Row changes for logits z + a[k] b[k] without exponentiating K copies of z.

        With e = exp(z - max z) and d = a_n b_c, log-sum-exp moves by log1p(sum_c e_c (exp(d_c) - 1)
        / sum_c e_c), and exp(d) - 1 = d + d²/2 + d³/6 + d⁴/24 to rounding when |d| <= 1e-3 (the next
        term is below 1e-17 d), so sum_c e_c b_c^p for p = 1..4 is all the K copies need: four
        matrix products. Copies that move further are evaluated in full."""
        z, t = logits, np.asarray(target)
        if len(a) == 0:
            return np.empty((0, z.shape[0]))
        m = z.max(axis=-1, keepdims=True)
        e = np.exp(z - m)
        s = e.sum(axis=-1)
        top = float(np.abs(a).max() * np.abs(b).max())  # no copy moves a logit further
        near = np.abs(a).max(axis=1) * np.abs(b).max(axis=1) <= 1e-3 if top > 1e-3 else np.ones(len(a), bool)
        if not near.all():
            out = np.empty(a.shape)
            far = ~near
            out[far] = super().row_changes_outer(z, a[far], b[far], t)
            out[near] = self.row_changes_outer(z, a[near], b[near], t)
            return out
        # terms up to d^P / P! where the next one falls below 1e-17 of d
        terms = next((p for p in range(1, 5) if top ** p / math.factorial(p + 1) < 1e-17), 4)
        powers = [b]
        for p in range(2, terms + 1):
            powers.append(powers[-1] * b / p)  # b^p / p!
        k, m_rows = len(a), z.shape[0]
        # (K, terms, M): sum_c e_c b_c^p / p!, one matrix product
        moments = (np.stack(powers, axis=1).reshape(k * terms, -1) @ e.T).reshape(k, terms, m_rows)
        sigma = moments[:, terms - 1].copy()
        for p in range(terms - 2, -1, -1):  # Horner in a
            sigma *= a
            sigma += moments[:, p]
        sigma *= a
        sigma /= s
        lse = _log1p(sigma)
        if t.ndim == z.ndim - 1:  # class labels: the picked logit moves by a_n b_{t_n}
            moved = a * b[:, t.astype(np.intp, copy=False)]
        else:
            tf = t.astype(z.dtype, copy=False)
            lse *= tf.sum(axis=-1)
            moved = a * (b @ tf.T)
        return lse - moved


class BCEWithLogitsLoss(Loss):
    """Sigmoid + binary cross-entropy, fused: mean of max(z,0) - z t + log(1 + exp(-|z|)).

    logits and target have the same shape, e.g. (N,) or (N, 1) (never broadcast against each
    other); targets lie in [0, 1]. backward returns (sigmoid(z) - t) / z.size, the logits' shape.
    """

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float:
        z = _check_logits(logits, "BCEWithLogitsLoss")
        t = check_same_shape_target(target, z, "BCEWithLogitsLoss", "the logits'")
        check_unit_interval(t, "BCEWithLogitsLoss: target")
        # Cache the gradient's numerator, our own array, rather than the caller's z and t.
        grad = F.sigmoid(z)
        grad -= t
        self.cache = grad
        return float(np.mean(F.softplus(z) - z * t))

    def backward(self) -> np.ndarray:
        grad = self._cached()
        return grad / grad.size

    def row_losses(self, logits: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Batched-check opt-in: each row's sum of softplus(z) - z t."""
        terms = F.softplus(logits) - logits * target
        return terms.reshape(*logits.shape[:2], -1).sum(axis=-1)

    def row_normaliser(self, shape: tuple[int, ...]) -> float:
        return float(np.prod(shape))


class MSELoss(Loss):
    """Mean squared error over all elements (as PyTorch): mean((y - t)²).

    input y and target t share a shape (never broadcast); backward returns 2 (y - t) / y.size.
    """

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float:
        y = _check_logits(logits, "MSELoss")
        diff = y - check_same_shape_target(target, y, "MSELoss", "the logits'")
        self.cache = diff
        return float(np.mean(diff * diff))

    def backward(self) -> np.ndarray:
        diff = self._cached()
        return diff * (2 / diff.size)

    def row_losses(self, logits: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Batched-check opt-in: each row's sum of squared differences."""
        diff = logits - target
        return (diff * diff).reshape(*logits.shape[:2], -1).sum(axis=-1)

    def row_changes_outer(self, logits: np.ndarray, a: np.ndarray, b: np.ndarray,
                          target: np.ndarray) -> np.ndarray:
        """(diff + d)² - diff² = (2 diff + d) d with d = a_n b_c, summed over the row: exact."""
        if logits.ndim != 2:
            return super().row_changes_outer(logits, a, b, target)
        diff = logits - target
        return 2 * a * (b @ diff.T) + a * a * np.sum(b * b, axis=1)[:, None]

    def row_normaliser(self, shape: tuple[int, ...]) -> float:
        return float(np.prod(shape))


LOSSES: dict[str, type[Loss]] = {
    "cross_entropy": CrossEntropyLoss,
    "bce_with_logits": BCEWithLogitsLoss,
    "mse": MSELoss,
}
