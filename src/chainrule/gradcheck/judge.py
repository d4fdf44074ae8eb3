"""Step 3 of a check: judge every element and every parameter, with three outcomes.

An element *disagrees* when analytic and numerical differ by more than the measured error bar (the
noise step's ``Noise.bar``) plus the threshold's relative slack. A disagreement is only evidence: a
kink within the step, or truncation, moves with the step, and a bug does not. So every disagreeing
element is re-checked at a step 16 times smaller (central, and one-sided from θ):

* it agrees at the smaller step: a kink crossed by the first step (one-sided slopes apart), or
  truncation (then the smaller step's value replaces the first);
* the analytic value matches one one-sided slope and the two slopes differ: a kink exactly at θ
  (a ReLU input exactly 0, e.g. behind a dead layer), where backprop picks one side;
* both steps give the same number and the analytic value is outside both bars: *confirmed*, unless
  (no kink probe) the cost stays flat to within the noise on both sides without being unchanged bit
  for bit: kinks on both sides closer than the step (ReLU inputs at 1e-10 under a x0.01 init) leave
  such a plateau, whose rise hides in the noise at every step, so it stays open (at worst undecided);
* anything else (the numbers move with the step but never agree): a kink, by elimination.

Kinks are left out and counted, never judged wrong. A parameter is

* **wrong** when an element's disagreement is confirmed (or its gradient is not finite, or of the
  wrong shape: decided before judging);
* **correct** when every checked element agrees and the check could have seen a bug: the error
  bar is at most ``RESOLUTION`` of the gradient (or of ``ZERO`` times the report's typical gradient,
  so a gradient that is truly zero can be vouched for);
* **undecided** otherwise, after two more witnesses have tried: larger steps (chosen from the noise,
  with the truncation measured by Richardson's two-step comparison: this is where curvature sets the
  step), and the Taylor remainder test (eps-free: ``|J(θ+h d) - J(θ) - h<g, d>|`` falls as h² over a
  sequence of h when g is right along d, as h when it is wrong).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .estimate import ElementCosts, Estimate, Projections
from .noise import Noise

CORRECT, WRONG, UNDECIDED = "correct", "wrong", "undecided"
OUTCOMES = (CORRECT, WRONG, UNDECIDED)
#: A gradient is resolved when its error bar is at most this fraction of it: a bug of that relative
#: size could otherwise hide in the bar.
RESOLUTION = 0.1
#: A gradient below this fraction of the report's typical gradient element counts as zero: a check
#: whose error bar is below that can vouch for a zero gradient.
ZERO = 1e-8
RECHECK_SHRINK = 16.0
RECHECK_GROW = 4.0
RECHECK_MAX = 64  # elements re-checked per parameter before the rest (only if none is confirmed)
ESCALATE = (100.0, 1e4)  # larger steps tried, as multiples of the first
MAX_STEP = 1e-2
TAYLOR_STEPS = 12
TAYLOR_DIRECTIONS = 2
#: Without a kink probe, a cost whose slope along a direction stays below this fraction of the
#: analytic one is a plateau that kinks closer than every step can explain: never evidence of "wrong".
PLATEAU = 0.05
#: A plateau hides a kink window of width at most (error of a difference) / |a|; below this width only
#: ReLU inputs exactly 0 could make it, and those leave one side's slope (checked one-sided), not a plateau.
PLATEAU_WINDOW = 1e-12
#: Within the complex step's floor, an element still off by this fraction of its size is not agreement
#: (the parameter is undecided): see ``judge_complex``.
FACTOR_OFF = 0.1
#: How a judgement's ``witness`` starts when the complex step decided it.
COMPLEX_WITNESS = "the complex step"

LineCost = Callable[[str, np.ndarray, float], float]  # cost at θ + t * d, d in one parameter's space


@dataclass
class Judgement:
    """The verdict on one parameter and the evidence behind it (arrays of the parameter's shape).

    ``numerical`` is the estimate the verdict rests on (a re-check's value where it replaced the
    first), ``noise`` its error bar, ``valid`` the checked elements that are not kinks, ``kinks`` the
    elements left out, ``confirmed`` the disagreements that survived the re-check. ``reason`` says
    why an undecided parameter is undecided; ``witness`` which check decided it beyond the first."""

    outcome: str
    numerical: np.ndarray
    noise: np.ndarray
    valid: np.ndarray
    kinks: np.ndarray
    confirmed: np.ndarray
    step: np.ndarray
    reason: str = ""
    witness: str = ""
    one_sided: np.ndarray | None = None  # elements on a kink exactly at θ, checked one-sided
    central: np.ndarray | None = None  # the central differences, when another witness gave ``numerical``

    @property
    def kink_count(self) -> int:
        """Elements on a kink: left out, or checked against one side's slope."""
        return int(self.kinks.sum()) + (int(self.one_sided.sum()) if self.one_sided is not None else 0)


def tolerance(a: np.ndarray, n: np.ndarray, bar: np.ndarray, threshold: float) -> np.ndarray:
    """Per-element allowance: the error bar plus ``threshold`` relative to the larger value."""
    return bar + threshold * np.maximum(np.abs(a), np.abs(np.nan_to_num(n)))


def _resolved(a: np.ndarray, n: np.ndarray, bar: np.ndarray, typical: float) -> bool:
    if not np.any(bar) and np.array_equal(a, n):  # equal with no error at all (a cost unchanged bit for bit)
        return True
    size = max(a.size, 1)
    scale = max(float(np.linalg.norm(a)), float(np.linalg.norm(n)), ZERO * typical * math.sqrt(size))
    return scale > 0 and float(np.linalg.norm(bar)) <= RESOLUTION * scale


def judge_elementwise(*args, **kwargs) -> Judgement:
    """Judge one parameter's elementwise estimate (see ``_judge_elementwise``); the elements on a kink
    exactly at θ that were checked one-sided are marked in ``one_sided``."""
    one_sided, judgement = _judge_elementwise(*args, **kwargs)
    judgement.one_sided = one_sided & judgement.valid
    return judgement


def _judge_elementwise(name: str, a: np.ndarray, est: Estimate, noise: Noise, threshold: float, *,
                      element_costs: ElementCosts | None, f0: float, typical: float,
                      kink_mask: np.ndarray | None = None, line_cost: LineCost | None = None,
                      rng: np.random.Generator | None = None, exact: bool = False,
                      kinks_known: bool = False, line_kinks: bool = False,
                      kink_distance: np.ndarray | None = None) -> tuple[np.ndarray, Judgement]:
    """Judge one parameter's elementwise estimate (central differences or complex step).

    ``element_costs`` re-evaluates elements at other steps (None: no re-check, as for the complex
    step, ``exact``, whose only error is rounding of the derivative itself); ``line_cost`` and
    ``rng`` drive the Taylor test; ``typical`` is the report's typical gradient element.
    ``kinks_known``: ``element_costs`` reports every kink crossed (a model's probe), so a larger step
    may also decide "wrong"; without it a larger step only confirms "correct" (a step larger than the
    distance to a kink averages two slopes, the same at every larger step, which looks like a bug).
    ``line_kinks``: the cost has kinks that ``line_cost`` does not report (a model with ReLUs), so the
    Taylor test may only confirm "correct": kinks closer to θ than its smallest step mimic order 1.
    ``kink_distance`` (the parameter's shape): how far each element is from its nearest kink, where
    that is known (an elementwise ReLU checked alone: |x|); an element closer than its step is
    estimated again at a quarter of that distance, where the cost is smooth, instead of left out.
    """
    n = est.numerical.copy()
    sampled = ~np.isnan(n)
    step = est.step.copy()
    if exact:
        bar = np.where(sampled, 100 * np.finfo(float).eps * np.abs(np.nan_to_num(n)), 0.0)
    else:
        bar = np.where(sampled, noise.bar(step), 0.0)
    if est.f_plus is not None and not exact:
        # the cost did not change at all, bit for bit, and the analytic gradient is exactly zero: the
        # perturbation never reaches the cost (a dead unit), which no rounding noise can fake
        untouched = sampled & (est.f_plus == f0) & (est.f_minus == f0) & (a == 0)
        bar[untouched] = 0.0
    jump = est.jump
    if kink_distance is not None and element_costs is not None:
        near = sampled & (kink_distance > 0) & (kink_distance <= 2 * step)
        if near.any():
            idx, jump = np.flatnonzero(near), jump.copy()
            h = kink_distance.reshape(-1)[idx] / 4
            fp, fm, _ = element_costs(name, idx, h)
            n.reshape(-1)[idx], step.reshape(-1)[idx] = (fp - fm) / (2 * h), h
            bar.reshape(-1)[idx] = noise.bar(h)
            jump.reshape(-1)[idx] = np.abs((fp - f0) / h - (f0 - fm) / h)
    kinks = sampled & est.crossed
    one_sided = np.zeros(a.shape, bool)
    # elements checked one-sided that matched only the right-hand slope (see ``ONE_SIDED_REASON``)
    right = np.zeros(a.shape, bool)
    if kinks.any() and element_costs is not None:
        _smaller_steps(name, a, kinks, n, bar, step, noise, element_costs, f0, threshold, one_sided, right)
    if kink_mask is not None:
        kinks |= kink_mask & sampled
    confirmed = np.zeros(a.shape, bool)
    disagree = sampled & ~kinks & (np.abs(a - np.nan_to_num(n)) > tolerance(a, n, bar, threshold))
    if disagree.any():
        if element_costs is None:
            confirmed = disagree.copy()
        else:
            _recheck(name, a, n, bar, step, jump, kinks, confirmed, disagree, noise, threshold,
                     element_costs, f0, one_sided, kinks_known, right)
    valid = sampled & ~kinks
    if confirmed.any():
        return one_sided, Judgement(WRONG, n, bar, valid, kinks, confirmed, step)
    # exact zeros on both sides with a cost unchanged bit for bit (dead units) carry no evidence
    informative = valid & ~((bar == 0) & (a == 0) & (np.nan_to_num(n) == 0))
    if not valid.any() or (kinks.any() and not informative.any()):
        why = ("every element that carries this gradient sat on a kink (e.g. a ReLU input within eps of 0), "
               "where finite differences cannot check it; check at other inputs" if kinks.any()
               else "no element could be checked")
        return one_sided, Judgement(UNDECIDED, n, bar, valid, kinks, confirmed, step, reason=why)
    still = valid & (np.abs(a - np.nan_to_num(n)) > tolerance(a, n, bar, threshold))
    if not still.any() and (right & valid).any() and not (informative & ~right).any():
        return one_sided, Judgement(UNDECIDED, n, bar, valid, kinks, confirmed, step, reason=ONE_SIDED_REASON)
    if not still.any() and _resolved(a[valid], n[valid], bar[valid], typical):
        return one_sided, Judgement(CORRECT, n, bar, valid, kinks, confirmed, step)
    if exact or element_costs is None:
        return one_sided, Judgement(UNDECIDED, n, bar, valid, kinks, confirmed, step,
                         reason=_too_small(a, n, bar, valid))
    # Undecided at this step: larger steps, where the noise bar shrinks, with the truncation measured.
    first = float(np.max(step[valid]))
    for h in sorted({min(first * factor, MAX_STEP) for factor in ESCALATE}):
        if h <= first:
            continue
        verdict = _escalate(name, a, valid, noise, threshold, element_costs, h, typical, f0, kinks_known)
        if verdict is not None:
            outcome, nh, barh, okh, conf = verdict
            if outcome == WRONG and kinks_known:
                return one_sided, Judgement(WRONG, nh, barh, okh, kinks | (valid & ~okh), conf,
                                            np.full(a.shape, h), witness=f"decided with eps = {h:g}")
            if outcome == CORRECT:
                return one_sided, Judgement(CORRECT, nh, barh, okh, kinks | (valid & ~okh), conf,
                                 np.full(a.shape, h), witness=f"decided with eps = {h:g}")
    if line_cost is not None and rng is not None:
        outcome, text = taylor_test(name, a, valid, f0, noise, line_cost, rng, typical, n, bar)
        if outcome == CORRECT or (outcome == WRONG and not line_kinks):
            return one_sided, Judgement(outcome, n, bar, valid, kinks,
                                        np.zeros(a.shape, bool) if outcome == CORRECT
                             else disagree & valid, step, witness=text)
    return one_sided, Judgement(UNDECIDED, n, bar, valid, kinks, confirmed, step,
                                reason=_too_small(a, n, bar, valid))


#: At a kink exactly at θ (a ReLU input exactly 0) backprop takes one side's slope. The left-hand one
#: (the parameter decreased) is relu'(0) = 0 for a unit the parameter feeds positively: the course's
#: dZ[Z <= 0] = 0, PyTorch's, chainrule's. A gradient whose every informative element matches only the
#: right-hand slope is relu'(0) = 1, a convention of its own, but also exactly what a missing mask
#: gives there: no evidence either way (one left-hand match, or one element off the kinks, is).
ONE_SIDED_REASON = ("every value that carries it sits on a kink exactly at θ (a ReLU input exactly 0) and "
                    "matches only the right-hand slope there, relu'(0) = 1: a convention of its own (the "
                    "course and PyTorch take 0), but also what a missing mask gives, so it proves nothing; "
                    "check at a point off the kinks (e.g. nonzero biases)")


def _too_small(a: np.ndarray, n: np.ndarray, bar: np.ndarray, valid: np.ndarray) -> str:
    size = max(float(np.linalg.norm(a[valid])), float(np.linalg.norm(n[valid])))
    if size == 0:
        return (f"this gradient is zero where it could be checked, and the numerical error bar there "
                f"({float(np.max(bar[valid])):.2g}) is too large to vouch for a zero")
    ratio = float(np.linalg.norm(bar[valid])) / size
    return (f"the numerical gradient's error bar is {ratio:.2g} x this gradient at every step tried, and the "
            "Taylor remainder test could not decide either: a bug that size would go unseen")


def _smaller_steps(name: str, a: np.ndarray, kinks: np.ndarray, n: np.ndarray, bar: np.ndarray,
                   step: np.ndarray, noise: Noise, element_costs: ElementCosts, f0: float,
                   threshold: float, one_sided: np.ndarray, right: np.ndarray) -> None:
    """Elements whose step crossed a kink (the probe saw a ReLU input change sign) are tried again at
    steps 16 and 256 times smaller: a kink at some distance from θ is then no longer crossed, and the
    element is checked there. What still crosses sits on a kink exactly at θ (a ReLU input exactly 0,
    as behind a dead layer or on an all-zero input with zero biases): there backprop takes one side's
    slope, so the element is checked one-sided, against the slopes (f(θ ± h) - f(θ)) / ±h, with their
    truncation measured between the two steps. An element matching neither side stays a kink: left
    out and counted, never judged wrong. Updates the arrays in place."""
    pending = np.flatnonzero(kinks)
    h = step.reshape(-1)[pending] / RECHECK_SHRINK
    previous = None
    for level in range(2):
        fp, fm, crossed = element_costs(name, pending, h)
        clear = ~crossed
        where = pending[clear]
        n.reshape(-1)[where] = (fp[clear] - fm[clear]) / (2 * h[clear])
        bar.reshape(-1)[where] = noise.bar(h[clear])
        step.reshape(-1)[where] = h[clear]
        kinks.reshape(-1)[where] = False
        slopes = ((fp - f0) / h, (f0 - fm) / h)
        if level == 1 and previous is not None and crossed.any():
            still = pending[crossed]
            av = a.reshape(-1)[still]
            prev = previous[1]
            for side in (1, 0):  # the left-hand slope first (see ONE_SIDED_REASON)
                d_small = slopes[side][crossed]
                d_large = prev[side][previous[0]][crossed]
                obar = 2 * noise.per_eval / h[crossed] + np.abs(d_large - d_small) / (RECHECK_SHRINK - 1) \
                    + threshold * np.maximum(np.abs(av), np.abs(d_small))
                # a side along which the cost did not change at all at either step, bit for bit
                obar[(d_small == 0) & (d_large == 0) & (av == 0)] = 0.0
                match = kinks.reshape(-1)[still] & (np.abs(av - d_small) <= obar)
                if match.any():
                    at = still[match]
                    n.reshape(-1)[at], bar.reshape(-1)[at] = d_small[match], obar[match]
                    step.reshape(-1)[at] = h[crossed][match]
                    kinks.reshape(-1)[at] = False
                    one_sided.reshape(-1)[at] = True
                    right.reshape(-1)[at] = side == 0
        previous = (crossed, slopes)
        pending, h = pending[crossed], h[crossed] / RECHECK_SHRINK
        if not pending.size:
            break


def _recheck(name: str, a: np.ndarray, n: np.ndarray, bar: np.ndarray, step: np.ndarray, jump: np.ndarray,
             kinks: np.ndarray, confirmed: np.ndarray, disagree: np.ndarray, noise: Noise, threshold: float,
             element_costs: ElementCosts, f0: float, one_sided: np.ndarray,
             kinks_known: bool = False, right: np.ndarray | None = None) -> None:
    """Re-check disagreeing elements at smaller steps (see the module docstring); updates ``n``,
    ``bar``, ``step``, ``kinks`` and ``confirmed`` in place.

    Unless ``kinks_known`` (a probe reports every kink crossed), a disagreement where the cost does not
    visibly move on either side (|f(θ ± h) - f(θ)| within the noise, but not bit for bit unchanged) is
    never confirmed: kinks on both sides closer than the step (ReLU inputs at 1e-10 under a x0.01 init)
    leave a plateau whose rise a·δ hides in the noise at every step, exactly as a wrong gradient over a
    flat cost would. A cost unchanged bit for bit (a dead unit) cannot hide such a rise, nor can a
    window narrower than ``PLATEAU_WINDOW`` (the widest a plateau can hide is the noise over |a|)."""
    flat = np.flatnonzero(disagree)
    severity = (np.abs(a - np.nan_to_num(n)) / np.maximum(bar, np.finfo(float).tiny)).ravel()[flat]
    order = flat[np.argsort(-severity)]
    batches = [order[:RECHECK_MAX], order[RECHECK_MAX:]]
    for batch in batches:
        if not batch.size or (confirmed.any() and batch is batches[1]):
            continue
        pending = batch
        prev_n = n.ravel()[pending].copy()
        prev_bar = bar.ravel()[pending].copy()
        prev_jump = jump.ravel()[pending].copy()
        av = a.ravel()[pending]
        # a smaller step only helps where its 16x larger noise bar could still see the disagreement;
        # elsewhere (a disagreement near the noise) the step grows 4x instead, shrinking the bar
        slack0 = threshold * np.maximum(np.abs(av), np.abs(prev_n))
        # a disagreement the smaller step's bar would swallow can only be matched to one side of a
        # kink there; otherwise it stays open (neither confirmed nor excused) for larger steps and the
        # Taylor test
        decisive = np.abs(av - prev_n) > 2 * (RECHECK_SHRINK * prev_bar + slack0)
        factor = np.full(pending.size, 1 / RECHECK_SHRINK)
        h = step.ravel()[pending] * factor
        for level in range(2):
            fp, fm, crossed = element_costs(name, pending, h)
            n2 = (fp - fm) / (2 * h)
            bar2 = noise.bar(h)
            dplus, dminus = (fp - f0) / h, (f0 - fm) / h
            obar = 2 * noise.bar(h)
            slack = threshold * np.maximum(np.abs(av), np.abs(n2))
            agree = decisive & ~crossed & (np.abs(av - n2) <= bar2 + slack)
            # on a smooth stretch the one-sided slopes close in as the step shrinks (|d+ - d-| = h|f''|);
            # across a kink their gap stays the slope's jump
            gap = np.abs(dplus - dminus)
            # smooth: the gap scales with the step (by ``factor``), within a factor 2; more kinks crossed
            # by a larger step, or the same kink by a smaller one, break the proportion
            ratio = gap / np.maximum(prev_jump, np.finfo(float).tiny)
            smooth = jump_small = (gap <= 2 * obar) | ((ratio >= factor / 2) & (ratio <= factor * 2))
            one_side = (np.abs(av - dplus) <= obar + slack) | (np.abs(av - dminus) <= obar + slack)
            straddle = ~agree & ~smooth & one_side
            consistent = ~crossed & (np.abs(n2 - prev_n) <= prev_bar + bar2 + threshold * np.abs(n2))
            # and no kink inside the step: the one-sided slopes agree far better than with the analytic
            # value (a bug on a smooth stretch leaves |d+ - d-| = h|f''|; a kink leaves the slope's jump)
            inside = gap > 2 * obar + 0.1 * np.abs(av - n2)
            sure = decisive & ~agree & ~straddle & consistent & jump_small & ~inside
            if not kinks_known:
                flat = (np.abs(dplus) <= obar) & (np.abs(dminus) <= obar) & ~((fp == f0) & (fm == f0)) \
                    & (2 * noise.per_eval > PLATEAU_WINDOW * np.abs(av))
                sure &= ~flat
            if level == 0:  # a disagreement is confirmed only when it also holds at the next step down
                held = sure
                sure = np.zeros_like(sure)
            else:
                sure &= held
            # agreement at the smaller step: truncation (smooth) takes the new value; a kink is left out
            take = agree & smooth
            for mask, action in ((take, "replace"), (agree & ~smooth, "kink"), (straddle, "one-sided"),
                                 (sure, "confirm")):
                if not mask.any():
                    continue
                where = pending[mask]
                if action == "replace":
                    n.reshape(-1)[where], bar.reshape(-1)[where] = n2[mask], bar2[mask]
                    step.reshape(-1)[where] = h[mask]
                elif action == "kink":
                    kinks.reshape(-1)[where] = True
                elif action == "one-sided":
                    # a kink exactly at θ, where backprop took one side's slope: checked against that side
                    side = np.where(np.abs(av - dplus) <= np.abs(av - dminus), dplus, dminus)
                    n.reshape(-1)[where], bar.reshape(-1)[where] = side[mask], (obar + slack)[mask]
                    step.reshape(-1)[where] = h[mask]
                    one_sided.reshape(-1)[where] = True
                    if right is not None:
                        right.reshape(-1)[where] = (np.abs(av - dminus) > obar + slack)[mask]
                else:
                    confirmed.reshape(-1)[where] = True
            # open disagreements (not decisive) leave here: not excused by elimination below
            go_on = ~(agree | straddle | sure) & decisive
            if level == 1:  # numbers that move with the step and never settle: a kink, by elimination
                kinks.reshape(-1)[pending[go_on]] = True
                break
            if not go_on.any():
                break
            pending, av, factor, decisive, held = (pending[go_on], av[go_on], factor[go_on], decisive[go_on],
                                                   held[go_on])
            h = h[go_on] * factor
            prev_n, prev_bar, prev_jump = n2[go_on], bar2[go_on], gap[go_on]


def _escalate(name: str, a: np.ndarray, valid: np.ndarray, noise: Noise, threshold: float,
              element_costs: ElementCosts, h: float, typical: float, f0: float, kinks_known: bool):
    """Central differences at steps h, h/2 and h/4: their differences measure the truncation
    (Richardson: the error at h is about 4/3 of |n(h) - n(h/2)|), which joins the noise bar. An element
    is wrong here only when it disagrees at all three steps and the three agree with each other far
    better than with the analytic value (a kink crossed by the larger steps moves the numbers with the
    step; a bug does not). Returns (outcome, numerical, bar, valid, confirmed), outcome None when this
    step cannot decide either. Unless ``kinks_known``, a wrong element must also be smooth at these
    steps: its one-sided slopes' gap |d+ - d-| halves with the step (a kink within the step keeps it).
    """
    flat = np.flatnonzero(valid)
    steps = np.full(flat.size, h)
    fp, fm, c1 = element_costs(name, flat, steps)
    fp2, fm2, c2 = element_costs(name, flat, steps / 2)
    n1, n2 = (fp - fm) / (2 * h), (fp2 - fm2) / h
    bar1 = noise.bar(h) + 4.0 / 3.0 * np.abs(n1 - n2)
    bar2 = noise.bar(h / 2) + 1.0 / 3.0 * np.abs(n1 - n2) + noise.bar(h)
    av = a.ravel()[flat]
    ok = ~(c1 | c2)
    slack1 = threshold * np.maximum(np.abs(av), np.abs(n1))
    slack2 = threshold * np.maximum(np.abs(av), np.abs(n2))
    off = ok & (np.abs(av - n1) > bar1 + slack1) & (np.abs(av - n2) > bar2 + slack2)
    if off.any():
        at = flat[off]
        fp4, fm4, c4 = element_costs(name, at, steps[off] / 4)
        n4 = (fp4 - fm4) / (h / 2)
        gap = np.abs(av[off] - n2[off])
        steady = ~c4 & (np.abs(n4 - n2[off]) <= 0.25 * gap) & (np.abs(n1[off] - n2[off]) <= 0.25 * gap) \
            & (np.abs(av[off] - n4) > noise.bar(h / 4) + slack2[off])
        if not kinks_known:
            gaps = [np.abs(fp[off] + fm[off] - 2 * f0) / h, np.abs(fp2[off] + fm2[off] - 2 * f0) / (h / 2),
                    np.abs(fp4 + fm4 - 2 * f0) / (h / 4)]
            quiet = [g <= 4 * noise.per_eval / hk for g, hk in zip(gaps, (h, h / 2, h / 4), strict=True)]
            halves = [(gaps[k] >= 1.4 * gaps[k + 1]) & (gaps[k] <= 2.8 * gaps[k + 1]) for k in range(2)]
            steady &= (quiet[0] & quiet[1] & quiet[2]) | (halves[0] & halves[1])
        off[np.flatnonzero(off)[~steady]] = False
        ok[np.flatnonzero(off)] &= True
    nh = np.full(a.shape, np.nan)
    barh = np.zeros(a.shape)
    okh = np.zeros(a.shape, bool)
    conf = np.zeros(a.shape, bool)
    nh.reshape(-1)[flat], barh.reshape(-1)[flat] = n1, bar1
    okh.reshape(-1)[flat], conf.reshape(-1)[flat] = ok, off
    if off.any():
        return WRONG, nh, barh, okh, conf
    agree = ok & (np.abs(av - n1) <= bar1 + slack1)
    if agree.any() and agree.sum() == ok.sum() and _resolved(av[ok], n1[ok], bar1[ok], typical):
        return CORRECT, nh, barh, okh, conf
    return None


def taylor_test(name: str, a: np.ndarray, valid: np.ndarray, f0: float, noise: Noise, line_cost: LineCost,
                rng: np.random.Generator, typical: float, numerical: np.ndarray | None = None,
                bar: np.ndarray | None = None) -> tuple[str, str]:
    """The Taylor remainder test along random unit directions d in the valid elements' space, on
    both sides: r(±h) = |J(θ ± h d) - J(θ) ∓ h<a, d>| over h = H, H/2, ... Where r stays above the
    noise, its order of convergence is 2 when a is right along d and 1 when it is wrong, on both
    sides alike (a kink exactly at θ gives order 1 on one side only: undecided). ``numerical`` and
    ``bar``, the elementwise estimate and its error bars, must not contradict a "wrong": the offset
    <g - a, d> they imply has to match the Taylor test's (kinks closer to θ than the Taylor test's
    smallest step make the two disagree). Nor may the cost stay flat along d (``_moves``: it must move
    on both sides with a slope of at least ``PLATEAU`` of <a, d>): a plateau between kinks closer than
    every step gives order 1 and a steady offset too."""
    E = 2 * noise.per_eval
    scale = max(1.0, float(typical))
    results = []
    for _ in range(TAYLOR_DIRECTIONS):
        d = np.where(valid, rng.standard_normal(a.shape), 0.0)
        norm = float(np.linalg.norm(d))
        if norm == 0:
            return UNDECIDED, ""
        d /= norm
        ad = float(np.sum(np.where(valid, a, 0.0) * d))
        H = 1e-1 / scale
        hs = H * 0.5 ** np.arange(TAYLOR_STEPS)
        sides, values = [], []
        try:
            for sign in (1.0, -1.0):
                f = np.array([line_cost(name, d, sign * h) for h in hs])
                values.append(f)
                sides.append(_order(hs, np.abs(f - f0 - sign * hs * ad), E, ad, typical))
        except (ValueError, FloatingPointError):  # a step left the cost's domain: no verdict here
            return UNDECIDED, ""
        kinds = {s[0] for s in sides}
        offsets = (values[0] - values[1]) / (2 * hs) - ad
        agrees = True
        if numerical is not None and bar is not None:
            implied = float(np.sum(np.where(valid, np.nan_to_num(numerical) - a, 0.0) * d))
            spread = float(np.sum(np.where(valid, bar, 0.0) * np.abs(d)))
            agrees = abs(offsets[-1] - implied) <= spread + 0.1 * abs(offsets[-1])
        if kinds == {WRONG} and agrees and _smooth_line(hs, values[0] + values[1] - 2 * f0, E) \
                and _steady_offset(hs, offsets, E) and _moves(hs, values, f0, offsets, ad, E):
            deltas = [s[1] for s in sides]
            if max(deltas) <= 1.5 * min(deltas):
                results.append((WRONG, f"Taylor remainder test: order 1 on both sides along a random "
                                       f"direction (|<g - a, d>| ≈ {min(deltas):.2g}, against "
                                       f"<a, d> = {ad:.2g})"))
                continue
            results.append((UNDECIDED, ""))
        elif kinds == {CORRECT}:
            results.append((CORRECT, "Taylor remainder test: order 2 along random directions"))
        else:
            results.append((UNDECIDED, ""))
    outcomes = {r[0] for r in results}
    if WRONG in outcomes:
        return WRONG, next(r[1] for r in results if r[0] == WRONG)
    if outcomes == {CORRECT}:
        return CORRECT, results[0][1]
    return UNDECIDED, ""


def _steady_offset(hs: np.ndarray, offset: np.ndarray, E: float) -> bool:
    """Whether <g - a, d>, read from the central difference along d at each h, stays the same number
    over the smallest steps where it stands above the noise: a wrong gradient's offset does not move
    with h, while kinks crossed at some steps and not at others move it."""
    above = np.flatnonzero(np.abs(offset) > 10 * E / hs)
    if above.size < 3 or not np.array_equal(above[-3:], np.arange(above[-1] - 2, above[-1] + 1)):
        return False
    last = offset[above[-3:]]
    return bool(np.all(np.sign(last) == np.sign(last[0]))
                and np.max(np.abs(last)) <= 1.1 * np.min(np.abs(last)))


def _moves(hs: np.ndarray, values: list[np.ndarray], f0: float, offset: np.ndarray, ad: float,
           E: float) -> bool:
    """Whether the cost visibly moves on both sides, with a steady offset, over three successive steps,
    and responds along d at all (its slope there at least ``PLATEAU`` of <a, d>); or stays unchanged
    bit for bit at every step. A cost that stays flat while h<a, d> grows gives order 1 and a steady
    offset -<a, d>; but kinks on both sides of θ closer than these steps (ReLU inputs at 1e-10 under
    a x0.01 init, units switching off either way) leave just such a plateau, whose rise a·δ hides in
    the noise: that evidence cannot tell a wrong gradient from a kink."""
    if all(np.all(v == f0) for v in values):
        return True
    if abs(float(np.median(offset + ad))) < PLATEAU * abs(ad):
        return False
    moved = (np.abs(offset) > 10 * E / hs) & np.all([np.abs(v - f0) > 2 * E for v in values], axis=0)
    for k in range(len(hs) - 2):
        if moved[k:k + 3].all():
            run = offset[k:k + 3]
            if np.all(np.sign(run) == np.sign(run[0])) and np.max(np.abs(run)) <= 1.1 * np.min(np.abs(run)):
                return True
    return False


def _smooth_line(hs: np.ndarray, second: np.ndarray, E: float) -> bool:
    """Whether the cost is smooth along the line: its second difference over h² (the curvature) holds
    steady as h shrinks, where it stands above the noise. Across a kink near θ it grows like 1/h, and
    a kink's slope change looks like a wrong first-order term, so order 1 proves nothing there."""
    seen = np.abs(second) > 10 * E  # the threshold of the offsets: a kink at θ shows in both alike
    if seen.sum() < 2:
        return not seen.any()
    curv = second[seen] / hs[seen] ** 2
    if np.any(np.sign(curv) != np.sign(curv[0])):
        return False
    return float(np.max(np.abs(curv)) / np.min(np.abs(curv))) <= 4.0


def _order(hs: np.ndarray, r: np.ndarray, E: float, ad: float, typical: float) -> tuple[str, float]:
    """The verdict one sequence of remainders gives: (CORRECT, bound), (WRONG, |δ|) or UNDECIDED."""
    above = r > 10 * E
    if not above.any():
        # flat to within the noise down from the largest step: |<g - a, d>| <= 10 E / H
        bound = 10 * E / hs[0]
        ok = bound <= RESOLUTION * max(abs(ad), ZERO * typical)
        return (CORRECT if ok else UNDECIDED), bound
    last = int(np.flatnonzero(above)[-1])
    if last < 2 or not above[last - 2:last + 1].all():
        return UNDECIDED, 0.0
    rates = np.log2(r[last - 2:last] / r[last - 1:last + 1])
    if np.all(rates >= 1.8):
        bound = r[last] / hs[last]
        ok = bound <= RESOLUTION * max(abs(ad), ZERO * typical)
        return (CORRECT if ok else UNDECIDED), bound
    if np.all(np.abs(rates - 1) <= 0.2):
        delta = r[last] / hs[last]
        return WRONG, delta
    return UNDECIDED, 0.0


def judge_projections(a_proj: np.ndarray, est: Projections, noise: Noise, threshold: float,
                      typical: float) -> Judgement:
    """Judge a directional estimate: k directional derivatives against the analytic projections."""
    n = est.numerical
    bar = np.full(n.shape, float(noise.bar(est.step)))
    valid = np.ones(n.shape, bool)
    off = np.abs(a_proj - n) > tolerance(a_proj, n, bar, threshold)
    step = np.full(n.shape, est.step)
    if off.any():
        return Judgement(WRONG, n, bar, valid, np.zeros(n.shape, bool), off, step)
    if _resolved(a_proj, n, bar, typical):
        return Judgement(CORRECT, n, bar, valid, np.zeros(n.shape, bool), off, step)
    return Judgement(UNDECIDED, n, bar, valid, np.zeros(n.shape, bool), off, step,
                     reason=_too_small(a_proj, n, bar, valid) + "; method='central' checks every element")


def judge_complex(a: np.ndarray, plus: np.ndarray, minus: np.ndarray, *, rel: float,
                  floor: float, evidence_floor: float | None = None, typical: float = 0.0,
                  wrong_rel: float | None = None, wrong_floor: float | None = None,
                  evidence_rel: float | None = None) -> Judgement:
    """Judge one parameter against its complex-step derivative (``estimate.complex_sides``: ``plus``
    and ``minus`` of the parameter's shape, NaN where unsampled). An element agrees when it is within
    ``floor + rel * max(|a|, |c|)`` of the derivative: ``rel`` is the threshold, widened where the
    cost loses digits to cancellation (a saturated log(1 - AL) rounds 1 - AL, which the complex step
    divides by as backprop does, within about u / (1 - AL) of each other); ``floor`` the rounding of
    gradients that cancel to near zero. Where the two sides differ, the element sits on a kink
    exactly at θ (a ReLU input exactly 0): it agrees with either side's slope (backprop takes one),
    and an element matching neither is left out and counted, never judged wrong; but one outside the
    range of the two slopes, which no convention for the slope at 0 gives, leaves the parameter
    undecided rather than correct. ``evidence_floor`` (default ``floor``) replaces ``floor`` in the error
    bars handed on to the diagnosis: a pattern is claimed only when it holds to those, so a generous
    floor would let a simple factor (x3) pass for the true one (x3.14). ``typical`` is the report's
    typical gradient element; ``evidence_rel`` (default ``rel``) the relative part of those bars, the
    digits the complex step is measured to lose (a pattern holds to them, not to more).
    ``wrong_rel`` and ``wrong_floor`` (default ``rel``, ``floor``): what an element needs to be
    *wrong*; between the two it is neither, and the parameter is undecided (a cost that loses a few
    digits, as a mildly saturated log(1 - AL) does unseen, moves the complex step by more than
    rounding).
    """
    sampled = ~np.isnan(plus)
    p, m = np.nan_to_num(plus), np.nan_to_num(minus)
    # an imaginary part that reached the cost on neither side: no path from the element to the cost
    # at all (a dead unit), so no rounding either; the gradient there is exactly zero
    unreached = sampled & (p == 0) & (m == 0)
    silent = unreached & (a == 0)  # exact zeros all round: agree, and carry no evidence
    tol = np.where(unreached, 0.0, floor + rel * np.maximum(np.abs(a), np.maximum(np.abs(p), np.abs(m))))
    smooth = np.abs(p - m) <= tol
    on_plus, on_minus = np.abs(a - p) <= tol, np.abs(a - m) <= tol
    # within the floor but off by a factor: the floor stands for rounding where terms cancel, which
    # leaves a few digits, not a wrong factor on a tiny gradient (x2 on 5e-14 under a 5e-11 floor)
    off_plus = on_plus & (np.abs(a - p) > FACTOR_OFF * np.maximum(np.abs(a), np.abs(p)))
    off_minus = on_minus & (np.abs(a - m) > FACTOR_OFF * np.maximum(np.abs(a), np.abs(m)))
    close_side = (on_plus & ~off_plus) | (on_minus & ~off_minus)
    factor_off = sampled & ((smooth & off_plus) | (~smooth & (off_plus | off_minus) & ~close_side))
    one_sided = sampled & ~smooth & (on_plus | on_minus)
    kinks = sampled & ~smooth & ~one_sided
    # every convention for the slope at 0 (0, 1, or between) lands between the two sides' slopes
    outside = kinks & ((a < np.minimum(p, m) - tol) | (a > np.maximum(p, m) + tol))
    beyond = np.where(unreached, 0.0, (floor if wrong_floor is None else wrong_floor)
                      + (rel if wrong_rel is None else wrong_rel) * np.maximum(np.abs(a), np.abs(p)))
    confirmed = sampled & smooth & (np.abs(a - p) > beyond)
    unsure = ((sampled & smooth & ~on_plus) | factor_off) & ~confirmed
    valid = sampled & ~kinks
    n = np.where(sampled, np.where(one_sided & on_minus, m, p), np.nan)
    ef = floor if evidence_floor is None else evidence_floor
    bar = np.where(sampled & ~unreached, tol - floor + ef, 0.0)
    if evidence_rel is not None and evidence_rel > rel:
        widen = (evidence_rel - rel) * np.maximum(np.abs(a), np.abs(n))
        bar = np.where(sampled & ~unreached, bar + widen, 0.0)
    step = np.full(a.shape, 1e-20)  # estimate.complex_sides' step
    witness = COMPLEX_WITNESS + " Im f(θ + ih) / h, exact to rounding"
    if confirmed.any():
        outcome, reason = WRONG, ""
    elif outside.any():
        outcome, reason = UNDECIDED, (f"{int(outside.sum())} element(s) on a kink exactly at θ (a ReLU input "
                                      "exactly 0) lie outside the range of its two one-sided slopes, which "
                                      "no convention for the slope at 0 gives; kinks are never judged "
                                      "wrong, so check at a point off the kink (e.g. nonzero biases)")
    elif valid.any() and not np.any(valid & ~silent) and kinks.any():
        outcome, reason = UNDECIDED, ("every element that carries this gradient sits on a kink exactly at θ "
                                      "(a ReLU input exactly 0) and matches neither side's slope")
    elif kinks.any() and not np.any(valid & ~silent & smooth):
        outcome, reason = UNDECIDED, (f"every element that carries this gradient sits on a kink exactly at θ "
                                      f"(a ReLU input exactly 0) and {int(kinks.sum())} match neither side's "
                                      "slope: a bug there cannot be told from another choice of the slope "
                                      "at 0; check at a point off the kinks (e.g. nonzero biases)")
    elif unsure.any():
        worst = float(np.max((np.abs(a - n) / np.maximum(np.abs(a), np.abs(n)))[unsure]))
        outcome, reason = UNDECIDED, (f"the complex step differs from it by up to {worst:.2g} relative: "
                                      "more than rounding in a clean cost, less than a bug is sure to leave; "
                                      "a cost that loses digits to cancellation (a saturated log(1 - AL)) "
                                      "does this")
    elif (right := one_sided & ~on_minus).any() and not (valid & ~right & ~silent).any():
        outcome, reason = UNDECIDED, ONE_SIDED_REASON
    elif valid.any():
        outcome, reason = CORRECT, ""
    else:
        outcome, reason = UNDECIDED, ("every element sits on a kink exactly at θ (a ReLU input exactly 0) "
                                      "and matches neither side's slope")
    return Judgement(outcome, n, bar, valid, kinks, confirmed, step, reason=reason,
                     witness=witness if outcome != UNDECIDED else "", one_sided=one_sided)
