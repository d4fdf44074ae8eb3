"""Losses from logits, named as in PyTorch. Each averages over the batch ('mean' reduction) and
returns a Python float; ``backward()`` returns dL/dlogits with the logits' shape and dtype."""

from __future__ import annotations

import numpy as np

from . import functional as F
from .module import Loss


def _check_logits(logits: np.ndarray, name: str) -> np.ndarray:
    logits = np.asarray(logits)
    if logits.dtype.kind != "f":
        raise TypeError(f"{name}: logits must be a floating array, got dtype {logits.dtype}")
    if logits.size == 0:
        raise ValueError(f"{name}: logits is empty (shape {logits.shape})")
    return logits


class CrossEntropyLoss(Loss):
    """Softmax + cross-entropy, fused and computed with log-sum-exp.

    logits: (N, C). target: integer class labels (N,) in [0, C), or class probabilities /
    one-hot rows (N, C). Loss = mean over the batch of -sum_c t_c log softmax(z)_c.
    """

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float:
        z = _check_logits(logits, "CrossEntropyLoss")
        if z.ndim != 2:
            raise ValueError(f"CrossEntropyLoss: logits must have shape (N, C), got {z.shape}")
        n, c = z.shape
        t = np.asarray(target)
        if t.ndim == 1 and t.dtype.kind in "iub":
            if t.shape != (n,):
                raise ValueError(f"CrossEntropyLoss: integer target must have shape ({n},), got {t.shape}")
            if t.size and (t.min() < 0 or t.max() >= c):
                raise ValueError(f"CrossEntropyLoss: target labels must lie in [0, {c - 1}], "
                                 f"got values in [{t.min()}, {t.max()}]")
            probs = np.zeros_like(z)
            probs[np.arange(n), t] = 1
        elif t.ndim == 2 and t.dtype.kind in "f":
            if t.shape != z.shape:
                raise ValueError(f"CrossEntropyLoss: probability target must have shape {z.shape}, "
                                 f"got {t.shape}")
            probs = t.astype(z.dtype, copy=False)
        else:
            raise ValueError(f"CrossEntropyLoss: target must be integer labels of shape ({n},) or "
                             f"float class probabilities of shape {z.shape}; got dtype {t.dtype}, "
                             f"shape {t.shape}")
        logp = F.log_softmax(z, axis=1)
        self.cache = (np.exp(logp), probs)
        return float(-np.sum(probs * logp) / n)

    def backward(self) -> np.ndarray:
        p, t = self._cached()
        return (p * t.sum(axis=1, keepdims=True) - t) / p.shape[0]


class BCEWithLogitsLoss(Loss):
    """Sigmoid + binary cross-entropy, fused: mean of max(z,0) - z t + log(1 + exp(-|z|)).

    logits and target have the same shape, e.g. (N,) or (N, 1); targets lie in [0, 1].
    """

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float:
        z = _check_logits(logits, "BCEWithLogitsLoss")
        t = np.asarray(target)
        if t.shape != z.shape:
            raise ValueError(f"BCEWithLogitsLoss: target must have the logits' shape {z.shape}, "
                             f"got {t.shape}")
        if t.dtype.kind not in "biuf":
            raise TypeError(f"BCEWithLogitsLoss: target must be numeric, got dtype {t.dtype}")
        if t.size and (t.min() < 0 or t.max() > 1):
            raise ValueError(f"BCEWithLogitsLoss: target values must lie in [0, 1], "
                             f"got values in [{t.min()}, {t.max()}]")
        t = t.astype(z.dtype, copy=False)
        self.cache = (z, t)
        return float(np.mean(F.softplus(z) - z * t))

    def backward(self) -> np.ndarray:
        z, t = self._cached()
        return (F.sigmoid(z) - t) / z.size


class MSELoss(Loss):
    """Mean squared error over all elements (as PyTorch): mean((y - t)²); y and t share a shape."""

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float:
        y = _check_logits(logits, "MSELoss")
        t = np.asarray(target)
        if t.shape != y.shape:
            raise ValueError(f"MSELoss: target must have the input's shape {y.shape}, got {t.shape}")
        if t.dtype.kind not in "biuf":
            raise TypeError(f"MSELoss: target must be numeric, got dtype {t.dtype}")
        self.cache = y - t.astype(y.dtype, copy=False)
        return float(np.mean(self.cache**2))

    def backward(self) -> np.ndarray:
        diff = self._cached()
        return 2 * diff / diff.size


LOSSES: dict[str, type[Loss]] = {
    "cross_entropy": CrossEntropyLoss,
    "bce_with_logits": BCEWithLogitsLoss,
    "mse": MSELoss,
}
