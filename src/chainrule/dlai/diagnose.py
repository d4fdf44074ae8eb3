"""Check a learner's own backward functions and say which layer is wrong and how.

``check_backward`` runs two checks with ``chainrule.gradcheck``:

1. the whole network: the gradients of the learner's ``L_model_backward`` (or of the course's loop
   over the learner's ``linear_activation_backward``) against central differences of the cost,
   per parameter with course names (W1, b1, ...);
2. each layer in isolation: the network becomes a chainrule ``Sequential`` whose steps run the
   core's forward and the learner's backward (the linear step through ``linear_backward``, the
   activation step through ``relu_backward``/``sigmoid_backward`` when given, else through
   ``linear_activation_backward``), and ``check_model`` checks every step
   with a random upstream gradient. A step whose backward applies another activation's derivative
   (seed 001's swapped sigmoid/ReLU) is reported with pattern "activation" and the derivative used.

Every learner function is called on copies of its arguments (``learner.Watched``): one that writes
into an argument fails with pattern "inplace", naming the argument. A learner's ``L_model_backward``
must also return the course's dA<l> (the course's grader compares them). Hints use the course's
names: dA_prev, dW, db (linear step) and dZ (activation step).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from ..gradcheck.report import GradientReport, LayerResult
from ..nn import Layer, Linear, Loss, ReLU, Sequential, Sigmoid, Tanh
from ._arrays import as_course_array, course_parameters, labels, layer_keys
from .backward import L_model_backward as _L_model_backward
from .backward import linear_backward as _linear_backward
from .forward import L_model_forward, compute_cost, cost_derivative
from .learner import Mutation, Watched, bad_gradients, check_arguments, wrong_dA


class _LearnerLinear(Linear):
    """The core's affine forward; backward through a course-layout ``linear_backward``.

    The course's dW and db carry 1/m and its dA_prev does not, so the upstream gradient is passed
    as m * dout.T (the course's dZ) and dA_prev is divided by m: exact layer-protocol gradients.
    """

    def __init__(self, W: np.ndarray, b: np.ndarray, linear_backward: Watched, layer: int) -> None:
        super().__init__(W.shape[1], W.shape[0], init=lambda fan_in, fan_out, rng, dtype: W.T.copy(), rng=0,
                         dtype=W.dtype)
        self.params["b"][...] = b.reshape(-1)
        self.linear_backward = linear_backward
        self.layer = layer

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self._require(self.x)
        m = self.x.shape[0]
        A_prev, W, b = self.x.T, self.params["W"].T, self.params["b"].reshape(-1, 1)
        try:
            dA_prev, dW, db = self.linear_backward((self.layer, "linear"), m * np.asarray(dout).T,
                                                   (A_prev, W, b))
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
    """The core activation's forward; backward through ``dZ_of(dA, Z)`` in the course's layout (see
    ``_activation_step``)."""

    def __init__(self, dZ_of: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> None:
        super().__init__()
        self.dZ_of = dZ_of
        self.z: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.z = x
        return super().forward(x)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self._require(self.z)
        return np.asarray(self.dZ_of(np.asarray(dout).T, self.z.T)).T


class _LearnerReLU(_LearnerActivation, ReLU):
    pass


class _LearnerSigmoid(_LearnerActivation, Sigmoid):
    pass


class _LearnerTanh(_LearnerActivation, Tanh):
    pass


_STEPS: dict[str, type[Layer]] = {"relu": _LearnerReLU, "sigmoid": _LearnerSigmoid, "tanh": _LearnerTanh}


class _CourseCost(Loss):
    """The course's cross-entropy on sigmoid outputs, in row layout: probs and target (m, 1)."""

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float:
        self.cache = (np.asarray(logits), np.asarray(target, dtype=np.float64))
        return compute_cost(self.cache[0].T, self.cache[1].T)

    def backward(self) -> np.ndarray:
        AL, Y = self._cached()
        return cost_derivative(AL, Y) / AL.shape[0]


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
        if self.pattern == "activation" and self.derivative in ("sigmoid", "tanh", "relu", "leaky_relu",
                                                                "identity"):
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
    ``parameters`` and ``model`` are the underlying chainrule ``GradientReport``s. ``mutations``: the
    arguments your functions wrote into; ``wrong_dA``: the dA<l> of your ``L_model_backward`` that
    differ from the course's (key -> how), which the course's grader checks and the gradients do not
    show."""

    passed: bool
    difference: float
    failed: list[str]
    steps: list[StepVerdict]
    parameters: GradientReport | None
    model: GradientReport
    blame: StepVerdict | None = field(default=None)
    error: str | None = None
    mutations: list[Mutation] = field(default_factory=list)
    wrong_dA: dict[str, str] = field(default_factory=dict)

    @property
    def wrong_layers(self) -> list[int]:
        return sorted({s.layer for s in self.steps if not s.passed})

    def __str__(self) -> str:
        head = "backward check " + ("passed" if self.passed else "FAILED")
        lines = [f"{head}: difference = {self.difference:.10g}"
                 + (f"; wrong gradients: {', '.join('d' + k for k in self.failed)}" if self.failed else "")]
        if self.error:
            lines.append(f"  {self.error}")
        if self.parameters is not None:
            lines += [f"  d{name}: {p.pattern or 'unresolved'}: {p.hint}"
                      for name, p in self.parameters.parameters.items() if not (p.passed and p.resolved)]
        lines += [f"  grads['{key}'] {how}" for key, how in self.wrong_dA.items()]
        shown = {(s.layer, s.step) for s in self.steps if s.pattern == "inplace"}
        lines += ["  " + m.describe() for m in self.mutations if (m.layer, m.step) not in shown]
        lines.append("each step checked alone:")
        lines += ["  " + s.describe() for s in self.steps]
        if self.blame is not None:
            b = self.blame
            lines.append(f"first wrong step: layer {b.layer} {b.step} in {b.function}")
        elif self.failed or self.error:
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
                "blame": None if self.blame is None else self.blame.to_dict(),
                "mutations": [m.to_dict() for m in self.mutations], "wrong_dA": dict(self.wrong_dA)}


def _course_activation_backward(linear_backward: Watched, backward: Mapping[str, Watched]) -> Callable:
    """The course's ``linear_activation_backward``, called with ``where`` first: dZ from the
    activation's backward (the learner's relu_backward/sigmoid_backward in ``backward``, else
    chainrule's), then ``linear_backward``."""
    from .activations import activation_pair

    def linear_activation_backward(where: tuple[int, str], dA: np.ndarray, cache: tuple,
                                   activation: str) -> tuple:
        linear_cache, activation_cache = cache
        if activation in backward:
            dZ = backward[activation](where, dA, activation_cache)
        else:
            dZ = activation_pair(activation, "check_backward")[1](dA, activation_cache)
        return linear_backward((where[0], "linear"), dZ, linear_cache)

    return linear_activation_backward


def _course_loop(linear_activation_backward: Callable) -> Callable:
    """The course's L_model_backward loop, calling
    ``linear_activation_backward(where, dA, cache, activation)``."""

    def L_model_backward(AL: np.ndarray, Y: np.ndarray, caches: list) -> dict[str, np.ndarray]:
        L, grads = len(caches), {}
        dA = cost_derivative(AL, np.asarray(Y).reshape(AL.shape))
        for layer in range(L, 0, -1):
            activation = "sigmoid" if layer == L else "relu"
            dA, grads[f"dW{layer}"], grads[f"db{layer}"] = linear_activation_backward(
                (layer, activation), dA, caches[layer - 1], activation)
        return grads

    return L_model_backward


def _activation_step(layer: int, activation: str, linear_activation_backward: Watched | None,
                     backward: Watched | None) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """dZ from dA at layer ``layer``: the learner's ``relu_backward``/``sigmoid_backward`` itself when
    given, else the activation step of the learner's ``linear_activation_backward``, isolated by
    handing it an identity linear step (W = I, so its dA_prev = W.T dZ is the dZ it computed), else
    chainrule's."""
    from .activations import activation_pair

    where = (layer, activation)
    if backward is not None:
        return lambda dA, Z: backward(where, dA, Z)
    if linear_activation_backward is None:
        return activation_pair(activation, "check_backward")[1]

    def dZ_of(dA: np.ndarray, Z: np.ndarray) -> np.ndarray:
        n, m = Z.shape
        identity = (np.zeros((n, m)), np.eye(n), np.zeros((n, 1)))
        return linear_activation_backward(where, dA, (identity, Z), activation)[0]

    return dZ_of


# The layer protocol's names of a step's gradients in the course's terms: the linear step's input
# gradient is dA_prev (its input A_prev), the activation step's is dZ (its input Z).
_COURSE_NAMES = {"linear": {"x": "dA_prev", "W": "dW", "b": "db"}, "activation": {"x": "dZ"}}
# The symbols of the core's hints (x the input, y the output, dout the upstream gradient, dx the
# input gradient) in the course's: Z, A, dA, dZ at the activation step; A_prev, dZ, dA_prev at the linear.
_SYMBOLS = {"activation": {"dx": "dZ", "dout": "dA", "x": "Z", "y": "A"},
            "linear": {"dx": "dA_prev", "dout": "dZ", "x": "A_prev"}}
_SYMBOL = re.compile(r"(?<![A-Za-z0-9_.])(dx|dout|x|y)(?![A-Za-z0-9_])")


def _in_course_terms(hint: str, kind: str, ndim: int) -> str:
    """A row-layout hint for one gradient in the course's names and layout, where every 2-D array
    is the transpose (rows are columns, index (i, j) is (j, i)) and b is a column ((i,) is (i, 0))."""
    hint = hint.replace("x.T @ dout vs dout.T @ x", "np.dot(dZ, A_prev.T) vs np.dot(A_prev, dZ.T)")
    hint = hint.replace("the input x", "x").replace("where the input is ", "where x ")
    symbols = _SYMBOLS[kind]

    def rename(m: re.Match) -> str:
        times = m.group(1) == "x" and re.search(r"\d $", hint[:m.start()])  # "2 x numerical"
        return m.group(1) if times else symbols.get(m.group(1), m.group(1))

    hint = _SYMBOL.sub(rename, hint)
    if ndim == 2:
        hint = re.sub(r"\((\d+), (\d+)\)", r"(\2, \1)", hint)
        return re.sub(r"\b(row|column)\b", lambda m: "column" if m.group(1) == "row" else "row", hint)
    return re.sub(r"\((\d+),\)", r"(\1, 0)", hint)


def _course_hint(result: LayerResult, kind: str) -> str:
    """A step's hint in the course's names: "dA_prev: analytic = 2 x numerical ..." (also naming the
    step's other wrong gradients)."""
    if result.error:
        return result.error
    bad = [p for p in result.parameters.values() if not p.passed]
    if not bad:
        return ""
    names = _COURSE_NAMES[kind]
    first = bad[0]
    text = f"{names.get(first.name, first.name)}: {_in_course_terms(first.hint, kind, len(first.shape))}"
    if len(bad) > 1:
        text += f" (also wrong: {', '.join(names.get(p.name, p.name) for p in bad[1:])})"
    return text


def _mark_inplace(steps: list[StepVerdict], found: list[Mutation]) -> None:
    """A step whose function wrote into an argument fails with pattern "inplace" (when its gradients
    alone passed: the mutation is then the only thing wrong with it)."""
    for s in steps:
        mine = [m for m in found if (m.layer, m.step) == (s.layer, s.step)]
        if mine and s.passed:
            s.passed, s.pattern, s.function = False, "inplace", mine[0].function
            s.hint = "; ".join(f"modified its argument {m.argument} in place: {m.fix}" for m in mine)


def check_backward(parameters: Mapping[str, np.ndarray], X: np.ndarray, Y: np.ndarray, *,
                   linear_activation_backward: Callable | None = None,
                   linear_backward: Callable | None = None, L_model_backward: Callable | None = None,
                   relu_backward: Callable | None = None, sigmoid_backward: Callable | None = None,
                   eps: float | None = None, **options) -> BackwardCheck:
    """Check a learner's backward functions on the course's [LINEAR -> RELU] x (L-1) -> LINEAR -> SIGMOID.

    ``parameters`` (W1, b1, ...), X (n_x, m) and Y (1, m) give the point to check at. Pass your
    own ``relu_backward(dA, cache)`` and ``sigmoid_backward(dA, cache)`` (checked inside the course's
    ``linear_activation_backward``), ``linear_activation_backward(dA, cache, activation)``,
    ``linear_backward(dZ, cache)`` and/or ``L_model_backward(AL, Y, caches)``; the ones you leave
    out are chainrule's. Each is called on copies of its arguments, and one that modifies an
    argument in place fails. The forward pass is always chainrule's (the reference). ``eps`` and the
    options ``method``, ``threshold``, ``sample``, ``rng`` go to ``chainrule.gradcheck``; any other
    keyword is a TypeError. Returns a ``BackwardCheck``; ``print`` it for the verdict per step.
    """
    from ..gradcheck import check_gradients, check_model

    yours = {"linear_backward": linear_backward, "linear_activation_backward": linear_activation_backward,
             "L_model_backward": L_model_backward, "relu_backward": relu_backward,
             "sigmoid_backward": sigmoid_backward}
    check_arguments(yours, options)
    L, params = course_parameters(parameters)
    X = as_course_array(X, "check_backward: X")
    Y = labels(Y, X.shape[1], "check_backward: Y")
    found: list[Mutation] = []
    lb = Watched(linear_backward or _linear_backward, "linear_backward", found)
    own = {name[:-len("_backward")]: Watched(fn, name, found) for name, fn in yours.items()
           if name in ("relu_backward", "sigmoid_backward") and fn is not None}
    lab = None if linear_activation_backward is None else \
        Watched(linear_activation_backward, "linear_activation_backward", found)
    if L_model_backward is not None:
        watched = Watched(L_model_backward, "L_model_backward", found)

        def full(AL: np.ndarray, Y: np.ndarray, caches: list) -> dict:
            return watched(None, AL, Y, caches)
    else:
        full = _course_loop(lab or _course_activation_backward(lb, own))

    def cost(p: dict[str, np.ndarray]) -> float:
        return compute_cost(L_model_forward(X, p)[0], Y)

    AL, caches = L_model_forward(X, params)
    whole, error, dA = None, None, {}
    try:
        grads = full(AL, Y, caches)
    except Exception as e:  # the learner's code may fail in any way; the steps below still say where
        error = f"the backward pass raised {type(e).__name__}: {e}"
    else:
        keys = layer_keys(L, "d")
        missing = [k for k in keys if k not in grads]
        if missing:
            raise ValueError(f"check_backward: L_model_backward returned no {missing}; "
                             f"got keys {sorted(grads)}")
        source = "your L_model_backward" if L_model_backward else "the backward pass"
        error = bad_gradients(grads, keys, source)
        if error is None:
            whole = check_gradients(cost, params, {k: grads[k] for k in keys}, eps=eps,
                                    **{"batch_size": X.shape[1], **options})
        if L_model_backward is not None:
            reference = dict(_L_model_backward(AL, Y, caches), **{f"dA{L}": cost_derivative(AL, Y)})
            dA = wrong_dA(grads, reference, caches)

    layers: list[Layer] = []
    for layer in range(1, L + 1):
        activation = "sigmoid" if layer == L else "relu"
        layers.append(_LearnerLinear(params[f"W{layer}"], params[f"b{layer}"], lb, layer))
        layers.append(_STEPS[activation](_activation_step(layer, activation, lab, own.get(activation))))
    model = check_model(Sequential(*layers), _CourseCost(), X.T.copy(), Y.T.copy(), eps=eps, **options)
    steps = []
    for result in model.layers:
        layer, is_activation = result.index // 2 + 1, result.index % 2 == 1
        step = ("sigmoid" if layer == L else "relu") if is_activation else "linear"
        bad = next((p for p in result.parameters.values() if not p.passed), None)
        derivative = bad.detail if bad is not None and bad.pattern == "activation" else None
        function = (f"{step}_backward" if step in own else "linear_activation_backward") if is_activation \
            else "linear_backward"
        steps.append(StepVerdict(layer, step, function, result.passed, result.pattern, derivative,
                                 _course_hint(result, "activation" if is_activation else "linear")))
    _mark_inplace(steps, found)
    blame = next((s for s in steps if not s.passed), None)
    if whole is None:
        return BackwardCheck(False, float("nan"), [], steps, None, model, blame, error, found, dA)
    passed = whole.passed and all(s.passed for s in steps) and not found and not dA
    return BackwardCheck(passed, float(whole.difference), list(whole.failed), steps, whole, model, blame,
                         None, found, dA)
