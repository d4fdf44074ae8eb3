"""check_backward's verdict line, its NaN/inf handling and its faces (repr, HTML, assert_backward)."""

import numpy as np
import pytest

from chainrule import dlai


@pytest.fixture
def course_point():
    r = np.random.default_rng(0)
    params = {"W1": r.standard_normal((5, 4)), "b1": r.standard_normal((5, 1)) * 0.1,
              "W2": r.standard_normal((3, 5)), "b2": r.standard_normal((3, 1)) * 0.1,
              "W3": r.standard_normal((1, 3)), "b3": r.standard_normal((1, 1)) * 0.1}
    X = r.standard_normal((4, 7))
    Y = (r.random((1, 7)) > 0.5).astype(float)
    return params, X, Y


def lb_good(dZ, cache):
    A_prev, W, b = cache
    m = A_prev.shape[1]
    return W.T @ dZ, dZ @ A_prev.T / m, np.sum(dZ, axis=1, keepdims=True) / m


def lb_nan_dW(dZ, cache):
    dA_prev, dW, db = lb_good(dZ, cache)
    dW = dW.copy()
    dW[0, :2] = np.nan
    return dA_prev, dW, db


def lb_no_keepdims(dZ, cache):
    dA_prev, dW, db = lb_good(dZ, cache)
    return dA_prev, dW, db.reshape(-1)


def lb_transposed(dZ, cache):
    dA_prev, dW, db = lb_good(dZ, cache)
    return dA_prev, dW.T, db


def relu_inplace(dA, cache):
    dA[cache <= 0] = 0
    return dA


def relu_inf(dA, cache):
    dZ = np.array(dA, copy=True)
    dZ[cache <= 0] = 0
    dZ[0, 0] = np.inf
    return dZ


def test_nan_dW_from_linear_backward_fails_that_step_with_the_count(course_point):
    result = dlai.check_backward(*course_point, linear_backward=lb_nan_dW)
    assert not result.passed
    # every linear step returns 2 NaN in dW (layer 3's W is (1, 3): 2 of 3 elements)
    linear = [s for s in result.steps if s.step == "linear"]
    assert [s.passed for s in linear] == [False, False, False]
    assert all(s.pattern == "non-finite" for s in linear)
    assert "linear_backward returned dW with 2 non-finite element(s) (NaN or inf) of 20" in linear[0].hint
    assert all(s.passed for s in result.steps if s.step != "linear")
    assert (result.blame.layer, result.blame.step) == (1, "linear")
    text = str(result)
    assert text.splitlines()[0] == ("backward check FAILED: layer 1 linear step, your linear_backward "
                                    "(lb_nan_dW): returned dW with 2 non-finite element(s) (NaN or inf) "
                                    "of 20")
    assert "what joins them" not in text


def test_inf_dZ_from_relu_backward_blames_the_relu_step(course_point):
    result = dlai.check_backward(*course_point, relu_backward=relu_inf)
    assert (result.blame.layer, result.blame.step, result.blame.pattern) == (1, "relu", "non-finite")
    assert "returned dZ with 1 non-finite element(s) (NaN or inf) of 35" in result.verdict


def test_verdict_names_the_reason_for_inplace_keepdims_and_transpose(course_point):
    inplace = dlai.check_backward(*course_point, relu_backward=relu_inplace)
    assert inplace.verdict == ("backward check FAILED: layer 1 relu step, your relu_backward (relu_inplace): "
                               "modified dA in place")
    keepdims = dlai.check_backward(*course_point, linear_backward=lb_no_keepdims)
    assert keepdims.verdict.startswith("backward check FAILED: layer 1 linear step, your linear_backward "
                                       "(lb_no_keepdims): linear_backward returned db of shape (5,)")
    assert "keepdims=True" in keepdims.verdict and "nan" not in keepdims.verdict
    transposed = dlai.check_backward(*course_point, linear_backward=lb_transposed)
    assert "returned dW of shape (4, 5); it must have the shape of W, (5, 4) (transposed)" \
        in transposed.verdict
    assert str(transposed).splitlines()[0] == transposed.verdict


def test_steps_name_whose_function_ran(course_point):
    result = dlai.check_backward(*course_point, relu_backward=relu_inplace)
    labels = {(s.layer, s.step): s.label for s in result.steps}
    assert labels[(1, "relu")] == "your relu_backward (relu_inplace)"
    assert labels[(3, "sigmoid")] == "chainrule's sigmoid_backward"
    assert labels[(1, "linear")] == "chainrule's linear_backward"


def test_repr_html_and_assert_backward(course_point):
    good = dlai.assert_backward(*course_point, linear_backward=lb_good)
    assert good.passed and repr(good).startswith("<BackwardCheck backward check passed: difference = ")
    assert len(repr(good).splitlines()) == 1
    bad = dlai.check_backward(*course_point, relu_backward=relu_inplace)
    assert repr(bad) == f"<BackwardCheck {bad.verdict}>"
    html = bad._repr_html_()
    assert "modified dA in place" in html and "<pre " in html and "#cf222e" in html
    with pytest.raises(AssertionError) as info:
        dlai.assert_backward(*course_point, relu_backward=relu_inplace)
    message = str(info.value)
    assert message.splitlines()[0] == bad.verdict and "each step checked alone:" in message


def test_verdict_when_every_step_passes_names_the_wrong_gradient_and_the_joins(course_point):
    def L_model_backward_negated(AL, Y, caches):
        return {k: -v for k, v in dlai.L_model_backward(AL, Y, caches).items()}

    result = dlai.check_backward(*course_point, L_model_backward=L_model_backward_negated)
    assert all(s.passed for s in result.steps) and result.blame is None
    assert result.verdict.startswith("backward check FAILED: every step passes alone but dW1 is wrong "
                                     "(pattern 'sign': analytic = -numerical): the bug is in what joins")
