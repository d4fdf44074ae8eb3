"""Elementwise and row-wise activations: forward and backward side by side, no parameters.

Every activation maps x of any shape (float32 or float64) to y of the same shape and dtype;
``backward(dout)`` takes dout of that shape and dtype and returns a new array dx, never modifying
``dout`` in place (Deep Learning from Scratch's ``Relu.backward`` does, which corrupts the
upstream gradient whenever dout is shared). Nor does a layer keep a reference to an array the
caller holds (its input, or the output it returns): ``y *= 2`` after forward does not change dx.
Inside ``reuse_buffers`` (``fit``'s steps), where the caller treats y as read-only, ReLU writes y,
its mask and dx into arrays it owns, overwritten by its next call (or, after a Linear in a
Sequential, into the Linear's output and dx, which it hands over), and Sigmoid, Tanh and Softmax
return the y they cache without a protective copy.
"""

from __future__ import annotations

import numpy as np

from .._validate import check_choice
from . import functional as F
from .module import Layer

_BOOL = np.dtype(bool)


class Identity(Layer):
    """y = x."""

    def __init__(self) -> None:
        super().__init__()
        self.x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        # backward needs only x's shape and dtype: keep an empty-strided stand-in, not the caller's array.
        x = self._check_input(x)
        self.x = np.broadcast_to(np.zeros((), x.dtype), x.shape)
        return x.copy()

    elementwise = True

    def forward_rows(self, x: np.ndarray) -> np.ndarray:
        return x

    def taylor(self, x: np.ndarray, y: np.ndarray, order: int) -> list[np.ndarray]:
        return [np.ones_like(x)] + [np.zeros_like(x)] * (order - 1)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self._require(self.x)
        return self._check_dout(dout, self.x.shape, self.x.dtype).copy()


class ReLU(Layer):
    """y = max(x, 0); dy/dx = 1 where x > 0, else 0 (the subgradient 0 at x = 0)."""

    def __init__(self) -> None:
        super().__init__()
        self.mask: np.ndarray | None = None
        self.y: np.ndarray | None = None  # the output, kept instead of the mask when computed in place
        self.dtype: np.dtype | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = self._check_input(x)
        self.dtype = x.dtype
        if self._takes_input and self._reuse:
            # reuse_buffers: x is the previous Linear's own output, which nobody reads after us: max in
            # place, and the mask from y in backward (y > 0 exactly where x > 0), as a NumPy step does.
            self.mask, self.y = None, np.maximum(x, 0, out=x)
            return self.y
        # A bool mask costs 1 byte per element, less than a copy of x or y.
        self.mask, self.y = np.greater(x, 0, out=self._scratch("mask", x.shape, _BOOL)), None
        return np.maximum(x, 0, out=self._scratch("y", x.shape, x.dtype))

    elementwise = True

    def forward_rows(self, x: np.ndarray) -> np.ndarray:
        return np.maximum(x, 0)

    def taylor(self, x: np.ndarray, y: np.ndarray, order: int) -> list[np.ndarray]:
        return [(x > 0).astype(x.dtype)] + [np.zeros_like(x)] * (order - 1)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        mask = self.mask
        if mask is None:
            self._require(self.y)
            mask = np.greater(self.y, 0, out=self._scratch("mask", self.y.shape, _BOOL))
        dout = self._check_dout(dout, mask.shape, self.dtype)
        # reuse_buffers: the next Linear's dx is ours to overwrite; otherwise a new (or own) array.
        out = dout if self._takes_dout and self._reuse else self._scratch("dx", dout.shape, dout.dtype)
        return np.multiply(dout, mask, out=out)


class LeakyReLU(Layer):
    """y = x for x > 0, else negative_slope * x."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float, np.number)) \
                or not np.isfinite(negative_slope):
            raise ValueError(f"negative_slope must be a finite number, got {negative_slope!r}")
        self.negative_slope = float(negative_slope)
        self.mask: np.ndarray | None = None
        self.dtype: np.dtype | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = self._check_input(x)
        self.mask, self.dtype = x > 0, x.dtype
        return np.where(self.mask, x, x * self.negative_slope)

    elementwise = True

    def forward_rows(self, x: np.ndarray) -> np.ndarray:
        return np.where(x > 0, x, x * self.negative_slope)

    def taylor(self, x: np.ndarray, y: np.ndarray, order: int) -> list[np.ndarray]:
        return [np.where(x > 0, 1.0, self.negative_slope).astype(x.dtype)] + [np.zeros_like(x)] * (order - 1)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self._require(self.mask)
        dout = self._check_dout(dout, self.mask.shape, self.dtype)
        return np.where(self.mask, dout, dout * self.negative_slope)

    def get_config(self) -> dict:
        return {"negative_slope": self.negative_slope}

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Layer):
    """y = 1 / (1 + exp(-x)); dy/dx = y (1 - y)."""

    def __init__(self) -> None:
        super().__init__()
        self.out: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = F.sigmoid(self._check_input(x))
        # The caller may modify y in place and backward needs the original (reuse_buffers: it won't).
        return self.out if self._reuse else self.out.copy()

    elementwise = True

    def forward_rows(self, x: np.ndarray) -> np.ndarray:
        return F.sigmoid(x)

    def taylor(self, x: np.ndarray, y: np.ndarray, order: int) -> list[np.ndarray]:
        """s = y(1 - y); the derivatives are s, s(1 - 2y), s(1 - 6y + 6y²), s(1 - 2y)(1 - 12y + 12y²)."""
        s = y * (1 - y)
        c = [s, s * (1 - 2 * y) / 2, s * (1 - 6 * y + 6 * y * y) / 6,
             s * (1 - 2 * y) * (1 - 12 * y + 12 * y * y) / 24]
        return c[:order] if order <= 4 else None

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self._require(self.out)
        y = self.out
        return self._check_dout(dout, y.shape, y.dtype) * (y * (1 - y))


class Tanh(Layer):
    """y = tanh(x); dy/dx = 1 - y²."""

    def __init__(self) -> None:
        super().__init__()
        self.out: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = np.tanh(self._check_input(x))
        # The caller may modify y in place and backward needs the original (reuse_buffers: it won't).
        return self.out if self._reuse else self.out.copy()

    elementwise = True

    def forward_rows(self, x: np.ndarray) -> np.ndarray:
        return np.tanh(x)

    def taylor(self, x: np.ndarray, y: np.ndarray, order: int) -> list[np.ndarray]:
        """s = 1 - y²; the derivatives are s, -2ys, s(6y² - 2), sy(16 - 24y²)."""
        s = 1 - y * y
        c = [s, -y * s, s * (3 * y * y - 1) / 3, s * y * (2 - 3 * y * y) / 3]
        return c[:order] if order <= 4 else None

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self._require(self.out)
        y = self.out
        return self._check_dout(dout, y.shape, y.dtype) * (1 - y * y)


class Softmax(Layer):
    """Row-wise softmax over the last axis: (N, C) -> (N, C), rows sum to 1.

    backward: dx = y * (dout - sum(dout * y, axis=-1)). For classification prefer
    ``CrossEntropyLoss`` on the logits, which fuses softmax and log stably.
    """

    def __init__(self) -> None:
        super().__init__()
        self.out: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = self._check_input(x)
        if x.ndim < 1 or x.shape[-1] == 0:
            raise ValueError(f"Softmax.forward: x must have at least 1 dimension and a non-empty last axis, "
                             f"got shape {x.shape}")
        self.out = F.softmax(x, axis=-1)
        # The caller may modify y in place and backward needs the original (reuse_buffers: it won't).
        return self.out if self._reuse else self.out.copy()

    def forward_rows(self, x: np.ndarray) -> np.ndarray:
        return F.softmax(x, axis=-1)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self._require(self.out)
        y = self.out
        dout = self._check_dout(dout, y.shape, y.dtype)
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
    return ACTIVATIONS[check_choice(name, tuple(ACTIVATIONS), "activation")]()
