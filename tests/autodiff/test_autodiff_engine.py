"""The reverse-mode engine: accumulation, graph depth, mixing with NumPy, modes and bad input."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from chainrule import autodiff as ad


def test_a_value_used_many_times_accumulates_its_gradient():
    x = ad.Tensor(np.array(3.0), requires_grad=True)
    y = x * x + x * 4 + x  # dy/dx = 2x + 5
    y.backward()
    assert x.grad == pytest.approx(11.0, abs=0)


def test_gradients_accumulate_across_backward_calls_until_zero_grad():
    w = ad.Tensor(np.array([1.0, -2.0]), requires_grad=True)
    (w * w).sum().backward()
    (w * w).sum().backward()
    np.testing.assert_array_equal(w.grad, [4.0, -8.0])
    w.zero_grad()
    assert w.grad is None


def test_leaf_gradients_are_private_writable_arrays():
    # d(a + b)/da and d(a + b)/db are the same upstream array inside the engine.
    a = ad.Tensor(np.zeros(3), requires_grad=True)
    b = ad.Tensor(np.zeros(3), requires_grad=True)
    (a + b).sum().backward()
    a.grad += 1
    np.testing.assert_array_equal(b.grad, np.ones(3))
    np.testing.assert_array_equal(a.grad, 2 * np.ones(3))
    c = ad.Tensor(np.ones((2, 3)), requires_grad=True)
    c.reshape(6).sum().backward()
    assert c.grad.flags.writeable and c.grad.base is None


def test_a_chain_of_20000_operations_backpropagates_without_recursion():
    x = ad.Tensor(np.array(0.5), requires_grad=True)
    y = x
    for _ in range(10_000):
        y = ad.tanh(y) + 0.001
    assert sys.getrecursionlimit() < 20_000
    y.backward()
    # The same chain in PyTorch, as the reference.
    tx = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    ty = tx
    for _ in range(10_000):
        ty = torch.tanh(ty) + 0.001
    ty.backward()
    assert x.grad == pytest.approx(tx.grad.item(), rel=1e-10)
    assert ad.to_dot(y).count("->") > 20_000


def test_numpy_arrays_and_numbers_work_on_either_side():
    X = np.arange(6.0).reshape(2, 3)
    W = ad.Tensor(np.ones((3, 2)), requires_grad=True)
    y = np.array([1.0, 2.0])
    for out in (X @ W, 2 * W, y - W.sum(axis=0), np.ones(2) + W[0], 1.0 / (W + 1), 2.0 ** W):
        assert isinstance(out, ad.Tensor) and out.requires_grad
    loss = ((y - (X @ W).sum(axis=1)) ** 2).mean()
    loss.backward()
    pred = X @ np.ones((3, 2))
    expected = X.T @ (-(y - pred.sum(axis=1)))[:, None] * np.ones((1, 2))
    np.testing.assert_allclose(W.grad, expected)


def test_constant_operands_get_no_gradient_work():
    X = ad.Tensor(np.ones((4, 3)))
    W = ad.Tensor(np.ones((3, 2)), requires_grad=True)
    (X @ W).sum().backward()
    assert X.grad is None and not X.requires_grad
    const = ad.exp(X) * 2
    assert not const.requires_grad and const.parents == ()


def test_no_grad_records_nothing_and_nests():
    w = ad.Tensor(np.ones(2), requires_grad=True)
    with ad.no_grad():
        y = w * 2
        with ad.enable_grad():
            z = w * 3
        assert not ad.is_grad_enabled()
    assert ad.is_grad_enabled()
    assert not y.requires_grad and z.requires_grad

    @ad.no_grad()
    def evaluate(t):
        return t * t

    assert not evaluate(w).requires_grad
    with pytest.raises(RuntimeError, match="does not depend on any tensor with requires_grad"):
        y.sum().backward()


def test_retain_grad_keeps_an_intermediate_gradient():
    x = ad.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = (x * 3).retain_grad()
    (h * h).sum().backward()
    np.testing.assert_array_equal(h.grad, 2 * h.data)
    np.testing.assert_array_equal(x.grad, 6 * h.data)


def test_backward_on_a_non_scalar_needs_an_upstream_gradient():
    x = ad.Tensor(np.ones((2, 3)), requires_grad=True)
    y = x * 2
    with pytest.raises(ValueError, match=r"shape \(2, 3\), not a scalar.*backward\(gradient\)"):
        y.backward()
    with pytest.raises(ValueError, match=r"gradient must have the tensor's shape \(2, 3\), got \(3,\)"):
        y.backward(np.ones(3))
    y.backward(np.full((2, 3), 0.5))
    np.testing.assert_array_equal(x.grad, np.ones((2, 3)))


def test_shapes_that_do_not_broadcast_name_both_shapes():
    a = ad.Tensor(np.ones((2, 3)), requires_grad=True)
    for fn in (lambda: a + np.ones(4), lambda: a * np.ones((3, 2)), lambda: ad.maximum(a, np.ones(2)),
               lambda: a - np.ones((4, 1, 2))):
        with pytest.raises(ValueError,
                           match=r"a of shape \(2, 3\) and b of shape \((4|3, 2|2|4, 1, 2),?\) do not "
                                 r"broadcast"):
            fn()
    with pytest.raises(ValueError,
                       match=r"matmul: a of shape \(2, 3\) and b of shape \(2, 3\) are not aligned"):
        a @ np.ones((2, 3))
    with pytest.raises(ValueError, match=r"at least one axis, got shapes a \(2, 3\) and b \(\)"):
        a @ 2.0


def test_integer_arrays_cannot_require_a_gradient():
    with pytest.raises(TypeError, match="data must be a floating array to require a gradient, got dtype "
                                        "int64"):
        ad.Tensor(np.arange(3), requires_grad=True)
    with pytest.raises(TypeError, match="real numeric array"):
        ad.Tensor(np.array(["a"]))
    # As constants they are welcome, e.g. as indices or data.
    w = ad.Tensor(np.ones(3), requires_grad=True)
    (np.arange(3) * w).sum().backward()
    np.testing.assert_array_equal(w.grad, [0.0, 1.0, 2.0])


def test_other_bad_input_is_named():
    a = ad.Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=r"reshape: cannot reshape a tensor of shape \(2, 3\)"):
        a.reshape(4)
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        a.sum(axis=2)
    with pytest.raises(ValueError, match=r"axes must be a permutation of \(0, 1\), got \(0, 0\)"):
        a.transpose(0, 0)
    with pytest.raises(ValueError, match="axis 3 is out of range"):
        a.transpose((0, 3))
    assert a.transpose().shape == a.transpose(1, 0).shape == a.transpose((-1, 0)).shape == a.T.shape == (3, 2)
    with pytest.raises(ValueError, match=r"sum: axis \(1, -1\) names the same axis twice"):
        a.sum(axis=(1, -1))
    with pytest.raises(TypeError, match=r"mean: axis must be None, an int or a tuple of ints, got 1.5"):
        a.mean(axis=1.5)
    with pytest.raises(TypeError, match="log_softmax: axis must be a single int"):
        ad.log_softmax(a, axis=(0, 1))
    with pytest.raises(IndexError, match=r"shape \(2, 3\)"):
        a[5]
    with pytest.raises(ValueError, match=r"target labels must lie in \[0, 2\]"):
        ad.cross_entropy(a, np.array([0, 3]))
    with pytest.raises(ValueError, match="integer labels of shape"):
        ad.cross_entropy(a, np.ones(2))
    # the same target checks as nn.CrossEntropyLoss, named after the op
    with pytest.raises(ValueError, match=r"^cross_entropy: probability target values must lie in \[0, 1\]"):
        ad.cross_entropy(a, np.array([[1.5, -0.5, 0.0], [0.0, 1.0, 0.0]]))


def test_mixed_precision_gradients_take_each_leafs_dtype():
    w32 = ad.Tensor(np.ones(3, np.float32), requires_grad=True)
    w64 = ad.Tensor(np.ones(3), requires_grad=True)
    (w32 * w64 * 2).sum().backward()
    assert w32.grad.dtype == np.float32 and w64.grad.dtype == np.float64
    assert (w32 * 2.5).dtype == np.float32


def test_tensor_surface():
    t = ad.Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, name="t")
    assert t.shape == (2, 2) and t.ndim == 2 and t.size == 4 and len(t) == 2 and t.dtype == np.float64
    np.testing.assert_array_equal(np.asarray(t), t.numpy())
    assert t.sum().item() == 10.0
    assert not t.detach().requires_grad and t.detach().data is t.data
    assert "requires_grad=True" in repr(t) and "op='+'" in repr(t + 1)
    assert float(t.sum()) == 10.0 and bool(ad.Tensor(0.0)) is False
    with pytest.raises(TypeError, match=r"only a one-element tensor converts to a float, got shape \(2, 2\)"):
        float(t)
    with pytest.raises(ValueError, match=r"truth value of a tensor of shape \(2, 2\) is ambiguous"):
        bool(t)
