"""Fully connected layer ``Y = X @ W + b`` (row layout: one example per row)."""

from __future__ import annotations

import numpy as np

from .._validate import as_rng, check_float_dtype, check_positive_int
from .init import Initializer, get_initializer
from .module import Layer


class Linear(Layer):
    """Affine map from ``in_features`` to ``out_features``.

    Parameters: ``W`` (in_features, out_features), ``b`` (out_features,), both of ``dtype``
    (float32 or float64). forward: x (N, in_features) of that dtype -> y (N, out_features);
    backward: dout (N, out_features) -> dx (N, in_features), and ``grads["W"]``, ``grads["b"]``.
    A float64 x fed to a float32 layer is an error, as in PyTorch, rather than a silent upcast.
    """

    def __init__(self, in_features: int, out_features: int, *, init: str | Initializer = "he",
                 rng: np.random.Generator | int | None = None, dtype: type = np.float64) -> None:
        super().__init__()
        self.in_features = check_positive_int(in_features, "in_features")
        self.out_features = check_positive_int(out_features, "out_features")
        dtype = check_float_dtype(dtype)
        W = np.asarray(get_initializer(init)(self.in_features, self.out_features, as_rng(rng), dtype))
        if W.shape != (self.in_features, self.out_features):
            raise ValueError(f"init returned W of shape {W.shape}, expected "
                             f"{(self.in_features, self.out_features)}")
        if W.dtype.kind not in "iuf":
            raise TypeError(f"init returned W of dtype {W.dtype}, expected a real floating array")
        if not np.all(np.isfinite(W)):
            raise ValueError("init returned W with non-finite values (NaN or inf)")
        self.params = {"W": W.astype(dtype, copy=False), "b": np.zeros(self.out_features, dtype)}
        self.zero_grad()
        self.x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = self._check_input(x)
        W = self.params["W"]
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"Linear.forward: x must have shape (N, {self.in_features}), got {x.shape}")
        if x.dtype != W.dtype:
            raise TypeError(f"Linear.forward: x must have the layer's dtype {W.dtype}, got {x.dtype} "
                            f"(convert with x.astype(np.{W.dtype}))")
        self.x = x
        y = x @ W
        y += self.params["b"]  # in place: one (N, out) array per call, not two
        return y

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return self._param_grads(dout) @ self.params["W"].T

    def backward_params(self, dout: np.ndarray) -> None:
        """``backward`` without dx = dout @ W.T, about a quarter of an MLP's backward work when the
        first layer is wide. A subclass with its own ``backward`` keeps using it."""
        if type(self).backward is not Linear.backward:
            super().backward_params(dout)
        else:
            self._param_grads(dout)

    def _param_grads(self, dout: np.ndarray) -> np.ndarray:
        """Fill ``grads`` from ``dout``; return ``dout`` as the checked array."""
        self._require(self.x)
        dout = self._check_dout(dout, (self.x.shape[0], self.out_features), self.params["W"].dtype)
        self.grads["W"] = self.x.T @ dout
        self.grads["b"] = dout.sum(axis=0)
        return dout

    def get_config(self) -> dict:
        """What ``chainrule.save`` records; the weights are loaded, so no init or rng."""
        return {"in_features": self.in_features, "out_features": self.out_features,
                "dtype": str(self.params["W"].dtype)}

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, dtype={self.params['W'].dtype}"
