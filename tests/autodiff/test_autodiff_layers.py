"""The bridge to chainrule.nn: every built-in layer's and loss's hand-written backward equals the
autodiff gradient of its forward to 1e-12 (float64); dispatch, registration and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from chainrule import autodiff as ad
from chainrule import nn

TOL = {"rtol": 1e-12, "atol": 1e-14}

LAYERS = {
    "Linear": lambda: nn.Linear(5, 4, rng=0),
    "ReLU": nn.ReLU,
    "LeakyReLU": lambda: nn.LeakyReLU(0.2),
    "Sigmoid": nn.Sigmoid,
    "Tanh": nn.Tanh,
    "Softmax": nn.Softmax,
    "Identity": nn.Identity,
    "Sequential": lambda: nn.mlp([5, 6, 4], "tanh", output="sigmoid", rng=1),
}


def _random_params(layer: nn.Layer, rng: np.random.Generator) -> None:
    for p in layer.params.values():
        p[...] = rng.standard_normal(p.shape)  # b starts at zero; make every entry count


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hand_written_backward_equals_autodiff(name, seed):
    rng = np.random.default_rng(seed)
    layer = LAYERS[name]()
    _random_params(layer, rng)
    x = rng.standard_normal((7, 5)) * 2
    out = layer.forward(x)
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)
    ad_dx, ad_grads = ad.layer_gradients(layer, x, dout)
    np.testing.assert_allclose(ad_dx, dx, **TOL)
    assert set(ad_grads) == set(layer.grads)
    for k, g in layer.grads.items():
        np.testing.assert_allclose(ad_grads[k], g, **TOL, err_msg=k)


LOSSES = {
    "CrossEntropy_labels": (nn.CrossEntropyLoss, lambda r: (r.standard_normal((8, 4)), r.integers(0, 4, 8))),
    "CrossEntropy_probs": (nn.CrossEntropyLoss,
                           lambda r: (r.standard_normal((8, 4)), r.dirichlet(np.ones(4), 8))),
    "CrossEntropy_soft_unnormalised": (nn.CrossEntropyLoss,
                                       lambda r: (r.standard_normal((8, 4)), r.uniform(0, 1, (8, 4)))),
    "BCEWithLogits_vector": (nn.BCEWithLogitsLoss,
                             lambda r: (r.standard_normal(9) * 4, r.integers(0, 2, 9).astype(float))),
    "BCEWithLogits_column_soft": (nn.BCEWithLogitsLoss,
                                  lambda r: (r.standard_normal((9, 1)) * 4, r.uniform(0, 1, (9, 1)))),
    "MSE": (nn.MSELoss, lambda r: (r.standard_normal((6, 3)), r.standard_normal((6, 3)))),
}


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hand_written_loss_backward_equals_autodiff(name, seed):
    cls, draw = LOSSES[name]
    logits, target = draw(np.random.default_rng(seed))
    loss = cls()
    value = loss.forward(logits, target)
    dlogits = loss.backward()
    ad_value, ad_dlogits = ad.loss_gradient(cls(), logits, target)
    assert ad_value == pytest.approx(value, rel=1e-12)
    np.testing.assert_allclose(ad_dlogits, dlogits, **TOL)


def test_loss_rules_match_pytorch():
    rng = np.random.default_rng(4)
    z, labels = rng.standard_normal((6, 3)), rng.integers(0, 3, 6)
    t = torch.tensor(z, requires_grad=True)
    torch.nn.functional.cross_entropy(t, torch.tensor(labels)).backward()
    np.testing.assert_allclose(ad.loss_gradient(nn.CrossEntropyLoss(), z, labels)[1], t.grad.numpy(),
                               rtol=1e-10)
    y = rng.uniform(0, 1, (6, 3))
    t = torch.tensor(z * 30, requires_grad=True)
    torch.nn.functional.binary_cross_entropy_with_logits(t, torch.tensor(y)).backward()
    np.testing.assert_allclose(ad.loss_gradient(nn.BCEWithLogitsLoss(), z * 30, y)[1], t.grad.numpy(),
                               rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "sigmoid", "tanh", "identity"])
@pytest.mark.parametrize("loss_cls", [nn.CrossEntropyLoss, nn.MSELoss])
def test_model_gradients_equal_the_hand_written_backward(activation, loss_cls):
    rng = np.random.default_rng(5)
    model = nn.mlp([3, 8, 6, 4], activation, rng=5)
    _random_params(model, rng)
    X = rng.standard_normal((10, 3))
    y = rng.integers(0, 4, 10) if loss_cls is nn.CrossEntropyLoss else rng.standard_normal((10, 4))
    loss = loss_cls()
    loss.forward(model.forward(X), y)
    model.backward(loss.backward())
    grads = ad.model_gradients(model, loss_cls(), X, y)
    assert list(grads) == list(model.params)
    for k, g in model.grads.items():
        np.testing.assert_allclose(grads[k], g, **TOL, err_msg=k)


def test_model_gradients_of_the_l2_penalised_cost_match_pytorch():
    """L2Regularized: the penalty lambd/(2m) sum W² is differentiated with respect to the weights
    (PyTorch: the same cost written out); only the W's carry it, and the isolated loss rule gives
    the data loss's dL/dlogits with the penalty's value added."""
    rng = np.random.default_rng(6)
    model = nn.mlp([3, 5, 4], rng=6)
    X, y = rng.standard_normal((7, 3)), rng.integers(0, 4, 7)
    loss = nn.L2Regularized(nn.CrossEntropyLoss(), model, lambd=0.7)
    grads = ad.model_gradients(model, loss, X, y)
    W0, b0, W1, b1 = (torch.tensor(model.params[k], requires_grad=True) for k in ("0.W", "0.b", "2.W", "2.b"))
    z = torch.relu(torch.tensor(X) @ W0 + b0) @ W1 + b1
    penalty = 0.7 / (2 * 7) * ((W0 ** 2).sum() + (W1 ** 2).sum())
    cost = torch.nn.functional.cross_entropy(z, torch.tensor(y)) + penalty
    cost.backward()
    for k, t in zip(("0.W", "0.b", "2.W", "2.b"), (W0, b0, W1, b1), strict=True):
        np.testing.assert_allclose(grads[k], t.grad.numpy(), rtol=1e-10, atol=1e-15, err_msg=k)
    logits = model.forward(X)
    value, dz = ad.loss_gradient(loss, logits, y)
    assert value == pytest.approx(loss.forward(logits, y), rel=1e-12)
    np.testing.assert_allclose(dz, loss.backward(), rtol=1e-10, atol=1e-15)


def test_autodiff_witness_sees_a_forgotten_penalty_gradient():
    from chainrule import check_model

    class ForgotPenalty(nn.L2Regularized):
        def add_penalty_grads(self, grads=None):
            pass  # the learner's bug: the cost has the penalty, the gradients do not

    rng = np.random.default_rng(7)
    model = nn.mlp([3, 5, 2], rng=7)
    X, y = rng.standard_normal((6, 3)), rng.integers(0, 2, 6)
    right = check_model(model, nn.L2Regularized(nn.CrossEntropyLoss(), model, 0.7), X, y, autodiff=True)
    assert not right.notes
    assert all(p.autodiff_difference < 1e-12 for p in right.parameters.values())
    wrong = check_model(model, ForgotPenalty(nn.CrossEntropyLoss(), model, 0.7), X, y, autodiff=True)
    assert {k for k, p in wrong.parameters.items() if p.autodiff_difference > 1e-3} == {"0.W", "2.W"}


class DoubledLinear(nn.Linear):
    """A user subclass with a wrong backward (seed 000's dW2 * 2) and the built-in forward."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["W"] = self.grads["W"] * 2
        return dx


def test_a_subclass_with_its_own_backward_is_differentiated_through_the_built_in_forward(torch_vjp):
    rng = np.random.default_rng(6)
    layer = DoubledLinear(3, 2, rng=6)
    x, dout = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    layer.forward(x)
    layer.backward(dout)
    _, grads = ad.layer_gradients(layer, x, dout)
    W = layer.params["W"]
    expected = torch_vjp(lambda x, W: x @ W, [x, W], dout, [1])[0]
    np.testing.assert_allclose(grads["W"], expected, rtol=1e-12)
    np.testing.assert_allclose(layer.grads["W"], 2 * expected, rtol=1e-12)


def test_a_subclass_overriding_forward_must_register_a_rule():
    class Scaled(nn.Tanh):
        def forward(self, x):
            return 3 * super().forward(x)

        def backward(self, dout):
            return 3 * super().backward(dout)

    x = np.linspace(-2, 2, 6).reshape(2, 3)
    with pytest.raises(TypeError, match="Scaled overrides forward.*register_layer\\(Scaled\\)"):
        ad.layer_gradients(Scaled(), x, np.ones((2, 3)))
    ad.register_layer(Scaled, lambda layer, x, p: 3 * ad.tanh(x))
    dx, _ = ad.layer_gradients(Scaled(), x, np.ones((2, 3)))
    layer = Scaled()
    layer.forward(x)
    np.testing.assert_allclose(dx, layer.backward(np.ones((2, 3))), **TOL)


def test_register_layer_for_a_new_layer_type(numerical_gradient, relative_difference):
    class Scale(nn.Layer):
        """y = x * a, with a learnable per-feature scale a."""

        def __init__(self):
            super().__init__()
            self.params = {"a": np.array([0.5, -2.0, 3.0])}
            self.zero_grad()

        def forward(self, x):
            self.x = x
            return x * self.params["a"]

        def backward(self, dout):
            self.grads["a"] = (dout * self.x).sum(axis=0)
            return dout * self.params["a"]

    with pytest.raises(TypeError, match="no autodiff rule for Scale; register its forward"):
        ad.layer_gradients(Scale(), np.ones((2, 3)), np.ones((2, 3)))

    @ad.register_layer(Scale)
    def scale_rule(layer, x, params):
        return x * params["a"]

    layer = Scale()
    x = np.random.default_rng(7).standard_normal((4, 3))
    dout = np.random.default_rng(8).standard_normal((4, 3))
    dx, grads = ad.layer_gradients(layer, x, dout)
    num = numerical_gradient(lambda: float(np.sum(layer.forward(x) * dout)), layer.params["a"])
    assert relative_difference(grads["a"], num) < 1e-9
    # Inside a Sequential, with a built-in loss.
    model = nn.Sequential(nn.Linear(3, 3, rng=1), layer)
    y = np.array([0, 2, 1, 1])
    loss = nn.CrossEntropyLoss()
    loss.forward(model.forward(x), y)
    model.backward(loss.backward())
    auto = ad.model_gradients(model, nn.CrossEntropyLoss(), x, y)
    for k in ("0.W", "0.b", "1.a"):
        np.testing.assert_allclose(auto[k], model.grads[k], **TOL)


def test_bridge_bad_input():
    with pytest.raises(TypeError, match="subclass of chainrule.nn.Layer or Loss"):
        ad.register_layer(int)
    with pytest.raises(ValueError, match=r"Linear: x must have shape \(N, 5\), got \(2, 3\)"):
        ad.layer_gradients(nn.Linear(5, 4, rng=0), np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"dout must have the layer output's shape \(2, 3\) "
                                         r"\(for x of shape \(2, 3\)\), got \(3, 2\)"):
        ad.layer_gradients(nn.ReLU(), np.ones((2, 3)), np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"target labels must lie in \[0, 2\]"):
        ad.loss_gradient(nn.CrossEntropyLoss(), np.ones((2, 3)), np.array([0, 5]))
    with pytest.raises(ValueError, match=r"BCEWithLogitsLoss: target must have the logits' shape \(4,\)"):
        ad.loss_gradient(nn.BCEWithLogitsLoss(), np.ones(4), np.ones((4, 1)))
    with pytest.raises(ValueError, match=r"target values must lie in \[0, 1\]"):
        ad.loss_gradient(nn.BCEWithLogitsLoss(), np.ones(2), np.array([0.0, 2.0]))
    with pytest.raises(ValueError, match=r"MSELoss: target must have the input's shape"):
        ad.loss_gradient(nn.MSELoss(), np.ones((2, 2)), np.ones(2))


def test_layer_gradients_leave_the_layer_untouched():
    layer = nn.Linear(3, 2, rng=0)
    W = layer.params["W"].copy()
    ad.layer_gradients(layer, np.ones((4, 3)), np.ones((4, 2)))
    np.testing.assert_array_equal(layer.params["W"], W)
    assert layer.x is None
    np.testing.assert_array_equal(layer.grads["W"], np.zeros((3, 2)))
