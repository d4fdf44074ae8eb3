"""``check_gradients``: compare analytic gradients with numerical ones and name what is wrong.

The engine here is shared by the model and layer checks (``model.py``): it takes a dict of
float64 arrays it owns, a function evaluating the cost at them, and the analytic gradients, and
returns one ``ParameterResult`` per name.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Mapping

import numpy as np

from .._validate import as_float_array, as_rng, check_array_tree, check_positive_int
from . import numerical as num
from . import progress
from .diagnose import NON_FINITE, Context, Evidence, diagnose, diagnose_shape, element_tolerance, find_kinks
from .inputs import SCALAR_NAME, PrecisionWarning, as_cost_value, float_values, match_grads, resolve_options
from .report import GradientReport, ParameterResult, WorstElement

__all__ = ["DEFAULT_THRESHOLD", "PrecisionWarning", "check_gradients", "relative_difference", "run_checks"]

#: The course's threshold for its N-D check ("difference > 2e-7: there is a mistake"). A parameter
#: passes when its relative difference is at most this, or when every element agrees within the
#: numerical error bar (rounding noise of the cost, see ``numerical``), so a correct gradient that
#: is tiny next to the cost is not failed for the limits of finite differences.
DEFAULT_THRESHOLD = 2e-7
_ComplexWarning = getattr(np, "exceptions", np).ComplexWarning
WORST = 5
# A gradient that passes only within its error bar is "unresolved" when the error bar exceeds this
# fraction of the gradient: a bug of that relative size could hide in it. Correct networks sit near
# 1e-3 at most (measured on the 200 random networks of the tests).
UNRESOLVED = 0.1


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


def run_checks(evaluate: num.Evaluate, values: dict[str, np.ndarray], grads: dict[str, np.ndarray], *,
               method: str, eps: float, threshold: float, sample: int | None, rng: np.random.Generator,
               directions: int = 4, batch_size: int | None = None,
               contexts: Mapping[str, Context] | None = None,
               kink_masks: Mapping[str, np.ndarray] | None = None,
               probe: Callable[[], bytes] | None = None,
               notes: list[str] | None = None, scale: float = 0.0,
               complex_ok: bool = True, element_costs: num.ElementCosts | None = None
               ) -> tuple[dict[str, ParameterResult], float]:
    """Check every name of ``values`` against ``grads``; returns the results and the overall
    difference: formula 2 over every checked, non-kink element, or NaN when a gradient has the
    wrong shape (a difference over the others alone would look like a pass) or no element at all
    could be checked.

    ``values`` is perturbed in place and restored. ``contexts`` and ``kink_masks`` (name -> array
    of the parameter's shape) carry what a layer check knows about its input; ``probe`` reports the
    kink state after each evaluation (see ``numerical.central``). Findings about the check itself
    (a cost computed in float32) are appended to ``notes``. ``scale`` is the size of the cost's
    largest terms (``numerical.noise_scale``), which widens the error bars of a cost far smaller than
    what it is computed from; ``complex_ok`` False keeps hints from suggesting method='complex'.
    ``element_costs`` (``gradcheck.batched``), if given, supplies the perturbed costs of the central
    differences for every name of ``values`` in batches instead of one ``evaluate`` per element.
    """
    estimates = _estimate(evaluate, values, method=method, eps=eps, sample=sample, rng=rng,
                          directions=directions, probe=probe, notes=notes, scale=scale,
                          element_costs=element_costs)
    evidence, kinks = _evidence(estimates, values, grads, threshold, kink_masks or {})
    elementwise = {k: e for k, e in evidence.items() if isinstance(estimates[k], num.Estimate)}
    results: dict[str, ParameterResult] = {}
    for name, est in estimates.items():
        if name not in evidence:
            results[name] = _wrong_shape(name, grads[name], values[name].shape, estimates, threshold,
                                         batch_size)
            continue
        if not np.all(np.isfinite(grads[name])):
            results[name] = _non_finite(name, grads[name], est)
            continue
        ev = evidence[name]
        av, nv = ev.analytic[ev.valid], ev.numerical[ev.valid]
        diff = relative_difference(av, nv)
        within = np.abs(av - nv) <= element_tolerance(av, nv, ev.noise[ev.valid], threshold)
        elementwise_est = isinstance(est, num.Estimate)
        res = ParameterResult(name, values[name].shape, bool(diff <= threshold or within.all()), diff,
                              analytic=grads[name], checked=int(ev.valid.sum()),
                              kinks=int(kinks[name].sum()) if name in kinks else 0,
                              numerical=est.numerical if elementwise_est else None, threshold=threshold)
        if res.checked == 0:
            res.difference, res.resolved = float("nan"), False
            res.hint = ("unchecked: every element sat on a kink (e.g. a ReLU input within eps of 0), where "
                        "central differences cannot check it; check at other inputs" if res.kinks else
                        "unchecked: no element could be checked")
        elif res.passed and diff > threshold:
            res.resolved, res.hint = _resolution(av, nv, ev.noise[ev.valid], eps, complex_ok)
        if not res.passed:
            dg = diagnose(ev, elementwise if elementwise_est else {}, context=(contexts or {}).get(name),
                          batch_size=batch_size, threshold=threshold, complex_ok=complex_ok)
            res.pattern, res.factor, res.hint, res.detail = dg.pattern, dg.factor, dg.hint, dg.detail
            if elementwise_est:
                res.worst = worst_elements(grads[name], est.numerical, ev.valid)
        results[name] = res
    if (len(evidence) < len(estimates) or not any(e.valid.any() for e in evidence.values())
            or any(r.pattern == NON_FINITE for r in results.values())):
        return results, float("nan")
    overall = relative_difference(np.concatenate([e.analytic[e.valid] for e in evidence.values()]),
                                  np.concatenate([e.numerical[e.valid] for e in evidence.values()]))
    return results, overall


def _estimate(evaluate: num.Evaluate, values: dict[str, np.ndarray], *, method: str, eps: float,
              sample: int | None, rng: np.random.Generator, directions: int,
              probe: Callable[[], bytes] | None, notes: list[str] | None, scale: float = 0.0,
              element_costs: num.ElementCosts | None = None) -> dict[str, num.Estimate | num.Projections]:
    """The numerical estimate of every parameter; the cost values seen tell whether it computes in
    float32, in which case the error bars are widened."""
    costs: list[float] = []
    bar = progress.current()
    per_evaluation = 0.5 if method == "central" else 1.0 if method == "complex" else 0.0

    def recorded(vals: dict[str, np.ndarray]) -> complex:
        value = evaluate(vals)
        costs.append(complex(value).real)
        if bar is not None and per_evaluation:
            bar.advance(per_evaluation)
        return value

    f0 = as_cost_value(recorded(values), complex_ok=method == "complex").real
    state0 = probe() if probe is not None else None
    estimates: dict[str, num.Estimate | num.Projections] = {}
    for name, arr in values.items():
        if method == "directional":
            estimates[name] = num.directional(recorded, values, name, directions, eps, f0, rng, scale)
            continue
        idx = num.sample_indices(arr.size, sample, rng)
        if method == "complex":
            estimates[name] = num.complex_step(recorded, values, name, idx, eps)
        elif element_costs is not None:
            tick = bar.advance if bar is not None else None
            estimates[name], seen = num.central_from_costs(element_costs, arr.shape, name, idx, eps, f0,
                                                           scale, tick=tick)
            costs.extend(seen.tolist())
        else:
            estimates[name] = num.central(recorded, values, name, idx, eps, f0, probe, state0, scale)
    if method != "complex" and num.rounded_to_float32(costs):
        for est in estimates.values():
            est.noise = est.noise * (num.U32 / num.U)
        if notes is not None:
            notes.append("every cost value is a float32 number: the cost computes in float32, so its "
                         "numerical gradient is only good to about 1e-7 * |cost| / eps; the error bars "
                         "are widened to match. For a sharp check compute the cost in float64.")
    return estimates


def _evidence(estimates: dict, values: dict[str, np.ndarray], grads: dict[str, np.ndarray], threshold: float,
              kink_masks: Mapping[str, np.ndarray]) -> tuple[dict[str, Evidence], dict[str, np.ndarray]]:
    """Evidence for every correctly shaped gradient (projections for the directional method), and
    the kinks found among its elements."""
    evidence: dict[str, Evidence] = {}
    kinks: dict[str, np.ndarray] = {}
    for name, est in estimates.items():
        a = grads[name]
        if a.shape != values[name].shape:
            continue
        if isinstance(est, num.Projections):
            pa = np.tensordot(est.directions, a, axes=a.ndim)
            evidence[name] = Evidence(name, pa, est.numerical, np.ones(pa.shape, bool), est.noise)
            continue
        k = find_kinks(a, est.numerical, est.noise, est.jump, threshold)
        if name in kink_masks:
            k |= kink_masks[name] & ~np.isnan(est.numerical)
        if est.crossed is not None:
            k |= est.crossed
        kinks[name] = k
        evidence[name] = Evidence(name, a, est.numerical, ~np.isnan(est.numerical) & ~k, est.noise)
    return evidence, kinks


def _resolution(a: np.ndarray, n: np.ndarray, noise: np.ndarray, eps: float,
                complex_ok: bool = True) -> tuple[bool, str]:
    """For a gradient that passed only because every element lies within its error bar: can the
    check see a bug at all? Not when the error bar is a sizeable part of the gradient itself."""
    ratio = float(np.linalg.norm(noise) / max(np.linalg.norm(a), np.linalg.norm(n), np.finfo(float).tiny))
    if not np.any(a) or ratio <= UNRESOLVED:
        return True, ""
    return False, (f"unresolved: the numerical gradient's rounding noise is {ratio:.2g} x this gradient "
                   f"(eps = {eps:g}), so a bug that size would go unseen; "
                   + ("try a larger eps, a cost without large constant terms, float64 inside the cost, or "
                      "method='complex'" if complex_ok else
                      "try a larger eps or other inputs (a saturated softmax leaves gradients below what "
                      "finite differences resolve: check where the model is less certain)"))


def _non_finite(name: str, a: np.ndarray, est: num.Estimate | num.Projections) -> ParameterResult:
    """A gradient with NaN or inf elements: a failure whatever the numerical gradient says (NaN
    compares false with everything, inf lies within an infinite error bar), naming the elements."""
    bad = ~np.isfinite(a)
    where = [str(tuple(int(i) for i in idx)) for idx in np.argwhere(bad)[:5]]
    kinds = ", ".join(k for k, m in (("NaN", np.isnan(a)), ("inf", np.isinf(a))) if m.any())
    hint = (f"{int(bad.sum())} of {a.size} elements are non-finite ({kinds}) at {', '.join(where)}"
            f"{', ...' if bad.sum() > 5 else ''}: the backward divided by zero, overflowed, or took the log "
            "or sqrt of a non-positive number")
    n = est.numerical if isinstance(est, num.Estimate) else None
    worst = [WorstElement(tuple(int(i) for i in idx), float(a[tuple(idx)]),
                          float(n[tuple(idx)]) if n is not None else float("nan"), float("inf"))
             for idx in np.argwhere(bad)[:WORST]]
    return ParameterResult(name, a.shape, False, float("nan"), NON_FINITE, None, hint, worst=worst,
                           analytic=a, numerical=n, checked=int(bad.size))


def _wrong_shape(name: str, a: np.ndarray, shape: tuple[int, ...], estimates: dict,
                 threshold: float, batch_size: int | None = None) -> ParameterResult:
    est = estimates[name]
    elementwise = isinstance(est, num.Estimate)
    n = est.numerical if elementwise else np.full(shape, np.nan)
    noise = est.noise if elementwise else np.zeros(shape)
    refs = {k: Evidence(k, e.numerical, e.numerical, ~np.isnan(e.numerical), e.noise)
            for k, e in estimates.items() if isinstance(e, num.Estimate)}
    dg = diagnose_shape(name, a, n, noise, refs, threshold, batch_size)
    return ParameterResult(name, shape, False, float("nan"), dg.pattern, dg.factor, dg.hint, dg.detail,
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
        around 1e-9..1e-10, far below ``threshold``; see ``numerical``), 1e-20 for "complex". The
        course's ``eps=1e-7`` reproduces its numbers.
    method : {"central", "complex", "directional"}
        "central": (f(θ+ε) - f(θ-ε)) / 2ε per element, with kink detection. "complex": Im f(θ+iε)/ε,
        exact to rounding for costs that accept complex input. "directional": ``directions``
        random unit directions per parameter, 2 cost evaluations each (a fast first look).
    threshold : float
        A parameter passes when its relative difference is at most this (the course's 2e-7), or
        when every element agrees within its numerical error bar.
    sample : int, optional
        Check only this many elements per parameter, drawn with ``rng``.
    batch_size : int, optional
        The m of the cost's 1/m average, so a factor of m or 1/m is named "missing/extra 1/m".
    masks : dict name -> {label: bool array of that parameter's shape}, optional
        Element sets worth naming: a gradient wrong on exactly one of them gets pattern "masked"
        with the label, e.g. ``{"x": {"elements where x <= 0": x <= 0}}`` (``chainrule.torch``
        passes the signs of a function's inputs and outputs).

    Returns
    -------
    GradientReport with ``passed``, ``difference`` (formula 2 over all checked elements),
    ``failed``, and per parameter ``difference``, ``pattern``, ``factor``, ``hint``, ``worst``.
    Elements whose difference quotient straddles a kink are excluded and counted in ``kinks``.
    """
    if not callable(cost) or hasattr(cost, "params"):
        raise TypeError(f"cost must be a function params -> float, got {type(cost).__name__} (for a layer "
                        "use check_layer, for a model check_model)")
    check_array_tree(params, "params")
    if not isinstance(params, Mapping):  # with dict params, a list of grads is named as a structure error
        check_array_tree(grads, "grads")
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
        value = as_cost_value(out, complex_ok=method == "complex")
        if method == "complex" and not isinstance(value, complex):
            raise TypeError("method='complex' needs a cost that carries complex parameters through to "
                            "a complex result; it returned a real number. Use method='central'.")
        return value

    contexts = {k: Context(masks={label: np.asarray(m, dtype=bool) for label, m in sets.items()})
                for k, sets in (masks or {}).items() if k in values}
    results, overall = run_checks(evaluate, values, analytic, method=method, eps=eps, threshold=threshold,
                                  sample=sample, rng=as_rng(rng), directions=directions,
                                  batch_size=batch_size, contexts=contexts, notes=notes)
    passed = all(r.passed for r in results.values()) and math.isfinite(overall)
    return GradientReport(passed, overall, results, method, eps, threshold, notes=notes, sample=sample)
