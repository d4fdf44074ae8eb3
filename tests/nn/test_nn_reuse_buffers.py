"""``reuse_buffers``, fit's fast path: the same forward/backward code writing into arrays the layers
own. Outside it nothing a caller holds changes behind its back; inside it the results are the same
numbers, bit for bit; what it reuses stays within the chain it was given, and is freed on exit."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn.module import owned_arrays, reuse_buffers
from chainrule.optim import SGD

RNG = np.random.default_rng(0)


def _model(dtype=np.float64, activation="relu"):
    return nn.mlp([6, 5, 4, 3], activation, rng=1, dtype=dtype)


def _step(model, loss, x, t):
    out = model.forward(x)
    value = loss.forward(out, t)
    dx = model.backward(loss.backward())
    return out.copy(), value, dx.copy(), {k: v.copy() for k, v in model.grads.items()}


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_public_results_are_not_changed_by_later_calls(activation):
    model, loss = _model(activation=activation), nn.CrossEntropyLoss()
    x1, x2 = RNG.standard_normal((7, 6)), RNG.standard_normal((7, 6))
    t = RNG.integers(0, 3, 7)
    y1 = model.forward(x1)
    kept_y, value1 = y1.copy(), loss.forward(y1, t)
    g1 = loss.backward()
    kept_g = g1.copy()
    dx1 = model.backward(g1)
    kept_dx, kept_grads = dx1.copy(), {k: v.copy() for k, v in model.grads.items()}
    grads1 = dict(model.grads.items())
    _step(model, loss, x2, t)  # a second step: new arrays, the first step's untouched
    np.testing.assert_array_equal(y1, kept_y)
    np.testing.assert_array_equal(g1, kept_g)
    np.testing.assert_array_equal(dx1, kept_dx)
    for k, g in grads1.items():
        np.testing.assert_array_equal(g, kept_grads[k])
    assert loss.forward(kept_y, t) == value1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_same_numbers_bit_for_bit_inside_and_outside(dtype, activation):
    loss = nn.CrossEntropyLoss()
    batches = [(RNG.standard_normal((n, 6)).astype(dtype), RNG.integers(0, 3, n)) for n in (8, 8, 3)]
    plain, reused = _model(dtype, activation), _model(dtype, activation)
    for x, t in batches:
        ref = _step(plain, loss, x, t)
        with reuse_buffers(reused, loss):
            got = _step(reused, loss, x, t)
        np.testing.assert_array_equal(got[0], ref[0])
        assert got[1] == ref[1]
        np.testing.assert_array_equal(got[2], ref[2])
        for k in ref[3]:
            np.testing.assert_array_equal(got[3][k], ref[3][k])
            assert got[3][k].dtype == np.dtype(dtype)


def test_inside_the_arrays_are_reused_and_on_exit_freed():
    model, loss = _model(), nn.CrossEntropyLoss()
    x, t = RNG.standard_normal((8, 6)), RNG.integers(0, 3, 8)
    with reuse_buffers(model, loss) as owners:
        out1 = model.forward(x)
        loss.forward(out1, t)
        model.backward(loss.backward())
        dW = model.grads["0.W"]
        out2 = model.forward(x[:5])  # a smaller batch: the first rows of the same array
        assert np.shares_memory(out1, out2)
        loss.forward(out2, t[:5])
        model.backward(loss.backward())
        assert model.grads["0.W"] is dW  # written in place
        assert id(dW) in owned_arrays(owners)
        assert all(o._reuse for o in owners)
    assert not any(o._reuse for o in owners)
    assert not any("_scratch_arrays" in vars(o) for o in owners)
    out3 = model.forward(x)  # outside again: a new array every call
    assert not np.shares_memory(out3, out1) and model.forward(x) is not out3


def test_nested_block_turns_it_off_and_restores():
    model = _model()
    with reuse_buffers(model):
        with reuse_buffers(model, enabled=False):
            a, b = model.forward(np.ones((2, 6))), model.forward(np.ones((2, 6)))
            assert not np.shares_memory(a, b)
        assert model[0]._reuse and "_scratch_arrays" in vars(model[0])
    assert not model[0]._reuse


class Twice(nn.Layer):
    """A composite calling its inner layer twice and keeping both results."""

    def __init__(self):
        super().__init__()
        self.inner = nn.Linear(6, 6, rng=0)

    params = property(lambda self: {f"inner.{k}": v for k, v in self.inner.params.items()})
    grads = property(lambda self: {f"inner.{k}": v for k, v in self.inner.grads.items()})

    def zero_grad(self):
        self.inner.zero_grad()

    def forward(self, x):
        return self.inner.forward(x) + self.inner.forward(2 * x)


def test_a_composite_s_inner_layers_are_left_alone():
    model = nn.Sequential(Twice(), nn.ReLU(), nn.Linear(6, 3, rng=1))
    x = RNG.standard_normal((4, 6))
    expected = model.forward(x)
    with reuse_buffers(model) as owners:
        np.testing.assert_array_equal(model.forward(x), expected)
    assert model[0].inner not in owners and model[1] in owners


def test_fit_equals_the_public_layer_loop_bit_for_bit():
    """fit's steps (reused arrays, SGD forming its step in the gradients) give exactly the numbers
    of the public forward/backward/step loop over the same batches, and leave true gradients."""
    X, y = RNG.standard_normal((70, 6)), RNG.integers(0, 3, 70)
    loss = nn.CrossEntropyLoss()
    fitted, manual = _model(), _model()
    seen = []  # what a callback finds in model.grads after each epoch

    def record(epoch, logs):
        seen.append({k: g.copy() for k, g in fitted.grads.items()})

    history = cr.fit(fitted, loss, X, y, optimizer=SGD(0.1), epochs=3, batch_size=16, rng=5,
                     callback=record)
    gen, opt, losses, accuracies = np.random.default_rng(5), SGD(0.1), [], []
    for _ in range(3):
        order, total, correct = gen.permutation(70), 0.0, 0
        for start in range(0, 70, 16):
            idx = order[start:start + 16]
            out = manual.forward(X[idx])
            total += loss.forward(out, y[idx]) * len(idx)
            correct += int(np.sum(out.argmax(axis=1) == y[idx]))
            manual.backward(loss.backward())
            opt.step(dict(manual.params.items()), dict(manual.grads.items()))
        losses.append(total / 70)
        accuracies.append(correct / 70)
        for k, g in manual.grads.items():  # the epoch's last gradients, not lr * g
            np.testing.assert_array_equal(seen[len(losses) - 1][k], g)
    assert history.history["loss"] == losses
    assert history.history["accuracy"] == accuracies
    for k, p in manual.params.items():
        np.testing.assert_array_equal(fitted.params[k], p)
    for k, g in manual.grads.items():  # the last step's gradients, not lr * g
        np.testing.assert_array_equal(fitted.grads[k], g)


def test_callbacks_see_the_public_contract():
    """A callback runs outside the reused arrays: an output it keeps is not overwritten by later
    steps, and a model it deep-copies (a common "keep the best" pattern) behaves as any model."""
    import copy

    X, y = RNG.standard_normal((40, 6)), RNG.integers(0, 3, 40)
    model, probe = _model(), RNG.standard_normal((5, 6))
    kept, copies = [], []

    def callback(epoch, logs):
        out = model.forward(probe)
        kept.append((out, out.copy()))
        copies.append(copy.deepcopy(model))

    cr.fit(model, nn.CrossEntropyLoss(), X, y, optimizer=SGD(0.1), epochs=3, batch_size=8, callback=callback)
    for out, values in kept:
        np.testing.assert_array_equal(out, values)
    best = copies[0]
    assert not any(layer._reuse for layer in best)
    a = best.forward(probe)
    a_values = a.copy()
    b = best.forward(2 * probe)
    np.testing.assert_array_equal(a, a_values)
    assert not np.shares_memory(a, b)


def test_relu_after_a_linear_works_in_the_linear_s_arrays():
    """Between Linear and ReLU the arrays are handed over: ReLU takes max(x, 0) in the Linear's own
    output and dout * mask in the next Linear's own dx (no array of its own), the numbers bit for bit
    those of the public calls (test_same_numbers_bit_for_bit_inside_and_outside)."""
    model, loss = _model(), nn.CrossEntropyLoss()
    x, t = RNG.standard_normal((8, 6)), RNG.integers(0, 3, 8)
    with reuse_buffers(model, loss):
        h = model[0].forward(x)
        y = model[1].forward(h)
        assert y is h and np.all(h >= 0)  # in place
        out = model[4].forward(model[3].forward(model[2].forward(y)))
        loss.forward(out, t)
        d3 = model[4].backward(loss.backward())
        assert model[3].backward(d3) is d3 and np.all(d3[model[3].y <= 0] == 0)  # masked in place
        d2 = model[2].backward(d3)
        dx = model[1].backward(d2)
        assert dx is d2
        assert model[1]._takes_input and model[1]._takes_dout and not model[0]._takes_input
    assert not model[1]._takes_input and not model[1]._takes_dout


class MyLinear(nn.Linear):
    """A learner's Linear with its own backward, which may keep what it returns."""

    def backward(self, dout):
        self.kept = dout @ self.params["W"].T
        self.grads["W"] = self.x.T @ dout
        self.grads["b"] = dout.sum(axis=0)
        return self.kept


@pytest.mark.parametrize("model", [
    lambda: nn.Sequential(nn.ReLU(), nn.Linear(6, 3, rng=0)),  # the data itself
    lambda: nn.Sequential(nn.Sigmoid(), nn.ReLU(), nn.Linear(6, 3, rng=0)),  # Sigmoid keeps its y
    lambda: nn.Sequential(MyLinear(6, 4, rng=0), nn.ReLU(), MyLinear(4, 3, rng=1)),
], ids=["data", "after-sigmoid", "overridden-linear"])
def test_relu_leaves_arrays_it_was_not_handed_alone(model):
    """Only a built-in Linear's output and dx are handed over: ReLU never writes into the data, into
    a Sigmoid's cached output, nor into what a subclass with its own backward returns."""
    model, loss = model(), nn.CrossEntropyLoss()
    x, t = RNG.standard_normal((5, 6)), RNG.integers(0, 3, 5)
    ref = _step(model, loss, x.copy(), t)
    kept_x = x.copy()
    with reuse_buffers(model, loss):
        got = _step(model, loss, x, t)
        mine = [layer for layer in model if isinstance(layer, MyLinear)]
        kept = [layer.kept.copy() for layer in mine]
        relu = next(layer for layer in model if isinstance(layer, nn.ReLU))
        after = model.layers[model.layers.index(relu) + 1]
        assert not relu._takes_input and relu._takes_dout == (type(after) is nn.Linear)
        for layer, k in zip(mine, kept, strict=True):
            np.testing.assert_array_equal(layer.kept, k)
    np.testing.assert_array_equal(x, kept_x)
    np.testing.assert_array_equal(got[0], ref[0])
    np.testing.assert_array_equal(got[2], ref[2])
    for k in ref[3]:
        np.testing.assert_array_equal(got[3][k], ref[3][k])


def _public_loop(model, loss, X, y, opt, epochs, batch_size, seed):
    """The reference fit must equal: public forward, backward, then one optimizer step."""
    gen = np.random.default_rng(seed)
    for _ in range(epochs):
        order = gen.permutation(len(X))
        for start in range(0, len(X), batch_size):
            idx = order[start:start + batch_size]
            loss.forward(model.forward(X[idx]), y[idx])
            model.backward(loss.backward())
            opt.step(dict(model.params.items()), dict(model.grads.items()))


def _tied():
    """Two Linear layers sharing one weight array (tied weights)."""
    model = nn.Sequential(nn.Linear(6, 6, rng=0), nn.ReLU(), nn.Linear(6, 6, rng=1), nn.ReLU(),
                          nn.Linear(6, 3, rng=2))
    model[2].params["W"] = model[0].params["W"]
    return model


@pytest.mark.parametrize("make_opt", [
    lambda: cr.optim.SGD(0.1, momentum=0.9, nesterov=True),
    lambda: cr.optim.Adam(0.01, clip_grad_value=0.05),
    lambda: cr.optim.AdamW(0.01, weight_decay=0.1),
    lambda: cr.optim.RMSprop(0.01, momentum=0.5),
    lambda: cr.optim.SGD(0.1, clip_grad_norm=0.1),
], ids=["nesterov", "adam-clip-value", "adamw", "rmsprop", "clip-norm"])
@pytest.mark.parametrize("make_model", [_model, _tied], ids=["mlp", "tied"])
def test_fit_equals_the_public_loop_for_every_optimizer(make_opt, make_model):
    """Bit for bit the public loop's parameters and optimizer state, for every built-in optimizer
    (momentum, moments, clipping), tied weights included (two layers sharing one array)."""
    X, y = RNG.standard_normal((45, 6)), RNG.integers(0, 3, 45)
    loss = nn.CrossEntropyLoss()
    fitted, manual = make_model(), make_model()
    fit_opt, manual_opt = make_opt(), make_opt()
    cr.fit(fitted, loss, X, y, optimizer=fit_opt, epochs=3, batch_size=8, rng=2)
    _public_loop(manual, loss, X, y, manual_opt, 3, 8, 2)
    for k, p in manual.params.items():
        np.testing.assert_array_equal(fitted.params[k], p)
    for name, state in manual_opt.state.items():
        for key, value in state.items():
            np.testing.assert_array_equal(fit_opt.state[name][key], value)

