"""The gradient-checking notebook's signatures of 2018 (the seeds) and of today, both accepted.

2018: ``gradient_check(x, theta, epsilon=1e-7)`` and ``gradient_check_n(parameters, gradients, X, Y,
epsilon=1e-7)``, both always printing. Today: ``..., epsilon=1e-7, print_msg=False)``, printing only
with ``print_msg=True`` (today's notebook calls ``gradient_check_n(parameters, gradients, X, Y, 1e-7,
True)`` and ``gradient_check(x, theta, print_msg=True)`` with x, theta = 3, 4).
"""

import numpy as np
import pytest

from chainrule import dlai
from chainrule.dlai import testcases


def course_case(planted: bool):
    X, Y, parameters = testcases.gradient_check_n_test_case()
    _, cache = dlai.forward_propagation_n(X, Y, parameters)
    gradients = dlai.backward_propagation_n(X, Y, cache)
    if planted:  # seed 000's dW2 * 2 and db1 * 4
        gradients = dict(gradients, dW2=gradients["dW2"] * 2, db1=gradients["db1"] * 4)
    return parameters, gradients, X, Y


def independent_1d(x, theta, epsilon=1e-7):
    """The notebook's own arithmetic for J = theta * x, written out."""
    gradapprox = ((theta + epsilon) * x - (theta - epsilon) * x) / (2 * epsilon)
    return np.linalg.norm(x - gradapprox) / (np.linalg.norm(x) + np.linalg.norm(gradapprox))


def test_todays_1d_call_prints_todays_message_with_todays_number(capsys):
    difference = dlai.gradient_check(3, 4, print_msg=True)
    assert float(difference) == independent_1d(3, 4) == pytest.approx(7.814075313343006e-11, rel=1e-9)
    out = capsys.readouterr().out.strip()
    assert out == f"Your backward propagation works perfectly fine! difference = {float(difference)}"


def test_1d_signatures_positional_keyword_and_silent(capsys):
    assert float(dlai.gradient_check(2, 4, 1e-7)) == independent_1d(2, 4)
    assert capsys.readouterr().out.strip() == "The gradient is correct!"  # 2018's message
    assert float(dlai.gradient_check(2, 4, epsilon=1e-5, print_msg=False)) == independent_1d(2, 4, 1e-5)
    assert float(dlai.gradient_check(3, 4, 1e-7, False)) == independent_1d(3, 4)
    assert capsys.readouterr().out == ""
    wrong = dlai.gradient_check(3, 4, print_msg=True, backward=lambda x, theta: 2 * x)
    assert float(wrong) == pytest.approx(1 / 3)
    out = capsys.readouterr().out
    assert out.startswith("There is a mistake in the backward propagation! difference = 0.333")
    assert str(wrong.report).splitlines()[0] in out.split("\n", 1)[1]  # the diagnosis follows


def test_todays_n_call_with_positional_epsilon_and_print_msg(capsys):
    difference = dlai.gradient_check_n(*course_case(planted=True), 1e-7, True)
    assert difference == pytest.approx(0.2850931567761623, abs=1e-9)
    assert set(difference.report.failed) == {"W2", "b1"}
    out = capsys.readouterr().out
    assert out.startswith(f"There is a mistake in the backward propagation! difference = {float(difference)}")
    assert "W2" in out and "b1" in out


def test_n_signatures_silent_and_2018_default(capsys):
    silent = dlai.gradient_check_n(*course_case(planted=True), epsilon=1e-7, print_msg=False)
    assert capsys.readouterr().out == ""
    loud = dlai.gradient_check_n(*course_case(planted=True))  # 2018: always prints
    assert float(silent) == float(loud)
    assert "There is a mistake in the backward propagation!" in capsys.readouterr().out
    fixed = dlai.gradient_check_n(*course_case(planted=False), print_msg=True)
    assert fixed < 2e-7
    assert capsys.readouterr().out.startswith("Your backward propagation works perfectly fine!")
    report = dlai.gradient_check_n(*course_case(planted=False), 1e-7, False, return_report=True)
    assert report.passed and capsys.readouterr().out == ""
