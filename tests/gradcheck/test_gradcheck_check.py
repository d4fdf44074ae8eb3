"""check_gradients: inputs, methods, kinks, precision and the patterns it may (and may not) claim."""

import numpy as np
import pytest

from chainrule import check_gradients
from chainrule.gradcheck import PrecisionWarning, relative_difference


def _problem(seed=0):
    """cost(p) = sum(tanh(X @ A) @ B) with A (3, 4), B (4, 2): smooth, gradients written by hand."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((5, 3))
    params = {"A": rng.standard_normal((3, 4)), "B": rng.standard_normal((4, 2))}

    def cost(p):
        return float(np.sum(np.tanh(X @ p["A"]) @ p["B"]))

    H = np.tanh(X @ params["A"])
    dH = np.ones((5, 2)) @ params["B"].T
    grads = {"A": X.T @ (dH * (1 - H**2)), "B": H.T @ np.ones((5, 2))}
    return cost, params, grads


def test_correct_gradients_pass_with_every_method():
    cost, params, grads = _problem()
    for method in ("central", "directional"):
        assert check_gradients(cost, params, grads, method=method).passed, method
    X = np.random.default_rng(0).standard_normal((5, 3))  # the same X as _problem's

    def complex_cost(p):  # no float(): the imaginary part must survive
        return np.sum(np.tanh(X @ p["A"]) @ p["B"])

    report = check_gradients(complex_cost, params, grads, method="complex")
    assert report.passed and report.difference < 1e-14  # no subtractive cancellation
    assert report.eps == 1e-20


def test_complex_step_needs_a_complex_capable_cost():
    cost, params, grads = _problem()
    with pytest.raises(TypeError, match="complex"):
        check_gradients(cost, params, grads, method="complex")  # cost() casts to float


def test_directional_uses_two_evaluations_per_direction_and_finds_a_factor():
    cost, params, grads = _problem()
    calls = []

    def counted(p):
        calls.append(1)
        return cost(p)

    bad = dict(grads, B=3 * grads["B"])
    report = check_gradients(counted, params, bad, method="directional", directions=5)
    # the cost at θ, the noise measurement (two tables of 7 points, at most 3 tries each), 2 per direction
    assert 1 + 2 * 7 + 2 * 5 * len(params) <= len(calls) <= 1 + 6 * 7 + 2 * 5 * len(params)
    assert report.failed == ["B"]
    assert report.parameters["B"].pattern == "scaled"
    assert report.parameters["B"].factor == pytest.approx(3, rel=1e-5)
    assert report.parameters["B"].numerical is None


def test_sampling_checks_the_requested_number_of_elements_reproducibly():
    cost, params, grads = _problem()
    a = check_gradients(cost, params, grads, sample=5, rng=3)
    b = check_gradients(cost, params, grads, sample=5, rng=3)
    for name in params:
        assert a.parameters[name].checked == 5
        assert np.count_nonzero(~np.isnan(a.parameters[name].numerical)) == 5
        np.testing.assert_array_equal(np.isnan(a.parameters[name].numerical),
                                      np.isnan(b.parameters[name].numerical))
    assert a.passed
    bad = check_gradients(cost, params, dict(grads, B=3 * grads["B"]), sample=5, rng=3)
    assert bad.failed == ["B"] and bad.parameters["B"].pattern == "scaled"
    assert bad.parameters["B"].factor == pytest.approx(3, rel=1e-6) and bad.parameters["B"].checked == 5


def test_numerical_gradient_matches_torch_autograd():
    import torch

    cost, params, grads = _problem()
    rng = np.random.default_rng(0)
    X = torch.tensor(rng.standard_normal((5, 3)), dtype=torch.float64)
    A = torch.tensor(params["A"], requires_grad=True)
    B = torch.tensor(params["B"], requires_grad=True)
    torch.sum(torch.tanh(X @ A) @ B).backward()
    report = check_gradients(cost, params, grads)
    np.testing.assert_allclose(report.parameters["A"].numerical, A.grad.numpy(), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(report.parameters["B"].numerical, B.grad.numpy(), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize(("bug", "pattern"), [
    (lambda g: {"A": -g["A"], "B": g["B"]}, "sign"),
    (lambda g: {"A": np.zeros_like(g["A"]), "B": g["B"]}, "zero"),
    (lambda g: {"A": g["A"] * 0.5, "B": g["B"]}, "scaled"),
])
def test_patterns(bug, pattern):
    cost, params, grads = _problem()
    report = check_gradients(cost, params, bug(grads))
    assert report.failed == ["A"] and report.parameters["A"].pattern == pattern
    assert report.parameters["B"].passed


def test_swapped_gradients_of_equal_shape():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(3)
    params = {"P": rng.standard_normal((3, 3)), "Q": rng.standard_normal((3, 3))}

    def cost(p):
        return float(np.sum(np.sin(p["P"] @ x)) + np.sum(np.exp(0.3 * p["Q"] @ x)))

    gP = np.outer(np.cos(params["P"] @ x), x)
    gQ = np.outer(0.3 * np.exp(0.3 * params["Q"] @ x), x)
    report = check_gradients(cost, params, {"dP": gQ, "dQ": gP})
    assert report.parameters["P"].pattern == "swapped" and report.parameters["P"].detail == "Q"
    assert report.parameters["Q"].pattern == "swapped" and report.parameters["Q"].detail == "P"


def test_square_transpose_and_masked_rows():
    cost, params, grads = _problem()
    rng = np.random.default_rng(2)
    M = rng.standard_normal((4, 4))
    sq = {"M": M}

    def cost_m(p):
        return float(np.sum(np.tanh(p["M"] @ np.arange(1.0, 5.0))) + np.sum(p["M"][0] * 2.0))

    g = np.outer(1 - np.tanh(M @ np.arange(1.0, 5.0)) ** 2, np.arange(1.0, 5.0))
    g[0] += 2.0
    assert check_gradients(cost_m, sq, {"M": g}).passed
    assert check_gradients(cost_m, sq, {"M": g.T.copy()}).parameters["M"].pattern == "transposed"
    bad = g.copy()
    bad[2] = 0.0
    res = check_gradients(cost_m, sq, {"M": bad}).parameters["M"]
    assert res.pattern == "masked" and res.detail == "row 2" and "zero there" in res.hint


def test_no_pattern_is_claimed_without_support():
    cost, params, grads = _problem()
    rng = np.random.default_rng(5)
    noisy = {"A": grads["A"] + 0.1 * rng.standard_normal(grads["A"].shape), "B": grads["B"]}
    res = check_gradients(cost, params, noisy).parameters["A"]
    assert res.pattern == "mismatch" and res.factor is None
    # a factor 2 on all but one element is not "scaled"
    almost = {"A": 2 * grads["A"], "B": grads["B"]}
    almost["A"][1, 2] = grads["A"][1, 2]
    assert check_gradients(cost, params, almost).parameters["A"].pattern == "mismatch"


def test_kinks_are_counted_not_failed():
    def cost(t):
        return float(np.sum(np.maximum(t, 0) * np.array([1.0, 2.0, 3.0, 4.0])))

    theta = np.array([0.0, 1.0, -1.0, 0.0])  # elements 0 and 3 sit exactly on ReLU's kink
    grad = np.array([0.0, 2.0, 0.0, 0.0])  # backprop's choice at 0: the subgradient 0
    report = check_gradients(cost, theta, grad)
    assert report.passed and report.kinks == 2
    # on a kink exactly at θ, backprop's 0 is the slope on the left: checked one-sided, not skipped
    assert report.parameters["theta"].checked == 4
    # a real error on a smooth element still fails, next to the kinks
    bad = check_gradients(cost, theta, np.array([0.0, 2.0, 1.0, 0.0]))
    assert bad.failed == ["theta"] and bad.kinks == 2
    # a max with a tie: argmax picks the first, the difference quotient sees half of each
    ties = check_gradients(lambda t: float(np.max(t)), np.array([1.0, 1.0, 0.0]), np.array([1.0, 0.0, 0.0]))
    assert ties.passed and ties.kinks == 2


def test_float32_parameters_warn_and_are_checked_in_float64():
    cost, params, grads = _problem()
    p32 = {k: v.astype(np.float32) for k, v in params.items()}
    seen = []

    def spy(p):
        seen.append({k: v.dtype for k, v in p.items()})
        return cost(p)

    with pytest.warns(PrecisionWarning, match="float64"):
        report = check_gradients(spy, p32, {k: v.astype(np.float32) for k, v in grads.items()})
    assert all(d == np.float64 for s in seen for d in s.values())
    assert report.notes and p32["A"].dtype == np.float32


def test_cost_return_values():
    cost, params, grads = _problem()
    assert check_gradients(lambda p: (cost(p), "cache"), params, grads).passed
    assert check_gradients(lambda p: np.array([[cost(p)]]), params, grads).passed
    for bad in (lambda p: [cost(p)], lambda p: np.ones(3), lambda p: "1.0", lambda p: None,
                lambda p: (np.ones(2), None), lambda p: True):
        with pytest.raises(TypeError, match="cost must return a real scalar"):
            check_gradients(bad, params, grads)
    with pytest.raises(ValueError, match="non-finite"):
        check_gradients(lambda p: float("nan"), params, grads)


def test_bad_structure_is_reported_by_name():
    cost, params, grads = _problem()
    with pytest.raises(ValueError, match=r"missing the gradients of \['B'\]"):
        check_gradients(cost, params, {"A": grads["A"]})
    with pytest.raises(ValueError, match="both 'A' and 'dA'"):
        check_gradients(cost, params, {"A": grads["A"], "dA": grads["A"], "B": grads["B"]})
    with pytest.raises(TypeError, match="grads must be a dict"):
        check_gradients(cost, params, [grads["A"], grads["B"]])
    with pytest.raises(TypeError, match="params must be"):
        check_gradients(cost, "theta", 1.0)
    with pytest.raises(ValueError, match=r"grads\['B'\] contains non-finite"):
        check_gradients(cost, params, dict(grads, B=grads["B"] * np.nan))
    with pytest.raises(ValueError, match="unknown method"):
        check_gradients(cost, params, grads, method="forward")
    with pytest.raises(ValueError, match="eps must be"):
        check_gradients(cost, params, grads, eps=0)
    report = check_gradients(cost, params, dict(grads, extra=1.0))
    assert report.passed and "extra" in report.notes[0]
    shape = check_gradients(cost, params, dict(grads, B=grads["B"][:3]))
    assert shape.parameters["B"].pattern == "shape" and "(4, 2)" in shape.parameters["B"].hint


def test_relative_difference_definition():
    assert relative_difference(np.zeros(3), np.zeros(3)) == 0.0
    a, n = np.array([3.0, 4.0]), np.array([0.0, 0.0])
    assert relative_difference(a, n) == 1.0
    assert relative_difference(np.array([1.0, 2.0]), np.array([1.0, 2.5])) == pytest.approx(
        0.5 / (np.sqrt(5) + np.sqrt(7.25)))


def test_a_cost_that_writes_into_its_argument_cannot_corrupt_the_check():
    cost, params, grads = _problem()

    def scribbler(p):
        value = cost(p)
        p["A"][...] = 0.0  # e.g. an in-place update left in a learner's forward
        return value

    report = check_gradients(scribbler, params, grads)
    assert report.passed and report.difference < 1e-8


def test_a_gradient_lost_in_the_noise_is_undecided_never_passed():
    cost, params, grads = _problem()

    def offset(p):  # a large constant beside a small cost: rounding of 1e3 swamps the differences
        return 1e3 + 1e-6 * cost(p)

    doubled = {k: 2e-6 * v for k, v in grads.items()}
    # at the default eps 1e-6 no element could be told from the noise: the measured noise picks a
    # step that can, and the factor 2 is found
    report = check_gradients(offset, params, doubled)
    assert report.outcome == "wrong" and set(report.failed) == {"A", "B"} and report.eps > 1e-6
    # a pattern only where the elementwise numbers support one; else the witness that decided says so
    a = report.parameters["A"]
    assert (a.pattern == "scaled" and a.factor == pytest.approx(2, rel=1e-3)) or (
        a.pattern == "mismatch" and "Taylor remainder test: order 1" in a.hint)
    assert any("chosen from the cost's measured noise" in note for note in report.notes)

    def hopeless(p):  # gradients of 1e-12 beside a cost of 1e3: no step up to 1e-2 resolves them
        return 1e3 + 1e-12 * cost(p)

    for given in ({k: 1e-12 * v for k, v in grads.items()}, {k: 2e-12 * v for k, v in grads.items()}):
        report = check_gradients(hopeless, params, given)
        assert report.outcome == "undecided" and not report.passed and report.failed == []
        assert report.undecided == ["A", "B"] == report.unresolved
        hint = report.parameters["A"].hint
        assert "undecided" in hint and "noise" in hint and "method='complex'" in hint
        assert "UNDECIDED" in report.summary() and report.headline().startswith("gradient check undecided")
        assert ">undecided</td>" in report._repr_html_() and "undecided" in str(report)
        as_dict = report.to_dict()
        assert as_dict["outcome"] == "undecided" and as_dict["undecided"] == ["A", "B"]
        assert as_dict["parameters"]["A"]["outcome"] == "undecided"
        assert not as_dict["parameters"]["A"]["resolved"]
    # small but well resolved gradients are not flagged
    small = check_gradients(lambda p: 1e-6 * cost(p), params, {k: 1e-6 * v for k, v in grads.items()})
    assert small.passed and small.unresolved == []


def test_a_cost_computed_in_float32_widens_the_error_bars_instead_of_failing():
    cost, params, grads = _problem()
    X32 = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)  # _problem's X

    def cost32(p):
        return float(np.sum(np.tanh(X32 @ p["A"].astype(np.float32)) @ p["B"].astype(np.float32)))

    report = check_gradients(cost32, params, grads)
    assert report.passed and any("float32" in note for note in report.notes)
    # a bug is still caught once eps is large enough for float32's rounding
    bad = check_gradients(cost32, params, dict(grads, A=-grads["A"]), eps=1e-2)
    assert bad.failed == ["A"] and bad.parameters["A"].pattern == "sign"
    # a float64 cost is not mistaken for a float32 one
    assert not any("float32" in note for note in check_gradients(cost, params, grads).notes)


def test_mismatch_hints_say_what_the_data_shows():
    cost, params, grads = _problem()
    one = {k: v.copy() for k, v in grads.items()}
    one["A"][1, 2] *= 3
    res = check_gradients(cost, params, one).parameters["A"]
    assert res.pattern == "mismatch" and "wrong on 1: (1, 2)" in res.hint and "3 x the true value" in res.hint

    def ignores_b(p):
        return cost({"A": p["A"], "B": params["B"]})

    res = check_gradients(ignores_b, params, grads).parameters["B"]
    assert res.pattern == "mismatch" and "the cost does not change with 'B'" in res.hint


def test_a_dropped_axis_is_named():
    rng = np.random.default_rng(4)
    b = rng.standard_normal((5, 1))
    res = check_gradients(lambda p: float(np.sum(np.sin(p["b"]))), {"b": b}, {"db": np.cos(b).ravel()})
    assert res.parameters["b"].pattern == "shape" and "keepdims" in res.parameters["b"].hint
    wrong = check_gradients(lambda p: float(np.sum(np.sin(p["b"]))), {"b": b}, {"db": np.ones(5)})
    assert wrong.parameters["b"].pattern == "shape" and "keepdims" not in wrong.parameters["b"].hint


def test_float32_costs_are_recognised_from_their_values_only():
    from chainrule.gradcheck.noise import rounded_to_float32

    rng = np.random.default_rng(9)
    values = rng.standard_normal(7)
    assert rounded_to_float32(values.astype(np.float32).tolist())
    assert not rounded_to_float32(values.tolist())
    assert not rounded_to_float32([0.25, 0.5, 0.75, 0.5])  # a cost counting 0/1 outcomes over 4 examples
    assert not rounded_to_float32([1.0, 2.0, 3.0])
    assert not rounded_to_float32(values[:2].astype(np.float32).tolist())  # too few values to tell


def test_a_whole_number_factor_is_offered_as_a_batch_size_when_m_is_unknown():
    cost, params, grads = _problem()
    res = check_gradients(cost, params, dict(grads, A=5 * grads["A"])).parameters["A"]
    assert res.pattern == "scaled" and "averages over 5 examples, the 1/m average is missing" in res.hint
    res = check_gradients(cost, params, dict(grads, A=grads["A"] / 5)).parameters["A"]
    assert "averages over 5 examples, the 1/m average is taken twice" in res.hint
    res = check_gradients(cost, params, dict(grads, A=2.5 * grads["A"])).parameters["A"]
    assert res.pattern == "scaled" and "examples" not in res.hint
    # with batch_size given, the hint is definite
    res = check_gradients(cost, params, dict(grads, A=5 * grads["A"]), batch_size=5).parameters["A"]
    assert "exactly the batch size m = 5" in res.hint
