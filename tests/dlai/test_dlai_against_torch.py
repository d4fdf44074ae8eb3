"""The course functions against PyTorch autograd (float64) on random networks, and the conversion
between the course's dict and a chainrule Sequential."""

import numpy as np
import pytest
import torch

from chainrule import BCEWithLogitsLoss, Sequential, dlai
from chainrule.nn import Linear, ReLU, Sigmoid


def random_net(dims, m, seed):
    rng = np.random.default_rng(seed)
    params = {}
    for layer in range(1, len(dims)):
        params[f"W{layer}"] = rng.standard_normal((dims[layer], dims[layer - 1])) * 0.7
        params[f"b{layer}"] = rng.standard_normal((dims[layer], 1)) * 0.3
    X = rng.standard_normal((dims[0], m))
    Y = (rng.random((1, m)) < 0.5).astype(np.int64)
    return params, X, Y


def torch_cost_and_grads(params, X, Y):
    """The course's network and cost written directly in torch; returns cost, dW/db and dA/dX grads."""
    L = len(params) // 2
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    A = torch.tensor(X, requires_grad=True)
    activations = [A]
    for layer in range(1, L + 1):
        Z = tp[f"W{layer}"] @ activations[-1] + tp[f"b{layer}"]
        A = torch.sigmoid(Z) if layer == L else torch.relu(Z)
        A.retain_grad()
        activations.append(A)
    y = torch.tensor(Y, dtype=torch.float64)
    cost = torch.nn.functional.binary_cross_entropy(A, y)
    cost.backward()
    grads = {f"d{k}": v.grad.numpy() for k, v in tp.items()}
    for layer in range(L):
        grads[f"dA{layer}"] = activations[layer].grad.numpy()
    return cost.item(), grads


@pytest.mark.parametrize("dims,m,seed", [([4, 3, 1], 5, 0), ([6, 5, 4, 3, 1], 7, 1), ([3, 1], 4, 2),
                                         ([10, 8, 8, 8, 8, 1], 16, 3)])
def test_forward_cost_and_backward_match_torch(dims, m, seed):
    params, X, Y = random_net(dims, m, seed)
    AL, caches = dlai.L_model_forward(X, params)
    cost = dlai.compute_cost(AL, Y)
    grads = dlai.L_model_backward(AL, Y, caches)
    t_cost, t_grads = torch_cost_and_grads(params, X, Y)
    assert cost == pytest.approx(t_cost, rel=1e-12)
    for layer in range(1, len(dims)):
        np.testing.assert_allclose(grads[f"dW{layer}"], t_grads[f"dW{layer}"], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(grads[f"db{layer}"], t_grads[f"db{layer}"], rtol=1e-10, atol=1e-12)
        # The course's dA carries no 1/m (it is put into dW and db instead): dA = m * dcost/dA.
        key = f"dA{layer - 1}"
        np.testing.assert_allclose(grads[key], m * t_grads[key], rtol=1e-10, atol=1e-12)


def test_forward_propagation_n_and_backward_propagation_n_match_torch():
    params, X, Y = random_net([5, 4, 3, 2, 1], 6, 4)
    cost, cache = dlai.forward_propagation_n(X, Y, params)
    grads = dlai.backward_propagation_n(X, Y, cache)
    t_cost, t_grads = torch_cost_and_grads(params, X, Y)
    assert cost == pytest.approx(t_cost, rel=1e-12)
    assert len(cache) == 16
    for k in ("dW1", "db1", "dW2", "db2", "dW3", "db3", "dW4", "db4"):
        np.testing.assert_allclose(grads[k], t_grads[k], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads["dA2"], 6 * t_grads["dA2"], rtol=1e-10, atol=1e-12)


def test_activation_helpers_match_torch():
    Z = np.random.default_rng(5).standard_normal((3, 4)) * 3
    dA = np.random.default_rng(6).standard_normal((3, 4))
    for fwd, bwd, tf in ((dlai.sigmoid, dlai.sigmoid_backward, torch.sigmoid),
                         (dlai.relu, dlai.relu_backward, torch.relu),
                         (dlai.tanh, dlai.tanh_backward, torch.tanh)):
        A, cache = fwd(Z)
        assert cache is Z
        z = torch.tensor(Z, requires_grad=True)
        out = tf(z)
        out.backward(torch.tensor(dA))
        np.testing.assert_allclose(A, out.detach().numpy(), rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(bwd(dA, cache), z.grad.numpy(), rtol=1e-14, atol=1e-15)


def test_round_trip_is_exact_and_both_faces_compute_the_same_cost():
    params, X, Y = random_net([7, 5, 3, 1], 9, 7)
    model = dlai.to_sequential(params)
    assert [type(layer) for layer in model] == [Linear, ReLU, Linear, ReLU, Linear, Sigmoid]
    back = dlai.from_sequential(model)
    assert list(back) == list(params)
    for k in params:
        np.testing.assert_array_equal(back[k], params[k])
        assert back[k].shape == params[k].shape
    AL, _ = dlai.L_model_forward(X, params)
    np.testing.assert_allclose(model.forward(X.T), AL.T, rtol=1e-14, atol=0)
    # The course's cost on probabilities equals BCEWithLogitsLoss on the logits of the same network.
    logits = dlai.to_sequential(params, output=None).forward(X.T)
    loss = BCEWithLogitsLoss().forward(logits, Y.T.astype(np.float64))
    assert dlai.compute_cost(AL, Y) == pytest.approx(loss, rel=1e-12)


def test_conversion_copies_so_training_one_face_leaves_the_other_alone():
    params, X, Y = random_net([3, 2, 1], 4, 8)
    original = params["W1"].copy()
    model = dlai.to_sequential(params)
    model.layers[0].params["W"] += 1.0
    np.testing.assert_array_equal(params["W1"], original)
    trained = model.layers[0].params["W"].copy()
    back = dlai.from_sequential(model)
    back["W1"] += 1.0
    np.testing.assert_array_equal(model.layers[0].params["W"], trained)


def test_from_sequential_refuses_what_the_course_dict_cannot_hold():
    with pytest.raises(TypeError, match="Sequential"):
        dlai.from_sequential({"W1": np.zeros((1, 1))})
    with pytest.raises(ValueError, match="no Linear layer"):
        dlai.from_sequential(Sequential(ReLU()))
    params = dlai.from_sequential(Sequential(Linear(3, 2, rng=0), ReLU(), Linear(2, 1, rng=1)))
    assert params["W1"].shape == (2, 3) and params["b2"].shape == (1, 1)


def test_float32_parameters_stay_float32():
    params, X, Y = random_net([4, 3, 1], 5, 9)
    p32 = {k: v.astype(np.float32) for k, v in params.items()}
    AL, caches = dlai.L_model_forward(X.astype(np.float32), p32)
    assert AL.dtype == np.float32
    grads = dlai.L_model_backward(AL, Y, caches)
    assert grads["dW1"].dtype == np.float32
    assert dlai.update_parameters(p32, grads, 0.1)["W1"].dtype == np.float32
    assert dlai.to_sequential(p32).layers[0].params["W"].dtype == np.float32
