"""Every layer's backward against central differences and against PyTorch autograd, in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from chainrule import nn

TOL_NUMERIC = 1e-7  # the bar for backward vs central differences
TOL_TORCH = 1e-12   # same float64 computation, different code: only round-off may differ

SHAPES = [(1, 1), (3, 4), (7, 5), (16, 3)]


def make_activation(name: str) -> nn.Layer:
    return nn.LeakyReLU(0.2) if name == "leaky_relu" else nn.get_activation(name)


def torch_activation(name: str, x: torch.Tensor) -> torch.Tensor:
    return {
        "relu": torch.nn.functional.relu,
        "leaky_relu": lambda t: torch.nn.functional.leaky_relu(t, 0.2),
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "softmax": lambda t: torch.softmax(t, dim=-1),
        "identity": lambda t: t * 1,
    }[name](x)


def torch_vjp(fn, inputs: dict[str, np.ndarray], u: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Forward value of ``fn(**tensors)`` and the gradients of sum(fn * u) for every input."""
    tensors = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in inputs.items()}
    y = fn(**tensors)
    y.backward(torch.from_numpy(u))
    return y.detach().numpy(), {k: t.grad.numpy() for k, t in tensors.items()}


@pytest.mark.parametrize("name", sorted(nn.ACTIVATIONS))
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", [0, 1])
def test_activation_backward_matches_central_differences(name, shape, seed, check_layer, reldiff, away):
    rng = np.random.default_rng(seed)
    x = away(rng, shape) * 2
    u = rng.standard_normal(shape)
    (dx, dx_num), = check_layer(make_activation(name), x, u).values()
    assert dx.shape == x.shape and dx.dtype == np.float64
    assert reldiff(dx, dx_num) <= TOL_NUMERIC
    # A zero gradient everywhere would make the relative difference meaningless.
    assert np.linalg.norm(dx_num) > 1e-3 or name == "softmax" and shape[1] == 1


@pytest.mark.parametrize("name", sorted(nn.ACTIVATIONS))
@pytest.mark.parametrize("shape", SHAPES)
def test_activation_forward_and_backward_match_torch(name, shape, away):
    rng = np.random.default_rng(sum(shape))
    x = away(rng, shape) * 3
    u = rng.standard_normal(shape)
    layer = make_activation(name)
    y = layer.forward(x)
    dx = layer.backward(u)
    y_ref, grads_ref = torch_vjp(lambda x: torch_activation(name, x), {"x": x}, u)
    np.testing.assert_allclose(y, y_ref, rtol=TOL_TORCH, atol=1e-15)
    np.testing.assert_allclose(dx, grads_ref["x"], rtol=TOL_TORCH, atol=1e-14)


@pytest.mark.parametrize("in_features, out_features, n", [(1, 1, 1), (4, 3, 5), (6, 10, 2), (13, 7, 9)])
@pytest.mark.parametrize("init", ["he", "xavier", "course"])
def test_linear_backward_matches_central_differences(in_features, out_features, n, init, check_layer,
                                                     reldiff):
    rng = np.random.default_rng(in_features * 100 + out_features)
    layer = nn.Linear(in_features, out_features, init=init, rng=rng)
    layer.params["b"][...] = rng.standard_normal(out_features)  # a zero bias would hide a bias bug
    x = rng.standard_normal((n, in_features))
    u = rng.standard_normal((n, out_features))
    result = check_layer(layer, x, u)
    assert set(result) == {"x", "W", "b"}
    for name, (analytic, numeric) in result.items():
        assert analytic.shape == numeric.shape
        assert reldiff(analytic, numeric) <= TOL_NUMERIC, name


@given(n=st.integers(1, 6), fan_in=st.integers(1, 6), fan_out=st.integers(1, 6),
       seed=st.integers(0, 2**32 - 1))
def test_linear_matches_torch(n, fan_in, fan_out, seed):
    rng = np.random.default_rng(seed)
    layer = nn.Linear(fan_in, fan_out, rng=rng)
    layer.params["b"][...] = rng.standard_normal(fan_out)
    x = rng.standard_normal((n, fan_in))
    u = rng.standard_normal((n, fan_out))
    y = layer.forward(x)
    dx = layer.backward(u)
    inputs = {"x": x, "W": layer.params["W"], "b": layer.params["b"]}
    y_ref, g = torch_vjp(lambda x, W, b: x @ W + b, inputs, u)
    np.testing.assert_allclose(y, y_ref, rtol=TOL_TORCH, atol=1e-14)
    np.testing.assert_allclose(dx, g["x"], rtol=TOL_TORCH, atol=1e-14)
    np.testing.assert_allclose(layer.grads["W"], g["W"], rtol=TOL_TORCH, atol=1e-14)
    np.testing.assert_allclose(layer.grads["b"], g["b"], rtol=TOL_TORCH, atol=1e-14)
    # torch.nn.functional.linear stores the weight as (out, in): our W is its transpose.
    ref = torch.nn.functional.linear(torch.from_numpy(x), torch.from_numpy(layer.params["W"].T.copy()),
                                     torch.from_numpy(layer.params["b"]))
    np.testing.assert_allclose(y, ref.numpy(), rtol=TOL_TORCH, atol=1e-14)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "sigmoid", "tanh", "identity"])
@pytest.mark.parametrize("output", [None, "sigmoid", "softmax"])
def test_mlp_backward_matches_central_differences(activation, output, check_layer, reldiff, away):
    rng = np.random.default_rng(7)
    model = nn.mlp([3, 5, 4, 2], activation, output=output, rng=rng)
    for name, p in model.params.items():
        if name.endswith(".b"):
            p[...] = 0.5 * rng.standard_normal(p.shape)
    x = away(rng, (6, 3))
    u = rng.standard_normal((6, 2))
    result = check_layer(model, x, u)
    assert set(result) == {"x", "0.W", "0.b", "2.W", "2.b", "4.W", "4.b"}
    for name, (analytic, numeric) in result.items():
        assert reldiff(analytic, numeric) <= TOL_NUMERIC, name


def test_sequential_of_every_layer_backward_matches_central_differences(check_layer, reldiff, away):
    rng = np.random.default_rng(11)
    model = nn.Sequential(nn.Linear(4, 6, rng=rng), nn.Tanh(), nn.Linear(6, 5, rng=rng), nn.LeakyReLU(0.1),
                          nn.Identity(), nn.Linear(5, 5, rng=rng), nn.Sigmoid(), nn.Linear(5, 3, rng=rng),
                          nn.ReLU(), nn.Softmax())
    x = away(rng, (4, 4))
    u = rng.standard_normal((4, 3))
    result = check_layer(model, x, u)
    assert len(result) == 1 + 2 * 4
    for name, (analytic, numeric) in result.items():
        assert reldiff(analytic, numeric) <= TOL_NUMERIC, name


# mlp's leaky_relu uses the default slope 0.01, which is also torch.nn.LeakyReLU's default.
TORCH_ACTIVATIONS = {"relu": torch.nn.ReLU, "leaky_relu": torch.nn.LeakyReLU, "sigmoid": torch.nn.Sigmoid,
                     "tanh": torch.nn.Tanh, "identity": torch.nn.Identity}


@pytest.mark.parametrize("activation", sorted(TORCH_ACTIVATIONS))
@pytest.mark.parametrize("sizes", [[4, 3], [5, 8, 3], [6, 7, 5, 2]])
def test_mlp_matches_torch_sequential(activation, sizes):
    rng = np.random.default_rng(len(sizes))
    model = nn.mlp(sizes, activation, rng=rng)
    for name, p in model.params.items():
        if name.endswith(".b"):
            p[...] = rng.standard_normal(p.shape)
    modules: list[torch.nn.Module] = []
    for layer in model:
        if isinstance(layer, nn.Linear):
            lin = torch.nn.Linear(layer.in_features, layer.out_features, dtype=torch.float64)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(layer.params["W"].T))
                lin.bias.copy_(torch.from_numpy(layer.params["b"]))
            modules.append(lin)
        else:
            modules.append(TORCH_ACTIVATIONS[activation]())
    reference = torch.nn.Sequential(*modules)
    x = rng.standard_normal((9, sizes[0]))
    u = rng.standard_normal((9, sizes[-1]))
    xt = torch.tensor(x, requires_grad=True)
    yt = reference(xt)
    yt.backward(torch.from_numpy(u))

    y = model.forward(x)
    dx = model.backward(u)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=TOL_TORCH, atol=1e-13)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=TOL_TORCH, atol=1e-13)
    for i, mod in enumerate(reference):
        if isinstance(mod, torch.nn.Linear):
            np.testing.assert_allclose(model.grads[f"{i}.W"], mod.weight.grad.numpy().T, rtol=TOL_TORCH,
                                       atol=1e-13)
            np.testing.assert_allclose(model.grads[f"{i}.b"], mod.bias.grad.numpy(), rtol=TOL_TORCH,
                                       atol=1e-13)


def test_central_difference_reference_is_itself_correct(numgrad, reldiff):
    # Check the reference against an analytic derivative before trusting it with the layers.
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3))
    u = rng.standard_normal((4, 3))
    numeric = numgrad(lambda: np.sum(np.sin(x) * u + x**3), x)
    assert reldiff(numeric, np.cos(x) * u + 3 * x**2) <= 1e-9
    assert reldiff(numeric, 2 * (np.cos(x) * u + 3 * x**2)) > 0.3
