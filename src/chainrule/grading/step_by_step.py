"""The checks of "Building your Deep Neural Network: Step by Step" (course 1, week 4).

Forward functions are compared value by value with ``chainrule.dlai`` on the course's test cases
and random ones; the backward functions first run on the course's test case (so that what they
raise is reported with the learner's traceback), then through ``check_backward`` on a random
network, then value by value. ``sigmoid``, ``relu`` and their backward functions are the course's
helpers: graded, worth 0 points, when the learner writes their own.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import dlai as R
from ..dlai import testcases as T
from .checks import ACTIVATIONS, Context, Function, backward_diagnosis, first, network, randn, runs
from .compare import describe, dict_difference, difference, form_problem, returned


def initialize_parameters(fn: Callable, ctx: Context) -> list[str]:
    def case(n_x: int, n_h: int, n_y: int) -> Callable[[], list[str]]:
        def run() -> list[str]:
            np.random.seed(1)  # noqa: NPY002 (the course's test seeds the global RNG before the call)
            got = ctx.call(fn, "initialize_parameters", ("n_x", "n_h", "n_y"), n_x, n_h, n_y)
            return dict_difference("parameters", got, R.initialize_parameters(n_x, n_h, n_y, rng=1))
        return run

    sizes = tuple(int(v) for v in ctx.rng.integers(2, 7, 3))
    return first([("the course's test case (3, 2, 1)", case(3, 2, 1)), (f"sizes {sizes}", case(*sizes))])


def initialize_parameters_deep(fn: Callable, ctx: Context) -> list[str]:
    def case(dims: list[int]) -> Callable[[], list[str]]:
        def run() -> list[str]:
            np.random.seed(3)  # noqa: NPY002
            got = ctx.call(fn, "initialize_parameters_deep", ("layer_dims",), list(dims))
            return dict_difference("parameters", got, R.initialize_parameters_deep(dims, rng=3))
        return run

    dims = [int(v) for v in ctx.rng.integers(2, 7, 4)]
    return first([("the course's test case [5, 4, 3]", case([5, 4, 3])), (f"layer_dims {dims}", case(dims))])


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
    return first([("the course's test case", case(*T.linear_forward_test_case())),
                   (f"a random case (W {n}x{n_prev}, m = {m})",
                    case(randn(r, n_prev, m), randn(r, n, n_prev), randn(r, n, 1)))])


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
    random = (randn(r, n_prev, m), randn(r, n, n_prev), randn(r, n, 1))
    return first([(f"the course's test case with activation = {a!r}",
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

    params, X, _ = network(ctx.rng)
    return first([("the course's test case (3 layers)", case(*T.L_model_forward_test_case_2hidden())),
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
    return first([("the course's test case", case(AL_case, Y_case)),
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
    random = (randn(r, n, m), (randn(r, n_prev, m), randn(r, n, n_prev), randn(r, n, 1)))
    return first([("the course's test case", case(*T.linear_backward_test_case())),
                   (f"a random case (W {n}x{n_prev}, m = {m})", case(*random)),
                   (None, lambda: backward_diagnosis(ctx, linear_backward=fn))])


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
    linear_cache = (randn(r, n_prev, m), randn(r, n, n_prev), randn(r, n, 1))
    random = (randn(r, n, m), (linear_cache, randn(r, n, m)))
    return first([("the course's test case", runs(ctx, fn, "linear_activation_backward", ("dA", "cache"),
                                                     *T.linear_activation_backward_test_case(), "relu")),
                   (None,
                    lambda: backward_diagnosis(ctx, linear_activation_backward=fn))]
                  + [(f"the course's test case with activation = {a!r}",
                      case(*T.linear_activation_backward_test_case(), a)) for a in ACTIVATIONS]
                  + [(f"a random case with activation = {a!r}", case(*random, a)) for a in ACTIVATIONS])


def L_model_backward(fn: Callable, ctx: Context) -> list[str]:
    def case(AL: np.ndarray, Y: np.ndarray, caches: list) -> Callable[[], list[str]]:
        def run() -> list[str]:
            got = ctx.call(fn, "L_model_backward", ("AL", "Y", "caches"), AL, Y, caches)
            return dict_difference("grads", got, R.L_model_backward(AL, Y, caches), m=AL.shape[1])
        return run

    params, X, Y = network(ctx.rng)
    AL, caches = R.L_model_forward(X, params)
    return first([("the course's test case", runs(ctx, fn, "L_model_backward", ("AL", "Y", "caches"),
                                                     *T.L_model_backward_test_case())),
                   (None, lambda: backward_diagnosis(ctx, L_model_backward=fn)),
                   ("the course's test case", case(*T.L_model_backward_test_case())),
                   ("a random 3-layer network", case(AL, Y, caches))])


def update_parameters(fn: Callable, ctx: Context) -> list[str]:
    def case(parameters: dict, grads: dict, learning_rate: float) -> Callable[[], list[str]]:
        def run() -> list[str]:
            got = ctx.call(fn, "update_parameters", ("parameters", "grads", "learning_rate"), parameters,
                           grads, learning_rate)
            return dict_difference("parameters", got, R.update_parameters(parameters, grads, learning_rate))
        return run

    params, _, _ = network(ctx.rng)
    grads = {f"d{k}": ctx.rng.standard_normal(v.shape) for k, v in params.items()}
    return first([("the course's test case (learning_rate = 0.1)",
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
        return first([("a random Z (3, 5)", run)])
    return check


def _activation_backward(name: str) -> Callable[[Callable, Context], list[str]]:
    def check(fn: Callable, ctx: Context) -> list[str]:
        dA, Z = ctx.rng.standard_normal((3, 5)), ctx.rng.standard_normal((3, 5)) * 2

        def run() -> list[str]:
            got = ctx.call(fn, name, ("dA", "cache"), dA, Z)
            return [p for p in [difference("dZ", got, getattr(R, name)(dA, Z))] if p]
        return first([(None, lambda: backward_diagnosis(ctx, **{name: fn})),
                       ("a random dA, Z (3, 5)", run)])
    return check


FUNCTIONS = [
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
]
