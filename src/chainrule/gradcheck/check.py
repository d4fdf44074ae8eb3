"""``check_gradients``, and the pipeline every check runs (``run_checks``), top to bottom:

1. **estimate** (``estimate``): the cost at θ, then the numerical gradient of every parameter through
   ``element_costs`` (the per-element loop by default; a batched implementation plugs in here);
2. **noise** (``noise``): the cost's rounding noise measured at θ, and the step checked against it
   (an eps the noise makes meaningless is replaced, with a warning);
3. **judge** (``judge``): every element against its measured error bar, kinks re-checked and left
   out, and every parameter correct, wrong or undecided (larger steps and the Taylor remainder test
   as further witnesses);
4. **diagnose** (``diagnose``): the pattern of each wrong gradient;
5. **report** (``report``): ``ParameterResult`` per name, which the callers gather in a report.

No step calls back up. The model and layer checks (``model.py``, ``layer.py``) run the same pipeline
on a private float64 copy.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from .._validate import as_float_array, as_rng, check_array_tree, check_positive_int
from . import estimate as est_
from . import noise as noise_
from . import progress
from .diagnose import NON_FINITE, Context, Evidence, diagnose, diagnose_shape
from .holomorphic import NotHolomorphic, watched_cost
from .inputs import (
    SCALAR_NAME,
    PrecisionWarning,
    StepWarning,
    as_cost_value,
    float_values,
    match_grads,
    resolve_options,
)
from .judge import CORRECT, UNDECIDED, WRONG, Judgement, judge_complex, judge_elementwise, judge_projections
from .report import GradientReport, ParameterResult, WorstElement

__all__ = ["DEFAULT_THRESHOLD", "PrecisionWarning", "StepWarning", "check_gradients", "combine",
           "relative_difference", "run_checks"]

#: The course's threshold for its N-D check ("difference > 2e-7: there is a mistake"). An element
#: agrees when it differs by at most its measured error bar plus this much relative to its size.
DEFAULT_THRESHOLD = 2e-7
_ComplexWarning = getattr(np, "exceptions", np).ComplexWarning
WORST = 5
_NOISE_SEED = 20260  # the noise directions: fixed, independent of the caller's rng and its draws


def relative_difference(a: np.ndarray, n: np.ndarray) -> float:
    """||a - n|| / (||a|| + ||n||), formula 2 of the course; 0 when both are zero."""
    a, n = as_float_array(a, "a", finite=False), as_float_array(n, "n", finite=False)
    if a.shape != n.shape:
        raise ValueError(f"relative_difference: a and n must have the same shape, got a {a.shape} and "
                         f"n {n.shape}")
    denom = float(np.linalg.norm(a) + np.linalg.norm(n))
    if not np.isfinite(denom) and np.all(np.isfinite(a)) and np.all(np.isfinite(n)):
        # Norms of values near 1e300 overflow to inf (inf / inf = NaN) although the ratio is well
        # defined: divide by the largest magnitude first. Only then, so the course's digits stay exact.
        scale = max(float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(n), initial=0.0)))
        a, n = a / scale, n / scale
        denom = float(np.linalg.norm(a) + np.linalg.norm(n))
    return float(np.linalg.norm(a - n) / denom) if denom > 0 else 0.0


def combine(outcomes: list[str]) -> str:
    """The outcome of several: wrong if any is, else undecided if any is (or there are none), else
    correct."""
    if WRONG in outcomes:
        return WRONG
    if not outcomes or UNDECIDED in outcomes:
        return UNDECIDED
    return CORRECT


@dataclass
class Checked:
    """What ``run_checks`` found: the results per name, the overall difference (formula 2 over every
    checked element that is not a kink; NaN when it would mislead), the step used and the noise."""

    results: dict[str, ParameterResult]
    difference: float
    eps: float
    noise: noise_.Noise | None


def run_checks(evaluate: est_.Evaluate, values: dict[str, np.ndarray], grads: dict[str, np.ndarray], *,
               method: str, eps: float, threshold: float, sample: int | None, rng: np.random.Generator,
               directions: int = 4, batch_size: int | None = None,
               contexts: Mapping[str, Context] | None = None,
               kink_masks: Mapping[str, np.ndarray] | None = None,
               probe: Callable[[], bytes] | None = None,
               notes: list[str] | None = None, scale: float = 0.0,
               complex_ok: bool = True, element_costs: est_.ElementCosts | None = None,
               kink_mask_for: Callable[[float], Mapping[str, np.ndarray]] | None = None,
               eps_given: bool = True, raw: list | None = None, kinks_known: bool | None = None,
               complex_evaluate: est_.Evaluate | None = None,
               kink_distances: Mapping[str, np.ndarray] | None = None) -> Checked:
    """Check every name of ``values`` against ``grads`` (the pipeline of the module docstring).

    ``values`` (owned float64 arrays; complex128 for the complex step) is perturbed in place and
    restored. ``contexts`` and ``kink_masks`` (name -> array of the parameter's shape) carry what a
    layer check knows about its input (``kink_mask_for(eps)`` recomputes the masks when the step is
    replaced); ``probe`` reports the kink state after each evaluation. Findings about the check
    itself (float32 arithmetic, a replaced eps, cancellation) are appended to ``notes``. ``scale`` is
    the size of the cost's largest terms (``noise.noise_scale``); ``complex_ok`` False keeps hints from
    suggesting method='complex'. ``element_costs`` replaces the per-element loop. ``eps_given``
    False: ``eps`` is the default, which a step chosen from the noise replaces without a warning.
    ``raw``, if given, receives what ``evaluate`` got from the cost at θ (its cache shows a saturated
    sigmoid, ``noise.staircase``). ``kinks_known``: every kink the cost has is reported by ``probe``
    (default: when there is a probe or kink masks), so larger steps may also decide "wrong".
    ``complex_evaluate``, the cost of complex parameters (``holomorphic.watched_cost``), is the
    complex-step witness for what central differences leave undecided or call wrong
    (``_complex_witness``). ``kink_distances`` (name -> array): each element's distance to its nearest
    kink, where known; closer elements are estimated with a step below it (``judge``).
    """
    notes = notes if notes is not None else []
    # 1. estimate: the cost at θ (every value is recorded: float32 arithmetic shows in them)
    costs: list[float] = []
    bar = progress.current()
    per_evaluation = 0.5 if method == "central" else 1.0 if method == "complex" else 0.0

    def recorded(vals: dict[str, np.ndarray]) -> complex:
        value = evaluate(vals)
        costs.append(complex(value).real)
        if bar is not None and per_evaluation:
            bar.advance(per_evaluation)
        return value

    f0 = float(complex(as_cost_value(recorded(values), complex_ok=method == "complex")).real)
    state0 = probe() if probe is not None else None
    shaped = {k: g for k, g in grads.items() if g.shape == values[k].shape and np.all(np.isfinite(g))}
    # 2. noise, and the step checked against it
    noise = None
    spacing = eps
    for dist in (kink_distances or {}).values():  # tables that cross no kink: kinks are not noise
        near = dist[(dist > 0) & np.isfinite(dist)]
        if near.size:
            spacing = min(spacing, 0.1 * float(near.min()))
    if method != "complex":
        noise = noise_.measure(recorded, values, f0, np.random.default_rng(_NOISE_SEED), scale=scale,
                               spacing=spacing)
        if noise_.rounded_to_float32(costs):
            noise = noise_.measure(recorded, values, f0, np.random.default_rng(_NOISE_SEED), scale=scale,
                                   float32=True, spacing=spacing)
            notes.append("every cost value is a float32 number: the cost computes in float32, so its "
                         "numerical gradient is only good to about 1e-7 * |cost| / eps; the error bars "
                         "follow the measured noise. For a sharp check compute the cost in float64.")
        if raw:
            noise.staircase, noise.saturation = noise_.staircase(raw[0])
        typical = noise_.typical_gradient(noise, shaped, scale)
        chosen, warning = noise_.check_step(eps, noise, typical, est_.DEFAULT_EPS[method])
        if warning and eps_given:
            warnings.warn(warning, StepWarning, stacklevel=3)
            notes.append(warning)
        elif warning:
            notes.append(f"eps = {chosen:g}, chosen from the cost's measured noise "
                         f"({noise.per_eval:.2g} per evaluation) and gradients of about {typical:.2g}")
        if chosen != eps:
            eps = chosen
            if kink_mask_for is not None:
                kink_masks = kink_mask_for(eps)
    else:
        typical = noise_.typical_gradient(noise_.Noise(0, 0, float("nan"), f0), shaped, scale)
    costs_at = (est_.loop_costs(recorded, values, probe, state0) if element_costs is None
                else _ticking(element_costs, bar))
    estimates: dict[str, est_.Estimate | est_.Projections] = {}
    for name, arr in values.items():
        if method == "directional":
            estimates[name] = est_.directional(recorded, values, name, directions, eps, rng)
            continue
        idx = est_.sample_indices(arr.size, sample, rng)
        if method == "complex":
            estimates[name] = est_.complex_step(recorded, values, name, idx, eps)
        else:
            estimates[name] = est_.central(costs_at, name, arr.shape, idx, eps, f0)

    for e in estimates.values():  # the error bar of every element (what a wrong shape is compared with)
        if isinstance(e, est_.Estimate):
            e.noise = np.where(np.isnan(e.numerical), 0.0, noise.bar(e.step) if noise is not None else
                               100 * noise_.U * np.abs(np.nan_to_num(e.numerical)))

    def line_cost(name: str, d: np.ndarray, t: float) -> float:
        arr = values[name]
        original = arr.copy()
        try:
            arr[...] = original + t * d
            return float(complex(recorded(values)).real)
        finally:
            arr[...] = original

    # 3. judge, 4. diagnose, 5. report
    judged: dict[str, Judgement] = {}
    results: dict[str, ParameterResult] = {}
    for name, est in estimates.items():
        a = grads[name]
        if a.shape != values[name].shape or not np.all(np.isfinite(a)):
            continue
        if isinstance(est, est_.Projections):
            pa = np.tensordot(est.directions, a, axes=a.ndim)
            judged[name] = judge_projections(pa, est, noise, threshold, typical)
        else:
            judged[name] = judge_elementwise(
                name, a, est, noise, threshold, element_costs=None if method == "complex" else costs_at,
                f0=f0, typical=typical, kink_mask=(kink_masks or {}).get(name), line_cost=line_cost,
                rng=np.random.default_rng(_NOISE_SEED + 1), exact=method == "complex",
                kinks_known=kinks_known if kinks_known is not None else
                probe is not None or kink_masks is not None,
                line_kinks=probe is not None or kink_masks is not None,
                kink_distance=(kink_distances or {}).get(name))
    # the overall difference is formula 2 over the finite differences' own numbers (the course's)
    central = {k: _evidence(k, grads[k], estimates[k], j) for k, j in judged.items()}
    if complex_evaluate is not None and method == "central":
        _complex_witness(complex_evaluate, values, grads, estimates, judged, f0, threshold, typical, noise,
                         notes)
    evidence = {k: _evidence(k, grads[k], estimates[k], j) for k, j in judged.items()}
    elementwise = {k: e for k, e in evidence.items() if isinstance(estimates[k], est_.Estimate)}
    for name, est in estimates.items():
        a = grads[name]
        if a.shape != values[name].shape:
            results[name] = _wrong_shape(name, a, values[name].shape, estimates, judged, threshold,
                                         batch_size)
        elif name not in judged:
            results[name] = _non_finite(name, a, est)
        else:
            results[name] = _result(name, a, est, judged[name], evidence, elementwise, contexts, batch_size,
                                    threshold, complex_ok, noise)
    if noise is not None and noise.cancellation and any(r.status in ("undecided", "ok (noise)")
                                                        for r in results.values()):
        notes.append(noise.describe() + (_STABLE if complex_ok else ""))
    if (len(judged) < len(estimates) or not any(e.valid.any() for e in evidence.values())
            or any(r.pattern == NON_FINITE for r in results.values())):
        return Checked(results, float("nan"), eps, noise)
    if any(e.valid.any() for e in central.values()):
        evidence = central
    overall = relative_difference(np.concatenate([e.analytic[e.valid] for e in evidence.values()]),
                                  np.concatenate([e.numerical[e.valid] for e in evidence.values()]))
    return Checked(results, overall, eps, noise)


#: Relative slack of the complex step where the cost loses digits to cancellation (its measured
#: noise is far above float64 rounding): its derivative carries the same lost digits, so a bug below
#: this size could hide (finite differences there could not even resolve 10 %).
COMPLEX_CANCELLATION = 1e-3
#: Absolute floor of the complex step's agreement, as a fraction of the typical gradient element. A
#: gradient that cancels to nearly zero (a sum of terms of 1e-3 ending at 1e-17, as db behind a x0.01
#: init) is rounded relative to its terms, not to itself, in backprop and in the complex step alike;
#: their size is not visible from outside the cost, and the typical gradient stands in for it within
#: orders of magnitude. Below this a difference is no evidence (a gradient below ``judge.ZERO`` of the
#: typical one already counts as zero).
COMPLEX_FLOOR = 1e-9
#: The same floor in the error bars a diagnosis rests on: a pattern must hold to the complex step's
#: digits, not to the verdict's generous floor (near-zero gradients that cancel may then fit none,
#: and are "mismatch": never a pattern that is not true).
COMPLEX_EVIDENCE_FLOOR = 1e-12
#: The floor in ulps of the cost: the output bias of a x0.01-init network sums (AL - Y) / m, terms of
#: 1/m, to 5e-14, rounded to about u, while every other gradient (the typical one) is 1e-11.
COMPLEX_COST_ULPS = 8.0
#: The relative difference a complex-step element needs to be *wrong* (between ``rel`` and this it is
#: undecided): a mildly saturated log(1 - AL) (1 - AL = 1e-9, no noise seen) moves it by 1e-7..1e-5;
#: a backprop bug leaves far more.
COMPLEX_WRONG = 1e-4
#: Where large elements show digits lost (``_digits_lost``), a difference below this many times that
#: loss of the typical gradient is no evidence of a bug (it is the loss on terms of that size).
COMPLEX_LOST_TERMS = 10.0
#: NumPy's long double has more digits than float64 here (x86's 80-bit format: 11 more bits); where it
#: has not (Windows, ARM macOS) ``_extended`` measures nothing.
EXTENDED = bool(np.finfo(np.longdouble).eps < 1e-18)
#: Elements whose complex step the analytic gradient misses by more than the agreement tolerance are
#: re-evaluated in extended precision (``_extended``), the worst COMPLEX_EXTENDED_MAX of them.
COMPLEX_EXTENDED_MAX = 256
#: The most a loss of digits shared by most parameters (``_common_loss``) may be taken for: beyond it,
#: differences are a bug's, however many parameters show them. With ``COMPLEX_LOST_TERMS`` it bounds
#: the relative difference that is no evidence at 1 %.
COMPLEX_COMMON_CAP = 1e-3


def _complex_witness(evaluate: est_.Evaluate, values: dict[str, np.ndarray], grads: dict[str, np.ndarray],
                     estimates: dict, judged: dict[str, Judgement], f0: float, threshold: float,
                     typical: float, noise: noise_.Noise | None, notes: list[str]) -> None:
    """The complex step (``holomorphic``) as a second witness, for every parameter central differences
    did not find correct: it has no step to choose, no cancellation and crosses no kink, so it decides
    what the noise left undecided, and it overrules a "wrong" that a staircase or kinks closer than
    every step produced. Where both say wrong, its exact numbers replace the central ones (a pattern
    is named from them; the report's overall difference stays the finite differences' own, the
    course's formula 2 over them). Costs that are not analytic in
    their parameters give no witness; a note says why when it would have decided something.
    Updates ``judged`` in place."""
    # everything but a correct verdict of the first, plain comparison (one resting on larger steps or
    # the Taylor test is cross-examined too: both are finite differences, which kinks and rounding
    # fool), and a correct verdict on exact zeros alone: a cost flat in float64 (1 - AL one ulp from
    # 0, census 33176) gives zero differences where the gradient is not zero
    zeros = {k for k, j in judged.items() if j.outcome == CORRECT and isinstance(estimates[k], est_.Estimate)
             and _only_zeros(grads[k], estimates[k].numerical)}
    pending = [k for k, j in judged.items() if (j.outcome != CORRECT or j.witness or k in zeros)
               and isinstance(estimates[k], est_.Estimate)]
    if not pending:
        return
    stair = 0.0  # a saturated log(1 - AL) seen in the cost's cache: the digits it loses
    if noise is not None and noise.staircase and noise.saturation < 1:
        stair = 8 * noise_.U / noise.saturation
    rel = max(threshold, stair, COMPLEX_CANCELLATION if noise is not None and noise.cancellation else 0.0)
    if rel > 0.01:  # 1 - AL within a few ulps: the complex step has lost the digits too
        return
    cvalues = {k: v.astype(np.complex128) for k, v in values.items()}
    try:
        at = complex(evaluate(cvalues))
        tol = 10 * (noise.per_eval if noise is not None else 0.0) + 1e3 * noise_.U * abs(f0)
        if at.imag != 0 or abs(at.real - f0) > tol:
            raise NotHolomorphic("its value for complex parameters with no imaginary part differs from "
                                 f"its value for real ones ({at} against {f0})")
        sides = {}
        for name in pending:
            est = estimates[name]
            idx = np.flatnonzero(~np.isnan(est.numerical))
            plus, minus = np.full(est.numerical.shape, np.nan), np.full(est.numerical.shape, np.nan)
            plus.reshape(-1)[idx], minus.reshape(-1)[idx] = est_.complex_sides(evaluate, cvalues, name, idx)
            sides[name] = plus, minus
        # rounding of a gradient that cancels follows its terms: the typical gradient's size, or the
        # cost's own (a loss's derivative in its logits is of the order of the loss per example);
        # a difference below the larger of the two is no evidence of a bug. Where the cost loses
        # digits unseen (a saturated log(1 - AL) whose stairs the noise tables never crossed), the
        # complex step loses them too: measured in extended precision where it disagrees (its values
        # there replaced by the extended ones), else estimated from what the large elements and most
        # parameters show; ten times that loss is no evidence either.
        measured = _extended(evaluate, cvalues, grads, sides, rel, typical)
        terms = max(COMPLEX_FLOOR * typical, COMPLEX_COST_ULPS * noise_.U * abs(f0))
        lost = max(_digits_lost(grads, sides, typical) if measured is None else measured, stair)
        if lost > threshold:
            terms = max(terms, COMPLEX_LOST_TERMS * lost * typical)
        common = _common_loss(grads, sides, typical) if measured is None else 0.0
        wrong_rel = max(rel, COMPLEX_WRONG, COMPLEX_LOST_TERMS * max(common, measured or 0.0))
        for name in pending:
            j = judged[name]
            plus, minus = sides[name]
            cj = judge_complex(grads[name], plus, minus, rel=rel, floor=COMPLEX_FLOOR * typical,
                               evidence_floor=COMPLEX_EVIDENCE_FLOOR * typical, typical=typical,
                               wrong_rel=wrong_rel, wrong_floor=terms, evidence_rel=max(rel, 2 * common))
            if cj.outcome == UNDECIDED:
                if j.outcome == UNDECIDED and cj.reason:
                    j.reason = cj.reason
                elif name in zeros:  # the zeros' "correct" rested on nothing the complex step confirms
                    slope = float(np.nanmax(np.abs(plus)))
                    cj.reason = (f"every central difference and every analytic element is exactly 0, but "
                                 f"the complex step finds slopes up to {slope:.2g}: the cost is flat to "
                                 "float64 here (a sigmoid saturated to 1 - AL of an ulp?), so its zeros "
                                 "confirm nothing; check at a point where the cost is not saturated")
                    judged[name] = cj
                elif j.outcome == WRONG and not cj.kinks.any() and not cj.confirmed.any():
                    # every element within 1e-4 of the exact derivative: far closer than the finite
                    # differences' "wrong" (a staircase's), too far for "correct"
                    cj.central = j.numerical
                    judged[name] = cj
                continue
            if j.outcome == CORRECT and cj.outcome == CORRECT:
                continue  # the finite differences' own numbers stay where both agree
            if j.outcome == WRONG and cj.outcome == CORRECT:
                cj.witness += ("; central differences disagreed, thrown off by the cost's rounding "
                               "(cancellation) or by kinks closer than their step")
            cj.central = j.numerical
            judged[name] = cj
    except NotHolomorphic as e:
        if any(j.outcome == UNDECIDED for j in judged.values()):
            notes.append(f"no complex-step witness: {e.args[0]} (method='complex' needs an analytic cost)")


def _digits_lost(grads: dict[str, np.ndarray], sides: dict[str, tuple[np.ndarray, np.ndarray]],
                 typical: float) -> float:
    """The largest relative difference between the analytic gradient and the complex step among large
    elements (at least ``1e-3`` of the typical one, off kinks) that stay below ``COMPLEX_WRONG``: the
    digits the cost loses where nothing else shows it (0 when there are none)."""
    kept = [r[r <= COMPLEX_WRONG] for r in _large_differences(grads, sides, typical)]
    return max((float(r.max()) for r in kept if r.size), default=0.0)


def _large_differences(grads: dict[str, np.ndarray], sides: dict[str, tuple[np.ndarray, np.ndarray]],
                       typical: float) -> list[np.ndarray]:
    """Per parameter with any, the relative differences |a - c| / max(|a|, |c|) between the analytic
    gradient and the complex step over its large elements (at least ``1e-3`` of the typical one, off
    kinks)."""
    out = []
    for name, (plus, minus) in sides.items():
        a = grads[name]
        p, m = np.nan_to_num(plus), np.nan_to_num(minus)
        size = np.maximum(np.abs(a), np.abs(p))
        big = ~np.isnan(plus) & (p == m) & (size >= 1e-3 * typical) & (size > 0)
        if big.any():
            out.append(np.abs(a - p)[big] / size[big])
    return out


def _only_zeros(a: np.ndarray, numerical: np.ndarray) -> bool:
    """Whether every sampled element is exactly zero in the analytic and the numerical gradient."""
    sampled = ~np.isnan(numerical)
    return bool(sampled.any()) and not np.any(a[sampled]) and not np.any(numerical[sampled])


def _extended(evaluate: est_.Evaluate, cvalues: dict[str, np.ndarray], grads: dict[str, np.ndarray],
              sides: dict[str, tuple[np.ndarray, np.ndarray]], rel: float, typical: float) -> float | None:
    """The complex step again in extended precision (``np.clongdouble``) for the elements where it
    and the analytic gradient disagree (by more than ``rel``, off kinks; the worst
    ``COMPLEX_EXTENDED_MAX``). Their ``sides`` are replaced in place by the extended values; returns
    the largest relative difference between the two among elements of at least 1e-3 of the
    ``typical`` gradient element (the digits the float64 cost loses there: a saturated log(1 - AL)
    divides by 1 - AL rounded to u / (1 - AL), 2^-11 of that in extended precision), or None when no
    element needs it, NumPy has no extended precision, or the cost does not keep it (its value comes
    back as complex128).

    A saturated course network given without its cache (census 17361): the complex step moves every W
    by 1e-4..2e-3, the extended one agrees with the hand-written backward to 1e-7 (the 1e-4 were the
    cost's); a bug in every layer of a clean network (5116): both steps agree to 1e-15 and the
    gradients are 4e-4..7e-3 off (a bug's)."""
    if not EXTENDED:
        return None
    band: list[tuple[float, str, int]] = []
    for name, (plus, minus) in sides.items():
        a, p = grads[name], np.nan_to_num(plus)
        size = np.maximum(np.abs(a), np.abs(p))
        r = np.abs(a - p) / np.where(size > 0, size, 1.0)
        picked = np.flatnonzero(~np.isnan(plus) & (plus == minus) & (r > rel))
        band += [(float(r.reshape(-1)[i]), name, int(i)) for i in picked]
    if not band:
        return None
    band = sorted(band, reverse=True)[:COMPLEX_EXTENDED_MAX]
    lvalues = {k: v.astype(np.clongdouble) for k, v in cvalues.items()}
    try:
        if not isinstance(evaluate(lvalues), np.clongdouble):
            return None
        worst = 0.0
        for name in dict.fromkeys(name for _, name, _ in band):  # in a fixed order
            idx = np.array([i for _, n, i in band if n == name])
            lp, lm = est_.complex_sides(evaluate, lvalues, name, idx)
            plus, minus = sides[name]
            old = plus.reshape(-1)[idx]
            # relative to elements of some size: one that cancels to near 0 is rounded relative to
            # its terms (the floors below), not to itself
            size = np.maximum(np.abs(lp), np.abs(old))
            big = size >= 1e-3 * typical
            if big.any():
                worst = max(worst, float(np.max(np.abs(old - lp)[big] / size[big])))
            plus.reshape(-1)[idx], minus.reshape(-1)[idx] = lp, lm
    except NotHolomorphic:
        return None
    return worst


def _common_loss(grads: dict[str, np.ndarray], sides: dict[str, tuple[np.ndarray, np.ndarray]],
                 typical: float) -> float:
    """The relative difference from the complex step that most parameters share: the median over the
    parameters compared (at least three) of each one's median over its large elements (at least
    ``1e-3`` of the typical one, off kinks); 0 with fewer parameters, or when it exceeds
    ``COMPLEX_COMMON_CAP``: rounding does not take that many digits unseen, a bug in every layer does
    (a dropped term of the backward, census 17296).

    A cost that loses digits where the check cannot see it (a log(1 - AL) saturated to 1 - AL = 1e-12,
    given without its cache) moves every gradient that flows through it alike, by about u / (1 - AL);
    a bug moves the gradients it touches, rarely most of them by the same small amount (census
    17361: every W 1.2e-4 off, the one planted bug 0.33)."""
    medians = [float(np.median(r)) for r in _large_differences(grads, sides, typical)]
    common = float(np.median(medians)) if len(medians) >= 3 else 0.0
    return common if common <= COMPLEX_COMMON_CAP else 0.0  # more is a bug's (one in every layer)


def _ticking(element_costs: est_.ElementCosts, bar: progress.CheckProgress | None,
             chunk: int = 16384) -> est_.ElementCosts:
    """``element_costs`` called in chunks that advance the progress bar (one tick per element)."""
    if bar is None:
        return element_costs

    def costs(name: str, indices: np.ndarray, steps: np.ndarray):
        parts = []
        for start in range(0, max(len(indices), 1), chunk):
            parts.append(element_costs(name, indices[start:start + chunk], steps[start:start + chunk]))
            bar.advance(len(indices[start:start + chunk]))
        return tuple(np.concatenate([p[k] for p in parts]) for k in range(3))

    return costs


_STABLE = (". A stable formulation decides it: for the course's cost compute it from the logits ZL, "
           "cost = np.mean(np.maximum(ZL, 0) - ZL * Y + np.log1p(np.exp(-np.abs(ZL)))), which never "
           "forms 1 - AL")


def _evidence(name: str, a: np.ndarray, est: est_.Estimate | est_.Projections, j: Judgement) -> Evidence:
    if isinstance(est, est_.Projections):
        pa = np.tensordot(est.directions, a, axes=a.ndim)
        return Evidence(name, pa, j.numerical, j.valid, j.noise)
    return Evidence(name, a, j.numerical, j.valid, j.noise, j.kinks)


def _result(name: str, a: np.ndarray, est: est_.Estimate | est_.Projections, j: Judgement,
            evidence: dict[str, Evidence], elementwise: dict[str, Evidence],
            contexts: Mapping[str, Context] | None, batch_size: int | None, threshold: float,
            complex_ok: bool, noise: noise_.Noise | None) -> ParameterResult:
    ev = evidence[name]
    elementwise_est = isinstance(est, est_.Estimate)
    diff = (relative_difference(ev.analytic[ev.valid], ev.numerical[ev.valid]) if ev.valid.any()
            else float("nan"))
    res = ParameterResult(name, a.shape, j.outcome, diff, analytic=a, checked=int(ev.valid.sum()),
                          kinks=j.kink_count if elementwise_est else 0,
                          numerical=j.numerical if elementwise_est else None, threshold=threshold,
                          noise=j.noise if elementwise_est else None,
                          eps=float(np.max(j.step)) if j.step.size else None, witness=j.witness,
                          central=j.central)
    if j.outcome == UNDECIDED:
        res.hint = ("unchecked: " + j.reason if res.checked == 0 else
                    "undecided: " + j.reason + _what_decides(noise, complex_ok))
    elif j.outcome == WRONG and j.witness.startswith("Taylor"):
        res.pattern = "zero" if not np.any(a) else "mismatch"
        res.factor = 0.0 if res.pattern == "zero" else None
        res.hint = ("the analytic gradient is all zeros, " if res.pattern == "zero" else "") + (
            f"wrong by the {j.witness}; the elementwise numbers are too noisy next to this gradient to name "
            "a pattern or the elements")
    elif j.outcome == WRONG:
        dg = diagnose(ev, elementwise if elementwise_est else {}, context=(contexts or {}).get(name),
                      batch_size=batch_size, threshold=threshold, complex_ok=complex_ok,
                      confirmed=j.confirmed if elementwise_est else None)
        res.pattern, res.factor, res.hint, res.detail = dg.pattern, dg.factor, dg.hint, dg.detail
        if j.witness:
            res.hint += f" ({j.witness})"
        if elementwise_est:
            res.worst = worst_elements(a, j.numerical, ev.valid)
    return res


def _what_decides(noise: noise_.Noise | None, complex_ok: bool) -> str:
    """The reason the numbers cannot tell, and what would decide it."""
    if noise is None:
        return ""
    why = "; " + noise.describe()
    if noise.float32:
        return why + ". Compute the cost in float64 to decide it"
    if noise.cancellation and complex_ok:
        return why + _STABLE
    tries = ["another eps", "a cost without large constant terms"]
    if complex_ok:
        tries.append("method='complex'")
    else:
        tries.append("other inputs (a saturated softmax leaves gradients below what finite differences "
                     "resolve: check where the model is less certain)")
    return why + ". Try " + ", ".join(tries)


def _non_finite(name: str, a: np.ndarray, est: est_.Estimate | est_.Projections) -> ParameterResult:
    """A gradient with NaN or inf elements: wrong whatever the numerical gradient says (NaN
    compares false with everything, inf lies within an infinite error bar), naming the elements."""
    bad = ~np.isfinite(a)
    where = [str(tuple(int(i) for i in idx)) for idx in np.argwhere(bad)[:5]]
    kinds = ", ".join(k for k, m in (("NaN", np.isnan(a)), ("inf", np.isinf(a))) if m.any())
    hint = (f"{int(bad.sum())} of {a.size} elements are non-finite ({kinds}) at {', '.join(where)}"
            f"{', ...' if bad.sum() > 5 else ''}: the backward divided by zero, overflowed, or took the log "
            "or sqrt of a non-positive number")
    n = est.numerical if isinstance(est, est_.Estimate) else None
    worst = [WorstElement(tuple(int(i) for i in idx), float(a[tuple(idx)]),
                          float(n[tuple(idx)]) if n is not None else float("nan"), float("inf"))
             for idx in np.argwhere(bad)[:WORST]]
    return ParameterResult(name, a.shape, WRONG, float("nan"), NON_FINITE, None, hint, worst=worst,
                           analytic=a, numerical=n, checked=int(bad.size))


def _wrong_shape(name: str, a: np.ndarray, shape: tuple[int, ...], estimates: dict,
                 judged: dict[str, Judgement], threshold: float,
                 batch_size: int | None = None) -> ParameterResult:
    est = estimates[name]
    elementwise = isinstance(est, est_.Estimate)
    n = est.numerical if elementwise else np.full(shape, np.nan)
    noise = est.noise if elementwise and est.noise is not None else np.zeros(shape)
    refs = {k: Evidence(k, j.numerical, j.numerical, j.valid, j.noise)
            for k, j in judged.items() if isinstance(estimates[k], est_.Estimate)}
    refs.update({k: Evidence(k, e.numerical, e.numerical, ~np.isnan(e.numerical), e.noise)
                 for k, e in estimates.items() if k not in refs and isinstance(e, est_.Estimate)})
    dg = diagnose_shape(name, a, n, noise, refs, threshold, batch_size)
    return ParameterResult(name, shape, WRONG, float("nan"), dg.pattern, dg.factor, dg.hint, dg.detail,
                           analytic=a, numerical=n if elementwise else None)


def worst_elements(a: np.ndarray, n: np.ndarray, valid: np.ndarray, k: int = WORST) -> list[WorstElement]:
    """The ``k`` valid elements where analytic ``a`` and numerical ``n`` (same shape) differ most."""
    err = np.where(valid, np.abs(a - np.nan_to_num(n)), -1.0)
    order = np.argsort(err, axis=None)[::-1][:k]
    out = []
    for flat in order:
        idx = tuple(int(i) for i in np.unravel_index(int(flat), a.shape))
        if err[idx] <= 0:
            break
        out.append(WorstElement(idx, float(a[idx]), float(n[idx]), float(err[idx])))
    return out


def check_gradients(cost: Callable, params: object, grads: object, *, eps: float | None = None,
                    method: str = "central", threshold: float = DEFAULT_THRESHOLD,
                    sample: int | None = None, rng: np.random.Generator | int | None = 0,
                    directions: int = 4, batch_size: int | None = None,
                    element_costs: est_.ElementCosts | None = None,
                    masks: Mapping[str, Mapping[str, np.ndarray]] | None = None) -> GradientReport:
    """Compare the analytic gradients ``grads`` of ``cost`` at ``params`` with numerical ones.

    Parameters
    ----------
    cost : callable
        ``cost(params_like) -> float`` or ``-> (float, ...)`` (the course's ``(cost, cache)``). It
        receives fresh float64 copies with the structure of ``params``.
    params : dict name -> array, array, or float
        The point to check at; never modified. A single array or number is reported as "theta".
    grads : same structure as ``params``
        The analytic gradients; dict keys may be "W1" or the course's "dW1". Keys matching no
        parameter are not checked and are listed in ``report.notes``: as harmless for the course's
        intermediate "dZ1", "dA1", as a warning for others (a "dW2" with no "W2" in params); a
        gradient of the wrong shape fails with pattern "transposed", "swapped" or "shape".
    eps : float, optional
        Step. Default 1e-6 for "central"/"directional" (a correct float64 gradient then lands
        around 1e-9..1e-10, far below ``threshold``), 1e-20 for "complex". The course's ``eps=1e-7``
        reproduces its numbers. An eps that the cost's measured noise makes meaningless (1e-14 for
        central differences) is replaced by a larger one with a ``StepWarning``; parameters the
        step cannot decide are re-checked at larger steps and with the Taylor remainder test.
    method : {"central", "complex", "directional"}
        "central": (f(θ+ε) - f(θ-ε)) / 2ε per element, with kink detection. "complex": Im f(θ+iε)/ε,
        exact to rounding for costs that accept complex input. "directional": ``directions``
        random unit directions per parameter, 2 cost evaluations each (a fast first look).
    threshold : float
        An element agrees when it differs by at most its measured error bar (the cost's rounding
        noise / eps) plus this much relative to its size (the course's 2e-7).
    sample : int, optional
        Check only this many elements per parameter, drawn with ``rng``.
    batch_size : int, optional
        The m of the cost's 1/m average, so a factor of m or 1/m is named "missing/extra 1/m".
    element_costs : callable, optional
        ``element_costs(name, indices, steps) -> (f_plus, f_minus, crossed)`` replacing the
        per-element loop of central differences (see ``gradcheck.estimate``).
    masks : dict name -> {label: bool array of that parameter's shape}, optional
        Element sets worth naming: a gradient wrong on exactly one of them gets pattern "masked"
        with the label, e.g. ``{"x": {"elements where x <= 0": x <= 0}}`` (``chainrule.torch``
        passes the signs of a function's inputs and outputs).

    Returns
    -------
    GradientReport with ``outcome`` ("correct", "wrong" or "undecided"), ``passed`` (correct),
    ``difference`` (formula 2 over all checked elements), ``failed``, ``undecided``, and per
    parameter ``outcome``, ``difference``, ``pattern``, ``factor``, ``hint``, ``worst``. Elements
    whose difference quotient straddles a kink are re-checked with smaller steps, and left out and
    counted in ``kinks`` when they sit on one, never judged wrong.
    """
    if not callable(cost) or hasattr(cost, "params"):
        raise TypeError(f"cost must be a function params -> float, got {type(cost).__name__} (for a layer "
                        "use check_layer, for a model check_model)")
    check_array_tree(params, "params")
    if not isinstance(params, Mapping):  # with dict params, a list of grads is named as a structure error
        check_array_tree(grads, "grads")
    eps_given = eps is not None
    eps = resolve_options(method, eps, threshold, sample, directions)
    if batch_size is not None:
        check_positive_int(batch_size, "batch_size")
    values, kind, notes = float_values(params, complex_step=method == "complex")
    if not any(v.size for v in values.values()):
        raise ValueError("nothing to check: params has no elements (every array is empty)")
    analytic, ignored = match_grads(grads, values, kind)
    intermediate = [k for k in ignored if re.fullmatch(r"d?[ZA][A-Za-z_]*\d*", k)]
    stray = [k for k in ignored if k not in intermediate]
    if intermediate:
        notes.append(f"grads keys that name no parameter were not checked: {intermediate} (intermediate "
                     "gradients such as the course's dZ1 and dA1 need no check of their own: they are "
                     "right when the parameters' gradients are)")
    if stray:
        notes.append(f"grads keys {stray} match no parameter and were not checked: params has "
                     f"{sorted(values)}. A gradient computed for a parameter that params lacks (a typo, or a "
                     "parameter left out of params?) is a gradient nobody checks")

    raw: list = []

    def evaluate(vals: dict[str, np.ndarray]):
        # Fresh copies: a cost that writes into its argument must not corrupt the next evaluation.
        if kind == "dict":
            arg: object = {k: v.copy() for k, v in vals.items()}
        elif kind == "array":
            arg = vals[SCALAR_NAME].copy()
        else:
            arg = vals[SCALAR_NAME][()]
        if method != "complex":
            out = cost(arg)
        else:
            try:
                with warnings.catch_warnings():
                    # float(z) on a complex number only warns, and silently drops the derivative
                    warnings.simplefilter("error", _ComplexWarning)
                    out = cost(arg)
            except (TypeError, _ComplexWarning) as e:
                raise TypeError(f"method='complex' needs a cost that accepts complex parameters; it "
                                f"raised {type(e).__name__}: {e}. Use method='central'.") from e
        if not raw:
            raw.append(out)
        value = as_cost_value(out, complex_ok=method == "complex")
        if method == "complex" and not isinstance(value, complex):
            raise TypeError("method='complex' needs a cost that carries complex parameters through to "
                            "a complex result; it returned a real number. Use method='central'.")
        return value

    def call_complex(vals: dict[str, np.ndarray]) -> object:
        return cost(vals if kind == "dict" else vals[SCALAR_NAME])

    witness = (watched_cost(call_complex, lambda out: as_cost_value(out, complex_ok=True))
               if method == "central" else None)
    contexts = {k: Context(masks={label: np.asarray(m, dtype=bool) for label, m in sets.items()})
                for k, sets in (masks or {}).items() if k in values}
    checked = run_checks(evaluate, values, analytic, method=method, eps=eps, threshold=threshold,
                         sample=sample, rng=as_rng(rng), directions=directions, batch_size=batch_size,
                         contexts=contexts, notes=notes, element_costs=element_costs, eps_given=eps_given,
                         raw=raw, complex_evaluate=witness)
    outcome = combine([r.outcome for r in checked.results.values()])
    if outcome == CORRECT and not math.isfinite(checked.difference):
        outcome = UNDECIDED
    return GradientReport(outcome, checked.difference, checked.results, method, checked.eps, threshold,
                          notes=notes, sample=sample)
