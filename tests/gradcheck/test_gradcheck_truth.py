"""Issue 9, truthful verdicts: each case the issue lists, as a test, and the pipeline's own steps."""

import json
import warnings

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.dlai import gradient_check_n
from chainrule.gradcheck import (
    OUTCOMES,
    StepWarning,
    assert_gradients,
    check_gradients,
    check_layer,
)
from chainrule.gradcheck.estimate import loop_costs
from chainrule.gradcheck.judge import CORRECT, WRONG, taylor_test
from chainrule.gradcheck.noise import Noise, ecnoise, staircase
from chainrule.nn import ReLU


class MissingMaskReLU(ReLU):
    """The README's bug: the backward forgets the mask."""

    def backward(self, dout):
        return dout.copy()


def _course_net(rng, dims, scale, m):
    params = {}
    for i in range(1, len(dims)):
        params[f"W{i}"] = rng.standard_normal((dims[i], dims[i - 1])) * scale
        params[f"b{i}"] = np.zeros((dims[i], 1))
    X = rng.standard_normal((dims[0], m))
    Y = (rng.random((1, m)) < 0.5).astype(float)
    return params, X, Y


def _forward(X, Y, p):
    L = len(p) // 2
    A, cache = X, []
    for i in range(1, L + 1):
        Z = p[f"W{i}"] @ A + p[f"b{i}"]
        cache.append((A, Z))
        A = np.maximum(0, Z) if i < L else 1 / (1 + np.exp(-Z))
    m = X.shape[1]
    cost = -(1 / m) * np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A))
    return cost, (cache, A)


def _backward(X, Y, p, cache, AL):
    L, m = len(p) // 2, X.shape[1]
    g, dZ, dA = {}, AL - Y, None
    for i in range(L, 0, -1):
        A_prev, Z = cache[i - 1]
        if i < L:
            dZ = dA * (Z > 0)
        g[f"dW{i}"], g[f"db{i}"] = dZ @ A_prev.T / m, dZ.sum(axis=1, keepdims=True) / m
        dA = p[f"W{i}"].T @ dZ
    return g


def test_three_outcomes_everywhere():
    assert OUTCOMES == ("correct", "wrong", "undecided")
    cost = lambda q: float(np.sum(q["w"] ** 2))  # noqa: E731
    right = check_gradients(cost, {"w": np.array([1.0, 2.0])}, {"w": np.array([2.0, 4.0])})
    assert right.outcome == "correct" and right.passed and right.to_dict()["outcome"] == "correct"
    assert right.parameters["w"].outcome == "correct"
    wrong = check_gradients(cost, {"w": np.array([1.0, 2.0])}, {"w": np.array([2.0, 5.0])})
    assert wrong.outcome == "wrong" and not wrong.passed and wrong.failed == ["w"]


def test_a_float32_cost_does_not_pass_a_wrong_gradient():
    # the issue: passed with difference 0.29 while "unresolved"
    def cost(w):
        return float(np.sum(w.astype(np.float32) ** 2))

    report = check_gradients(cost, np.array([1.0, 2.0]), np.array([5.0, 5.0]))
    assert report.outcome == "wrong" and not report.passed
    with pytest.raises(AssertionError):
        assert_gradients(cost, np.array([1.0, 2.0]), np.array([5.0, 5.0]))
    assert check_gradients(cost, np.array([1.0, 2.0]), np.array([2.0, 4.0])).passed


def test_a_tiny_eps_is_replaced_with_a_warning_and_the_missing_mask_is_found():
    x = np.random.default_rng(0).standard_normal((8, 5))
    with pytest.warns(StepWarning, match="eps = 1e-14 is meaningless"):
        result = check_layer(MissingMaskReLU(), x, eps=1e-14)
    assert result.outcome == "wrong" and result.parameters["x"].pattern == "masked"


def test_cli_eps_1e_20_never_prints_a_pass_on_noise(capsys):
    code = main(["gradcheck", "--json", "--eps", "1e-20"])
    d = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and d["outcome"] == "correct" and d["difference"] < 1e-6
    assert d["eps"] > 1e-20 and any("eps = 1e-20 is meaningless" in note for note in d["notes"])


def test_a_zero_gradient_beyond_the_noise_is_wrong_and_the_true_tiny_one_correct():
    def cost(q):
        return 1.0 + 1e-10 * q["w"].sum()

    zero = check_gradients(cost, {"w": np.ones(3)}, {"w": np.zeros(3)})
    assert zero.outcome == "wrong" and zero.parameters["w"].pattern == "zero"
    assert check_gradients(cost, {"w": np.ones(3)}, {"w": np.full(3, 1e-10)}).outcome == "correct"


def test_swapped_needs_both_directions():
    def cost(q):
        return q["a"].sum() + 0 * q["b"].sum()

    report = check_gradients(cost, {"a": np.ones(2), "b": np.ones(2)},
                             {"a": np.full(2, 1e-13), "b": np.zeros(2)})
    assert report.parameters["a"].outcome == "wrong" and report.parameters["a"].pattern == "zero"
    assert report.parameters["b"].outcome == "correct"
    # a real exchange still is one
    both = check_gradients(lambda q: float(q["a"] @ [1.0, 2.0] + q["b"] @ [3.0, 5.0]),
                           {"a": np.ones(2), "b": np.ones(2)},
                           {"a": np.array([3.0, 5.0]), "b": np.array([1.0, 2.0])})
    assert both.parameters["a"].pattern == "swapped" and both.parameters["a"].detail == "b"


def test_undecided_is_not_passed_and_assert_gradients_raises_unless_allowed():
    def hopeless(q):
        return 1e3 + 1e-12 * float(np.sum(np.sin(q["w"])))

    w = np.linspace(0.1, 1.0, 4)
    report = check_gradients(hopeless, {"w": w}, {"w": 1e-12 * np.cos(w)})
    assert report.outcome == "undecided" and not report.passed and report.undecided == ["w"]
    assert "noise" in report.parameters["w"].hint and "Try" in report.parameters["w"].hint
    with pytest.raises(AssertionError, match="(?s)^gradient check undecided.*allow_undecided=True"):
        assert_gradients(hopeless, {"w": w}, {"w": 1e-12 * np.cos(w)})
    again = assert_gradients(hopeless, {"w": w}, {"w": 1e-12 * np.cos(w)}, allow_undecided=True)
    assert again.outcome == "undecided"
    # a wrong gradient still raises with the opt-out
    with pytest.raises(AssertionError):
        assert_gradients(lambda q: float(np.sum(q["w"] ** 2)), {"w": w}, {"w": w}, allow_undecided=True)


def test_cli_exit_codes_per_outcome(capsys, monkeypatch):
    import chainrule.cli.gradcheck as cli

    def undecided(args):
        return check_gradients(lambda q: 1e3 + 1e-12 * float(np.sum(np.sin(q["w"]))),
                               {"w": np.linspace(0.1, 1, 3)}, {"w": 1e-12 * np.cos(np.linspace(0.1, 1, 3))})

    monkeypatch.setattr(cli, "_model_report", undecided)
    assert main(["gradcheck", "--json"]) == 3
    d = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert d["outcome"] == "undecided" and not d["passed"] and d["undecided"] == ["w"]
    assert main(["gradcheck", "--demo", "--json"]) == 1
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["outcome"] == "wrong"
    assert main(["gradcheck", "--demo", "--fixed"]) == 0
    assert main(["gradcheck", "--fixed"]) == 2


def test_gradient_check_n_names_the_batch_size_without_an_argument_it_lacks(course, capsys):
    _, cache = course.forward(course.x, course.y, course.params)
    grads = course.backward(course.x, course.y, cache, bugs=False)
    grads["dW1"] = grads["dW1"] * course.x.shape[1]  # the 1/m average missing
    diff = gradient_check_n(course.params, grads, course.x, course.y, forward=course.forward)
    out = capsys.readouterr().out
    assert "pass batch_size=" not in out and "batch_size=" not in diff.report.parameters["W1"].hint
    assert "1/m average is missing" in diff.report.parameters["W1"].hint


def test_the_course_numbers_are_unchanged(course):
    _, cache = course.forward(course.x, course.y, course.params)
    grads = course.backward(course.x, course.y, cache)
    diff = gradient_check_n(course.params, grads, course.x, course.y, 1e-7, forward=course.forward)
    assert float(diff) == pytest.approx(0.2850931568, abs=1e-10)
    r = diff.report.parameters
    assert r["W2"].factor == pytest.approx(2, rel=1e-4) and r["b1"].factor == pytest.approx(4, rel=1e-4)


def test_a_missing_mean_term_has_a_pattern_of_its_own():
    rng = np.random.default_rng(3)
    dout = rng.standard_normal((4, 6))

    def cost(x):  # centring each row: its backward subtracts the row mean of dout
        return float(np.sum(dout * (x - x.mean(axis=1, keepdims=True))))

    x = rng.standard_normal((4, 6))
    right = dout - dout.mean(axis=1, keepdims=True)
    assert check_gradients(cost, x, right).passed
    report = check_gradients(cost, x, dout)  # the mean term dropped
    assert report.parameters["theta"].pattern == "missing-mean"
    assert report.parameters["theta"].detail == "row"


def test_course_style_networks_on_kinks_are_never_called_wrong():
    # x0.01 init puts deep ReLU inputs within 1e-7 of 0: kinks everywhere, never a wrong verdict
    rng = np.random.default_rng(11)
    outcomes = []
    for _ in range(12):
        p, X, Y = _course_net(rng, [4, 5, 4, 3, 1], 0.01, int(rng.integers(1, 17)))
        cost, (cache, AL) = _forward(X, Y, p)
        g = _backward(X, Y, p, cache, AL)
        report = check_gradients(lambda q, X=X, Y=Y: _forward(X, Y, q), p, g)
        outcomes.append(report.outcome)
        assert report.outcome != "wrong", report
    assert "correct" in outcomes


def test_a_dead_layer_with_exact_zeros_is_not_wrong():
    rng = np.random.default_rng(5)
    p, X, Y = _course_net(rng, [3, 4, 4, 1], 1.0, 8)
    X = np.abs(X)
    p["W1"] = -np.abs(p["W1"])  # layer 1 dead on every example: every later Z is exactly 0
    cost, (cache, AL) = _forward(X, Y, p)
    report = check_gradients(lambda q: _forward(X, Y, q), p, _backward(X, Y, p, cache, AL))
    assert report.outcome != "wrong" and report.failed == []


def test_a_saturated_log_one_minus_al_is_detected_and_points_at_the_logits():
    rng = np.random.default_rng(4)
    p, X, Y = _course_net(rng, [3, 4, 1], 1.0, 6)
    _, (cache, AL) = _forward(X, Y, p)
    zmax = float(np.max(cache[-1][1]))
    assert zmax > 0
    X = X * (30.0 / zmax)  # ReLU network, zero biases: Z scales with X; the top example at 1 - AL ~ 1e-13
    _, (cache, AL) = _forward(X, Y, p)
    k = int(np.argmax(AL))
    Y[0, k] = 0.0
    _, (cache, AL) = _forward(X, Y, p)
    assert 1 - AL.max() < 1e-12
    error, closest = staircase(_forward(X, Y, p))
    assert closest < 1e-12 and error > 1e-6
    diff = gradient_check_n(p, _backward(X, Y, p, cache, AL), X, Y)
    assert diff.report.outcome != "wrong"
    text = " ".join(diff.report.notes) + " ".join(q.hint for q in diff.report.parameters.values())
    assert "logits" in text


def test_ecnoise_measures_a_known_noise_level():
    rng = np.random.default_rng(0)
    t = np.linspace(0, 6e-6, 7)
    sigma = 1e-9
    found = [ecnoise(np.sin(1 + t) + sigma * rng.standard_normal(7))[0] for _ in range(50)]
    assert 0.3 * sigma < np.median(found) < 3 * sigma
    assert ecnoise(np.full(7, 2.0))[1] == "too small"


def test_taylor_remainder_orders():
    a0 = np.array([0.3, -1.2, 2.0])

    def line_cost(name, d, t):
        w = a0 + t * d
        return float(np.sum(np.sin(w)))

    noise = Noise(1e-17, 1e-16, 1.0, float(np.sum(np.sin(a0))))
    f0 = float(np.sum(np.sin(a0)))
    valid = np.ones(3, bool)
    right, _ = taylor_test("w", np.cos(a0), valid, f0, noise, line_cost, np.random.default_rng(0), 1.0)
    wrong, text = taylor_test("w", 1.5 * np.cos(a0), valid, f0, noise, line_cost,
                              np.random.default_rng(0), 1.0)
    assert right == CORRECT and wrong == WRONG and "order 1" in text


def test_element_costs_plug_in_without_touching_the_rest():
    calls = []
    cost = lambda q: float(np.sum(np.tanh(q["w"]) * q["v"]))  # noqa: E731
    params = {"w": np.linspace(-1, 1, 5), "v": np.linspace(1, 2, 5)}
    grads = {"w": (1 - np.tanh(params["w"]) ** 2) * params["v"], "v": np.tanh(params["w"])}
    values = {k: v.copy() for k, v in params.items()}

    def evaluate(vals):
        return cost(vals)

    inner = loop_costs(evaluate, values)

    def counted(name, indices, steps):
        calls.append((name, len(indices)))
        return inner(name, indices, steps)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = check_gradients(cost, params, grads, element_costs=counted)
    assert report.passed and {"w", "v"} <= {c[0] for c in calls}
    assert report.difference == pytest.approx(check_gradients(cost, params, grads).difference, rel=1e-6)
