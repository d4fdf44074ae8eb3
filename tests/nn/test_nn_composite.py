"""Composite layers: Sequential.params/grads are live views, so a layer built around a Sequential (or
exposing its children through properties) trains and checks like any other; the Layer contract is
documented where help(Layer) shows it."""

import numpy as np
import pytest
import torch
from composite_layers import PropertyResidual

import chainrule as cr
from chainrule import nn


def _data(n=8, d=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.integers(0, classes, n)


class AliasResidual(nn.Layer):
    """The user-experience report's pattern: alias the inner Sequential's params and grads."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.params = inner.params
        self.grads = inner.grads

    def forward(self, x):
        return x + self.inner.forward(x)

    def backward(self, dout):
        return dout + self.inner.backward(dout)


def _residual_model(composite):
    inner = nn.Sequential(nn.Linear(6, 6, rng=0), nn.Tanh(), nn.Linear(6, 6, rng=1))
    return nn.Sequential(nn.Linear(6, 6, rng=2), composite(inner), nn.ReLU(), nn.Linear(6, 3, rng=3)), inner


def _torch_grads(model, inner, X, y):
    """dL/dparam of the same residual network written in PyTorch (float64 autograd)."""
    t = {k: torch.tensor(v, requires_grad=True) for k, v in
         {"a.W": model[0].params["W"], "a.b": model[0].params["b"], "i0.W": inner[0].params["W"],
          "i0.b": inner[0].params["b"], "i2.W": inner[2].params["W"], "i2.b": inner[2].params["b"],
          "c.W": model[3].params["W"], "c.b": model[3].params["b"]}.items()}
    h = torch.tensor(X) @ t["a.W"] + t["a.b"]
    h = h + (torch.tanh(h @ t["i0.W"] + t["i0.b"]) @ t["i2.W"] + t["i2.b"])
    logits = torch.relu(h) @ t["c.W"] + t["c.b"]
    torch.nn.functional.cross_entropy(logits, torch.tensor(y)).backward()
    return {k: v.grad.numpy() for k, v in t.items()}


NAMES = {"0.W": "a.W", "0.b": "a.b", "1.{p}0.W": "i0.W", "1.{p}0.b": "i0.b", "1.{p}2.W": "i2.W",
         "1.{p}2.b": "i2.b", "3.W": "c.W", "3.b": "c.b"}


@pytest.mark.parametrize("composite, prefix", [(AliasResidual, ""), (PropertyResidual, "inner.")])
def test_composite_gradients_match_pytorch_after_every_backward(composite, prefix):
    X, y = _data()
    model, inner = _residual_model(composite)
    kept = model.grads  # a reference taken before any backward must show the latest gradients
    loss = nn.CrossEntropyLoss()
    for _ in range(2):
        expected = _torch_grads(model, inner, X, y)
        loss.forward(model.forward(X), y)
        model.backward(loss.backward())
        for ours, theirs in NAMES.items():
            name = ours.format(p=prefix)
            np.testing.assert_allclose(model.grads[name], expected[theirs], rtol=1e-10, atol=1e-12)
            assert kept[name] is model.grads[name]
        for p in model.params.values():
            p -= 0.5  # move the parameters so the second backward's gradients differ from the first


@pytest.mark.parametrize("composite", [AliasResidual, PropertyResidual])
def test_fit_trains_the_parameters_inside_a_composite(composite):
    X, y = _data()
    model, inner = _residual_model(composite)
    expected = _torch_grads(model, inner, X, y)
    W0 = inner[0].params["W"].copy()
    cr.fit(model, nn.CrossEntropyLoss(), X, y, optimizer=cr.SGD(0.1), epochs=1)  # one full-batch step
    np.testing.assert_allclose(inner[0].params["W"], W0 - 0.1 * expected["i0.W"], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("composite", [AliasResidual, PropertyResidual])
def test_check_model_passes_a_correct_composite_and_blames_a_wrong_backward(composite):
    X, y = _data()
    model, _ = _residual_model(composite)
    assert cr.check_model(model, nn.CrossEntropyLoss(), X, y).passed

    class Forgot(composite):  # the skip connection is missing from backward
        def backward(self, dout):
            return self.inner.backward(dout)

    model, _ = _residual_model(Forgot)
    report = cr.check_model(model, nn.CrossEntropyLoss(), X, y)
    assert not report.passed and report.blame == 1


def test_sequential_views_read_and_write_through_to_the_layers():
    seq = nn.Sequential(nn.Linear(3, 2, rng=0), nn.ReLU(), nn.Linear(2, 1, rng=1))
    params = seq.params
    assert list(params) == ["0.W", "0.b", "2.W", "2.b"] and len(params) == 4
    assert params["2.W"] is seq[2].params["W"] and "1.W" not in params and "0.W" in params
    layer_arrays = [seq[i].params[k] for i, k in ((0, "W"), (0, "b"), (2, "W"), (2, "b"))]
    assert all(a is b for a, b in zip(params.values(), layer_arrays, strict=True))
    assert [k for k, _ in params.items()] == list(params)
    assert all(v is params[k] for k, v in params.items())
    new = np.ones((3, 2))
    seq.grads["0.W"] = new
    assert seq[0].grads["W"] is new
    snapshot = dict(seq.params)
    assert type(snapshot) is dict and snapshot["0.b"] is seq[0].params["b"]
    with pytest.raises(KeyError):
        seq.params["0.gamma"] = new
    with pytest.raises(KeyError):
        seq.params["7.W"]
    with pytest.raises(TypeError, match="cannot be removed"):
        del seq.params["0.W"]
    assert repr(seq.params).startswith("{'0.W': array(")


def test_nested_sequential_names_and_zero_grad_through_an_alias():
    inner = nn.Sequential(nn.Linear(2, 2, rng=0))
    outer = nn.Sequential(nn.Linear(2, 2, rng=1), AliasResidual(inner))
    assert list(outer.params) == ["0.W", "0.b", "1.0.W", "1.0.b"]
    x, dout = np.ones((4, 2)), np.ones((4, 2))
    h = x @ outer[0].params["W"] + outer[0].params["b"]  # the inner Linear's input
    outer.forward(x)
    outer.backward(dout)
    np.testing.assert_allclose(outer.grads["1.0.W"], h.T @ dout, rtol=1e-14)
    assert outer.grads["1.0.W"] is inner[0].grads["W"]
    outer.zero_grad()  # Layer.zero_grad writes through the live view into the inner Linear
    assert np.all(inner[0].grads["W"] == 0) and np.all(outer.grads["1.0.b"] == 0)


def test_zero_grad_refuses_to_write_into_a_throwaway_dict():
    class NoZeroGrad(PropertyResidual):
        zero_grad = nn.Layer.zero_grad

    with pytest.raises(TypeError, match="must override zero_grad"):
        NoZeroGrad(nn.Linear(2, 2, rng=0)).zero_grad()


def test_help_shows_the_layer_contract():
    doc = nn.Layer.__doc__
    for phrase in ("forward(x) -> y", "backward(dout) -> dx", '"W", not "dW"', "zero_grad",
                   "never modify", "composite", "register_layer", "assert_gradients"):
        assert phrase in doc, phrase
