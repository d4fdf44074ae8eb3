"""No built-in layer or loss computes its backward from an array the caller can still change: the
input x, the output y it returned, the target. Each case mutates the array after forward and
compares the backward with the one computed from untouched arrays."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import nn

RNG = np.random.default_rng(0)
X = RNG.standard_normal((6, 4))
DOUT3 = RNG.standard_normal((6, 3))
DOUT4 = RNG.standard_normal((6, 4))

LAYERS = {
    "Linear": (lambda: nn.Linear(4, 3, rng=0), DOUT3),
    "ReLU": (nn.ReLU, DOUT4),
    "LeakyReLU": (lambda: nn.LeakyReLU(0.1), DOUT4),
    "Sigmoid": (nn.Sigmoid, DOUT4),
    "Tanh": (nn.Tanh, DOUT4),
    "Softmax": (nn.Softmax, DOUT4),
    "Identity": (nn.Identity, DOUT4),
    "Sequential": (lambda: nn.Sequential(nn.Linear(4, 5, rng=1), nn.Tanh(), nn.Linear(5, 3, rng=2),
                                         nn.Sigmoid()), DOUT3),
}


def _run(make, dout, mutate):
    layer = make()
    x = X.copy()
    y = layer.forward(x)
    y_before = y.copy()
    mutate(x, y)
    dx = layer.backward(dout.copy())
    return y_before, dx, {k: v.copy() for k, v in layer.grads.items()}


def _nothing(x, y):
    pass


MUTATIONS = {
    "x[...] = 0": lambda x, y: x.__setitem__(Ellipsis, 0.0),
    "x *= -3": lambda x, y: x.__imul__(-3.0),
    "y *= 2": lambda x, y: y.__imul__(2.0),
    "y[...] = 7": lambda x, y: y.__setitem__(Ellipsis, 7.0),
}


@pytest.mark.parametrize("mutation", list(MUTATIONS))
@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_backward_ignores_later_writes_to_x_and_y(name, mutation):
    make, dout = LAYERS[name]
    y_ref, dx_ref, grads_ref = _run(make, dout, _nothing)
    y_got, dx, grads = _run(make, dout, MUTATIONS[mutation])
    np.testing.assert_array_equal(y_got, y_ref)
    np.testing.assert_array_equal(dx, dx_ref)
    assert grads.keys() == grads_ref.keys()
    for k in grads:
        np.testing.assert_array_equal(grads[k], grads_ref[k], err_msg=k)


def test_linear_dw_is_the_input_it_saw():
    """The issue's case: forward(x); x[...] = 0; backward gave dW = 0."""
    layer = nn.Linear(4, 3, rng=0)
    x = X.copy()
    layer.forward(x)
    x[...] = 0
    layer.backward(DOUT3)
    np.testing.assert_allclose(layer.grads["W"], X.T @ DOUT3)  # analytic dW = x^T dout
    assert np.abs(layer.grads["W"]).sum() > 0


def test_sigmoid_output_is_not_its_cache():
    layer = nn.Sigmoid()
    out = layer.forward(X)
    s = 1 / (1 + np.exp(-X))
    out *= 2
    np.testing.assert_allclose(layer.backward(DOUT4), DOUT4 * s * (1 - s))


def test_identity_output_is_not_the_callers_input():
    x = X.copy()
    y = nn.Identity().forward(x)
    y[...] = 0
    np.testing.assert_array_equal(x, X)


LOSSES = {
    "CrossEntropyLoss-labels": (nn.CrossEntropyLoss, lambda: RNG.integers(0, 3, 6).astype(np.intp)),
    "CrossEntropyLoss-probs": (nn.CrossEntropyLoss, lambda: np.full((6, 3), 1 / 3)),
    "BCEWithLogitsLoss": (nn.BCEWithLogitsLoss, lambda: RNG.random((6, 3))),
    "MSELoss": (nn.MSELoss, lambda: RNG.standard_normal((6, 3))),
}


@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_backward_ignores_later_writes_to_logits_and_target(name):
    make, target = LOSSES[name]
    t = target()
    z = RNG.standard_normal((6, 3))
    ref = make()
    ref.forward(z.copy(), t.copy())
    g_ref = ref.backward()
    loss = make()
    z2, t2 = z.copy(), t.copy()
    loss.forward(z2, t2)
    z2[...] = 100.0
    t2[...] = 0 if t2.dtype.kind == "i" else 1.0 if name != "MSELoss" else -50.0
    g = loss.backward()
    np.testing.assert_array_equal(g, g_ref)
    g *= 5  # the returned gradient is the caller's: a second backward is unaffected
    np.testing.assert_array_equal(loss.backward(), g_ref)
