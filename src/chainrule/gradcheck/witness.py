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


def _layers(indices: list[str]) -> str:
    return f"layer{'s' * (len(indices) > 1)} {', '.join(indices)}"


def _failure_notes(model_error: Exception | None, failures: list[tuple[LayerResult, Exception]]) -> list[str]:
    """One note for every layer type autodiff has no rule for, one per rule that raised, and the
    model's own failure only when no layer's explains it."""
    missing: dict[str, list[str]] = {}
    refused: dict[tuple[str, str], list[str]] = {}  # autodiff's own TypeErrors explain themselves
    broken: dict[tuple[str, str], list[str]] = {}
    for lr, e in failures:
        if isinstance(e, TypeError) and "no autodiff rule" in str(e):
            missing.setdefault(lr.name, []).append(str(lr.index))
        else:
            group = refused if isinstance(e, TypeError) else broken
            group.setdefault((lr.name, f"{type(e).__name__}: {e}"), []).append(str(lr.index))
    notes = [f"autodiff could not differentiate {_layers(idx)} ({name}): {error}"
             for (name, error), idx in refused.items()]
    notes += [f"the autodiff rule for {_layers(idx)} ({name}) raised {error} (a rule registered for a class "
              "it does not fit, e.g. rule_for(Linear) on a class not derived from Linear?), so "
              f"{'they have' if len(idx) > 1 else 'it has'} no autodiff witness"
              for (name, error), idx in broken.items()]
    if missing:
        listed = "; ".join(f"{_layers(idx)} ({name})" for name, idx in missing.items())
        whole = "the whole model and " if model_error is not None else ""
        notes.insert(0, f"autodiff has no rule for {listed}, so {whole}these layers have no autodiff "
                        "witness; register each class's forward with "
                        "@chainrule.autodiff.register_layer(<class>)")
    if model_error is not None and not failures:
        error = f"{type(model_error).__name__}: {model_error}"
        notes.append(f"autodiff could not differentiate the model: {error}")
    return notes


def add_autodiff(report: GradientReport, model: Layer, loss: Loss, X: np.ndarray, y: np.ndarray,
                 seen: list[tuple] | None) -> None:
    """Fill ``autodiff`` and ``autodiff_difference`` of every result of a ``check_model`` report.

    ``seen``: (layer, x, dout) per layer, then (loss, logits, target), as the isolated checks used.
    """
    model_error: Exception | None = None
    try:
        for name, g in model_gradients(model, loss, X, y).items():
            if name in report.parameters:
                _attach(report.parameters[name], g)
    except Exception as e:  # a missing or broken rule (user-registered rules may fail in any way): a note
        model_error = e
    failures: list[tuple[LayerResult, Exception]] = []
    if report.layers is not None and seen is not None:
        for lr, (layer, x, dout) in zip(report.layers, seen[:-1], strict=True):
            try:
                dx, grads = layer_gradients(layer, x, dout)
            except Exception as e:  # as above: the report says which layer and why
                failures.append((lr, e))
                continue
            _attach_layer(lr, {"x": dx, **grads})
    report.notes.extend(_failure_notes(model_error, failures))
    if report.layers is None or seen is None:
        return
    if report.loss is not None:
        loss_obj, logits, target = seen[-1]
        try:
            _attach_layer(report.loss, {"logits": loss_gradient(loss_obj, logits, target)[1]})
        except Exception as e:  # a loss type without a rule, or a broken one
            report.notes.append(f"autodiff could not differentiate the loss ({report.loss.name}): "
                                f"{type(e).__name__}: {e}")
    agree = [name for name, p in report.parameters.items()
             if not p.passed and p.autodiff_difference is not None and p.numerical is not None
             and relative_difference(p.autodiff[~np.isnan(p.numerical)],
                                     p.numerical[~np.isnan(p.numerical)]) <= report.threshold * 10]
    if agree:
        report.notes.append(f"autodiff agrees with the numerical gradient of {agree}: the hand-written "
                            "backward is the odd one out")
