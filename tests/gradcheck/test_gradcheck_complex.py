"""The complex step as check_gradients' second witness, and ReLU layers checked alone near the kink.

References are independent of the checker: the course-style network of ``census`` with its own
backward, exact gradients planted wrong by a known factor, and costs whose complex-step derivative
would lie (``np.abs``, a float cast) so that the witness must stand aside.
"""

from __future__ import annotations

import warnings

import census
import numpy as np
import pytest
from test_census_examples import _dead_units_point

import chainrule as cr
from chainrule.gradcheck import check as check_
from chainrule.gradcheck.holomorphic import NotHolomorphic, Watched, watched_cost
from chainrule.gradcheck.inputs import as_cost_value


def _small_deep(seed: int = 3, dims=(4, 5, 4, 5, 3, 1), m: int = 16):
    """The course's 5-layer network under its x0.01 init: gradients of W1 near 1e-10, far below
    what central differences resolve next to a cost of 0.69."""
    rs = np.random.RandomState(seed)
    params = {}
    for k in range(1, len(dims)):
        params[f"W{k}"] = rs.standard_normal((dims[k], dims[k - 1])) * 0.01
        params[f"b{k}"] = np.zeros((dims[k], 1))
    X = rs.standard_normal((dims[0], m))
    Y = (rs.rand(1, m) < 0.5).astype(float)
    return params, X, Y


def _check(params, X, Y, grads, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cr.check_gradients(lambda p: census.course_forward(X, Y, p)[0], params, grads, **kw)


def test_tiny_gradients_of_a_small_init_network_are_decided_correct_by_the_complex_step():
    params, X, Y = _small_deep()
    _, cache = census.course_forward(X, Y, params)
    grads = census.course_grads(census.course_backward(X, Y, params, cache))
    assert np.abs(grads["W1"]).max() < 1e-7  # tiny next to the cost's noise over any finite step
    report = _check(params, X, Y, grads)
    assert report.outcome == "correct" and report.passed
    decided = [p for p in report.parameters.values() if p.status == "ok (complex)"]
    assert decided, "the tiny gradients need the complex step"
    for p in decided:
        assert p.witness.startswith("the complex step")
        # its numbers are the derivative to rounding: equal to the exact backprop to 1e-9 relative
        ok = p.analytic != 0
        np.testing.assert_allclose(p.numerical[ok], p.analytic[ok], rtol=1e-6)
    assert "ok (complex): finite differences could not tell" in str(report)


def test_a_factor_on_a_tiny_gradient_is_wrong_and_named_with_its_factor():
    params, X, Y = _small_deep()
    _, cache = census.course_forward(X, Y, params)
    truth = census.course_grads(census.course_backward(X, Y, params, cache))
    given = dict(truth, W1=truth["W1"] * 2.0)
    report = _check(params, X, Y, given)
    p = report.parameters["W1"]
    assert report.outcome == "wrong" and p.outcome == "wrong"
    assert p.pattern == "scaled" and p.factor == pytest.approx(2.0, rel=1e-6)
    assert [k for k, q in report.parameters.items() if q.outcome != "correct"] == ["W1"]


def test_a_saturated_course_cost_without_its_cache_is_not_a_false_alarm():
    # 1 - AL of 4e-12 on a label-0 example: log(1 - AL) is a staircase in the cost, which finite
    # differences read as a wrong gradient; the complex step divides by the same rounded 1 - AL as
    # backprop and agrees to about u / (1 - AL)
    params, X, Y, info = census._course_point(1045, "saturated")
    _, cache = census.course_forward(X, Y, params)
    grads = census.course_backward(X, Y, params, cache, fused=False)
    report = _check(params, X, Y, grads)
    assert report.outcome == "correct", report.summary()
    assert any(p.status == "ok (complex)" for p in report.parameters.values())


def _l1_cost(X, Y, lam):
    def cost(p):
        return census.course_forward(X, Y, p)[0] + lam * sum(np.sum(np.abs(p[k])) for k in p if k[0] == "W")
    return cost


def test_a_cost_with_abs_gets_no_complex_witness_and_a_missing_l1_term_stays_wrong():
    # np.abs drops the imaginary part: the complex step would miss the L1 term exactly as this
    # backward does, and call it right. The watch sees np.abs and stands the witness aside.
    params, X, Y = _small_deep(dims=(3, 4, 1), m=8)
    params = {k: v * 100 for k, v in params.items()}  # away from the tiny-gradient regime
    _, cache = census.course_forward(X, Y, params)
    forgot_l1 = census.course_grads(census.course_backward(X, Y, params, cache))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = cr.check_gradients(_l1_cost(X, Y, 1e-3), params, forgot_l1)
    assert report.outcome == "wrong"
    for name in ("W1", "W2"):
        assert report.parameters[name].outcome == "wrong"
        assert not report.parameters[name].witness.startswith("the complex step")


def test_the_watch_names_what_drops_the_imaginary_part():
    value = lambda out: as_cost_value(out, complex_ok=True)  # noqa: E731
    vals = {"w": np.array([1.0 + 1e-20j, -2.0])}
    for cost, what in ((lambda q: np.sum(np.abs(q["w"])), "np.absolute"),
                       (lambda q: np.sum(q["w"].real ** 2), ".real"),
                       (lambda q: np.linalg.norm(q["w"]) ** 2, "np.norm"),
                       (lambda q: np.sum(np.conj(q["w"]) * q["w"]), "np.conjugate")):
        with pytest.raises(NotHolomorphic, match=what.replace(".", r"\.")):
            watched_cost(cost, value)(vals)
    with pytest.raises(NotHolomorphic, match="ComplexWarning|real number"):
        watched_cost(lambda q: np.sum(q["w"].astype(np.float64)), value)(vals)
    with pytest.raises(NotHolomorphic, match="raised"):
        watched_cost(lambda q: __import__("math").exp(q["w"][0]), value)(vals)
    # analytic operations pass, the watch follows through reductions, and ReLU keeps its slopes
    f = watched_cost(lambda q: np.sum(np.maximum(0, q["w"]) ** 2 + np.exp(q["w"])), value)
    got = f(vals)
    assert got.imag / 1e-20 == pytest.approx(2 * 1.0 + np.exp(1.0), rel=1e-15)
    assert Watched.log is None  # nothing left behind after an evaluation


def test_an_exact_kink_value_outside_both_slopes_is_undecided_not_correct():
    # b2 behind examples whose layer 1 is dead: Z2 = b2 = 0 exactly; a flipped sign lies outside the
    # two one-sided slopes, which no convention for relu'(0) gives, yet kinks are never judged wrong
    params, X, Y = _dead_units_point()
    _, cache = census.course_forward(X, Y, params)
    truth = census.course_grads(census.course_backward(X, Y, params, cache))
    given = dict(truth, b2=-truth["b2"])
    report = _check(params, X, Y, given)
    p = report.parameters["b2"]
    assert p.outcome == "undecided" and "outside the range of its two one-sided slopes" in p.hint
    assert report.outcome == "undecided" and not report.passed


def test_the_course_difference_stays_the_central_one_when_the_complex_step_decides():
    params, X, Y = _small_deep()
    _, cache = census.course_forward(X, Y, params)
    grads = census.course_backward(X, Y, params, cache)
    from chainrule import dlai
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        diff, _, _ = _quiet(dlai.gradient_check_n, params, grads, X, Y, forward=census.course_forward)
    report = diff.report
    approx = np.concatenate([(p.central if p.central is not None else p.numerical).ravel()
                             for p in report.parameters.values()])
    analytic = np.concatenate([p.analytic.ravel() for p in report.parameters.values()])
    expected = np.linalg.norm(analytic - approx) / (np.linalg.norm(analytic) + np.linalg.norm(approx))
    assert float(diff) == pytest.approx(expected, rel=1e-12)
    assert any(p.central is not None for p in report.parameters.values())


def _quiet(fn, *args, **kwargs):
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()):
        out = fn(*args, **kwargs)
    return out, None, None


# --- ReLU checked alone near its kink ------------------------------------------------------------

def test_a_relu_alone_on_inputs_far_inside_eps_checks_every_element():
    x = np.random.default_rng(0).standard_normal((8, 5)) * 1e-8   # every |x| < eps = 1e-6
    x[0, 0] = 0.0                                                   # and one exactly on the kink
    r = cr.check_layer(cr.ReLU(), x)
    p = r.parameters["x"]
    assert r.outcome == "correct" and p.checked == x.size
    assert p.kinks == 1  # only the exact zero, checked one-sided


class _NoMask(cr.ReLU):
    def backward(self, dout):
        return np.array(dout, copy=True)  # the README's missing-mask bug


def test_a_missing_mask_on_tiny_inputs_is_wrong_not_unchecked():
    x = np.random.default_rng(1).standard_normal((6, 4)) * 1e-9
    r = cr.check_layer(_NoMask(), x)
    p = r.parameters["x"]
    assert r.outcome == "wrong" and p.outcome == "wrong"
    assert p.pattern == "masked"


def test_a_model_whose_only_example_is_dead_everywhere_is_correct():
    # one example, every layer-1 ReLU input negative: the layers after see exact zeros and the cost
    # does not move at all with the first layer: exact zero gradients, vouched for bit for bit
    model = cr.Sequential(cr.Linear(2, 3, rng=0), cr.ReLU(), cr.Linear(3, 2, rng=1), cr.ReLU(),
                          cr.Linear(2, 1, rng=2))
    model.layers[0].params["W"][...] = -np.abs(model.layers[0].params["W"])
    model.layers[0].params["b"][...] = -1.0
    X = np.array([[0.5, 1.5]])
    report = cr.check_model(model, cr.MSELoss(), X, np.array([[0.3]]))
    assert report.outcome == "correct", report.summary()
    assert report.layers[1].outcome == "correct" and report.layers[3].outcome == "correct"


# --- Cases the census found on seeds the suite had not seen (each was a wrong verdict) --------------

def _verdict(case):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return census.run_case(case)


@pytest.mark.parametrize("kind, seed", [("no_mean_dW", 5278), ("scale_db", 5313), ("sign_dW", 5315)])
def test_a_bug_whose_informative_elements_all_sit_on_kinks_is_never_correct(kind, seed):
    # the disagreeing elements were left out as kinks and only dead units' exact zeros remained:
    # "correct" on no evidence; the complex step now calls them wrong
    r = _verdict(census.bug_case(seed, kind))
    assert r.outcome == "wrong" and not r.false_pass


def test_the_taylor_test_does_not_vouch_for_a_gradient_below_its_resolution():
    # b3 x0.5 on a x0.01 network: the remainder's h² term hides an error of 8e-7 at every step
    r = _verdict(census.bug_case(5205, "scale_db"))
    assert r.outcome == "wrong" and not r.false_pass


def test_a_missing_mask_that_shows_only_at_inputs_exactly_zero_is_undecided():
    # every affected unit sits exactly at 0 (layer 2 dead): dout passed through is the right-hand slope
    # there, relu'(0) = 1, which proves nothing either way
    case = census.bug_case(5247, "relu_mask_missing")
    r = _verdict(case)
    assert r.outcome == "undecided" and not r.false_pass
    assert "right-hand slope" in case.run().parameters["b3"].hint


@pytest.mark.parametrize("seed", [5231, 5315, 1141])
def test_a_saturated_cost_without_its_cache_is_never_a_false_alarm(seed):
    # 1 - AL of 1e-12..3e-9 that the noise tables at the check's step never see: the complex step moves
    # by 1e-7..1e-4 relative (the digits the cost loses), which is no evidence of a bug
    r = _verdict(census.course_case(seed, "saturated"))
    assert r.outcome in ("correct", "undecided")


def test_the_output_bias_of_a_small_init_network_is_not_a_false_alarm():
    # sum (AL - Y) / m cancels to 5e-14 with terms of 1/m: rounded to about u, far above the typical
    # gradient's 1e-9 floor
    r = _verdict(census.course_case(1154, "small-deep"))
    assert r.outcome in ("correct", "undecided")


def test_a_nonzero_gradient_where_the_complex_step_never_reaches_the_cost_is_wrong():
    # layer 1 dead on both examples: no path from W1 to the cost, the complex step's imaginary part is
    # exactly 0 on both sides; the missing mask leaves 1e-12, far below any rounding floor, but not 0
    case = census.bug_case(9055, "relu_mask_missing")
    r = _verdict(case)
    assert r.outcome == "wrong" and not r.false_pass
    assert case.run().parameters["W1"].outcome == "wrong"


def test_a_factor_on_a_gradient_far_below_the_floor_is_not_agreement():
    # b4 x2 at 1e-13, on exact kinks whose left-hand slope is 5e-14: within the 1e-11 rounding floor,
    # but off by a factor, which rounding does not leave
    r = _verdict(census.bug_case(13001, "scale_db"))
    assert r.outcome != "correct" and not r.false_pass


def test_a_saturated_cost_with_its_cache_is_never_a_false_alarm_where_the_gradient_cancels():
    # the output bias sums a saturated example's 1 - AL term (its digits lost: u / (1 - AL)) against
    # the other's: the loss on terms of the typical size is no evidence of a bug
    r = _verdict(census.course_case(13135, "saturated"))
    assert r.outcome in ("correct", "undecided")


@pytest.mark.parametrize("extended", [True, False], ids=["measured", "no-long-double"])
def test_digits_the_complex_step_loses_are_no_evidence_of_a_bug(extended, monkeypatch):
    # randn init, 5 layers: 1 - AL near 1e-12 for some examples, the cost given without its cache.
    # The complex step in float64 moves every W by 1e-4..2e-3 (the digits the cost loses, u / (1 - AL));
    # in extended precision it agrees with the hand-written backward to 1e-7, and with b3 x2 off by 0.5.
    # Where NumPy has no long double, the loss most parameters share stands for the measurement.
    # Either way: b3 wrong and named x2, no other parameter wrong.
    monkeypatch.setattr("chainrule.gradcheck.check.EXTENDED", extended and check_.EXTENDED)
    case = census.bug_case(17361, "scale_db")
    r = _verdict(case)
    assert r.outcome == "wrong" and not r.collateral and not r.untrue
    report = case.run()
    assert {k for k, p in report.parameters.items() if p.outcome == "wrong"} == {"b3"}
    assert (report.parameters["b3"].pattern, report.parameters["b3"].factor) == ("scaled", 2.0)


@pytest.mark.skipif(not check_.EXTENDED, reason="NumPy's long double is float64 on this platform")
def test_a_small_bug_in_every_layer_is_wrong_where_extended_precision_measures_the_step():
    # a term dropped from the backward of a clean network: every gradient 4e-4..7e-3 off. Both complex
    # steps agree to 1e-15, so those differences are the bug's: wrong, each parameter (without the
    # measurement, a shared 1e-4-level difference cannot be told from lost digits: undecided)
    case = census.bug_case(5116, "dropped_term")
    report = case.run()
    assert all(p.outcome == "wrong" for p in report.parameters.values())
    assert not _verdict(case).untrue


def test_a_cost_that_leaves_extended_precision_gets_no_measurement():
    # the parameters cast to complex128 inside the cost: the long-double evaluation comes back as
    # complex128, so nothing is measured (the check falls back on what the parameters share)
    from chainrule.gradcheck.check import _extended
    from chainrule.gradcheck.holomorphic import watched_cost

    def cost(p):
        return (p["w"].astype(np.complex128) ** 2).sum()

    evaluate = watched_cost(cost, lambda out: as_cost_value(out, complex_ok=True))
    values = {"w": np.array([1.0, 2.0], dtype=np.complex128)}
    sides = {"w": (np.array([2.0, 4.0]), np.array([2.0, 4.0]))}
    assert _extended(evaluate, values, {"w": np.array([2.0, 4.1])}, sides, 1e-7, 3.0) is None
    kept = watched_cost(lambda p: (p["w"] ** 2).sum(), lambda out: as_cost_value(out, complex_ok=True))
    measured = _extended(kept, values, {"w": np.array([2.0, 4.1])}, sides, 1e-7, 3.0)
    assert measured is None if not check_.EXTENDED else measured < 1e-15
    if check_.EXTENDED:
        assert sides["w"][0][1] == 4.0  # replaced by the extended value (the same here)


def test_a_bug_in_every_layer_is_not_taken_for_lost_digits():
    # a term dropped from every layer's backward: most parameters differ alike, by far more than any
    # rounding; no loosened error bars, so no factor is claimed on a one-element b4 (it was "x-7")
    case = census.bug_case(17296, "dropped_term")
    r = _verdict(case)
    assert r.outcome == "wrong" and not r.untrue


def test_a_planted_model_bug_that_changes_no_gradient_is_redrawn():
    # mlp[4, 3, 4, 3] dead after its first layer on both examples: NegatedW gives -0 where the truth is
    # 0, no bug at all; the census draws another network for that seed, where the sign is visible
    case = census.model_bug_case(17002, "linear_W_sign")
    assert any(np.linalg.norm(case.given[k] - case.truth[k]) > 1e-3 * np.linalg.norm(case.truth[k])
               for k in case.truth)
    r = _verdict(case)
    assert r.outcome == "wrong" and not r.false_pass


def test_zeros_of_a_cost_flat_to_float64_are_not_a_pass():
    # one example, randn init, confidently wrong: 1 - AL is one ulp, so every perturbation leaves the
    # float64 cost unchanged (central differences exactly 0) and the backward with a dropped term gives
    # exact zeros too; the complex step finds slopes of order 1: never correct, and the hint says why
    case = census.bug_case(33176, "dropped_term")
    r = _verdict(case)
    assert r.outcome == "undecided" and not r.false_pass
    hint = case.run().parameters["W1"].hint
    assert "flat to float64" in hint


def test_a_loss_refusing_a_perturbed_input_leaves_the_loss_step_undecided():
    # the course's cost on probabilities: an AL within a step of 1 moved past it is refused by
    # compute_cost; check_backward still judges every step (the planted sigmoid derivative in every
    # relu layer is found) instead of raising
    from chainrule.gradcheck import check_loss
    from chainrule.grading.learner_layers import _CourseCost

    r = _verdict(census.bug_case(29010, "sigmoid_for_relu"))
    assert r.outcome == "wrong" and r.error is None and r.named
    AL, Y = np.array([[0.3], [1 - 1e-9]]), np.array([[0.0], [1.0]])
    result = check_loss(_CourseCost(), AL, Y)
    assert result.outcome == "undecided" and "refused an input moved by the check's step" in result.error
    with pytest.raises(ValueError, match="AL must hold probabilities"):
        check_loss(_CourseCost(), np.array([[1.5]]), np.array([[1.0]]))  # the caller's own input: raised


def test_a_bug_seen_only_between_the_slopes_of_a_kink_is_not_a_pass():
    # b3 x0.5 where every element of b3 sits on an exact kink: four match the left-hand slope (0), the
    # fifth lies between its two one-sided slopes (0.0055 and 0.0199; given 0.00997), which another
    # choice of the slope at 0 could give. With no smooth element to vouch, never correct.
    case = census.bug_case(45037, "scale_db")
    r = _verdict(case)
    assert r.outcome == "undecided" and not r.false_pass
    assert "match neither side's slope" in case.run().parameters["b3"].hint
