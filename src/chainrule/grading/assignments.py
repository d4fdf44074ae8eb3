"""The course functions ``chainrule grade`` checks, assignment by assignment, and how.

Each function is checked on its own: while it runs, every other course function in the learner's
namespace is chainrule's reference (``Context.isolated``), so a wrong ``linear_backward`` fails
``linear_backward`` and not also the ``linear_activation_backward`` that calls it. Each check runs
the course's test case, then fresh random ones (seeded by ``--seed``), and compares every value
returned with ``chainrule.dlai`` (``compare.difference``); the backward functions also go
through ``check_backward`` on a random network, which names the layer step and the kind of bug
(a swapped derivative, a missing 1/m, an in-place write, a wrong return). Every learner function
is called on deep copies of its arguments, and one that writes into them is wrong.

A check returns the list of problems found (empty: correct); what the learner's code raises
propagates to the worker, which reports it with the learner's own traceback lines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from .. import dlai as R
from ..dlai import testcases as T
from ..dlai._arrays import layer_keys
from .compare import Call, describe, dict_difference, difference, form_problem, returned


@dataclass
class Context:
    """What a check needs: the random source for fresh cases, the learner's namespace, the
    reference of every course function of the assignment, and ``details`` (lines printed under
    the verdict, e.g. ``check_backward``'s report)."""

    rng: np.random.Generator
    ns: dict
    references: dict[str, Callable]
    call: Call = field(default_factory=Call)
    details: list[str] = field(default_factory=list)

    @contextmanager
    def isolated(self, name: str) -> Iterator[None]:
        """The learner's ``name`` alone: the other course functions are chainrule's meanwhile."""
        saved = {k: self.ns[k] for k in self.references if k != name and k in self.ns}
        self.ns.update({k: v for k, v in self.references.items() if k != name})
        try:
            yield
        finally:
            for k in self.references:
                if k != name:
                    self.ns.pop(k, None)
            self.ns.update(saved)


def _first(cases: list[tuple[str | None, Callable[[], list[str]]]]) -> list[str]:
    """The problems of the first case that has any, each prefixed with the case (if it has a name
    the problems do not already give)."""
    for label, run in cases:
        try:
            problems = run()
        except (Exception, SystemExit) as e:  # the learner's code raised: reported with this case
            if not hasattr(e, "grading_case"):
                e.grading_case = label
            raise
        if problems:
            return [p if label is None else f"{label}: {p}" for p in problems]
    return []


def _network(rng: np.random.Generator, dims: list[int] | None = None, m: int | None = None):
    """A random course network (relu hidden layers, sigmoid output) where every pre-activation has
    both signs: W scaled as He, b ~ 0.1 N(0, 1); X (n_x, m); Y with both labels."""
    dims = dims or [int(rng.integers(3, 6)), int(rng.integers(3, 6)), int(rng.integers(2, 5)), 1]
    m = m or int(rng.integers(4, 9))
    params = {}
    for layer in range(1, len(dims)):
        n, n_prev = dims[layer], dims[layer - 1]
        params[f"W{layer}"] = rng.standard_normal((n, n_prev)) * np.sqrt(2 / n_prev)
        params[f"b{layer}"] = rng.standard_normal((dims[layer], 1)) * 0.1
    X = rng.standard_normal((dims[0], m))
    Y = np.zeros((1, m))
    Y[0, rng.permutation(m)[: m // 2]] = 1
    return params, X, Y


def _backward_diagnosis(ctx: Context, **given: Callable) -> list[str]:
    """``check_backward`` of the learner's function on a random network: its verdict, if wrong."""
    params, X, Y = _network(ctx.rng)
    shape = "-".join(str(params[f"W{k}"].shape[1]) for k in (1, 2, 3)) + "-1"
    try:
        result = R.check_backward(params, X, Y, **given)
    except (TypeError, ValueError) as e:  # what the learner returned cannot be checked: say why
        return [f"check_backward on a random {shape} network (m = {X.shape[1]}): {e}"]
    if result.passed or not (result.blame or result.failed or result.mutations or result.wrong_dA
                             or result.error):
        return []  # passed, or the numbers could not decide: the exact comparisons decide then
    ctx.details += str(result).splitlines()
    where = f"check_backward on a random {shape} network (m = {X.shape[1]})"
    problems = [f"{where}: {result.verdict.removeprefix('backward check FAILED: ')}"]
    seen = set()
    for s in [result.blame] if result.blame else []:
        seen.add((s.step, s.pattern, s.derivative))
    for s in result.steps:  # the other kinds of wrong step, once each (layers 1 and 2 alike: once)
        if not s.passed and (s.step, s.pattern, s.derivative) not in seen:
            seen.add((s.step, s.pattern, s.derivative))
            problems.append(f"{where}: {s.headline()}")
    return problems


ACTIVATIONS = ("sigmoid", "relu")


def _runs(ctx: Context, fn: Callable, function: str, names: tuple[str, ...], *args: object
          ) -> Callable[[], list[str]]:
    """A case that only runs ``fn``, so that what it raises is reported with the learner's own
    traceback (inside ``check_backward`` it would become one step's error); its values are
    compared later."""
    def run() -> list[str]:
        ctx.call(fn, function, names, *args)
        return []
    return run


def _randn(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


# ---- Building your Deep Neural Network: Step by Step -------------------------------------------

def initialize_parameters(fn: Callable, ctx: Context) -> list[str]:
    def case(n_x: int, n_h: int, n_y: int) -> Callable[[], list[str]]:
        def run() -> list[str]:
            np.random.seed(1)  # noqa: NPY002 (the course's test seeds the global RNG before the call)
            got = ctx.call(fn, "initialize_parameters", ("n_x", "n_h", "n_y"), n_x, n_h, n_y)
            return dict_difference("parameters", got, R.initialize_parameters(n_x, n_h, n_y, rng=1))
        return run

    sizes = tuple(int(v) for v in ctx.rng.integers(2, 7, 3))
    return _first([("the course's test case (3, 2, 1)", case(3, 2, 1)), (f"sizes {sizes}", case(*sizes))])


def initialize_parameters_deep(fn: Callable, ctx: Context) -> list[str]:
    def case(dims: list[int]) -> Callable[[], list[str]]:
        def run() -> list[str]:
            np.random.seed(3)  # noqa: NPY002
            got = ctx.call(fn, "initialize_parameters_deep", ("layer_dims",), list(dims))
            return dict_difference("parameters", got, R.initialize_parameters_deep(dims, rng=3))
        return run

    dims = [int(v) for v in ctx.rng.integers(2, 7, 4)]
    return _first([("the course's test case [5, 4, 3]", case([5, 4, 3])), (f"layer_dims {dims}", case(dims))])


def linear_forward(fn: Callable, ctx: Context) -> list[str]:
    def case(A: np.ndarray, W: np.ndarray, b: np.ndarray) -> Callable[[], list[str]]:
        def run() -> list[str]:
            got = ctx.call(fn, "linear_forward", ("A", "W", "b"), A, W, b)
            out = returned(got, ("Z", "cache"))
            if out is None:
                return [form_problem("linear_forward", got, ("Z", "cache"))]
            Z, cache = out
            found = [p for p in [difference("Z", Z, R.linear_forward(A, W, b)[0])] if p]
            parts = returned(cache, ("A", "W", "b"))
            if parts is None:
                return found + [f"cache must be (A, W, b); it is {describe(cache)}"]
            return found + [p for p in (difference(f"cache[{i}] ({n})", v, ref) for i, (n, v, ref) in
                                        enumerate(zip(("A", "W", "b"), parts, (A, W, b), strict=True))) if p]
        return run

    r = ctx.rng
    n_prev, n, m = (int(v) for v in r.integers(2, 6, 3))
    return _first([("the course's test case", case(*T.linear_forward_test_case())),
                   (f"a random case (W {n}x{n_prev}, m = {m})",
                    case(_randn(r, n_prev, m), _randn(r, n, n_prev), _randn(r, n, 1)))])


def linear_activation_forward(fn: Callable, ctx: Context) -> list[str]:
    def case(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray, activation: str) -> Callable[[], list[str]]:
        def run() -> list[str]:
            got = ctx.call(fn, "linear_activation_forward", ("A_prev", "W", "b", "activation"),
                           A_prev, W, b, activation)
            out = returned(got, ("A", "cache"))
            if out is None:
                return [form_problem("linear_activation_forward", got, ("A", "cache"))]
            A, cache = out
            want_A, (_, Z) = R.linear_activation_forward(A_prev, W, b, activation)
            found = [p for p in [difference("A", A, want_A)] if p]
            parts = returned(cache, ("linear_cache", "activation_cache"))
            if parts is None:
                return found + [f"cache must be (linear_cache, activation_cache); it is {describe(cache)}"]
            linear = returned(parts[0], ("A_prev", "W", "b"))
            if linear is None:
                found.append(f"linear_cache must be (A_prev, W, b); it is {describe(parts[0])}")
            else:
                pairs = zip(("A_prev", "W", "b"), linear, (A_prev, W, b), strict=True)
                found += [p for i, (n, v, ref) in enumerate(pairs)
                          if (p := difference(f"linear_cache[{i}] ({n})", v, ref))]
            return found + [p for p in [difference("activation_cache (Z)", parts[1], Z)] if p]
        return run

    r = ctx.rng
    n_prev, n, m = (int(v) for v in r.integers(2, 6, 3))
    random = (_randn(r, n_prev, m), _randn(r, n, n_prev), _randn(r, n, 1))
    return _first([(f"the course's test case with activation = {a!r}",
                    case(*T.linear_activation_forward_test_case(), a)) for a in ACTIVATIONS]
                  + [(f"a random case with activation = {a!r}", case(*random, a)) for a in ACTIVATIONS])


def L_model_forward(fn: Callable, ctx: Context) -> list[str]:
    def case(X: np.ndarray, parameters: dict) -> Callable[[], list[str]]:
        def run() -> list[str]:
            got = ctx.call(fn, "L_model_forward", ("X", "parameters"), X, parameters)
            out = returned(got, ("AL", "caches"))
            if out is None:
                return [form_problem("L_model_forward", got, ("AL", "caches"))]
            AL, caches = out
            want_AL, want_caches = R.L_model_forward(X, parameters)
            found = [p for p in [difference("AL", AL, want_AL)] if p]
            if not isinstance(caches, (list, tuple)) or len(caches) != len(want_caches):
                return found + [f"caches must be a list of {len(want_caches)} caches (one per layer); it is "
                                f"{describe(caches)}"]
            for layer, (cache, (_, Z)) in enumerate(zip(caches, want_caches, strict=True), start=1):
                parts = returned(cache, ("linear_cache", "activation_cache"))
                if parts is None:
                    found.append(f"caches[{layer - 1}] must be (linear_cache, Z); it is {describe(cache)}")
                elif p := difference(f"caches[{layer - 1}][1] (Z{layer})", parts[1], Z):
                    found.append(p)
            return found
        return run

    params, X, _ = _network(ctx.rng)
    return _first([("the course's test case (3 layers)", case(*T.L_model_forward_test_case_2hidden())),
                   ("the course's test case (2 layers)", case(*T.L_model_forward_test_case())),
                   ("a random 3-layer network", case(X, params))])


def compute_cost(fn: Callable, ctx: Context) -> list[str]:
    def case(AL: np.ndarray, Y: np.ndarray) -> Callable[[], list[str]]:
        def run() -> list[str]:
            got = ctx.call(fn, "compute_cost", ("AL", "Y"), AL, Y)
            if np.ndim(got) != 0:
                return [f"cost must be a number (shape ()), as the course asserts; it has shape "
                        f"{np.shape(got)}: np.squeeze(cost) is missing"]
            return [p for p in [difference("cost", got, R.compute_cost(AL, Y), m=AL.shape[1])] if p]
        return run

    m = int(ctx.rng.integers(3, 9))
    AL = ctx.rng.uniform(0.05, 0.95, (1, m))
    Y = (ctx.rng.random((1, m)) > 0.5).astype(float)
    Y_case, AL_case = T.compute_cost_test_case()
    return _first([("the course's test case", case(AL_case, Y_case)),
                   (f"a random case (m = {m})", case(AL, Y))])


def linear_backward(fn: Callable, ctx: Context) -> list[str]:
    def case(dZ: np.ndarray, cache: tuple) -> Callable[[], list[str]]:
        def run() -> list[str]:
            got = ctx.call(fn, "linear_backward", ("dZ", "cache"), dZ, cache)
            out = returned(got, ("dA_prev", "dW", "db"))
            if out is None:
                return [form_problem("linear_backward", got, ("dA_prev", "dW", "db"))]
            want = R.linear_backward(dZ, cache)
            m = dZ.shape[1]
            return [p for p in (difference(n, v, w, m) for n, v, w in
                                zip(("dA_prev", "dW", "db"), out, want, strict=True)) if p]
        return run

    r = ctx.rng
    n_prev, n, m = (int(v) for v in r.integers(2, 6, 3))
    random = (_randn(r, n, m), (_randn(r, n_prev, m), _randn(r, n, n_prev), _randn(r, n, 1)))
    return _first([("the course's test case", case(*T.linear_backward_test_case())),
                   (f"a random case (W {n}x{n_prev}, m = {m})", case(*random)),
                   (None, lambda: _backward_diagnosis(ctx, linear_backward=fn))])


def linear_activation_backward(fn: Callable, ctx: Context) -> list[str]:
    def case(dA: np.ndarray, cache: tuple, activation: str) -> Callable[[], list[str]]:
        def run() -> list[str]:
            got = ctx.call(fn, "linear_activation_backward", ("dA", "cache", "activation"), dA, cache,
                           activation)
            out = returned(got, ("dA_prev", "dW", "db"))
            if out is None:
                return [form_problem("linear_activation_backward", got, ("dA_prev", "dW", "db"))]
            want = R.linear_activation_backward(dA, cache, activation)
            m = dA.shape[1]
            return [p for p in (difference(n, v, w, m) for n, v, w in
                                zip(("dA_prev", "dW", "db"), out, want, strict=True)) if p]
        return run

    r = ctx.rng
    n_prev, n, m = (int(v) for v in r.integers(2, 6, 3))
    linear_cache = (_randn(r, n_prev, m), _randn(r, n, n_prev), _randn(r, n, 1))
    random = (_randn(r, n, m), (linear_cache, _randn(r, n, m)))
    return _first([("the course's test case", _runs(ctx, fn, "linear_activation_backward", ("dA", "cache"),
                                                     *T.linear_activation_backward_test_case(), "relu")),
                   (None,
                    lambda: _backward_diagnosis(ctx, linear_activation_backward=fn))]
                  + [(f"the course's test case with activation = {a!r}",
                      case(*T.linear_activation_backward_test_case(), a)) for a in ACTIVATIONS]
                  + [(f"a random case with activation = {a!r}", case(*random, a)) for a in ACTIVATIONS])


def L_model_backward(fn: Callable, ctx: Context) -> list[str]:
    def case(AL: np.ndarray, Y: np.ndarray, caches: list) -> Callable[[], list[str]]:
        def run() -> list[str]:
            got = ctx.call(fn, "L_model_backward", ("AL", "Y", "caches"), AL, Y, caches)
            return dict_difference("grads", got, R.L_model_backward(AL, Y, caches), m=AL.shape[1])
        return run

    params, X, Y = _network(ctx.rng)
    AL, caches = R.L_model_forward(X, params)
    return _first([("the course's test case", _runs(ctx, fn, "L_model_backward", ("AL", "Y", "caches"),
                                                     *T.L_model_backward_test_case())),
                   (None, lambda: _backward_diagnosis(ctx, L_model_backward=fn)),
                   ("the course's test case", case(*T.L_model_backward_test_case())),
                   ("a random 3-layer network", case(AL, Y, caches))])


def update_parameters(fn: Callable, ctx: Context) -> list[str]:
    def case(parameters: dict, grads: dict, learning_rate: float) -> Callable[[], list[str]]:
        def run() -> list[str]:
            got = ctx.call(fn, "update_parameters", ("parameters", "grads", "learning_rate"), parameters,
                           grads, learning_rate)
            return dict_difference("parameters", got, R.update_parameters(parameters, grads, learning_rate))
        return run

    params, _, _ = _network(ctx.rng)
    grads = {f"d{k}": ctx.rng.standard_normal(v.shape) for k, v in params.items()}
    return _first([("the course's test case (learning_rate = 0.1)",
                    case(*T.update_parameters_test_case(), 0.1)),
                   ("a random 3-layer network (learning_rate = 0.0075)", case(params, grads, 0.0075))])


def _activation(name: str) -> Callable[[Callable, Context], list[str]]:
    def check(fn: Callable, ctx: Context) -> list[str]:
        Z = ctx.rng.standard_normal((3, 5)) * 2

        def run() -> list[str]:
            got = ctx.call(fn, name, ("Z",), Z)
            out = returned(got, ("A", "cache"))
            if out is None:
                return [form_problem(name, got, ("A", "cache"))]
            A, cache = getattr(R, name)(Z)
            return [p for p in (difference("A", out[0], A), difference("cache (Z)", out[1], cache)) if p]
        return _first([("a random Z (3, 5)", run)])
    return check


def _activation_backward(name: str) -> Callable[[Callable, Context], list[str]]:
    def check(fn: Callable, ctx: Context) -> list[str]:
        dA, Z = ctx.rng.standard_normal((3, 5)), ctx.rng.standard_normal((3, 5)) * 2

        def run() -> list[str]:
            got = ctx.call(fn, name, ("dA", "cache"), dA, Z)
            return [p for p in [difference("dZ", got, getattr(R, name)(dA, Z))] if p]
        return _first([(None, lambda: _backward_diagnosis(ctx, **{name: fn})),
                       ("a random dA, Z (3, 5)", run)])
    return check


# ---- Gradient Checking -----------------------------------------------------------------------

def forward_propagation(fn: Callable, ctx: Context) -> list[str]:
    x, theta = (float(v) for v in ctx.rng.uniform(-3, 3, 2))
    cases = [(2, 4), (3, 4), (x, theta)]
    return _first([(f"x, theta = {a:.6g}, {t:.6g}",
                    lambda a=a, t=t: [p for p in [difference("J", ctx.call(fn, "forward_propagation",
                                                                             ("x", "theta"), a, t),
                                                             R.forward_propagation(a, t))] if p])
                   for a, t in cases])


def backward_propagation(fn: Callable, ctx: Context) -> list[str]:
    def case(x: float, theta: float) -> Callable[[], list[str]]:
        def run() -> list[str]:
            got = ctx.call(fn, "backward_propagation", ("x", "theta"), x, theta)
            if isinstance(got, (tuple, list)):
                return [f"returns {describe(got)} where dJ/dtheta is one number: return the derivative "
                        "itself (dtheta = x), not a tuple"]
            if np.ndim(got) == 0 and x != theta and np.isclose(float(np.asarray(got, dtype=float)), theta):
                return ["returns theta; dJ/dtheta of J = theta * x is x"]
            return [p for p in [difference("dtheta", got, R.backward_propagation(x, theta))] if p]
        return run

    x, theta = (float(v) for v in ctx.rng.uniform(-3, 3, 2))
    return _first([(f"x, theta = {a:.6g}, {t:.6g}", case(a, t)) for a, t in ((2, 4), (3, 4), (x, theta))])


def _course_difference(grad: float, gradapprox: float) -> float:
    return abs(grad - gradapprox) / (abs(grad) + abs(gradapprox))


def _a_number(value: object, what: str) -> str | None:
    if isinstance(value, (tuple, list)) or np.ndim(value) != 0 or np.asarray(value).dtype.kind not in "biuf":
        return f"{what} must return the difference, one number; it returned {describe(value)}"
    return None


def gradient_check(fn: Callable, ctx: Context) -> list[str]:
    def case(x: float, theta: float, backward: Callable, want: float | None) -> Callable[[], list[str]]:
        def run() -> list[str]:
            ctx.ns["backward_propagation"] = backward
            got = ctx.call(fn, "gradient_check", ("x", "theta"), x, theta)
            if problem := _a_number(got, "gradient_check"):
                return [problem]
            got = float(np.asarray(got))
            if want is None:
                return [] if got < 1e-7 else [
                    f"returned {got:.6g} for a correct backward_propagation: it must be below 1e-7 (the "
                    "relative difference of grad and gradapprox)"]
            if abs(got - want) > 1e-6 * want:
                return [f"returned {got:.10g} for a backward_propagation that returns 2 * x, where the "
                        "relative difference ||grad - gradapprox|| / (||grad|| + ||gradapprox||) is "
                        f"{want:.10g}"]
            return []
        return run

    wrong = lambda x, theta: 2 * x  # noqa: E731
    x = float(ctx.rng.uniform(0.5, 3))
    return _first([("x, theta = 3, 4", case(3, 4, R.backward_propagation, None)),
                   ("x, theta = 2, 4", case(2, 4, R.backward_propagation, None)),
                   ("x, theta = 3, 4 with a wrong backward_propagation", case(3, 4, wrong, 1 / 3)),
                   (f"x, theta = {x:.6g}, 1 with a wrong backward_propagation", case(x, 1, wrong, 1 / 3))])


def forward_propagation_n(fn: Callable, ctx: Context) -> list[str]:
    def case(X: np.ndarray, Y: np.ndarray, parameters: dict) -> Callable[[], list[str]]:
        def run() -> list[str]:
            got = ctx.call(fn, "forward_propagation_n", ("X", "Y", "parameters"), X, Y, parameters)
            out = returned(got, ("cost", "cache"))
            if out is None:
                return [form_problem("forward_propagation_n", got, ("cost", "cache"))]
            cost, cache = out
            want_cost, want_cache = R.forward_propagation_n(X, Y, parameters)
            found = [p for p in [difference("cost", cost, want_cost, m=X.shape[1])] if p]
            if not isinstance(cache, tuple) or len(cache) != len(want_cache):
                return found + [f"cache must be the tuple (Z1, A1, W1, b1, ..., Z3, A3, W3, b3); it is "
                                f"{describe(cache)}"]
            names = [f"{n}{layer}" for layer in (1, 2, 3) for n in ("Z", "A", "W", "b")]
            return found + [p for p in (difference(f"cache[{i}] ({n})", v, w) for i, (n, v, w) in
                                        enumerate(zip(names, cache, want_cache, strict=True))) if p]
        return run

    params, X, Y = _network(ctx.rng, [4, 5, 3, 1])
    return _first([("the course's test case", case(*T.gradient_check_n_test_case())),
                   (f"a random case (m = {X.shape[1]})", case(X, Y, params))])


def _planted(gradients: dict) -> dict:
    return dict(gradients, dW2=gradients["dW2"] * 2, db1=gradients["db1"] * 4)


def backward_propagation_n(fn: Callable, ctx: Context) -> list[str]:
    def case(X: np.ndarray, Y: np.ndarray, parameters: dict) -> Callable[[], list[str]]:
        def run() -> list[str]:
            _, cache = R.forward_propagation_n(X, Y, parameters)
            got = ctx.call(fn, "backward_propagation_n", ("X", "Y", "cache"), X, Y, cache)
            want = R.backward_propagation_n(X, Y, cache)
            return dict_difference("gradients", got, {k: want[k] for k in layer_keys(3, "d")}, m=X.shape[1])
        return run

    params, X, Y = _network(ctx.rng, [4, 5, 3, 1])
    return _first([("the course's test case", case(*T.gradient_check_n_test_case())),
                   (f"a random case (m = {X.shape[1]})", case(X, Y, params))])


def gradient_check_n(fn: Callable, ctx: Context) -> list[str]:
    def case(X: np.ndarray, Y: np.ndarray, parameters: dict, planted: bool) -> Callable[[], list[str]]:
        def run() -> list[str]:
            _, cache = R.forward_propagation_n(X, Y, parameters)
            gradients = R.backward_propagation_n(X, Y, cache)
            gradients = _planted(gradients) if planted else gradients
            got = ctx.call(fn, "gradient_check_n", ("parameters", "gradients", "X", "Y"), parameters,
                           gradients, X, Y)
            if problem := _a_number(got, "gradient_check_n"):
                return [problem]
            got = float(np.asarray(got))
            want = float(R.gradient_check_n(parameters, gradients, X, Y, print_msg=False))
            if not planted:
                return [] if got < 2e-7 else [
                    f"returned {got:.6g} for correct gradients (it must be below 2e-7)"]
            if abs(got - want) > 1e-5 * want:
                return [f"returned {got:.10g} for gradients with dW2 * 2 and db1 * 4, where the course's "
                        f"difference is {want:.10g}"]
            return []
        return run

    params, X, Y = _network(ctx.rng, [4, 5, 3, 1])
    return _first([("the course's test case, correct gradients",
                    case(*T.gradient_check_n_test_case(), False)),
                   ("the course's test case, dW2 * 2 and db1 * 4",
                    case(*T.gradient_check_n_test_case(), True)),
                   (f"a random case (m = {X.shape[1]}), dW2 * 2 and db1 * 4", case(X, Y, params, True))])


@dataclass(frozen=True)
class Function:
    """A course function to grade: ``check(fn, ctx)`` returns its problems; ``points`` its weight in
    the score (0: graded and reported when the learner defines it, the course provides it)."""

    name: str
    check: Callable[[Callable, Context], list[str]]
    points: float = 1.0


ASSIGNMENTS: dict[str, list[Function]] = {
    "step-by-step": [
        Function("initialize_parameters", initialize_parameters),
        Function("initialize_parameters_deep", initialize_parameters_deep),
        Function("linear_forward", linear_forward),
        Function("linear_activation_forward", linear_activation_forward),
        Function("L_model_forward", L_model_forward),
        Function("compute_cost", compute_cost),
        Function("linear_backward", linear_backward),
        Function("linear_activation_backward", linear_activation_backward),
        Function("L_model_backward", L_model_backward),
        Function("update_parameters", update_parameters),
        Function("sigmoid", _activation("sigmoid"), 0),
        Function("relu", _activation("relu"), 0),
        Function("sigmoid_backward", _activation_backward("sigmoid_backward"), 0),
        Function("relu_backward", _activation_backward("relu_backward"), 0),
    ],
    "gradient-checking": [
        Function("forward_propagation", forward_propagation),
        Function("backward_propagation", backward_propagation),
        Function("gradient_check", gradient_check),
        Function("forward_propagation_n", forward_propagation_n),
        Function("backward_propagation_n", backward_propagation_n),
        Function("gradient_check_n", gradient_check_n),
    ],
}

#: Helpers the course's notebooks import (dnn_utils, gc_utils), in the learner's namespace as
#: chainrule's while another function is graded.
_GC_HELPERS = {"dictionary_to_vector": R.dictionary_to_vector, "vector_to_dictionary": R.vector_to_dictionary,
               "gradients_to_vector": R.gradients_to_vector}


def references(assignment: str) -> dict[str, Callable]:
    """Every course function of ``assignment`` (and the helpers its notebook imports), chainrule's."""
    out = {f.name: getattr(R, f.name) for f in ASSIGNMENTS[assignment]}
    if assignment == "gradient-checking":
        out.update(_GC_HELPERS)
    return out
