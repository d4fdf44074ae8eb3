"""What a trained model predicts, and how well: ``predict``, ``predict_proba``, ``evaluate``.

``fit`` reuses ``_correct`` for its per-batch accuracy and ``_metrics`` for the validation metrics
it records after each epoch.
"""

from __future__ import annotations

import numpy as np

from ..nn import functional as F
from ..nn.activations import Sigmoid, Softmax
from ..nn.losses import BCEWithLogitsLoss, CrossEntropyLoss
from ..nn.module import Loss, mode
from ..nn.regularization import base_loss
from ..nn.sequential import Sequential
from .inputs import Model, _prepare_target, _prepare_X


def _output_is_probability(model) -> bool:
    """Whether the model's last step is a sigmoid/softmax: a ``Sequential`` ending in such a layer,
    or a model declaring ``output = "sigmoid" | "softmax"`` (as ``autodiff.MLP`` does)."""
    last = model.layers[-1] if isinstance(model, Sequential) and len(model) else model
    return isinstance(last, (Sigmoid, Softmax)) or getattr(last, "output", None) in ("sigmoid", "softmax")


def _labels(out: np.ndarray, probability: bool) -> np.ndarray:
    """Class labels (N,) from model outputs: argmax over (N, C>1); a threshold for one output."""
    if out.ndim == 2 and out.shape[1] > 1:
        return np.argmax(out, axis=1)
    return (out.reshape(-1) > (0.5 if probability else 0.0)).astype(np.int64)


def _correct(loss: Loss, out: np.ndarray, target: np.ndarray) -> int | None:
    loss = base_loss(loss)
    if isinstance(loss, CrossEntropyLoss):
        truth = target if target.ndim == 1 else target.argmax(axis=1)
        return int(np.count_nonzero(out.argmax(axis=1) == truth))  # methods: fit calls this every step
    if isinstance(loss, BCEWithLogitsLoss):
        return int(np.count_nonzero((out > 0) == (target > 0.5)))
    return None


def predict_proba(model: Model, X: np.ndarray) -> np.ndarray:
    """Class probabilities (N, C). A one-output model gives (N, 2) as [1 - p, p]. Logits are
    passed through softmax/sigmoid; a model ending in Softmax/Sigmoid is used as is. X (N, D) is
    cast to the model's dtype (e.g. float64 data for a float32 model). Runs in evaluation mode (no
    dropout, BatchNorm1d's running statistics) and restores the model's previous mode."""
    X = _prepare_X(model, X, "X", cast=True)
    with mode(model, training=False):
        out = model.forward(X)
    if _output_is_probability(model):
        p = out
    else:
        p = F.softmax(out, axis=1) if out.ndim == 2 and out.shape[1] > 1 else F.sigmoid(out)
    if p.ndim == 1 or p.shape[1] == 1:
        p = p.reshape(-1, 1)
        p = np.concatenate([1 - p, p], axis=1)
    return p


def predict(model: Model, X: np.ndarray) -> np.ndarray:
    """Predicted class labels (N,) int64 for X (N, D): argmax of the outputs, or for a one-output
    model logit > 0 (probability > 0.5 when the model ends in Sigmoid). X is cast to the model's
    dtype (e.g. float64 data for a float32 model). Runs in evaluation mode (no dropout, BatchNorm1d's
    running statistics) and restores the model's previous mode."""
    X = _prepare_X(model, X, "X", cast=True)
    with mode(model, training=False):
        out = model.forward(X)
    return _labels(out, _output_is_probability(model))


def evaluate(model: Model, loss: Loss, X: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """``{"loss": ..., "accuracy": ...}`` of the model on the whole of (X, y); "accuracy" only for
    CrossEntropyLoss and BCEWithLogitsLoss. Targets as for ``fit``. Runs in evaluation mode and
    restores the model's previous mode."""
    X = _prepare_X(model, X, "X")
    with mode(model, training=False):
        out = model.forward(X)
    return _metrics(loss, out, _prepare_target(loss, y, out, "y"))


def _metrics(loss: Loss, out: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """``evaluate``'s dict for outputs ``out`` and a target already checked by ``_prepare_target``."""
    result = {"loss": float(loss.forward(out, target))}
    correct = _correct(loss, out, target)
    if correct is not None:
        result["accuracy"] = correct / out.shape[0]
    return result
