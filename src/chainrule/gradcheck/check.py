"""``check_gradients``: compare analytic gradients with numerical ones and name what is wrong.

The engine here is shared by the model and layer checks (``model.py``): it takes a dict of
float64 arrays it owns, a function evaluating the cost at them, and the analytic gradients, and
returns one ``ParameterResult`` per name.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping

import numpy as np

from .._validate import as_rng, check_choice, check_positive_int
from . import numerical as num
from .diagnose import Context, Evidence, diagnose, diagnose_shape, element_tolerance, find_kinks
from .report import GradientReport, ParameterResult, WorstElement

#: The course's threshold for its N-D check ("difference > 2e-7: there is a mistake"). A parameter
#: passes when its relative difference is at most this, or when every element agrees within the
#: numerical error bar (rounding noise of the cost, see ``numerical``), so a correct gradient that
#: is tiny next to the cost is not failed for the limits of finite differences.
DEFAULT_THRESHOLD = 2e-7
SCALAR_NAME = "theta"
_ComplexWarning = getattr(np, "exceptions", np).ComplexWarning
WORST = 5


class PrecisionWarning(UserWarning):
    """Gradients of float32 parameters are checked in float64: finite differences in float32 lose
    about half their digits to rounding."""


def relative_difference(a: np.ndarray, n: np.ndarray) -> float:
    """||a - n|| / (||a|| + ||n||), formula 2 of the course; 0 when both are zero."""
    denom = float(np.linalg.norm(a) + np.linalg.norm(n))
    return float(np.linalg.norm(a - n) / denom) if denom > 0 else 0.0


def as_cost_value(out: object, *, complex_ok: bool = False) -> complex | float:
    """The cost from what ``cost`` returned: a scalar, a one-element array, or a tuple whose first
    element is one (the course's ``forward_propagation_n`` returns ``(cost, cache)``)."""
    value = out[0] if isinstance(out, tuple) and out else out
    arr = np.asarray(value) if isinstance(value, (int, float, complex, np.generic, np.ndarray)) else None
    kinds = "biufc" if complex_ok else "biuf"
    if arr is None or arr.size != 1 or arr.dtype.kind not in kinds or arr.dtype == bool:
        shown = f"a tuple whose first element is {type(value).__name__}" if isinstance(out, tuple) else \
            f"{type(out).__name__}" + (f" of shape {arr.shape}, dtype {arr.dtype}" if arr is not None else "")
        raise TypeError("cost must return a real scalar or a tuple whose first element is the cost "
                        f"(like the course's (cost, cache)); got {shown}")
    scalar = arr.reshape(()).item()
    if not np.isfinite(scalar):
        raise ValueError(f"cost returned a non-finite value ({scalar}) at the parameters checked")
    return scalar


def _float_values(params: object, *, complex_step: bool) -> tuple[dict[str, np.ndarray], str, list[str]]:
    """Own float64 (or complex128) copies of ``params``: kind "dict", "array" or "scalar"."""
    if isinstance(params, Mapping):
        items, kind = dict(params), "dict"
        for k in items:
            if not isinstance(k, str):
                raise TypeError(f"params keys must be str, got {k!r} ({type(k).__name__})")
    elif isinstance(params, (np.ndarray, list, tuple)):
        items, kind = {SCALAR_NAME: params}, "array"
    elif isinstance(params, (int, float, np.number)) and not isinstance(params, bool):
        items, kind = {SCALAR_NAME: params}, "scalar"
    else:
        raise TypeError("params must be a dict name -> array, an array or a real number, "
                        f"got {type(params).__name__}")
    if not items:
        raise ValueError("params is empty: there is nothing to check")
    values, low = {}, []
    for k, v in items.items():
        label = f"params[{k!r}]" if kind == "dict" else "params"
        arr = np.asarray(v)
        if arr.dtype.kind not in "biuf" or arr.dtype == bool:
            raise TypeError(f"{label} must be a real numeric array, got dtype {arr.dtype}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{label} contains non-finite values (NaN or inf)")
        if arr.dtype.kind == "f" and arr.dtype.itemsize < 8:
            low.append(k)
        values[k] = np.array(arr, dtype=np.complex128 if complex_step else np.float64)
    notes = []
    if low:
        msg = (f"parameters {low} are {items[low[0]].dtype}: checking in float64, where finite "
               "differences keep about twice the digits")
        warnings.warn(msg, PrecisionWarning, stacklevel=3)
        notes.append(msg)
    return values, kind, notes


def _match_grads(grads: object, values: dict[str, np.ndarray],
                 kind: str) -> tuple[dict[str, np.ndarray], list[str]]:
    """The analytic gradient for each parameter, accepting the course's "dW1" keys."""
    if kind != "dict":
        if isinstance(grads, Mapping):
            raise TypeError("grads must have the structure of params (an array or a number), got a dict")
        found = {SCALAR_NAME: grads}
        ignored: list[str] = []
    else:
        if not isinstance(grads, Mapping):
            raise TypeError(f"grads must be a dict like params, got {type(grads).__name__}")
        found, missing = {}, []
        for k in values:
            keys = [key for key in (k, f"d{k}") if key in grads]
            if len(keys) == 2:
                raise ValueError(f"grads has both {k!r} and {'d' + k!r}: which one is the gradient of {k!r}?")
            if keys:
                found[k] = grads[keys[0]]
            else:
                missing.append(k)
        if missing:
            raise ValueError(f"grads is missing the gradients of {missing} (looked for 'name' or 'dname'); "
                             f"grads has keys {sorted(map(str, grads))}")
        used = {k for k in values if k in grads} | {f"d{k}" for k in values if f"d{k}" in grads}
        ignored = sorted(str(k) for k in grads if k not in used)
    out = {}
    for k, g in found.items():
        label = f"grads[{k!r}]" if kind == "dict" else "grads"
        arr = np.asarray(g)
        if arr.dtype.kind not in "biuf" or arr.dtype == bool:
            raise TypeError(f"{label} must be a real numeric array, got dtype {arr.dtype}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{label} contains non-finite values (NaN or inf): the backward overflowed "
                             "or divided by zero")
        out[k] = arr.astype(np.float64)
    return out, ignored


def run_checks(evaluate: num.Evaluate, values: dict[str, np.ndarray], grads: dict[str, np.ndarray], *,
               method: str, eps: float, threshold: float, sample: int | None, rng: np.random.Generator,
               directions: int = 4, batch_size: int | None = None,
               contexts: Mapping[str, Context] | None = None,
               kink_masks: Mapping[str, np.ndarray] | None = None,
               probe: Callable[[], bytes] | None = None) -> tuple[dict[str, ParameterResult], float]:
    """Check every name of ``values`` against ``grads``; returns the results and the overall
    difference (formula 2 over every checked, non-kink element of correctly shaped gradients).

    ``values`` is perturbed in place and restored. ``contexts`` and ``kink_masks`` (name -> array
    of the parameter's shape) carry what a layer check knows about its input; ``probe`` reports the
    kink state after each evaluation (see ``numerical.central``).
    """
    estimates = _estimate(evaluate, values, method=method, eps=eps, sample=sample, rng=rng,
                          directions=directions, probe=probe)
    evidence, kinks = _evidence(estimates, values, grads, threshold, kink_masks or {})
    elementwise = {k: e for k, e in evidence.items() if isinstance(estimates[k], num.Estimate)}
    results: dict[str, ParameterResult] = {}
    for name, est in estimates.items():
        if name not in evidence:
            results[name] = _wrong_shape(name, grads[name], values[name].shape, estimates, threshold)
            continue
        ev = evidence[name]
        av, nv = ev.analytic[ev.valid], ev.numerical[ev.valid]
        diff = relative_difference(av, nv)
        within = np.abs(av - nv) <= element_tolerance(av, nv, ev.noise[ev.valid], threshold)
        elementwise_est = isinstance(est, num.Estimate)
        res = ParameterResult(name, values[name].shape, bool(diff <= threshold or within.all()), diff,
                              analytic=grads[name], checked=int(ev.valid.sum()),
                              kinks=int(kinks[name].sum()) if name in kinks else 0,
                              numerical=est.numerical if elementwise_est else None)
        if not res.passed:
            dg = diagnose(ev, elementwise if elementwise_est else {}, context=(contexts or {}).get(name),
                          batch_size=batch_size, threshold=threshold)
            res.pattern, res.factor, res.hint, res.detail = dg.pattern, dg.factor, dg.hint, dg.detail
            if elementwise_est:
                res.worst = worst_elements(grads[name], est.numerical, ev.valid)
        results[name] = res
    if not evidence:
        return results, float("nan")
    overall = relative_difference(np.concatenate([e.analytic[e.valid] for e in evidence.values()]),
                                  np.concatenate([e.numerical[e.valid] for e in evidence.values()]))
    return results, overall


def _estimate(evaluate: num.Evaluate, values: dict[str, np.ndarray], *, method: str, eps: float,
              sample: int | None, rng: np.random.Generator, directions: int,
              probe: Callable[[], bytes] | None) -> dict[str, num.Estimate | num.Projections]:
    f0 = as_cost_value(evaluate(values), complex_ok=method == "complex").real
    state0 = probe() if probe is not None else None
    estimates: dict[str, num.Estimate | num.Projections] = {}
    for name, arr in values.items():
        if method == "directional":
            estimates[name] = num.directional(evaluate, values, name, directions, eps, f0, rng)
            continue
        idx = num.sample_indices(arr.size, sample, rng)
        if method == "complex":
            estimates[name] = num.complex_step(evaluate, values, name, idx, eps)
        else:
            estimates[name] = num.central(evaluate, values, name, idx, eps, f0, probe, state0)
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


def _wrong_shape(name: str, a: np.ndarray, shape: tuple[int, ...], estimates: dict,
                 threshold: float) -> ParameterResult:
    est = estimates[name]
    elementwise = isinstance(est, num.Estimate)
    n = est.numerical if elementwise else np.full(shape, np.nan)
    noise = est.noise if elementwise else np.zeros(shape)
    refs = {k: Evidence(k, e.numerical, e.numerical, ~np.isnan(e.numerical), e.noise)
            for k, e in estimates.items() if isinstance(e, num.Estimate)}
    dg = diagnose_shape(name, a, n, noise, refs, threshold)
    return ParameterResult(name, shape, False, float("nan"), dg.pattern, dg.factor, dg.hint, dg.detail,
                           analytic=a, numerical=n if elementwise else None)


def worst_elements(a: np.ndarray, n: np.ndarray, valid: np.ndarray, k: int = WORST) -> list[WorstElement]:
    err = np.where(valid, np.abs(a - np.nan_to_num(n)), -1.0)
    order = np.argsort(err, axis=None)[::-1][:k]
    out = []
    for flat in order:
        idx = tuple(int(i) for i in np.unravel_index(int(flat), a.shape))
        if err[idx] <= 0:
            break
        out.append(WorstElement(idx, float(a[idx]), float(n[idx]), float(err[idx])))
    return out


def resolve_options(method: str, eps: float | None, threshold: float, sample: int | None,
                    directions: int) -> float:
    """Validate the shared options; returns the step ``eps`` to use."""
    check_choice(method, num.METHODS, "method")
    if eps is None:
        eps = num.DEFAULT_EPS[method]
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not (0 < eps < 1):
        raise ValueError(f"eps must be a number in (0, 1), got {eps!r}")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not (0 < threshold < 1):
        raise ValueError(f"threshold must be a number in (0, 1), got {threshold!r}")
    if sample is not None:
        check_positive_int(sample, "sample")
    check_positive_int(directions, "directions")
    return float(eps)


def check_gradients(cost: Callable, params: object, grads: object, *, eps: float | None = None,
                    method: str = "central", threshold: float = DEFAULT_THRESHOLD,
                    sample: int | None = None, rng: np.random.Generator | int | None = 0,
                    directions: int = 4, batch_size: int | None = None) -> GradientReport:
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
        parameter (the course's "dZ1", "dA1") are ignored and listed in ``report.notes``; a
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

    Returns
    -------
    GradientReport with ``passed``, ``difference`` (formula 2 over all checked elements),
    ``failed``, and per parameter ``difference``, ``pattern``, ``factor``, ``hint``, ``worst``.
    Elements whose difference quotient straddles a kink are excluded and counted in ``kinks``.
    """
    if not callable(cost):
        raise TypeError(f"cost must be callable, got {type(cost).__name__}")
    eps = resolve_options(method, eps, threshold, sample, directions)
    if batch_size is not None:
        check_positive_int(batch_size, "batch_size")
    values, kind, notes = _float_values(params, complex_step=method == "complex")
    analytic, ignored = _match_grads(grads, values, kind)
    if ignored:
        notes.append(f"ignored grads keys that name no parameter: {ignored}")

    def evaluate(vals: dict[str, np.ndarray]):
        if kind == "dict":
            arg: object = dict(vals)
        elif kind == "array":
            arg = vals[SCALAR_NAME]
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

    results, overall = run_checks(evaluate, values, analytic, method=method, eps=eps, threshold=threshold,
                                  sample=sample, rng=as_rng(rng), directions=directions,
                                  batch_size=batch_size)
    passed = all(r.passed for r in results.values())
    return GradientReport(passed, overall, results, method, eps, threshold, notes=notes)
