"""Autodiff never differentiates at values changed in place after the forward pass: either the
gradient is still right (the value was not needed, or was copied) or backward() raises a clear
RuntimeError naming the tensor. Cross-checked against PyTorch, which raises in the same cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from chainrule import autodiff as ad


def test_the_issue_example_raises_naming_the_tensor():
    a = np.array([1.0, 2, 3])
    x = ad.Tensor(a, requires_grad=True, name="x")
    L = ad.sum(x * x)
    a[...] = 10
    with pytest.raises(RuntimeError, match=r"the array of tensor 'x', an operand of '\*', was modified in "
                                           r"place after the forward pass recorded it"):
        L.backward()
    assert x.grad is None  # nothing half-accumulated


def test_unchanged_arrays_give_the_right_gradient():
    a = np.array([1.0, 2, 3])
    x = ad.Tensor(a, requires_grad=True)
    ad.sum(x * x).backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0, 6.0])


CASES = {
    # name: (build(x, w) -> scalar Tensor, which array to change)
    "x * x": (lambda x, w: ad.sum(x * x), "x"),
    "x @ w, change w": (lambda x, w: ad.sum(x @ w), "w"),
    "x @ w, change x": (lambda x, w: ad.sum(x @ w), "x"),
    "exp(x)": (lambda x, w: ad.sum(ad.exp(x)), "x"),
    "tanh(x) * w": (lambda x, w: ad.sum(ad.tanh(x) * w), "w"),
    "x ** 3": (lambda x, w: ad.sum(x ** 3), "x"),
    "log(x)": (lambda x, w: ad.sum(ad.log(x)), "x"),
    "maximum(x, w)": (lambda x, w: ad.sum(ad.maximum(x, w)), "x"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_changed_operands_raise(name):
    build, which = CASES[name]
    arrays = {"x": np.array([[1.0, 2], [3, 4]]), "w": np.array([[0.5, -1], [2, 1]])}
    x = ad.Tensor(arrays["x"], requires_grad=True, name="x")
    w = ad.Tensor(arrays["w"], requires_grad=True, name="w")
    L = build(x, w)
    arrays[which][0, 0] += 1.0  # a single element is enough
    with pytest.raises(RuntimeError, match=f"tensor '{which}'.*modified in place"):
        L.backward()


@pytest.mark.parametrize("change", ["x", "w"])
def test_pytorch_raises_in_the_same_cases(change):
    x = torch.tensor([[1.0, 2], [3, 4]], dtype=torch.float64, requires_grad=True)
    w = torch.tensor([[0.5, -1], [2, 1]], dtype=torch.float64, requires_grad=True)
    xs, ws = x * 1, w * 1  # non-leaf copies, which torch lets us modify in place
    L = (xs @ ws).sum()
    with torch.no_grad():
        (xs if change == "x" else ws)[0, 0] += 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        L.backward()


def test_changing_a_constant_input_that_a_gradient_needs_raises():
    X = np.ones((3, 2))
    W = ad.Tensor(np.array([[1.0], [2.0]]), requires_grad=True, name="W")
    L = ad.sum(ad.Tensor(X) @ W)  # dW = X^T g needs X
    X[1, 1] = 5
    with pytest.raises(RuntimeError, match=r"a constant tensor of shape \(3, 2\).*operand of '@'"):
        L.backward()


def test_a_value_no_gradient_needs_may_change():
    """First layer: dW = X^T g never reads W, so an optimizer-style update of W after forward
    leaves the gradient exact (as it would be in PyTorch, where the step comes after backward)."""
    X = np.arange(6.0).reshape(3, 2)
    w_arr = np.array([[1.0], [2.0]])
    W = ad.Tensor(w_arr, requires_grad=True)
    b = ad.Tensor(np.zeros(1), requires_grad=True)
    L = ad.sum(ad.Tensor(X) @ W + b)
    w_arr -= 100.0
    L.backward()
    np.testing.assert_array_equal(W.grad, X.T @ np.ones((3, 1)))
    np.testing.assert_array_equal(b.grad, [3.0])


def test_labels_and_indices_are_copied_when_recorded():
    z = ad.Tensor(np.array([[1.0, 2, 3], [0.5, 0, -1]]), requires_grad=True)
    labels = np.array([2, 0])
    L = ad.cross_entropy(z, labels)
    labels[...] = 1
    L.backward()
    p = np.exp(z.data) / np.exp(z.data).sum(axis=1, keepdims=True)
    expected = p.copy()
    expected[[0, 1], [2, 0]] -= 1
    np.testing.assert_allclose(z.grad, expected / 2)

    a = ad.Tensor(np.arange(4.0), requires_grad=True)
    index = np.array([0, 0, 3])
    out = ad.sum(a[index])
    index[...] = 1
    out.backward()
    np.testing.assert_array_equal(a.grad, [2.0, 0, 0, 1])


def test_training_loop_sharing_parameter_arrays_still_works():
    """Leaves wrap the parameter arrays (no copy), and the optimizer updates them between steps."""
    rng = np.random.default_rng(0)
    params = {"W": rng.standard_normal((3, 2)), "b": np.zeros(2)}
    leaves = {k: ad.Tensor(v, requires_grad=True, name=k) for k, v in params.items()}
    X, y = rng.standard_normal((8, 3)), rng.integers(0, 2, 8)
    losses = []
    for _ in range(5):
        for t in leaves.values():
            t.zero_grad()
        L = ad.cross_entropy(ad.Tensor(X) @ leaves["W"] + leaves["b"], y)
        L.backward()
        losses.append(float(L.data))
        for k in params:
            params[k] -= 0.5 * leaves[k].grad
    assert losses[-1] < losses[0]


def test_autodiff_module_names_its_input():
    model = ad.MLP([3, 4, 2], "tanh", rng=0)
    x = np.random.default_rng(1).standard_normal((5, 3))
    model.forward(x)
    x[...] = 0
    with pytest.raises(RuntimeError, match=r"tensor 'MLP.forward: x'.*modified in place"):
        model.backward(np.ones((5, 2)))


def test_autodiff_module_output_is_not_the_graph_array():
    model = ad.MLP([3, 4, 2], "tanh", output="tanh", rng=0)
    ref = ad.MLP([3, 4, 2], "tanh", output="tanh", rng=0)
    x = np.random.default_rng(1).standard_normal((5, 3))
    out = model.forward(x)
    ref.forward(x)
    out *= 3
    dout = np.ones((5, 2))
    np.testing.assert_array_equal(model.backward(dout), ref.backward(dout))
