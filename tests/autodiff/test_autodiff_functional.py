"""grad / value_and_grad over plain NumPy inputs, and seed 002's graph as a worked example."""

from __future__ import annotations

import runpy
from pathlib import Path

import numpy as np
import pytest
import torch

from chainrule import autodiff as ad

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "seed002_graph.py"


def test_grad_of_a_function_of_arrays_matches_pytorch(torch_vjp):
    rng = np.random.default_rng(0)
    X, y, W = rng.standard_normal((6, 3)), rng.standard_normal(6), rng.standard_normal(3)

    def mse(w, X, y):
        return ((X @ w - y) ** 2).mean()

    value, g = ad.value_and_grad(mse)(W, X, y)
    assert isinstance(value, float) and isinstance(g, np.ndarray) and g.shape == (3,)
    assert value == pytest.approx(np.mean((X @ W - y) ** 2), rel=1e-14)
    expected = torch_vjp(lambda w, X, y: ((X @ w - y) ** 2).mean(), [W, X, y], np.array(1.0), [0])[0]
    np.testing.assert_allclose(g, expected, rtol=1e-12)
    gw, gX = ad.grad(mse, argnums=(0, 1))(W, X, y)
    np.testing.assert_allclose(gw, g)
    np.testing.assert_allclose(gX, 2 * np.outer(X @ W - y, W) / 6, rtol=1e-12)


def test_grad_over_a_dict_of_parameters_returns_a_dict():
    params = {"W1": np.ones((2, 3)), "b1": np.zeros(3), "unused": np.ones(4)}
    x = np.array([[1.0, 2.0]])

    def cost(p):
        return ad.tanh(x @ p["W1"] + p["b1"]).sum()

    g = ad.grad(cost)(params)
    assert set(g) == {"W1", "b1", "unused"}
    d = 1 - np.tanh(x @ params["W1"]) ** 2
    np.testing.assert_allclose(g["b1"], d[0])
    np.testing.assert_allclose(g["W1"], x.T @ d)
    # An input that does not influence the output has the exact gradient: zeros (documented).
    np.testing.assert_array_equal(g["unused"], np.zeros(4))


def test_grad_of_python_floats_and_constant_outputs():
    assert ad.grad(lambda t, x: t * x)(4.0, 2.0) == 2.0  # seed 000's J(theta) = theta x
    assert isinstance(ad.grad(lambda t: t**3)(2.0), float)
    value, g = ad.value_and_grad(lambda a: ad.Tensor(5.0))(np.ones(2))
    assert value == 5.0
    np.testing.assert_array_equal(g, np.zeros(2))


def test_a_result_cut_from_the_graph_is_an_error_not_zeros():
    # float(), .item() and .data all return the right value but no graph: zeros would be wrong.
    for cut in (lambda x: float((x * x).sum()), lambda x: (x * x).sum().item(),
                lambda x: (x * x).sum().data, lambda x: np.sum(x.data ** 2)):
        with pytest.raises(TypeError, match="must return a Tensor computed from its arguments, got"):
            ad.grad(cut)(np.ones(2))


def test_grad_rejects_what_cannot_be_differentiated():
    with pytest.raises(TypeError, match=r"argument 0 of <lambda> has dtype int64; only floating"):
        ad.grad(lambda x: x.sum())(np.arange(3))

    def f(p):
        return p["w"].sum()

    with pytest.raises(TypeError, match=r"argument 0 of f\['w'\]"):
        ad.grad(f)({"w": np.arange(3)})
    with pytest.raises(TypeError, match="integer 3; only floating values.*3.0"):
        ad.grad(lambda t: t * 2)(3)
    with pytest.raises(ValueError, match=r"must return a single number .*, got shape \(2,\)"):
        ad.grad(lambda x: x * 2)(np.ones(2))
    with pytest.raises(TypeError, match="argnums must be an int or a tuple of ints, got float 1.0"):
        ad.grad(lambda x: x.sum(), argnums=1.0)(np.ones(2))
    with pytest.raises(ValueError, match="argnums: 5 is not a valid position for a call with 1"):
        ad.grad(lambda x: x.sum(), argnums=[5])(np.ones(2))
    by_numpy_int = ad.grad(lambda a, b: (a * b).sum(), argnums=np.int64(1))
    np.testing.assert_array_equal(by_numpy_int(np.ones(2), 3 * np.ones(2)), np.ones(2))
    with pytest.raises(ValueError, match="argnums: 2 is not a valid position"):
        ad.grad(lambda x: x.sum(), argnums=2)(np.ones(2))


def test_grad_works_inside_no_grad_and_leaves_inputs_untouched():
    w = np.array([1.0, 2.0])
    before = w.copy()
    with ad.no_grad():
        g = ad.grad(lambda v: (v * v).sum())(w)
    np.testing.assert_array_equal(g, 2 * before)
    np.testing.assert_array_equal(w, before)


def test_seed002_example_three_witnesses_agree(capsys, tmp_path, relative_difference, numerical_gradient):
    example = runpy.run_path(str(EXAMPLE))
    example["main"](["--graph", str(tmp_path / "seed002.dot")])
    printed = capsys.readouterr().out
    assert "autodiff vs hand" in printed and "w9" in printed
    dot = (tmp_path / "seed002.dot").read_text()
    assert dot.count('label="getitem"') == 9 and dot.count('label="sigmoid"') == 1 and "w (w1..w9)" in dot
    w, x, y = example["W"], example["X"], example["Y"]
    g = example["gradients"](x, y, w)
    assert all(isinstance(v, np.ndarray) and v.shape == (9,) for v in g.values())
    np.testing.assert_allclose(g["autodiff"], g["hand"], rtol=1e-12, atol=1e-18)
    assert relative_difference(g["autodiff"], g["numerical"]) < 1e-8
    # Our own central differences over the autodiff forward, and PyTorch, as outside witnesses.
    w_copy = w.copy()
    own = numerical_gradient(lambda: float(example["loss"](ad.Tensor(w_copy), x, y).data), w_copy)
    assert relative_difference(g["autodiff"], own) < 1e-8
    tw = torch.tensor(w, requires_grad=True)
    tx = torch.tensor(x)
    y_pred = (torch.tanh(torch.exp((tw[0] * tx[0] + tw[1] * tx[1]) ** 2 + tw[5]) + tw[6])
              + torch.sigmoid(torch.sin(tw[2] * tx[2]) * (tw[3] * tx[3] + tw[4] * tx[4]) + tw[7]) * tw[8])
    ((y - y_pred) ** 2).backward()
    np.testing.assert_allclose(g["autodiff"], tw.grad.numpy(), rtol=1e-10, atol=1e-18)
    # The weights given are the weights used (seed 002's checker replaced them with 0.1s).
    np.testing.assert_array_equal(w, example["W"])


def test_seed002_other_points_agree(relative_difference):
    example = runpy.run_path(str(EXAMPLE))
    rng = np.random.default_rng(2)
    for _ in range(5):
        x, w, y = rng.standard_normal(5), rng.standard_normal(9), float(rng.standard_normal())
        g = example["gradients"](x, y, w)
        np.testing.assert_allclose(g["autodiff"], g["hand"], rtol=1e-10, atol=1e-14)
        assert relative_difference(g["autodiff"], g["numerical"]) < 1e-8
