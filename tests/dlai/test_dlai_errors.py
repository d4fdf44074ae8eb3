"""Bad input to the course API gets an error naming the argument, the expected and the actual value."""

import numpy as np
import pytest

from chainrule import dlai
from chainrule.dlai import testcases


def test_shape_mismatches_name_the_argument_and_both_shapes():
    A, W, b = testcases.linear_forward_test_case()
    msg = r"linear_forward: A must have shape \(3, m\) to match W \(1, 3\), got \(2, 3\)"
    with pytest.raises(ValueError, match=msg):
        dlai.linear_forward(A.T, W, b)
    with pytest.raises(ValueError, match=r"b must have shape \(1, 1\) to match W \(1, 3\), got \(1,\)"):
        dlai.linear_forward(A, W, b.reshape(1))
    dZ, cache = testcases.linear_backward_test_case()
    with pytest.raises(ValueError, match=r"linear_backward: dZ must have shape \(1, 2\)"):
        dlai.linear_backward(dZ.T, cache)
    with pytest.raises(TypeError, match=r"cache must be the \(A_prev, W, b\) tuple"):
        dlai.linear_backward(dZ, cache[:2])
    dA, cache = testcases.linear_activation_backward_test_case()
    msg = r"sigmoid_backward: dA must have the shape of Z \(the activation cache\) \(1, 2\), got \(2, 1\)"
    with pytest.raises(ValueError, match=msg):
        dlai.linear_activation_backward(dA.T, cache, "sigmoid")


def test_unknown_activation_and_bad_parameter_dicts():
    A, W, b = testcases.linear_forward_test_case()
    msg = r"activation must be one of 'sigmoid', 'relu', 'tanh', got 'softmax'"
    with pytest.raises(ValueError, match=msg):
        dlai.linear_activation_forward(A, W, b, "softmax")
    X, parameters = testcases.L_model_forward_test_case()
    broken = dict(parameters)
    del broken["b2"]
    with pytest.raises(ValueError, match=r"missing \['b2'\]"):
        dlai.L_model_forward(X, broken)
    with pytest.raises(ValueError, match=r"only hold 'W<l>' and 'b<l>' entries .* got \['gamma'\]"):
        dlai.L_model_forward(X, {**parameters, "gamma": np.ones(1)})
    with pytest.raises(ValueError, match=r"W2 must have 3 columns \(the rows of W1\), got shape \(1, 4\)"):
        dlai.L_model_forward(X, {**parameters, "W2": np.ones((1, 4))})
    with pytest.raises(ValueError, match="non-finite"):
        dlai.L_model_forward(X, {**parameters, "W1": np.full((3, 4), np.nan)})
    with pytest.raises(TypeError, match="real numeric array"):
        dlai.linear_forward(A.astype(str), W, b)


def test_cost_and_labels():
    with pytest.raises(ValueError, match=r"AL must hold probabilities in \[0, 1\]"):
        dlai.compute_cost(np.array([[0.5, 1.5]]), np.array([[1, 0]]))
    with pytest.raises(ValueError, match=r"compute_cost: Y must have shape \(1, 2\)"):
        dlai.compute_cost(np.array([[0.5, 0.5]]), np.array([[1, 0, 1]]))
    with pytest.raises(ValueError, match="0/1 labels"):
        dlai.compute_cost(np.array([[0.5, 0.5]]), np.array([[1, 2]]))
    # A confident correct prediction costs 0, not NaN (0 * log 0 is taken as 0).
    assert dlai.compute_cost(np.array([[1.0, 0.0]]), np.array([[1, 0]])) == 0.0
    assert dlai.compute_cost(np.array([[0.0, 0.5]]), np.array([[1, 0]])) == np.inf
    AL, Y, caches = testcases.L_model_backward_test_case()
    with pytest.raises(ValueError, match=r"L_model_backward: Y must have the shape of AL \(1, 2\)"):
        dlai.L_model_backward(AL, np.array([[1, 0, 1]]), caches)
    with pytest.raises(ValueError, match="sigmoid saturated"):
        dlai.L_model_backward(np.array([[1.0, 0.3]]), np.array([[0, 1]]), caches)


def test_update_parameters_names_missing_or_misshapen_gradients():
    parameters, grads = testcases.update_parameters_test_case()
    with pytest.raises(ValueError, match=r"grads has no 'db2'"):
        dlai.update_parameters(parameters, {k: v for k, v in grads.items() if k != "db2"}, 0.1)
    with pytest.raises(ValueError, match=r"grads\['dW1'\] must have the shape of W1 \(3, 4\), got \(4, 3\)"):
        dlai.update_parameters(parameters, {**grads, "dW1": grads["dW1"].T}, 0.1)
    with pytest.raises(ValueError, match="learning_rate must be a positive number, got -0.1"):
        dlai.update_parameters(parameters, grads, -0.1)


def test_initializers_and_models_reject_bad_arguments():
    with pytest.raises(ValueError, match=r"layer_dims\[1\] must be a positive integer, got 0"):
        dlai.initialize_parameters_deep([3, 0, 1])
    with pytest.raises(ValueError, match=r"unknown init 'xavier'"):
        dlai.initialize_parameters_deep([3, 1], init="xavier")
    with pytest.raises(TypeError, match="rng must be"):
        dlai.initialize_parameters(2, 2, 1, rng="seed")
    X, Y = np.zeros((3, 4)), np.array([[0, 1, 0, 1]])
    with pytest.raises(ValueError, match=r"layers_dims must start with n_x = 3 .* got \[4, 2, 1\]"):
        dlai.L_layer_model(X, Y, [4, 2, 1])
    with pytest.raises(ValueError, match=r"two_layer_model: layers_dims must be \(n_x, n_h, n_y\)"):
        dlai.two_layer_model(X, Y, [3, 2, 2, 1])
    with pytest.raises(ValueError, match=r"L_layer_model: Y must have shape \(1, 4\)"):
        dlai.L_layer_model(X, Y[:, :3], [3, 1])
    with pytest.raises(ValueError, match="num_iterations must be a positive integer"):
        dlai.L_layer_model(X, Y, [3, 1], num_iterations=0)
