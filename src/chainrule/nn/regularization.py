"""The course's L2 regularization: cost + lambd/(2m) * sum of squared weights, gradient + lambd/m * W.

m is the number of examples in the batch the cost is computed on (scikit-learn's ``alpha`` for
``MLPClassifier`` is the same penalty: 0.5 * alpha * ||W||² / m). Only weights are penalized, not
biases, as in the course: by default the parameters named ``W`` (``"0.W"``, ``"2.W"``, ...).
Decoupled weight decay (AdamW) is an optimizer, not a cost term.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from .._validate import check_mapping, check_positive_int, check_real, to_array
from .module import Layer, Loss

__all__ = ["L2Regularized", "base_loss", "is_weight", "l2_penalty", "l2_penalty_grads"]


def is_weight(name: str) -> bool:
    """The default choice of penalized parameters: those whose own name is ``W`` (Linear's weights)."""
    return name.rpartition(".")[2] == "W"


def _selects(select: Callable[[str], bool], name: str) -> bool:
    """``select(name)``, a user's function: a failure names the argument and keeps the cause."""
    try:
        return bool(select(name))
    except Exception as exc:
        raise TypeError(f"select must be a function name -> bool; select({name!r}) raised "
                        f"{type(exc).__name__}: {exc}") from exc


def _check_penalty_args(params: object, lambd: object, m: object, select: object
                        ) -> tuple[dict[str, np.ndarray], float, int]:
    """The selected parameters as float arrays, lambd >= 0 and m >= 1, refused by name otherwise."""
    check_mapping(params, "params")
    lambd = check_real(lambd, "lambd", 0.0)
    m = check_positive_int(m, "m")
    if not callable(select):
        raise TypeError(f"select must be a function name -> bool, got {type(select).__name__}")
    chosen = {}
    for k, p in params.items():
        if _selects(select, k):
            arr = to_array(p, f"params[{k!r}]")
            if arr.dtype.kind not in "f":
                raise TypeError(f"params[{k!r}] must be a float array, got dtype {arr.dtype}")
            chosen[k] = arr
    return chosen, lambd, m


def l2_penalty(params: Mapping[str, np.ndarray], lambd: float, m: int,
               select: Callable[[str], bool] = is_weight) -> float:
    """lambd / (2 m) * sum of ||params[k]||² over the selected names."""
    chosen, lambd, m = _check_penalty_args(params, lambd, m, select)
    total = sum(float(np.sum(np.square(p, dtype=np.float64))) for p in chosen.values())
    return lambd / (2 * m) * total


def l2_penalty_grads(params: Mapping[str, np.ndarray], lambd: float, m: int,
                     select: Callable[[str], bool] = is_weight) -> dict[str, np.ndarray]:
    """The penalty's gradient, lambd / m * W, for each selected parameter (in its dtype)."""
    chosen, lambd, m = _check_penalty_args(params, lambd, m, select)
    return {k: p * p.dtype.type(lambd / m) for k, p in chosen.items()}


class L2Regularized(Loss):
    """``loss`` plus the course's L2 penalty on ``model``'s weights.

    forward(logits (N, ...), target) = loss(logits, target) + lambd/(2N) * sum ||W||², N the batch
    size; backward() = loss's dL/dlogits (the penalty does not depend on the logits). The penalty's
    gradient with respect to the weights, lambd/N * W, is added to the model's gradients by
    ``add_penalty_grads(grads)`` after the model's backward: ``chainrule.fit`` does that for you, and
    ``check_model(model, L2Regularized(...), X, y)`` checks the penalized cost and gradients.
    ``select(name)`` chooses the penalized parameters (default: names ending in ``W``).

    >>> loss = L2Regularized(CrossEntropyLoss(), model, lambd=0.7)     # doctest: +SKIP
    >>> fit(model, loss, X, y, optimizer=SGD(lr=0.3), epochs=100)     # doctest: +SKIP
    """

    def __init__(self, loss: Loss, model: Layer, lambd: float, *,
                 select: Callable[[str], bool] = is_weight) -> None:
        super().__init__()
        if not isinstance(loss, Loss):
            raise TypeError(f"loss must be a chainrule Loss such as CrossEntropyLoss(), "
                            f"got {type(loss).__name__}")
        if not hasattr(model, "params"):
            raise TypeError(f"model must be a chainrule Layer with params, got {type(model).__name__}")
        self.loss, self.model = loss, model
        self.lambd = check_real(lambd, "lambd", 0.0)
        if not callable(select):
            raise TypeError(f"select must be a function name -> bool, got {type(select).__name__}")
        self.select = select
        if not any(_selects(select, k) for k in model.params):
            raise ValueError(f"L2Regularized: no parameter of the model is selected for the penalty "
                             f"(parameters: {list(model.params)}); pass select=")
        self.m: int | None = None

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float:
        value = self.loss.forward(logits, target)
        self.m = int(np.shape(logits)[0])
        return float(value) + l2_penalty(self.model.params, self.lambd, self.m, self.select)

    def backward(self) -> np.ndarray:
        if self.m is None:
            raise RuntimeError("L2Regularized.backward called before forward()")
        return self.loss.backward()

    def add_penalty_grads(self, grads: dict[str, np.ndarray] | None = None) -> None:
        """Add lambd/m * W to ``grads`` (default: the model's ``grads``), m the last forward's batch."""
        if self.m is None:
            raise RuntimeError("L2Regularized.add_penalty_grads called before forward()")
        grads = self.model.grads if grads is None else grads
        for k, g in l2_penalty_grads(self.model.params, self.lambd, self.m, self.select).items():
            grads[k] = grads[k] + g

    def __repr__(self) -> str:
        return f"L2Regularized({self.loss!r}, lambd={self.lambd})"


def base_loss(loss: Loss) -> Loss:
    """The data loss inside penalty wrappers: what decides the targets a loss takes and whether
    accuracy is measured."""
    while isinstance(loss, L2Regularized):
        loss = loss.loss
    return loss
