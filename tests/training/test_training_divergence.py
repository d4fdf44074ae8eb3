"""Divergence (issue 13 item 2): never a diverged model returned as trained, restored parameters
verified finite, an exploding finite loss stopped with the epoch named, strict JSON history."""

import json
import math

import numpy as np
import pytest

from chainrule import nn
from chainrule.data import make_spiral
from chainrule.optim import SGD, Adam
from chainrule.training import TrainingDiverged, evaluate, fit


def _spiral(n=150):
    return make_spiral(n, rng=0)


def _assert_restored_and_finite(model, X, y, exc):
    metrics = evaluate(model, nn.CrossEntropyLoss(), X, y)
    assert math.isfinite(metrics["loss"]) and metrics["loss"] < 10
    assert all(np.all(np.isfinite(v)) for v in model.params.values())
    assert np.all(np.isfinite(model.forward(X)))
    assert f"epoch {exc.epoch}, step {exc.step}" in str(exc)


def test_lr_1e300_restores_parameters_with_a_finite_loss():
    X, y = _spiral()
    model = nn.mlp([2, 32, 3], rng=0)
    with pytest.raises(TrainingDiverged) as info:
        fit(model, nn.CrossEntropyLoss(), X, y, optimizer=SGD(1e300), epochs=5, batch_size=32)
    _assert_restored_and_finite(model, X, y, info.value)


def test_lr_1e150_one_full_batch_epoch_never_returns_normally():
    X, y = _spiral()
    for validation in (None, (X[:30], y[:30])):
        model = nn.mlp([2, 32, 3], rng=0)
        before = {k: v.copy() for k, v in model.params.items()}
        with pytest.raises(TrainingDiverged) as info:
            fit(model, nn.CrossEntropyLoss(), X, y, optimizer=SGD(1e150), epochs=1,
                validation_data=validation)
        exc = info.value
        assert (exc.epoch, exc.step) == (1, 1) and "after the epoch's last update" in str(exc)
        assert (exc.restored_epoch, exc.restored_step) == (0, 0)
        assert all(np.array_equal(model.params[k], v) for k, v in before.items())
        _assert_restored_and_finite(model, X, y, exc)


@pytest.mark.parametrize("optimizer", [SGD(1e6), Adam(1e6)], ids=["sgd", "adam"])
def test_lr_1e6_exploding_finite_loss_stops_naming_the_epoch(optimizer):
    X, y = _spiral()
    model = nn.mlp([2, 64, 64, 3], rng=0)
    with pytest.raises(TrainingDiverged, match=r"training diverged at epoch \d+, step \d+ of 5: the loss "
                                               r"(exploded to|is (nan|inf))") as info:
        fit(model, nn.CrossEntropyLoss(), X, y, optimizer=optimizer, epochs=20, batch_size=32)
    exc = info.value
    assert exc.epoch == 1  # it blows up at once, and is stopped at once
    assert not exc.loss <= 100 * math.log(3)
    _assert_restored_and_finite(model, X, y, exc)


def test_lr_1000_sgd_the_cli_case_is_stopped():
    X, y = _spiral(300)
    model = nn.mlp([2, 64, 64, 3], rng=0)
    with pytest.raises(TrainingDiverged, match="exploded to .* over 100x the chance-level loss 1.099"):
        fit(model, nn.CrossEntropyLoss(), X, y, optimizer=SGD(1000.0), epochs=100, batch_size=32)


def test_max_loss_bound_for_regression_and_off_switch():
    gen = np.random.default_rng(0)
    X = gen.standard_normal((64, 3))
    Y = X @ gen.standard_normal((3, 2))
    model = nn.mlp([3, 16, 2], rng=0)
    with pytest.raises(TrainingDiverged, match="over 1000x the first loss"):
        fit(model, nn.MSELoss(), X, Y, optimizer=SGD(1.0), epochs=50, batch_size=16)
    # max_loss=None keeps only the NaN/inf check: the same run then goes on until it overflows
    model = nn.mlp([3, 16, 2], rng=0)
    with pytest.raises(TrainingDiverged, match="the loss is (nan|inf)") as info:
        fit(model, nn.MSELoss(), X, Y, optimizer=SGD(1.0), epochs=50, batch_size=16, max_loss=None)
    assert info.value.restored_epoch >= 0
    # a healthy run is never stopped
    model = nn.mlp([3, 16, 2], rng=0)
    h = fit(model, nn.MSELoss(), X, Y, optimizer=SGD(0.05), epochs=30, batch_size=16)
    assert h["loss"][-1] < 0.2 * h["loss"][0]


class MinusInfAfter(nn.Layer):
    """Identity, except that after ``n`` forwards its first output column is -inf (a CE loss stays finite)."""

    def __init__(self, n):
        super().__init__()
        self.n, self.calls = n, 0

    def forward(self, x):
        self.calls += 1
        y = np.array(x, copy=True)
        if self.calls > self.n:
            y[:, 0] = -np.inf
        return y

    def backward(self, dout):
        return np.array(dout, copy=True)


def test_non_finite_outputs_with_a_finite_loss_are_divergence():
    X, y = _spiral(60)
    y = np.where(y == 0, 1, y)  # the -inf column is never the true class, so the loss stays finite
    model = nn.Sequential(nn.Linear(2, 3, rng=0), MinusInfAfter(5))  # 1 probe forward, then step 5 is the 6th
    with pytest.raises(TrainingDiverged, match="epoch 2, step 2 of 3: the model's outputs contain NaN or inf "
                                               "while the loss is"):
        fit(model, nn.CrossEntropyLoss(), X, y, optimizer=SGD(0.1), epochs=3, batch_size=20)


def test_snapshot_is_recent_and_verified_in_long_runs():
    X, y = _spiral(600)
    model = nn.mlp([2, 16, 3], rng=0)

    class LateBlowUp(SGD):
        calls = 0

        def step(self, params, grads):
            self.calls += 1
            if self.calls == 150:
                self.lr = 1e300
            super().step(params, grads)

    with pytest.raises(TrainingDiverged) as info:
        fit(model, nn.CrossEntropyLoss(), X, y, optimizer=LateBlowUp(0.1), epochs=20, batch_size=8)
    exc = info.value
    blown = (exc.epoch - 1) * 75 + exc.step
    restored = (exc.restored_epoch - 1) * 75 + exc.restored_step
    assert blown == 151 and 150 - 64 <= restored <= 150 and restored % 64 == 0
    _assert_restored_and_finite(model, X, y, exc)


def test_history_json_is_strict_and_repr_is_concise():
    from chainrule.training import History

    h = History()
    h._append(1, {"loss": 1.0986, "accuracy": 0.33})
    h._append(2, {"loss": float("nan"), "accuracy": 0.34})
    text = json.dumps(h.to_dict(), allow_nan=False)
    assert json.loads(text) == {"epoch": [1, 2], "loss": [1.0986, None], "accuracy": [0.33, 0.34]}
    X, y = _spiral(90)
    hist = fit(nn.mlp([2, 8, 3], rng=0), nn.CrossEntropyLoss(), X, y, optimizer=Adam(0.05), epochs=3,
               validation_data=(X, y))
    r = repr(hist)
    assert r.startswith("History(epochs 1-3: loss ") and "val_accuracy" in r and len(r) < 200
    assert f"{hist['loss'][0]:.4f} -> {hist['loss'][-1]:.4f}" in r
