"""The batched perturbation costs (gradcheck.batched) against the per-element loop they replace.

Every reference here is the plain loop: set one element to θ ± eps, run the layers' forward (or
the loss), restore. The batched numbers must match it to rounding, give the same central
differences within the loop's own rounding noise, the same kink crossings, and check_model must
reach the same verdicts, patterns and blame either way, on correct networks and on every mutant
of the mutation suite.
"""

import tracemalloc

import numpy as np
import pytest
import test_gradcheck_mutants as mutants

from chainrule.gradcheck import batched, check_layer, check_loss, check_model
from chainrule.gradcheck.noise import U
from chainrule.gradcheck.progress import CheckProgress, wanted
from chainrule.nn import (
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    Identity,
    Layer,
    LeakyReLU,
    Linear,
    MSELoss,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)

# The rounding allowance of one cost evaluation, in ulps of the cost's size: the bar the two paths'
# central differences must agree within.
NOISE_ULPS = 100.0

EPS = 1e-6
N = 6


def _loop(cost, arr, eps=EPS, probe=None):
    """f(θ + eps e_k), f(θ - eps e_k) for every element of ``arr``, moved in place and restored;
    ``probe()`` (optional) the kink state after an evaluation."""
    fp, fm, crossed = np.empty(arr.size), np.empty(arr.size), np.zeros(arr.size, bool)
    state0 = probe() if probe else None
    for k in range(arr.size):
        idx = np.unravel_index(k, arr.shape)
        old = arr[idx]
        arr[idx] = old + eps
        fp[k] = cost()
        c = probe() != state0 if probe else False
        arr[idx] = old - eps
        fm[k] = cost()
        crossed[k] = c or (probe() != state0 if probe else False)
        arr[idx] = old
    return fp, fm, crossed


def _assert_same(batched_costs, reference, scale):
    """Costs equal to rounding; central differences within the loop's rounding noise."""
    (bp, bm, bc), (rp, rm, rc) = batched_costs, reference
    size = max(scale, np.abs(rp).max(), 1e-300)
    assert np.max(np.abs(bp - rp)) <= 1e-14 * size
    assert np.max(np.abs(bm - rm)) <= 1e-14 * size
    gb, gr = (bp - bm) / (2 * EPS), (rp - rm) / (2 * EPS)
    noise = NOISE_ULPS * U * size / EPS
    assert np.max(np.abs(gb - gr)) <= noise
    np.testing.assert_array_equal(bc, rc)


ACTIVATIONS = [ReLU, LeakyReLU, Sigmoid, Tanh, Identity, Softmax]


def _target(loss_cls, rng, out, probs=False):
    if loss_cls is CrossEntropyLoss:
        return rng.dirichlet(np.ones(out), N) if probs else rng.integers(0, out, N)
    if loss_cls is BCEWithLogitsLoss:
        return rng.integers(0, 2, (N, out)).astype(float)
    return rng.standard_normal((N, out))


def _probe_chain(model, X):
    """Sign pattern of every ReLU-family input in a forward pass of ``model`` (a Sequential)."""
    def leaves(layer):
        if isinstance(layer, Sequential):
            return [leaf for sub in layer.layers for leaf in leaves(sub)]
        return [layer]

    def probe():
        x, signs = X, []
        for layer in leaves(model):
            if isinstance(layer, (ReLU, LeakyReLU)):
                signs.append((x > 0).ravel())
            x = layer.forward(x)
        return np.concatenate(signs).tobytes() if signs else b""

    return probe


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize(("loss_cls", "out", "probs"), [
    (CrossEntropyLoss, 4, False), (CrossEntropyLoss, 4, True), (BCEWithLogitsLoss, 1, False),
    (BCEWithLogitsLoss, 2, False), (MSELoss, 3, False)])
def test_model_costs_equal_the_loop(act, loss_cls, out, probs):
    rng = np.random.default_rng(3)
    model = Sequential(Linear(4, 5, rng=1), act(), Linear(5, 5, rng=2), Tanh(), Linear(5, out, rng=3))
    loss = loss_cls()
    X, y = rng.standard_normal((N, 4)), _target(loss_cls, rng, out, probs)
    costs = batched.model_costs(model, loss, X, y)
    assert costs is not None and costs.f0 == loss.forward(model.forward(X), y)
    for name, arr in model.params.items():
        got = costs(name, np.arange(arr.size), np.full(arr.size, EPS))
        ref = _loop(lambda: loss.forward(model.forward(X), y), arr)
        _assert_same(got, ref, 1.0)


def test_nested_sequentials_and_kink_crossings_equal_the_loop():
    rng = np.random.default_rng(5)
    inner = Sequential(Linear(3, 6, rng=1), ReLU(), Sequential(Linear(6, 6, rng=2), LeakyReLU(0.1)))
    model = Sequential(inner, Softmax(), Linear(6, 3, rng=3))
    X, y = rng.standard_normal((N, 3)), rng.integers(0, 3, N)
    # put a ReLU input within eps of 0, so that some perturbations cross the kink
    z = X @ inner[0].params["W"] + inner[0].params["b"]
    inner[0].params["b"][0] -= z[0, 0] - 0.3 * EPS
    loss = CrossEntropyLoss()
    costs = batched.model_costs(model, loss, X, y)
    assert set(costs.names) == set(model.params) and "0.2.0.W" in costs.names
    probe = _probe_chain(model, X)
    crossings = 0
    for name, arr in model.params.items():
        got = costs(name, np.arange(arr.size), np.full(arr.size, EPS))
        ref = _loop(lambda: loss.forward(model.forward(X), y), arr, probe=probe)
        _assert_same(got, ref, 1.0)
        crossings += int(ref[2].sum())
    assert crossings > 0


@pytest.mark.parametrize("act", [ReLU, LeakyReLU, Tanh, Sigmoid, Identity])
@pytest.mark.parametrize("eps", [EPS, 1e-2])
def test_three_layers_taken_at_once_equal_the_loop(act, eps):
    """Linear -> activation -> Linear from a moved column (the series path), with a ReLU-family input
    within eps of its kink (those copies go layer by layer), and with steps too large for the series."""
    rng = np.random.default_rng(8)
    model = Sequential(Linear(3, 5, rng=1), Tanh(), Linear(5, 6, rng=2), act(), Linear(6, 4, rng=3))
    X, y = rng.standard_normal((N, 3)), rng.integers(0, 4, N)
    z = np.tanh(X @ model[0].params["W"] + model[0].params["b"]) @ model[2].params["W"]
    model[2].params["b"][1] = -z[2, 1] + 1e-3 * eps  # layer 3's input (2, 1) sits eps / 1000 from 0
    costs = batched.model_costs(model, CrossEntropyLoss(), X, y)
    assert costs._sandwich(2)
    probe = _probe_chain(model, X)
    loss = CrossEntropyLoss()
    for name in ("0.W", "0.b"):
        arr = model.params[name]
        got = costs(name, np.arange(arr.size), np.full(arr.size, eps))
        ref = _loop(lambda: loss.forward(model.forward(X), y), arr, eps=eps, probe=probe)
        (bp, bm, bc), (rp, rm, rc) = got, ref
        assert np.max(np.abs(bp - rp)) <= 1e-14 and np.max(np.abs(bm - rm)) <= 1e-14
        np.testing.assert_array_equal(bc, rc)
        if act in (ReLU, LeakyReLU) and eps == EPS:
            assert rc.any()  # the kink was crossed, and the batched path saw it


@pytest.mark.parametrize("make", [lambda: Linear(4, 3, rng=0), *ACTIVATIONS,
                                  lambda: Sequential(Linear(4, 5, rng=0), Sigmoid(), Linear(5, 4, rng=1))],
                         ids=["Linear", *(a.__name__ for a in ACTIVATIONS), "Sequential"])
def test_layer_costs_equal_the_loop(make):
    rng = np.random.default_rng(11)
    layer = make()
    x = rng.standard_normal((N, 4))
    dout = rng.standard_normal(np.shape(layer.forward(x)))
    costs = batched.layer_costs(layer, x, dout)
    assert costs is not None and costs.names[0] == "x"
    scale = float(np.abs(dout * layer.forward(x)).sum())
    for name, arr in {"x": x, **layer.params}.items():
        got = costs(name, np.arange(arr.size), np.full(arr.size, EPS))
        ref = _loop(lambda: float(np.sum(dout * layer.forward(x))), arr)
        _assert_same(got, ref, scale)


@pytest.mark.parametrize(("loss_cls", "shape"), [(CrossEntropyLoss, (N, 4)), (BCEWithLogitsLoss, (N,)),
                                                 (BCEWithLogitsLoss, (N, 2)), (MSELoss, (N, 3))])
def test_loss_costs_equal_the_loop(loss_cls, shape):
    rng = np.random.default_rng(2)
    z = rng.standard_normal(shape) * 3
    t = (rng.integers(0, shape[1], N) if loss_cls is CrossEntropyLoss
         else rng.integers(0, 2, shape).astype(float) if loss_cls is BCEWithLogitsLoss
         else rng.standard_normal(shape))
    loss = loss_cls()
    costs = batched.loss_costs(loss, z, t)
    got = costs("logits", np.arange(z.size), np.full(z.size, EPS))
    _assert_same(got, _loop(lambda: loss.forward(z, t), z), 1.0)


def test_a_subset_of_elements_and_other_steps():
    rng = np.random.default_rng(0)
    model = Sequential(Linear(4, 6, rng=1), Tanh(), Linear(6, 3, rng=2))
    loss, X, y = CrossEntropyLoss(), rng.standard_normal((N, 4)), rng.integers(0, 3, N)
    costs = batched.model_costs(model, loss, X, y)
    idx = np.array([17, 3, 3, 0])
    steps = np.array([1e-3, 1e-6, 1e-4, 1e-5])
    fp, fm, _ = costs("0.W", idx, steps)
    W = model.params["0.W"]
    for k, (i, h) in enumerate(zip(idx, steps, strict=True)):
        old = W.flat[i]
        W.flat[i] = old + h
        assert fp[k] == pytest.approx(loss.forward(model.forward(X), y), rel=1e-14)
        W.flat[i] = old - h
        assert fm[k] == pytest.approx(loss.forward(model.forward(X), y), rel=1e-14)
        W.flat[i] = old


def test_large_steps_leave_the_series_and_stay_exact():
    """Cross-entropy takes small outer-product moves from a series; large ones are evaluated in full."""
    rng = np.random.default_rng(4)
    model = Sequential(Linear(3, 4, rng=1), Sigmoid(), Linear(4, 5, rng=2))
    loss, X, y = CrossEntropyLoss(), rng.standard_normal((N, 3)) * 5, rng.integers(0, 5, N)
    costs = batched.model_costs(model, loss, X, y)
    W = model.params["0.W"]
    for h in (1e-1, 1e-2, 1e-4):
        fp, fm, _ = costs("0.W", np.arange(W.size), np.full(W.size, h))
        rp, rm, _ = _loop(lambda: loss.forward(model.forward(X), y), W, eps=h)
        assert np.max(np.abs(fp - rp)) <= 1e-14 and np.max(np.abs(fm - rm)) <= 1e-14


def test_chunks_within_a_budget_give_the_same_numbers():
    rng = np.random.default_rng(1)
    model = Sequential(Linear(8, 32, rng=1), ReLU(), Linear(32, 32, rng=2), Tanh(), Linear(32, 4, rng=3))
    loss, X, y = CrossEntropyLoss(), rng.standard_normal((N, 8)), rng.integers(0, 4, N)
    whole = batched.model_costs(model, loss, X, y)
    small = batched.model_costs(model, loss, X, y, budget=64 * 1024)
    for name, arr in model.params.items():
        a = whole(name, np.arange(arr.size), np.full(arr.size, EPS))
        b = small(name, np.arange(arr.size), np.full(arr.size, EPS))
        np.testing.assert_allclose(a[0], b[0], rtol=1e-14)
        np.testing.assert_allclose(a[1], b[1], rtol=1e-14)
        np.testing.assert_array_equal(a[2], b[2])


def test_the_budget_bounds_the_memory_a_batch_takes():
    """NumPy reports its buffers to tracemalloc: the peak stays near the budget, far below what the
    whole parameter in one batch would take (2 x 4096 copies of a (16, 64) activation: 67 MB)."""
    rng = np.random.default_rng(1)
    model = Sequential(Linear(8, 64, rng=1), Tanh(), Linear(64, 64, rng=2), Tanh(), Linear(64, 64, rng=3),
                       Tanh(), Linear(64, 4, rng=4))
    loss, X, y = CrossEntropyLoss(), rng.standard_normal((16, 8)), rng.integers(0, 4, 16)
    budget = 2**20
    costs = batched.model_costs(model, loss, X, y, budget=budget)
    tracemalloc.start()
    try:
        costs("2.W", np.arange(4096), np.full(4096, EPS))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= 2 * budget


class Doubler(Layer):
    """A user layer that does not opt in."""

    def forward(self, x):
        return 2 * x

    def backward(self, dout):
        return 2 * dout


class OwnForwardLinear(Linear):
    """Overrides forward: Linear's batched methods no longer describe it."""

    def forward(self, x):
        return super().forward(x) * 1.5


class OwnForwardLoss(MSELoss):
    def forward(self, logits, target):
        return 2 * super().forward(logits, target)


def test_what_does_not_opt_in_gets_the_per_element_path():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((N, 3)), rng.integers(0, 3, N)
    ce = CrossEntropyLoss()
    assert batched.model_costs(Sequential(Linear(3, 3, rng=0), Doubler()), ce, X, y) is None
    assert batched.model_costs(Sequential(OwnForwardLinear(3, 3, rng=0)), ce, X, y) is None
    assert batched.layer_costs(Doubler(), X, X * 0 + 1) is None
    assert batched.loss_costs(OwnForwardLoss(), X, X) is None
    tied = Sequential(Linear(3, 3, rng=0), Tanh(), Linear(3, 3, rng=1))
    tied[2].params["W"] = tied[0].params["W"]
    assert batched.model_costs(tied, ce, X, y) is None

    class Scaled(Sequential):
        def forward(self, x):
            return 3 * super().forward(x)

    assert batched.model_costs(Scaled(Linear(3, 3, rng=0)), ce, X, y) is None
    # ...and are still checked correctly, element by element
    report = check_model(Sequential(Linear(3, 3, rng=0), Doubler(), Linear(3, 3, rng=1)), ce, X, y)
    assert report.passed


def _same_reports(a, b):
    assert (a.passed, a.blame, a.outcome if hasattr(a, "outcome") else None) == \
           (b.passed, b.blame, b.outcome if hasattr(b, "outcome") else None)
    assert np.isnan(a.difference) == np.isnan(b.difference)
    groups = [(a.parameters, b.parameters)]
    groups += [(la.parameters, lb.parameters) for la, lb in zip(a.layers or [], b.layers or [], strict=True)]
    if a.loss is not None:
        groups.append((a.loss.parameters, b.loss.parameters))
    for pa, pb in groups:
        assert pa.keys() == pb.keys()
        for k in pa:
            ra, rb = pa[k], pb[k]
            assert (ra.passed, ra.pattern, ra.detail, ra.kinks, ra.checked, ra.status) == \
                   (rb.passed, rb.pattern, rb.detail, rb.kinks, rb.checked, rb.status), k
            if ra.factor is not None or rb.factor is not None:
                assert ra.factor == pytest.approx(rb.factor, rel=1e-6)
            if ra.numerical is not None:
                np.testing.assert_allclose(ra.numerical, rb.numerical, rtol=1e-6, atol=1e-9)
            # the worst elements' errors (indices may swap between exact ties, as in a transposed W)
            np.testing.assert_allclose([w.error for w in ra.worst], [w.error for w in rb.worst], rtol=1e-6)


def _opt_in(cls):
    """A mutant redeclaring the batched methods in its own class body: its forward override only
    records its input, so Linear's (or the activation's) batched forward still describes it."""
    for attr in ("forward_rows", "elementwise", "perturbed_columns", "input_change"):
        if getattr(cls, attr) is not getattr(Layer, attr):  # what the layer itself provides
            setattr(cls, attr, getattr(cls, attr))
    return cls


@pytest.mark.parametrize(("where", "cls", "bug", "pattern", "expected"), mutants.CASES)
def test_mutants_get_the_same_report_from_both_paths(where, cls, bug, pattern, expected, monkeypatch):
    monkeypatch.setattr(mutants, "_layer_mutant",
                        lambda base, b, make=mutants._layer_mutant: _opt_in(make(base, b)))
    rng = np.random.default_rng(7)
    model, loss, X, y = _mutant_model(where, cls, bug, rng)
    assert batched.model_costs(model, loss, X, y) is not None  # the batched path really runs
    fast, slow = check_model(model, loss, X, y), check_model(model, loss, X, y, batched=False)
    assert not fast.passed
    _same_reports(fast, slow)


def _mutant_model(where, cls, bug, rng):
    """The mutation suite's model for one case (as test_mutant_is_caught_blamed_and_named builds it)."""
    if where == "layer":
        X, y, out = mutants._data(CrossEntropyLoss, rng)
        if cls is Linear:
            width = 5 if bug is mutants.LINEAR_TRANSPOSE_SHAPE else 4
            mutant = mutants._layer_mutant(Linear, bug)(4, width, rng=1)
            model = Sequential(Linear(3, 4, rng=0), Tanh(), mutant, Tanh(), Linear(width, out, rng=2))
        else:
            model = Sequential(Linear(3, 4, rng=0), mutants._layer_mutant(cls, bug)(), Linear(4, out, rng=2))
        return model, CrossEntropyLoss(), X, y
    X, y, out = mutants._data(cls, rng)
    model = Sequential(Linear(3, 4, rng=0), Tanh(), Linear(4, out, rng=2))
    return model, mutants._loss_mutant(cls, bug)(), X, y


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_correct_networks_get_the_same_report_from_both_paths(act):
    rng = np.random.default_rng(9)
    model = Sequential(Linear(5, 8, rng=1), act(), Sequential(Linear(8, 8, rng=2), Tanh()),
                       Linear(8, 3, rng=3))
    X, y = rng.standard_normal((N, 5)), rng.integers(0, 3, N)
    fast = check_model(model, CrossEntropyLoss(), X, y)
    slow = check_model(model, CrossEntropyLoss(), X, y, batched=False)
    assert fast.passed
    _same_reports(fast, slow)
    for name, r in fast.parameters.items():  # the central differences themselves: within the loop's noise
        assert np.max(np.abs(r.numerical - slow.parameters[name].numerical)) <= NOISE_ULPS * U * 2 / EPS


def test_layer_and_loss_checks_take_the_switch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, 4))
    for layer in (Linear(4, 3, rng=0), Softmax(), Tanh()):
        a = check_layer(layer, x)
        b = check_layer(layer, x, batched=False)
        assert a.passed and b.passed
        for k in a.parameters:
            np.testing.assert_allclose(a.parameters[k].numerical, b.parameters[k].numerical, rtol=1e-6)
    a = check_loss(CrossEntropyLoss(), x, rng.integers(0, 4, N))
    b = check_loss(CrossEntropyLoss(), x, rng.integers(0, 4, N), batched=False)
    assert a.passed and b.passed


def test_progress_appears_only_for_long_checks():
    now = [0.0]
    bar = CheckProgress(1000, True, clock=lambda: now[0])
    now[0] = 0.1
    bar.advance(500)  # half done in 0.1 s: projected 0.2 s, and still in the grace period
    assert not bar.shown
    now[0] = 0.6
    bar.advance(10)  # 510 in 0.6 s: projected 1.2 s
    assert not bar.shown and bar.projected() == pytest.approx(0.6 * 1000 / 510)
    slow = CheckProgress(1000, True, clock=lambda: now[0])
    now[0] = 1.6
    slow.advance(100)  # 100 in 1 s: projected 10 s
    assert slow.shown
    slow.close()
    off = CheckProgress(1000, False, clock=lambda: now[0])
    now[0] = 100.0
    off.advance(1)
    assert not off.shown


def test_progress_is_off_under_pytest_unless_asked():
    assert wanted(None) is False
    assert wanted(True) is True and wanted(False) is False
    with pytest.raises(TypeError, match="progress must be"):
        wanted("yes")
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((N, 3)), rng.integers(0, 3, N)
    model = Sequential(Linear(3, 4, rng=0), Tanh(), Linear(4, 3, rng=1))
    assert check_model(model, CrossEntropyLoss(), X, y, progress=True).passed
