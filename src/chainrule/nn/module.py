"""The two contracts every part of chainrule builds on: ``Layer`` and ``Loss``.

A layer maps ``x`` of shape (N, ...) to ``y`` and back::

    y  = layer.forward(x)        # caches what backward needs
    dx = layer.backward(dy)      # dy = dL/dy; fills layer.grads[name] = dL/dparams[name]

``params`` and ``grads`` are plain dicts name -> array with matching shapes and dtypes. Optimizers
update ``params`` arrays in place, so references to them stay valid. Subclass a layer and override
``backward`` to test your own derivation: the gradient checker compares it with the numbers.

Inputs and gradients are float32 or float64 and keep their dtype: a dout of another dtype than the
forward output is an error, not a silent upcast. ``backward`` returns a new array and never writes
into ``dout``. ``backward_params(dy)`` fills ``grads`` only, for a first layer whose input is data.
"""

from __future__ import annotations

import numpy as np

from .._validate import FLOAT_DTYPES


def check_float_dtype(dtype: object, name: str = "dtype") -> np.dtype:
    """``dtype`` as ``np.dtype`` if it is float32 or float64; ``TypeError`` naming ``name`` otherwise."""
    try:
        # np.dtype(None) means float64; an explicit None is more likely a mistake than a request.
        resolved = None if dtype is None else np.dtype(dtype)  # type: ignore[arg-type]
    except TypeError:
        resolved = None
    # Test for None first: ``np.dtype("float64") == None`` is True, so ``in`` alone would accept it.
    if resolved is None or resolved not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be float32 or float64, got {dtype!r}")
    return resolved


class Layer:
    """Base class: a differentiable map with its own parameters and cached forward state."""

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must implement forward(x)")

    def backward(self, dout: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must implement backward(dout)")

    def backward_params(self, dout: np.ndarray) -> None:
        """Fill ``grads`` from ``dout`` when dL/dx is not needed (a network's first layer).

        The default runs ``backward`` and drops dx, so a subclass that overrides only ``backward`` is
        still the code that fills ``grads``; layers that can skip the dx work override this.
        """
        self.backward(dout)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def zero_grad(self) -> None:
        for name, p in self.params.items():
            self.grads[name] = np.zeros_like(p)

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter, keyed like ``params``."""
        return {k: v.copy() for k, v in self.params.items()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy ``state`` into the parameters in place; names, shapes and dtypes must match.

        Everything is checked before anything is written, so a bad ``state`` leaves the layer as it was.
        """
        own = self.params
        missing, extra = sorted(set(own) - set(state)), sorted(set(state) - set(own))
        if missing or extra:
            raise ValueError(f"load_state_dict: parameter names differ; missing {missing}, "
                             f"unexpected {extra}")
        arrays = {k: np.asarray(v) for k, v in state.items()}
        for k, v in arrays.items():
            if v.shape != own[k].shape or v.dtype != own[k].dtype:
                raise ValueError(f"load_state_dict: {k!r} must have shape {own[k].shape} and dtype "
                                 f"{own[k].dtype}, got shape {v.shape} and dtype {v.dtype}")
        for k, v in arrays.items():
            own[k][...] = v

    def _check_input(self, x: np.ndarray) -> np.ndarray:
        """``x`` as an array of float32/float64; other dtypes are refused rather than silently cast."""
        x = np.asarray(x)
        if x.dtype not in FLOAT_DTYPES:
            raise TypeError(f"{type(self).__name__}.forward: x must be a float32 or float64 array, "
                            f"got dtype {x.dtype}")
        return x

    def _require(self, cached: object, what: str = "forward") -> None:
        if cached is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before {what}(): "
                               "there is no cached input to differentiate at")

    def _check_dout(self, dout: np.ndarray, expected: tuple[int, ...],
                    dtype: np.dtype | None = None) -> np.ndarray:
        """``dout`` as an array of the forward output's shape (and, if given, dtype).

        A dtype mismatch is an error rather than a silent promotion, so float32 training stays float32.
        """
        dout = np.asarray(dout)
        if dout.shape != expected:
            raise ValueError(f"{type(self).__name__}.backward: dout must have the forward output's "
                             f"shape {expected}, got {dout.shape}")
        if dtype is not None and dout.dtype != dtype:
            raise TypeError(f"{type(self).__name__}.backward: dout must have the forward output's "
                            f"dtype {np.dtype(dtype)}, got {dout.dtype}")
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
