"""The bridge to ``chainrule.nn``: each layer's and loss's *forward* rebuilt from autodiff ops.

Reverse mode over these graphs gives gradients that owe nothing to the hand-written ``backward``
methods, so they are a second reference beside the numerical gradient::

    dx, dparams = layer_gradients(layer, x, dout)     # autodiff VJP of layer.forward at x
    grads = model_gradients(model, loss, X, y)        # keyed like model.params

Rules are looked up by ``isinstance`` (the most derived registered class wins), so a user subclass
that overrides only ``backward`` is differentiated through the built-in forward. A subclass that
overrides ``forward`` needs its own rule::

    @register_layer(MyLayer)
    def my_layer(layer, x, params):          # x: Tensor, params: dict name -> Tensor
        return tanh(x @ params["W"])

A loss rule has the signature ``rule(loss, logits: Tensor, target: ndarray) -> scalar Tensor``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np

from .._validate import as_float_array, check_layer_like, check_loss_like, refused_as, to_array
from ..nn import (
    BatchNorm1d,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    Dropout,
    Identity,
    Layer,
    LayerNorm,
    LeakyReLU,
    Linear,
    Loss,
    MSELoss,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)
from ..nn.losses import check_cross_entropy_target, check_same_shape_target, check_unit_interval
from ..nn.regularization import L2Regularized, _selects, l2_penalty
from .array_ops import cross_entropy, mean, softmax
from .ops import as_tensor, leaky_relu, relu, sigmoid, softplus, sqrt, tanh
from .tensor import Tensor, grad_or_zeros

Rule = Callable[..., Tensor]
R = TypeVar("R", bound=Rule)
_RULES: dict[type, Rule] = {}


def register_layer(cls: type, rule: Rule | None = None) -> Callable[[R], R] | Rule:
    """Register ``rule`` as the autodiff forward of layer (or loss) class ``cls``.

    Use as a decorator, ``@register_layer(MyLayer)``, or call ``register_layer(MyLayer, rule)``.
    Layer rule: ``rule(layer, x: Tensor, params: dict[str, Tensor]) -> Tensor``; loss rule:
    ``rule(loss, logits: Tensor, target: np.ndarray) -> Tensor`` (one element).
    """
    if not (isinstance(cls, type) and issubclass(cls, (Layer, Loss))):
        raise TypeError(f"register_layer: cls must be a subclass of chainrule.nn.Layer or Loss, got {cls!r}")

    def decorate(fn: R) -> R:
        if not callable(fn):
            raise TypeError(f"register_layer: rule must be callable, got {type(fn).__name__}")
        _RULES[cls] = fn
        return fn

    return decorate if rule is None else decorate(rule)


def rule_for(obj: Layer | Loss | type) -> Rule:
    """The registered rule for a layer or loss (an instance or a class): that of its most derived
    registered class. ``register_layer(MyReLU, rule_for(ReLU))`` gives a subclass whose forward
    computes the same values as its parent's (it only caches something extra) the parent's rule."""
    cls = obj if isinstance(obj, type) else type(obj)
    mro = cls.__mro__
    for depth, klass in enumerate(mro):
        if klass in _RULES:
            # A subclass that redefines forward may compute something else than klass's rule.
            for sub in mro[:depth]:
                if "forward" in vars(sub):
                    raise TypeError(
                        f"{sub.__name__} overrides forward(), so the autodiff rule of {klass.__name__} may "
                        f"not describe it. If its forward computes the same values (it only caches "
                        f"something and returns super().forward(x)), reuse that rule: "
                        f"chainrule.autodiff.register_layer({sub.__name__}, "
                        f"chainrule.autodiff.rule_for({klass.__name__})); otherwise register its own with "
                        f"@chainrule.autodiff.register_layer({sub.__name__})")
            return _RULES[klass]
    raise TypeError(f"no autodiff rule for {cls.__name__}; register its forward with "
                    f"@chainrule.autodiff.register_layer({cls.__name__})")


def graph(layer: Layer, x: Tensor, params: dict[str, Tensor] | None = None) -> Tensor:
    """Apply ``layer``'s forward to ``x`` with autodiff ops. ``params`` defaults to the layer's
    own arrays wrapped as tensors that require a gradient."""
    if params is None:
        params = {k: Tensor(v, requires_grad=True) for k, v in layer.params.items()}
    return rule_for(layer)(layer, x, params)


def layer_gradients(layer: Layer, x: np.ndarray,
                    dout: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """dL/dx and dL/dparams for upstream gradient ``dout`` = dL/d(layer(x)), by reverse mode over
    the layer's forward. x: the layer's input (N, ...); dout: its output's shape. The layer's
    parameters and cached state are left untouched."""
    check_layer_like(layer, "layer")
    xt = Tensor(as_float_array(x, "x"), requires_grad=True)
    params = {k: Tensor(v, requires_grad=True) for k, v in layer.params.items()}
    y = graph(layer, xt, params)
    dout = to_array(dout, "layer_gradients: dout")
    if dout.shape != y.shape:
        raise ValueError(f"layer_gradients: dout must have the layer output's shape {y.shape} (for x of "
                         f"shape {xt.shape}), got {dout.shape}")
    if y.requires_grad:
        y.backward(dout)
    return grad_or_zeros(xt), {k: grad_or_zeros(t) for k, t in params.items()}


def loss_graph(loss: Loss, logits: Tensor, target: np.ndarray) -> Tensor:
    """The loss's forward as a one-element Tensor of ``logits``."""
    check_loss_like(loss, "loss")
    return rule_for(loss)(loss, as_tensor(logits, name="logits"), to_array(target, "target"))


def loss_gradient(loss: Loss, logits: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """(loss value, dL/dlogits) by reverse mode over the loss's forward."""
    check_loss_like(loss, "loss")
    z = Tensor(as_float_array(logits, "logits"), requires_grad=True)
    value = loss_graph(loss, z, target)
    value.backward()
    return float(value.data), grad_or_zeros(z)


def model_gradients(model: Layer, loss: Loss, X: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """dL/dparam for every parameter of ``model`` (keys as in ``model.params``), where
    L = loss(model(X), y), computed by reverse mode over the forward rules."""
    check_layer_like(model, "model")
    check_loss_like(loss, "loss")
    params = {k: Tensor(v, requires_grad=True) for k, v in model.params.items()}
    X = as_float_array(X, "X")
    with refused_as(f"X of shape {X.shape} does not fit the model"):
        logits = graph(model, Tensor(X), params)
    penalties = []  # L2Regularized wrappers: their penalty is a function of the parameters too
    while isinstance(loss, L2Regularized) and loss.model is model:
        penalties.append(loss)
        loss = loss.loss
    with refused_as(f"y does not fit the loss for the model's output of shape {logits.shape} (X has "
                    f"{X.shape[0] if X.ndim else 0} rows)", rename=("target", "y")):
        out = loss_graph(loss, logits, y)
    for penalty in penalties:  # lambd / (2 m) * sum of squared selected weights, m the batch size
        scale = penalty.lambd / (2 * logits.shape[0])
        for k, t in params.items():
            if _selects(penalty.select, k):
                out = out + (t * t).sum() * scale
    if out.requires_grad:
        out.backward()
    return {k: grad_or_zeros(t) for k, t in params.items()}


@register_layer(L2Regularized)
def _l2_regularized(loss: L2Regularized, z: Tensor, t: np.ndarray) -> Tensor:
    """The loss of the logits alone: the penalty is a constant here (``model_gradients``
    differentiates it with respect to the weights)."""
    return loss_graph(loss.loss, z, t) + l2_penalty(loss.model.params, loss.lambd, z.shape[0], loss.select)


# ---- rules for the built-in layers ------------------------------------------------------------
@register_layer(Linear)
def _linear(layer: Linear, x: Tensor, p: dict[str, Tensor]) -> Tensor:
    if x.ndim != 2 or x.shape[1] != layer.in_features:
        raise ValueError(f"Linear: x must have shape (N, {layer.in_features}), got {x.shape}")
    return x @ p["W"] + p["b"]


register_layer(Identity, lambda layer, x, p: x)
register_layer(ReLU, lambda layer, x, p: relu(x))
register_layer(LeakyReLU, lambda layer, x, p: leaky_relu(x, layer.negative_slope))
register_layer(Sigmoid, lambda layer, x, p: sigmoid(x))
register_layer(Tanh, lambda layer, x, p: tanh(x))
register_layer(Softmax, lambda layer, x, p: softmax(x, axis=-1))


@register_layer(Dropout)
def _dropout(layer: Dropout, x: Tensor, p: dict[str, Tensor]) -> Tensor:
    """The mask is data, not a function of x: the one the layer's last forward drew (a gradient
    check freezes it), so this graph describes exactly that forward."""
    if not layer.training:
        return x * 1
    if layer.mask is None or layer.mask.shape != x.shape:
        raise RuntimeError(f"Dropout in training mode: no mask of shape {x.shape} to differentiate with; run "
                           "the layer's forward on this input first (gradient checks freeze the mask)")
    return x * layer.mask


def _normalize(x: Tensor, axes: tuple[int, ...], eps: float) -> Tensor:
    centred = x - mean(x, axis=axes, keepdims=True)
    return centred / sqrt(mean(centred * centred, axis=axes, keepdims=True) + eps)


@register_layer(BatchNorm1d)
def _batch_norm(layer: BatchNorm1d, x: Tensor, p: dict[str, Tensor]) -> Tensor:
    if x.ndim != 2 or x.shape[1] != layer.num_features:
        raise ValueError(f"BatchNorm1d: x must have shape (N, {layer.num_features}), got {x.shape}")
    if layer.training or not layer.track_running_stats:
        xhat = _normalize(x, (0,), layer.eps)
    else:  # the running statistics are constants
        b = layer.buffers
        xhat = (x - b["running_mean"]) / np.sqrt(b["running_var"] + layer.eps)
    return xhat * p["weight"] + p["bias"] if layer.affine else xhat


@register_layer(LayerNorm)
def _layer_norm(layer: LayerNorm, x: Tensor, p: dict[str, Tensor]) -> Tensor:
    xhat = _normalize(x, tuple(range(x.ndim - len(layer.normalized_shape), x.ndim)), layer.eps)
    return xhat * p["weight"] + p["bias"] if layer.elementwise_affine else xhat


@register_layer(Sequential)
def _sequential(model: Sequential, x: Tensor, p: dict[str, Tensor]) -> Tensor:
    for i, layer in enumerate(model.layers):
        prefix = f"{i}."
        x = graph(layer, x, {k[len(prefix):]: v for k, v in p.items() if k.startswith(prefix)})
    return x


# ---- rules for the built-in losses (mean over the batch, as in chainrule.nn.losses) -------------
@register_layer(CrossEntropyLoss)
def _cross_entropy(loss: CrossEntropyLoss, z: Tensor, t: np.ndarray) -> Tensor:
    if z.ndim != 2:
        raise ValueError(f"CrossEntropyLoss: logits must have shape (N, C), got {z.shape}")
    n, c = z.shape
    return cross_entropy(z, check_cross_entropy_target(t, n, c, z.dtype))


@register_layer(BCEWithLogitsLoss)
def _bce_with_logits(loss: BCEWithLogitsLoss, z: Tensor, t: np.ndarray) -> Tensor:
    t = check_same_shape_target(t, z, "BCEWithLogitsLoss", "the logits'")
    check_unit_interval(t, "BCEWithLogitsLoss: target")
    return mean(softplus(z) - z * t)


@register_layer(MSELoss)
def _mse(loss: MSELoss, y: Tensor, t: np.ndarray) -> Tensor:
    return mean((y - check_same_shape_target(t, y, "MSELoss", "the input's")) ** 2)
