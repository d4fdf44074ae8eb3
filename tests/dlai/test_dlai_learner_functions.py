"""check_backward on the functions learners write first and get wrong: an activation backward that
writes into dA, relu_backward/sigmoid_backward passed on their own, wrong return values, NaN
gradients, and hints in the course's names (dA_prev, dW, db, dZ)."""

import numpy as np
import pytest

from chainrule import dlai
from chainrule.grading.learner import Mutation


def by_step(result):
    return {(s.layer, s.step): s for s in result.steps}


# The learner's functions, written as in the course's notebook (np.dot, masks, caches), not chainrule's.
def sigmoid_backward_mine(dA, cache):
    s = 1 / (1 + np.exp(-cache))
    return dA * s * (1 - s)


def relu_backward_mine(dA, cache):
    dZ = np.array(dA, copy=True)
    dZ[cache <= 0] = 0
    return dZ


def relu_backward_in_place(dA, cache):
    dZ = dA  # no copy: writes into the caller's dA
    dZ[cache <= 0] = 0
    return dZ


def linear_backward_mine(dZ, cache):
    A_prev, W, b = cache
    m = A_prev.shape[1]
    return np.dot(W.T, dZ), np.dot(dZ, A_prev.T) / m, np.sum(dZ, axis=1, keepdims=True) / m


def activation_backward_with(relu_backward):
    def linear_activation_backward(dA, cache, activation):
        linear_cache, activation_cache = cache
        if activation == "relu":
            dZ = relu_backward(dA, activation_cache)
        else:
            dZ = sigmoid_backward_mine(dA, activation_cache)
        return linear_backward_mine(dZ, linear_cache)
    return linear_activation_backward


def model_backward_with(linear_activation_backward):
    def L_model_backward(AL, Y, caches):  # the course's loop: each dA is stored before the next step
        grads = {}
        L = len(caches)
        Y = Y.reshape(AL.shape)
        dAL = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
        grads["dA" + str(L - 1)], grads["dW" + str(L)], grads["db" + str(L)] = linear_activation_backward(
            dAL, caches[L - 1], "sigmoid")
        for layer in reversed(range(L - 1)):
            dA_prev, dW, db = linear_activation_backward(grads["dA" + str(layer + 1)], caches[layer], "relu")
            grads["dA" + str(layer)] = dA_prev
            grads["dW" + str(layer + 1)], grads["db" + str(layer + 1)] = dW, db
        return grads
    return L_model_backward


def hand_derived(parameters, X, Y):
    """The course's gradients and dA's for the 3-layer net, derived by hand with NumPy."""
    W1, b1, W2, b2, W3, b3 = (parameters[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    m = X.shape[1]
    Z1 = W1 @ X + b1
    A1 = np.maximum(Z1, 0)
    Z2 = W2 @ A1 + b2
    A2 = np.maximum(Z2, 0)
    A3 = 1 / (1 + np.exp(-(W3 @ A2 + b3)))
    dZ3 = A3 - Y
    dA2 = W3.T @ dZ3
    dZ2 = dA2 * (Z2 > 0)
    dA1 = W2.T @ dZ2
    dZ1 = dA1 * (Z1 > 0)
    return {"dA2": dA2, "dA1": dA1, "dA0": W1.T @ dZ1, "dW1": dZ1 @ X.T / m, "dW2": dZ2 @ A1.T / m,
            "dW3": dZ3 @ A2.T / m, "Z1": Z1, "Z2": Z2}


def test_an_activation_backward_writing_into_dA_fails_though_its_gradients_are_right(point):
    parameters, X, Y = point
    expected = hand_derived(parameters, X, Y)
    lab = activation_backward_with(relu_backward_in_place)
    lmb = model_backward_with(lab)
    # the bug is real: dW's are right, the dA the course's grader compares are not
    AL, caches = dlai.L_model_forward(X, parameters)
    grads = lmb(AL, Y, caches)
    np.testing.assert_allclose(grads["dW1"], expected["dW1"], rtol=1e-10)
    np.testing.assert_allclose(grads["dA1"], expected["dA1"] * (expected["Z1"] > 0), rtol=1e-10)
    assert not np.allclose(grads["dA1"], expected["dA1"])

    result = dlai.check_backward(parameters, X, Y, L_model_backward=lmb, linear_activation_backward=lab)
    assert not result.passed
    assert result.failed == [] and result.difference < 1e-6  # the gradient check alone would pass
    assert set(result.wrong_dA) == {"dA1", "dA2"}
    assert "where Z1 <= 0 set to 0" in result.wrong_dA["dA1"]
    assert "dZ = np.array(dA, copy=True)" in result.wrong_dA["dA1"]
    steps = by_step(result)
    for layer in (1, 2):
        step = steps[(layer, "relu")]
        assert not step.passed and step.pattern == "inplace"
        assert step.function == "linear_activation_backward"
        assert "modified its argument dA in place" in step.hint and "np.array(dA, copy=True)" in step.hint
    assert [k for k, s in steps.items() if not s.passed] == [(1, "relu"), (2, "relu")]
    assert Mutation("linear_activation_backward", "dA", 1, "relu") in result.mutations
    assert (result.blame.layer, result.blame.step) == (1, "relu")
    text = str(result)
    assert "backward check FAILED" in text and "grads['dA1']" in text
    assert "layer 1 relu     (your linear_activation_backward): FAIL, pattern 'inplace'" in text
    assert result.to_dict()["mutations"][0]["argument"] == "dA"


def test_relu_backward_writing_into_dA_is_named_with_the_step_and_the_fix(point):
    parameters, X, Y = point
    kept = {k: v.copy() for k, v in parameters.items()}
    result = dlai.check_backward(parameters, X, Y, relu_backward=relu_backward_in_place)
    assert not result.passed and result.failed == []
    assert {(m.function, m.argument, m.layer, m.step) for m in result.mutations} == {
        ("relu_backward", "dA", 1, "relu"), ("relu_backward", "dA", 2, "relu")}
    step = by_step(result)[(1, "relu")]
    assert step.function == "relu_backward" and step.pattern == "inplace"
    text = str(result)
    assert text.splitlines()[0] == ("backward check FAILED: layer 1 relu step, your relu_backward "
                                    "(relu_backward_in_place): modified dA in place")
    assert "layer 1 relu     (your relu_backward (relu_backward_in_place)): FAIL, pattern 'inplace': " \
        "modified its argument dA" in text
    assert "layer 3 sigmoid  (chainrule's sigmoid_backward): ok" in text
    assert all(np.array_equal(parameters[k], kept[k]) for k in kept)
    # the same function with the course's copy passes, as do the learner's other functions
    fixed = dlai.check_backward(parameters, X, Y, relu_backward=relu_backward_mine,
                                sigmoid_backward=sigmoid_backward_mine)
    assert fixed.passed and fixed.mutations == [] and fixed.wrong_dA == {}
    assert {s.function for s in fixed.steps if s.step != "linear"} == {"relu_backward", "sigmoid_backward"}
    lab = activation_backward_with(relu_backward_mine)
    full = dlai.check_backward(parameters, X, Y, L_model_backward=model_backward_with(lab),
                               linear_activation_backward=lab, linear_backward=linear_backward_mine)
    assert full.passed and full.wrong_dA == {} and full.mutations == []


def test_a_linear_backward_scaling_dZ_in_place_is_caught(point):
    parameters, X, Y = point

    def linear_backward_dividing_dZ(dZ, cache):  # right values, but the caller's dZ is divided by m
        A_prev, W, b = cache
        m = A_prev.shape[1]
        dZ /= m
        return np.dot(W.T, dZ) * m, np.dot(dZ, A_prev.T), np.sum(dZ, axis=1, keepdims=True)

    result = dlai.check_backward(parameters, X, Y, linear_backward=linear_backward_dividing_dZ)
    assert not result.passed and result.failed == []
    linear = [s for s in result.steps if s.step == "linear"]
    assert all(s.pattern == "inplace" and "argument dZ" in s.hint for s in linear)
    assert "dZ = np.array(dZ, copy=True)" in linear[0].hint
    assert all(s.passed for s in result.steps if s.step != "linear")


def test_relu_and_sigmoid_backward_are_checked_inside_the_course_step(point):
    parameters, X, Y = point

    def relu_backward_with_sigmoids_derivative(dA, cache):  # seed 001's swap, in relu_backward itself
        return sigmoid_backward_mine(dA, cache)

    result = dlai.check_backward(parameters, X, Y, relu_backward=relu_backward_with_sigmoids_derivative)
    assert not result.passed and {"W1", "W2"} <= set(result.failed)
    steps = by_step(result)
    for layer in (1, 2):
        assert steps[(layer, "relu")].pattern == "activation"
        assert steps[(layer, "relu")].derivative == "sigmoid"
        assert steps[(layer, "relu")].function == "relu_backward"
    assert steps[(3, "sigmoid")].passed and steps[(3, "sigmoid")].function == "linear_activation_backward"

    def relu_backward_without_mask(dA, cache):
        return np.array(dA, copy=True)

    result = dlai.check_backward(parameters, X, Y, relu_backward=relu_backward_without_mask)
    step = by_step(result)[(1, "relu")]
    assert step.pattern == "masked"
    assert step.hint.startswith("dZ: ") and "where Z <= 0" in step.hint

    def sigmoid_backward_missing_one_minus(dA, cache):
        s = 1 / (1 + np.exp(-cache))
        return dA * s

    result = dlai.check_backward(parameters, X, Y, sigmoid_backward=sigmoid_backward_missing_one_minus)
    steps = by_step(result)
    assert not steps[(3, "sigmoid")].passed and steps[(3, "sigmoid")].function == "sigmoid_backward"
    assert all(s.passed for k, s in steps.items() if k != (3, "sigmoid"))


def test_unknown_keywords_and_conflicting_functions_are_type_errors_naming_check_backward(point):
    parameters, X, Y = point
    with pytest.raises(TypeError, match=r"check_backward\(\) got an unexpected keyword argument "
                       r"'relu_bakward' \(did you mean 'relu_backward'\?\)") as info:
        dlai.check_backward(parameters, X, Y, relu_bakward=relu_backward_mine)
    for name in ("linear_backward=", "linear_activation_backward=", "L_model_backward=", "relu_backward=",
                 "sigmoid_backward=", "threshold="):
        assert name in str(info.value)
    with pytest.raises(TypeError, match="check_backward.*not both"):
        dlai.check_backward(parameters, X, Y, relu_backward=relu_backward_mine,
                            linear_activation_backward=activation_backward_with(relu_backward_mine))
    with pytest.raises(TypeError, match=r"check_backward: relu_backward must be your function "
                       r"relu_backward\(dA, cache\), got ndarray"):
        dlai.check_backward(parameters, X, Y, relu_backward=np.zeros(3))
    # the gradient-check options still go through
    assert dlai.check_backward(parameters, X, Y, threshold=1e-6, rng=3).passed


def test_step_hints_use_the_course_names(point):
    parameters, X, Y = point

    def linear_backward_doubling_dA_prev(dZ, cache):
        dA_prev, dW, db = linear_backward_mine(dZ, cache)
        return 2 * dA_prev, dW, db

    result = dlai.check_backward(parameters, X, Y, linear_backward=linear_backward_doubling_dA_prev)
    linear = [s for s in result.steps if s.step == "linear"]
    assert all(s.pattern == "scaled" for s in linear)
    assert all(s.hint.startswith("dA_prev: analytic = 2 x numerical") for s in linear)
    assert "x: " not in str(result) and "W: " not in str(result)

    def linear_backward_doubling_dW(dZ, cache):
        dA_prev, dW, db = linear_backward_mine(dZ, cache)
        return dA_prev, 2 * dW, 3 * db

    result = dlai.check_backward(parameters, X, Y, linear_backward=linear_backward_doubling_dW)
    step = by_step(result)[(2, "linear")]
    assert step.hint.startswith("dW: analytic = 2 x numerical") and step.hint.endswith("(also wrong: db)")
    text = str(result)
    assert "wrong gradients: dW1, db1, dW2, db2, dW3, db3" in text and "  dW1: scaled: analytic = 2" in text

    def linear_backward_one_wrong_element(dZ, cache):  # dW[0, 2] of the course's (n_l, n_prev) dW
        dA_prev, dW, db = linear_backward_mine(dZ, cache)
        dW = dW.copy()
        dW[0, 2] *= 3
        return dA_prev, dW, db

    result = dlai.check_backward(parameters, X, Y, linear_backward=linear_backward_one_wrong_element)
    step = by_step(result)[(1, "linear")]
    assert step.hint.startswith("dW: correct on 19 elements, wrong on 1: (0, 2);")
    assert "3 x the true value" in step.hint


def test_non_finite_gradients_are_named_with_the_learners_key(point, capsys):
    parameters, X, Y = point

    def L_model_backward_nan(AL, Y, caches):
        grads = dlai.L_model_backward(AL, Y, caches)
        grads["dW1"] = grads["dW1"].copy()
        grads["dW1"][0, 0] = np.nan
        return grads

    result = dlai.check_backward(parameters, X, Y, L_model_backward=L_model_backward_nan)
    assert not result.passed and result.parameters is None
    assert "your L_model_backward returned grads['dW1'] has 1 non-finite value(s) (NaN or inf)" \
        in result.error
    assert "grads['W1']" not in str(result)
    X0, Y0, course = dlai.testcases.gradient_check_n_test_case()
    gradients = dlai.backward_propagation_n(X0, Y0, dlai.forward_propagation_n(X0, Y0, course)[1])
    gradients["dW1"] = gradients["dW1"].copy()
    gradients["dW1"][1, 2] = np.inf
    with pytest.raises(ValueError, match=r"gradient_check_n: gradients\['dW1'\] contains 1 non-finite"):
        dlai.gradient_check_n(course, gradients, X0, Y0)
    assert capsys.readouterr().out == ""


def test_wrong_return_values_say_what_the_function_must_return(point):
    parameters, X, Y = point

    def linear_backward_two_values(dZ, cache):
        return linear_backward_mine(dZ, cache)[:2]

    result = dlai.check_backward(parameters, X, Y, linear_backward=linear_backward_two_values)
    message = "your linear_backward must return (dA_prev, dW, db); it returned 2 values"
    assert message in result.error and "unpack" not in str(result)
    assert all(s.pattern == "error" and message in s.hint for s in result.steps if s.step == "linear")

    def linear_activation_backward_without_return(dA, cache, activation):
        dlai.linear_activation_backward(dA, cache, activation)

    result = dlai.check_backward(parameters, X, Y,
                                 linear_activation_backward=linear_activation_backward_without_return)
    assert "your linear_activation_backward must return (dA_prev, dW, db); it returned None" in result.error

    def L_model_backward_tuple(AL, Y, caches):
        grads = dlai.L_model_backward(AL, Y, caches)
        return grads["dW1"], grads["db1"]

    result = dlai.check_backward(parameters, X, Y, L_model_backward=L_model_backward_tuple)
    assert "your L_model_backward must return the dict grads" in result.error
    assert "it returned 2 values" in result.error

    def relu_backward_with_cache(dA, cache):
        return relu_backward_mine(dA, cache), cache

    result = dlai.check_backward(parameters, X, Y, relu_backward=relu_backward_with_cache)
    step = by_step(result)[(1, "relu")]
    assert step.pattern == "error"
    assert ("your relu_backward must return dZ, one array of dA's shape; it returned 2 values (return dZ "
            "alone, not (dZ, cache))") in step.hint


def test_shifted_dA_keys_are_recognised(point):
    parameters, X, Y = point
    expected = hand_derived(parameters, X, Y)

    def L_model_backward_off_by_one(AL, Y, caches):
        grads = dlai.L_model_backward(AL, Y, caches)
        return {k: v for k, v in grads.items() if not k.startswith("dA")} | {
            f"dA{int(k[2:]) + 1}": v for k, v in grads.items() if k.startswith("dA")}

    result = dlai.check_backward(parameters, X, Y, L_model_backward=L_model_backward_off_by_one)
    assert not result.passed and result.failed == []
    assert result.wrong_dA["dA1"].startswith("holds the course's dA0: the dA keys are shifted")
    assert set(result.wrong_dA) == {"dA1", "dA2", "dA3"}
    AL, caches = dlai.L_model_forward(X, parameters)
    np.testing.assert_allclose(L_model_backward_off_by_one(AL, Y, caches)["dA2"], expected["dA1"], rtol=1e-10)


def test_gradient_check_n_prints_the_course_verdict_alone_when_the_gradients_are_right(capsys):
    X, Y, parameters = dlai.testcases.gradient_check_n_test_case()
    gradients = dlai.backward_propagation_n(X, Y, dlai.forward_propagation_n(X, Y, parameters)[1])
    difference = dlai.gradient_check_n(parameters, gradients, X, Y)
    verdict = f"Your backward propagation works perfectly fine! difference = {difference}\n"
    assert capsys.readouterr().out == verdict
    assert difference == pytest.approx(1.18904178766e-07, rel=1e-3)  # seed 000's printed number


def test_a_function_with_the_wrong_parameters_is_told_the_course_signature(point):
    parameters, X, Y = point
    result = dlai.check_backward(parameters, X, Y, linear_backward=lambda dZ: (dZ, dZ, dZ))
    assert "your linear_backward must take (dZ, cache): too many positional arguments" in result.error
    assert all("must take (dZ, cache)" in s.hint for s in result.steps if s.step == "linear")
