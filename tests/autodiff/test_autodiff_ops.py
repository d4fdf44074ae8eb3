"""Every operation's forward value and vector-Jacobian product, in float64, against central
differences (``chainrule.gradcheck.check_gradients``, and for a sample of cases the independent
helper in conftest.py) and against PyTorch autograd (to 1e-10), on random inputs including
broadcast cases."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from chainrule import autodiff as ad
from chainrule.gradcheck import check_gradients

LABELS = np.array([2, 0, 1, 2, 1])
PROBS = np.random.default_rng(7).dirichlet(np.ones(3), size=5)
FANCY = np.array([0, 2, 2, 1, 0, 2])
MASK = np.array([[True, False, True, True], [False, False, True, False], [True, True, False, True]])


def MATMUL(a, b):  # noqa: N802 - reads as a constant in the case table
    return a @ b


@dataclass
class Case:
    name: str
    ours: Callable
    theirs: Callable
    inputs: list  # (shape, domain) per operand; domain: "any", "pos" (in [0.5, 2]), "away0" (|x| >= 0.2)


CASES = [
    # arithmetic, with broadcasting on either side
    Case("add", lambda a, b: a + b, lambda a, b: a + b, [((3, 4), "any"), ((3, 4), "any")]),
    Case("add_bcast_row", lambda a, b: a + b, lambda a, b: a + b, [((3, 4), "any"), ((4,), "any")]),
    Case("add_bcast_outer", lambda a, b: a + b, lambda a, b: a + b, [((3, 1), "any"), ((1, 4), "any")]),
    Case("add_bcast_scalar", lambda a, b: a + b, lambda a, b: a + b, [((), "any"), ((2, 3), "any")]),
    Case("sub_bcast", lambda a, b: a - b, lambda a, b: a - b, [((2, 3, 4), "any"), ((3, 1), "any")]),
    Case("rsub_number", lambda a: 1.5 - a, lambda a: 1.5 - a, [((3, 2), "any")]),
    Case("neg", lambda a: -a, lambda a: -a, [((4,), "any")]),
    Case("mul_bcast", lambda a, b: a * b, lambda a, b: a * b, [((3, 4), "any"), ((3, 1), "any")]),
    Case("mul_self", lambda a: a * a, lambda a: a * a, [((5,), "any")]),
    Case("rmul_number", lambda a: 2 * a, lambda a: 2 * a, [((2, 2), "any")]),
    Case("div_bcast", lambda a, b: a / b, lambda a, b: a / b, [((3, 4), "any"), ((4,), "away0")]),
    Case("rdiv_number", lambda a: 1.5 / a, lambda a: 1.5 / a, [((3,), "away0")]),
    Case("pow_square", lambda a: a**2, lambda a: a**2, [((3, 4), "any")]),
    Case("pow_cube", lambda a: a**3, lambda a: a**3, [((3, 4), "any")]),
    Case("pow_fractional", lambda a: a**2.5, lambda a: a**2.5, [((3, 4), "pos")]),
    Case("pow_negative", lambda a: a**-1.5, lambda a: a**-1.5, [((6,), "pos")]),
    Case("pow_tensor_exponent", lambda a, b: a**b, lambda a, b: a**b, [((3, 4), "pos"), ((4,), "any")]),
    Case("rpow_number", lambda a: 2.0**a, lambda a: 2.0**a, [((5,), "any")]),
    # matmul in all NumPy forms
    Case("matmul_2d", lambda a, b: a @ b, lambda a, b: a @ b, [((3, 4), "any"), ((4, 5), "any")]),
    Case("matmul_vec_mat", lambda a, b: a @ b, lambda a, b: a @ b, [((4,), "any"), ((4, 5), "any")]),
    Case("matmul_mat_vec", lambda a, b: a @ b, lambda a, b: a @ b, [((3, 4), "any"), ((4,), "any")]),
    Case("matmul_vec_vec", lambda a, b: a @ b, lambda a, b: a @ b, [((4,), "any"), ((4,), "any")]),
    Case("matmul_batched", lambda a, b: a @ b, lambda a, b: a @ b, [((2, 3, 4), "any"), ((2, 4, 5), "any")]),
    Case("matmul_batch_bcast", MATMUL, MATMUL, [((2, 3, 4), "any"), ((4, 5), "any")]),
    Case("matmul_batch_one", MATMUL, MATMUL, [((1, 3, 4), "any"), ((2, 4, 2), "any")]),
    # elementwise functions
    Case("exp", ad.exp, torch.exp, [((3, 4), "any")]),
    Case("log", ad.log, torch.log, [((3, 4), "pos")]),
    Case("sqrt", ad.sqrt, torch.sqrt, [((3, 4), "pos")]),
    Case("tanh", ad.tanh, torch.tanh, [((3, 4), "any")]),
    Case("sin", ad.sin, torch.sin, [((3, 4), "any")]),
    Case("cos", ad.cos, torch.cos, [((3, 4), "any")]),
    Case("sigmoid", ad.sigmoid, torch.sigmoid, [((3, 4), "any")]),
    Case("softplus", ad.softplus, torch.nn.functional.softplus, [((3, 4), "any")]),
    Case("relu", ad.relu, torch.relu, [((3, 4), "away0")]),
    Case("leaky_relu", lambda a: ad.leaky_relu(a, 0.1),
         lambda a: torch.nn.functional.leaky_relu(a, 0.1), [((3, 4), "away0")]),
    Case("abs", ad.abs, torch.abs, [((3, 4), "away0")]),
    Case("maximum_bcast", ad.maximum, torch.maximum, [((3, 4), "any"), ((4,), "any")]),
    # reductions
    Case("sum_all", lambda a: a.sum(), lambda a: a.sum(), [((3, 4), "any")]),
    Case("sum_axis0", lambda a: a.sum(axis=0), lambda a: a.sum(dim=0), [((3, 4), "any")]),
    Case("sum_axes_keepdims", lambda a: ad.sum(a, axis=(0, 2), keepdims=True),
         lambda a: a.sum(dim=(0, 2), keepdim=True), [((2, 3, 4), "any")]),
    Case("sum_negative_axis", lambda a: a.sum(axis=-1), lambda a: a.sum(dim=-1), [((2, 3, 4), "any")]),
    Case("mean_all", lambda a: a.mean(), lambda a: a.mean(), [((3, 4), "any")]),
    Case("mean_axis1_keepdims", lambda a: a.mean(axis=1, keepdims=True),
         lambda a: a.mean(dim=1, keepdim=True), [((3, 4), "any")]),
    Case("mean_axes", lambda a: ad.mean(a, axis=(1, 2)), lambda a: a.mean(dim=(1, 2)), [((2, 3, 4), "any")]),
    Case("logsumexp", lambda a: ad.logsumexp(a, axis=1), lambda a: torch.logsumexp(a, dim=1),
         [((3, 4), "any")]),
    Case("logsumexp_keepdims_axis0", lambda a: ad.logsumexp(a, axis=0, keepdims=True),
         lambda a: torch.logsumexp(a, dim=0, keepdim=True), [((3, 4), "any")]),
    Case("logsumexp_axes", lambda a: ad.logsumexp(a, axis=(0, 2)), lambda a: torch.logsumexp(a, dim=(0, 2)),
         [((2, 3, 4), "any")]),
    Case("log_softmax", ad.log_softmax, lambda a: torch.log_softmax(a, dim=-1), [((3, 4), "any")]),
    Case("log_softmax_axis0", lambda a: ad.log_softmax(a, axis=0), lambda a: torch.log_softmax(a, dim=0),
         [((3, 4), "any")]),
    Case("softmax", ad.softmax, lambda a: torch.softmax(a, dim=-1), [((3, 4), "any")]),
    Case("cross_entropy_labels", lambda z: ad.cross_entropy(z, LABELS),
         lambda z: torch.nn.functional.cross_entropy(z, torch.tensor(LABELS)), [((5, 3), "any")]),
    Case("cross_entropy_probs", lambda z: ad.cross_entropy(z, PROBS),
         lambda z: torch.nn.functional.cross_entropy(z, torch.tensor(PROBS)), [((5, 3), "any")]),
    # shape and indexing
    Case("reshape", lambda a: a.reshape(4, 3), lambda a: a.reshape(4, 3), [((3, 4), "any")]),
    Case("reshape_flat", lambda a: ad.reshape(a, -1), lambda a: a.reshape(-1), [((2, 3, 2), "any")]),
    Case("transpose_T", lambda a: a.T, lambda a: a.T, [((3, 4), "any")]),
    Case("transpose_axes", lambda a: a.transpose(2, 0, 1), lambda a: a.permute(2, 0, 1),
         [((2, 3, 4), "any")]),
    Case("getitem_slice", lambda a: a[1:, ::2], lambda a: a[1:, ::2], [((3, 4), "any")]),
    Case("getitem_int", lambda a: a[1], lambda a: a[1], [((3, 4), "any")]),
    Case("getitem_fancy_repeats", lambda a: a[FANCY], lambda a: a[torch.tensor(FANCY)], [((3, 4), "any")]),
    Case("getitem_pairs", lambda a: a[np.arange(5), LABELS],
         lambda a: a[torch.arange(5), torch.tensor(LABELS)], [((5, 3), "any")]),
    Case("getitem_mask", lambda a: a[MASK], lambda a: a[torch.tensor(MASK)], [((3, 4), "any")]),
    Case("concatenate_axis0", lambda a, b: ad.concatenate([a, b]), lambda a, b: torch.cat([a, b]),
         [((2, 3), "any"), ((4, 3), "any")]),
    Case("concatenate_axis1", lambda a, b, c: ad.concatenate([a, b, c], axis=1),
         lambda a, b, c: torch.cat([a, b, c], dim=1), [((2, 3), "any"), ((2, 1), "any"), ((2, 2), "any")]),
    # a composite in which one input is used several times
    Case("composite_reuse", lambda a, b: ad.tanh(a @ b) * a.sum(axis=1, keepdims=True) + ad.exp(-a).mean(),
         lambda a, b: torch.tanh(a @ b) * a.sum(dim=1, keepdim=True) + torch.exp(-a).mean(),
         [((3, 4), "any"), ((4, 4), "any")]),
]


def _draw(rng: np.random.Generator, shape: tuple, domain: str) -> np.ndarray:
    if domain == "pos":
        return rng.uniform(0.5, 2.0, size=shape)
    x = rng.standard_normal(shape)
    if domain == "away0":
        x = np.sign(x) * (0.2 + np.abs(x))
    return x


def _backward(case: Case) -> tuple[list[np.ndarray], list[ad.Tensor], ad.Tensor, np.ndarray]:
    """Seeded random inputs for ``case``, their leaves after backward of a random upstream
    gradient, the output and that upstream gradient."""
    rng = np.random.default_rng(sum(map(ord, case.name)))
    inputs = [_draw(rng, shape, domain) for shape, domain in case.inputs]
    leaves = [ad.Tensor(x, requires_grad=True) for x in inputs]
    out = case.ours(*leaves)
    upstream = rng.standard_normal(out.shape)
    out.backward(upstream)
    return inputs, leaves, out, upstream


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_vjp_matches_check_gradients_and_pytorch(case, torch_vjp):
    inputs, leaves, out, upstream = _backward(case)

    def cost(params: dict[str, np.ndarray]) -> float:
        operands = [ad.Tensor(params[f"x{i}"]) for i in range(len(inputs))]
        return float(np.sum(case.ours(*operands).data * upstream))

    report = check_gradients(cost, {f"x{i}": x for i, x in enumerate(inputs)},
                             {f"x{i}": leaf.grad for i, leaf in enumerate(leaves)})
    assert report.passed and report.difference < 1e-8, str(report)
    torch_out = case.theirs(*[torch.tensor(x) for x in inputs]).numpy()
    np.testing.assert_allclose(out.data, torch_out, rtol=1e-12, atol=1e-14)
    theirs = torch_vjp(case.theirs, inputs, upstream, range(len(inputs)))
    for i, (x, leaf) in enumerate(zip(inputs, leaves, strict=True)):
        assert leaf.grad.shape == x.shape and leaf.grad.dtype == np.float64
        np.testing.assert_allclose(leaf.grad, theirs[i], rtol=1e-10, atol=1e-12, err_msg=f"operand {i}")


@pytest.mark.parametrize("case", CASES[::4], ids=[c.name for c in CASES[::4]])
def test_vjp_matches_an_independent_central_difference(case, numerical_gradient, relative_difference):
    """A second numerical reference, written from the definition in conftest.py."""
    inputs, leaves, _, upstream = _backward(case)
    for i, (x, leaf) in enumerate(zip(inputs, leaves, strict=True)):
        numeric = numerical_gradient(
            lambda: float(np.sum(case.ours(*[ad.Tensor(v) for v in inputs]).data * upstream)), x)
        assert relative_difference(leaf.grad, numeric) < 1e-8, f"operand {i}"


FLOAT32_CASES = ("mul_bcast", "matmul_2d", "log_softmax", "getitem_fancy_repeats", "cross_entropy_labels")


@pytest.mark.parametrize("case", [c for c in CASES if c.name in FLOAT32_CASES], ids=lambda c: c.name)
def test_float32_gradients_keep_float32(case):
    rng = np.random.default_rng(3)
    leaves = [ad.Tensor(_draw(rng, s, d).astype(np.float32), requires_grad=True) for s, d in case.inputs]
    out = case.ours(*leaves)
    assert out.dtype == np.float32
    out.backward(np.ones(out.shape, np.float32))
    assert all(leaf.grad.dtype == np.float32 for leaf in leaves)


def test_maximum_splits_ties_evenly_like_pytorch(torch_vjp):
    a, b = np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 3.0])
    ta, tb = ad.Tensor(a, requires_grad=True), ad.Tensor(b, requires_grad=True)
    ad.maximum(ta, tb).sum().backward()
    ga, gb = torch_vjp(torch.maximum, [a, b], np.ones(3), [0, 1])
    np.testing.assert_array_equal(ta.grad, [0.5, 1.0, 0.5])
    np.testing.assert_array_equal(ta.grad, ga)
    np.testing.assert_array_equal(tb.grad, gb)


def test_subgradients_at_zero_match_pytorch(torch_vjp):
    x = np.array([-1.0, 0.0, 2.0])
    for ours, theirs in [(ad.relu, torch.relu), (ad.abs, torch.abs)]:
        t = ad.Tensor(x, requires_grad=True)
        ours(t).sum().backward()
        np.testing.assert_array_equal(t.grad, torch_vjp(theirs, [x], np.ones(3), [0])[0])


def test_power_at_a_zero_base_matches_pytorch(torch_vjp):
    # b a^(b-1) is 0 * inf = NaN at a = b = 0; a^0 is the constant 1, so its gradient is 0 there.
    a, b = np.array([0.0, 0.0, 0.0, 2.0, -1.5]), np.array([0.0, 2.0, 3.0, 0.0, 2.0])
    ta, tb = ad.Tensor(a, requires_grad=True), ad.Tensor(b, requires_grad=True)
    (ta**tb).sum().backward()
    ga, gb = torch_vjp(torch.pow, [a, b], np.ones(5), [0, 1])
    np.testing.assert_array_equal(ta.grad, ga)
    np.testing.assert_array_equal(ta.grad, [0.0, 0.0, 0.0, 0.0, -3.0])
    np.testing.assert_array_equal(tb.grad[:4], gb[:4])  # log(-1.5) is NaN in both
    assert np.isnan(tb.grad[4]) and np.isnan(gb[4])
    t = ad.Tensor(np.array([0.0, -1.0]), requires_grad=True)
    (t**0).sum().backward()
    np.testing.assert_array_equal(t.grad, [0.0, 0.0])


def test_stable_ops_survive_extreme_inputs():
    z = ad.Tensor(np.array([[1000.0, -1000.0, 0.0], [-800.0, 5.0, 800.0]]), requires_grad=True)
    loss = (ad.cross_entropy(z, np.array([0, 1])) + ad.sigmoid(z).sum() + ad.logsumexp(z, axis=1).sum()
            + ad.softplus(z).sum())
    loss.backward()
    assert np.isfinite(loss.item()) and np.all(np.isfinite(z.grad))
    np.testing.assert_allclose(ad.logsumexp(z, axis=1).data, [1000.0, 800.0])
    reference = torch.nn.functional.softplus(torch.from_numpy(z.data)).numpy()
    np.testing.assert_allclose(ad.softplus(z).data, reference, rtol=1e-15, atol=0)


@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
       op=st.sampled_from(["add", "sub", "mul", "div", "maximum", "pow"]), seed=st.integers(0, 2**16))
def test_broadcasting_gradients_sum_back_to_each_operand_like_pytorch(shapes, op, seed, torch_vjp):
    ours = {"add": ad.add, "sub": ad.sub, "mul": ad.mul, "div": ad.div, "maximum": ad.maximum,
            "pow": ad.power}[op]
    theirs = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div,
              "maximum": torch.maximum, "pow": torch.pow}[op]
    rng = np.random.default_rng(seed)
    a, b = (rng.uniform(0.5, 2.0, s) for s in shapes.input_shapes)
    ta, tb = ad.Tensor(a, requires_grad=True), ad.Tensor(b, requires_grad=True)
    out = ours(ta, tb)
    assert out.shape == shapes.result_shape
    upstream = rng.standard_normal(out.shape)
    out.backward(upstream)
    ga, gb = torch_vjp(theirs, [a, b], upstream, [0, 1])
    assert ta.grad.shape == a.shape and tb.grad.shape == b.shape
    np.testing.assert_allclose(ta.grad, ga, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tb.grad, gb, rtol=1e-10, atol=1e-12)
