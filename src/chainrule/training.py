"""Training loop, predictions and evaluation for any model following the Layer protocol.

dtype policy: floating ``X`` must have the model's parameter dtype (float32 data with a float64
model, or the reverse, is a ``ValueError`` saying which to convert); integer/bool ``X`` is cast to
the model's dtype. Training then stays in that dtype end to end.

Targets by loss: ``CrossEntropyLoss`` takes integer labels (N,) in [0, C) or class probabilities
(N, C); ``BCEWithLogitsLoss`` takes 0/1 labels (N,) or (N, 1) for a model with one output;
``MSELoss`` and other losses take targets of the output's shape. Accuracy is recorded for the two
classification losses.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ._validate import as_float_array, as_rng, check_positive_int
from .nn import functional as F
from .nn.activations import Sigmoid, Softmax
from .nn.losses import BCEWithLogitsLoss, CrossEntropyLoss
from .nn.module import Loss
from .nn.sequential import Sequential


class Model(Protocol):
    """What ``fit``/``predict``/``evaluate`` need: the Layer protocol. Any ``chainrule.nn.Layer``
    (a ``Sequential``, a single layer, an ``autodiff.AutodiffModule``) or a duck-typed object."""

    @property
    def params(self) -> dict[str, np.ndarray]: ...
    @property
    def grads(self) -> dict[str, np.ndarray]: ...
    def forward(self, x: np.ndarray) -> np.ndarray: ...
    def backward(self, dout: np.ndarray) -> np.ndarray: ...


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


def _model_dtype(model) -> np.dtype | None:
    dtypes = {np.asarray(p).dtype for p in model.params.values()}
    if len(dtypes) > 1:
        raise ValueError(f"model parameters mix dtypes {sorted(map(str, dtypes))}; build it with one dtype")
    return dtypes.pop() if dtypes else None


def _prepare_X(model, X: object, name: str) -> np.ndarray:
    """X as a finite 2-D array (N >= 1, D >= 1) in the model's dtype (see the module docstring)."""
    kind = np.asarray(X).dtype.kind
    X = as_float_array(X, name, ndim=2)
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} is empty: expected shape (N, D) with N, D >= 1, got {X.shape}")
    dtype = _model_dtype(model)
    if dtype is not None and X.dtype != dtype:
        if kind in "biu":
            return X.astype(dtype)
        raise ValueError(f"{name} has dtype {X.dtype} but the model's parameters are {dtype}; convert "
                         f"with {name}.astype(np.{dtype}) or build the model with dtype=np.{X.dtype}")
    return X


def _prepare_target(loss: Loss, y: object, out: np.ndarray, name: str) -> np.ndarray:
    """``y`` checked against the loss and the model's output ``out`` (N, ...) (an array or a
    template with its shape and dtype) and shaped for ``loss``."""
    y = np.asarray(y)
    n = out.shape[0]
    if y.ndim == 0 or y.shape[0] != n:
        raise ValueError(f"{name} must have one entry per sample: expected first dimension {n}, "
                         f"got shape {y.shape}")
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
    if isinstance(loss, CrossEntropyLoss):
        truth = target if target.ndim == 1 else np.argmax(target, axis=1)
        return int(np.count_nonzero(np.argmax(out, axis=1) == truth))
    if isinstance(loss, BCEWithLogitsLoss):
        return int(np.count_nonzero((out > 0) == (target > 0.5)))
    return None


def predict_proba(model: Model, X: np.ndarray) -> np.ndarray:
    """Class probabilities (N, C). A one-output model gives (N, 2) as [1 - p, p]. Logits are
    passed through softmax/sigmoid; a model ending in Softmax/Sigmoid is used as is."""
    X = _prepare_X(model, X, "X")
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
    model logit > 0 (probability > 0.5 when the model ends in Sigmoid)."""
    X = _prepare_X(model, X, "X")
    return _labels(model.forward(X), _output_is_probability(model))


def evaluate(model: Model, loss: Loss, X: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """``{"loss": ..., "accuracy": ...}`` of the model on the whole of (X, y); "accuracy" only for
    CrossEntropyLoss and BCEWithLogitsLoss. Targets as for ``fit``."""
    X = _prepare_X(model, X, "X")
    out = model.forward(X)
    return _metrics(loss, out, _prepare_target(loss, y, out, "y"))


def _metrics(loss: Loss, out: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """``evaluate``'s dict for outputs ``out`` and a target already checked by ``_prepare_target``."""
    result = {"loss": float(loss.forward(out, target))}
    correct = _correct(loss, out, target)
    if correct is not None:
        result["accuracy"] = correct / out.shape[0]
    return result


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
        # Plain dicts for this step: a model's params/grads may be live views (Sequential's), and
        # the checks and the optimizer below look every entry up more than once.
        grads, params = dict(model.grads.items()), dict(model.params.items())
        bad = _first_non_finite(grads)
        if bad is not None:
            return value, out, f"the gradient of {bad!r} is not finite"
        for k, p in params.items():
            np.copyto(backup[k], p)
        optimizer.step(params, grads)
        bad = _first_non_finite(params)
        if bad is not None:
            for k, p in params.items():
                np.copyto(p, backup[k])
            return value, out, f"the update made {bad!r} non-finite"
    return value, out, None


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
    with _ProgressBar(epochs, enabled=progress) as bar:
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
                    lr = getattr(optimizer, "lr", None)
                    hint = f" (lr={lr})" if lr is not None else ""
                    raise TrainingDiverged(
                        f"training diverged at epoch {epoch}, step {step} of {steps}: {problem}; the "
                        f"parameters were restored to their last finite values. Try a smaller learning "
                        f"rate{hint}.", epoch=epoch, step=step, history=history)
                total_loss += value * len(idx)
                got = _correct(loss, out, tb)
                correct = None if got is None else correct + got
            logs = {"loss": total_loss / n}
            if correct is not None:
                logs["accuracy"] = correct / n
            if val is not None:
                # val was checked once before training; only the model has changed since.
                X_val, T_val = val
                logs.update({f"val_{k}": v for k, v in _metrics(loss, model.forward(X_val), T_val).items()})
            history._append(epoch, logs)
            bar.advance(epoch, logs)
            if callback is not None and callback(epoch, dict(logs)) is True:
                break
    return history


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
    try:
        probe = model.forward(X[:1])
    except (ValueError, TypeError) as exc:
        if type(exc) not in (ValueError, TypeError):  # a user's own error type: leave it alone
            raise
        # The layer saw only the probe row; say which array of which shape did not fit.
        raise type(exc)(f"{name} of shape {X.shape} does not fit the model: {exc}") from exc
    probe = np.asarray(probe)
    if probe.ndim == 0 or probe.shape[0] != 1:
        raise ValueError(f"the model must return one output row per input row (N, ...); for 1 row "
                         f"it returned shape {probe.shape}")
    return np.broadcast_to(np.empty((), probe.dtype), (X.shape[0],) + probe.shape[1:])


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


__all__ = ["History", "TrainingDiverged", "evaluate", "fit", "predict", "predict_proba"]
