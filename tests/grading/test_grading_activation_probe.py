"""check_backward names the derivative an activation step applies before "scaled" or "zero".

Under the course's own ``initialize_parameters_deep`` ([5, 4, 1], ``randn * 0.01``) the output
layer's Z is within 1e-4 of 0. With seed 001's swap (relu_backward in the sigmoid branch) the
numbers at that point alone read as "zero" when every Z <= 0 and as "scaled x4" (even "the 1/m
average is missing" with m = 4) when every Z > 0; the step itself, asked on a probe, is relu's.
"""

import numpy as np
import pytest

from chainrule import dlai
from chainrule.grading.probe import derivative_used


def sigmoid_backward(dA, cache):
    s = 1 / (1 + np.exp(-cache))
    return dA * s * (1 - s)


def relu_backward(dA, cache):
    dZ = np.array(dA, copy=True)
    dZ[cache <= 0] = 0
    return dZ


def linear_backward(dZ, cache):
    A_prev, W, b = cache
    m = A_prev.shape[1]
    return np.dot(W.T, dZ), np.dot(dZ, A_prev.T) / m, np.sum(dZ, axis=1, keepdims=True) / m


def swapped(dA, cache, activation):  # seed 001's linear_activation_backward
    linear_cache, activation_cache = cache
    if activation == "relu":
        dZ = sigmoid_backward(dA, activation_cache)
    else:
        dZ = relu_backward(dA, activation_cache)
    return linear_backward(dZ, linear_cache)


def sigmoid_on_Z(dA, cache):
    return dA * cache * (1 - cache)


def on_Z(dA, cache, activation):
    linear_cache, Z = cache
    dZ = relu_backward(dA, Z) if activation == "relu" else dA * Z * (1 - Z)
    return linear_backward(dZ, linear_cache)


def sigmoid_twice(dA, cache):
    return 2 * sigmoid_backward(dA, cache)


def sigmoid_zero(dA, cache):
    return np.zeros_like(dA)


PARAMETERS = dlai.initialize_parameters_deep([5, 4, 1])
Y = np.array([[1, 0, 1, 0]])


def course_point(seed, sign):
    """X drawn with ``seed``; asserts the output layer's Z has the sign the case is about."""
    X = np.random.RandomState(seed).randn(5, 4)
    _, caches = dlai.L_model_forward(X, PARAMETERS)
    Z = caches[-1][1]
    assert np.all(Z <= 0) if sign == "<= 0" else np.all(Z > 0)
    assert np.max(np.abs(Z)) < 1e-3  # near sigmoid's Z = 0, where sigmoid' = 1/4
    return PARAMETERS, X, Y


@pytest.mark.parametrize("seed, sign", [(0, "<= 0"), (9, "> 0"), (24, "> 0")])
@pytest.mark.parametrize("given", [{"linear_activation_backward": swapped},
                                   {"sigmoid_backward": relu_backward}], ids=["lab", "sigmoid_backward"])
def test_seed001_swap_is_named_as_the_swap_where_Z_is_near_0(seed, sign, given):
    result = dlai.check_backward(*course_point(seed, sign), **given)
    last = result.steps[-1]
    assert (last.layer, last.step, last.passed) == (2, "sigmoid", False)
    assert (last.pattern, last.derivative) == ("activation", "relu")
    assert "dZ uses the derivative of relu where layer 2 is sigmoid" in str(result)
    text = str(result)
    assert "1/m" not in text and "all zeros" not in text
    if "sigmoid_backward" in given:  # the sigmoid step is the only wrong one, so it is the verdict
        assert result.verdict.endswith("dZ uses the derivative of relu where layer 2 is sigmoid")
        # the whole network's factors are that step's doing, not bugs of their own
        assert "dW1: activation: a consequence of layer 2's sigmoid step, the first wrong one on the way " \
               "back: dZ uses the derivative of relu where layer 2 is sigmoid" in text
    for name, p in result.parameters.parameters.items():  # never "scaled x4" nor "zero"
        assert p.pattern not in ("scaled", "zero"), (name, p.pattern, p.factor)
        if not p.passed and getattr(p, "outcome", "wrong") == "wrong":  # what the numbers can tell
            assert (p.pattern, p.detail) == ("activation", "relu"), (name, p.pattern, p.factor)


@pytest.mark.parametrize("seed, sign", [(0, "<= 0"), (9, "> 0")])
def test_a_derivative_written_on_Z_instead_of_A_is_named(seed, sign):
    for given in ({"sigmoid_backward": sigmoid_on_Z}, {"linear_activation_backward": on_Z}):
        result = dlai.check_backward(*course_point(seed, sign), **given)
        last = result.steps[-1]
        assert (last.pattern, last.derivative) == ("activation", "sigmoid on Z")
        assert last.hint.startswith("dZ = dA * Z * (1 - Z): the derivative written on Z instead of A")
        assert "A = sigmoid(Z)" in result.verdict
        assert all(s.passed for s in result.steps[:-1])


def test_a_real_factor_and_a_real_zero_keep_their_names():
    point = course_point(9, "> 0")
    twice = dlai.check_backward(*point, sigmoid_backward=sigmoid_twice).steps[-1]
    assert twice.pattern == "scaled" and "2x" in twice.hint.replace(" ", "")
    zero = dlai.check_backward(*point, sigmoid_backward=sigmoid_zero).steps[-1]
    assert zero.pattern == "zero"


def test_correct_functions_still_pass_at_the_course_point():
    for seed, sign in ((0, "<= 0"), (9, "> 0")):
        result = dlai.check_backward(*course_point(seed, sign), sigmoid_backward=sigmoid_backward,
                                     relu_backward=relu_backward, linear_backward=linear_backward)
        assert result.passed, str(result)


def test_the_probe_reads_each_derivative_off_the_function():
    cases = {"relu": relu_backward, "sigmoid": sigmoid_backward,
             "tanh": lambda dA, Z: dA * (1 - np.tanh(Z) ** 2), "identity": lambda dA, Z: dA.copy()}
    for used, fn in cases.items():
        for activation in ("relu", "sigmoid"):
            found = derivative_used(fn, activation, (3, 2))
            if used == activation:
                assert found is None
            elif (used, activation) == ("identity", "relu"):
                assert found[0] == "masked" and "mask is not applied" in found[1]
            else:
                assert found is not None and found[0] == used
    assert derivative_used(lambda dA, Z: dA * (1 - Z ** 2), "relu", (2, 5))[0] == "tanh on Z"
    # a function that fails on the probe, or that no candidate explains, leaves the verdict alone
    assert derivative_used(lambda dA, Z: 1 / 0, "relu", (2, 2)) is None
    assert derivative_used(lambda dA, Z: dA * 3.7, "relu", (2, 2)) is None


def test_the_course_face_delegates_to_the_grading_engine():
    import chainrule.grading

    assert dlai.check_backward is chainrule.grading.check_backward
    assert dlai.assert_backward is chainrule.grading.assert_backward
    assert dlai.BackwardCheck is chainrule.grading.BackwardCheck


def test_a_step_the_numbers_cannot_decide_is_undecided_never_blamed():
    """A step with nothing checkable (every element on a kink) is undecided: never the blamed step,
    never "wrong"; the check as a whole is undecided when nothing else is wrong."""
    from types import SimpleNamespace

    from chainrule.grading.diagnose import _step_outcome
    from chainrule.grading.verdict import BackwardCheck, StepVerdict

    on_kinks = SimpleNamespace(passed=False, error=None,
                               parameters={"x": SimpleNamespace(passed=False, checked=0, resolved=True)})
    assert _step_outcome(on_kinks) == "undecided"
    assert _step_outcome(SimpleNamespace(outcome="wrong", passed=False)) == "wrong"  # the check's own
    wrong = SimpleNamespace(passed=False, error=None,
                            parameters={"x": SimpleNamespace(passed=False, checked=5, resolved=True)})
    assert _step_outcome(wrong) == "wrong"

    steps = [StepVerdict(1, "linear", "linear_backward", True),
             StepVerdict(1, "relu", "relu_backward", False, None, None, "dZ: unchecked: every element sat "
                         "on a kink", "chainrule's relu_backward", "undecided")]
    check = BackwardCheck(False, 1e-10, [], steps, None, None, None)
    assert check.outcome == "undecided" and check.to_dict()["outcome"] == "undecided"
    assert check.verdict.startswith("backward check undecided: nothing found wrong, but layer 1 relu step")
    assert "FAIL" not in steps[1].describe() and steps[1].describe().endswith("undecided: dZ: unchecked: "
                                                                              "every element sat on a kink")
    steps.append(StepVerdict(2, "sigmoid", "sigmoid_backward", False, "activation", "relu", "", "", "wrong"))
    assert BackwardCheck(False, 0.5, ["W2"], steps, None, None, steps[2]).outcome == "wrong"
