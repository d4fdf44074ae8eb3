"""Elementwise and row-wise activations: forward and backward side by side, no parameters.

Each backward returns a new array and never modifies ``dout`` in place.
"""

from __future__ import annotations

import numpy as np

from . import functional as F
from .module import Layer


class Identity(Layer):
    """y = x."""

    def __init__(self) -> None:
        super().__init__()
        self.shape: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.shape = x.shape
        return x

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self._require(self.shape)
        return self._check_dout(dout, self.shape).copy()


class ReLU(Layer):
    """y = max(x, 0); dy/dx = 1 where x > 0, else 0 (the subgradient 0 at x = 0)."""

    def __init__(self) -> None:
        super().__init__()
        self.mask: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.mask = x > 0
        return np.maximum(x, 0)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self._require(self.mask)
        return self._check_dout(dout, self.mask.shape) * self.mask


class LeakyReLU(Layer):
    """y = x for x > 0, else negative_slope * x."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        if not np.isfinite(negative_slope):
            raise ValueError(f"negative_slope must be finite, got {negative_slope!r}")
        self.negative_slope = float(negative_slope)
        self.mask: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.mask = x > 0
        return np.where(self.mask, x, self.negative_slope * x).astype(x.dtype, copy=False)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self._require(self.mask)
        dout = self._check_dout(dout, self.mask.shape)
        return np.where(self.mask, dout, self.negative_slope * dout).astype(dout.dtype, copy=False)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Layer):
    """y = 1 / (1 + exp(-x)); dy/dx = y (1 - y)."""

    def __init__(self) -> None:
        super().__init__()
        self.out: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = F.sigmoid(x)
        return self.out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self._require(self.out)
        return self._check_dout(dout, self.out.shape) * self.out * (1 - self.out)


class Tanh(Layer):
    """y = tanh(x); dy/dx = 1 - y²."""

    def __init__(self) -> None:
        super().__init__()
        self.out: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self._require(self.out)
        return self._check_dout(dout, self.out.shape) * (1 - self.out**2)


class Softmax(Layer):
    """Row-wise softmax over the last axis: (N, C) -> (N, C), rows sum to 1.

    backward: dx = y * (dout - sum(dout * y, axis=-1)). For classification prefer
    ``CrossEntropyLoss`` on the logits, which fuses softmax and log stably.
    """

    def __init__(self) -> None:
        super().__init__()
        self.out: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = F.softmax(x, axis=-1)
        return self.out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self._require(self.out)
        y = self.out
        dout = self._check_dout(dout, y.shape)
        return y * (dout - np.sum(dout * y, axis=-1, keepdims=True))


ACTIVATIONS: dict[str, type[Layer]] = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "softmax": Softmax,
    "identity": Identity,
}


def get_activation(name: str | Layer) -> Layer:
    """Return a fresh activation layer for ``name`` (or pass a Layer instance through)."""
    if isinstance(name, Layer):
        return name
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; expected one of "
                         f"{', '.join(map(repr, ACTIVATIONS))}")
    return ACTIVATIONS[name]()
