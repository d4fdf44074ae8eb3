"""What a user-experience test found: checks that checked nothing, faces that disagreed, hints lost.

Every test here failed on the library as the tester used it.
"""

import json
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.gradcheck import PATTERNS, assert_gradients, check_gradients, check_layer, check_model
from chainrule.gradcheck.demo import course_demo
from chainrule.nn import CrossEntropyLoss, Linear, MSELoss, ReLU, Sequential, Sigmoid, Tanh


def _data(n=8, d=3, c=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.integers(0, c, n)


def _flat(text: str) -> str:
    """A table's text with the borders and line wraps removed (only the hint column wraps)."""
    return re.sub(r"[│\s]+", " ", text)


class AttributeAffine(cr.Layer):
    """Deep Learning from Scratch's Affine: parameters as attributes, not in params/grads."""

    def __init__(self):
        super().__init__()
        self.W, self.b = np.ones((3, 2)), np.zeros(2)

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        self.dW, self.db = self.x.T @ dout, dout.sum(0)
        return dout @ self.W.T


class InplaceRelu(cr.Layer):
    """Deep Learning from Scratch's Relu: its backward writes into dout."""

    def forward(self, x):
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dout[self.mask] = 0
        return dout


def _linear_with(grads_fix):
    class Custom(Linear):
        def backward(self, dout):
            dx = super().backward(dout)
            grads_fix(self, dout)
            return dx
    return Custom


# A1: a check that checked nothing must never pass

def test_parameters_kept_as_attributes_are_refused_by_name():
    with pytest.raises(ValueError,
                       match=r"no parameters found in model\.params.*\['0\.W', '0\.b'\].*self\.params"):
        check_model(Sequential(AttributeAffine()), MSELoss(), np.ones((4, 3)), np.ones((4, 2)))


def test_no_rows_and_no_elements_are_refused():
    with pytest.raises(ValueError, match=r"nothing to check: x has 0 rows"):
        assert_gradients(Linear(3, 2, rng=0), np.zeros((0, 3)))
    with pytest.raises(ValueError, match=r"nothing to check: X has 0 rows"):
        check_model(Linear(3, 2, rng=0), MSELoss(), np.zeros((0, 3)), np.zeros((0, 2)))
    with pytest.raises(ValueError, match="nothing to check: params has no elements"):
        check_gradients(lambda p: 0.0, np.zeros(0), np.zeros(0))


def test_a_check_where_every_element_is_on_a_kink_fails_with_a_nan_difference():
    # |theta| at 0 with 0.5 as "gradient": both elements straddle the kink, and 0.5 is neither
    # one-sided slope (1 or -1), so nothing can be checked; backprop's usual 1 is checked one-sided
    report = check_gradients(lambda t: float(np.abs(t).sum()), np.zeros(2), np.full(2, 0.5))
    assert report.kinks == 2 and report.parameters["theta"].checked == 0
    assert report.outcome == "undecided" and report.parameters["theta"].status == "unchecked"
    assert not report.passed and np.isnan(report.difference) and report.to_dict()["difference"] is None
    # the left-hand slope (-1) is checked one-sided; the right-hand one alone (+1, a convention of its
    # own, also what a missing mask gives) proves nothing about the backward: undecided, never correct
    one_sided = check_gradients(lambda t: float(np.abs(t).sum()), np.zeros(2), -np.ones(2))
    assert one_sided.passed and one_sided.kinks == 2 and one_sided.parameters["theta"].checked == 2
    right = check_gradients(lambda t: float(np.abs(t).sum()), np.zeros(2), np.ones(2))
    assert right.outcome == "undecided" and "right-hand slope" in right.parameters["theta"].hint
    assert "nothing was checked: every element sat on a kink" in report.summary()


# A2, A3: a parameter with no checkable element is "unchecked" on every face

def test_a_parameter_entirely_on_kinks_is_unchecked_and_undecided_on_every_face():
    # W's rows are equal and the inputs are (1, -1), (-1, 1): every ReLU input is exactly 0, and moving
    # a weight either way switches one example's unit on, so neither one-sided slope is backprop's 0
    X = np.array([[1.0, -1.0], [-1.0, 1.0], [0.5, -0.5]])
    first = Linear(2, 4, rng=0)
    first.params["W"][1] = first.params["W"][0]
    model = Sequential(first, ReLU(), Linear(4, 3, rng=1))
    report = check_model(model, CrossEntropyLoss(), X, np.array([0, 1, 2]))
    p = report.parameters["0.W"]
    assert p.checked == 0 and p.kinks == 8 and p.status == "unchecked" and np.isnan(p.difference)
    assert p.outcome == "undecided" and report.outcome == "undecided" and report.failed == []
    assert "0.W" in report.undecided and "sat on a kink" in p.hint
    assert "not checkable (on a kink)" in report.summary() and "not checked at all" in report.summary()
    d = report.to_dict()
    assert d["parameters"]["0.W"]["status"] == "unchecked" and d["parameters"]["0.W"]["difference"] is None
    row = next(line for line in str(report).splitlines() if line.startswith("│ 0.W"))
    assert "unchecked" in row and "—" in row and " 0 " not in row.split("│")[4]
    html_row = re.search(r"<tr[^>]*><td[^>]*>0\.W</td>.*?</tr>", report._repr_html_()).group(0)
    assert ">unchecked</td>" in html_row and ">—</td>" in html_row and ">ok</td>" not in html_row
    # the ReLU alone sees inputs exactly 0: its backward's 0 is the left slope there, checked one-sided
    relu_x = report.layers[1].parameters["x"]
    assert report.layers[1].status == "ok" and d["layers"][1]["status"] == "ok"
    assert relu_x.checked == relu_x.kinks == 12 and relu_x.outcome == "correct"
    assert not any("vanishing" in note and "0.W" in note for note in report.notes)  # kinks, not small
    for name, q in report.parameters.items():  # the three faces agree on every status
        assert d["parameters"][name]["status"] == q.status


def test_cli_default_checks_every_parameter(capsys):
    assert main(["gradcheck", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["passed"] and d["unresolved"] == []
    for name, p in d["parameters"].items():
        assert p["checked"] > 0 and p["difference"] is not None and p["status"] == "ok", name
    assert main(["gradcheck"]) == 0
    assert "unchecked" not in capsys.readouterr().out


# A4: a wrong shape never shows a passing difference

def test_a_transposed_gradient_has_no_overall_difference():
    Transposed = _linear_with(lambda self, dout: self.grads.update(W=self.grads["W"].T.copy()))
    X, _ = _data()
    report = check_model(Sequential(Transposed(3, 2, rng=0)), MSELoss(), X, np.ones((8, 2)))
    assert not report.passed and report.failed == ["0.W"] and report.parameters["0.W"].pattern == "transposed"
    assert np.isnan(report.difference) and report.to_dict()["difference"] is None
    assert "difference = — (not computed: the gradient of 0.W has the wrong shape" in report.summary()
    assert np.isnan(report.layers[0].difference) and report.to_dict()["layers"][0]["difference"] is None
    assert "e-10" not in str(report).splitlines()[0]


# A5: --demo refuses what it ignores and shows the eps it used

@pytest.mark.parametrize("option", [["--hidden", "4"], ["--dataset", "moons"], ["--seed", "3"],
                                    ["--method", "directional"], ["--autodiff"], ["--n-samples", "5"]])
def test_demo_refuses_options_it_ignores(option, capsys):
    assert main(["gradcheck", "--demo", *option]) == 2
    assert f"{option[0]} does not apply to --demo" in capsys.readouterr().err


def test_demo_uses_and_shows_eps_and_threshold(capsys):
    assert main(["gradcheck", "--demo", "--eps", "1e-6"]) == 1
    out = capsys.readouterr().out
    assert "eps = 1e-06" in out and "eps = 1e-7" not in out and "eps 1e-06" in out
    assert "study note 000" in out and "seed 000" not in out.lower()
    assert "dZ1" not in out and "dA1" not in out  # the course's intermediate gradients are no news
    assert main(["gradcheck", "--demo", "--json", "--threshold", "0.5"]) in (0, 1)
    assert json.loads(capsys.readouterr().out)["threshold"] == 0.5


# B1: the hint that points upstream is in the text table

def test_text_table_keeps_the_upstream_hint():
    Doubled = type("DoubledDx", (Linear,), {"backward": lambda self, dout: 2 * Linear.backward(self, dout)})
    X, y = _data()
    model = Sequential(Linear(3, 4, rng=0), Tanh(), Doubled(4, 3, rng=1))
    text = _flat(str(check_model(model, CrossEntropyLoss(), X, y)))
    assert "[this layer's own backward is right: the error comes from layer 2 (DoubledDx)" in text


# B2: derivatives written at the output

def _activation(base, grad):
    class Wrong(base):
        def forward(self, x):
            self.out = super().forward(x)
            return self.out

        def backward(self, dout):
            return dout * grad(self.out)
    return Wrong


@pytest.mark.parametrize("base, grad, label, words", [
    (Tanh, lambda y: y * (1 - y), "sigmoid-formula-on-output",
     "sigmoid's derivative formula y(1 - y) applied to this layer's output y; tanh needs 1 - y²"),
    (Sigmoid, lambda y: 1 - y ** 2, "tanh-formula-on-output",
     "tanh's derivative formula 1 - y² applied to this layer's output y; sigmoid needs y(1 - y)"),
    (Sigmoid, lambda y: y, "output-alone", "this layer's output y alone; sigmoid needs y(1 - y)"),
])
def test_activation_derivatives_written_at_the_output_are_named(base, grad, label, words):
    X, _ = _data()
    x = check_layer(_activation(base, grad)(), X).parameters["x"]
    assert not x.passed and x.pattern == "activation" and x.detail == label and words in x.hint


def test_an_unknown_derivative_is_not_claimed_as_an_activation():
    x = check_layer(_activation(Tanh, np.cos)(), _data()[0]).parameters["x"]
    assert not x.passed and x.pattern == "mismatch"


# B3: a backward that writes into dout

def test_a_backward_writing_into_dout_fails_as_inplace():
    assert "inplace" in PATTERNS
    X, y = _data()
    model = Sequential(Linear(3, 4, rng=0), InplaceRelu(), Linear(4, 3, rng=1))
    report = check_model(model, CrossEntropyLoss(), X, y)
    assert report.failed == []  # the values are right; the habit is not:
    assert not report.passed and report.blame == 1 and report.layers[1].pattern == "inplace"
    assert "dx = dout.copy()" in report.layers[1].hint
    assert check_layer(ReLU(), X).passed  # chainrule's own ReLU leaves dout alone


# B4: one line first, and pytest hides chainrule's frames

def test_assert_gradients_says_it_in_one_line_and_hides_its_frames():
    Scaled = _linear_with(lambda self, dout: self.grads.update(W=self.grads["W"] / 8))
    X, _ = _data()
    model = Sequential(Scaled(3, 4, rng=0), Tanh(), Linear(4, 2, rng=1))
    with pytest.raises(AssertionError) as info:
        assert_gradients(model, MSELoss(), X, np.ones((8, 2)))
    lines = str(info.value).splitlines()
    # the blamed layer's own finding leads; the whole-model parameters it corrupts follow
    assert lines[0].startswith("gradient check failed: blame layer 0 (Custom): W scaled x1/8 (extra 1/m?) — ")
    assert lines[0].endswith("; failing: 0.W scaled x1/8 (extra 1/m?)")
    assert lines[1].startswith("gradient check FAILED")
    from pathlib import Path

    import chainrule

    package = str(Path(chainrule.__file__).parent)  # the library's frames, wherever the clone lives
    tb, hidden = info.tb, []
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.startswith(package):
            hidden.append(tb.tb_frame.f_locals.get("__tracebackhide__", False))
        tb = tb.tb_next
    assert hidden and all(hidden)


# B6: ok above the threshold says why

def test_ok_above_the_threshold_is_marked_noise():
    report = course_demo(bugs=False)
    noisy = [p for p in report.parameters.values() if p.passed and p.difference > report.threshold]
    assert noisy and all(p.status == "ok (noise)" for p in noisy)
    assert "ok (noise)" in str(report) and "within its numerical error bar" in _flat(str(report))
    assert all(p.status == "ok" for p in report.parameters.values() if p.difference <= report.threshold)


# B7, B8: grads keyed like the course, shapes from keepdims or the wrong axis

def test_grads_keyed_dW_are_named_in_the_error():
    def course_keys(self, dout):  # {"dW": ..., "db": ...}, as the course names them
        self.grads = {f"d{k}": v for k, v in self.grads.items()}

    DKeys = _linear_with(course_keys)
    result = check_layer(DKeys(3, 2, rng=0), _data()[0])
    assert not result.passed and "did not fill grads ['W', 'b']; found 'dW', 'db'" in result.error
    assert "keyed like its params" in result.error


@pytest.mark.parametrize("fix, words", [
    (lambda self, dout: self.grads.update(b=dout.sum(0, keepdims=True)), "keepdims=True"),
    (lambda self, dout: self.grads.update(b=dout.sum(1)), "axis of length 8 = the batch size"),
])
def test_shape_hints_name_keepdims_and_the_batch_axis(fix, words):
    X, _ = _data()
    report = check_model(Sequential(_linear_with(fix)(3, 2, rng=0)), MSELoss(), X, np.ones((8, 2)))
    assert report.failed == ["0.b"] and report.parameters["0.b"].pattern == "shape"
    assert words in report.parameters["0.b"].hint


# B12: the HTML face

def test_html_is_self_contained_escaped_and_marks_failures():
    Swapped = _activation(ReLU, lambda y: y * (1 - y))
    Swapped.__name__ = "Wrong<i>"
    X, y = _data()
    model = Sequential(Linear(3, 16, rng=0), Swapped(), Linear(16, 3, rng=1))
    report = check_model(model, CrossEntropyLoss(), X, y, autodiff=True)
    page = report._repr_html_()
    assert not re.search(r"https?:|<link|<script|<style", page)
    assert "blame: layer 1 (Wrong&lt;i&gt;) is the first whose own backward is wrong" in page
    assert "<th" in page and ">kinks</th>" in page.split("layers, each backward checked alone")[1]
    fail_rows = re.findall(r'<tr style="([^"]*)">(?:(?!</tr>).)*>FAIL</td>', page)
    assert fail_rows and all("#ffebe9" in style for style in fail_rows)
    assert "white-space:nowrap\">(3, 16)</td>" in page
    assert ">-0</td>" not in page
    assert "Wrong<i>" not in page and page.count("Wrong&lt;i&gt;") >= 3  # every text is escaped


# C: check_layer at the top level

def test_check_layer_is_exported_and_a_lone_layer_is_not_called_layer_0():
    assert cr.check_layer is check_layer and "check_layer" in cr.__all__
    text = str(cr.check_layer(Tanh(), _data()[0]))
    assert text.startswith("Tanh's backward checked: PASSED") and "layer 0" not in text
    page = check_layer(_activation(Tanh, lambda y: y * (1 - y))(), _data()[0])._repr_html_()
    assert "Wrong&#x27;s backward checked: FAILED" in page and ">FAIL</td>" in page and "layer 0" not in page


def test_float32_composite_layer_is_checked_in_float64_without_touching_the_original():
    import warnings

    from composite_layers import PropertyResidual

    import chainrule as cr

    inner = cr.Sequential(cr.Linear(4, 4, rng=1, dtype=np.float32), cr.Tanh())
    model = cr.Sequential(cr.Linear(3, 4, rng=0, dtype=np.float32), PropertyResidual(inner),
                          cr.Linear(4, 2, rng=2, dtype=np.float32))
    X = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = cr.check_model(model, cr.CrossEntropyLoss(), X, np.array([0, 1, 1, 0, 1]))
    assert report.passed and report.difference < 1e-8
    assert any("float32" in str(w.message) for w in caught)
    assert model[1].inner[0].params["W"].dtype == np.float32
