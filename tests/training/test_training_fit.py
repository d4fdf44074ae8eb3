"""fit / predict / evaluate: against PyTorch, determinism, dtype, batching, validation, divergence."""

import numpy as np
import pytest
import torch

from chainrule import nn
from chainrule.data import make_moons, make_spiral
from chainrule.optim import SGD, Adam
from chainrule.training import History, TrainingDiverged, evaluate, fit, predict, predict_proba


def _spiral(n=120, dtype=np.float64):
    X, y = make_spiral(n, rng=0)
    return X.astype(dtype), y


class Recorder:
    """Wraps an optimizer; remembers every step's batch size and the last finite parameters."""

    def __init__(self, inner):
        self.inner, self.lr, self.calls, self.finite_states = inner, inner.lr, 0, []

    def step(self, params, grads):
        if not self.finite_states:
            self.finite_states.append({k: v.copy() for k, v in params.items()})
        self.calls += 1
        self.inner.step(params, grads)
        if all(np.all(np.isfinite(v)) for v in params.values()):
            self.finite_states.append({k: v.copy() for k, v in params.items()})


class Spy(nn.Identity):
    """Identity that records the rows it sees in training-sized batches."""

    def __init__(self):
        super().__init__()
        self.batches = []

    def forward(self, x):
        self.batches.append(x[:, 0].copy())
        return super().forward(x)


def test_minibatch_adam_matches_pytorch():
    X, y = _spiral(90)
    model = nn.mlp([2, 16, 3], "tanh", rng=1)
    W0, b0, W1, b1 = (torch.tensor(model.params[k].copy(), requires_grad=True)
                      for k in ("0.W", "0.b", "2.W", "2.b"))
    topt = torch.optim.Adam([W0, b0, W1, b1], lr=0.02)
    gen = np.random.default_rng(7)
    Xt, yt = torch.tensor(X), torch.tensor(y)
    ref_losses = []
    for _ in range(3):
        order, total = gen.permutation(len(y)), 0.0
        for start in range(0, len(y), 32):
            idx = torch.tensor(order[start:start + 32])
            topt.zero_grad()
            logits = torch.tanh(Xt[idx] @ W0 + b0) @ W1 + b1
            loss = torch.nn.functional.cross_entropy(logits, yt[idx])
            loss.backward()
            topt.step()
            total += loss.item() * len(idx)
        ref_losses.append(total / len(y))
    h = fit(model, nn.CrossEntropyLoss(), X, y, optimizer=Adam(0.02), epochs=3, batch_size=32, rng=7)
    for k, t in zip(("0.W", "0.b", "2.W", "2.b"), (W0, b0, W1, b1), strict=True):
        np.testing.assert_allclose(model.params[k], t.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h.history["loss"], ref_losses, rtol=1e-12)


def test_same_seed_bit_identical_different_seed_differs():
    X, y = _spiral()

    def run(seed):
        model = nn.mlp([2, 16, 16, 3], rng=0)
        h = fit(model, nn.CrossEntropyLoss(), X, y, optimizer=SGD(0.2, momentum=0.9), epochs=5,
                batch_size=16, rng=seed, validation_data=(X[:20], y[:20]))
        return model.state_dict(), h.history

    (p1, h1), (p2, h2), (p3, _) = run(3), run(3), run(4)
    assert all(np.array_equal(p1[k], p2[k]) for k in p1) and h1 == h2
    assert not np.array_equal(p1["0.W"], p3["0.W"])


def test_float32_end_to_end():
    X, y = _spiral(dtype=np.float32)
    model = nn.mlp([2, 16, 3], rng=0, dtype=np.float32)
    opt = Adam(0.01)
    outputs = []
    h = fit(model, nn.CrossEntropyLoss(), X, y, optimizer=opt, epochs=3, batch_size=50,
            validation_data=(X, y), callback=lambda e, logs: outputs.append(model.forward(X).dtype))
    assert set(outputs) == {np.dtype(np.float32)}
    assert all(p.dtype == np.float32 for p in model.params.values())
    assert all(g.dtype == np.float32 for g in model.grads.values())
    assert all(s["exp_avg"].dtype == np.float32 for s in opt.state.values())
    assert predict_proba(model, X).dtype == np.float32
    assert all(isinstance(v, float) for vals in h.history.values() for v in vals)


def test_dtype_mismatch_is_an_error_and_integer_X_is_cast():
    X, y = _spiral()
    model32 = nn.mlp([2, 8, 3], rng=0, dtype=np.float32)
    with pytest.raises(ValueError, match=r"X has dtype float64 but the model's parameters are float32; "
                                         r"convert with X.astype\(np.float32\)"):
        fit(model32, nn.CrossEntropyLoss(), X, y, optimizer=SGD(0.1), epochs=1)
    Xi = np.rint(X * 10).astype(np.int64)
    fit(model32, nn.CrossEntropyLoss(), Xi, y, optimizer=SGD(0.01), epochs=1)
    assert model32.params["0.W"].dtype == np.float32


def test_predict_casts_float64_X_to_a_float32_model_saved_and_loaded(tmp_path):
    from chainrule.io import load, save

    X, y = _spiral()
    model32 = nn.mlp([2, 8, 3], rng=0, dtype=np.float32)
    fit(model32, nn.CrossEntropyLoss(), X.astype(np.float32), y, optimizer=SGD(0.1), epochs=3)
    loaded = load(save(model32, tmp_path / "m32.npz"))
    expected = np.argmax(loaded.forward(X.astype(np.float32)), axis=1)
    np.testing.assert_array_equal(predict(loaded, X), expected)
    proba = predict_proba(loaded, X)
    assert proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match=r"X has values too large for the model's dtype float32"):
        predict(loaded, np.full((2, 2), 1e300))
    with pytest.raises(ValueError, match=r"X has dtype float64 but the model's parameters are float32"):
        evaluate(loaded, nn.CrossEntropyLoss(), X, y)


@pytest.mark.parametrize("n,batch,steps", [(10, 4, 3), (10, None, 1), (10, 10, 1), (10, 64, 1), (9, 3, 3)])
def test_minibatches_cover_each_sample_once_per_epoch(n, batch, steps):
    X = np.arange(n, dtype=np.float64).reshape(n, 1)
    y = np.arange(n) % 2
    spy = Spy()
    model = nn.Sequential(spy, nn.Linear(1, 2, rng=0))
    rec = Recorder(SGD(0.01))
    fit(model, nn.CrossEntropyLoss(), X, y, optimizer=rec, epochs=2, batch_size=batch, rng=0)
    assert rec.calls == 2 * steps
    # The first forward is fit's one-row probe of the output shape; the last re-runs the last batch
    # to verify the last update (there is no validation data to do it).
    training = spy.batches[1:-1]
    assert np.array_equal(spy.batches[-1], spy.batches[-2])
    size = n if batch is None else min(batch, n)
    assert [len(b) for b in training] == ([size] * (steps - 1) + [n - size * (steps - 1)]) * 2
    for epoch in (training[:steps], training[steps:]):
        assert sorted(np.concatenate(epoch).tolist()) == list(range(n))
    assert steps == 1 or not np.array_equal(np.concatenate(training[:steps]), np.arange(n))


def test_history_and_validation_metrics():
    X, y = _spiral()
    Xv, yv = make_spiral(60, rng=9)
    model = nn.mlp([2, 16, 3], rng=0)
    before = evaluate(model, nn.CrossEntropyLoss(), X, y)
    seen = []
    h = fit(model, nn.CrossEntropyLoss(), X, y, optimizer=SGD(0.5), epochs=4, validation_data=(Xv, yv),
            callback=lambda e, logs: seen.append((e, logs, evaluate(model, nn.CrossEntropyLoss(), Xv, yv))))
    assert isinstance(h, History) and h.epoch == [1, 2, 3, 4]
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    # full batch: epoch 1's training loss/accuracy are those of the initial model
    assert h.history["loss"][0] == pytest.approx(before["loss"], rel=1e-12)
    assert h.history["accuracy"][0] == before["accuracy"]
    for e, logs, after in seen:
        assert logs["val_loss"] == pytest.approx(after["loss"], rel=1e-12)
        assert logs["val_accuracy"] == after["accuracy"]
        assert h.history["val_loss"][e - 1] == logs["val_loss"]
    assert h.history["loss"][-1] < h.history["loss"][0]
    assert h.to_dict()["epoch"] == [1, 2, 3, 4]


def test_callback_true_stops_training():
    X, y = _spiral()
    h = fit(nn.mlp([2, 4, 3], rng=0), nn.CrossEntropyLoss(), X, y, optimizer=SGD(0.1), epochs=10,
            callback=lambda e, logs: e == 3)
    assert h.epoch == [1, 2, 3]


def test_bce_labels_both_shapes_and_learns_moons():
    X, y = make_moons(200, noise=0.1, rng=0)
    for target in (y, y.reshape(-1, 1).astype(np.float64)):
        model = nn.mlp([2, 16, 1], rng=0)
        h = fit(model, nn.BCEWithLogitsLoss(), X, target, optimizer=Adam(0.05), epochs=60, batch_size=50)
        acc = np.mean(predict(model, X) == y)
        assert h.history["accuracy"][-1] > 0.9 and acc > 0.9
        assert evaluate(model, nn.BCEWithLogitsLoss(), X, target)["accuracy"] == acc


def test_mse_regression_has_no_accuracy():
    gen = np.random.default_rng(0)
    X = gen.standard_normal((50, 3))
    y = X @ np.array([[1.0], [-2.0], [0.5]]) + 0.3
    model = nn.Sequential(nn.Linear(3, 1, rng=0))
    h = fit(model, nn.MSELoss(), X, y, optimizer=SGD(0.1), epochs=200)
    assert set(h.history) == {"loss"}
    np.testing.assert_allclose(model.params["0.W"].ravel(), [1.0, -2.0, 0.5], atol=1e-6)
    np.testing.assert_allclose(model.params["0.b"], [0.3], atol=1e-6)


def test_predict_and_predict_proba_match_torch():
    X, _ = _spiral(30)
    model = nn.mlp([2, 8, 3], rng=0)
    logits = model.forward(X)
    ref = torch.softmax(torch.tensor(logits), dim=1).numpy()
    np.testing.assert_allclose(predict_proba(model, X), ref, rtol=1e-12)
    assert np.array_equal(predict(model, X), np.argmax(logits, axis=1))
    one = nn.mlp([2, 4, 1], rng=0)
    z = one.forward(X).ravel()
    p = predict_proba(one, X)
    np.testing.assert_allclose(p[:, 1], torch.sigmoid(torch.tensor(z)).numpy(), rtol=1e-12)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert np.array_equal(predict(one, X), (z > 0).astype(int))
    course = nn.mlp([2, 4, 1], rng=0, output="sigmoid")  # ends in Sigmoid: outputs are probabilities
    np.testing.assert_allclose(predict_proba(course, X)[:, 1], course.forward(X).ravel())
    assert np.array_equal(predict(course, X), (course.forward(X).ravel() > 0.5).astype(int))


def test_bad_inputs_name_the_argument():
    X, y = _spiral(30)
    model, ce = nn.mlp([2, 4, 3], rng=0), nn.CrossEntropyLoss()
    opt = SGD(0.1)
    cases = [
        (dict(X=X[:0], y=y[:0]), ValueError,
         r"X is empty: expected shape \(N, D\) with N, D >= 1, got \(0, 2\)"),
        (dict(X=X[:, 0], y=y), ValueError, r"X must be 2-D, got shape \(30,\)"),
        (dict(X=np.where(X > 0.5, np.nan, X), y=y), ValueError, "X contains .* non-finite"),
        (dict(X=X, y=y[:-1]), ValueError,
         r"y must have one entry per sample \(per row of X\): expected first dimension 30"),
        (dict(X=X, y=y + 1), ValueError, r"y labels must lie in \[0, 2\] for a model with 3 outputs, "
                                         r"got values in \[1, 3\]"),
        (dict(X=X, y=y.astype(float)), TypeError, "integer class labels"),
        (dict(X=np.zeros((30, 5)), y=y), ValueError,
         r"X of shape \(30, 5\) does not fit the model: .*X must have shape \(N, 2\)"),
    ]
    for kw, exc, match in cases:
        with pytest.raises(exc, match=match):
            fit(model, ce, kw["X"], kw["y"], optimizer=opt, epochs=1)
    with pytest.raises(ValueError, match="epochs must be a positive integer, got 0"):
        fit(model, ce, X, y, optimizer=opt, epochs=0)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        fit(model, ce, X, y, optimizer=opt, epochs=1, batch_size=0)
    with pytest.raises(TypeError, match="optimizer must have a step"):
        fit(model, ce, X, y, optimizer=None, epochs=1)
    with pytest.raises(TypeError, match="loss must be a chainrule Loss"):
        fit(model, "ce", X, y, optimizer=opt, epochs=1)
    with pytest.raises(ValueError,
                       match=r"validation_data.0. of shape \(3, 3\) does not fit the model: .*\(N, 2\)"):
        fit(model, ce, X, y, optimizer=opt, epochs=1, validation_data=(np.zeros((3, 3)), y[:3]))
    bce = nn.BCEWithLogitsLoss()
    with pytest.raises(ValueError, match="BCEWithLogitsLoss needs a model with one output"):
        fit(model, bce, X, y % 2, optimizer=opt, epochs=1)
    with pytest.raises(ValueError, match="must contain only 0 and 1, got 10 other value"):
        fit(nn.mlp([2, 4, 1], rng=0), bce, X, y, optimizer=opt, epochs=1)


def test_divergence_restores_verified_parameters_and_names_epoch_and_step():
    X, y = _spiral()
    model = nn.mlp([2, 16, 3], rng=0)
    rec = Recorder(SGD(1e300))
    with pytest.raises(TrainingDiverged) as info:
        fit(model, nn.CrossEntropyLoss(), X, y, optimizer=rec, epochs=5, batch_size=40)
    exc = info.value
    assert isinstance(exc, FloatingPointError)
    assert f"epoch {exc.epoch}, step {exc.step} of 3" in str(exc) and "lr=1e+300" in str(exc)
    # seen at the forward after the update that blew up
    assert (exc.epoch - 1) * 3 + exc.step == rec.calls + 1
    # restored: the parameters from before training, whose loss and outputs were finite
    assert (exc.restored_epoch, exc.restored_step) == (0, 0)
    assert all(np.array_equal(model.params[k], v) for k, v in rec.finite_states[0].items())
    assert np.isfinite(evaluate(model, nn.CrossEntropyLoss(), X, y)["loss"])


class PoisonedLinear(nn.Linear):
    """A Linear whose backward writes a NaN gradient on its n-th call."""

    def __init__(self, *args, poison_at, **kw):
        super().__init__(*args, **kw)
        self.poison_at, self.calls = poison_at, 0

    def backward(self, dout):
        dx = super().backward(dout)
        self.calls += 1
        if self.calls == self.poison_at:
            self.grads["W"] = np.full_like(self.grads["W"], np.nan)
        return dx


def test_nan_gradient_stops_at_the_named_step_with_history_of_completed_epochs():
    X, y = _spiral(30)
    model = nn.Sequential(PoisonedLinear(2, 3, rng=0, poison_at=5))
    rec = Recorder(SGD(0.1))
    with pytest.raises(TrainingDiverged, match=r"epoch 2, step 2 of 3: the gradient of '0.W' has 6 "
                                               r"non-finite element\(s\) \(NaN or inf\) of 6 while the loss"):
        fit(model, nn.CrossEntropyLoss(), X, y, optimizer=rec, epochs=3, batch_size=10)
    assert rec.calls == 5  # the poisoned gradient's update is seen at the next step's forward
    assert all(np.array_equal(model.params[k], v) for k, v in rec.finite_states[0].items())


def test_nan_gradient_before_any_update_points_at_the_backward_not_the_learning_rate():
    X, y = _spiral(30)
    model = nn.Sequential(nn.Linear(2, 4, rng=0), nn.ReLU(), PoisonedLinear(4, 3, rng=1, poison_at=1))
    with pytest.raises(TrainingDiverged) as info:
        fit(model, nn.CrossEntropyLoss(), X, y, optimizer=SGD(0.1), epochs=2)
    message = str(info.value)
    assert "epoch 1, step 1 of 1: the gradient of '2.W' has 12 non-finite element(s)" in message
    assert "no update had been made yet" in message and "chainrule.check_model(" in message
    assert "learning rate" not in message
    # a loss that overflows is still the learning rate's business
    big = nn.Sequential(nn.Linear(2, 3, rng=0))
    with pytest.raises(TrainingDiverged, match=r"Try a smaller learning rate \(lr=1e\+300\)"):
        fit(big, nn.MSELoss(), X, np.ones((30, 3)), optimizer=SGD(1e300), epochs=5)


def test_divergence_exception_carries_history():
    X, y = _spiral(30)
    model = nn.Sequential(PoisonedLinear(2, 3, rng=0, poison_at=4))
    with pytest.raises(TrainingDiverged) as info:
        fit(model, nn.CrossEntropyLoss(), X, y, optimizer=SGD(0.1), epochs=3, batch_size=10)
    assert (info.value.epoch, info.value.step) == (2, 1)
    assert info.value.history.epoch == [1]


def test_progress_bar_does_not_touch_stdout(capsys):
    X, y = _spiral(30)
    fit(nn.mlp([2, 4, 3], rng=0), nn.CrossEntropyLoss(), X, y, optimizer=SGD(0.1), epochs=2, progress=True)
    assert capsys.readouterr().out == ""


def test_one_hot_targets_train_like_labels_and_a_bare_layer_is_a_model():
    X, y = _spiral(60)
    runs = []
    for target in (y, np.eye(3)[y]):
        model = nn.Linear(2, 3, rng=0)
        runs.append((fit(model, nn.CrossEntropyLoss(), X, target, optimizer=SGD(0.3), epochs=3, batch_size=16,
                         rng=1).history, model.params["W"].copy()))
    (h_labels, W_labels), (h_onehot, W_onehot) = runs
    assert h_labels["accuracy"] == h_onehot["accuracy"]
    np.testing.assert_allclose(h_labels["loss"], h_onehot["loss"], rtol=1e-13)
    np.testing.assert_allclose(W_labels, W_onehot, rtol=1e-12)


def test_validation_targets_checked_before_training_and_nan_weights_refused():
    X, y = _spiral(30)
    model = nn.mlp([2, 4, 3], rng=0)
    W = model.params["0.W"].copy()
    with pytest.raises(ValueError, match=r"validation_data\[1\] labels must lie in \[0, 2\]"):
        fit(model, nn.CrossEntropyLoss(), X, y, optimizer=SGD(0.1), epochs=1, validation_data=(X, y + 5))
    assert np.array_equal(model.params["0.W"], W)
    model.params["0.W"][0, 0] = np.nan
    with pytest.raises(ValueError, match="model parameter '0.W' contains NaN or inf before training"):
        fit(model, nn.CrossEntropyLoss(), X, y, optimizer=SGD(0.1), epochs=1)


def test_predict_treats_autodiff_mlp_sigmoid_output_as_probability():
    from chainrule import autodiff as ad
    from chainrule.nn import mlp

    X = np.random.default_rng(3).normal(size=(40, 2))
    layers = mlp([2, 6, 1], "tanh", output="sigmoid", rng=5)
    graph = ad.MLP([2, 6, 1], "tanh", output="sigmoid", rng=5)
    expected = (layers.forward(X).ravel() > 0.5).astype(np.int64)
    assert 0 < expected.sum() < len(expected)  # both classes occur, so a wrong threshold would show
    np.testing.assert_array_equal(predict(graph, X), expected)
    np.testing.assert_array_equal(predict(layers, X), expected)
