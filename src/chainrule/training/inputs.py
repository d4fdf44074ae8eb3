"""What training accepts: the Model protocol, X in the model's dtype, targets shaped for the loss.

The rules (the dtype policy and the targets each loss takes) are in the ``chainrule.training``
docstring. The checks run before the model trains or predicts, naming the argument and showing
expected vs actual; ``_output_template`` learns the model's output shape from a one-row forward
pass, so a model that does not fit X fails early and clearly.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from .._validate import as_float_array, check_layer_like, check_loss_like, refused_as, to_array
from ..nn.losses import BCEWithLogitsLoss, CrossEntropyLoss
from ..nn.module import Loss, mode
from ..nn.regularization import base_loss


class Model(Protocol):
    """What ``fit``/``predict``/``evaluate`` need: the Layer protocol. Any ``chainrule.nn.Layer``
    (a ``Sequential``, a single layer, an ``autodiff.AutodiffModule``) or a duck-typed object."""

    @property
    def params(self) -> dict[str, np.ndarray]: ...
    @property
    def grads(self) -> dict[str, np.ndarray]: ...
    def forward(self, x: np.ndarray) -> np.ndarray: ...
    def backward(self, dout: np.ndarray) -> np.ndarray: ...


def _model_dtype(model) -> np.dtype | None:
    dtypes = {np.asarray(p).dtype for p in model.params.values()}
    if len(dtypes) > 1:
        raise ValueError(f"model parameters mix dtypes {sorted(map(str, dtypes))}; build it with one dtype")
    return dtypes.pop() if dtypes else None


def _input_features(model) -> int | None:
    """The number of input features the model takes, when its first layer with parameters says so
    (a Linear's ``in_features``); None when it cannot be known without running it."""
    for layer in getattr(model, "layers", [model]):
        features = getattr(layer, "in_features", None)
        if isinstance(features, int):
            return features
        if getattr(layer, "params", None):
            return None
    return None


def _prepare_X(model, X: object, name: str, *, cast: bool = False) -> np.ndarray:
    """X as a finite 2-D array (N >= 1, D >= 1) in the model's dtype (see the package docstring):
    floating X of another dtype is cast only with ``cast=True`` (inference), else a ValueError."""
    check_layer_like(model, "model")
    kind = to_array(X, name).dtype.kind
    X = as_float_array(X, name, ndim=2, finite=False)
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.add.reduce(X, axis=None)  # no temporary: a fraction of isfinite(X).all()'s cost
    if not np.isfinite(total):  # NaN/inf somewhere, or a finite sum that overflowed: look closely
        X = as_float_array(X, name, ndim=2)
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} is empty: expected shape (N, D) with N, D >= 1, got {X.shape}")
    features = _input_features(model)
    if features is not None and X.shape[1] != features:
        raise ValueError(f"{name} of shape {X.shape} does not fit the model: its first layer takes "
                         f"{features} features, so {name} must have shape (N, {features})")
    dtype = _model_dtype(model)
    if dtype is not None and X.dtype != dtype:
        if kind in "biu" or cast:
            with np.errstate(over="ignore"):
                cast_X = X.astype(dtype)
            if not np.all(np.isfinite(cast_X)):
                raise ValueError(f"{name} has values too large for the model's dtype {dtype} (largest "
                                 f"magnitude {np.max(np.abs(X)):.6g}, the largest {dtype} is "
                                 f"{np.finfo(dtype).max:.6g})")
            return cast_X
        raise ValueError(f"{name} has dtype {X.dtype} but the model's parameters are {dtype}; convert "
                         f"with {name}.astype(np.{dtype}) or build the model with dtype=np.{X.dtype}")
    return X


def _prepare_target(loss: Loss, y: object, out: np.ndarray, name: str) -> np.ndarray:
    """``y`` checked against the loss and the model's output ``out`` (N, ...) (an array or a
    template with its shape and dtype) and shaped for ``loss``."""
    check_loss_like(loss, "loss")
    y = to_array(y, name)
    loss = base_loss(loss)
    n = out.shape[0]
    if y.ndim == 0 or y.shape[0] != n:
        raise ValueError(f"{name} must have one entry per sample (per row of X): expected first dimension "
                         f"{n}, got shape {y.shape}")
    if isinstance(loss, CrossEntropyLoss):
        if out.ndim != 2:
            raise ValueError(f"CrossEntropyLoss needs model outputs of shape (N, C), the model gives "
                             f"{out.shape}")
        c = out.shape[1]
        if y.ndim == 1:
            if y.dtype.kind not in "iu":
                raise TypeError(f"{name} for CrossEntropyLoss must be integer class labels of shape ({n},) "
                                f"or float probabilities of shape ({n}, {c}); got dtype {y.dtype}")
            if y.min() < 0 or y.max() >= c:
                raise ValueError(f"{name} labels must lie in [0, {c - 1}] for a model with {c} outputs, "
                                 f"got values in [{y.min()}, {y.max()}]")
            return y.astype(np.int64, copy=False)
        if y.shape != out.shape or y.dtype.kind != "f":
            raise ValueError(f"{name} for CrossEntropyLoss must be integer labels ({n},) or float "
                             f"probabilities {out.shape}; got dtype {y.dtype}, shape {y.shape}")
        return as_float_array(y, name).astype(out.dtype, copy=False)
    if isinstance(loss, BCEWithLogitsLoss):
        if out.shape not in ((n,), (n, 1)):
            raise ValueError(f"BCEWithLogitsLoss needs a model with one output, shape ({n},) or ({n}, 1); "
                             f"the model gives {out.shape}")
        if y.shape not in ((n,), (n, 1)) or y.dtype.kind not in "biuf":
            raise ValueError(f"{name} for BCEWithLogitsLoss must be 0/1 labels of shape ({n},) or ({n}, 1), "
                             f"got dtype {y.dtype}, shape {y.shape}")
        bad = (y != 0) & (y != 1)
        if bad.any():
            raise ValueError(f"{name} for BCEWithLogitsLoss must contain only 0 and 1, got "
                             f"{int(bad.sum())} other value(s), e.g. {y[bad].flat[0]!r}")
        return y.reshape(out.shape).astype(out.dtype)
    if y.dtype.kind in "biuf":
        y = as_float_array(y, name)
        if y.shape != out.shape:
            raise ValueError(f"{name} must have the model output's shape {out.shape}, got {y.shape}")
        return y.astype(out.dtype, copy=False)
    return y


def _validation_set(model, loss: Loss, validation_data: object, n_features: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """``fit``'s validation_data as (X_val, target), checked like X and y."""
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        shown = f" of length {len(validation_data)}" if isinstance(validation_data, (tuple, list)) else ""
        raise TypeError(f"validation_data must be a pair (X_val, y_val), got {type(validation_data).__name__}"
                        f"{shown}")
    X_val = _prepare_X(model, validation_data[0], "validation_data[0]")
    if X_val.shape[1] != n_features:
        raise ValueError(f"validation_data[0] must have {n_features} features like X, got {X_val.shape}")
    template = _output_template(model, X_val, "validation_data[0]")
    return X_val, _prepare_target(loss, validation_data[1], template, "validation_data[1]")


def _output_template(model, X: np.ndarray, name: str) -> np.ndarray:
    """An empty stand-in for the model's output on all of X (its shape and dtype), from a forward
    pass on one row; a model that does not fit X fails here, early and clearly."""
    # The layer sees only the probe row: the error says which array of which shape did not fit.
    # A probe must not move BatchNorm's statistics or a dropout rng: evaluation mode.
    with refused_as(f"{name} of shape {X.shape} does not fit the model"), mode(model, training=False):
        probe = model.forward(X[:1])
    probe = np.asarray(probe)
    if probe.ndim == 0 or probe.shape[0] != 1:
        raise ValueError(f"the model must return one output row per input row (N, ...); for 1 row "
                         f"it returned shape {probe.shape}")
    return np.broadcast_to(np.empty((), probe.dtype), (X.shape[0],) + probe.shape[1:])
