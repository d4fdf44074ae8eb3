"""Sequential naming and state, the mlp builder, and the initializers' statistics and seeding."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import nn
from chainrule.nn import init as initializers


def test_named_params_and_grads_are_the_layers_own_arrays():
    model = nn.mlp([3, 4, 2], rng=0)
    assert list(model.params) == ["0.W", "0.b", "2.W", "2.b"]
    assert model.params["0.W"] is model[0].params["W"]
    assert model.params["2.b"] is model[2].params["b"]
    before = model[0].params["W"].copy()
    model.params["0.W"] -= 0.5  # the in-place update an optimizer makes
    np.testing.assert_array_equal(model[0].params["W"], before - 0.5)
    x = np.ones((2, 3))
    model.backward(np.ones_like(model.forward(x)))
    assert list(model.grads) == list(model.params)
    assert model.grads["2.W"] is model[2].grads["W"]
    for name, g in model.grads.items():
        assert g.shape == model.params[name].shape


def test_nested_sequential_names_are_prefixed():
    inner = nn.Sequential(nn.Linear(2, 3, rng=0), nn.ReLU())
    outer = nn.Sequential(inner, nn.Linear(3, 1, rng=1))
    assert list(outer.params) == ["0.0.W", "0.0.b", "1.W", "1.b"]


def test_state_dict_round_trip_restores_outputs():
    rng = np.random.default_rng(0)
    model = nn.mlp([4, 6, 3], "tanh", rng=1)
    x = rng.standard_normal((5, 4))
    state = model.state_dict()
    y = model.forward(x)
    for p in model.params.values():
        assert not any(np.shares_memory(p, s) for s in state.values())
        p += 1.0
    assert not np.allclose(model.forward(x), y)
    arrays_before = {k: id(v) for k, v in model.params.items()}
    model.load_state_dict(state)
    np.testing.assert_array_equal(model.forward(x), y)
    assert {k: id(v) for k, v in model.params.items()} == arrays_before  # loaded in place
    other = nn.mlp([4, 6, 3], "tanh", rng=99)
    other.load_state_dict(model.state_dict())
    np.testing.assert_array_equal(other.forward(x), y)


def test_single_layer_has_state_dict_too():
    layer = nn.Linear(2, 2, rng=0)
    state = layer.state_dict()
    layer.params["W"][...] = 0
    layer.load_state_dict(state)
    np.testing.assert_array_equal(layer.params["W"], state["W"])


@pytest.mark.parametrize("mutate, message", [
    (lambda s: s.pop("2.b"), r"missing \['2.b'\]"),
    (lambda s: s.update({"9.W": np.zeros(1)}), r"unexpected \['9.W'\]"),
    (lambda s: s.update({"0.W": np.zeros((4, 5))}), r"'0.W' must have shape \(4, 6\) and dtype float64, "
                                                    r"got shape \(4, 5\) and dtype float64"),
    (lambda s: s.update({"0.b": np.zeros(6, np.float32)}), r"'0.b' must have shape \(6,\) and dtype "
                                                           r"float64, got shape \(6,\) and dtype float32"),
])
def test_load_state_dict_rejects_mismatches_without_partial_writes(mutate, message):
    model = nn.mlp([4, 6, 3], rng=0)
    before = model.state_dict()
    state = {k: v + 1 for k, v in before.items()}
    mutate(state)
    with pytest.raises(ValueError, match=message):
        model.load_state_dict(state)
    for k, v in model.params.items():
        np.testing.assert_array_equal(v, before[k])


@pytest.mark.parametrize("activation, init_name", [("relu", "he"), ("leaky_relu", "he"), ("tanh", "xavier"),
                                                   ("sigmoid", "xavier"), ("identity", "xavier")])
def test_mlp_structure_and_auto_init(activation, init_name):
    sizes = [5, 7, 6, 3]
    model = nn.mlp(sizes, activation, rng=3)
    kinds = [type(layer) for layer in model]
    act = type(nn.get_activation(activation))
    assert kinds == [nn.Linear, act, nn.Linear, act, nn.Linear]
    linears = [layer for layer in model if isinstance(layer, nn.Linear)]
    shapes = [(lin.in_features, lin.out_features) for lin in linears]
    assert shapes == list(zip(sizes[:-1], sizes[1:], strict=True))
    # "auto" must draw exactly what the named initializer draws from the same generator.
    explicit = nn.mlp(sizes, activation, init=init_name, rng=3)
    for name, p in model.params.items():
        np.testing.assert_array_equal(p, explicit.params[name])
    assert all(np.all(lin.params["b"] == 0) for lin in linears)
    assert model.forward(np.zeros((2, 5))).shape == (2, 3)


def test_mlp_output_activation_and_single_layer():
    model = nn.mlp([4, 3, 1], "relu", output="sigmoid", rng=0)
    assert isinstance(model[-1], nn.Sigmoid) and len(model) == 4
    y = model.forward(np.random.default_rng(0).standard_normal((6, 4)))
    assert np.all((y > 0) & (y < 1))
    logistic = nn.mlp([4, 1], rng=0)
    assert len(logistic) == 1 and isinstance(logistic[0], nn.Linear)
    twin = nn.mlp([4, 3, 1], output="sigmoid", rng=0)
    assert all(a is not b for a, b in zip(model.layers, twin.layers, strict=True))


def test_mlp_hidden_activations_are_separate_instances():
    model = nn.mlp([2, 3, 3, 3, 1], "relu", rng=0)
    relus = [layer for layer in model if isinstance(layer, nn.ReLU)]
    assert len(relus) == 3 and len({id(r) for r in relus}) == 3


@pytest.mark.parametrize("name, expected_std", [
    ("he", lambda fi, fo: np.sqrt(2 / fi)),
    ("xavier", lambda fi, fo: np.sqrt(2 / (fi + fo))),
    ("glorot", lambda fi, fo: np.sqrt(2 / (fi + fo))),
    ("course", lambda fi, fo: 0.01),
])
@pytest.mark.parametrize("fan_in, fan_out", [(400, 300), (50, 1000)])
def test_initializer_statistics(name, expected_std, fan_in, fan_out):
    W = nn.Linear(fan_in, fan_out, init=name, rng=0).params["W"]
    std = expected_std(fan_in, fan_out)
    # 1.2e5+ draws: the sample std is within ~0.2% (sd of s/σ is 1/sqrt(2n)); allow 1%.
    assert W.std() == pytest.approx(std, rel=0.01)
    assert abs(W.mean()) < 5 * std / np.sqrt(W.size)
    # Normal, not uniform: about 68.3% of draws within one standard deviation.
    assert np.mean(np.abs(W) < std) == pytest.approx(0.6827, abs=0.01)


def test_initializer_functions_match_their_formulas_draw_for_draw():
    draws = np.random.default_rng(5).standard_normal((30, 20))
    for fn, scale in [(initializers.he, np.sqrt(2 / 30)), (initializers.xavier, np.sqrt(2 / 50)),
                      (initializers.course, 0.01)]:
        np.testing.assert_array_equal(fn(30, 20, np.random.default_rng(5)), draws * scale)


def assert_same_state(a: dict, b: dict) -> None:
    np.testing.assert_array_equal(a["state"]["key"], b["state"]["key"])
    assert a["state"]["pos"] == b["state"]["pos"]


@pytest.mark.parametrize("init_name", ["he", "xavier", "course"])
def test_seeding_is_reproducible_and_leaves_the_global_rng_alone(init_name):
    # The legacy global state is what must stay untouched, so this test reads it on purpose.
    global_before = np.random.get_state(legacy=False)  # noqa: NPY002
    a = nn.mlp([6, 5, 4], init=init_name, rng=7)
    b = nn.mlp([6, 5, 4], init=init_name, rng=np.random.default_rng(7))
    c = nn.mlp([6, 5, 4], init=init_name, rng=8)
    assert_same_state(np.random.get_state(legacy=False), global_before)  # noqa: NPY002
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    assert not np.array_equal(a.params["0.W"], c.params["0.W"])
    # Layers draw from one generator in order: the second layer differs from the first.
    assert not np.array_equal(a.params["0.W"][:5, :4], a.params["2.W"])
    # An unseeded model is still drawn without touching the global state.
    nn.mlp([6, 5, 4], init=init_name)
    assert_same_state(np.random.get_state(legacy=False), global_before)  # noqa: NPY002


def test_linear_accepts_a_custom_initializer_callable():
    def ones(fan_in, fan_out, rng, dtype):
        return np.ones((fan_in, fan_out), dtype)

    layer = nn.Linear(3, 2, init=ones, dtype=np.float32)
    np.testing.assert_array_equal(layer.params["W"], np.ones((3, 2)))
    assert layer.params["W"].dtype == np.float32


def test_zero_grad_and_repr():
    model = nn.mlp([2, 3, 1], rng=0)
    model.backward(np.ones_like(model.forward(np.ones((4, 2)))))
    assert np.any(model.grads["0.W"] != 0)
    model.zero_grad()
    assert all(np.all(g == 0) for g in model.grads.values())
    assert "Linear(2, 3, dtype=float64)" in repr(model) and "(1): ReLU()" in repr(model)


def test_backward_without_input_grad_fills_the_same_grads():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 6))
    dout = rng.standard_normal((5, 3))
    full = nn.Sequential(nn.mlp([6, 4], "tanh", rng=1), nn.Tanh(), nn.Linear(4, 3, rng=2))
    lean = nn.Sequential(nn.mlp([6, 4], "tanh", rng=1), nn.Tanh(), nn.Linear(4, 3, rng=2))
    full.forward(x)
    lean.forward(x)
    assert full.backward(dout).shape == x.shape
    assert lean.backward(dout, input_grad=False) is None
    assert list(lean.grads) == ["0.0.W", "0.0.b", "2.W", "2.b"]
    for name, g in full.grads.items():
        np.testing.assert_array_equal(lean.grads[name], g)


def test_backward_without_input_grad_still_runs_a_subclass_backward():
    class DoubledWeightGrad(nn.Linear):  # a learner's buggy derivation must stay visible
        def backward(self, dout):
            dx = super().backward(dout)
            self.grads["W"] = 2 * self.grads["W"]
            return dx

    x = np.ones((2, 3))
    model = nn.Sequential(DoubledWeightGrad(3, 2, rng=0), nn.ReLU())
    reference = nn.Sequential(nn.Linear(3, 2, rng=0), nn.ReLU())
    for m in (model, reference):
        m.forward(x)
    model.backward(np.ones((2, 2)), input_grad=False)
    reference.backward(np.ones((2, 2)), input_grad=False)
    np.testing.assert_array_equal(model.grads["0.W"], 2 * reference.grads["0.W"])


def test_empty_sequential_is_the_identity():
    model = nn.Sequential()
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(model.forward(x), x)
    dout = np.ones((2, 3))
    dx = model.backward(dout)
    np.testing.assert_array_equal(dx, dout)
    assert not np.shares_memory(dx, dout)
    assert model.params == {} and model.state_dict() == {}
