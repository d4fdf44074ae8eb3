"""The third witness: gradients from ``chainrule.autodiff`` beside the hand-written and numerical ones.

Autodiff differentiates the layers' *forward* passes, so a user subclass that overrides only
``backward`` is checked against an independent, exact (to rounding) reference.
"""

from __future__ import annotations

import numpy as np

from ..autodiff.layers import layer_gradients, loss_gradient, model_gradients
from ..nn.module import Layer, Loss
from .check import relative_difference
from .report import GradientReport, LayerResult, ParameterResult


def _attach(result: ParameterResult, gradient: np.ndarray) -> None:
    ad = np.asarray(gradient, dtype=np.float64)
    result.autodiff = ad
    if result.analytic is not None and result.analytic.shape == ad.shape:
        result.autodiff_difference = relative_difference(result.analytic, ad)
    for w in result.worst:
        w.autodiff = float(ad[w.index]) if ad.shape == result.shape else None


def _attach_layer(lr: LayerResult, gradients: dict[str, np.ndarray]) -> None:
    for name, g in gradients.items():
        if name in lr.parameters:
            _attach(lr.parameters[name], g)


def add_autodiff(report: GradientReport, model: Layer, loss: Loss, X: np.ndarray, y: np.ndarray,
                 seen: list[tuple] | None) -> None:
    """Fill ``autodiff`` and ``autodiff_difference`` of every result of a ``check_model`` report.

    ``seen``: (layer, x, dout) per layer, then (loss, logits, target), as the isolated checks used.
    """
    try:
        for name, g in model_gradients(model, loss, X, y).items():
            if name in report.parameters:
                _attach(report.parameters[name], g)
    except TypeError as e:  # a layer type autodiff has no rule for: say so, keep the rest of the report
        report.notes.append(f"autodiff could not differentiate the model: {e}")
    if report.layers is None or seen is None:
        return
    for lr, (layer, x, dout) in zip(report.layers, seen[:-1], strict=True):
        try:
            dx, grads = layer_gradients(layer, x, dout)
        except TypeError as e:
            report.notes.append(f"autodiff could not differentiate layer {lr.index}: {e}")
            continue
        _attach_layer(lr, {"x": dx, **grads})
    if report.loss is not None:
        loss_obj, logits, target = seen[-1]
        _attach_layer(report.loss, {"logits": loss_gradient(loss_obj, logits, target)[1]})
    agree = [name for name, p in report.parameters.items()
             if not p.passed and p.autodiff_difference is not None and p.numerical is not None
             and relative_difference(p.autodiff[~np.isnan(p.numerical)],
                                     p.numerical[~np.isnan(p.numerical)]) <= report.threshold * 10]
    if agree:
        report.notes.append(f"autodiff agrees with the numerical gradient of {agree}: the hand-written "
                            "backward is the odd one out")
