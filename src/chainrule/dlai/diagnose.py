"""Check a learner's own backward functions and say which layer is wrong and how.

``check_backward`` runs two checks with ``chainrule.gradcheck``:

1. the whole network: the gradients of the learner's ``L_model_backward`` (or of the course's loop
   over the learner's ``linear_activation_backward``) against central differences of the cost,
   per parameter with course names (W1, b1, ...);
2. each layer in isolation: the network becomes a chainrule ``Sequential`` whose steps run the
   core's forward and the learner's backward (the linear step through ``linear_backward``, the
   activation step through ``linear_activation_backward``), and ``check_model`` checks every step
   with a random upstream gradient. A step whose backward applies another activation's derivative
   (seed 001's swapped sigmoid/ReLU) is reported with pattern "activation" and the derivative used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from ..gradcheck.report import GradientReport
from ..nn import Layer, Linear, Loss, ReLU, Sequential, Sigmoid, Tanh
from ._arrays import as_course_array, course_parameters, labels
from .backward import L_model_backward as _L_model_backward
from .backward import linear_activation_backward as _linear_activation_backward
from .backward import linear_backward as _linear_backward
from .forward import L_model_forward, compute_cost


class _LearnerLinear(Linear):
    """The core's affine forward; backward through a course-layout ``linear_backward``.

    The course's dW and db carry 1/m and its dA_prev does not, so the upstream gradient is passed
    as m * dout.T (the course's dZ) and dA_prev is divided by m: exact layer-protocol gradients.
    """

    def __init__(self, W: np.ndarray, b: np.ndarray, linear_backward: Callable) -> None:
        super().__init__(W.shape[1], W.shape[0], init=lambda fan_in, fan_out, rng, dtype: W.T.copy(), rng=0,
                         dtype=W.dtype)
        self.params["b"][...] = b.reshape(-1)
        self.linear_backward = linear_backward

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self._require(self.x)
        m = self.x.shape[0]
        A_prev, W, b = self.x.T, self.params["W"].T, self.params["b"].reshape(-1, 1)
        try:
            dA_prev, dW, db = self.linear_backward(m * np.asarray(dout).T, (A_prev, W, b))
        except ValueError as e:
            if "broadcast" not in str(e):
                raise
            raise ValueError(f"{e} (an elementwise * where a matrix product is needed? e.g. W.T * dZ "
                             "instead of np.dot(W.T, dZ))") from e
        dA_prev = _course_shaped(dA_prev, "dA_prev", A_prev, "A_prev")
        self.grads["W"] = _course_shaped(dW, "dW", W, "W").T
        self.grads["b"] = _course_shaped(db, "db", b, "b").reshape(-1)
        return dA_prev.T / m


def _course_shaped(value: object, key: str, ref: np.ndarray, like: str) -> np.ndarray:
    """A gradient returned by a learner's ``linear_backward`` must have its variable's course shape:
    reshaping it here would hide the bug the course's asserts catch (a db of shape (n,) broadcasts
    b - lr * db to (n, n) in ``update_parameters``)."""
    arr = np.asarray(value)
    if arr.shape != ref.shape:
        why = " (keepdims=True forgotten in np.sum?)" if arr.size == ref.size and key == "db" else ""
        why = " (transposed)" if arr.shape == ref.shape[::-1] and arr.ndim == 2 else why
        raise ValueError(f"linear_backward returned {key} of shape {arr.shape}; it must have the shape of "
                         f"{like}, {ref.shape}{why}")
    return arr


class _LearnerActivation:
    """The core activation's forward; backward through the activation step of a course-layout
    ``linear_activation_backward``, isolated by handing it an identity linear step (W = I, so its
    dA_prev = W.T dZ is the dZ it computed)."""

    activation = ""

    def __init__(self, linear_activation_backward: Callable) -> None:
        super().__init__()
        self.linear_activation_backward = linear_activation_backward
        self.z: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.z = x
        return super().forward(x)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self._require(self.z)
        Z = self.z.T
        n, m = Z.shape
        identity = (np.zeros((n, m)), np.eye(n), np.zeros((n, 1)))
        dZ, _, _ = self.linear_activation_backward(np.asarray(dout).T, (identity, Z), self.activation)
        return np.asarray(dZ).T


class _LearnerReLU(_LearnerActivation, ReLU):
    activation = "relu"


class _LearnerSigmoid(_LearnerActivation, Sigmoid):
    activation = "sigmoid"


class _LearnerTanh(_LearnerActivation, Tanh):
    activation = "tanh"


_STEPS: dict[str, type[Layer]] = {"relu": _LearnerReLU, "sigmoid": _LearnerSigmoid, "tanh": _LearnerTanh}


class _CourseCost(Loss):
    """The course's cross-entropy on sigmoid outputs, in row layout: probs and target (m, 1)."""

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float:
        self.cache = (np.asarray(logits), np.asarray(target, dtype=np.float64))
        return compute_cost(self.cache[0].T, self.cache[1].T)

    def backward(self) -> np.ndarray:
        AL, Y = self._cached()
        return -(Y / AL - (1 - Y) / (1 - AL)) / AL.shape[0]


@dataclass
class StepVerdict:
    """One step of one course layer: ``layer`` l (1-based), ``step`` "linear" or the activation name."""

    layer: int
    step: str
    function: str
    passed: bool
    pattern: str | None = None
    derivative: str | None = None
    hint: str = ""

    def describe(self) -> str:
        what = f"layer {self.layer} {self.step:<8} ({self.function})"
        if self.passed:
            return f"{what}: ok"
        if self.pattern == "activation":
            return (f"{what}: FAIL, pattern 'activation': dZ uses the derivative of {self.derivative} "
                    f"where layer {self.layer} is {self.step}")
        return f"{what}: FAIL, pattern {self.pattern!r}: {self.hint}"

    def to_dict(self) -> dict:
        return {"layer": self.layer, "step": self.step, "function": self.function, "passed": self.passed,
                "pattern": self.pattern, "derivative": self.derivative, "hint": self.hint}


@dataclass
class BackwardCheck:
    """What ``check_backward`` found. ``difference`` is the course's relative difference over all
    W/b of the learner's gradients; ``failed`` the wrong parameters (course names); ``steps`` one
    verdict per layer step; ``blame`` the first wrong step in forward order (None if all pass).
    ``parameters`` and ``model`` are the underlying chainrule ``GradientReport``s."""

    passed: bool
    difference: float
    failed: list[str]
    steps: list[StepVerdict]
    parameters: GradientReport | None
    model: GradientReport
    blame: StepVerdict | None = field(default=None)
    error: str | None = None

    @property
    def wrong_layers(self) -> list[int]:
        return sorted({s.layer for s in self.steps if not s.passed})

    def __str__(self) -> str:
        head = "backward check " + ("passed" if self.passed else "FAILED")
        lines = [f"{head}: difference = {self.difference:.10g}"
                 + (f"; wrong gradients: {', '.join(self.failed)}" if self.failed else "")]
        if self.error:
            lines.append(f"  {self.error}")
        if self.parameters is not None:
            lines += [f"  {name}: {p.pattern or 'unresolved'}: {p.hint}"
                      for name, p in self.parameters.parameters.items() if not (p.passed and p.resolved)]
        lines.append("each step checked alone:")
        lines += ["  " + s.describe() for s in self.steps]
        if self.blame is not None:
            b = self.blame
            lines.append(f"first wrong step: layer {b.layer} {b.step} in {b.function}")
        elif not self.passed:
            lines.append("every step passes on its own: the bug is in what joins them (dAL, the loop of "
                         "L_model_backward, or a linear_backward of your own that your "
                         "linear_activation_backward calls; pass it as linear_backward= to check it too)")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        difference = self.difference if np.isfinite(self.difference) else None
        return {"passed": self.passed, "difference": difference, "failed": list(self.failed),
                "error": self.error,
                "parameters": None if self.parameters is None else self.parameters.to_dict(),
                "steps": [s.to_dict() for s in self.steps],
                "blame": None if self.blame is None else self.blame.to_dict()}


def _with_linear_backward(linear_backward: Callable) -> Callable:
    """chainrule's ``linear_activation_backward`` with the activation step chainrule's and the linear
    step ``linear_backward``: the whole-network check of a learner's ``linear_backward`` alone."""
    from .activations import activation_pair

    def linear_activation_backward(dA: np.ndarray, cache: tuple, activation: str) -> tuple:
        linear_cache, activation_cache = cache
        return linear_backward(activation_pair(activation, "check_backward")[1](dA, activation_cache),
                               linear_cache)

    return linear_activation_backward


def _course_loop(linear_activation_backward: Callable) -> Callable:
    """The course's L_model_backward loop, calling the given ``linear_activation_backward``."""

    def L_model_backward(AL: np.ndarray, Y: np.ndarray, caches: list) -> dict[str, np.ndarray]:
        L, grads = len(caches), {}
        Y = np.asarray(Y).reshape(AL.shape)
        dA = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
        for layer in range(L, 0, -1):
            dA, grads[f"dW{layer}"], grads[f"db{layer}"] = linear_activation_backward(
                dA, caches[layer - 1], "sigmoid" if layer == L else "relu")
        return grads

    return L_model_backward


def check_backward(parameters: Mapping[str, np.ndarray], X: np.ndarray, Y: np.ndarray, *,
                   linear_activation_backward: Callable | None = None,
                   linear_backward: Callable | None = None, L_model_backward: Callable | None = None,
                   eps: float | None = None, **options) -> BackwardCheck:
    """Check a learner's backward functions on the course's [LINEAR -> RELU] x (L-1) -> LINEAR -> SIGMOID.

    ``parameters`` (W1, b1, ...), X (n_x, m) and Y (1, m) give the point to check at. Pass your
    own ``linear_activation_backward(dA, cache, activation)``, ``linear_backward(dZ, cache)`` and/or
    ``L_model_backward(AL, Y, caches)``; the ones you leave out are chainrule's. The forward pass is
    always chainrule's (the reference). ``eps`` and ``options`` (e.g. ``threshold``) go to
    ``chainrule.gradcheck``. Returns a ``BackwardCheck``; ``print`` it for the verdict per step.
    """
    from ..gradcheck import check_gradients, check_model

    L, params = course_parameters(parameters)
    X = as_course_array(X, "check_backward: X")
    Y = labels(Y, X.shape[1], "check_backward: Y")
    lab = linear_activation_backward or _linear_activation_backward
    lb = linear_backward or _linear_backward
    if L_model_backward is not None:
        full = L_model_backward
    elif linear_activation_backward is not None:
        full = _course_loop(linear_activation_backward)
    elif linear_backward is not None:
        full = _course_loop(_with_linear_backward(linear_backward))
    else:
        full = _L_model_backward

    def cost(p: dict[str, np.ndarray]) -> float:
        return compute_cost(L_model_forward(X, p)[0], Y)

    AL, caches = L_model_forward(X, params)
    whole, error = None, None
    try:
        grads = full(AL, Y, caches)
    except Exception as e:  # the learner's code may fail in any way; the steps below still say where
        error = f"the backward pass raised {type(e).__name__}: {e}"
    else:
        keys = [f"d{p}{layer}" for layer in range(1, L + 1) for p in "Wb"]
        missing = [k for k in keys if k not in grads]
        if missing:
            raise ValueError(f"check_backward: L_model_backward returned no {missing}; "
                             f"got keys {sorted(grads)}")
        whole = check_gradients(cost, params, {k: grads[k] for k in keys}, eps=eps,
                                **{"batch_size": X.shape[1], **options})

    layers: list[Layer] = []
    for layer in range(1, L + 1):
        layers.append(_LearnerLinear(params[f"W{layer}"], params[f"b{layer}"], lb))
        layers.append(_STEPS["sigmoid" if layer == L else "relu"](lab))
    model = check_model(Sequential(*layers), _CourseCost(), X.T.copy(), Y.T.copy(), eps=eps, **options)
    steps = []
    for result in model.layers:
        layer, is_activation = result.index // 2 + 1, result.index % 2 == 1
        step = ("sigmoid" if layer == L else "relu") if is_activation else "linear"
        bad = next((p for p in result.parameters.values() if not p.passed), None)
        derivative = bad.detail if bad is not None and bad.pattern == "activation" else None
        function = "linear_activation_backward" if is_activation else "linear_backward"
        steps.append(StepVerdict(layer, step, function, result.passed, result.pattern, derivative,
                                 result.hint))
    blame = next((s for s in steps if not s.passed), None)
    if whole is None:
        return BackwardCheck(False, float("nan"), [], steps, None, model, blame, error)
    passed = whole.passed and all(s.passed for s in steps)
    return BackwardCheck(passed, float(whole.difference), list(whole.failed), steps, whole, model, blame)
