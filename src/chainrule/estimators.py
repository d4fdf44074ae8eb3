"""``MLPClassifier``: scikit-learn's estimator interface over chainrule's ``mlp`` and ``fit``.

It follows scikit-learn's conventions (constructor arguments stored as given and validated in
``fit``, ``get_params``/``set_params``, fitted attributes ending in ``_``) without importing
scikit-learn, so ``sklearn.model_selection.cross_val_score``, ``GridSearchCV`` and ``clone`` take it
as one of their own. There is one implementation of training: this class builds a
``chainrule.mlp``, wraps the loss in ``L2Regularized`` for ``alpha`` and calls ``chainrule.fit``.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence

import numpy as np

from ._validate import (
    as_float_array,
    as_rng,
    check_allocation,
    check_bool,
    check_choice,
    check_real,
    to_array,
)
from .data.split import train_test_split
from .nn.losses import CrossEntropyLoss
from .nn.regularization import L2Regularized
from .nn.sequential import Sequential, mlp
from .optim import SGD, Adam
from .training import fit as fit_model
from .training import predict_proba as model_predict_proba

_ACTIVATIONS = {"relu": "relu", "tanh": "tanh", "logistic": "sigmoid", "identity": "identity",
                "leaky_relu": "leaky_relu"}
_SCHEDULES = ("cosine", "constant", "invscaling")


class NotFittedError(ValueError, AttributeError):
    """The estimator is used before ``fit`` (scikit-learn's ``NotFittedError`` has the same bases)."""


class MLPClassifier:
    """A multi-layer perceptron classifier with scikit-learn's interface, trained by chainrule.

    Parameters (scikit-learn's names; marked where the defaults differ from scikit-learn's). The
    defaults (Adam, cosine decay from 0.01 over 60 epochs, batch 64, alpha 0.1) were chosen by 5-fold
    stratified cross-validation on the training parts of the digits (the 75 % training parts of the
    three splits ``benchmarks/digits.py`` tests on, standardized per fold; 42 candidates over solver,
    learning rate, alpha, epochs and batch size): the best mean accuracy over the 15 folds (0.9810)
    among the candidates predicted to fit in at most 0.8x the time of scikit-learn's sgd solver
    (0.60x; the best of all, 0.9815 with lr 0.005 over 100 epochs, predicted 1.01x). The test parts
    were not used for the choice. ``benchmarks/digits_cv.py`` reproduces it. They suit standardized
    inputs.

    - ``hidden_layer_sizes``: hidden widths, e.g. ``(64,)``; ``activation``: "relu", "tanh",
      "logistic", "identity" (or "leaky_relu").
    - ``solver``: "adam" (``chainrule.Adam``) or "sgd" (``chainrule.SGD`` with ``momentum``).
    - ``alpha``: L2 penalty, the course's lambd: cost + alpha/(2m) ||W||² per batch of m (as
      scikit-learn's). Default 0.1 (scikit-learn: 1e-4).
    - ``batch_size``: int, or "auto" = min(200, n_samples). Default 64 (scikit-learn: "auto").
    - ``learning_rate``: "cosine" (default; decays from ``learning_rate_init`` to 0 over
      ``max_iter`` epochs), "constant", or "invscaling" (lr / epoch^``power_t``).
    - ``learning_rate_init``: default 0.01 (scikit-learn: 1e-3). ``max_iter``: epochs, default 60
      (scikit-learn: 200). ``shuffle``: reshuffle every epoch (always on in ``chainrule.fit``; only
      True is accepted).
    - ``tol``, ``n_iter_no_change``: stop when the training loss (or, with ``early_stopping``, the
      validation accuracy) has not improved by ``tol`` for ``n_iter_no_change`` epochs.
    - ``early_stopping``: hold out a stratified ``validation_fraction`` of the training data and
      keep the parameters with the best validation accuracy.
    - ``beta_1``, ``beta_2``, ``epsilon``: Adam's; ``momentum``: SGD's.
    - ``random_state``: int seed, ``numpy.random.Generator`` or None (fresh entropy): the initial
      weights, the shuffling and the validation split.
    - ``dtype``: "float64" or "float32"; None (default) follows X (float32 stays float32).

    Fitted attributes: ``classes_``, ``n_features_in_``, ``loss_curve_`` (training loss per epoch,
    penalty included, as scikit-learn's), ``loss_``, ``n_iter_``, ``model_`` (the trained
    ``Sequential``, e.g. for ``chainrule.save`` or ``check_model``), ``history_``, ``coefs_``,
    ``intercepts_``; with ``early_stopping`` also ``validation_scores_`` and
    ``best_validation_score_``.
    """

    _estimator_type = "classifier"  # scikit-learn before 1.6 reads this

    def __init__(self, hidden_layer_sizes: Sequence[int] = (64,), activation: str = "relu", *,
                 solver: str = "adam", alpha: float = 0.1, batch_size: int | str = 64,
                 learning_rate: str = "cosine", learning_rate_init: float = 0.01, power_t: float = 0.5,
                 max_iter: int = 60, shuffle: bool = True,
                 random_state: int | np.random.Generator | None = None,
                 tol: float = 1e-4, momentum: float = 0.9, early_stopping: bool = False,
                 validation_fraction: float = 0.1, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, n_iter_no_change: int = 10, dtype: str | None = None) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.momentum = momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.dtype = dtype

    # ---- scikit-learn's estimator protocol -----------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict:
        """The constructor arguments, as given (scikit-learn's ``get_params``)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params) -> MLPClassifier:
        """Set constructor arguments by name; unknown names are a ``ValueError``. Returns self."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"invalid parameter {name!r} for MLPClassifier; valid parameters: "
                                 f"{', '.join(valid)}")
            setattr(self, name, value)
        return self

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags

        return Tags(estimator_type="classifier", target_tags=TargetTags(required=True),
                    classifier_tags=ClassifierTags(), input_tags=InputTags())

    def __repr__(self) -> str:
        defaults = {k: p.default for k, p in inspect.signature(type(self).__init__).parameters.items()
                    if k != "self"}
        changed = [f"{k}={v!r}" for k, v in self.get_params().items() if not _same(v, defaults[k])]
        return f"MLPClassifier({', '.join(changed)})"

    # ---- training ----------------------------------------------------------------------------------
    def _checked_params(self, n_samples: int, n_features: int) -> dict:
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, (int, np.integer)) else sizes
        if isinstance(sizes, np.ndarray) and sizes.ndim != 1:
            sizes = None  # a 0-d array claims __iter__ but cannot be iterated
        if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__") or not all(
                isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be a tuple of positive ints such as (64,), "
                             f"got {self.hidden_layer_sizes!r}")
        for a, b in zip([n_features, *sizes], sizes, strict=False):
            check_allocation((a, b), np.float64, "hidden_layer_sizes")
        for name, choices, note in (("activation", tuple(_ACTIVATIONS), ""),
                                    ("solver", ("adam", "sgd"), " (chainrule has no 'lbfgs')"),
                                    ("learning_rate", _SCHEDULES, "")):
            value = getattr(self, name)
            if not isinstance(value, str):  # an array or a list: no ambiguous == before the message
                check_choice(value, choices, name)
            if value not in choices:
                want = " or ".join(map(repr, choices)) if len(choices) == 2 else \
                    "one of " + ", ".join(map(repr, choices))
                raise ValueError(f"{name} must be {want}{note}, got {value!r}")
        check_bool(self.early_stopping, "early_stopping")
        for name in ("momentum", "beta_1", "beta_2"):
            check_real(getattr(self, name), name, 0.0, 1.0)
        check_real(self.epsilon, "epsilon", 0.0, low_open=True)
        seed_types = (int, np.integer, np.random.Generator, np.random.RandomState)
        if isinstance(self.random_state, bool) or not (self.random_state is None
                                                       or isinstance(self.random_state, seed_types)):
            raise TypeError(f"random_state must be an int seed, a numpy Generator/RandomState or None, got "
                            f"{type(self.random_state).__name__} {self.random_state!r:.60}")
        if isinstance(self.random_state, (int, np.integer)) and self.random_state < 0:
            raise ValueError(f"random_state must be a seed >= 0, got {self.random_state}")
        if isinstance(self.batch_size, str) and self.batch_size == "auto":
            batch = min(200, n_samples)
        elif isinstance(self.batch_size, (int, np.integer)) and not isinstance(self.batch_size, bool) \
                and self.batch_size > 0:
            batch = min(int(self.batch_size), n_samples)
        else:
            raise ValueError(f"batch_size must be a positive int or 'auto', got {self.batch_size!r}")
        for name in ("max_iter", "n_iter_no_change"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if not isinstance(self.shuffle, (bool, np.bool_)) or not self.shuffle:
            raise ValueError("shuffle must be True: chainrule.fit visits the samples in a fresh seeded "
                             f"order every epoch; got shuffle={self.shuffle!r}")
        if not (self.dtype is None or (isinstance(self.dtype, (str, type))
                                       and self.dtype in ("float32", "float64", np.float32, np.float64))):
            raise ValueError(f"dtype must be None, 'float32' or 'float64', got {self.dtype!r}")
        return {"sizes": [int(s) for s in sizes], "batch": batch,
                "alpha": check_real(self.alpha, "alpha", 0.0),
                "lr": check_real(self.learning_rate_init, "learning_rate_init", 0.0, low_open=True),
                "power_t": check_real(self.power_t, "power_t", 0.0),
                "tol": check_real(self.tol, "tol", 0.0),
                "validation_fraction": check_real(self.validation_fraction, "validation_fraction", 0.0, 1.0,
                                                  low_open=True)}

    def _optimizer(self, lr: float):
        if self.solver == "adam":
            return Adam(lr=lr, betas=(self.beta_1, self.beta_2), eps=self.epsilon)
        return SGD(lr=lr, momentum=self.momentum)

    def fit(self, X: np.ndarray, y: np.ndarray) -> MLPClassifier:
        """Train on X (N, D) numeric and y (N,) class labels (any sortable values: ints, strings).
        Returns self."""
        X = as_float_array(X, "X", ndim=2)
        p = self._checked_params(len(X), X.shape[1])  # every constructor argument, before any work
        if self.dtype is not None:
            X = X.astype(np.dtype(self.dtype), copy=False)
        y = to_array(y, "y")
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        if y.ndim != 1 or len(y) != len(X):
            raise ValueError(f"y must have shape ({len(X)},) (one label per row of X), got {y.shape}")
        if len(X) < 2:
            raise ValueError(f"X must have at least 2 samples, got {X.shape}")
        classes, encoded = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"y must hold at least 2 classes, got only {classes.tolist()}")
        gen = as_rng(self.random_state if not isinstance(self.random_state, np.random.RandomState)
                     else int(self.random_state.randint(2**31)))
        X_train, y_train, val = X, encoded.astype(np.int64), None
        if self.early_stopping:
            n_val = max(len(classes), math.ceil(p["validation_fraction"] * len(X)))
            X_train, X_val, y_train, y_val = train_test_split(X, y_train, test_size=n_val, rng=gen,
                                                              stratify=True)
            val = (X_val, y_val)
        model = mlp([X.shape[1], *p["sizes"], len(classes)], _ACTIVATIONS[self.activation], rng=gen,
                    dtype=X.dtype)
        loss = L2Regularized(CrossEntropyLoss(), model, p["alpha"]) if p["alpha"] > 0 else CrossEntropyLoss()
        optimizer = self._optimizer(p["lr"])
        monitor = _Stopping(model, p["tol"], self.n_iter_no_change, self.early_stopping)

        def after_epoch(epoch: int, logs: dict[str, float]) -> bool:
            optimizer.lr = _schedule(self.learning_rate, p["lr"], epoch, self.max_iter, p["power_t"])
            return monitor.update(logs)

        history = fit_model(model, loss, X_train, y_train, optimizer=optimizer, epochs=int(self.max_iter),
                            batch_size=p["batch"], validation_data=val, rng=gen, callback=after_epoch)
        monitor.restore_best()
        self.model_: Sequential = model
        self.classes_ = classes
        self.n_features_in_ = X.shape[1]
        self.history_ = history
        self.loss_curve_ = list(history.history["loss"])
        self.loss_ = self.loss_curve_[-1]
        self.n_iter_ = len(self.loss_curve_)
        if self.early_stopping:
            self.validation_scores_ = list(history.history["val_accuracy"])
            self.best_validation_score_ = max(self.validation_scores_)
        return self

    # ---- prediction ------------------------------------------------------------------------------
    def _fitted(self) -> Sequential:
        model = getattr(self, "model_", None)
        if model is None:
            raise NotFittedError("this MLPClassifier is not fitted yet; call fit(X, y) first")
        return model

    def _X(self, X: np.ndarray) -> np.ndarray:
        X = as_float_array(X, "X", ndim=2)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but MLPClassifier was fitted with "
                             f"{self.n_features_in_} (X.shape={X.shape})")
        return X

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities (N, n_classes), columns in the order of ``classes_``."""
        model = self._fitted()
        return model_predict_proba(model, self._X(X))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The most probable class of each row of X (N,), as values of ``classes_``."""
        proba = self.predict_proba(X)  # first: it says so when the estimator is not fitted
        return self.classes_[np.argmax(proba, axis=1)]

    def score(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
        """Accuracy of ``predict(X)`` against y (optionally weighted), as scikit-learn's ``score``."""
        y = to_array(y, "y").reshape(-1)
        pred = self.predict(X)
        if len(y) != len(pred):
            raise ValueError(f"y must have one label per row of X ({len(pred)}), got {len(y)}")
        right = (pred == y).astype(np.float64)
        if sample_weight is None:
            return float(right.mean())
        w = as_float_array(sample_weight, "sample_weight", ndim=1)
        if w.shape != right.shape:
            raise ValueError(f"sample_weight must have shape {right.shape}, got {w.shape}")
        return float(np.average(right, weights=w))

    @property
    def coefs_(self) -> list[np.ndarray]:
        """The weight matrices, (n_in, n_out) each, as scikit-learn's ``coefs_`` (live arrays)."""
        return [p for k, p in self._fitted().params.items() if k.endswith(".W")]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        return [p for k, p in self._fitted().params.items() if k.endswith(".b")]


def _schedule(kind: str, lr: float, epoch: int, epochs: int, power_t: float) -> float:
    """The learning rate for the epoch after ``epoch`` (1-based) of ``epochs``."""
    if kind == "cosine":
        return lr * 0.5 * (1 + math.cos(math.pi * min(epoch, epochs) / epochs))
    if kind == "invscaling":
        return lr / (epoch + 1) ** power_t
    return lr


class _Stopping:
    """scikit-learn's stopping rule: no improvement by ``tol`` for ``patience`` epochs of the training
    loss, or (``on_validation``) of the validation accuracy, whose best parameters are then restored."""

    def __init__(self, model: Sequential, tol: float, patience: int, on_validation: bool) -> None:
        self.model, self.tol, self.patience, self.on_validation = model, tol, patience, on_validation
        self.best, self.stale, self.best_state = None, 0, None

    def update(self, logs: dict[str, float]) -> bool:
        score = logs["val_accuracy"] if self.on_validation else -logs["loss"]
        if self.best is None or score > self.best + self.tol:
            self.stale = 0
        else:
            self.stale += 1
        if self.best is None or score > self.best:
            self.best = score
            if self.on_validation:
                self.best_state = self.model.state_dict()
        return self.stale >= self.patience

    def restore_best(self) -> None:
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)


def _same(a: object, b: object) -> bool:
    try:
        return bool(a == b) and type(a) is type(b)
    except (ValueError, TypeError):
        return a is b


__all__ = ["MLPClassifier", "NotFittedError"]
