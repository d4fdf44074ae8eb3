"""dtype preservation (float32 in -> float32 out and grads), dout never mutated, softmax rows."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from chainrule import nn

DTYPES = [np.float32, np.float64]


def every_layer(dtype) -> list[nn.Layer]:
    return [nn.Linear(4, 4, rng=0, dtype=dtype), nn.ReLU(), nn.LeakyReLU(0.1), nn.Sigmoid(), nn.Tanh(),
            nn.Softmax(), nn.Identity(), nn.mlp([4, 5, 4], "tanh", rng=0, dtype=dtype)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index", range(8))
def test_layer_preserves_dtype_in_output_dx_and_grads(dtype, index):
    layer = every_layer(dtype)[index]
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(dtype)
    y = layer.forward(x)
    dx = layer.backward(np.ones_like(y))
    assert y.dtype == dtype and dx.dtype == dtype
    assert dx.shape == x.shape
    for name, p in layer.params.items():
        assert p.dtype == dtype, name
        assert layer.grads[name].dtype == dtype and layer.grads[name].shape == p.shape, name


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss, target", [
    (nn.CrossEntropyLoss(), np.array([0, 2, 1])),
    (nn.CrossEntropyLoss(), np.eye(3)[[0, 2, 1]]),
    (nn.CrossEntropyLoss(), np.eye(3, dtype=np.int64)[[0, 2, 1]]),
    (nn.BCEWithLogitsLoss(), np.array([[1, 0, 1], [0, 0, 1], [1, 1, 0]])),
    (nn.BCEWithLogitsLoss(), np.full((3, 3), 0.25)),
    (nn.MSELoss(), np.ones((3, 3))),
], ids=["ce_labels", "ce_one_hot", "ce_int_one_hot", "bce_int", "bce_soft", "mse"])
def test_loss_gradient_has_the_logits_dtype(dtype, loss, target):
    z = np.random.default_rng(1).standard_normal((3, 3)).astype(dtype)
    value = loss.forward(z, target)
    grad = loss.backward()
    assert type(value) is float and np.isfinite(value)
    assert grad.dtype == dtype and grad.shape == z.shape


@pytest.mark.parametrize("dtype", DTYPES)
def test_float32_and_float64_models_from_one_seed_agree_up_to_rounding(dtype):
    m64 = nn.mlp([5, 8, 3], rng=42)
    m = nn.mlp([5, 8, 3], rng=42, dtype=dtype)
    for name, p in m.params.items():
        np.testing.assert_array_equal(p, m64.params[name].astype(dtype))
    x = np.random.default_rng(2).standard_normal((4, 5))
    np.testing.assert_allclose(m.forward(x.astype(dtype)), m64.forward(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("index", range(8))
def test_backward_never_mutates_dout_or_the_input(index):
    layer = every_layer(np.float64)[index]
    rng = np.random.default_rng(index)
    x = rng.standard_normal((3, 4))
    x_before = x.copy()
    y = layer.forward(x)
    dout = rng.standard_normal(y.shape)
    dout_before = dout.copy()
    dx = layer.backward(dout)
    np.testing.assert_array_equal(dout, dout_before)
    np.testing.assert_array_equal(x, x_before)
    assert not np.shares_memory(dx, dout)
    # Writing into dx (as a careless caller might) must not reach back into the layer's cache.
    dx[...] = 123.0
    np.testing.assert_array_equal(layer.backward(dout), layer.backward(dout_before))


def test_relu_backward_with_shared_dout_gives_both_consumers_the_right_gradient():
    # DLFS's Relu.backward zeroes dout in place: a second consumer of the same dout then sees zeros.
    x = np.array([[-1.0, 2.0, -3.0, 4.0]])
    a, b = nn.ReLU(), nn.Tanh()
    a.forward(x)
    b.forward(x)
    dout = np.ones((1, 4))
    a.backward(dout)
    np.testing.assert_allclose(b.backward(dout), 1 - np.tanh(x) ** 2)


def test_loss_backward_returns_a_fresh_array_each_time():
    loss = nn.CrossEntropyLoss()
    loss.forward(np.array([[1.0, 2.0], [0.5, -1.0]]), np.array([1, 0]))
    g1 = loss.backward()
    g1 *= 0
    g2 = loss.backward()
    assert np.all(g2 != 0)


@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=6),
                  elements=st.floats(-1e3, 1e3)))
def test_softmax_rows_are_probabilities(x):
    y = nn.Softmax().forward(x)
    assert y.shape == x.shape
    assert np.all(np.isfinite(y)) and np.all(y >= 0) and np.all(y <= 1)
    np.testing.assert_allclose(y.sum(axis=-1), 1.0, rtol=1e-12)
    # Shift invariance: softmax(x + c) = softmax(x) per row.
    np.testing.assert_allclose(nn.Softmax().forward(x - 7.5), y, rtol=1e-9, atol=1e-300)


@given(hnp.arrays(np.float32, st.tuples(st.integers(1, 5), st.integers(1, 5)),
                  elements=st.floats(-1e3, 1e3, width=32)))
def test_softmax_float32_rows_sum_to_one(x):
    y = nn.Softmax().forward(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.sum(axis=-1), 1.0, rtol=1e-6)


def test_functional_helpers_accept_integers_and_python_scalars():
    np.testing.assert_allclose(nn.functional.sigmoid(np.array([0, 2])), [0.5, 1 / (1 + np.exp(-2))])
    assert float(nn.functional.sigmoid(0.0)) == 0.5
    np.testing.assert_allclose(nn.functional.softplus(np.array([0])), [np.log(2)])
    np.testing.assert_allclose(nn.functional.softmax(np.array([[1, 1]])), [[0.5, 0.5]])
    np.testing.assert_allclose(nn.functional.logsumexp(np.array([[0, 0]])), [np.log(2)])
    np.testing.assert_allclose(nn.functional.log_softmax(np.array([[1000.0, 0.0]])), [[0.0, -1000.0]])
