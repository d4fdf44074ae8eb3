"""chainrule.dlai reproduces the outputs printed in the course (seed 004 and the assignment notebooks).

Every expected array below is copied from the course's "Expected Output" tables, not computed by us.
"""

import numpy as np
import pytest

from chainrule import dlai
from chainrule.dlai import testcases

TOL = 1e-8


def close(actual, expected):
    np.testing.assert_allclose(actual, np.array(expected), rtol=0, atol=TOL)


def test_linear_backward_prints_the_course_numbers():
    dZ, linear_cache = testcases.linear_backward_test_case()
    dA_prev, dW, db = dlai.linear_backward(dZ, linear_cache)
    close(dA_prev, [[0.51822968, -0.19517421], [-0.40506361, 0.15255393], [2.37496825, -0.89445391]])
    close(dW, [[-0.10076895, 1.40685096, 1.64992505]])
    close(db, [[0.50629448]])


def test_linear_activation_backward_sigmoid_and_relu():
    dAL, cache = testcases.linear_activation_backward_test_case()
    dA_prev, dW, db = dlai.linear_activation_backward(dAL, cache, activation="sigmoid")
    close(dA_prev, [[0.11017994, 0.01105339], [0.09466817, 0.00949723], [-0.05743092, -0.00576154]])
    close(dW, [[0.10266786, 0.09778551, -0.01968084]])
    close(db, [[-0.05729622]])
    dA_prev, dW, db = dlai.linear_activation_backward(dAL, cache, activation="relu")
    close(dA_prev, [[0.44090989, 0.0], [0.37883606, 0.0], [-0.2298228, 0.0]])
    close(dW, [[0.44513824, 0.37371418, -0.10478989]])
    close(db, [[-0.20837892]])


def test_L_model_backward(capsys):
    AL, Y, caches = testcases.L_model_backward_test_case()
    grads = dlai.L_model_backward(AL, Y, caches)
    close(grads["dW1"], [[0.41010002, 0.07807203, 0.13798444, 0.10502167], [0, 0, 0, 0],
                         [0.05283652, 0.01005865, 0.01777766, 0.0135308]])
    close(grads["db1"], [[-0.22007063], [0], [-0.02835349]])
    close(grads["dA1"], [[0.12913162, -0.44014127], [-0.14175655, 0.48317296], [0.01663708, -0.05670698]])
    assert set(grads) == {"dA0", "dA1", "dW1", "db1", "dW2", "db2"}
    testcases.print_grads(grads)
    out = capsys.readouterr().out
    assert "dW1 = [[0.41010002 0.07807203 0.13798444 0.10502167]" in out
    assert "dA1 = [[ 0.12913162 -0.44014127]" in out


def test_L_model_backward_accepts_the_course_tuple_of_caches():
    AL, Y, caches = testcases.L_model_backward_test_case()
    grads = dlai.L_model_backward(AL, Y, tuple(caches))
    close(grads["db1"], [[-0.22007063], [0], [-0.02835349]])


def test_update_parameters_and_does_not_modify_its_input():
    parameters, grads = testcases.update_parameters_test_case()
    before = {k: v.copy() for k, v in parameters.items()}
    new = dlai.update_parameters(parameters, grads, 0.1)
    close(new["W1"], [[-0.59562069, -0.09991781, -2.14584584, 1.82662008],
                      [-1.76569676, -0.80627147, 0.51115557, -1.18258802],
                      [-1.0535704, -0.86128581, 0.68284052, 2.20374577]])
    close(new["b1"], [[-0.04659241], [-1.28888275], [0.53405496]])
    close(new["W2"], [[-0.55569196, 0.0354055, 1.32964895]])
    close(new["b2"], [[-0.84610769]])
    assert new is not parameters
    for k in parameters:
        np.testing.assert_array_equal(parameters[k], before[k])
        assert new[k] is not parameters[k]


def test_forward_outputs_and_cost():
    A, W, b = testcases.linear_forward_test_case()
    Z, cache = dlai.linear_forward(A, W, b)
    close(Z, [[3.26295337, -1.23429987]])
    assert cache[0] is A and cache[1] is W and cache[2] is b

    A_prev, W, b = testcases.linear_activation_forward_test_case()
    A, ((Ac, Wc, bc), Zc) = dlai.linear_activation_forward(A_prev, W, b, activation="sigmoid")
    close(A, [[0.96890023, 0.11013289]])
    np.testing.assert_array_equal(Zc, W @ A_prev + b)
    A, _ = dlai.linear_activation_forward(A_prev, W, b, activation="relu")
    close(A, [[3.43896131, 0.0]])

    X, parameters = testcases.L_model_forward_test_case()
    AL, caches = dlai.L_model_forward(X, parameters)
    close(AL, [[0.17007265, 0.2524272]])
    assert isinstance(caches, list) and len(caches) == 2

    X, parameters = testcases.L_model_forward_test_case_2hidden()
    AL, caches = dlai.L_model_forward(X, parameters)
    close(AL, [[0.03921668, 0.70498921, 0.19734387, 0.04728177]])
    assert len(caches) == 3

    Y, AL = testcases.compute_cost_test_case()
    assert dlai.compute_cost(AL, Y) == pytest.approx(0.41493159961539694, rel=0, abs=1e-15)


def test_initializers_reproduce_the_course_draws_without_touching_the_global_rng():
    # The global RNG is used here only to prove that initialization leaves it alone.
    np.random.seed(123)  # noqa: NPY002
    state = np.random.get_state()[1].copy()  # noqa: NPY002
    p = dlai.initialize_parameters(3, 2, 1)
    close(p["W1"], [[0.01624345, -0.00611756, -0.00528172], [-0.01072969, 0.00865408, -0.02301539]])
    close(p["W2"], [[0.01744812, -0.00761207]])
    np.testing.assert_array_equal(p["b1"], np.zeros((2, 1)))
    np.testing.assert_array_equal(p["b2"], np.zeros((1, 1)))
    p = dlai.initialize_parameters_deep([5, 4, 3])
    close(p["W1"], [[0.01788628, 0.0043651, 0.00096497, -0.01863493, -0.00277388],
                    [-0.00354759, -0.00082741, -0.00627001, -0.00043818, -0.00477218],
                    [-0.01313865, 0.00884622, 0.00881318, 0.01709573, 0.00050034],
                    [-0.00404677, -0.0054536, -0.01546477, 0.00982367, -0.01101068]])
    close(p["W2"], [[-0.01185047, -0.0020565, 0.01486148, 0.00236716],
                    [-0.01023785, -0.00712993, 0.00625245, -0.00160513],
                    [-0.00768836, -0.00230031, 0.00745056, 0.01976111]])
    assert p["b2"].shape == (3, 1) and not p["b2"].any()
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # noqa: NPY002


def test_initializer_variants_match_the_course_expressions_bit_for_bit():
    dims = [6, 4, 1]
    lecun = dlai.initialize_parameters_deep(dims, init="lecun", rng=1)
    he = dlai.initialize_parameters_deep(dims, init="he", rng=3)
    r1, r3 = np.random.RandomState(1), np.random.RandomState(3)
    for layer in (1, 2):
        # dnn_app_utils: randn(n_l, n_prev) / sqrt(n_prev); initialization assignment: * sqrt(2 / n_prev)
        n, n_prev = dims[layer], dims[layer - 1]
        np.testing.assert_array_equal(lecun[f"W{layer}"], r1.randn(n, n_prev) / np.sqrt(n_prev))
        np.testing.assert_array_equal(he[f"W{layer}"], r3.randn(n, n_prev) * np.sqrt(2.0 / n_prev))
    gen = dlai.initialize_parameters_deep(dims, rng=np.random.default_rng(0))
    assert gen["W1"].shape == (4, 6)
    assert dlai.initialize_parameters_deep(dims, dtype=np.float32)["W1"].dtype == np.float32
