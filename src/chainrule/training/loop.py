"""``fit``: mini-batch training with a seeded order, divergence detection and an optional progress bar.

One epoch visits every sample once; a step that makes the loss, a gradient or a parameter NaN/inf
stops training with ``TrainingDiverged`` after restoring the last finite parameters. ``History``
holds the per-epoch metrics.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from .._validate import as_rng, check_positive_int
from ..nn.module import Loss, mode
from .inputs import Model, _output_template, _prepare_target, _prepare_X, _validation_set
from .prediction import _correct, _metrics


class SupportsStep(Protocol):
    """What ``fit`` needs of an optimizer: ``step(params, grads)`` updating ``params`` in place."""

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None: ...


class TrainingDiverged(FloatingPointError):
    """The loss, a gradient or a parameter became NaN/inf. ``epoch`` and ``step`` are 1-based; the
    model holds the last finite parameters; ``history`` holds the completed epochs."""

    def __init__(self, message: str, *, epoch: int, step: int, history: History) -> None:
        super().__init__(message)
        self.epoch, self.step, self.history = epoch, step, history


@dataclass
class History:
    """Per-epoch metrics: ``history["loss"][i]`` is epoch ``epoch[i]``'s value. Keys: "loss" and,
    for classification losses, "accuracy"; with validation data also "val_loss"/"val_accuracy".
    Training loss/accuracy average the epoch's mini-batches (weighted by size) as they were
    trained; validation metrics are measured on the whole validation set after the epoch."""

    history: dict[str, list[float]] = field(default_factory=dict)
    epoch: list[int] = field(default_factory=list)

    def _append(self, epoch: int, logs: dict[str, float]) -> None:
        self.epoch.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)

    def to_dict(self) -> dict[str, list]:
        """JSON-ready copy: ``{"epoch": [...], "loss": [...], ...}``."""
        return {"epoch": list(self.epoch), **{k: list(v) for k, v in self.history.items()}}


def _first_non_finite(arrays: dict[str, np.ndarray]) -> str | None:
    for name, a in arrays.items():
        if not np.all(np.isfinite(a)):
            return name
    return None


def _train_step(model, loss: Loss, optimizer, xb: np.ndarray, tb: np.ndarray,
                backup: dict[str, np.ndarray]) -> tuple[float, np.ndarray, str | None]:
    """One forward/backward/update on a batch: (loss value, outputs, what went non-finite or None).

    Overflow warnings are silenced because non-finite values are detected and reported here; if
    the update is what overflows, the parameters are restored from ``backup`` first."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        out = model.forward(xb)
        value = loss.forward(out, tb)
        if not np.isfinite(value):
            return value, out, f"the loss is {value}"
        # X is data, so dL/dX is never needed: layers that can skip that product do.
        getattr(model, "backward_params", model.backward)(loss.backward())
        if hasattr(loss, "add_penalty_grads"):  # a penalty on the weights (nn.L2Regularized)
            loss.add_penalty_grads()
        # Plain dicts for this step: a model's params/grads may be live views (Sequential's), and
        # the checks and the optimizer below look every entry up more than once.
        grads, params = dict(model.grads.items()), dict(model.params.items())
        bad = _first_non_finite(grads)
        if bad is not None:
            g = np.asarray(grads[bad])
            count = g.size - int(np.count_nonzero(np.isfinite(g)))
            return value, out, (f"the gradient of {bad!r} has {count} non-finite element(s) (NaN or inf) of "
                                f"{g.size} while the loss is finite ({value:.6g})")
        for k, p in params.items():
            np.copyto(backup[k], p)
        optimizer.step(params, grads)
        bad = _first_non_finite(params)
        if bad is not None:
            for k, p in params.items():
                np.copyto(p, backup[k])
            return value, out, f"the update made {bad!r} non-finite"
    return value, out, None


def _diverged(problem: str, epoch: int, step: int, steps: int, optimizer: SupportsStep) -> str:
    """TrainingDiverged's message. A gradient that is NaN/inf while the loss is finite comes from the
    backward itself (always so before the first update), so it points there, not at the learning rate."""
    where = f"training diverged at epoch {epoch}, step {step} of {steps}: {problem}"
    lr = getattr(optimizer, "lr", None)
    rate = f"a smaller learning rate (lr={lr})" if lr is not None else "a smaller learning rate"
    if problem.startswith("the gradient"):
        first = epoch == step == 1
        return (f"{where}{'; no update had been made yet' if first else ''}: the backward produced it, so "
                "check the backward of the layer holding that parameter (and the loss's backward) with "
                "chainrule.check_model(model, loss, X[:16], y[:16])"
                + ("" if first else f"; if the parameters have grown large, try {rate}")
                + ". The parameters were restored to their last finite values.")
    return f"{where}; the parameters were restored to their last finite values. Try {rate}."


def _snapshot_grads(model) -> dict[str, tuple[object, np.ndarray]]:
    """Each gradient object of ``model.grads`` with a copy of its values, before a backward."""
    return {k: (g, np.array(g, copy=True)) for k, g in model.grads.items()}


def _warn_unchanged_grads(model, before: dict[str, tuple[object, np.ndarray]]) -> None:
    """Warn about parameters whose gradient a backward left as it was: the same array object with
    the same values. Built-in layers store new arrays, so this is a stale copy of a child's grads
    (e.g. a composite layer that did ``self.grads = dict(child.grads)``) and those never train."""
    grads = model.grads
    stale = [k for k, (g, values) in before.items()
             if k in grads and grads[k] is g and np.array_equal(np.asarray(g), values)]
    if stale:
        warnings.warn(
            f"fit: after the first backward, model.grads still held the same arrays with the same values "
            f"for {stale}, so those parameters are not trained. A composite layer must expose its "
            f"children's current gradients: make params/grads properties that read the children on every "
            f"access instead of copying their dicts once (see help(chainrule.Layer)).",
            RuntimeWarning, stacklevel=3)


def fit(model: Model, loss: Loss, X: np.ndarray, y: np.ndarray, *, optimizer: SupportsStep, epochs: int,
        batch_size: int | None = None, validation_data: tuple[np.ndarray, np.ndarray] | None = None,
        rng: np.random.Generator | int | None = 0, progress: bool = False,
        callback: Callable[[int, dict[str, float]], bool | None] | None = None) -> History:
    """Train ``model`` on X (N, D) and y with mini-batch gradient descent; return the History.

    Each epoch visits every sample once in a fresh seeded order (``rng.permutation``, no
    replacement) in batches of ``batch_size`` (``None``: the full batch; the last, partial batch is
    kept). ``callback(epoch, logs)`` runs after every epoch; returning True stops training.
    ``progress=True`` shows a rich progress bar on stderr in a terminal or a Jupyter notebook.

    If the loss, a gradient or an updated parameter is NaN/inf, training stops at that step, the
    parameters are restored to their last finite values and ``TrainingDiverged`` is raised naming
    the epoch and step. Same ``rng`` seed and inputs, bit-identical result.
    """
    if isinstance(loss, type):
        raise TypeError(f"loss must be a loss instance such as {loss.__name__}(), "
                        f"got the class {loss.__name__}")
    if not isinstance(loss, Loss):
        raise TypeError(f"loss must be a chainrule Loss (e.g. CrossEntropyLoss()), got {type(loss).__name__}")
    if isinstance(optimizer, type):
        raise TypeError(f"optimizer must be an optimizer instance such as {optimizer.__name__}(lr=0.01), "
                        f"got the class {optimizer.__name__}")
    if not callable(getattr(optimizer, "step", None)):
        raise TypeError(f"optimizer must have a step(params, grads) method, got {type(optimizer).__name__}")
    epochs = check_positive_int(epochs, "epochs")
    X = _prepare_X(model, X, "X")
    n = X.shape[0]
    batch_size = n if batch_size is None else check_positive_int(batch_size, "batch_size")
    T = _prepare_target(loss, y, _output_template(model, X, "X"), "y")
    bad = _first_non_finite(model.params)
    if bad is not None:
        raise ValueError(f"model parameter {bad!r} contains NaN or inf before training")
    val = None if validation_data is None else _validation_set(model, loss, validation_data, X.shape[1])
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable(epoch, logs), got {type(callback).__name__}")

    gen = as_rng(rng)
    backup = {k: np.empty_like(p) for k, p in model.params.items()}
    history = History()
    steps = -(-n // batch_size)
    # Steps in training mode, validation in evaluation mode; the model's own modes are restored after.
    with _ProgressBar(epochs, enabled=progress) as bar, mode(model, training=True):
        for epoch in range(1, epochs + 1):
            order = gen.permutation(n)
            total_loss, correct = 0.0, 0
            for step in range(1, steps + 1):
                idx = order[(step - 1) * batch_size: step * batch_size]
                tb = T[idx]
                watched = _snapshot_grads(model) if epoch == step == 1 else None
                value, out, problem = _train_step(model, loss, optimizer, X[idx], tb, backup)
                if watched is not None and problem is None:
                    _warn_unchanged_grads(model, watched)
                if problem is not None:
                    raise TrainingDiverged(_diverged(problem, epoch, step, steps, optimizer),
                                           epoch=epoch, step=step, history=history)
                total_loss += value * len(idx)
                got = _correct(loss, out, tb)
                correct = None if got is None else correct + got
            logs = {"loss": total_loss / n}
            if correct is not None:
                logs["accuracy"] = correct / n
            if val is not None:
                # val was checked once before training; only the model has changed since.
                X_val, T_val = val
                with mode(model, training=False):
                    out_val = model.forward(X_val)
                logs.update({f"val_{k}": v for k, v in _metrics(loss, out_val, T_val).items()})
            history._append(epoch, logs)
            bar.advance(epoch, logs)
            if callback is not None and callback(epoch, dict(logs)) is True:
                break
    return history


class _ProgressBar:
    """A rich progress bar over epochs on stderr, shown only when ``enabled`` and stderr is a
    terminal or a Jupyter notebook (so logs and captured output stay clean)."""

    def __init__(self, epochs: int, *, enabled: bool) -> None:
        self.epochs, self.enabled, self.progress, self.task = epochs, enabled, None, None

    def __enter__(self) -> _ProgressBar:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            console = Console(stderr=True)
            if console.is_terminal or console.is_jupyter:
                self.progress = Progress(TextColumn("[bold]epoch"), MofNCompleteColumn(),
                                         BarColumn(bar_width=24), TextColumn("{task.fields[metrics]}"),
                                         TimeElapsedColumn(), console=console, transient=False)
                self.progress.start()
                self.task = self.progress.add_task("train", total=self.epochs, metrics="")
        return self

    def advance(self, epoch: int, logs: dict[str, float]) -> None:
        if self.progress is not None:
            shown = {"loss": "loss", "accuracy": "acc", "val_accuracy": "val_acc"}
            text = "  ".join(f"{shown[k]} {v:.4f}" for k, v in logs.items() if k in shown)
            self.progress.update(self.task, completed=epoch, metrics=text)

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.stop()
