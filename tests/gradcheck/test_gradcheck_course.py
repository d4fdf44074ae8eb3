"""Seed 000: the course's 1-D and N-D gradient checks, reproduced and diagnosed."""

import copy

import numpy as np
import pytest

from chainrule import check_gradients


def _check(course, bugs, **kw):
    cost, cache = course.forward(course.x, course.y, course.params)
    grads = course.backward(course.x, course.y, cache, bugs=bugs)
    report = check_gradients(lambda p: course.forward(course.x, course.y, p), course.params, grads, **kw)
    return report, grads


def test_planted_bugs_give_the_course_difference_and_are_named(course):
    report, _ = _check(course, bugs=True, eps=1e-7, batch_size=3)
    assert report.difference == pytest.approx(0.2850931568, abs=1e-6)  # the seed prints 0.285093156781
    assert not report.passed
    assert set(report.failed) == {"W2", "b1"}
    w2, b1 = report.parameters["W2"], report.parameters["b1"]
    assert (w2.pattern, b1.pattern) == ("scaled", "scaled")
    assert w2.factor == pytest.approx(2, rel=0.01)
    assert b1.factor == pytest.approx(4, rel=0.01)
    for name in ("W1", "b2", "W3", "b3"):
        assert report.parameters[name].passed and report.parameters[name].pattern is None
    # the worst element of W2 is reported with values that show the factor 2
    worst = w2.worst[0]
    assert worst.analytic == pytest.approx(2 * worst.numerical, rel=1e-5)
    assert "dZ1" in " ".join(report.notes)  # the course's intermediate gradients are ignored, and said so


def test_fixed_backward_passes_with_the_course_number(course):
    report, _ = _check(course, bugs=False, eps=1e-7)
    assert report.passed and report.failed == []
    assert report.difference == pytest.approx(1.18904178766e-07, rel=1e-3)  # the seed's printed value
    assert report.difference < 2e-7  # the course's verdict: "works perfectly fine"


def test_default_eps_lands_far_below_the_threshold(course):
    report, _ = _check(course, bugs=False)
    assert report.eps == 1e-6
    assert report.passed and report.difference < 2e-8  # >10x margin below 2e-7


def test_inputs_are_never_modified(course):
    params_before = copy.deepcopy(course.params)
    _, grads = _check(course, bugs=True, eps=1e-7)
    grads_before = copy.deepcopy(grads)
    check_gradients(lambda p: course.forward(course.x, course.y, p), course.params, grads, eps=1e-7)
    for k, v in params_before.items():
        np.testing.assert_array_equal(course.params[k], v)
    for k, v in grads_before.items():
        np.testing.assert_array_equal(grads[k], v)


def test_one_dimensional_case():
    x, theta = 2, 4
    report = check_gradients(lambda t: t * x, theta, x, eps=1e-7)
    assert report.passed
    assert report.difference < 1e-7  # the seed shows 2.9e-10
    assert list(report.parameters) == ["theta"]
    wrong = check_gradients(lambda t: t * x, theta, -x)
    assert not wrong.passed and wrong.difference == pytest.approx(1.0)
    # one number names a simple factor (-1 here) matched to within its error bar, and says it is one
    # number; any other ratio stays "mismatch" with the ratio shown: one number cannot tell a constant
    # factor of 1.35 from any other error
    res = wrong.parameters["theta"]
    assert (res.pattern, res.factor) == ("sign", -1.0) and "one number" in res.hint
    odd = check_gradients(lambda t: t * x, theta, 2.7).parameters["theta"]
    assert odd.pattern == "mismatch" and odd.factor == pytest.approx(1.35)


def test_exchanged_gradients_of_different_shapes_are_named_swapped(course):
    _, grads = _check(course, bugs=False, eps=1e-7)
    grads["dW1"], grads["dW2"] = grads["dW2"], grads["dW1"]
    report = check_gradients(lambda p: course.forward(course.x, course.y, p), course.params, grads, eps=1e-7)
    assert set(report.failed) == {"W1", "W2"}
    assert report.parameters["W1"].pattern == "swapped" and report.parameters["W1"].detail == "W2"
    assert report.parameters["W2"].pattern == "swapped" and report.parameters["W2"].detail == "W1"


def test_transposed_gradient_of_the_wrong_shape(course):
    _, grads = _check(course, bugs=False)
    grads["dW1"] = grads["dW1"].T.copy()
    report = check_gradients(lambda p: course.forward(course.x, course.y, p), course.params, grads)
    assert report.failed == ["W1"]
    assert report.parameters["W1"].pattern == "transposed"
    assert "(4, 5)" in report.parameters["W1"].hint
