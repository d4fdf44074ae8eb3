"""Fully connected layer ``Y = X @ W + b`` (row layout: one example per row)."""

from __future__ import annotations

import numpy as np

from .._validate import as_rng, check_positive_int
from .init import Initializer, get_initializer
from .module import Layer


class Linear(Layer):
    """Affine map from ``in_features`` to ``out_features``.

    Parameters: ``W`` (in_features, out_features), ``b`` (out_features,), both of ``dtype``.
    forward: x (N, in_features) -> y (N, out_features).
    """

    def __init__(self, in_features: int, out_features: int, *, init: str | Initializer = "he",
                 rng: np.random.Generator | int | None = None, dtype: type = np.float64) -> None:
        super().__init__()
        self.in_features = check_positive_int(in_features, "in_features")
        self.out_features = check_positive_int(out_features, "out_features")
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise TypeError(f"dtype must be float32 or float64, got {dtype}")
        W = np.asarray(get_initializer(init)(self.in_features, self.out_features, as_rng(rng), dtype))
        if W.shape != (self.in_features, self.out_features):
            raise ValueError(f"init returned W of shape {W.shape}, expected "
                             f"{(self.in_features, self.out_features)}")
        self.params = {"W": W.astype(dtype, copy=False), "b": np.zeros(self.out_features, dtype)}
        self.zero_grad()
        self.x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"Linear.forward: x must have shape (N, {self.in_features}), got {x.shape}")
        self.x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self._require(self.x)
        dout = self._check_dout(dout, (self.x.shape[0], self.out_features))
        self.grads["W"] = self.x.T @ dout
        self.grads["b"] = dout.sum(axis=0)
        return dout @ self.params["W"].T

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, dtype={self.params['W'].dtype}"
