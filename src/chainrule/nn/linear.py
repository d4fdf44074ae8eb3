"""Fully connected layer ``Y = X @ W + b`` (row layout: one example per row)."""

from __future__ import annotations

import numpy as np

from .._validate import as_rng, check_allocation, check_float_dtype, check_positive_int
from .init import Initializer, get_initializer
from .module import Layer


class Linear(Layer):
    """Affine map from ``in_features`` to ``out_features``.

    Parameters: ``W`` (in_features, out_features), ``b`` (out_features,), both of ``dtype``
    (float32 or float64). forward: x (N, in_features) of that dtype -> y (N, out_features);
    backward: dout (N, out_features) -> dx (N, in_features), and ``grads["W"]``, ``grads["b"]``.
    A float64 x fed to a float32 layer is an error, as in PyTorch, rather than a silent upcast.

    forward keeps a copy of x for backward, so a caller may change x in between; y, dx and the
    gradients are new arrays on every call. Inside ``reuse_buffers`` (``fit``'s steps) the layer
    keeps x itself, which the caller leaves unchanged until backward, and writes y, dx, ``grads["W"]``
    and ``grads["b"]`` into its own arrays, overwritten by the next call; it never reads y or dx
    again, so it hands them over (the next ReLU in a Sequential writes into them).
    """

    _hands_over = True

    def __init__(self, in_features: int, out_features: int, *, init: str | Initializer = "he",
                 rng: np.random.Generator | int | None = None, dtype: type = np.float64) -> None:
        super().__init__()
        self.in_features = check_positive_int(in_features, "in_features")
        self.out_features = check_positive_int(out_features, "out_features")
        dtype = check_float_dtype(dtype)
        check_allocation((self.in_features, self.out_features), dtype,
                         f"Linear(in_features={self.in_features}, out_features={self.out_features})")
        initializer, gen = get_initializer(init), as_rng(rng)
        try:
            W = np.asarray(initializer(self.in_features, self.out_features, gen, dtype))
        except TypeError as exc:
            raise TypeError(f"init must be an initializer name or a function (fan_in, fan_out, rng, dtype) "
                            f"-> W; calling {init!r} failed: {exc}") from exc
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
        W = self.params["W"]
        if x.__class__ is not np.ndarray or x.dtype != W.dtype or x.ndim != 2 \
                or x.shape[1] != self.in_features:
            x = self._check_input(x)  # the full checks, when the quick test above fails
            if x.ndim != 2 or x.shape[1] != self.in_features:
                raise ValueError(f"Linear.forward: x must have shape (N, {self.in_features}), got {x.shape}")
            if x.dtype != W.dtype:
                raise TypeError(f"Linear.forward: x must have the layer's dtype {W.dtype}, got {x.dtype} "
                                f"(convert with x.astype(np.{W.dtype}))")
        # A copy, not the caller's array: backward must not see an x changed in place since (it
        # would give a wrong dW silently). It costs one pass over x, a few percent of the matmul.
        # Inside reuse_buffers the caller (fit, a Sequential) keeps x unchanged until backward.
        self.x = x if self._reuse else x.copy()
        y = np.matmul(x, W, out=self._scratch("y", (x.shape[0], self.out_features), W.dtype))
        y += self.params["b"]  # in place: one (N, out) array per call, not two
        return y

    def forward_rows(self, x: np.ndarray) -> np.ndarray:
        """Batched-check opt-in: x (..., in_features) -> (..., out_features), one matrix product."""
        y = x.reshape(-1, self.in_features) @ self.params["W"]
        y += self.params["b"]
        return y.reshape(*x.shape[:-1], self.out_features)

    def perturbed_columns(self, name: str, flat: np.ndarray, delta: np.ndarray, x: np.ndarray,
                          y: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Moving W[i, j] by d adds d * x[:, i] to output column j; moving b[j] adds d to it."""
        if name == "W":
            i, j = np.divmod(flat, self.out_features)
            return j, y[:, j].T + delta[:, None] * x[:, i].T
        if name == "b":
            return flat, y[:, flat].T + delta[:, None]
        return None

    def input_change(self, cols: np.ndarray, dv: np.ndarray) -> np.ndarray:
        """Moving input feature i by dv adds dv * W[i, :] to the output row(s)."""
        rows = self.params["W"][cols]  # (K, out)
        return dv[..., None] * (rows if dv.ndim == 1 else rows[:, None, :])

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dout = self._param_grads(dout)
        return np.matmul(dout, self.params["W"].T, out=self._scratch("dx", self.x.shape, dout.dtype))

    def backward_params(self, dout: np.ndarray) -> None:
        """``backward`` without dx = dout @ W.T, about a quarter of an MLP's backward work when the
        first layer is wide. A subclass with its own ``backward`` keeps using it."""
        if type(self).backward is not Linear.backward:
            super().backward_params(dout)
        else:
            self._param_grads(dout)

    def _param_grads(self, dout: np.ndarray) -> np.ndarray:
        """Fill ``grads`` from ``dout``; return ``dout`` as the checked array."""
        x, W = self.x, self.params["W"]
        if x is None:
            self._require(x)
        dout = self._check_dout(dout, (x.shape[0], self.out_features), W.dtype)
        self.grads["W"] = np.matmul(x.T, dout, out=self._scratch("dW", W.shape, W.dtype))
        self.grads["b"] = np.add.reduce(dout, axis=0, out=self._scratch("db", (self.out_features,), W.dtype))
        return dout

    def get_config(self) -> dict:
        """What ``chainrule.save`` records; the weights are loaded, so no init or rng."""
        return {"in_features": self.in_features, "out_features": self.out_features,
                "dtype": str(self.params["W"].dtype)}

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, dtype={self.params['W'].dtype}"
