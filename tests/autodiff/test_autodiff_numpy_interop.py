"""NumPy's own reductions on a Tensor (np.sum, np.mean call the object's method with dtype/out)
record the graph; what a recorded reduction cannot honour fails with a clear message. And the
rule of a parent class can be reused for a subclass whose forward only caches something."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import autodiff as ad
from chainrule import nn


def test_np_sum_and_np_mean_of_a_tensor_are_differentiated():
    w = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(ad.grad(lambda t: np.sum(t ** 2))(w), 2 * w, rtol=1e-15)
    np.testing.assert_allclose(ad.grad(lambda t: np.mean(t ** 3))(w), w ** 2, rtol=1e-15)


def test_np_reductions_with_axis_and_keepdims_match_pytorch():
    a = np.random.default_rng(0).standard_normal((3, 4))

    def ours(t):
        s = np.sum(ad.tanh(t), axis=0, keepdims=True)  # (1, 4)
        return np.mean(s * np.mean(t, axis=1, keepdims=True))  # (1, 4) * (3, 1) -> (3, 4)

    ta = torch.tensor(a, requires_grad=True)
    (torch.tanh(ta).sum(0, keepdim=True) * ta.mean(1, keepdim=True)).mean().backward()
    np.testing.assert_allclose(ad.grad(ours)(a), ta.grad.numpy(), rtol=1e-12)
    t = ad.Tensor(a, requires_grad=True)
    assert np.sum(t, axis=1).shape == (3,) and np.mean(t, axis=(0, 1), keepdims=True).shape == (1, 1)


def test_what_a_recorded_reduction_cannot_do_is_refused_clearly():
    t = ad.Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(TypeError, match=r"Tensor\.sum: out= is not supported.*ad\.sum\(t, axis=\.\.\.\)"):
        np.sum(t, out=np.zeros(()))
    with pytest.raises(TypeError, match="Tensor.mean: dtype must be None or the tensor's dtype float64, "
                                        "got float32"):
        np.mean(t, dtype=np.float32)
    assert float(np.sum(t, dtype=np.float64)) == 6.0  # the tensor's own dtype is accepted


class CachingReLU(nn.ReLU):
    """Overrides forward only to keep a copy of its input; computes what ReLU computes."""

    def forward(self, x):
        self.seen = np.array(x, copy=True)
        return super().forward(x)


def test_reusing_the_parent_rule_for_a_caching_subclass():
    X = np.random.default_rng(1).standard_normal((6, 4))
    y = np.array([0, 1, 2, 0, 1, 2])
    reuse = r"register_layer\(CachingReLU, chainrule\.autodiff\.rule_for\(ReLU\)\)"
    with pytest.raises(TypeError, match=reuse):
        ad.rule_for(CachingReLU())
    assert ad.rule_for(nn.ReLU) is ad.rule_for(nn.ReLU())  # a class or an instance
    ad.register_layer(CachingReLU, ad.rule_for(nn.ReLU))
    model = nn.Sequential(nn.Linear(4, 5, rng=0), CachingReLU(), nn.Linear(5, 3, rng=1))
    grads = ad.model_gradients(model, nn.CrossEntropyLoss(), X, y)
    t = {k: torch.tensor(v, requires_grad=True) for k, v in model.params.items()}
    logits = torch.relu(torch.tensor(X) @ t["0.W"] + t["0.b"]) @ t["2.W"] + t["2.b"]
    torch.nn.functional.cross_entropy(logits, torch.tensor(y)).backward()
    for k in t:
        np.testing.assert_allclose(grads[k], t[k].grad.numpy(), rtol=1e-12, atol=1e-15)
    report = cr.check_model(model, nn.CrossEntropyLoss(), X, y, autodiff=True)
    assert report.passed and not report.notes


def test_np_dot_reshape_transpose_concatenate_are_recorded_like_pytorch():
    rng = np.random.default_rng(4)
    X, w0, v0 = rng.standard_normal((5, 3)), rng.standard_normal(3), rng.standard_normal((2, 3))

    def ours(w, v):
        stacked = np.concatenate([np.reshape(w, (1, 3)), v], axis=0)           # (3, 3)
        return ad.sum(np.dot(X, np.transpose(stacked)) ** 2) + ad.sum(np.dot(2.0, w))

    gw, gv = ad.grad(ours, argnums=(0, 1))(w0, v0)
    tw, tv = torch.tensor(w0, requires_grad=True), torch.tensor(v0, requires_grad=True)
    stacked = torch.cat([tw.reshape(1, 3), tv], dim=0)
    ((torch.tensor(X) @ stacked.T) ** 2).sum().add((2.0 * tw).sum()).backward()
    np.testing.assert_allclose(gw, tw.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(gv, tv.grad.numpy(), rtol=1e-12)


def test_other_numpy_functions_never_drop_a_gradient_silently():
    w0 = np.array([0.5, -1.0, 2.0])
    with pytest.raises(TypeError, match=r"numpy\.std is not recorded by chainrule\.autodiff, so the gradient "
                                        r"would be lost"):
        ad.grad(lambda t: np.std(t))(w0)
    t = ad.Tensor(w0, requires_grad=True)
    assert np.shape(t) == (3,) and np.allclose(t, w0) and int(np.argmax(t)) == 2  # no gradient to lose
    with ad.no_grad():
        assert np.std(t) == pytest.approx(np.std(w0))
    assert np.std(ad.Tensor(w0)) == pytest.approx(np.std(w0))  # a constant has no gradient to lose
