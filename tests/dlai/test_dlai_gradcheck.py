"""Seeds 000 and 001: the course's gradient checks and a learner's swapped derivatives, diagnosed."""

import json
import pickle

import numpy as np
import pytest

from chainrule import dlai
from chainrule.dlai import linear_backward, relu_backward, sigmoid_backward, testcases


def planted_bugs(gradients):
    """Seed 000's two planted bugs: dW2 = 1/m dZ2 A1.T * 2 and db1 = 4/m sum(dZ1)."""
    return dict(gradients, dW2=gradients["dW2"] * 2, db1=gradients["db1"] * 4)


def seed_000_gradients(X, Y, parameters):
    """The course's gradients of forward_propagation_n, written out as in the seed (np.dot, masks on
    A > 0), independently of chainrule."""
    m = X.shape[1]
    Z1 = np.dot(parameters["W1"], X) + parameters["b1"]
    A1 = np.maximum(0, Z1)
    Z2 = np.dot(parameters["W2"], A1) + parameters["b2"]
    A2 = np.maximum(0, Z2)
    A3 = 1 / (1 + np.exp(-(np.dot(parameters["W3"], A2) + parameters["b3"])))
    dZ3 = A3 - Y
    dZ2 = np.multiply(np.dot(parameters["W3"].T, dZ3), np.int64(A2 > 0))
    dZ1 = np.multiply(np.dot(parameters["W2"].T, dZ2), np.int64(A1 > 0))
    return {"dW3": np.dot(dZ3, A2.T) / m, "db3": np.sum(dZ3, axis=1, keepdims=True) / m,
            "dW2": np.dot(dZ2, A1.T) / m, "db2": np.sum(dZ2, axis=1, keepdims=True) / m,
            "dW1": np.dot(dZ1, X.T) / m, "db1": np.sum(dZ1, axis=1, keepdims=True) / m,
            "dZ3": dZ3, "dZ2": dZ2, "dZ1": dZ1}


def test_gradient_check_1d_seed_000(capsys):
    difference = dlai.gradient_check(2, 4)
    assert isinstance(difference, float) and difference.report.passed
    assert pickle.loads(pickle.dumps(difference)) == difference  # stores as the plain number
    assert difference < 1e-7
    assert difference == pytest.approx(2.91933588329e-10, rel=1e-6)  # the seed's printed value
    assert capsys.readouterr().out.strip() == "The gradient is correct!"


def test_gradient_check_1d_with_a_wrong_backward(capsys):
    report = dlai.gradient_check(2, 4, backward=lambda x, theta: 2 * x, return_report=True)
    assert not report.passed
    assert report.difference == pytest.approx(1 / 3, rel=1e-6)  # |4 - 2| / (4 + 2)
    assert "The gradient is wrong!" in capsys.readouterr().out


def test_gradient_check_n_seed_000_with_the_planted_bugs(capsys):
    X, Y, parameters = testcases.gradient_check_n_test_case()
    snapshot = {k: v.copy() for k, v in parameters.items()}
    cost, cache = dlai.forward_propagation_n(X, Y, parameters)
    gradients = planted_bugs(dlai.backward_propagation_n(X, Y, cache))
    difference = dlai.gradient_check_n(parameters, gradients, X, Y)
    assert isinstance(difference, float) and difference > 2e-7
    assert set(difference.report.failed) == {"W2", "b1"}  # the diagnosis travels with the number
    assert difference == pytest.approx(0.285093156781, abs=1e-6)
    out = capsys.readouterr().out
    assert "There is a mistake in the backward propagation! difference = 0.28509315" in out
    assert "W2" in out and "b1" in out and "scaled" in out  # chainrule's diagnosis, printed beside it
    for k in parameters:
        np.testing.assert_array_equal(parameters[k], snapshot[k])

    report = dlai.gradient_check_n(parameters, gradients, X, Y, return_report=True)
    assert report.difference == difference
    assert set(report.failed) == {"W2", "b1"}
    assert report.parameters["W2"].pattern == "scaled"
    assert report.parameters["W2"].factor == pytest.approx(2, rel=0.01)
    assert report.parameters["b1"].pattern == "scaled"
    assert report.parameters["b1"].factor == pytest.approx(4, rel=0.01)
    assert all(report.parameters[k].passed for k in ("W1", "b2", "W3", "b3"))


def test_gradient_check_n_seed_000_fixed(capsys):
    X, Y, parameters = testcases.gradient_check_n_test_case()
    cost, cache = dlai.forward_propagation_n(X, Y, parameters)
    course = seed_000_gradients(X, Y, parameters)
    ours = dlai.backward_propagation_n(X, Y, cache)
    assert set(ours) == set(course) | {"dA1", "dA2"}
    for k in course:
        np.testing.assert_allclose(ours[k], course[k], rtol=1e-12, atol=1e-15)
    difference = dlai.gradient_check_n(parameters, ours, X, Y)
    assert difference < 2e-7
    # The seed prints 1.18904178766e-07: rounding noise of the cost, reproduced to ~1e-4 here.
    assert difference == pytest.approx(1.18904178766e-07, rel=1e-3)
    assert "Your backward propagation works perfectly fine! difference = 1.189" in capsys.readouterr().out


def test_gradient_check_n_takes_a_learners_forward_and_reports_missing_gradients():
    X, Y, parameters = testcases.gradient_check_n_test_case()

    def my_forward(X, Y, p):  # returns the cost only, not (cost, cache)
        return dlai.forward_propagation_n(X, Y, p)[0] * 2

    grads = dlai.backward_propagation_n(X, Y, dlai.forward_propagation_n(X, Y, parameters)[1])
    report = dlai.gradient_check_n(parameters, grads, X, Y, forward=my_forward, return_report=True)
    assert not report.passed and set(report.failed) == set(parameters)
    assert report.difference == pytest.approx(1 / 3, rel=1e-5)  # |g - 2g| / (|g| + |2g|)
    for k in ("W1", "W2"):  # enough elements to establish a constant factor
        assert report.parameters[k].pattern == "scaled"
        assert report.parameters[k].factor == pytest.approx(0.5, rel=0.01)
    del grads["db3"]
    with pytest.raises(ValueError, match="db3"):
        dlai.gradient_check_n(parameters, grads, X, Y)


def test_vector_helpers_work_for_any_number_of_layers():
    parameters = dlai.initialize_parameters_deep([3, 4, 2, 2, 1], init="he", rng=0)
    theta, keys = dlai.dictionary_to_vector(parameters)
    assert theta.shape == (12 + 4 + 8 + 2 + 4 + 2 + 2 + 1, 1)
    assert keys[:12] == ["W1"] * 12 and keys[12:16] == ["b1"] * 4 and keys[-1] == "b4"
    np.testing.assert_array_equal(theta[:12, 0], parameters["W1"].ravel())
    back = dlai.vector_to_dictionary(theta, parameters)
    assert list(back) == list(parameters)
    for k in parameters:
        np.testing.assert_array_equal(back[k], parameters[k])
    grads = {"d" + k: v + 1 for k, v in parameters.items()} | {"dA1": np.zeros((4, 5)), "dZ2": np.zeros(3)}
    np.testing.assert_array_equal(dlai.gradients_to_vector(grads), theta + 1)
    # Without shapes, vector_to_dictionary uses the course's 4-5-3-1 network, as the course's does.
    X, Y, course = testcases.gradient_check_n_test_case()
    theta, _ = dlai.dictionary_to_vector(course)
    assert theta.shape == (47, 1)
    np.testing.assert_array_equal(dlai.vector_to_dictionary(theta)["W2"], course["W2"])
    with pytest.raises(ValueError, match=r"theta must have shape \(47, 1\)"):
        dlai.vector_to_dictionary(theta[:-1])
    with pytest.raises(ValueError, match="missing"):
        dlai.gradients_to_vector({"dW1": np.zeros((1, 1))})


# Seed 001: the learner's linear_activation_backward calls the other activation's derivative.
def swapped_linear_activation_backward(dA, cache, activation):
    linear_cache, activation_cache = cache
    if activation == "relu":
        dZ = sigmoid_backward(dA, activation_cache)
        dA_prev, dW, db = linear_backward(dZ, linear_cache)
    elif activation == "sigmoid":
        dZ = relu_backward(dA, activation_cache)
        dA_prev, dW, db = linear_backward(dZ, linear_cache)
    return dA_prev, dW, db


def seed_001_L_model_backward(AL, Y, caches):
    grads = {}
    L = len(caches)
    Y = Y.reshape(AL.shape)
    grads["dA" + str(L)] = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
    grads["dA" + str(L - 1)], grads["dW" + str(L)], grads["db" + str(L)] = swapped_linear_activation_backward(
        grads["dA" + str(L)], caches[L - 1], activation="sigmoid")
    for layer in reversed(range(L - 1)):
        layer = layer + 1
        grads["dA" + str(layer - 1)], grads["dW" + str(layer)], grads["db" + str(layer)] = \
            swapped_linear_activation_backward(grads["dA" + str(layer)], caches[layer - 1], activation="relu")
    return grads


def test_seed_001_swapped_derivatives_are_named_by_layer_and_pattern(point):
    parameters, X, Y = point
    result = dlai.check_backward(parameters, X, Y, L_model_backward=seed_001_L_model_backward,
                                 linear_activation_backward=swapped_linear_activation_backward)
    assert not result.passed
    assert set(result.failed) == {"W1", "b1", "W2", "b2", "W3", "b3"}
    by_step = {(s.layer, s.step): s for s in result.steps}
    assert all(by_step[(layer, "linear")].passed for layer in (1, 2, 3))
    for layer, step, used in ((1, "relu", "sigmoid"), (2, "relu", "sigmoid"), (3, "sigmoid", "relu")):
        verdict = by_step[(layer, step)]
        assert not verdict.passed
        assert verdict.pattern == "activation"
        assert verdict.derivative == used
        assert verdict.function == "linear_activation_backward"
    assert result.wrong_layers == [1, 2, 3]
    assert (result.blame.layer, result.blame.step) == (1, "relu")
    text = str(result)
    assert "layer 3 sigmoid" in text and "derivative of relu" in text and "derivative of sigmoid" in text
    assert result.to_dict()["blame"]["layer"] == 1


def test_check_backward_passes_correct_functions_and_blames_only_the_broken_step(point):
    parameters, X, Y = point
    result = dlai.check_backward(parameters, X, Y, linear_activation_backward=dlai.linear_activation_backward,
                                 linear_backward=dlai.linear_backward)
    assert result.passed and result.blame is None and result.difference < 1e-6

    def linear_backward_without_mean(dZ, cache):  # forgets the 1/m in dW
        dA_prev, dW, db = dlai.linear_backward(dZ, cache)
        return dA_prev, dW * cache[0].shape[1], db

    result = dlai.check_backward(parameters, X, Y, linear_backward=linear_backward_without_mean)
    verdicts = [s for s in result.steps if not s.passed]
    assert [(s.layer, s.step) for s in verdicts] == [(1, "linear"), (2, "linear"), (3, "linear")]
    assert all(s.pattern == "scaled" for s in verdicts)
    assert "8" in verdicts[0].hint  # the factor is the batch size m = 8


# Learners' typical linear_backward mistakes, each checked on its own (the rest is chainrule's).
def linear_backward_elementwise(dZ, cache):  # seed 004's warning: W.T * dZ is wrong
    A_prev, W, b = cache
    m = A_prev.shape[1]
    return W.T * dZ, 1 / m * np.dot(dZ, A_prev.T), 1 / m * np.sum(dZ, axis=1, keepdims=True)


def linear_backward_without_keepdims(dZ, cache):
    A_prev, W, b = cache
    m = A_prev.shape[1]
    return np.dot(W.T, dZ), 1 / m * np.dot(dZ, A_prev.T), 1 / m * np.sum(dZ, axis=1)


def linear_backward_without_mean(dZ, cache):
    A_prev, W, b = cache
    return np.dot(W.T, dZ), np.dot(dZ, A_prev.T), np.sum(dZ, axis=1, keepdims=True)


def test_a_learners_linear_backward_is_used_by_the_whole_network_check_too(point):
    parameters, X, Y = point
    result = dlai.check_backward(parameters, X, Y, linear_backward=linear_backward_without_mean)
    assert not result.passed and set(result.failed) == {"W1", "b1", "W2", "b2", "W3", "b3"}
    w1 = result.parameters.parameters["W1"]
    assert w1.pattern == "scaled" and w1.factor == pytest.approx(8, rel=1e-6) and "m = 8" in w1.hint
    assert result.difference == pytest.approx(7 / 9, rel=1e-6)  # |8g - g| / (|8g| + |g|)
    assert "W1: scaled" in str(result)


def test_a_dropped_keepdims_is_a_failure_not_silently_reshaped(point):
    parameters, X, Y = point
    result = dlai.check_backward(parameters, X, Y, linear_backward=linear_backward_without_keepdims)
    assert not result.passed and set(result.failed) == {"b1", "b2", "b3"}
    assert result.parameters.parameters["b1"].pattern == "shape"
    assert "keepdims" in result.parameters.parameters["b1"].hint
    linear_steps = [s for s in result.steps if s.step == "linear"]
    assert all(not s.passed and "db of shape (" in s.hint and "keepdims" in s.hint for s in linear_steps)
    assert [s.passed for s in result.steps if s.step != "linear"] == [True, True, True]


def test_an_elementwise_product_for_a_matrix_product_is_pointed_out(point):
    parameters, X, Y = point
    result = dlai.check_backward(parameters, X, Y, linear_backward=linear_backward_elementwise)
    assert not result.passed and "broadcast" in result.error and result.parameters is None
    by_step = {(s.layer, s.step): s for s in result.steps}
    assert not by_step[(1, "linear")].passed and "np.dot(W.T, dZ)" in by_step[(1, "linear")].hint
    # with one output unit, W.T * dZ is the outer product W.T dZ: right, and not blamed
    assert by_step[(3, "linear")].passed
    assert (result.blame.layer, result.blame.step) == (1, "linear")
    d = result.to_dict()
    assert d["difference"] is None and json.loads(json.dumps(d, allow_nan=False)) == d


def test_gradient_check_n_computes_the_course_number_and_still_catches_what_it_hides(capsys):
    X, Y, parameters = testcases.gradient_check_n_test_case()
    gradients = dlai.backward_propagation_n(X, Y, dlai.forward_propagation_n(X, Y, parameters)[1])
    reordered = {k: parameters[k] for k in ("W3", "b1", "W1", "b3", "W2", "b2")}
    assert dlai.gradient_check_n(reordered, gradients, X, Y) == pytest.approx(1.18904178766e-07, rel=1e-3)
    capsys.readouterr()
    # keepdims dropped: the course flattens every gradient, so its number cannot see it; chainrule can
    flat_db1 = dict(gradients, db1=gradients["db1"].ravel())
    difference = dlai.gradient_check_n(parameters, flat_db1, X, Y)
    out = capsys.readouterr().out
    assert difference < 2e-7 and "works perfectly fine" in out
    assert difference.report.failed == ["b1"] and "finds what the single number hides" in out
    # a gradient with the wrong number of elements has no course number at all: a mistake, not "fine"
    short = dlai.gradient_check_n(parameters, dict(gradients, db1=gradients["db1"][:3]), X, Y)
    assert np.isnan(short) and "There is a mistake" in capsys.readouterr().out
    # the 1-D check: a tuple around the derivative is named, and the verdict is not "correct"
    one = dlai.gradient_check(2, 4, backward=lambda x, theta: (x,))
    out = capsys.readouterr().out
    theta = one.report.parameters["theta"]
    assert theta.pattern == "shape" and "tuple" in theta.hint
    assert "The gradient is correct!" in out  # the course's number, x vs x, is right ...
    assert "finds what the single number hides" in out  # ... and the shape is flagged beside it
    with pytest.raises(TypeError, match="grads must be a real numeric array"):
        dlai.gradient_check(2, 4, backward=lambda x, theta: (x, None))  # seed 002's tuple: refused


def test_a_bug_between_the_steps_is_not_pinned_on_a_step(point):
    parameters, X, Y = point

    def L_model_backward_doubling_dW1(AL, Y, caches):  # every step right, the assembled dict wrong
        grads = dlai.L_model_backward(AL, Y, caches)
        return dict(grads, dW1=2 * grads["dW1"])

    result = dlai.check_backward(parameters, X, Y, L_model_backward=L_model_backward_doubling_dW1)
    assert not result.passed and result.failed == ["W1"] and result.blame is None
    assert result.parameters.parameters["W1"].factor == pytest.approx(2, rel=1e-6)
    assert "every step passes on its own" in str(result)
