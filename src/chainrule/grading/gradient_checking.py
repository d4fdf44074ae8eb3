"""The checks of the "Gradient Checking" assignment (course 2, week 1).

The functions are compared with ``chainrule.dlai`` on the course's test cases and random ones.
``gradient_check`` and ``gradient_check_n`` are checked through what they compute: with the
reference's forward and backward in the learner's namespace, the course's difference must be tiny
for right gradients and equal the formula's value for wrong ones (``backward_propagation``
returning ``2 * x``; seed 000's ``dW2 * 2``, ``db1 * 4``). Both of the notebook's signatures work.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import dlai as R
from ..dlai import testcases as T
from ..dlai._arrays import layer_keys
from .checks import Context, Function, first, network
from .compare import describe, dict_difference, difference, form_problem, returned


def forward_propagation(fn: Callable, ctx: Context) -> list[str]:
    x, theta = (float(v) for v in ctx.rng.uniform(-3, 3, 2))
    cases = [(2, 4), (3, 4), (x, theta)]
    return first([(f"x, theta = {a:.6g}, {t:.6g}",
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
    return first([(f"x, theta = {a:.6g}, {t:.6g}", case(a, t)) for a, t in ((2, 4), (3, 4), (x, theta))])


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
    return first([("x, theta = 3, 4", case(3, 4, R.backward_propagation, None)),
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

    params, X, Y = network(ctx.rng, [4, 5, 3, 1])
    return first([("the course's test case", case(*T.gradient_check_n_test_case())),
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

    params, X, Y = network(ctx.rng, [4, 5, 3, 1])
    return first([("the course's test case", case(*T.gradient_check_n_test_case())),
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

    params, X, Y = network(ctx.rng, [4, 5, 3, 1])
    return first([("the course's test case, correct gradients",
                    case(*T.gradient_check_n_test_case(), False)),
                   ("the course's test case, dW2 * 2 and db1 * 4",
                    case(*T.gradient_check_n_test_case(), True)),
                   (f"a random case (m = {X.shape[1]}), dW2 * 2 and db1 * 4", case(X, Y, params, True))])


FUNCTIONS = [
    Function("forward_propagation", forward_propagation),
    Function("backward_propagation", backward_propagation),
    Function("gradient_check", gradient_check),
    Function("forward_propagation_n", forward_propagation_n),
    Function("backward_propagation_n", backward_propagation_n),
    Function("gradient_check_n", gradient_check_n),
]

#: The helpers the notebook imports from gc_utils, chainrule's while another function is graded.
HELPERS = {"dictionary_to_vector": R.dictionary_to_vector, "vector_to_dictionary": R.vector_to_dictionary,
           "gradients_to_vector": R.gradients_to_vector}
