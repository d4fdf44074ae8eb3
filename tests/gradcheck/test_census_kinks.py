"""Kinks closer than every useful step: the census's last false alarms, and the bugs still found.

Course networks with a x0.01 init and depth 4-5 put ReLU inputs at 1e-7..1e-10, so every step the
noise allows crosses kinks on both sides of θ; units switch off either way and the cost is a plateau
whose rise hides in the noise. A black-box cost has no sign probe, so that evidence cannot tell a
wrong gradient from a kink: it must read "undecided", never "wrong". A gradient over a cost that does
not move bit for bit (a dead unit) and bugs where the cost visibly moves are still "wrong".
"""

from __future__ import annotations

import census
import numpy as np
import pytest

import chainrule as cr

# the census's false alarms (benchmarks/gradcheck_census.py, seeds from 1000) and the test suite's
FALSE_ALARMS = [(1076, "small-deep"), (1172, "small-deep"), (1310, "small-deep"), (1472, "small-deep"),
                (1139, "small"), (1187, "small"), (1331, "small"), (10, "small-deep"), (16, "small-deep")]


@pytest.mark.parametrize(("seed", "kind"), FALSE_ALARMS)
def test_correct_small_init_network_is_not_called_wrong(seed, kind):
    case = census.course_case(seed, kind)
    with np.errstate(all="ignore"):
        report = case.run()
    outcomes = {name: r.outcome for name, r in report.parameters.items()}
    assert "wrong" not in outcomes.values(), f"{case.label}: {outcomes}"
    assert report.outcome in ("correct", "undecided")
    # undecided says why, and is not a pass
    assert report.outcome == "correct" or not report.passed


def _network(seed: int, kind: str):
    with np.errstate(all="ignore"):
        parameters, X, Y, _ = census._course_point(seed, kind)
        _, cache = census.course_forward(X, Y, parameters)
        grads = census.course_grads(census.course_backward(X, Y, parameters, cache, fused=seed % 3 != 0))
    return parameters, X, Y, grads


# output-layer gradients doubled on the same networks: the cost moves visibly there, so these bugs
# stay "wrong" (measured before and after the plateau rule: the same parameters were found)
@pytest.mark.parametrize(("seed", "kind", "key"), [(1076, "small-deep", "b5"), (1472, "small-deep", "b4"),
                                                   (1139, "small", "W5"), (1139, "small", "b5"),
                                                   (1187, "small", "W5"), (16, "small-deep", "W4")])
def test_a_doubled_output_gradient_on_the_same_networks_is_wrong(seed, kind, key):
    parameters, X, Y, grads = _network(seed, kind)
    grads[key] = 2 * grads[key]
    with np.errstate(all="ignore"):
        report, _, _ = census.quiet(cr.check_gradients, lambda p: census.course_forward(X, Y, p)[0],
                                    parameters, grads)
    assert report.outcome == "wrong"
    assert report.parameters[key].outcome == "wrong"
    assert not report.passed


W0 = np.array([0.3, -0.2, 0.5])


def _plateau(p: dict) -> float:
    # every element of w sits between two kinks 1e-11 away: slope 1e-3 inside, flat outside; the
    # rise 1e-14 is a few ulps of the cost
    return float(0.7 + np.sum(1e-3 * np.clip(p["w"] - W0, -1e-11, 1e-11)) + 0.1 * np.sum(p["v"] ** 2))


def test_a_plateau_between_close_kinks_is_undecided_not_wrong():
    parameters = {"w": W0.copy(), "v": np.array([1.0, 2.0])}
    report = cr.check_gradients(_plateau, parameters, {"w": np.full(3, 1e-3), "v": 0.2 * parameters["v"]})
    assert report.parameters["w"].outcome == "undecided"
    assert report.parameters["v"].outcome == "correct"
    assert report.outcome == "undecided" and not report.passed


def test_a_gradient_over_a_cost_that_never_moves_is_wrong():
    # the perturbation never reaches the cost (a dead unit): bit for bit unchanged, no plateau to hide in
    parameters = {"w": W0.copy(), "v": np.array([1.0, 2.0])}
    report = cr.check_gradients(lambda p: float(np.sum(p["v"] ** 2)), parameters,
                                {"w": np.full(3, 1e-3), "v": 2 * parameters["v"]})
    assert report.parameters["w"].outcome == "wrong"
    assert report.parameters["v"].outcome == "correct"


# planted bugs the plateau rule must not excuse: a shallow he-init network (no kink can sit within the
# 1e-13 window a plateau would need) and sign flips on small-init networks, where the cost moves
# visibly along the Taylor test's line
@pytest.mark.parametrize(("seed", "kind"), [(1188, "dropped_term"), (30, "sign_dW"), (1243, "sign_dW"),
                                            (1027, "sign_dW"), (1338, "no_mean_dW")])
def test_planted_bugs_next_to_plateaus_are_still_wrong(seed, kind):
    case = census.bug_case(seed, kind)
    with np.errstate(all="ignore"):
        result = census.run_case(case)
    assert result.outcome == "wrong", f"{case.label}: {result.said[:400]}"
    assert not result.false_pass
