"""Normalization layers with PyTorch's names and conventions: ``BatchNorm1d`` and ``LayerNorm``.

Both learn an elementwise affine map after normalizing, with parameters ``weight`` (γ, ones) and
``bias`` (β, zeros), PyTorch's names, so ``state_dict`` keys match ``torch.nn.BatchNorm1d``'s.
With x̂ the normalized input and σ = sqrt(var + eps), the backward of y = weight * x̂ + bias is

    dx = (1/σ) * (dx̂ - mean(dx̂) - x̂ * mean(dx̂ * x̂)),   dx̂ = dout * weight,

the means taken over the axes the statistics were computed on (the batch for BatchNorm1d in
training mode, the normalized features for LayerNorm). BatchNorm1d in evaluation mode uses fixed
running statistics, so there dx = dout * weight / σ_running.
"""

from __future__ import annotations

import numpy as np

from .._validate import check_allocation, check_bool, check_float_dtype, check_positive_int, check_real
from .module import Layer


def _affine_params(shape: tuple[int, ...], dtype: np.dtype) -> dict[str, np.ndarray]:
    return {"weight": np.ones(shape, dtype), "bias": np.zeros(shape, dtype)}


def _check_dtype(layer: Layer, x: np.ndarray) -> None:
    """x must have the parameters' dtype (a float32 layer refuses float64 x, as Linear does); a
    layer without parameters takes either float dtype."""
    weight = layer.params.get("weight")
    if weight is not None and x.dtype != weight.dtype:
        raise TypeError(f"{type(layer).__name__}.forward: x must have the layer's dtype {weight.dtype}, "
                        f"got {x.dtype} (convert with x.astype(np.{weight.dtype}))")


def _missing_terms(out: dict, xhat: np.ndarray, inv_std: np.ndarray, dxhat: np.ndarray,
                   axes: tuple[int, ...], over: str, both: bool = True) -> None:
    """Candidates for dx with one of its two correction terms left out, or both (``both``; for
    BatchNorm1d that is the evaluation-mode formula, named as a mode mix-up instead)."""
    mean_term = dxhat.mean(axis=axes, keepdims=True)
    proj_term = xhat * (dxhat * xhat).mean(axis=axes, keepdims=True)
    for label, value, hint in (
            ("missing-mean", inv_std * (dxhat - proj_term),
             f"dx lacks the term -mean(dxhat) over {over}: the derivative through the mean is missing"),
            ("missing-variance", inv_std * (dxhat - mean_term),
             f"dx lacks the term -xhat * mean(dxhat * xhat) over {over}: the derivative through the variance "
             "is missing"),
            ("missing-both", dxhat * inv_std,
             f"dx = dout * weight / sigma: the mean and the variance over {over} are treated as constants")):
        if label != "missing-both" or both:
            out["candidates"][label], out["hints"][label], out["patterns"][label] = value, hint, "term"


class BatchNorm1d(Layer):
    """Batch normalization over the batch axis (Ioffe & Szegedy, 2015), as ``torch.nn.BatchNorm1d``.

    x (N, num_features) -> y (N, num_features), of the layer's ``dtype``. Parameters ``weight`` and
    ``bias`` (num_features,) when ``affine``. Buffers ``running_mean`` (zeros) and ``running_var``
    (ones), (num_features,), saved with the model, and ``num_batches_tracked`` (a 0-d int64).

    Training mode: normalize with the batch mean and the biased batch variance; update
    running = (1 - momentum) * running + momentum * batch, with the unbiased variance N/(N-1) var
    (PyTorch's rule; ``momentum=None`` keeps a cumulative average). N = 1 is refused in training
    mode, as in PyTorch: one value has no variance. Evaluation mode: normalize with the running
    statistics. ``track_running_stats=False``: no buffers, batch statistics in both modes.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, *,
                 affine: bool = True, track_running_stats: bool = True, dtype: type = np.float64) -> None:
        super().__init__()
        self.num_features = check_positive_int(num_features, "num_features")
        self.eps = check_real(eps, "eps", 0.0, low_open=True)
        self.momentum = None if momentum is None else check_real(momentum, "momentum", 0.0, 1.0,
                                                                 high_open=False)
        self.affine = check_bool(affine, "affine")
        self.track_running_stats = check_bool(track_running_stats, "track_running_stats")
        self.dtype = check_float_dtype(dtype)
        check_allocation((4, self.num_features), self.dtype, "num_features")  # weight, bias, 2 buffers
        self.params = _affine_params((self.num_features,), self.dtype) if self.affine else {}
        if self.track_running_stats:
            self.buffers = {"running_mean": np.zeros(self.num_features, self.dtype),
                            "running_var": np.ones(self.num_features, self.dtype),
                            "num_batches_tracked": np.zeros((), np.int64)}
        self.zero_grad()
        self.cache: tuple[np.ndarray, np.ndarray, bool] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = self._check_input(x)
        if x.ndim != 2 or x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d.forward: x must have shape (N, {self.num_features}), "
                             f"got {x.shape}")
        _check_dtype(self, x)
        batch_stats = self.training or not self.track_running_stats
        if batch_stats:
            n = x.shape[0]
            if n < 2:
                raise ValueError(f"BatchNorm1d.forward: training mode needs at least 2 rows to compute a "
                                 f"variance, got x of shape {x.shape} (use eval() for single rows)")
            mean, var = x.mean(axis=0), x.var(axis=0)
            if self.training and self.track_running_stats:
                self._update_running(mean, var * (n / (n - 1)))
        else:
            mean, var = self.buffers["running_mean"], self.buffers["running_var"]
        inv_std = 1.0 / np.sqrt(var + self.eps)
        xhat = (x - mean) * inv_std
        self.cache = (xhat, inv_std, batch_stats)
        return xhat * self.params["weight"] + self.params["bias"] if self.affine else xhat

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self._require(self.cache)
        xhat, inv_std, batch_stats = self.cache
        dout = self._check_dout(dout, xhat.shape, xhat.dtype)
        if self.affine:
            self.grads["weight"] = (dout * xhat).sum(axis=0)
            self.grads["bias"] = dout.sum(axis=0)
            dxhat = dout * self.params["weight"]
        else:
            dxhat = dout.copy()
        if not batch_stats:  # fixed statistics: an elementwise affine map
            return dxhat * inv_std
        return inv_std * (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0))

    def diagnostic_context(self, x: np.ndarray, dout: np.ndarray) -> dict:
        """Wrong backwards a gradient check should recognise by name (see ``check_layer``): a term of
        the batch-statistics derivative left out, or the other mode's formula."""
        batch = self.training or not self.track_running_stats
        mean, var = (x.mean(axis=0), x.var(axis=0)) if batch or x.shape[0] > 1 else (None, None)
        dxhat = dout * self.params["weight"] if self.affine else dout
        out: dict[str, dict] = {"candidates": {}, "hints": {}, "patterns": {}}
        if mean is None:
            return out
        inv_std = 1.0 / np.sqrt(var + self.eps)
        xhat = (x - mean) * inv_std
        if batch:
            _missing_terms(out, xhat, inv_std, dxhat, axes=(0,), over="the batch", both=False)
            out["candidates"]["eval-formula"] = dxhat * inv_std
            out["hints"]["eval-formula"] = (
                "dx = dout * weight / sigma: the evaluation-mode backward (statistics held fixed) used in "
                "training mode, where the batch mean and variance depend on x")
            out["patterns"]["eval-formula"] = "mode"
        else:
            out["candidates"]["train-formula"] = inv_std * (dxhat - dxhat.mean(axis=0)
                                                            - xhat * (dxhat * xhat).mean(axis=0))
            out["hints"]["train-formula"] = (
                "the training-mode backward (through the batch mean and variance) used in evaluation mode, "
                "where the running statistics are constants: dx = dout * weight / sqrt(running_var + eps)")
            out["patterns"]["train-formula"] = "mode"
        return out

    def _update_running(self, mean: np.ndarray, unbiased_var: np.ndarray) -> None:
        b = self.buffers
        b["num_batches_tracked"][...] += 1
        m = 1.0 / float(b["num_batches_tracked"]) if self.momentum is None else self.momentum
        # In place: references to the buffers (a state_dict view, an optimizer) stay valid.
        b["running_mean"] *= 1 - m
        b["running_mean"] += m * mean
        b["running_var"] *= 1 - m
        b["running_var"] += m * unbiased_var

    def get_config(self) -> dict:
        return {"num_features": self.num_features, "eps": self.eps, "momentum": self.momentum,
                "affine": self.affine, "track_running_stats": self.track_running_stats,
                "dtype": str(self.dtype)}

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class LayerNorm(Layer):
    """Layer normalization (Ba et al., 2016), as ``torch.nn.LayerNorm``: each example is normalized
    over its last ``len(normalized_shape)`` axes, the same in training and evaluation mode.

    x (N, *normalized_shape) -> y of the same shape and the layer's ``dtype``. Parameters ``weight``
    and ``bias`` of shape ``normalized_shape`` when ``elementwise_affine``. ``normalized_shape``: an
    int (the last axis) or a tuple of ints. The variance is the biased one, as in PyTorch.
    """

    def __init__(self, normalized_shape: int | tuple[int, ...], eps: float = 1e-5, *,
                 elementwise_affine: bool = True, dtype: type = np.float64) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) \
            else tuple(normalized_shape) if isinstance(normalized_shape, (tuple, list)) else None
        if not shape:
            raise ValueError(f"normalized_shape must be a positive int or a non-empty tuple of them, "
                             f"got {normalized_shape!r}")
        self.normalized_shape = tuple(check_positive_int(s, "normalized_shape") for s in shape)
        self.eps = check_real(eps, "eps", 0.0, low_open=True)
        self.elementwise_affine = check_bool(elementwise_affine, "elementwise_affine")
        self.dtype = check_float_dtype(dtype)
        check_allocation((2, *self.normalized_shape), self.dtype, "normalized_shape")  # weight, bias
        self.params = _affine_params(self.normalized_shape, self.dtype) if self.elementwise_affine else {}
        self.zero_grad()
        self.cache: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def _axes(self) -> tuple[int, ...]:
        return tuple(range(-len(self.normalized_shape), 0))

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = self._check_input(x)
        k = len(self.normalized_shape)
        if x.ndim < k + 1 or x.shape[-k:] != self.normalized_shape:
            dims = ", ".join(map(str, self.normalized_shape))
            raise ValueError(f"LayerNorm.forward: x must have shape (N, ..., {dims}), got {x.shape}")
        _check_dtype(self, x)
        axes = self._axes
        mean = x.mean(axis=axes, keepdims=True)
        inv_std = 1.0 / np.sqrt(x.var(axis=axes, keepdims=True) + self.eps)
        xhat = (x - mean) * inv_std
        self.cache = (xhat, inv_std)
        return xhat * self.params["weight"] + self.params["bias"] if self.elementwise_affine else xhat

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self._require(self.cache)
        xhat, inv_std = self.cache
        dout = self._check_dout(dout, xhat.shape, xhat.dtype)
        lead = tuple(range(xhat.ndim - len(self.normalized_shape)))
        if self.elementwise_affine:
            self.grads["weight"] = (dout * xhat).sum(axis=lead)
            self.grads["bias"] = dout.sum(axis=lead)
            dxhat = dout * self.params["weight"]
        else:
            dxhat = dout.copy()
        axes = self._axes
        return inv_std * (dxhat - dxhat.mean(axis=axes, keepdims=True)
                          - xhat * (dxhat * xhat).mean(axis=axes, keepdims=True))

    def diagnostic_context(self, x: np.ndarray, dout: np.ndarray) -> dict:
        """Wrong backwards a gradient check should recognise by name: a term left out of dx."""
        axes = self._axes
        inv_std = 1.0 / np.sqrt(x.var(axis=axes, keepdims=True) + self.eps)
        xhat = (x - x.mean(axis=axes, keepdims=True)) * inv_std
        dxhat = dout * self.params["weight"] if self.elementwise_affine else dout
        out: dict[str, dict] = {"candidates": {}, "hints": {}, "patterns": {}}
        _missing_terms(out, xhat, inv_std, dxhat, axes=axes, over="the features")
        return out

    def get_config(self) -> dict:
        return {"normalized_shape": list(self.normalized_shape), "eps": self.eps,
                "elementwise_affine": self.elementwise_affine, "dtype": str(self.dtype)}

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}"
