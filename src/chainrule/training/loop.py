"""``fit``: mini-batch training with a seeded order, cheap divergence detection, schedules, callbacks.

Divergence costs nothing per step: the loss ``fit`` computes anyway is compared with a bound
(``value <= bound`` is False for NaN, inf and an exploded loss alike), and the outputs' sum shows
a non-finite output. A step's forward thus verifies the parameters the previous update produced,
one step late and for free. The last good parameters are kept by a snapshot (one copy) every
``_SNAPSHOT_EVERY`` verified steps instead of a backup every step; on divergence the model is
put back to that snapshot, whose loss and outputs were verified finite.

Speed: the inputs are checked once, at the door; the steps then run inside
``nn.module.reuse_buffers`` (the batch is gathered into fit's own array, the layers and the loss
write into arrays they own, so a step allocates nothing), and plain SGD forms its update in the
layers' own gradient arrays (``Optimizer.step``'s ``scratch_grads``) except at the last step of each
epoch, so ``model.grads`` holds true gradients whenever a callback or the caller looks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from .._validate import as_rng, check_bool, check_choice, check_positive_int, check_real
from ..nn.losses import BCEWithLogitsLoss, CrossEntropyLoss
from ..nn.module import Loss, mode, owned_arrays, reuse_buffers
from ..nn.regularization import base_loss
from ..nn.sequential import _LayerArrays
from ..optim.optimizers import Optimizer
from .callbacks import Callback
from .history import History
from .inputs import Model, _output_template, _prepare_target, _prepare_X, _validation_set
from .prediction import _correct, _metrics
from .progress import _Progress

# Verified steps between two snapshots of the parameters: one copy of the parameters per 64 steps
# costs under 1% of a step of any model, and a diverged run goes back at most 64 steps.
_SNAPSHOT_EVERY = 64


class SupportsStep(Protocol):
    """What ``fit`` needs of an optimizer: ``step(params, grads)`` updating ``params`` in place."""

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None: ...


class TrainingDiverged(FloatingPointError):
    """The loss or an output became NaN/inf, or the loss exploded past ``fit``'s ``max_loss``.

    ``epoch`` and ``step`` (1-based) name where it was seen; ``restored_epoch``/``restored_step``
    the step whose parameters the model now holds (verified: finite loss below the bound, finite
    outputs; ``(0, 0)``: the parameters from before training); ``history`` holds the completed
    epochs; ``loss`` the offending value (NaN/inf or the exploded loss)."""

    def __init__(self, message: str, *, epoch: int, step: int, history: History,
                 restored_epoch: int = 0, restored_step: int = 0, loss: float = math.nan) -> None:
        super().__init__(message)
        self.epoch, self.step, self.history = epoch, step, history
        self.restored_epoch, self.restored_step, self.loss = restored_epoch, restored_step, loss


def _first_non_finite(arrays) -> str | None:
    for name, a in arrays.items():
        if not np.all(np.isfinite(a)):
            return name
    return None


def _chance_loss(loss: Loss, template: np.ndarray) -> float | None:
    """The loss of a model that knows nothing (uniform probabilities), for classification losses."""
    if isinstance(loss, CrossEntropyLoss) and template.ndim == 2 and template.shape[1] > 1:
        return math.log(template.shape[1])
    if isinstance(loss, BCEWithLogitsLoss):
        return math.log(2.0)
    return None


def _loss_bound(max_loss: float | str | None, first: float, chance: float | None) -> float:
    """The largest loss that is not an explosion. "auto": for classification losses
    max(100 x chance level, 10 x the first loss); otherwise max(1000 x the first loss, 1)."""
    if max_loss is None:
        return math.inf
    if max_loss != "auto":
        return float(max_loss)
    if chance is not None:
        return max(100 * chance, 10 * first)
    return max(1e3 * first, 1.0)


class _Guard:
    """Divergence bookkeeping: the bound, the snapshot and the diagnosis."""

    def __init__(self, model, loss: Loss, template: np.ndarray, max_loss) -> None:
        self.model, self.max_loss = model, max_loss
        self.chance = _chance_loss(loss, template)
        self.bound = math.inf  # set from the first loss
        self.first: float | None = None
        self.snapshot = {k: np.array(v, copy=True) for k, v in model.params.items()}
        self.where = (0, 0)  # (epoch, step) of the snapshot; (0, 0): before training
        self.since = 0
        self.count = 0  # verified steps

    def ok(self, value: float, out: np.ndarray) -> bool:
        """Whether a step's loss and outputs are fine; the first call also fixes the bound."""
        if self.first is None and math.isfinite(value):
            self.first = value
            self.bound = _loss_bound(self.max_loss, value, self.chance)
        if not value <= self.bound:  # False for NaN too
            return False
        # The callers ignore overflow (np.errstate) while they run the model and call this.
        total = float(np.add.reduce(out, axis=None))
        return math.isfinite(total) or bool(np.all(np.isfinite(out)))  # a finite sum may overflow

    def verified(self, epoch: int, step: int) -> None:
        """The current parameters passed ``ok``: snapshot them every ``_SNAPSHOT_EVERY`` steps."""
        self.since += 1
        self.count += 1
        if self.since >= _SNAPSHOT_EVERY:
            for k, v in self.model.params.items():
                np.copyto(self.snapshot[k], v)
            self.where, self.since = (epoch, step), 0

    def restore(self) -> None:
        for k, v in self.model.params.items():
            np.copyto(v, self.snapshot[k])

    def problem(self, value: float, out: np.ndarray | None) -> tuple[str, bool]:
        """What went wrong (the message's middle) and whether a gradient is to blame."""
        grads = self.model.grads
        bad = _first_non_finite(grads)
        if bad is not None:  # the previous backward made it, while that step's loss was finite
            g = np.asarray(grads[bad])
            count = g.size - int(np.count_nonzero(np.isfinite(g)))
            return (f"the gradient of {bad!r} has {count} non-finite element(s) (NaN or inf) of {g.size} "
                    f"while the loss is finite"), True
        if not math.isfinite(value):
            bad = _first_non_finite(self.model.params)
            made = f" (the update made {bad!r} non-finite)" if bad is not None else ""
            return f"the loss is {value}{made}", False
        if value > self.bound:
            if self.max_loss == "auto" and self.chance is not None:
                why = (f"over 100x the chance-level loss {self.chance:.4g} (and 10x the first, "
                       f"{self.first:.4g})")
            elif self.max_loss == "auto":
                why = f"over 1000x the first loss {self.first:.4g}"
            else:
                why = f"over max_loss={self.max_loss}"
            return f"the loss exploded to {value:.6g}, {why}", False
        return f"the model's outputs contain NaN or inf while the loss is {value:.6g}", False


def _diverged(problem: str, blame_grad: bool, epoch: int, step: int, steps: int, where: tuple[int, int],
              optimizer, no_update_yet: bool) -> str:
    """TrainingDiverged's message. A gradient that is NaN/inf while the loss is finite comes from the
    backward itself (always so before the first update), so it points there, not at the learning rate."""
    at = f"training diverged at epoch {epoch}, step {step} of {steps}: {problem}"
    restored = ("the parameters were restored to their values before training" if where == (0, 0) else
                f"the parameters were restored to those of epoch {where[0]}, step {where[1]} (the last "
                "snapshot with a finite loss and finite outputs)")
    lr = getattr(optimizer, "lr", None)
    rate = "a smaller learning rate" + (f" (lr={lr:g})" if isinstance(lr, (int, float)) else "")
    if blame_grad:
        return (f"{at}{'; no update had been made yet' if no_update_yet else ''}: the backward produced it, "
                "so check the backward of the layer holding that parameter (and the loss's backward) with "
                "chainrule.check_model(model, loss, X[:16], y[:16])"
                + ("" if no_update_yet else f"; if the parameters have grown large, try {rate}")
                + f". {restored[0].upper()}{restored[1:]}.")
    return f"{at}; {restored}. Try {rate}, or clip gradients (clip_grad_norm=)."


def _plain(arrays) -> dict[str, np.ndarray]:
    """``arrays`` (a model's params or grads) as a new plain dict: Sequential's live views and dicts
    copy themselves, any other mapping goes through ``items()``."""
    return arrays.copy() if isinstance(arrays, (dict, _LayerArrays)) else dict(arrays.items())


def _snapshot_grads(model) -> dict[str, tuple[object, np.ndarray]]:
    """Each gradient object of ``model.grads`` with a copy of its values, before a backward."""
    return {k: (g, np.array(g, copy=True)) for k, g in model.grads.items()}


def _warn_unchanged_grads(model, before: dict[str, tuple[object, np.ndarray]]) -> None:
    """Warn about parameters whose gradient a backward left as it was: the same array object with
    the same values. Built-in layers store new arrays, so this is a stale copy of a child's grads
    (e.g. a composite layer that did ``self.grads = dict(child.grads)``) and those never train."""
    import warnings

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


def _callbacks(callback) -> list:
    if callback is None:
        return []
    items = list(callback) if isinstance(callback, (list, tuple)) else [callback]
    for i, c in enumerate(items):
        if not callable(c) or (hasattr(c, "forward") and hasattr(c, "backward")):  # a layer is callable too
            raise TypeError(f"callback must be callable(epoch, logs), a Callback or a list of them; item {i} "
                            f"is {type(c).__name__}")
    return items


def _split_validation(X: np.ndarray, y: np.ndarray, fraction: float) -> tuple:
    n_val = int(round(X.shape[0] * fraction))
    if not 1 <= n_val < X.shape[0]:
        raise ValueError(f"validation_split={fraction} of {X.shape[0]} samples leaves "
                         f"{n_val} for validation and {X.shape[0] - n_val} for training; both need at "
                         "least 1")
    y = np.asarray(y)
    cut = X.shape[0] - n_val
    return X[:cut], y[:cut], (X[cut:], y[cut:])


def fit(model: Model, loss: Loss, X: np.ndarray, y: np.ndarray, *, optimizer: SupportsStep, epochs: int,
        batch_size: int | None = None, validation_data: tuple[np.ndarray, np.ndarray] | None = None,
        validation_split: float | None = None, rng: np.random.Generator | int | None = 0,
        progress: bool = False, callback: Callable[[int, dict[str, float]], bool | None]
        | Callback | Sequence[Callable] | None = None, lr_scheduler=None, initial_epoch: int = 0,
        max_loss: float | str | None = "auto") -> History:
    """Train ``model`` on X (N, D) and y with mini-batch gradient descent; return the History.

    Each epoch visits every sample once in a fresh seeded order (``rng.permutation``, no
    replacement) in batches of ``batch_size`` (``None``: the full batch; the last, partial batch is
    kept). Epochs are numbered ``initial_epoch + 1`` to ``epochs`` (Keras's convention); the first
    ``initial_epoch`` orders are drawn and skipped, so resuming a run saved after epoch k with
    ``initial_epoch=k``, the same ``rng`` seed and the optimizer (and schedule) state saved with it
    is bit-identical to the uninterrupted run.

    validation_data: (X_val, y_val) measured after every epoch ("val_loss", "val_accuracy").
    validation_split: instead, hold out this fraction of the samples, the last ones as given (not
    shuffled, like Keras): shuffle X, y first if they are ordered.
    callback: ``callback(epoch, logs)`` after every epoch (True stops), a ``Callback`` such as
    ``EarlyStopping(patience=5)``, or a list of them.
    lr_scheduler: a schedule from ``chainrule.optim`` (``StepLR``, ``CosineAnnealingLR``...),
    stepped after every epoch; the rate each epoch used is recorded as "lr".
    progress: a progress line per epoch: a rich bar in a terminal, a bar or plain printed lines in
    Jupyter (no ipywidgets needed); nothing when the output is not interactive.

    Divergence: if a step's loss or outputs are NaN/inf, or the loss exceeds ``max_loss``
    ("auto": 100x the chance-level loss of a classifier (and 10x the first loss), else 1000x the
    first loss; None: only NaN/inf), training stops, the model is put back to the last verified
    snapshot (at most 64 steps back) and ``TrainingDiverged`` is raised naming the epoch and step.
    Same ``rng`` seed and inputs, bit-identical result, equal bit for bit to the public
    forward/backward/``optimizer.step`` loop over the same batches (the steps only reuse arrays).
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
    if isinstance(initial_epoch, bool) or not isinstance(initial_epoch, (int, np.integer)) \
            or not 0 <= initial_epoch < epochs:
        raise ValueError(f"initial_epoch must be an integer in [0, epochs={epochs}), got {initial_epoch!r}")
    if isinstance(max_loss, str):
        check_choice(max_loss, ("auto",), "max_loss")
    elif max_loss is not None:
        max_loss = check_real(max_loss, "max_loss", 0.0, low_open=True)
    progress = check_bool(progress, "progress")
    if lr_scheduler is not None and not callable(getattr(lr_scheduler, "step", None)):
        raise TypeError(f"lr_scheduler must be a schedule from chainrule.optim (with step()), got "
                        f"{type(lr_scheduler).__name__}")
    callbacks = _callbacks(callback)
    X = _prepare_X(model, X, "X")
    if validation_split is not None:
        if validation_data is not None:
            raise ValueError("pass validation_data or validation_split, not both")
        check_real(validation_split, "validation_split", 0.0, 1.0, low_open=True, high_open=True)
        X, y, validation_data = _split_validation(X, y, validation_split)
    n = X.shape[0]
    batch_size = n if batch_size is None else min(check_positive_int(batch_size, "batch_size"), n)
    template = _output_template(model, X, "X")
    T = _prepare_target(loss, y, template, "y")
    bad = _first_non_finite(model.params)
    if bad is not None:
        raise ValueError(f"model parameter {bad!r} contains NaN or inf before training")
    val = None if validation_data is None else _validation_set(model, loss, validation_data, X.shape[1])

    gen = as_rng(rng)
    for _ in range(initial_epoch):  # the orders of the epochs already trained
        gen.permutation(n)
    history = History()
    guard = _Guard(model, loss, template, max_loss)
    steps = -(-n // batch_size)
    xbuf = np.empty((batch_size,) + X.shape[1:], X.dtype)  # the batch is gathered in place
    tbuf = np.empty((batch_size,) + T.shape[1:], T.dtype)
    for c in callbacks:
        getattr(c, "on_train_begin", lambda *a: None)(model, history)
    updated = False  # whether an update has been made (for the diagnosis)
    xb = tb = None
    penalty = hasattr(loss, "add_penalty_grads")  # a penalty on the weights (nn.L2Regularized)
    # Class labels: each step stores its predicted labels (one argmax), compared once per epoch.
    predicted = np.empty(n, np.intp) if isinstance(base_loss(loss), CrossEntropyLoss) and T.ndim == 1 \
        else None
    # Steps in training mode, validation in evaluation mode; the model's own modes are restored after.
    # The steps reuse the layers' arrays (fit owns xbuf and reads out only until the next step).
    with _Progress(epochs, initial_epoch, enabled=progress) as bar, mode(model, training=True), \
            reuse_buffers(model, loss) as owners:
        for epoch in range(initial_epoch + 1, epochs + 1):
            order = gen.permutation(n)
            lr = getattr(optimizer, "lr", None)
            # The gradients the layers own (rewritten by their next backward) may serve as the
            # optimizer's scratch space, except at the epoch's last step (see Optimizer.step). Only
            # for lr <= 1, where lr * g is finite exactly when g is: a diagnosis reads them.
            spendable = isinstance(optimizer, Optimizer) and type(optimizer).step is Optimizer.step \
                and isinstance(lr, (int, float)) and 0 < lr <= 1
            owned: dict[int, np.ndarray] | None = None
            total_loss, correct = 0.0, 0
            backward = getattr(model, "backward_params", model.backward)  # X is data: no dL/dX needed
            # One errstate per epoch, not per step: overflow in a diverging step is detected here.
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                for step in range(1, steps + 1):
                    idx = order[(step - 1) * batch_size: step * batch_size]
                    # mode="clip": the indices are valid, and mode="raise" would buffer the output
                    rows = len(idx)
                    xb = X.take(idx, axis=0, out=xbuf[:rows], mode="clip")
                    tb = T.take(idx, axis=0, out=tbuf[:rows], mode="clip")
                    out = model.forward(xb)
                    value = loss.forward(out, tb)
                    if not guard.ok(value, out):
                        _raise(guard, value, out, epoch, step, steps, optimizer, history, updated)
                    guard.verified(epoch, step)
                    watched = None if updated else _snapshot_grads(model)
                    backward(loss.backward())
                    if penalty:
                        loss.add_penalty_grads()
                    if watched is not None:
                        _warn_unchanged_grads(model, watched)
                        updated = True
                    # Plain dicts for this step: a model's params/grads may be live views (Sequential's).
                    grads = _plain(model.grads)
                    if spendable and step != steps:
                        if owned is None:  # the layers' arrays exist after a first step
                            owned = owned_arrays(owners)
                        optimizer.step(_plain(model.params), grads,
                                       scratch_grads=[k for k, g in grads.items() if id(g) in owned])
                    else:
                        optimizer.step(_plain(model.params), grads)
                    total_loss += value * rows
                    if predicted is not None:
                        out.argmax(axis=1, out=predicted[(step - 1) * batch_size:][:rows])
                    elif correct is not None:
                        got = _correct(loss, out, tb)
                        correct = None if got is None else correct + got
            if predicted is not None:
                correct = int(np.count_nonzero(predicted == T[order]))
            logs = {"loss": total_loss / n}
            if correct is not None:
                logs["accuracy"] = correct / n
            if val is not None or epoch == epochs:
                # Verify the last update: on the validation set, or (last epoch) on the last batch.
                Xc, Tc = val if val is not None else (xb, tb)
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"), \
                        mode(model, training=False), reuse_buffers(model, loss, enabled=False):
                    out = model.forward(Xc)
                    metrics = _metrics(loss, out, Tc)
                    verified = guard.ok(metrics["loss"], out)
                if not verified:
                    _raise(guard, metrics["loss"], out, epoch, steps, steps, optimizer, history, updated,
                           after_epoch=True)
                if val is not None:
                    logs.update({f"val_{k}": v for k, v in metrics.items()})
            if lr_scheduler is not None:
                logs["lr"] = float(lr) if lr is not None else math.nan
                lr_scheduler.step()
            history._append(epoch, logs)
            bar.advance(epoch, logs)
            stop = False
            # Callbacks are user code: they see the public contract (new arrays, copies), so a
            # model they copy or an output they keep is not tied to the arrays the steps reuse.
            with reuse_buffers(model, loss, enabled=False):
                for c in callbacks:
                    stop = (c(epoch, dict(logs)) is True) or stop
            if stop:
                if val is None and epoch != epochs:  # verify the last update before returning
                    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                        out = model.forward(xb)
                        value = loss.forward(out, tb)
                        verified = guard.ok(value, out)
                    if not verified:
                        _raise(guard, value, out, epoch, steps, steps, optimizer, history, updated,
                               after_epoch=True)
                break
    for c in callbacks:
        getattr(c, "on_train_end", lambda *a: None)(model, history)
    return history


def _raise(guard: _Guard, value: float, out, epoch: int, step: int, steps: int, optimizer, history: History,
           updated: bool, *, after_epoch: bool = False) -> None:
    problem, blame_grad = guard.problem(value, out)
    shown_epoch, shown_step = epoch, step
    if blame_grad and not after_epoch:  # the gradient came from the previous step's backward
        shown_step = step - 1
        if shown_step == 0:
            shown_epoch, shown_step = epoch - 1, steps
    if after_epoch and not blame_grad:
        problem += " after the epoch's last update"
    no_update_yet = blame_grad and guard.count == 1  # the gradient came from the very first step
    where = guard.where
    guard.restore()
    raise TrainingDiverged(_diverged(problem, blame_grad, shown_epoch, shown_step, steps, where, optimizer,
                                     no_update_yet),
                           epoch=shown_epoch, step=shown_step, history=history, restored_epoch=where[0],
                           restored_step=where[1], loss=value)


