"""An independent census for the gradient checker (issue 9): seeded correct networks and planted bugs.

Everything here is written the way users outside this repository write it, not with chainrule's
own helpers: the course's networks are plain NumPy in column layout with a hand-written backward,
the scalar graphs carry hand-derived gradients, and the models are ``chainrule.Sequential``/``mlp``
from the built-in layers (their own backward is what is checked). A case knows the truth (its
exact gradient from an independent derivation), runs one public entry point (``check_gradients``,
``dlai.gradient_check_n``, ``dlai.check_backward`` or ``check_model``) and scores what came back:

* ``outcome``: "correct", "wrong" or "undecided" (``report.outcome`` when the checker has one,
  otherwise derived from ``passed`` and ``unresolved``);
* for a planted bug, whether the specific pattern (and factor) expected of it was named;
* for every pattern the checker claimed, whether the claim is true of the exact gradients
  (``claim_holds``): "scaled xc" needs analytic = c x truth, "sign" analytic = -truth, and so on;
* for a planted bug, the correct parts (parameters the bug does not touch, steps or layers that
  are right) called wrong anyway (``collateral``), and whether ``passed`` was True (a bug
  reported passed while undecided, today's ``passed`` with ``unresolved``, is a false pass).

The exact gradients: the course backward is cross-checked against torch.autograd, the scalar
graphs against torch and Richardson differences, the built-in models against torch
(test_census_reference.py). Elements exactly on a ReLU kink follow the course's convention,
relu'(0) = 0 (the left derivative for a unit dead at 0).

Families: ``course`` (correct course-style networks: He / x0.01 / randn init, depths 2-5, batch
1-64, saturated outputs, ReLU kinks, dead layers), ``model`` (correct ``Sequential`` models),
``scalar`` (seed-002-style scalar graphs), ``bug-course`` (planted bugs in the course-style
backward), ``bug-model`` (subclassed layers with a wrong backward). ``course_cases(n, start)`` etc.
return lists of ``Case``; ``run_case(case)`` returns a ``Result``. Imported by the tests
(tests/gradcheck/test_census_*.py) and by benchmarks/gradcheck_census.py.
"""

# The course's networks are written as the course writes them, layer index ``l`` included.
# ruff: noqa: E741
from __future__ import annotations

import contextlib
import copy
import io
import math
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import chainrule as cr
from chainrule import dlai

# ----------------------------------------------------------------------------------------------
# Outcome accessor: works with today's report (passed / unresolved) and with the three outcomes.
# ----------------------------------------------------------------------------------------------

OUTCOMES = ("correct", "wrong", "undecided")


def _parts(report: object) -> list:
    """The sub-results a verdict is made of: a report's parameters, layers and loss; a
    BackwardCheck's two reports and its steps."""
    parts: list = []
    for key in ("parameters", "model", "layers", "loss", "steps"):
        value = getattr(report, key, None)
        if isinstance(value, dict):
            parts += list(value.values())
        elif isinstance(value, (list, tuple)):
            parts += list(value)
        elif value is not None and hasattr(value, "passed"):
            parts.append(value)
    return [p for p in parts if hasattr(p, "passed")]


def outcome_of(report: object) -> str:
    """"correct", "wrong" or "undecided" for a GradientReport, ParameterResult, LayerResult or
    dlai BackwardCheck: its own ``.outcome`` when it has one; otherwise derived from its parts
    (a failed check whose every failing part is undecided is undecided, which is how ``passed``
    reads once three outcomes exist) and, on today's reports, from ``passed`` and ``unresolved``
    (passed with unresolved parameters: the check could not have seen a bug)."""
    o = getattr(report, "outcome", None)
    if isinstance(o, str):
        return o
    if (not getattr(report, "passed", True) and getattr(report, "pattern", "") is None
            and re.match(r"^(\w+: )?(unchecked|undecided)", str(getattr(report, "hint", "")))):
        return "undecided"  # a dlai step with nothing checked (every element on a kink)
    if not hasattr(report, "passed"):
        raise TypeError(f"not a check result: {type(report).__name__}")
    if not hasattr(report, "name") or hasattr(report, "parameters"):  # a whole report, not one entry
        parts = [outcome_of(p) for p in _parts(report)]
    else:
        parts = []
    if not report.passed:
        if any(getattr(report, k, None) for k in ("error", "mutations", "wrong_dA")):
            return "wrong"
        if "wrong" in parts or not parts:
            return "wrong"
        return "undecided" if "undecided" in parts else "wrong"
    if getattr(report, "resolved", True) is False or getattr(report, "checked", 1) == 0:
        return "undecided"
    undecided = getattr(report, "undecided", None)
    if undecided is None:
        undecided = getattr(report, "unresolved", None)
    if (isinstance(undecided, (list, tuple)) and undecided) or "undecided" in parts:
        return "undecided"
    return "correct"


def param_outcome(result: object) -> str:
    """The outcome of one ParameterResult or dlai step (``.outcome``, or derived)."""
    return outcome_of(result)


def quiet(fn: Callable, *args, **kwargs):
    """Call ``fn`` with stdout captured (the course's functions print their verdict) and warnings
    recorded; returns (value, printed text, warnings)."""
    buf = io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(buf):
        warnings.simplefilter("always")
        value = fn(*args, **kwargs)
    return value, buf.getvalue(), [str(w.message) for w in caught]


# ----------------------------------------------------------------------------------------------
# The course's network, written as a learner writes it (column layout, parameter dicts).
# ----------------------------------------------------------------------------------------------


def course_forward(X: np.ndarray, Y: np.ndarray, parameters: dict) -> tuple[float, tuple]:
    """[LINEAR -> RELU] x (L-1) -> LINEAR -> SIGMOID and the course's (unstable) cross-entropy."""
    L = len(parameters) // 2
    m = X.shape[1]
    A = X
    caches = []
    for l in range(1, L):
        Z = np.dot(parameters["W" + str(l)], A) + parameters["b" + str(l)]
        caches.append((A, Z))
        A = np.maximum(0, Z)
    ZL = np.dot(parameters["W" + str(L)], A) + parameters["b" + str(L)]
    AL = 1 / (1 + np.exp(-ZL))
    caches.append((A, ZL))
    cost = -(1 / m) * np.sum(Y * np.log(AL) + (1 - Y) * np.log(1 - AL))
    return cost, (caches, AL)


def course_backward(X: np.ndarray, Y: np.ndarray, parameters: dict, cache: tuple,
                    bug: dict | None = None, fused: bool = True) -> dict[str, np.ndarray]:
    """The course's backward, correct unless ``bug`` plants one (see ``BUGS``). ``fused`` takes
    dZL = AL - Y; otherwise dAL = -(Y/AL - (1-Y)/(1-AL)) through sigmoid_backward."""
    bug = bug or {}
    kind, at = bug.get("kind"), bug.get("layer")
    caches, AL = cache
    L = len(caches)
    m = X.shape[1]
    grads: dict[str, np.ndarray] = {}
    A_prev, ZL = caches[L - 1]
    if kind == "dropped_term":
        dAL = -(Y / AL)  # dropped the (1-Y)/(1-AL) term
        dZ = dAL * AL * (1 - AL)
    elif kind in ("relu_for_sigmoid", "deriv_on_Z") or not fused:
        dAL = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
        if kind == "relu_for_sigmoid":
            dZ = np.array(dAL, copy=True)
            dZ[ZL <= 0] = 0
        elif kind == "deriv_on_Z":
            dZ = dAL * ZL * (1 - ZL)
        else:
            s = 1 / (1 + np.exp(-ZL))
            dZ = dAL * s * (1 - s)
    else:
        dZ = AL - Y
    for l in range(L, 0, -1):
        A_prev, Z = caches[l - 1]
        if l < L:
            dA = grads["dA" + str(l)]
            if kind == "relu_mask_missing" and at == l:
                dZ = np.array(dA, copy=True)
            elif kind == "sigmoid_for_relu" and at in (l, "all"):
                s = 1 / (1 + np.exp(-Z))
                dZ = dA * s * (1 - s)
            else:
                dZ = np.array(dA, copy=True)
                dZ[Z <= 0] = 0
        if kind == "sign_dZ" and at == l:
            dZ = -dZ
        W = parameters["W" + str(l)]
        if kind == "no_mean_dW" and at == l:
            dW = np.dot(dZ, A_prev.T)
        else:
            dW = 1 / m * np.dot(dZ, A_prev.T)
        db = 1 / m * np.sum(dZ, axis=1, keepdims=True)
        if l > 1:
            grads["dA" + str(l - 1)] = np.dot(W.T, dZ)
        if kind == "scale_dW" and at == l:
            dW = dW * bug["factor"]
        if kind == "scale_db" and at == l:
            db = db * bug["factor"]
        if kind == "sign_dW" and at == l:
            dW = -dW
        if kind == "transpose_dW" and at == l:
            dW = dW.T
        grads["dW" + str(l)] = dW
        grads["db" + str(l)] = db
    if kind == "swap":
        i, j, what = bug["layers"][0], bug["layers"][1], bug["what"]
        grads[f"d{what}{i}"], grads[f"d{what}{j}"] = grads[f"d{what}{j}"], grads[f"d{what}{i}"]
    return grads


def course_grads(grads: dict) -> dict[str, np.ndarray]:
    """dW1, db1, ... -> W1, b1, ... (the parameters' names), intermediates dropped."""
    return {k[1:]: v for k, v in grads.items() if k[:2] in ("dW", "db")}


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _init(rs: np.random.RandomState, dims: list[int], init: str, biases: str = "zero") -> dict:
    parameters = {}
    for l in range(1, len(dims)):
        W = rs.standard_normal((dims[l], dims[l - 1]))
        if init == "small":
            W = W * 0.01
        elif init == "he":
            W = W * np.sqrt(2 / dims[l - 1])
        parameters["W" + str(l)] = W
        parameters["b" + str(l)] = (np.zeros((dims[l], 1)) if biases == "zero"
                                    else 0.1 * rs.standard_normal((dims[l], 1)))
    return parameters


# ----------------------------------------------------------------------------------------------
# Cases and results.
# ----------------------------------------------------------------------------------------------


@dataclass
class Expect:
    """What a planted bug should be named: ``pattern`` (and ``factor``) on ``where``: a parameter
    name (course), or ``(layer index, entry)`` of a model's layer table, or ``(layer, step)`` of a
    dlai.check_backward step."""

    where: object
    pattern: str
    factor: float | None = None
    derivative: str | None = None


@dataclass
class Case:
    family: str            # course | model | scalar | bug-course | bug-model
    kind: str              # sub-family, e.g. "saturated", "dead", "scale_dW"
    seed: int
    entry: str             # check_gradients | gradient_check_n | check_backward | check_model
    run: Callable[[], object] = field(repr=False)
    correct: bool = True
    expect: list[Expect] = field(default_factory=list)
    truth: dict[str, np.ndarray] | None = field(default=None, repr=False)   # exact gradients
    given: dict[str, np.ndarray] | None = field(default=None, repr=False)   # what was checked
    info: str = ""

    @property
    def label(self) -> str:
        where = f"{self.family}/{self.kind} seed={self.seed} via {self.entry}"
        return where + (f" ({self.info})" if self.info else "")


@dataclass(repr=False)
class Result:
    case: Case
    outcome: str
    named: bool | None            # bug with an expected pattern: was it named (with the factor)?
    untrue: list[str]             # claimed patterns that are not true of the exact gradients
    said: str                     # what the checker said, in one line
    error: str | None = None
    collateral: list[str] = field(default_factory=list)  # correct parts of a buggy network called wrong
    passed: bool = False          # the report's own ``passed`` (True on an unresolved bug today)

    def __repr__(self) -> str:
        return f"<{self.case.label}: {self.outcome}>"

    @property
    def false_pass(self) -> bool:
        """A planted bug reported correct, or reported ``passed`` while undecided (today's
        ``passed`` with ``unresolved``: assert_gradients does not raise)."""
        return not self.case.correct and (self.outcome == "correct" or self.passed)


# ----------------------------------------------------------------------------------------------
# Family a: correct course-style networks.
# ----------------------------------------------------------------------------------------------

#: the kinds of course-style network, in the proportions the census draws them (kinks and dead
#: layers once per round, the common inits twice)
COURSE_KINDS = ("he", "small", "randn", "saturated", "small-deep", "exact-kink",
                "he", "small", "randn", "saturated", "small-deep", "dead")


def _coin(seed: int, salt: int) -> float:
    """A uniform draw in [0, 1) of its own for ``seed``: independent of the kind, which the seed
    also picks (kinds take turns, so ``seed % 2`` would tie each kind to one entry point)."""
    return float(np.random.RandomState([seed, salt]).rand())


def _entry(seed: int) -> str:
    """The course-facing entry point a case goes through: either, at random."""
    return "gradient_check_n" if _coin(seed, 2) < 0.5 else "check_gradients"


def _course_point(seed: int, kind: str):
    """(parameters, X, Y, info) for one correct course-style network."""
    for attempt in range(100):
        with np.errstate(all="ignore"):  # rejected draws may overflow; kept ones have a finite cost
            point = _course_draw(seed + 1_000_003 * attempt, kind)
        if point is not None:
            return point
    raise RuntimeError(f"no {kind} course network for seed {seed}")


def _course_draw(seed: int, kind: str):
    rs = np.random.RandomState(seed)
    depth = int(rs.randint(2, 6))                      # L = 2..5 weight layers
    if kind == "small-deep":
        depth = int(rs.randint(4, 6))
    n_x = int(rs.randint(2, 7))
    dims = [n_x] + [int(rs.randint(2, 7)) for _ in range(depth - 1)] + [1]
    m = int(rs.choice([1, 2, 3, 5, 8, 16, 32, 64]))
    init = {"he": "he", "small": "small", "small-deep": "small", "randn": "randn", "saturated": "randn",
            "exact-kink": "he", "dead": "he"}[kind]
    biases = "random" if (kind in ("he", "randn") and rs.rand() < 0.5) else "zero"
    parameters = _init(rs, dims, init, biases)
    X = rs.standard_normal((n_x, m))
    Y = (rs.rand(1, m) < 0.5).astype(float)
    info = f"dims={dims} m={m} init={init}"
    if kind == "saturated":
        # Biases are zero, so ZL is positively homogeneous in X: scale X until the most confident
        # example sits at a chosen distance t in [1e-12, 1e-5] from 0 or 1.
        t = 10.0 ** rs.uniform(-12, -5)
        _, (caches, AL) = course_forward(X, Y, parameters)
        zmax = float(np.max(np.abs(caches[-1][1])))
        if zmax == 0:  # every path dead: no scaling of X saturates it; draw again
            return None
        X = X * (np.log((1 - t) / t) / zmax)
        _, (caches, AL) = course_forward(X, Y, parameters)
        # the confident example is labelled against its prediction, the case that saturates log(1-AL)
        k = int(np.argmax(np.abs(caches[-1][1])))
        Y[0, k] = 0.0 if AL[0, k] > 0.5 else 1.0
        info += f" 1-AL or AL = {min(AL[0, k], 1 - AL[0, k]):.1e}"
    elif kind == "exact-kink":
        X[:, 0] = 0.0                                  # example 0: every layer-1 ReLU input exactly 0
        for l in range(1, depth):
            parameters["b" + str(l)] = np.zeros((dims[l], 1))
        if m > 2:
            X[:, 1] = X[:, 2]                          # and a duplicate example
    elif kind == "dead":
        # Layer 1 dead on every example: W1 <= 0 on X >= 0, zero biases, so every later Z is exactly 0
        # (or, with probability 1/2, only half of layer 1 dead).
        X = np.abs(X)
        W1 = parameters["W1"]
        if rs.rand() < 0.5:
            parameters["W1"] = -np.abs(W1)
            info += " layer 1 dead"
        else:
            rows = rs.rand(W1.shape[0]) < 0.5
            rows[0] = True
            W1[rows] = -np.abs(W1[rows])
            info += f" {int(rows.sum())} dead units"
    cost, (_, AL) = course_forward(X, Y, parameters)
    # The saturation band ends at 1e-12: closer, log(1-AL) is a handful of ulps and no
    # check can resolve it (a non-finite cost is an error case of its own, tested apart).
    if not np.isfinite(cost) or np.min(np.where(Y == 1, AL, 1 - AL)) < 1e-12:
        return None
    return parameters, X, Y, info


def _course_check(entry: str, parameters: dict, X: np.ndarray, Y: np.ndarray, grads: dict):
    """Run one of the course-facing entry points the way a learner calls it."""
    if entry == "gradient_check_n":
        diff, _, _ = quiet(dlai.gradient_check_n, parameters, grads, X, Y, forward=course_forward)
        return diff.report

    def cost(p):
        return course_forward(X, Y, p)[0]

    report, _, _ = quiet(cr.check_gradients, cost, parameters, grads)
    return report


def course_case(seed: int, kind: str, entry: str | None = None) -> Case:
    parameters, X, Y, info = _course_point(seed, kind)
    cost, cache = course_forward(X, Y, parameters)
    if not np.isfinite(cost):
        raise ValueError(f"course case {kind} seed {seed}: non-finite cost")
    fused = _coin(seed, 1) < 2 / 3
    grads = course_backward(X, Y, parameters, cache, fused=fused)
    entry = entry or _entry(seed)
    truth = course_grads(grads)
    return Case("course", kind, seed, entry, lambda: _course_check(entry, parameters, X, Y, grads),
                truth=truth, given=truth, info=info + ("" if fused else " dAL via sigmoid_backward"))


def course_cases(n: int, start: int = 0) -> list[Case]:
    """``n`` correct course-style networks, the kinds taking turns, seeds from ``start``."""
    return [course_case(start + i, COURSE_KINDS[i % len(COURSE_KINDS)]) for i in range(n)]


# ----------------------------------------------------------------------------------------------
# Family b: correct models.
# ----------------------------------------------------------------------------------------------

MODEL_ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid")
MODEL_LOSSES = ("cross_entropy", "bce", "mse")


def _model_point(seed: int):
    rs = np.random.RandomState(10_000 + seed)
    act = MODEL_ACTIVATIONS[seed % len(MODEL_ACTIVATIONS)]
    loss_name = MODEL_LOSSES[(seed // len(MODEL_ACTIVATIONS)) % len(MODEL_LOSSES)]
    depth = int(rs.randint(1, 4))
    n_in = int(rs.randint(1, 6))
    n_out = {"cross_entropy": int(rs.randint(2, 5)), "bce": 1, "mse": int(rs.randint(1, 4))}[loss_name]
    sizes = [n_in] + [int(rs.randint(2, 7)) for _ in range(depth)] + [n_out]
    init = ["auto", "he", "xavier", "course"][int(rs.randint(0, 4))]
    model = cr.mlp(sizes, act, init=init, rng=int(rs.randint(0, 2**31 - 1)))
    N = int(rs.choice([1, 2, 4, 8, 16, 32]))
    X = rs.standard_normal((N, n_in)) * float(rs.choice([0.1, 1.0, 3.0]))
    if loss_name == "cross_entropy":
        loss, y = cr.CrossEntropyLoss(), rs.randint(0, n_out, size=N)
    elif loss_name == "bce":
        loss, y = cr.BCEWithLogitsLoss(), (rs.rand(N, 1) < 0.5).astype(float)
    else:
        loss, y = cr.MSELoss(), rs.standard_normal((N, n_out))
    return model, loss, X, y, f"mlp{sizes} {act} init={init} {type(loss).__name__} N={N}"


def model_gradients(model, loss, X: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """The gradients a model's own backward gives at (X, y), keyed like ``model.params``, computed
    on a copy. For the built-in layers this is the exact gradient (checked against torch in
    test_census_reference.py); for a subclassed layer, what its wrong backward gives."""
    work, wloss = copy.deepcopy(model), copy.deepcopy(loss)
    wloss.forward(work.forward(np.array(X, dtype=np.float64)), y)
    work.zero_grad()
    work.backward(wloss.backward())
    return {k: np.array(v, dtype=np.float64) for k, v in work.grads.items()}


def model_case(seed: int) -> Case:
    model, loss, X, y, info = _model_point(seed)
    grads = model_gradients(model, loss, X, y)

    def run():
        report, _, _ = quiet(cr.check_model, model, loss, X, y)
        return report

    return Case("model", info.split("] ")[1].split()[0], seed, "check_model", run, truth=grads, given=grads,
                info=info)


def model_cases(n: int, start: int = 0) -> list[Case]:
    return [model_case(start + i) for i in range(n)]


# ----------------------------------------------------------------------------------------------
# Family c: seed-002-style scalar graphs with hand-derived gradients.
# ----------------------------------------------------------------------------------------------


class _Node:
    """A scalar expression with its value and a hand-written reverse pass (chain rule per op)."""

    def __init__(self, value: float, parents: tuple = (), local: tuple = ()):
        self.value, self.parents, self.local = value, parents, local


def _op(name: str, *args: _Node) -> _Node:
    a = args[0].value
    if name == "add":
        return _Node(a + args[1].value, args, (1.0, 1.0))
    if name == "mul":
        b = args[1].value
        return _Node(a * b, args, (b, a))
    if name == "tanh":
        t = math.tanh(a)
        return _Node(t, args, (1 - t * t,))
    if name == "exp":
        e = math.exp(a)
        return _Node(e, args, (e,))
    if name == "sigmoid":
        s = 1 / (1 + math.exp(-a))
        return _Node(s, args, (s * (1 - s),))
    if name == "sin":
        return _Node(math.sin(a), args, (math.cos(a),))
    if name == "cos":
        return _Node(math.cos(a), args, (-math.sin(a),))
    if name == "square":
        return _Node(a * a, args, (2 * a,))
    if name == "softplus":
        return _Node(math.log1p(math.exp(a)), args, (1 / (1 + math.exp(-a)),))
    if name == "logsq":
        return _Node(math.log(1 + a * a), args, (2 * a / (1 + a * a),))
    raise ValueError(name)


def _backprop(out: _Node) -> dict[int, float]:
    order, seen = [], set()

    def visit(n):
        if id(n) in seen:
            return
        seen.add(id(n))
        for p in n.parents:
            visit(p)
        order.append(n)

    visit(out)
    grad = {id(out): 1.0}
    for n in reversed(order):
        g = grad.get(id(n), 0.0)
        for p, d in zip(n.parents, n.local, strict=True):
            grad[id(p)] = grad.get(id(p), 0.0) + g * d
    return grad


_UNARY = ("tanh", "exp", "sigmoid", "sin", "cos", "square", "softplus", "logsq")


def _scalar_graph(seed: int):
    """(f(w) -> (loss, nodes), n_weights, info): seed 0 mod 4 is seed 002's own formula, the others
    random compositions of the same ops over 3-9 weights and inputs."""
    rs = np.random.RandomState(20_000 + seed)
    nw = 9 if seed % 4 == 0 else int(rs.randint(3, 10))
    x = rs.uniform(-1.5, 1.5, size=nw)
    target = float(rs.uniform(-1, 1))
    plan = [(_UNARY[int(rs.randint(len(_UNARY)))], int(rs.randint(nw)), int(rs.randint(nw)),
             str(rs.choice(["add", "mul"]))) for _ in range(int(rs.randint(2, 5)))]

    def build(w: np.ndarray):
        W = [_Node(float(v)) for v in w]
        X = [_Node(float(v)) for v in x]
        if seed % 4 == 0:
            s1 = _op("add", _op("mul", W[0], X[0]), _op("mul", W[1], X[1]))
            a = _op("tanh", _op("add", _op("exp", _op("add", _op("square", s1), W[5])), W[6]))
            inner = _op("mul", _op("sin", _op("mul", W[2], X[2])),
                        _op("add", _op("mul", W[3], X[3]), _op("mul", W[4], X[4])))
            y = _op("add", a, _op("mul", _op("sigmoid", _op("add", inner, W[7])), W[8]))
        else:
            y = _op("mul", W[0], X[0])
            for fn, i, j, comb in plan:
                term = _op(fn, _op("add", _op("mul", W[i], X[j]), y if fn != "exp" else _op("tanh", y)))
                y = _op(comb, y, term) if comb == "add" else _op("add", y, _op("mul", term, W[j]))
        d = _op("add", y, _Node(-target))
        return _op("square", d), W

    build.x, build.target = x, target
    info = ("seed-002 formula" if seed % 4 == 0 else
            "random graph " + " ".join(f"{p[0]}(w{p[1]}x{p[2]})" for p in plan))
    return build, nw, info, rs


def scalar_case(seed: int) -> Case:
    build, nw, info, rs = _scalar_graph(seed)
    w = rs.uniform(-1.5, 1.5, size=nw)
    loss, W = build(w)
    g = _backprop(loss)
    grad = np.array([g.get(id(n), 0.0) for n in W])
    as_dict = seed % 2 == 1  # half with one weight per key, as in seed 002's w1..w9

    def run():
        if as_dict:
            params = {f"w{i + 1}": float(v) for i, v in enumerate(w)}
            grads = {f"w{i + 1}": float(v) for i, v in enumerate(grad)}
            def cost(p):
                return build(np.array([p[f"w{i + 1}"] for i in range(nw)]))[0].value

            report, _, _ = quiet(cr.check_gradients, cost, params, grads)
        else:
            report, _, _ = quiet(cr.check_gradients, lambda v: build(v)[0].value, w, grad)
        return report

    truth = ({f"w{i + 1}": np.asarray(v) for i, v in enumerate(grad)} if as_dict else {"theta": grad})
    return Case("scalar", "seed-002" if seed % 4 == 0 else "random", seed, "check_gradients", run,
                truth=truth, given=truth, info=info)


def scalar_cases(n: int, start: int = 0) -> list[Case]:
    return [scalar_case(start + i) for i in range(n)]


# ----------------------------------------------------------------------------------------------
# Family d: planted bugs in the course-style backward.
# ----------------------------------------------------------------------------------------------

#: bug kind -> what it is, as a learner writes it
BUGS = {
    "scale_dW": "dW of one layer multiplied by a stray factor (x2, x4, x0.5)",
    "scale_db": "db of one layer multiplied by a stray factor",
    "no_mean_dW": "dW = dZ . A_prev.T without the 1/m (m >= 2)",
    "sign_dW": "dW = -(...) in one layer",
    "sign_dZ": "dZ of one layer negated (flows into every layer below, dead units included)",
    "transpose_dW": "dW.T returned for a square W",
    "swap": "dW (or db) of two layers of the same shape swapped",
    "relu_mask_missing": "relu_backward without the mask: dZ = dA",
    "dropped_term": "dAL = -Y/AL: the (1-Y)/(1-AL) term dropped",
    "relu_for_sigmoid": "relu_backward in the sigmoid branch (seed 001)",
    "sigmoid_for_relu": "sigmoid_backward in a relu branch (seed 001)",
    "deriv_on_Z": "sigmoid_backward as dA * Z * (1 - Z): the derivative written on Z, not A",
}
FUNCTIONAL_BUGS = tuple(BUGS)
#: bugs of the activation steps, checked with dlai.check_backward on the learner's own functions
ACTIVATION_BUGS = ("relu_for_sigmoid", "sigmoid_for_relu", "deriv_on_Z")


def _bug_point(seed: int, kind: str):
    """A course network where bug ``kind`` is visible and well defined, and the bug spec."""
    with np.errstate(all="ignore"):  # rejected draws may overflow; kept ones have a finite cost
        return _bug_draw(seed, kind)


def _bug_draw(seed: int, kind: str):
    for attempt in range(200):
        rs = np.random.RandomState(30_000 + 1000 * attempt + seed)
        depth = int(rs.randint(2, 6))
        square = kind in ("transpose_dW", "swap")
        if square:
            depth = max(depth, 3)
            w = int(rs.randint(2, 6))
            dims = [int(rs.randint(2, 6))] + [w] * (depth - 1) + [1]
        else:
            dims = [int(rs.randint(2, 7))] + [int(rs.randint(2, 7)) for _ in range(depth - 1)] + [1]
        m = int(rs.choice([2, 3, 5, 8, 16, 32, 64] if kind == "no_mean_dW" else [1, 2, 3, 5, 8, 16, 32, 64]))
        init = ["he", "small", "randn"][int(rs.randint(2 if kind in ACTIVATION_BUGS else 3))]
        parameters = _init(rs, dims, init, "random" if rs.rand() < 0.3 else "zero")
        X = rs.standard_normal((dims[0], m))
        Y = (rs.rand(1, m) < 0.5).astype(float)
        L = depth
        bug: dict = {"kind": kind}
        if kind in ("scale_dW", "scale_db", "sign_dW", "no_mean_dW", "sign_dZ"):
            bug["layer"] = int(rs.randint(1, L + 1))
            if kind.startswith("scale"):
                bug["factor"] = float(rs.choice([2.0, 4.0, 0.5]))
        elif kind == "transpose_dW":
            bug["layer"] = int(rs.randint(2, L))       # W2..W(L-1) are square
        elif kind == "swap":
            if L < 4 and rs.rand() < 0.5:
                continue
            i, j = sorted(rs.choice(np.arange(2, L), size=2, replace=False)) if L >= 4 else (1, 2)
            if (i, j) == (1, 2) and dims[0] != dims[1]:
                dims[0] = dims[1]
                parameters = _init(rs, dims, init)
                X = rs.standard_normal((dims[0], m))
            bug["layers"], bug["what"] = (int(i), int(j)), str(rs.choice(["W", "b"]))
        elif kind == "relu_mask_missing":
            bug["layer"] = int(rs.randint(1, L))
        elif kind == "sigmoid_for_relu":
            bug["layer"] = "all"  # seed 001: every relu layer takes sigmoid's derivative
        if kind == "sign_dZ" and rs.rand() < 0.5:
            # behind a dead unit: some layer-1 units inactive on every example
            X = np.abs(X)
            rows = rs.rand(dims[1]) < 0.5
            parameters["W1"][rows] = -np.abs(parameters["W1"][rows])
            parameters["b1"] = np.zeros_like(parameters["b1"])
        cost, cache = course_forward(X, Y, parameters)
        confident = np.min(np.minimum(cache[1], 1 - cache[1])) < 1e-6
        if not np.isfinite(cost) or (kind in ACTIVATION_BUGS and confident):
            continue
        truth = course_grads(course_backward(X, Y, parameters, cache))
        given = course_grads(course_backward(X, Y, parameters, cache, bug=bug))
        # a bug must change the gradient visibly (a missing mask on an all-active layer is no bug)
        change = max(float(np.linalg.norm(given[k] - truth[k]) / (np.linalg.norm(truth[k]) + 1e-300))
                     for k in truth)
        if change < 1e-3:
            continue
        if kind == "swap":
            a, b = (f"{bug['what']}{bug['layers'][0]}", f"{bug['what']}{bug['layers'][1]}")
            # a clean swap: two different gradients with no exact zeros (a swap with a zero gradient
            # is also "zero", and two near-equal ones are no visible swap)
            size = np.linalg.norm(truth[a]) + np.linalg.norm(truth[b])
            if (np.linalg.norm(truth[a] - truth[b]) <= 0.1 * size
                    or not np.all(truth[a]) or not np.all(truth[b])):
                continue
        in_dW = kind in ("scale_dW", "no_mean_dW", "sign_dW", "transpose_dW")
        if in_dW and not np.any(truth["W" + str(bug["layer"])]):
            continue
        if kind == "transpose_dW":
            t = truth["W" + str(bug["layer"])]
            if np.linalg.norm(t - t.T) <= 1e-3 * np.linalg.norm(t):
                continue
        info = f"dims={dims} m={m} init={init} bug={ {k: v for k, v in bug.items() if k != 'kind'} }"
        return parameters, X, Y, bug, truth, given, info
    raise RuntimeError(f"no visible {kind} bug found for seed {seed}")


def _expectations(bug: dict, truth: dict, X: np.ndarray) -> list[Expect]:
    kind = bug["kind"]
    L = len(truth) // 2
    if kind == "scale_dW":
        return [Expect(f"W{bug['layer']}", "scaled", bug["factor"])]
    if kind == "scale_db":
        return [Expect(f"b{bug['layer']}", "scaled", bug["factor"])]
    if kind == "no_mean_dW":
        return [Expect(f"W{bug['layer']}", "scaled", float(X.shape[1]))]
    if kind == "sign_dW":
        return [Expect(f"W{bug['layer']}", "sign", -1.0)]
    if kind == "sign_dZ":
        return [Expect(f"{p}{l}", "sign", -1.0) for l in range(1, bug["layer"] + 1) for p in "Wb"
                if np.any(truth[f"{p}{l}"])]
    if kind == "transpose_dW":
        return [Expect(f"W{bug['layer']}", "transposed")]
    if kind == "swap":
        return [Expect(f"{bug['what']}{l}", "swapped") for l in bug["layers"]]
    if kind == "relu_for_sigmoid":
        return [Expect((L, "sigmoid"), "activation", derivative="relu")]
    if kind == "sigmoid_for_relu":
        return [Expect((l, "relu"), "activation", derivative="sigmoid") for l in range(1, L)]
    if kind == "deriv_on_Z":
        return [Expect((L, "sigmoid"), "activation")]
    return []  # a missing mask, a dropped term: no single pattern is true of the gradients


def _learner_functions(kind: str) -> dict[str, Callable]:
    """The learner's own functions with the bug, as passed to ``dlai.check_backward``: seed 001's
    swap lives in ``linear_activation_backward``; the Z-for-A slip in ``sigmoid_backward``."""

    def relu_backward(dA, cache):
        Z = cache
        dZ = np.array(dA, copy=True)
        dZ[Z <= 0] = 0
        return dZ

    def sigmoid_backward(dA, cache):
        Z = cache
        s = 1 / (1 + np.exp(-Z))
        return dA * s * (1 - s)

    if kind == "deriv_on_Z":
        def sigmoid_backward_on_Z(dA, cache):
            Z = cache
            return dA * Z * (1 - Z)

        return {"sigmoid_backward": sigmoid_backward_on_Z}

    def linear_activation_backward(dA, cache, activation):
        linear_cache, activation_cache = cache
        A_prev, W, b = linear_cache
        if activation == "relu":
            dZ = sigmoid_backward(dA, activation_cache) if kind == "sigmoid_for_relu" else \
                relu_backward(dA, activation_cache)
        else:
            dZ = relu_backward(dA, activation_cache) if kind == "relu_for_sigmoid" else \
                sigmoid_backward(dA, activation_cache)
        m = A_prev.shape[1]
        dW = 1 / m * np.dot(dZ, A_prev.T)
        db = 1 / m * np.sum(dZ, axis=1, keepdims=True)
        return np.dot(W.T, dZ), dW, db

    return {"linear_activation_backward": linear_activation_backward}


def _run_check_backward(parameters, X, Y, kind):
    result, _, _ = quiet(dlai.check_backward, parameters, X, Y, **_learner_functions(kind))
    return result


def bug_case(seed: int, kind: str) -> Case:
    parameters, X, Y, bug, truth, given, info = _bug_point(seed, kind)
    expect = _expectations(bug, truth, X)
    if kind in ACTIVATION_BUGS:
        entry = "check_backward"
        L = len(parameters) // 2
        if kind in ("relu_for_sigmoid", "deriv_on_Z"):
            # the course's own initialize_parameters_deep (x0.01): ZL near 0, sigmoid' near 1/4
            rs = np.random.RandomState(40_000 + seed)
            dims = [X.shape[0]] + [parameters[f"W{l}"].shape[0] for l in range(1, L + 1)]
            parameters = dlai.initialize_parameters_deep(dims, rng=int(rs.randint(0, 1000)))
            cost, cache = course_forward(X, Y, parameters)
            truth = course_grads(course_backward(X, Y, parameters, cache))
            given = course_grads(course_backward(X, Y, parameters, cache, bug=bug))
            info = f"initialize_parameters_deep({dims}) m={X.shape[1]}"
        run = lambda: _run_check_backward(parameters, X, Y, kind)  # noqa: E731
    else:
        entry = _entry(seed)
        g = course_backward(X, Y, parameters, course_forward(X, Y, parameters)[1], bug=bug)
        run = lambda: _course_check(entry, parameters, X, Y, g)  # noqa: E731
    return Case("bug-course", kind, seed, entry, run, correct=False, expect=expect, truth=truth,
                given=given, info=info)


def bug_cases(n: int, start: int = 0, kinds: tuple[str, ...] = FUNCTIONAL_BUGS) -> list[Case]:
    return [bug_case(start + i, kinds[i % len(kinds)]) for i in range(n)]


# ----------------------------------------------------------------------------------------------
# Family d (model form): subclassed built-in layers with a wrong backward.
# ----------------------------------------------------------------------------------------------


class DoubledW(cr.Linear):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["W"] = self.grads["W"] * 2
        return dx


class HalvedB(cr.Linear):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["b"] = self.grads["b"] * 0.5
        return dx


class NegatedW(cr.Linear):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["W"] = -self.grads["W"]
        return dx


class NoMaskReLU(cr.ReLU):
    def backward(self, dout):
        return dout.copy()


class SigmoidOnInput(cr.Sigmoid):
    """sigmoid' written on the input x instead of the output: dout * x * (1 - x)."""

    def forward(self, x):
        self.x_in = x.copy()
        return super().forward(x)

    def backward(self, dout):
        return dout * self.x_in * (1 - self.x_in)


class TanhWithSigmoidDerivative(cr.Tanh):
    def forward(self, x):
        self.x_in = x.copy()
        return super().forward(x)

    def backward(self, dout):
        s = 1 / (1 + np.exp(-self.x_in))
        return dout * s * (1 - s)


class NegatedTanh(cr.Tanh):
    def backward(self, dout):
        return -super().backward(dout)


class Center(cr.Layer):
    """y = x - mean(x) over each row's features (a normalization's centring step); x, y: (N, D)."""

    def forward(self, x):
        return x - x.mean(axis=1, keepdims=True)

    def backward(self, dout):
        return dout - dout.mean(axis=1, keepdims=True)


class CenterWithoutMean(Center):
    """The classic normalization slip: the mean's own derivative dropped, so every element of a
    row is off by the same amount, mean(dout) of that row."""

    def backward(self, dout):
        return dout.copy()


#: the patterns of today's checker; a bug that "gets a pattern of its own" (issue 9, item 4) must be
#: named by none of these
PATTERNS_BEFORE = ("zero", "swapped", "sign", "scaled", "transposed", "shape", "masked", "activation",
                   "inplace", "non-finite")
OWN = "<a pattern of its own>"

#: layer bug -> (the activation it sits in or "linear", expected (entry, pattern, factor, derivative))
MODEL_BUGS = {
    "linear_W_x2": ("linear", DoubledW, ("W", "scaled", 2.0, None)),
    "linear_b_x0.5": ("linear", HalvedB, ("b", "scaled", 0.5, None)),
    "linear_W_sign": ("linear", NegatedW, ("W", "sign", -1.0, None)),
    "relu_no_mask": ("relu", NoMaskReLU, ("x", "masked", None, None)),
    "sigmoid_on_input": ("sigmoid", SigmoidOnInput, ("x", "activation", None, None)),
    "tanh_sigmoid_derivative": ("tanh", TanhWithSigmoidDerivative, ("x", "activation", None, "sigmoid")),
    "tanh_sign": ("tanh", NegatedTanh, ("x", "sign", -1.0, None)),
    "center_no_mean": ("center", CenterWithoutMean, ("x", OWN, None, None)),
}


def model_bug_case(seed: int, kind: str) -> Case:
    # Redrawn until the bug changes the gradients visibly (as the course family's draws): a negated
    # W behind a layer dead on every example gives -0 where the truth is 0, no bug at all (17002).
    for attempt in range(200):
        case = _model_bug_draw(seed, kind, np.random.RandomState(50_000 + 1000 * attempt + seed))
        change = max(float(np.linalg.norm(case.given[k] - case.truth[k]))
                     / (float(np.linalg.norm(case.truth[k])) + 1e-300) for k in case.truth)
        if change >= 1e-3:
            return case
    raise RuntimeError(f"no visible {kind} bug found for seed {seed}")


def _model_bug_draw(seed: int, kind: str, rs: np.random.RandomState) -> Case:
    act, cls, (entry_name, pattern, factor, derivative) = MODEL_BUGS[kind]
    depth = int(rs.randint(1, 3))
    n_in, n_out = int(rs.randint(2, 5)), int(rs.randint(2, 4))
    sizes = [n_in] + [int(rs.randint(3, 7)) for _ in range(depth)] + [n_out]
    activation = {"linear": "relu", "center": "tanh"}.get(act, act)
    model = cr.mlp(sizes, activation, rng=int(rs.randint(0, 2**31 - 1)))
    if act == "center":  # a centring step after a hidden layer's activation
        layers = list(model.layers)
        at = int(rs.randint(1, len(layers) // 2 + 1)) * 2  # after activation (at - 1)
        model = cr.Sequential(*layers[:at], Center(), *layers[at:])
        new = cls()
    else:
        positions = [i for i, layer in enumerate(model.layers)
                     if (act == "linear" and isinstance(layer, cr.Linear))
                     or (act != "linear" and type(layer).__name__.lower() == act.replace("_", ""))]
        at = positions[int(rs.randint(len(positions)))]
        old = model.layers[at]
        new = cls(old.params["W"].shape[0], old.params["W"].shape[1]) if act == "linear" else cls()
        if act == "linear":
            for k in old.params:
                new.params[k][...] = old.params[k]
    layers = list(model.layers)
    layers[at] = new
    correct, model = model, cr.Sequential(*layers)
    N = int(rs.choice([2, 4, 8, 16]))
    X = rs.standard_normal((N, n_in))
    y = rs.randint(0, n_out, size=N)
    truth = model_gradients(correct, cr.CrossEntropyLoss(), X, y)
    given = model_gradients(model, cr.CrossEntropyLoss(), X, y)

    def run():
        report, _, _ = quiet(cr.check_model, model, cr.CrossEntropyLoss(), X, y)
        return report

    return Case("bug-model", kind, seed, "check_model", run, correct=False,
                expect=[Expect((at, entry_name), pattern, factor, derivative)], truth=truth, given=given,
                info=f"mlp{sizes} layer {at} is {cls.__name__}")


def model_bug_cases(n: int, start: int = 0) -> list[Case]:
    kinds = tuple(MODEL_BUGS)
    return [model_bug_case(start + i, kinds[i % len(kinds)]) for i in range(n)]


# ----------------------------------------------------------------------------------------------
# One case by (family, index): what the benchmark's worker processes rebuild.
# ----------------------------------------------------------------------------------------------

FAMILIES = ("course", "model", "scalar", "bug-course", "bug-model")


def make_case(family: str, index: int, start: int = 0) -> Case:
    """Case ``index`` of ``family`` with seeds counted from ``start`` (as ``course_cases(n, start)``
    etc. number them)."""
    seed = start + index
    if family == "course":
        return course_case(seed, COURSE_KINDS[index % len(COURSE_KINDS)])
    if family == "model":
        return model_case(seed)
    if family == "scalar":
        return scalar_case(seed)
    if family == "bug-course":
        return bug_case(seed, FUNCTIONAL_BUGS[index % len(FUNCTIONAL_BUGS)])
    if family == "bug-model":
        return model_bug_case(seed, tuple(MODEL_BUGS)[index % len(MODEL_BUGS)])
    raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")


def run_spec(spec: tuple[str, int, int]) -> Result:
    """Build and run case (family, index, start); the result travels without arrays or callables
    (picklable, for worker processes)."""
    family, index, start = spec
    try:
        with np.errstate(all="ignore"):
            case = make_case(family, index, start)
    except Exception as e:  # a generator that cannot build its case is reported, not hidden
        case = Case(family, "?", start + index, "?", None, correct=not family.startswith("bug"))
        return Result(case, "error", None, [], f"building the case raised {type(e).__name__}: {e}",
                      error=str(e))
    with np.errstate(all="ignore"):
        result = run_case(case)
    case.run, case.truth, case.given = None, None, None
    return result


# ----------------------------------------------------------------------------------------------
# Scoring: outcome, named pattern, and whether every claimed pattern is true.
# ----------------------------------------------------------------------------------------------

FACTOR_RTOL = 1e-3
ZERO_RTOL = 1e-6
STANDARD_DERIVATIVES = ("sigmoid", "tanh", "relu", "leaky_relu", "identity")
#: an activation -> the other activations' derivatives (naming one of these for sigmoid's formula
#: written on Z, dA * Z * (1 - Z), is untrue: it is none of them)
OTHER_DERIVATIVES = {a: tuple(d for d in STANDARD_DERIVATIVES if d != a) for a in STANDARD_DERIVATIVES}
CLAIM_RTOL = 1e-4


def _close(a: np.ndarray, b: np.ndarray, rtol: float = CLAIM_RTOL) -> bool:
    size = max(float(np.linalg.norm(a)), float(np.linalg.norm(b)), 1e-300)
    return float(np.linalg.norm(a - b)) <= rtol * size


def claim_holds(pattern: str, factor: float | None, name: str, given: dict, truth: dict) -> bool | None:
    """Is ``pattern`` (with ``factor``) true of parameter ``name`` given the exact gradients? None
    for patterns that say nothing specific ("mismatch") or that the data alone cannot settle."""
    if pattern in (None, "mismatch"):
        return None
    a = np.asarray(given[name], float)
    t = np.asarray(truth[name], float)
    if pattern == "scaled":
        # the data is a multiple of the truth (to CLAIM_RTOL), and the factor named is that
        # multiple to FACTOR_RTOL (a factor estimated from numbers is good to a few digits)
        if factor is None or not np.any(t):
            return False
        c = float(np.vdot(a, t) / np.vdot(t, t))
        return (c != 0 and abs(c - 1) > FACTOR_RTOL and _close(a, c * t)
                and abs(factor - c) <= FACTOR_RTOL * abs(c))
    if pattern == "sign":
        return bool(np.any(t)) and _close(a, -t)
    if pattern == "zero":  # all zeros, or negligible next to the truth
        return bool(np.any(t)) and float(np.linalg.norm(a)) <= ZERO_RTOL * float(np.linalg.norm(t))
    if pattern == "transposed":
        return a.shape == t.T.shape and not _close(a, t) and _close(a, t.T)
    if pattern == "swapped":
        others = [k for k in truth if k != name and np.shape(truth[k]) == a.shape]
        return any(_close(a, np.asarray(truth[k], float)) and _close(np.asarray(given[k], float), t)
                   for k in others) and not _close(a, t)
    if pattern == "masked":
        # Right exactly off a set and wrong on it the way a mask is: the truth is zero there and the
        # data is not (a mask not applied), or the data is zero there and the truth is not (a mask
        # applied where it must not be: the checker's "the analytic gradient is zero there", as a
        # relu mask on a LeakyReLU leaves). And right somewhere that says something: elements where
        # both are zero are right under any claim, so at least two nonzero ones must be right.
        off = np.abs(a - t) > CLAIM_RTOL * max(float(np.abs(t).max(initial=0)), 1e-300)
        on_nonzero = ~off & (np.abs(t) > CLAIM_RTOL * max(float(np.abs(t).max(initial=0)), 1e-300))
        small = CLAIM_RTOL * max(float(np.abs(a).max()), float(np.abs(t).max(initial=0)), 1e-300)
        return bool(off.any()) and int(on_nonzero.sum()) >= 2 and (
            bool(np.all(np.abs(t[off]) <= small)) or bool(np.all(np.abs(a[off]) <= small)))
    return False  # any other claim on a plain gradient (shape, non-finite, inplace, ...) is untrue here


def _identity_for_mask(exp: Expect, p) -> bool:
    """A ReLU backward without its mask returns dout: "the derivative of identity instead of this
    layer's own" is the same bug named from the other side, as true and as specific as "masked"."""
    return (exp.pattern == "masked" and p.pattern == "activation"
            and "derivative of identity" in (p.hint or ""))


def _matches(pattern, factor, exp: Expect, derivative=None) -> bool:
    if exp.pattern == OWN:
        return pattern is not None and pattern != "mismatch" and pattern not in PATTERNS_BEFORE
    if pattern != exp.pattern:
        return False
    if exp.factor is not None and exp.pattern == "scaled":
        return factor is not None and abs(factor - exp.factor) <= FACTOR_RTOL * abs(exp.factor)
    if exp.derivative is not None and derivative is not None:
        return derivative == exp.derivative
    return True


def _claim(p) -> str:
    return f"{p.pattern}" + ("" if p.factor is None else f" x{p.factor:.4g}")


def _said(report, failing) -> str:
    parts = []
    for name, p in failing:
        f = getattr(p, "factor", None)
        parts.append(f"{name}: {param_outcome(p)} {p.pattern or ''}{'' if f is None else f' x{f:.4g}'}"
                     f" diff={getattr(p, 'difference', float('nan')):.2g}")
    return "; ".join(parts)


def _unaffected(case: Case, name: str) -> bool:
    """Is parameter ``name`` of a bug case untouched by the bug (its given gradient the exact one)?"""
    if case.correct or not case.truth or name not in case.truth or name not in (case.given or {}):
        return False
    a, t = np.asarray(case.given[name], float), np.asarray(case.truth[name], float)
    return a.shape == t.shape and _close(a, t, 1e-9)


def score(case: Case, report: object) -> Result:
    out = outcome_of(report)
    untrue: list[str] = []
    collateral: list[str] = []
    named: bool | None = None
    if case.entry in ("check_gradients", "gradient_check_n"):
        params = report.parameters
        failing = [(n, p) for n, p in params.items() if param_outcome(p) != "correct"]
        for n, p in params.items():
            if p.pattern is None or n not in (case.truth or {}):
                continue
            if param_outcome(p) == "correct":
                continue
            ok = claim_holds(p.pattern, p.factor, n, case.given, case.truth)
            if ok is False:
                untrue.append(f"{n}: {_claim(p)}")
        if case.expect:
            # every expected parameter the check calls wrong carries the pattern, and at least one does
            # (a parameter left undecided, e.g. all on kinks, is not asked for a name)
            judged = [e for e in case.expect
                      if e.where in params and param_outcome(params[e.where]) == "wrong"]
            named = bool(judged) and all(_matches(params[e.where].pattern, params[e.where].factor, e)
                                         for e in judged)
        collateral = [n for n, p in params.items() if param_outcome(p) == "wrong" and _unaffected(case, n)]
        said = _said(report, failing)
    elif case.entry == "check_backward":
        steps = {(s.layer, s.step): s for s in report.steps}
        bad = [s for s in report.steps if not s.passed]
        said = "; ".join(f"layer {s.layer} {s.step}: {s.pattern} ({s.derivative or ''}) {s.hint[:80]}"
                         for s in bad)
        if report.parameters is not None:
            for n, p in report.parameters.parameters.items():
                if p.pattern not in (None, "mismatch", "activation") and param_outcome(p) != "correct":
                    if claim_holds(p.pattern, p.factor, n, case.given, case.truth) is False:
                        untrue.append(f"d{n}: {_claim(p)}")
        for s in bad:
            exp = next((e for e in case.expect if e.where == (s.layer, s.step)), None)
            if s.pattern not in (None, "mismatch") and exp is not None and s.pattern != exp.pattern:
                untrue.append(f"layer {s.layer} {s.step}: {s.pattern}")
            if exp is None and s.pattern not in (None, "mismatch") and s.step != "linear":
                untrue.append(f"layer {s.layer} {s.step}: {s.pattern} (a correct step)")
            if (exp is not None and case.kind == "deriv_on_Z" and s.pattern == "activation"
                    and s.derivative in OTHER_DERIVATIVES["sigmoid"]):
                # dA * Z * (1 - Z) is no activation's derivative at Z: naming one is untrue
                untrue.append(f"layer {s.layer} {s.step}: activation ({s.derivative})")
        expected = {e.where for e in case.expect}
        collateral = [f"layer {s.layer} {s.step} step" for s in bad
                      if (s.layer, s.step) not in expected and outcome_of(s) == "wrong"]
        if report.parameters is not None:
            collateral += [f"d{n}" for n, p in report.parameters.parameters.items()
                           if param_outcome(p) == "wrong" and _unaffected(case, n)]
        if case.expect:
            named = all(e.where in steps
                        and _matches(steps[e.where].pattern, None, e, steps[e.where].derivative)
                        for e in case.expect)
    else:  # check_model
        layers = report.layers or []
        failing = [(f"layer {lr.index}.{n}", p) for lr in layers for n, p in lr.parameters.items()
                   if param_outcome(p) != "correct"]
        failing += [(n, p) for n, p in report.parameters.items() if param_outcome(p) != "correct"]
        said = _said(report, failing)
        for n, p in report.parameters.items():  # the whole model's parameters: against the exact ones
            if p.pattern is None or param_outcome(p) == "correct" or n not in (case.truth or {}):
                continue
            if claim_holds(p.pattern, p.factor, n, case.given, case.truth) is False:
                untrue.append(f"{n}: {_claim(p)}")
        exp_at = {e.where: e for e in case.expect}
        if not case.correct:
            buggy = {e.where[0] for e in case.expect}
            collateral = [f"layer {lr.index}" for lr in layers
                          if lr.index not in buggy and outcome_of(lr) == "wrong"]
            collateral += [n for n, p in report.parameters.items()
                           if param_outcome(p) == "wrong" and _unaffected(case, n)]
        for lr in layers:
            for n, p in lr.parameters.items():
                if p.pattern in (None, "mismatch") or param_outcome(p) == "correct":
                    continue
                exp = exp_at.get((lr.index, n))
                if exp is not None and exp.pattern == OWN:
                    # what a new kind of bug is called is the checker's choice; today's "activation
                    # (identity)" for dx = dout is literally true, only not the pattern asked for
                    continue
                if exp is not None and _identity_for_mask(exp, p):
                    continue
                if exp is None or p.pattern != exp.pattern or (
                        exp.pattern in ("scaled", "sign") and exp.factor is not None and p.factor is not None
                        and abs(p.factor - exp.factor) > FACTOR_RTOL * abs(exp.factor)):
                    untrue.append(f"layer {lr.index} {n}: {_claim(p)}")
        if case.expect:
            named = True
            for e in case.expect:
                idx, n = e.where
                lr = next((x for x in layers if x.index == idx), None)
                p = None if lr is None else lr.parameters.get(n)
                named = named and p is not None and (_matches(p.pattern, p.factor, e)
                                                     or _identity_for_mask(e, p))
    return Result(case, out, named, untrue, said, collateral=collateral, passed=bool(report.passed))


def run_case(case: Case) -> Result:
    try:
        report = case.run()
    except Exception as e:  # a census records a crash as a finding, it does not stop
        return Result(case, "error", None, [], f"{type(e).__name__}: {e}", error=f"{type(e).__name__}: {e}")
    return score(case, report)


class Runs(dict):
    """family -> list of Result, with a short repr (pytest prints fixtures in tracebacks)."""

    def __repr__(self) -> str:
        return "<census " + ", ".join(f"{k}: {len(v)} cases" for k, v in self.items()) + ">"


# ----------------------------------------------------------------------------------------------
# Tallies against the targets.
# ----------------------------------------------------------------------------------------------

TARGETS = {
    "false_alarms": "0 correct cases with outcome 'wrong'",
    "undecided": "undecided on <= 2% of correct cases",
    "false_passes": "0 bugs with outcome 'correct' (or report.passed True)",
    "wrong": ">= 98% of bugs 'wrong'",
    "untrue": "0 untrue patterns",
    "named": ">= 95% of bugs named with the specific pattern (and factor) where one applies",
    "collateral": "0 correct parameters, steps or layers of a buggy network called wrong (no false alarm "
                  "inside a bug case either)",
}


@dataclass
class Tally:
    family: str
    n: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys((*OUTCOMES, "error"), 0))
    named: int = 0
    nameable: int = 0
    untrue: int = 0
    collateral: int = 0
    failures: list[tuple[str, Result]] = field(default_factory=list)

    @property
    def bugs(self) -> bool:
        return self.family.startswith("bug")

    def add(self, r: Result) -> None:
        self.n += 1
        self.outcomes[r.outcome] = self.outcomes.get(r.outcome, 0) + 1
        if r.named is not None:
            self.nameable += 1
            self.named += bool(r.named)
        self.untrue += bool(r.untrue)
        self.collateral += bool(r.collateral)
        for why in failure_reasons(r):
            self.failures.append((why, r))


def failure_reasons(r: Result) -> list[str]:
    """Why one result misses a target (empty when it meets them all)."""
    why = []
    if r.outcome == "error":
        why.append("error")
    if r.case.correct:
        if r.outcome == "wrong":
            why.append("false alarm")
        elif r.outcome == "undecided":
            why.append("undecided")
    else:
        if r.false_pass:
            why.append("false pass" + (" (passed while undecided)" if r.outcome == "undecided" else ""))
        elif r.outcome == "undecided":
            why.append("undecided bug")
        if r.named is False:
            why.append("not named")
    if r.untrue:
        why.append("untrue pattern " + ", ".join(r.untrue))
    if r.collateral:
        why.append("correct part called wrong: " + ", ".join(r.collateral))
    return why


def tally(results: list[Result]) -> dict[str, Tally]:
    out: dict[str, Tally] = {}
    for r in results:
        out.setdefault(r.case.family, Tally(r.case.family)).add(r)
    return out


def missed_targets(results: list[Result]) -> list[str]:
    """The issue's targets missed by ``results``, each as a sentence with the figures."""
    good = [r for r in results if r.case.correct]
    bugs = [r for r in results if not r.case.correct]
    missed = []
    fa = sum(r.outcome == "wrong" for r in good)
    und = sum(r.outcome == "undecided" for r in good)
    err = sum(r.outcome == "error" for r in results)
    fp = sum(r.false_pass for r in bugs)
    wr = sum(r.outcome == "wrong" for r in bugs)
    nameable = [r for r in bugs if r.named is not None]
    named = sum(bool(r.named) for r in nameable)
    untrue = sum(bool(r.untrue) for r in results)
    if err:
        missed.append(f"{err} cases raised")
    if fa:
        missed.append(f"false alarms: {fa} of {len(good)} correct cases are 'wrong' (target 0)")
    if good and und > 0.02 * len(good):
        missed.append(f"undecided: {und} of {len(good)} correct cases = {und / len(good):.1%} (target <= 2%)")
    if fp:
        missed.append(f"false passes: {fp} of {len(bugs)} bugs are 'correct' or passed (target 0)")
    if bugs and wr < 0.98 * len(bugs):
        missed.append(f"wrong: {wr} of {len(bugs)} bugs = {wr / len(bugs):.1%} (target >= 98%)")
    if untrue:
        missed.append(f"untrue patterns in {untrue} cases (target 0)")
    collateral = sum(bool(r.collateral) for r in bugs)
    if collateral:
        missed.append(f"correct parts of buggy networks called wrong in {collateral} of {len(bugs)} "
                      "bug cases (target 0)")
    if nameable and named < 0.95 * len(nameable):
        missed.append(f"named: {named} of {len(nameable)} bugs = {named / len(nameable):.1%} (target >= 95%)")
    return missed
