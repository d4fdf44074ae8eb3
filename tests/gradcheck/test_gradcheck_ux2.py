"""What the second user test found: NaN gradients that passed, a dout equal to x, false alarms on
confident models, a headline without the blamed layer's finding, autodiff notes, stray grads keys.

Every test here failed on the library as that tester used it.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import autodiff as ad
from chainrule.data import make_moons
from chainrule.gradcheck import PATTERNS, assert_gradients, check_gradients, check_layer, check_model
from chainrule.nn import CrossEntropyLoss, Linear, ReLU, Sequential, Tanh


def _data(n=8, d=3, c=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.integers(0, c, n)


def _five(middle: cr.Layer, relu: cr.Layer | None = None) -> Sequential:
    """Linear-ReLU-<middle>-ReLU-Linear, 3 wide: the tester's network."""
    return Sequential(Linear(3, 3, rng=0), ReLU(), middle, relu or ReLU(), Linear(3, 3, rng=2))


def _linear_with(fix):
    class Broken(Linear):
        def backward(self, dout):
            dx = super().backward(dout)
            return fix(self, dx)
    return Broken


DivideByZero = _linear_with(lambda self, dx: (self.grads.update(W=self.grads["W"] / 0.0), dx)[1])
OneNaN = _linear_with(lambda self, dx: (self.grads["W"].__setitem__((1, 2), np.nan), dx)[1])
InfW = _linear_with(lambda self, dx: (self.grads["W"].__setitem__((0, 0), np.inf), dx)[1])


class NaNReLU(ReLU):
    def backward(self, dout):
        dx = super().backward(dout).copy()
        dx[0, 0] = np.nan
        return dx


class NaNLoss(CrossEntropyLoss):
    def backward(self):
        g = super().backward().copy()
        g[0, 1] = np.nan
        return g


# 1: a NaN or inf gradient is a failure with blame, never a pass

@pytest.mark.parametrize("middle, where", [(DivideByZero(3, 3, rng=1), "W"), (OneNaN(3, 3, rng=1), "W"),
                                           (InfW(3, 3, rng=1), "W")])
def test_non_finite_parameter_gradients_fail_and_blame_their_layer(middle, where):
    X, y = _data()
    with np.errstate(all="ignore"):
        report = check_model(_five(middle), CrossEntropyLoss(), X, y)
    assert not report.passed and report.blame == 2
    assert report.parameters["2.W"].pattern == "non-finite" and not report.parameters["2.W"].passed
    assert report.layers[2].parameters[where].pattern == "non-finite"
    assert np.isnan(report.difference) and "NaN or inf" in report.summary()
    assert report.headline().startswith("gradient check failed: blame layer 2 (Broken): W non-finite — ")
    assert "non-finite" in PATTERNS


def test_one_nan_element_is_named_by_index():
    X, y = _data()
    report = check_model(_five(OneNaN(3, 3, rng=1)), CrossEntropyLoss(), X, y)
    hint = report.layers[2].parameters["W"].hint
    assert hint.startswith("1 of 9 elements are non-finite (NaN) at (1, 2)")
    assert [w.index for w in report.layers[2].parameters["W"].worst] == [(1, 2)]


def test_nan_in_an_activations_dx_blames_that_activation():
    X, y = _data()
    report = check_model(_five(Linear(3, 3, rng=1), NaNReLU()), CrossEntropyLoss(), X, y)
    assert not report.passed and report.blame == 3
    assert report.layers[3].parameters["x"].pattern == "non-finite"
    assert all(lr.passed for i, lr in enumerate(report.layers) if i != 3)


def test_nan_in_the_loss_backward_blames_the_loss():
    X, y = _data()
    report = check_model(_five(Linear(3, 3, rng=1)), NaNLoss(), X, y)
    assert not report.passed and report.blame == "loss"
    assert report.loss.parameters["logits"].pattern == "non-finite"


def test_assert_gradients_on_a_nan_layer_raises():
    x = np.random.default_rng(0).standard_normal((4, 3))
    with np.errstate(all="ignore"), pytest.raises(AssertionError, match="W non-finite"):
        assert_gradients(DivideByZero(3, 3, rng=0), x)


# 2: the layer check's random dout is independent of an x drawn with the same seed

class TransposedW(Linear):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["W"] = dout.T @ self.x
        return dx


class ReLUOfX(ReLU):
    def forward(self, x):
        self.x = x
        return super().forward(x)

    def backward(self, dout):
        return self.x * (self.x > 0)


def test_bugs_hidden_by_dout_equal_to_x_now_fail():
    # the docstring's own style: x from default_rng(0), the check's default rng=0
    x = np.random.default_rng(0).standard_normal((8, 5))
    with pytest.raises(AssertionError, match="W transposed"):
        assert_gradients(TransposedW(5, 5, rng=0), x)
    with pytest.raises(AssertionError, match="x "):
        assert_gradients(ReLUOfX(), x)
    assert check_layer(Linear(5, 5, rng=0), x).passed and check_layer(ReLU(), x).passed


def test_a_dout_proportional_to_x_is_refused():
    x = np.random.default_rng(3).standard_normal((6, 4))
    with pytest.raises(ValueError, match="dout must not be proportional to the input x"):
        check_layer(ReLU(), x, -2.0 * x)


# 3: correct, confident models are never failed for numerical noise

def test_a_trained_confident_model_passes():
    X, y = make_moons(600, rng=0)
    m = cr.mlp([2, 64, 64, 2], "relu", rng=0)
    cr.fit(m, CrossEntropyLoss(), X, y, optimizer=cr.Adam(lr=0.01), epochs=200, batch_size=32, rng=0)
    for k in (64, 1):
        report = check_model(m, CrossEntropyLoss(), X[:k], y[:k])
        assert report.passed and report.blame is None, report.summary()


def test_a_saturated_softmax_is_undecided_not_failed_nor_passed():
    r = np.random.default_rng(1)
    X = r.standard_normal((1, 4)) * 30
    y = r.integers(0, 3, 1)
    report = check_model(cr.mlp([4, 16, 16, 3], "relu", rng=1), CrossEntropyLoss(), X, y)
    assert report.outcome == "undecided" and not report.passed and report.blame is None
    assert report.failed == [] and report.undecided == list(report.parameters)
    assert "other inputs" in report.parameters["0.W"].hint
    assert "method='complex'" not in str(report)  # check_model refuses the complex step


def test_a_bug_in_a_confident_model_still_fails():
    X, y = make_moons(600, rng=0)
    m = cr.mlp([2, 64, 64, 2], "relu", rng=0)
    cr.fit(m, CrossEntropyLoss(), X, y, optimizer=cr.Adam(lr=0.01), epochs=200, batch_size=32, rng=0)
    last = _linear_with(lambda self, dx: (self.grads.update(b=-self.grads["b"]), dx)[1])(64, 2)
    last.params = {k: v.copy() for k, v in m.layers[4].params.items()}
    m.layers[4] = last
    report = check_model(m, CrossEntropyLoss(), X[:64], y[:64])
    assert not report.passed and report.blame == 4 and report.layers[4].parameters["b"].pattern == "sign"


def test_a_whole_model_failure_no_layer_explains_is_explained():
    # tied weights: every layer is right alone, yet 0.W and 2.W are one array
    X, y = _data()
    first, second = Linear(3, 3, rng=0), Linear(3, 3, rng=1)
    second.params["W"] = first.params["W"]
    report = check_model(Sequential(first, Tanh(), second), CrossEntropyLoss(), X, y)
    assert not report.passed and report.blame is None
    assert all(lr.passed for lr in report.layers) and report.loss.passed
    assert any("fail in the whole model although every layer's backward" in n for n in report.notes)
    assert "numerical noise or a bug between layers" in report.headline()


# 4: the one-line verdict leads with what the blamed layer's own check found

class NoMaskReLU(ReLU):
    def backward(self, dout):
        return dout


def test_headline_leads_with_the_blamed_layers_pattern():
    X, y = _data()
    net = Sequential(Linear(3, 4, rng=0), NoMaskReLU(), Linear(4, 3, rng=1))
    with pytest.raises(AssertionError) as info:
        assert_gradients(net, CrossEntropyLoss(), X, y)
    first = str(info.value).splitlines()[0]
    assert first.startswith("gradient check failed: blame layer 1 (NoMaskReLU): x masked — correct on ")
    assert "where the input is <= 0" in first and "; failing: 0.W" in first


# 5: autodiff failures are notes, one per cause

class PlainLinear(cr.Layer):
    def __init__(self, i, o, seed):
        super().__init__()
        self.params = {"W": np.random.default_rng(seed).standard_normal((i, o)), "b": np.zeros(o)}
        self.zero_grad()

    def forward(self, x):
        self.x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dout):
        self.grads["W"], self.grads["b"] = self.x.T @ dout, dout.sum(0)
        return dout @ self.params["W"].T


class PlainReLU(cr.Layer):
    def forward(self, x):
        self.mask = x > 0
        return x * self.mask

    def backward(self, dout):
        return dout * self.mask


def test_layers_without_autodiff_rules_get_one_note():
    X, y = _data()
    net = Sequential(PlainLinear(3, 4, 0), PlainReLU(), PlainLinear(4, 3, 1))
    report = check_model(net, CrossEntropyLoss(), X, y, autodiff=True)
    notes = [n for n in report.notes if "autodiff" in n]
    assert report.passed and len(notes) == 1
    assert notes[0].startswith("autodiff has no rule for layers 0, 2 (PlainLinear); layer 1 (PlainReLU), "
                               "so the whole model and these layers have no autodiff witness")


def test_a_rule_registered_for_the_wrong_class_is_a_note_not_a_crash():
    class MisfitLinear(PlainLinear):
        pass

    ad.register_layer(MisfitLinear, ad.rule_for(Linear))
    X, y = _data()
    net = Sequential(MisfitLinear(3, 4, 0), ReLU(), MisfitLinear(4, 3, 1))
    report = check_model(net, CrossEntropyLoss(), X, y, autodiff=True)
    assert report.passed
    assert any(n.startswith("the autodiff rule for layers 0, 2 (MisfitLinear) raised AttributeError: ")
               for n in report.notes)


# 6: what was not checked is said

def test_grads_keys_for_parameters_params_lacks_are_flagged():
    params = {"W1": np.array([1.0, -2.0])}
    grads = {"dW1": 2 * params["W1"], "dW2": np.ones(2), "dZ1": np.ones(2)}
    report = check_gradients(lambda p: float(np.sum(p["W1"] ** 2)), params, grads)
    assert report.passed
    stray = [n for n in report.notes if "['dW2']" in n]
    assert len(stray) == 1 and "match no parameter" in stray[0] and "dZ1" not in stray[0]
    assert any("['dZ1']" in n and "need no check of their own" in n for n in report.notes)


def test_a_sampled_check_says_so_in_its_headline():
    X, y = _data()
    model = cr.mlp([3, 8, 3], "relu", rng=0)
    sampled = check_model(model, CrossEntropyLoss(), X, y, sample=4)
    assert sampled.headline() == ("gradient check passed (only a random sample of 4 elements per parameter "
                                  "was checked: a bug in the other elements can go unseen)")
    assert "only a random sample of 4 elements" in sampled.summary() and sampled.to_dict()["sample"] == 4
    assert check_model(model, CrossEntropyLoss(), X, y).headline() == "gradient check passed"
