"""Callbacks for ``fit``: a ``Callback`` base with Keras-style hooks, and ``EarlyStopping``.

``fit(..., callback=...)`` takes a callable ``callback(epoch, logs)`` (returning True stops
training), a ``Callback`` or a list of them. A ``Callback`` is that callable plus two hooks,
``on_train_begin(model, history)`` and ``on_train_end(model, history)``.
"""

from __future__ import annotations

import math

import numpy as np

from .._validate import check_bool, check_choice, check_real


class Callback:
    """Base class. ``__call__(epoch, logs)`` runs after every epoch (``logs``: that epoch's
    metrics, e.g. {"loss", "accuracy", "val_loss", "val_accuracy"}); returning True stops training."""

    def on_train_begin(self, model, history) -> None:
        """Before the first epoch."""

    def __call__(self, epoch: int, logs: dict[str, float]) -> bool | None:
        return None

    def on_train_end(self, model, history) -> None:
        """After the last epoch (also after a stop), not after ``TrainingDiverged``."""


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs in a
    row (Keras's rule; ``patience=0`` stops at the first epoch without improvement).

    monitor: a key of the epoch logs, "val_loss" by default (needs ``validation_data`` or
    ``validation_split``). mode: "min", "max" or "auto" (max for names containing "acc", else min).
    restore_best_weights: at the end, put back the parameters of the best epoch (a copy is taken
    at each improvement, once per epoch), and set ``history.best_epoch``. After ``fit``,
    ``stopped_epoch`` is the epoch after which training stopped (None if it ran to the end) and
    ``best_epoch``/``best`` the best epoch and its value.

    Example: ``fit(..., validation_split=0.2, callback=EarlyStopping(patience=5))``.
    """

    def __init__(self, monitor: str = "val_loss", *, patience: int = 5, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = True) -> None:
        if not isinstance(monitor, str):
            raise TypeError(f"monitor must be a metric name such as 'val_loss', got {type(monitor).__name__}")
        if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)) or patience < 0:
            raise ValueError(f"patience must be an integer >= 0, got {patience!r}")
        check_choice(mode, ("auto", "min", "max"), "mode")
        self.monitor, self.patience = monitor, int(patience)
        self.min_delta = abs(check_real(min_delta, "min_delta", 0.0))
        self.mode = mode if mode != "auto" else ("max" if "acc" in monitor else "min")
        self.restore_best_weights = check_bool(restore_best_weights, "restore_best_weights")
        self._reset()

    def _reset(self) -> None:
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None
        self.wait = 0
        self._weights: dict[str, np.ndarray] | None = None
        self._model = None

    def on_train_begin(self, model, history) -> None:
        self._reset()
        self._model = model

    def _improved(self, value: float) -> bool:
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def __call__(self, epoch: int, logs: dict[str, float]) -> bool:
        if self.monitor not in logs:
            raise ValueError(f"EarlyStopping monitors {self.monitor!r}, but the epoch logs only have "
                             f"{sorted(logs)}; pass validation_data or validation_split to fit, or "
                             f"monitor one of those")
        value = float(logs[self.monitor])
        if math.isfinite(value) and self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights and self._model is not None:
                params = self._model.params
                if self._weights is None:
                    self._weights = {k: np.array(v, copy=True) for k, v in params.items()}
                else:
                    for k, v in params.items():
                        np.copyto(self._weights[k], v)
            return False
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False

    def on_train_end(self, model, history) -> None:
        history.stopped_epoch = self.stopped_epoch
        if self.restore_best_weights and self._weights is not None:
            for k, v in model.params.items():  # in place: optimizers hold these arrays
                np.copyto(v, self._weights[k])
            history.best_epoch = self.best_epoch
        self._model = None

    def __repr__(self) -> str:
        return (f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, "
                f"min_delta={self.min_delta}, "
                f"mode={self.mode!r}, restore_best_weights={self.restore_best_weights})")
