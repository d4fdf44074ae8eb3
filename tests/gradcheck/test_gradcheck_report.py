"""The report's faces (table, JSON, HTML), assert_gradients, and check_model as a whole."""

import json

import numpy as np
import pytest

from chainrule import GradientReport, assert_gradients, check_gradients, check_model
from chainrule.gradcheck import PrecisionWarning, check_layer
from chainrule.nn import CrossEntropyLoss, Linear, MSELoss, ReLU, Sequential, Sigmoid, Tanh, mlp


def _course_report(course, bugs=True):
    _, cache = course.forward(course.x, course.y, course.params)
    grads = course.backward(course.x, course.y, cache, bugs=bugs)
    return check_gradients(lambda p: course.forward(course.x, course.y, p), course.params, grads, eps=1e-7)


class SwappedReLU(ReLU):
    """Seed 001's mistake, row layout: ReLU's backward uses sigmoid's derivative."""

    def forward(self, x):
        self.x = x
        return super().forward(x)

    def backward(self, dout):
        s = 1 / (1 + np.exp(-self.x))
        return dout * s * (1 - s)


class SwappedSigmoid(Sigmoid):
    """... and sigmoid's backward uses ReLU's."""

    def forward(self, x):
        self.x = x
        return super().forward(x)

    def backward(self, dout):
        return dout * (self.x > 0)


def _data(n=6, d=3, c=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.integers(0, c, n)


def test_table_names_the_failures_without_colour_codes_off_a_terminal(course):
    text = str(_course_report(course))
    assert "gradient check FAILED" in text and "0.2850931" in text
    assert "worst elements of W2" in text and "worst elements of b1" in text
    assert "scaled" in text and "\x1b[" not in text  # pytest captures stdout: not a terminal
    assert "gradient check PASSED" in str(_course_report(course, bugs=False))


def test_to_dict_is_json_round_trippable(course):
    report = _course_report(course)
    d = report.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["failed"] == ["b1", "W2"] and d["parameters"]["W2"]["pattern"] == "scaled"
    assert d["parameters"]["W2"]["factor"] == pytest.approx(2, rel=1e-3)
    full = report.to_dict(arrays=True)
    assert json.loads(json.dumps(full)) == full
    np.testing.assert_allclose(np.array(full["parameters"]["W1"]["analytic"]),
                               report.parameters["W1"].analytic)
    sampled = check_gradients(lambda p: course.forward(course.x, course.y, p), course.params,
                              {f"d{k}": np.zeros_like(v) for k, v in course.params.items()}, sample=2)
    as_json = json.dumps(sampled.to_dict(arrays=True), allow_nan=False)  # NaN (unsampled) -> null
    assert "null" in as_json


def test_html_form(course):
    html = _course_report(course)._repr_html_()
    assert "FAIL" in html and "scaled" in html and "W2" in html
    # the parameter table, then the worst elements of each failing parameter, as in the text form
    assert html.count("<table ") == 3 and "worst elements of W2" in html and "worst elements of b1" in html
    X, y = _data()
    model = Sequential(Linear(3, 4, rng=0), SwappedReLU(), Linear(4, 3, rng=1))
    model_html = check_model(model, CrossEntropyLoss(), X, y)._repr_html_()
    assert "blame: layer 1 (SwappedReLU) is the first whose own backward is wrong" in model_html
    assert model_html.count("<table ") >= 3  # parameters, layers, worst
    assert "worst elements of x in layer 1 (SwappedReLU) checked alone" in model_html


def test_seed_001_swapped_derivatives_are_named_per_layer():
    X, y = _data(n=5, c=1)
    model = Sequential(Linear(3, 4, rng=0), SwappedReLU(), Linear(4, 1, rng=1), SwappedSigmoid())
    report = check_model(model, MSELoss(), X, y.reshape(-1, 1).astype(float))
    assert not report.passed and report.blame == 1
    assert (report.layers[1].pattern, report.layers[1].parameters["x"].detail) == ("activation", "sigmoid")
    assert (report.layers[3].pattern, report.layers[3].parameters["x"].detail) == ("activation", "relu")
    assert report.layers[0].passed and report.layers[2].passed and report.loss.passed
    text = str(report)
    assert "blame: layer 1" in text and "derivative of sigmoid" in text


def test_parameters_upstream_of_the_blamed_layer_point_to_it():
    class DoubledDx(Linear):
        def backward(self, dout):
            return 2 * super().backward(dout)

    X, y = _data()
    model = Sequential(Linear(3, 4, rng=0), Tanh(), DoubledDx(4, 3, rng=1))
    report = check_model(model, CrossEntropyLoss(), X, y)
    assert report.blame == 2 and set(report.failed) == {"0.W", "0.b"}
    first = report.parameters["0.W"]
    assert first.pattern == "scaled" and first.factor == pytest.approx(2, rel=1e-5)
    assert "error comes from layer 2 (DoubledDx)" in first.hint
    assert report.layers[0].passed and "comes from" not in report.parameters["2.W"].hint


def test_check_model_leaves_the_model_alone_and_checks_float32_in_float64():
    X, y = _data()
    model = mlp([3, 5, 3], "tanh", rng=0, dtype=np.float32)
    before = {k: v.copy() for k, v in model.params.items()}
    with pytest.warns(PrecisionWarning):
        report = check_model(model, CrossEntropyLoss(), X.astype(np.float32), y)
    assert report.passed and report.difference < 1e-8
    for k, v in model.params.items():
        assert v.dtype == np.float32
        np.testing.assert_array_equal(v, before[k])


def test_check_model_on_a_single_layer_and_check_layer():
    X, _ = _data()
    target = np.random.default_rng(3).standard_normal((6, 2))
    report = check_model(Linear(3, 2, rng=0), MSELoss(), X, target)
    assert report.passed and list(report.parameters) == ["W", "b"] and len(report.layers) == 1
    result = check_layer(ReLU(), X)
    assert result.passed and set(result.parameters) == {"x"}
    assert result.index is None and str(result).startswith("ReLU's backward checked: PASSED")
    assert "layer 0" not in str(result)
    wrong = check_layer(SwappedReLU(), X)
    text = str(wrong)
    assert "FAILED" in text and "derivative of sigmoid" in text and "worst elements of x" in text


def test_a_gradient_the_backward_never_writes_is_zero():
    class ForgetsBias(Linear):
        def backward(self, dout):
            self.grads["W"] = self.x.T @ dout
            return dout @ self.params["W"].T

    X, y = _data()
    layer = ForgetsBias(4, 3, rng=1)
    layer.grads["b"] = np.ones(3)  # stale values from an earlier step must not be mistaken for a gradient
    report = check_model(Sequential(Linear(3, 4, rng=0), Tanh(), layer), CrossEntropyLoss(), X, y)
    assert report.failed == ["2.b"] and report.parameters["2.b"].pattern == "zero"
    assert report.blame == 2 and report.layers[2].pattern == "zero"


def test_a_backward_that_raises_is_reported_and_blamed():
    class Broken(Linear):
        def backward(self, dout):
            raise ValueError("shapes do not align")

    X, y = _data()
    report = check_model(Sequential(Linear(3, 4, rng=0), Broken(4, 3, rng=1)), CrossEntropyLoss(), X, y)
    assert not report.passed and report.blame == 1
    assert report.layers[1].pattern == "error" and "shapes do not align" in report.layers[1].hint
    assert "shapes do not align" in report.error


def test_check_model_rejects_bad_arguments():
    X, y = _data()
    model = mlp([3, 3], rng=0)
    with pytest.raises(TypeError, match="model must be"):
        check_model(lambda x: x, CrossEntropyLoss(), X, y)
    with pytest.raises(TypeError, match="loss must be"):
        check_model(model, "cross_entropy", X, y)
    with pytest.raises(ValueError, match="complex"):
        check_model(model, CrossEntropyLoss(), X, y, method="complex")
    # data the forward refuses is the caller's mistake, raised as such, not blamed on the loss
    with pytest.raises(ValueError, match=r"y does not fit the loss .*: CrossEntropyLoss: y labels must lie "
                                         r"in \[0, 2\]"):
        check_model(model, CrossEntropyLoss(), X, np.full(6, 7))
    with pytest.raises(ValueError, match=r"y does not fit the loss .*MSELoss: y must have the logits' shape "
                                         r"\(6, 3\), got \(5, 3\)"):
        check_model(model, MSELoss(), X, np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"x must have shape \(N, 3\), got \(6, 2\)"):
        check_model(model, CrossEntropyLoss(), X[:, :2], y)
    with pytest.raises(ValueError, match=r"dout must have the layer output's shape \(6, 3\)"):
        check_layer(model, X, np.zeros((6, 2)))


def test_autodiff_is_a_third_witness():
    X, y = _data()
    good = check_model(mlp([3, 4, 3], "relu", rng=0), CrossEntropyLoss(), X, y, autodiff=True)
    for p in good.parameters.values():
        assert p.autodiff is not None and p.autodiff_difference < 1e-12
    for lr in good.layers:
        assert all(p.autodiff_difference < 1e-12 for p in lr.parameters.values())
    assert good.loss.parameters["logits"].autodiff_difference < 1e-12
    class DoubledW(Linear):  # overrides only backward, so autodiff still knows its forward
        def backward(self, dout):
            dx = super().backward(dout)
            self.grads["W"] = 2 * self.grads["W"]
            return dx

    model = Sequential(Linear(3, 4, rng=0), ReLU(), DoubledW(4, 3, rng=1))
    bad = check_model(model, CrossEntropyLoss(), X, y, autodiff=True)
    assert bad.blame == 2 and bad.parameters["2.W"].pattern == "scaled"
    assert any("autodiff agrees" in note for note in bad.notes)
    w = bad.parameters["2.W"].worst[0]
    assert w.autodiff == pytest.approx(w.numerical, rel=1e-6, abs=1e-9)
    assert "autodiff" in str(bad)
    # a layer autodiff has no rule for is noted, and the rest of the report still stands
    odd = check_model(Sequential(Linear(3, 4, rng=0), SwappedReLU(), Linear(4, 3, rng=1)),
                      CrossEntropyLoss(), X, y, autodiff=True)
    notes = [n for n in odd.notes if "autodiff" in n]
    assert odd.blame == 1 and len(notes) == 1
    assert notes[0].startswith("autodiff could not differentiate layer 1 (SwappedReLU): TypeError: ")
    assert odd.layers[0].parameters["W"].autodiff is not None


def test_assert_gradients(course):
    _, cache = course.forward(course.x, course.y, course.params)
    cost = lambda p: course.forward(course.x, course.y, p)  # noqa: E731
    fixed = course.backward(course.x, course.y, cache, bugs=False)
    ok = assert_gradients(cost, course.params, fixed, eps=1e-7)
    assert isinstance(ok, GradientReport) and ok.passed
    with pytest.raises(AssertionError, match=r"(?s)gradient check failed.*W2.*scaled"):
        assert_gradients(cost, course.params, course.backward(course.x, course.y, cache), eps=1e-7)
    X, y = _data()
    assert_gradients(mlp([3, 4, 3], "tanh", rng=0), CrossEntropyLoss(), X, y)
    with pytest.raises(AssertionError, match="blame: layer 1"):
        assert_gradients(Sequential(Linear(3, 4, rng=0), SwappedReLU(), Linear(4, 3, rng=1)),
                         CrossEntropyLoss(), X, y)
    with pytest.raises(AssertionError):
        assert_gradients(_course_report(course))
    # a custom layer on its own, with an input only
    assert assert_gradients(ReLU(), X).passed
    with pytest.raises(AssertionError, match=r"(?s)^gradient check failed: SwappedReLU backward: x "
                       r"activation\nSwappedReLU's backward checked: FAILED.*sigmoid"):
        assert_gradients(SwappedReLU(), X)
    with pytest.raises(TypeError, match="target must be"):
        assert_gradients(42)


def test_vanishing_gradients_are_decided_at_a_larger_step_and_checked_layer_by_layer():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((16, 4)), rng.integers(0, 2, 16)
    model = mlp([4, 8, 8, 8, 8, 2], "sigmoid", rng=0, init="course")  # randn * 0.01: dW0 ~ 1e-9
    good = check_model(model, CrossEntropyLoss(), X, y)
    assert good.passed and good.undecided == []
    # eps 1e-6 cannot resolve dW0 next to the cost's noise; a larger step, with its truncation measured, does
    assert "decided with eps" in good.parameters["0.W"].witness and good.parameters["0.W"].eps > 1e-6

    class DoubledW(Linear):
        def backward(self, dout):
            dx = super().backward(dout)
            self.grads["W"] = 2 * self.grads["W"]
            return dx

    model.layers[0] = DoubledW(4, 8, rng=0, init="course")
    bad = check_model(model, CrossEntropyLoss(), X, y)
    assert bad.failed == ["0.W"] and bad.parameters["0.W"].factor == pytest.approx(2, rel=1e-3)
    assert not bad.passed and bad.blame == 0  # ... and the isolated check of layer 0 blames it
    assert bad.layers[0].pattern == "scaled" and bad.layers[0].parameters["W"].factor == pytest.approx(2)
