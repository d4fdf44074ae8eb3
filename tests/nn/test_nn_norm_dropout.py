"""Dropout, BatchNorm1d, LayerNorm, train/eval modes and the L2 penalty, against PyTorch in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn

TOL = 1e-10


def _torch_grads(module: torch.nn.Module, x: np.ndarray, u: np.ndarray):
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y = module(xt)
    y.backward(torch.from_numpy(u))
    return y.detach().numpy(), xt.grad.numpy(), {k: p.grad.numpy() for k, p in module.named_parameters()}


@pytest.mark.parametrize("shape", [(2, 3), (8, 5), (32, 4)])
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_matches_torch_forward_backward_and_running_stats(shape, training):
    rng = np.random.default_rng(shape[0])
    n, d = shape
    ours = nn.BatchNorm1d(d, eps=1e-3, momentum=0.2)
    theirs = torch.nn.BatchNorm1d(d, eps=1e-3, momentum=0.2, dtype=torch.float64)
    w, b = rng.standard_normal(d), rng.standard_normal(d)
    ours.params["weight"][...], ours.params["bias"][...] = w, b
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(w))
        theirs.bias.copy_(torch.from_numpy(b))
    for _ in range(3):  # a few training steps move the running statistics
        x = rng.standard_normal(shape) * 3 + 1
        ours.forward(x)
        theirs(torch.from_numpy(x))
    np.testing.assert_allclose(ours.buffers["running_mean"], theirs.running_mean.numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(ours.buffers["running_var"], theirs.running_var.numpy(), rtol=0, atol=TOL)
    assert int(ours.buffers["num_batches_tracked"]) == int(theirs.num_batches_tracked) == 3
    ours.train(training)
    theirs.train(training)
    x, u = rng.standard_normal(shape) * 2 - 1, rng.standard_normal(shape)
    y = ours.forward(x)
    dx = ours.backward(u)
    ty, tdx, tgrads = _torch_grads(theirs, x, u)
    np.testing.assert_allclose(y, ty, rtol=0, atol=TOL)
    np.testing.assert_allclose(dx, tdx, rtol=0, atol=TOL)
    for k in ("weight", "bias"):
        np.testing.assert_allclose(ours.grads[k], tgrads[k], rtol=0, atol=TOL)
    if training:  # the statistics moved in both, identically
        np.testing.assert_allclose(ours.buffers["running_var"], theirs.running_var.numpy(), rtol=0, atol=TOL)


def test_batchnorm_cumulative_average_and_no_running_stats_match_torch():
    rng = np.random.default_rng(1)
    ours = nn.BatchNorm1d(3, momentum=None)
    theirs = torch.nn.BatchNorm1d(3, momentum=None, dtype=torch.float64)
    for _ in range(4):
        x = rng.standard_normal((5, 3))
        ours.forward(x)
        theirs(torch.from_numpy(x))
    np.testing.assert_allclose(ours.buffers["running_var"], theirs.running_var.numpy(), rtol=0, atol=TOL)
    plain = nn.BatchNorm1d(3, track_running_stats=False, affine=False).eval()
    tplain = torch.nn.BatchNorm1d(3, track_running_stats=False, affine=False, dtype=torch.float64).eval()
    x, u = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))
    y, dx = plain.forward(x), plain.backward(u)
    ty, tdx, _ = _torch_grads(tplain, x, u)
    assert plain.params == {} and plain.buffers == {}
    np.testing.assert_allclose(y, ty, rtol=0, atol=TOL)
    np.testing.assert_allclose(dx, tdx, rtol=0, atol=TOL)


@pytest.mark.parametrize("normalized_shape", [4, (4,), (3, 4)])
def test_layernorm_matches_torch(normalized_shape):
    rng = np.random.default_rng(2)
    tail = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
    x = rng.standard_normal((5, *tail)) * 4 + 2
    u = rng.standard_normal(x.shape)
    ours = nn.LayerNorm(normalized_shape, eps=1e-4)
    theirs = torch.nn.LayerNorm(normalized_shape, eps=1e-4, dtype=torch.float64)
    w, b = rng.standard_normal(tail), rng.standard_normal(tail)
    ours.params["weight"][...], ours.params["bias"][...] = w, b
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(w))
        theirs.bias.copy_(torch.from_numpy(b))
    y, dx = ours.forward(x), ours.backward(u)
    ty, tdx, tgrads = _torch_grads(theirs, x, u)
    np.testing.assert_allclose(y, ty, rtol=0, atol=TOL)
    np.testing.assert_allclose(dx, tdx, rtol=0, atol=TOL)
    for k in ("weight", "bias"):
        np.testing.assert_allclose(ours.grads[k], tgrads[k], rtol=0, atol=TOL)


def test_dropout_backward_matches_torch_with_the_same_mask():
    rng = np.random.default_rng(3)
    x, u = rng.standard_normal((50, 8)), rng.standard_normal((50, 8))
    layer = nn.Dropout(0.3, rng=0)
    y = layer.forward(x)
    dx = layer.backward(u)
    keep = y != 0
    assert 0.55 < keep.mean() < 0.85  # about 1 - p of 400 kept
    # torch's dropout is a multiplication by the (scaled) mask: differentiate exactly that.
    xt = torch.tensor(x, requires_grad=True)
    yt = xt * torch.from_numpy(keep / 0.7)
    yt.backward(torch.from_numpy(u))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=0, atol=TOL)


def test_dropout_is_seeded_fresh_per_forward_and_identity_in_eval():
    x = np.ones((4, 6))
    a, b = nn.Dropout(0.5, rng=7), nn.Dropout(0.5, rng=7)
    first, again = a.forward(x), b.forward(x)
    np.testing.assert_array_equal(first, again)            # same seed, same mask
    assert not np.array_equal(first, a.forward(x))          # a fresh mask per forward
    assert set(np.unique(first)) <= {0.0, 2.0}              # inverted: kept values scaled by 1/(1-p)
    a.eval()
    np.testing.assert_array_equal(a.forward(x), x)
    np.testing.assert_array_equal(a.backward(x * 3), x * 3)
    assert not np.shares_memory(a.forward(x), x)
    assert np.all(nn.Dropout(1.0, rng=0).forward(x) == 0) and np.array_equal(nn.Dropout(0.0).forward(x), x)
    with pytest.raises(ValueError, match=r"p must lie in \[0.0, 1.0\], got 1.5"):
        nn.Dropout(1.5)


def test_frozen_dropout_reuses_its_mask():
    layer = nn.Dropout(0.5, rng=1).freeze_mask()
    x = np.arange(1.0, 25.0).reshape(4, 6)
    np.testing.assert_array_equal(layer.forward(x), layer.forward(x))
    layer.freeze_mask(False)
    assert not np.array_equal(layer.forward(x), layer.forward(x))


def test_modes_propagate_and_evaluate_predict_restore_them():
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.BatchNorm1d(4), nn.ReLU(), nn.Dropout(0.5, rng=0),
                          nn.Linear(4, 2, rng=1))
    assert model.training and all(layer.training for layer in model)
    assert model.eval() is model and not any(layer.training for layer in model)
    model.train()
    model[3].eval()  # a mixed state is restored exactly
    X, y = np.random.default_rng(0).standard_normal((10, 3)), np.arange(10) % 2
    before = model[1].buffers["running_mean"].copy()
    p1, p2 = cr.predict_proba(model, X), cr.predict_proba(model, X)
    np.testing.assert_array_equal(p1, p2)  # eval mode: deterministic, running statistics used
    cr.evaluate(model, cr.CrossEntropyLoss(), X, y)
    cr.predict(model, X)
    np.testing.assert_array_equal(model[1].buffers["running_mean"], before)
    assert [layer.training for layer in model] == [True, True, True, False, True]
    with pytest.raises(TypeError, match="mode must be a bool"):
        model.train("eval")


def test_fit_trains_in_train_mode_validates_in_eval_mode():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 3)), rng.integers(0, 2, 64)
    model = nn.Sequential(nn.Linear(3, 8, rng=0), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5, rng=0),
                          nn.Linear(8, 2, rng=1))
    model.eval()
    history = cr.fit(model, cr.CrossEntropyLoss(), X, y, optimizer=cr.SGD(lr=0.1), epochs=2, batch_size=16,
                     validation_data=(X, y), rng=0)
    assert int(model[1].buffers["num_batches_tracked"]) == 8  # 2 epochs x 4 steps, no probe counted
    assert not any(layer.training for layer in model)         # restored
    # the validation metrics are the eval-mode ones, so they equal evaluate's on the same data
    after = cr.evaluate(model, cr.CrossEntropyLoss(), X, y)["loss"]
    assert history.history["val_loss"][-1] == pytest.approx(after, rel=1e-12)


def test_state_dict_holds_buffers_and_loads_them():
    model = nn.Sequential(nn.Linear(2, 3, rng=0), nn.BatchNorm1d(3))
    model.forward(np.random.default_rng(0).standard_normal((5, 2)))
    state = model.state_dict()
    assert set(state) == {"0.W", "0.b", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                          "1.num_batches_tracked"}
    other = nn.Sequential(nn.Linear(2, 3, rng=5), nn.BatchNorm1d(3))
    other.load_state_dict(state)
    np.testing.assert_array_equal(other[1].buffers["running_var"], model[1].buffers["running_var"])
    with pytest.raises(ValueError, match="missing"):
        other.load_state_dict({k: v for k, v in state.items() if "running" not in k})


def test_normalization_bad_input_messages():
    with pytest.raises(ValueError, match=r"x must have shape \(N, 4\), got \(3, 5\)"):
        nn.BatchNorm1d(4).forward(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="at least 2 rows"):
        nn.BatchNorm1d(4).forward(np.zeros((1, 4)))
    assert nn.BatchNorm1d(4).eval().forward(np.zeros((1, 4))).shape == (1, 4)
    with pytest.raises(TypeError, match="dtype float32, got float64"):
        nn.LayerNorm(4, dtype=np.float32).forward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"x must have shape \(N, ..., 3, 4\), got \(2, 4\)"):
        nn.LayerNorm((3, 4)).forward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="normalized_shape must be"):
        nn.LayerNorm(())


def test_float32_layers_stay_float32():
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    for layer in (nn.BatchNorm1d(3, dtype=np.float32), nn.LayerNorm(3, dtype=np.float32),
                  nn.Dropout(0.2, rng=0)):
        y = layer.forward(x)
        assert y.dtype == np.float32 and layer.backward(np.ones_like(y)).dtype == np.float32


def test_l2_penalty_matches_torch_and_fit_applies_it():
    rng = np.random.default_rng(4)
    model = nn.Sequential(nn.Linear(3, 5, rng=0), nn.Tanh(), nn.Linear(5, 2, rng=1))
    X, y = rng.standard_normal((7, 3)), rng.integers(0, 2, 7)
    loss = nn.L2Regularized(nn.CrossEntropyLoss(), model, lambd=0.7)
    value = loss.forward(model.forward(X), y)
    model.backward(loss.backward())
    loss.add_penalty_grads()
    W = {k: torch.tensor(v, requires_grad=True) for k, v in model.params.items()}
    z = torch.tanh(torch.from_numpy(X) @ W["0.W"] + W["0.b"]) @ W["2.W"] + W["2.b"]
    t = torch.nn.functional.cross_entropy(z, torch.from_numpy(y)) + 0.7 / (2 * 7) * (
        (W["0.W"] ** 2).sum() + (W["2.W"] ** 2).sum())
    t.backward()
    assert value == pytest.approx(t.item(), abs=TOL)
    for k, p in W.items():
        np.testing.assert_allclose(model.grads[k], p.grad.numpy(), rtol=0, atol=TOL)
    # fit adds the penalty's gradient: one SGD step equals the torch step
    fresh = nn.Sequential(nn.Linear(3, 5, rng=0), nn.Tanh(), nn.Linear(5, 2, rng=1))
    cr.fit(fresh, nn.L2Regularized(nn.CrossEntropyLoss(), fresh, 0.7), X, y, optimizer=cr.SGD(lr=0.5),
           epochs=1, rng=0)
    for k, p in W.items():
        expected = p.detach().numpy() - 0.5 * p.grad.numpy()
        np.testing.assert_allclose(fresh.params[k], expected, rtol=0, atol=TOL)


def test_summary_counts_and_shapes():
    model = nn.Sequential(nn.Linear(64, 32, rng=0), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.2),
                          nn.Sequential(nn.Linear(32, 10, rng=1), nn.LayerNorm(10)))
    s = model.summary()
    assert [r.name for r in s.rows] == ["0", "1", "2", "3", "4.0", "4.1"]
    assert [r.output_shape for r in s.rows] == [(None, 32)] * 4 + [(None, 10)] * 2
    assert s.trainable_params == 64 * 32 + 32 + 2 * 32 + 32 * 10 + 10 + 2 * 10
    assert s.non_trainable_params == 64 and s.total_params == s.trainable_params + 64
    text = str(s)
    assert "BatchNorm1d" in text and "(N, 32)" in text and f"Total params: {s.total_params:,}" in text
    assert model[1].training and int(model[1].buffers["num_batches_tracked"]) == 0  # untouched
    unknown = nn.Sequential(nn.ReLU(), nn.Linear(3, 2, rng=0)).summary()
    assert [r.output_shape for r in unknown.rows] == [None, None]
    assert nn.Sequential(nn.ReLU(), nn.Linear(3, 2, rng=0)).summary((3,)).rows[1].output_shape == (None, 2)


def test_check_model_checks_the_penalty_too():
    rng = np.random.default_rng(6)
    X, y = rng.standard_normal((6, 3)), rng.integers(0, 3, 6)
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.Tanh(), nn.Linear(4, 3, rng=1))
    report = cr.check_model(model, nn.L2Regularized(nn.CrossEntropyLoss(), model, lambd=2.0), X, y)
    assert report.passed, str(report)

    class Forgetful(nn.L2Regularized):
        def add_penalty_grads(self, grads=None):
            pass  # the cost has the penalty, the gradient lacks it

    bad = cr.check_model(model, Forgetful(nn.CrossEntropyLoss(), model, lambd=2.0), X, y)
    assert not bad.passed
    assert {k for k, r in bad.parameters.items() if not r.passed} == {"0.W", "2.W"}  # the biases are right
