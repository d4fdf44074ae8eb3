"""The course's L2 regularization functions: its published cost, and gradients against PyTorch."""

import numpy as np
import pytest
import torch

from chainrule import dlai


def test_compute_cost_with_regularization_matches_the_course():
    # compute_cost_with_regularization_test_case() of the course's testCases.py, drawn from seed 1
    r = np.random.RandomState(1)
    Y = np.array([[1, 1, 0, 1, 0]])
    parameters = {name: r.randn(*shape) for name, shape in (("W1", (2, 3)), ("b1", (2, 1)), ("W2", (3, 2)),
                                                          ("b2", (3, 1)), ("W3", (1, 3)), ("b3", (1, 1)))}
    A3 = np.array([[0.40682402, 0.01629284, 0.16722898, 0.10118111, 0.40682402]])
    cost = dlai.compute_cost_with_regularization(A3, Y, parameters, lambd=0.1)
    assert cost == pytest.approx(1.78648594516, abs=1e-10)  # the notebook's expected output


def test_backward_with_regularization_matches_torch():
    r = np.random.RandomState(3)
    X, Y = r.randn(4, 6), (r.rand(1, 6) > 0.5).astype(float)
    params = {"W1": r.randn(5, 4), "b1": r.randn(5, 1), "W2": r.randn(3, 5), "b2": r.randn(3, 1),
              "W3": r.randn(1, 3), "b3": r.randn(1, 1)}
    _, cache = dlai.forward_propagation_n(X, Y, params)
    ours = dlai.backward_propagation_with_regularization(X, Y, cache, lambd=0.7)
    t = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    a = torch.from_numpy(X)
    for i in (1, 2):
        a = torch.relu(t[f"W{i}"] @ a + t[f"b{i}"])
    a3 = torch.sigmoid(t["W3"] @ a + t["b3"])
    y = torch.from_numpy(Y)
    cost = -(y * torch.log(a3) + (1 - y) * torch.log(1 - a3)).mean() + 0.7 / (2 * 6) * sum(
        (t[f"W{i}"] ** 2).sum() for i in (1, 2, 3))
    cost.backward()
    for k, v in t.items():
        np.testing.assert_allclose(ours[f"d{k}"], v.grad.numpy(), rtol=0, atol=1e-12)
    A3 = cache[-3]
    assert dlai.compute_cost_with_regularization(A3, Y, params, 0.7) == pytest.approx(cost.item(), abs=1e-12)
