"""Comparisons give boolean masks, NumPy's ufuncs on tensors are recorded or named, tensors are immutable."""

import numpy as np
import pytest
import torch

from chainrule import autodiff as ad


def test_comparisons_give_plain_boolean_masks_usable_in_a_differentiated_function():
    x = np.array([1.5, -2.0, 0.0, 3.0])
    t = ad.Tensor(x, requires_grad=True)
    for got, want in ((t > 0, x > 0), (t >= 0, x >= 0), (t < 0, x < 0), (t <= 0, x <= 0),
                      (t == 0, x == 0), (t != 0, x != 0), (np.zeros(4) < t, x > 0),
                      (t > t * 0.5, x > x * 0.5)):
        assert type(got) is np.ndarray and got.dtype == bool
        np.testing.assert_array_equal(got, want)
    # a ReLU written with a mask: the gradient flows through the product only (torch reference)
    g = ad.grad(lambda a: ad.sum((a > 0) * a ** 2))(x)
    tx = torch.tensor(x, requires_grad=True)
    ((tx > 0) * tx ** 2).sum().backward()
    np.testing.assert_allclose(g, tx.grad.numpy(), rtol=1e-15)
    assert {t, t} == {t} and len({t, ad.Tensor(x)}) == 2  # tensors still hash by identity


def test_ndarray_on_the_left_of_an_operator_is_recorded():
    w = np.array([0.5, -1.0, 2.0])
    A = np.arange(6.0).reshape(2, 3)
    tw = torch.tensor(w, requires_grad=True)
    ((torch.ones(3) + tw) * (torch.full((3,), 2.0) - tw) / (torch.ones(3) * 3 / tw)
     + (torch.tensor(A) @ tw).sum() + torch.full((3,), 2.0) ** tw).sum().backward()
    g = ad.grad(lambda a: ad.sum((np.ones(3) + a) * (np.full(3, 2.0) - a) / (np.ones(3) * 3 / a)
                                 + ad.sum(A @ a) + np.full(3, 2.0) ** a))(w)
    np.testing.assert_allclose(g, tw.grad.numpy(), rtol=1e-13)


def test_unrecorded_ufunc_names_the_autodiff_counterpart():
    t = ad.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(TypeError, match=r"numpy\.exp does not record gradients on a Tensor; "
                                        r"use ad\.exp\(t\)"):
        np.exp(t)
    with pytest.raises(TypeError, match=r"numpy\.arctan does not record .* use the operations of "
                                        r"chainrule\.autodiff \(ad\.exp"):
        np.arctan(t)
    a = np.ones(2)
    with pytest.raises(TypeError, match=r"tensors are immutable in the graph: write a = a \+ t"):
        a += t
    np.testing.assert_array_equal(a, np.ones(2))


def test_item_assignment_is_a_clear_type_error():
    t = ad.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(TypeError, match=r"tensors are immutable in the graph .* build a new tensor, e\.g\. "
                                        r"with ad\.concatenate or masks"):
        t[0] = 5.0
    np.testing.assert_array_equal(t.data, [1.0, 2.0])
