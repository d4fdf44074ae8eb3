"""The two contracts every part of chainrule builds on: ``Layer`` and ``Loss``.

A layer maps ``x`` of shape (N, ...) to ``y`` and back::

    y  = layer.forward(x)        # caches what backward needs
    dx = layer.backward(dy)      # dy = dL/dy; fills layer.grads[name] = dL/dparams[name]

``params`` and ``grads`` are plain dicts name -> array with matching shapes and dtypes. Optimizers
update ``params`` arrays in place, so references to them stay valid. Subclass a layer and override
``backward`` to test your own derivation: the gradient checker compares it with the numbers.
"""

from __future__ import annotations

import numpy as np


class Layer:
    """Base class: a differentiable map with its own parameters and cached forward state."""

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must implement forward(x)")

    def backward(self, dout: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must implement backward(dout)")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def zero_grad(self) -> None:
        for name, p in self.params.items():
            self.grads[name] = np.zeros_like(p)

    def _require(self, cached: object, what: str = "forward") -> None:
        if cached is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before {what}(): "
                               "there is no cached input to differentiate at")

    def _check_dout(self, dout: np.ndarray, expected: tuple[int, ...]) -> np.ndarray:
        dout = np.asarray(dout)
        if dout.shape != expected:
            raise ValueError(f"{type(self).__name__}.backward: dout must have the forward output's "
                             f"shape {expected}, got {dout.shape}")
        return dout

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


class Loss:
    """Base class for a scalar loss of ``(logits, target)``; ``backward()`` returns dL/dlogits."""

    def __init__(self) -> None:
        self.cache: tuple | np.ndarray | None = None

    def _cached(self):
        if self.cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward()")
        return self.cache

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float:
        raise NotImplementedError(f"{type(self).__name__} must implement forward(logits, target)")

    def backward(self) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must implement backward()")

    def __call__(self, logits: np.ndarray, target: np.ndarray) -> float:
        return self.forward(logits, target)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
