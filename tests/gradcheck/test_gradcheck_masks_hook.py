"""check_gradients(masks=...): named element sets let a black-box cost's gradient be called "masked"."""

import numpy as np
import pytest

from chainrule.gradcheck import check_gradients


def relu_cost(p):
    return float(np.sum(np.maximum(p["x"], 0) * UPSTREAM))


X = np.random.default_rng(0).standard_normal((5, 4))
UPSTREAM = np.random.default_rng(1).standard_normal((5, 4))


def test_a_forgotten_mask_is_named_with_the_set_given():
    grads = {"x": UPSTREAM.copy()}  # the mask (x > 0) forgotten
    plain = check_gradients(relu_cost, {"x": X}, grads)
    assert plain.parameters["x"].pattern != "masked"  # without a named set nothing can be named
    named = check_gradients(relu_cost, {"x": X}, grads, masks={"x": {"elements where x <= 0": X <= 0,
                                                                    "elements where x > 0": X > 0}})
    res = named.parameters["x"]
    assert res.pattern == "masked" and res.detail == "elements where x <= 0"
    assert f"wrong on the {int((X <= 0).sum())} elements where x <= 0" in res.hint


def test_masks_change_nothing_for_a_correct_gradient_and_ignore_unknown_names():
    grads = {"x": UPSTREAM * (X > 0)}
    report = check_gradients(relu_cost, {"x": X}, grads, masks={"x": {"where x <= 0": X <= 0}, "y": {}})
    assert report.passed and report.parameters["x"].pattern is None


def test_a_mask_of_another_shape_is_never_matched():
    grads = {"x": UPSTREAM.copy()}
    report = check_gradients(relu_cost, {"x": X}, grads, masks={"x": {"elements where x <= 0": (X <= 0)[:2]}})
    assert report.parameters["x"].pattern != "masked" and not report.passed


@pytest.mark.parametrize("bad", [None, {}])
def test_no_masks_is_the_default(bad):
    assert check_gradients(relu_cost, {"x": X}, {"x": UPSTREAM * (X > 0)}, masks=bad).passed
