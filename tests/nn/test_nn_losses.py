"""Every loss against central differences and PyTorch in float64, including extreme logits."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from chainrule import nn

TOL_NUMERIC = 1e-7
TOL_TORCH = 1e-12


def loss_gradients(loss: nn.Loss, z: np.ndarray, t: np.ndarray,
                   numgrad) -> tuple[float, np.ndarray, np.ndarray]:
    value = loss.forward(z, t)
    analytic = loss.backward()
    numeric = numgrad(lambda: loss.forward(z, t), z)
    return value, analytic, numeric


def torch_loss(module: torch.nn.Module, z: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    target = torch.from_numpy(t)
    value = module(zt, target)
    value.backward()
    return value.item(), zt.grad.numpy()


def random_targets(rng: np.random.Generator, kind: str, n: int, c: int) -> np.ndarray:
    labels = rng.integers(0, c, size=n)
    if kind == "labels":
        return labels
    if kind == "one_hot":
        return np.eye(c)[labels]
    if kind == "probabilities":
        return rng.dirichlet(np.ones(c), size=n)
    return rng.uniform(0, 1, size=(n, c))  # rows need not sum to 1 (e.g. multi-label soft targets)


TARGET_KINDS = ["labels", "one_hot", "probabilities", "unnormalised"]


# --- CrossEntropyLoss -------------------------------------------------------------------------

@pytest.mark.parametrize("kind", TARGET_KINDS)
@pytest.mark.parametrize("n, c", [(1, 2), (5, 3), (8, 10), (4, 1)])
def test_cross_entropy_backward_matches_central_differences(kind, n, c, numgrad, reldiff):
    rng = np.random.default_rng(n * 10 + c)
    z = 2 * rng.standard_normal((n, c))
    t = random_targets(rng, kind, n, c)
    _, analytic, numeric = loss_gradients(nn.CrossEntropyLoss(), z, t, numgrad)
    assert analytic.shape == z.shape and analytic.dtype == np.float64
    assert reldiff(analytic, numeric) <= TOL_NUMERIC


def assert_matches_torch(loss: nn.Loss, reference: torch.nn.Module, z: np.ndarray, t: np.ndarray) -> None:
    """Our loss value and dL/dz agree with PyTorch's (float64) and are finite."""
    value = loss.forward(z, t)
    grad = loss.backward()
    ref_value, ref_grad = torch_loss(reference, z, t)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    np.testing.assert_allclose(value, ref_value, rtol=TOL_TORCH, atol=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=TOL_TORCH, atol=1e-15)


@given(n=st.integers(1, 8), c=st.integers(1, 6), kind=st.sampled_from(TARGET_KINDS),
       scale=st.sampled_from([1e-3, 1.0, 30.0, 1e3]), seed=st.integers(0, 2**32 - 1))
def test_cross_entropy_matches_torch(n, c, kind, scale, seed):
    rng = np.random.default_rng(seed)
    z = scale * rng.standard_normal((n, c))
    t = random_targets(rng, kind, n, c)
    assert_matches_torch(nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), z, t)


def test_cross_entropy_labels_and_one_hot_agree_with_the_definition():
    rng = np.random.default_rng(3)
    z = rng.standard_normal((6, 4))
    y = np.array([0, 3, 1, 1, 2, 0])
    # Definition, written out independently: -mean log(exp(z_y) / sum exp(z)).
    expected = -np.mean(np.log(np.exp(z[np.arange(6), y]) / np.exp(z).sum(axis=1)))
    a, b = nn.CrossEntropyLoss(), nn.CrossEntropyLoss()
    assert a.forward(z, y) == pytest.approx(expected, rel=1e-14)
    assert b.forward(z, np.eye(4)[y]) == pytest.approx(expected, rel=1e-14)
    np.testing.assert_allclose(a.backward(), b.backward(), rtol=1e-14, atol=1e-17)


# --- BCEWithLogitsLoss ------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(1,), (7,), (7, 1), (4, 3)])
@pytest.mark.parametrize("soft", [False, True])
def test_bce_backward_matches_central_differences(shape, soft, numgrad, reldiff):
    rng = np.random.default_rng(len(shape) + shape[0])
    z = 3 * rng.standard_normal(shape)
    t = rng.uniform(0, 1, shape) if soft else rng.integers(0, 2, shape).astype(np.float64)
    _, analytic, numeric = loss_gradients(nn.BCEWithLogitsLoss(), z, t, numgrad)
    assert analytic.shape == shape
    assert reldiff(analytic, numeric) <= TOL_NUMERIC


@given(n=st.integers(1, 10), column=st.booleans(), soft=st.booleans(),
       scale=st.sampled_from([1e-3, 1.0, 30.0, 1e3]), seed=st.integers(0, 2**32 - 1))
def test_bce_matches_torch(n, column, soft, scale, seed):
    rng = np.random.default_rng(seed)
    shape = (n, 1) if column else (n,)
    z = scale * rng.standard_normal(shape)
    t = rng.uniform(0, 1, shape) if soft else rng.integers(0, 2, shape).astype(np.float64)
    assert_matches_torch(nn.BCEWithLogitsLoss(), torch.nn.BCEWithLogitsLoss(), z, t)


def test_bce_integer_targets_equal_float_targets():
    z = np.array([[-2.0], [0.5], [3.0]])
    a, b = nn.BCEWithLogitsLoss(), nn.BCEWithLogitsLoss()
    assert a.forward(z, np.array([[0], [1], [1]])) == b.forward(z, np.array([[0.0], [1.0], [1.0]]))
    np.testing.assert_array_equal(a.backward(), b.backward())


# --- MSELoss ----------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(1,), (6,), (6, 1), (5, 3)])
def test_mse_backward_matches_central_differences(shape, numgrad, reldiff):
    rng = np.random.default_rng(shape[0])
    y = rng.standard_normal(shape)
    t = rng.standard_normal(shape)
    _, analytic, numeric = loss_gradients(nn.MSELoss(), y, t, numgrad)
    assert reldiff(analytic, numeric) <= TOL_NUMERIC


@pytest.mark.parametrize("shape", [(1,), (9,), (9, 1), (4, 5)])
def test_mse_matches_torch(shape):
    rng = np.random.default_rng(sum(shape))
    y = 10 * rng.standard_normal(shape)
    t = rng.standard_normal(shape)
    loss = nn.MSELoss()
    value = loss.forward(y, t)
    grad = loss.backward()
    ref_value, ref_grad = torch_loss(torch.nn.MSELoss(), y, t)
    np.testing.assert_allclose(value, ref_value, rtol=TOL_TORCH)
    np.testing.assert_allclose(grad, ref_grad, rtol=TOL_TORCH, atol=1e-15)


# --- extreme logits ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cross_entropy_with_logits_of_magnitude_1e3_is_finite_and_matches_torch(dtype):
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -999.0, 1000.0], [500.0, 500.0, -1000.0]], dtype)
    y = np.array([1, 0, 2])  # every label on a hugely wrong logit: loss ~ 1e3
    loss = nn.CrossEntropyLoss()
    value = loss.forward(z, y)
    grad = loss.backward()
    ref_value, ref_grad = torch_loss(torch.nn.CrossEntropyLoss(), z.astype(np.float64), y)
    assert np.isfinite(value) and np.all(np.isfinite(grad)) and grad.dtype == dtype
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(value, ref_value, rtol=rtol)
    np.testing.assert_allclose(grad, ref_grad, rtol=rtol, atol=1e-7 if dtype == np.float32 else 0)
    # With probability targets the loss must be just as finite (no 0 * log 0 = NaN).
    probs = np.eye(3, dtype=dtype)[y]
    assert loss.forward(z, probs) == pytest.approx(ref_value, rel=rtol)
    np.testing.assert_allclose(loss.backward(), ref_grad, rtol=rtol, atol=1e-7 if dtype == np.float32 else 0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bce_and_sigmoid_with_logits_of_magnitude_1e3_are_finite_and_match_torch(dtype):
    z = np.array([1000.0, -1000.0, 800.0, -800.0, 0.0], dtype)
    t = np.array([0.0, 1.0, 1.0, 0.0, 1.0], dtype)
    loss = nn.BCEWithLogitsLoss()
    value = loss.forward(z, t)
    grad = loss.backward()
    ref_value, ref_grad = torch_loss(torch.nn.BCEWithLogitsLoss(), z.astype(np.float64), t.astype(np.float64))
    assert np.isfinite(value) and np.all(np.isfinite(grad)) and grad.dtype == dtype
    np.testing.assert_allclose(value, ref_value, rtol=1e-12 if dtype == np.float64 else 1e-6)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-12 if dtype == np.float64 else 1e-6)

    sig = nn.Sigmoid()
    y = sig.forward(z)
    dx = sig.backward(np.ones_like(z))
    zt = torch.tensor(z.astype(np.float64), requires_grad=True)
    torch.sigmoid(zt).sum().backward()
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(dx))
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(y, torch.sigmoid(zt).detach().numpy(), rtol=rtol)
    np.testing.assert_allclose(dx, zt.grad.numpy(), rtol=rtol, atol=1e-30)


def test_sigmoid_keeps_relative_precision_in_the_far_tail():
    x = np.array([-40.0, -700.0, 40.0])
    expected = np.array([np.exp(-40.0) / (1 + np.exp(-40.0)), np.exp(-700.0) / (1 + np.exp(-700.0)), 1.0])
    np.testing.assert_allclose(nn.functional.sigmoid(x), expected, rtol=1e-14)


def test_losses_return_python_floats_and_recompute_each_forward():
    loss = nn.MSELoss()
    first = loss.forward(np.array([1.0, 2.0]), np.array([0.0, 0.0]))
    second = loss.forward(np.array([3.0]), np.array([1.0]))
    assert type(first) is float and first == 2.5
    assert second == 4.0
    np.testing.assert_array_equal(loss.backward(), [4.0])
