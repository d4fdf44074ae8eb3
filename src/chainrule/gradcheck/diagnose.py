"""What kind of bug is it? Pattern detection for one failing gradient.

Each pattern is a hypothesis "analytic = T(reference)" that is accepted only when it explains the
data about as well as a correct gradient would, and "mismatch" (with the worst elements) is the
honest answer when no hypothesis does. Patterns are tried from the most specific to the most general:

zero -> swapped -> sign / scaled -> transposed -> missing-mean -> masked -> activation -> mismatch

The evidence must hold beyond the measured noise (the judge's error bar of each numerical element):

* every element within ``FIT`` times its *own* error bar (plus the threshold's relative slack), not
  a norm over all of them: a few noisy elements must not hide the misfit of the precise ones;
* *discriminating* elements, wrong beyond their error bars, that tell the hypothesis apart from a
  correct gradient. Exact zeros on both sides (a dead unit: the cost did not move bit for bit) fit
  every hypothesis and count for none;
* a factor that is a simple number (±k or ±1/k for k <= 10, ±m or ±1/m for the batch size m) needs
  the fitted factor within FIT of its own (least-squares) error bar of it, and one discriminating
  element: an unrelated error lands within the error bar of such a number only by
  a rare coincidence. A larger whole number (a batch size nobody passed) needs the bars to make that
  coincidence rarer than ``COINCIDENCE``. Any other fitted factor needs ``EVIDENCE`` elements spread
  over two rows and two columns of a matrix (the elements of one row of a weight gradient share one
  unit's upstream gradient, those of a column one input: a per-unit or per-example error makes them
  proportional without any factor in the backward);
* elements left out on kinks are claimed by a pattern too, so one discriminating element speaks for
  the gradient only when nothing was left out;
* "swapped" and "transposed" have no free parameter: the values must reappear at the other
  parameter's (or the mirrored) place, both ways for "swapped", on every element checked in both;
* "masked" needs the discriminating elements to be exactly a named set (two of them for a row or
  column, one for a set the layer declares), two informative (nonzero) right elements off it, and a
  mask-like error on it: zero there, or nonzero where the gradient is zero (a layer's own sets may
  also carry a factor). "zero": an analytic gradient within its error bars of zero, and below
  ``NEGLIGIBLE`` of the numerical one, where the numerical one is not zero; "missing-mean": an error
  that is the same along every row (or column) of the gradient, as a missing mean or sum term leaves.

"activation" compares with other activations' derivatives taken at the layer's input x and with
the usual formulas written at its output y (y(1 - y), 1 - y², y, 1 - y) or, by mistake, at its
input x (x(1 - x), 1 - x²); the candidate must fit every element and differ from the numerical
gradient on at least two. A layer check also fails
with "inplace" when the backward wrote into its ``dout`` argument (whatever the values), and a
gradient of the wrong shape gets "transposed", "swapped" or "shape" (``diagnose_shape``), and a
gradient with NaN or inf elements fails with "non-finite" before any hypothesis is tried.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

FIT = 3.0  # a hypothesis may leave at most this many (measured, already conservative) error bars of residual
#: Discriminating elements a fitted factor that is not a simple number needs (see the module docstring).
EVIDENCE = 3
#: A whole-number factor beyond SIMPLE (a batch size) is named when chance would match one this closely
#: at most this often.
COINCIDENCE = 5e-3
#: An analytic gradient this small next to the numerical one (in norm) carries none of it: "zero".
NEGLIGIBLE = 1e-6
#: Factors a backward's slip produces (a stray * 2, / 4, a flipped sign): one element can name these.
SIMPLE = tuple(sorted({-1.0} | {s * k for k in range(2, 11) for s in (1.0, -1.0)}
                      | {s / k for k in range(2, 11) for s in (1.0, -1.0)}))
NON_FINITE = "non-finite"  # NaN or inf elements in the analytic gradient: a failure, never a pass
PATTERNS = ("zero", "swapped", "sign", "scaled", "transposed", "missing-mean", "shape", "masked",
            "activation", "term", "mode", "mismatch", "inplace", NON_FINITE)


@dataclass
class Evidence:
    """One gradient under test. Arrays share the parameter's shape; ``numerical`` is NaN where
    unchecked, ``valid`` marks checked elements that are not kinks, ``noise`` is the error bar,
    ``kinks`` the elements left out on a kink (None: those checked but not valid)."""

    name: str
    analytic: np.ndarray
    numerical: np.ndarray
    valid: np.ndarray
    noise: np.ndarray
    kinks: np.ndarray | None = None


@dataclass
class Context:
    """What a layer check knows beyond the numbers: named element sets (``masks``, e.g. "where the
    input is <= 0") and what the backward would return with another activation's derivative
    (``candidates``, e.g. "sigmoid" -> dout * sigmoid'(x))."""

    masks: dict[str, np.ndarray] = field(default_factory=dict)
    candidates: dict[str, np.ndarray] = field(default_factory=dict)
    hints: dict[str, str] = field(default_factory=dict)  # a candidate's own wording, if not "derivative of"
    # a candidate's pattern when it is not "activation": "term" (a term of the derivative left out),
    # "mode" (the backward of the other train/eval mode); layers declare these (diagnostic_context)
    patterns: dict[str, str] = field(default_factory=dict)


@dataclass
class Diagnosis:
    pattern: str
    factor: float | None
    hint: str
    detail: str | None = None


def element_tolerance(a: np.ndarray, n: np.ndarray, noise: np.ndarray, threshold: float) -> np.ndarray:
    """Per-element allowance |a - n| <= noise + threshold * max(|a|, |n|)."""
    return noise + threshold * np.maximum(np.abs(a), np.abs(np.nan_to_num(n)))


def _fits(a: np.ndarray, ref: np.ndarray, noise: np.ndarray, threshold: float, scale: float = 1.0) -> bool:
    if a.size == 0:
        return False
    residual = np.linalg.norm(a - ref)
    bound = FIT * (abs(scale) * np.linalg.norm(noise)
                   + threshold * (np.linalg.norm(a) + np.linalg.norm(ref)))
    return bool(residual <= bound)


def _allowed(a: np.ndarray, p: np.ndarray, noise: np.ndarray, threshold: float,
             scale: float = 1.0) -> np.ndarray:
    """Per-element allowance for "a = p" where p is ``scale`` times the numerical gradient: FIT error
    bars (the bar scales with the factor) plus the threshold's slack on both values."""
    return FIT * (abs(scale) * noise + threshold * (np.abs(a) + np.abs(p)))


def _fits_each(a: np.ndarray, p: np.ndarray, noise: np.ndarray, threshold: float, scale: float = 1.0) -> bool:
    """Every element of ``a`` within its own allowance of ``p`` (and at least one element)."""
    return a.size > 0 and bool(np.all(np.abs(a - p) <= _allowed(a, p, noise, threshold, scale)))


def _discriminating(a: np.ndarray, n: np.ndarray, noise: np.ndarray, threshold: float) -> np.ndarray:
    """Elements where ``a`` is wrong beyond the error bars: the ones that tell any hypothesis apart from
    a correct gradient (same shape as the arguments)."""
    return np.abs(a - n) > FIT * element_tolerance(a, n, noise, threshold)


def _spread(where: np.ndarray) -> bool:
    """True unless ``where`` (a boolean array) lies within one row or one column of a matrix."""
    if where.ndim != 2 or min(where.shape) == 1:
        return True
    rows, cols = np.nonzero(where)
    return len(set(rows.tolist())) >= 2 and len(set(cols.tolist())) >= 2


def _simple_values(batch_size: int | None) -> list[float]:
    values = list(SIMPLE)
    if batch_size and batch_size > 10:
        values += [batch_size, -batch_size, 1 / batch_size, -1 / batch_size]
    return values


def _factor(ev: Evidence, threshold: float, batch_size: int | None) -> tuple[float, int] | None:
    """The constant factor c with analytic = c x numerical on every checked element, when the evidence
    holds beyond the error bars (see the module docstring): (c, discriminating elements), else None.
    c is estimated by least squares weighted by each element's error bar, then a simple number within
    the bars is preferred to the fitted digits."""
    v = ev.valid
    a, n, noise = ev.analytic[v], ev.numerical[v], ev.noise[v]
    sigma = noise + threshold * np.abs(n)
    use = (sigma > 0) & (n != 0)  # exact zeros (an unchanged cost) say nothing about a factor
    if not use.any():
        return None
    w = 1.0 / sigma[use] ** 2
    c = float(np.sum(w * a[use] * n[use]) / np.sum(w * n[use] ** 2))
    if not np.isfinite(c) or c == 0:
        return None
    wrong = v & _discriminating(ev.analytic, np.nan_to_num(ev.numerical), ev.noise, threshold)
    k = int(wrong.sum())
    if k == 0 or not _covered(ev, k):
        return None
    # the fitted c's own error bar (weighted least squares): a simple number must lie within FIT of
    # them, not merely fit each element (exact numbers with generous bars would round 3.14 to 3)
    spread = FIT / float(np.sqrt(np.sum(w * n[use] ** 2)))
    for simple in sorted(_simple_values(batch_size), key=lambda x: abs(x - c))[:2]:
        near = abs(simple - c) <= spread + threshold * abs(c)
        if near and _fits_each(a, simple * n, noise, threshold, simple):
            return float(simple), k
    whole = _whole_number(ev.analytic[wrong], ev.numerical[wrong], ev.noise[wrong], threshold, c)
    if whole is not None and _fits_each(a, whole * n, noise, threshold, whole):
        return whole, k
    if abs(c - 1) < 1e-3 or not _fits_each(a, c * n, noise, threshold, c):
        return None
    if k >= EVIDENCE and _spread(wrong):
        return c, k
    return None


def _covered(ev: Evidence, k: int) -> bool:
    """Whether ``k`` discriminating elements may speak for the whole gradient although elements on
    kinks were left out (their values are unknown, and a pattern claims them too): a single element
    only when nothing was left out; two or more that agree on one explanation are a pattern of the
    backward, which the elements on kinks follow too. Elements a ``sample`` did not draw are not
    counted: sampling is the caller's choice."""
    left = ev.kinks if ev.kinks is not None else ~ev.valid & ~np.isnan(ev.numerical)
    return k >= 2 or (k == 1 and not np.any(left & ~ev.valid))


def _whole_number(a: np.ndarray, n: np.ndarray, noise: np.ndarray, threshold: float,
                  c: float) -> float | None:
    """The whole number K (or 1/K) nearest a factor c beyond SIMPLE's range, a missing 1/m with m
    unknown, when the discriminating elements pin c down so tightly that landing within the error bar
    of a whole number by chance is below ``COINCIDENCE`` (the chance is twice the window on c, or on
    1/c, since whole numbers are 1 apart)."""
    if 0.1 <= abs(c) <= 10:
        return None
    inverse = abs(c) < 0.1
    K = float(round(1 / c if inverse else c))
    value = 1 / K if inverse else K
    seen = n != 0
    if not seen.any():
        return None
    bars = _allowed(a[seen], value * n[seen], noise[seen], threshold, value)
    window = float(np.min(bars / np.abs(n[seen])))
    if inverse:
        window /= c * c
    return value if 2 * window <= COINCIDENCE else None


def _scale_hint(c: float, batch_size: int | None) -> str:
    if batch_size and batch_size > 1:
        if abs(c / batch_size - 1) < 1e-3:
            return (f"the analytic gradient is {batch_size}x too large, exactly the batch size m = "
                    f"{batch_size}: the 1/m average is missing")
        if abs(c * batch_size - 1) < 1e-3:
            return (f"the analytic gradient is 1/{batch_size} of the true one, the batch size m = "
                    f"{batch_size}: an extra 1/m (the average is taken twice)")
    hint = (f"analytic = {c:.6g} x numerical for every element: a constant factor in the backward "
            f"(look for a stray * {c:.3g} or / {1 / c:.3g})")
    if batch_size is None:  # m unknown: a whole-number factor may still be a batch size
        k = round(c) if c >= 2 else round(1 / c) if 0 < c <= 0.5 else 0
        if k >= 2 and abs(max(c, 1 / c) / k - 1) < 1e-3:
            missing = "missing" if c > 1 else "taken twice"
            hint += (f"; if the cost averages over {k} examples, the 1/m average is {missing} "
                     "(pass batch_size= to confirm)")
    return hint


def _describe_wrong(a: np.ndarray, n: np.ndarray, noise: np.ndarray, threshold: float,
                    mask: bool = True) -> str:
    """How the analytic gradient is wrong on a set of elements; ``mask``: the set is a named mask."""
    return _mask_how(a, n, noise, threshold, mask) or "the values there do not follow the numerical gradient"


def _mask_how(a: np.ndarray, n: np.ndarray, noise: np.ndarray, threshold: float,
              mask: bool = True, factor: bool = True) -> str | None:
    """How the analytic gradient is wrong on a set, when a mask explains it: zero there, or not zero
    where the numerical one is (or, with ``factor``, a constant factor on the set); else None."""
    if np.all(a == 0):
        return "the analytic gradient is zero there"
    if _fits_each(n, np.zeros_like(n), noise, threshold):
        return "the analytic gradient should be zero there but is not" + (" (a mask is not applied)" * mask)
    denom = float(np.dot(n, n))
    if factor and denom > 0:
        c = float(np.dot(a, n) / denom)
        if _fits_each(a, c * n, noise, threshold, c):
            return f"there it is {c:.6g} x the true value"
    return None


def _generic_masks(n: np.ndarray) -> dict[str, np.ndarray]:
    """Sets worth naming without layer context: whole rows or columns of a matrix."""
    masks: dict[str, np.ndarray] = {}
    if n.ndim == 2 and min(n.shape) > 1:
        for axis, what in ((1, "row"), (0, "column")):
            for i in range(n.shape[1 - axis]):
                m = np.zeros(n.shape, bool)
                if axis == 1:
                    m[i, :] = True
                else:
                    m[:, i] = True
                masks[f"{what} {i}"] = m
    return masks


def _masked(ev: Evidence, context: Context | None, threshold: float) -> Diagnosis | None:
    v = ev.valid
    a, n = ev.analytic, np.nan_to_num(ev.numerical)
    wrong = v & _discriminating(a, n, ev.noise, threshold)
    right = v & ~wrong
    # the set must really separate right from wrong: elements on both sides, and right elements that
    # say something (exact zeros on both sides are right under any hypothesis)
    if not wrong.any() or np.count_nonzero(right & (np.abs(n) > FIT * ev.noise)) < 2:
        return None
    declared = dict(context.masks) if context else {}
    masks = {**declared, **{k: m for k, m in _generic_masks(n).items() if k not in declared}}
    for label, mask in masks.items():
        # a set the layer declares means something before the data is seen: one wrong element exactly
        # on it is evidence; a row or column is one of many tried, so it takes two
        if wrong.sum() < (1 if label in declared else 2):
            continue
        if mask.shape == a.shape and np.array_equal(wrong, mask & v):
            # a row or column of a matrix is no mask the code applies: only a zero on it (or a nonzero
            # where the gradient is zero) is the mask-like error; a layer's own sets may carry a factor
            how = _mask_how(a[wrong], n[wrong], ev.noise[wrong], threshold, factor=label in declared)
            if how is None:
                continue
            which = label if label.startswith("elements") else f"elements of {label}"
            return Diagnosis(
                "masked", None,
                f"correct on {int(right.sum())} elements, wrong on the {int(wrong.sum())} {which}: {how}",
                label)
    return None


def diagnose(ev: Evidence, others: dict[str, Evidence], *, context: Context | None = None,
             batch_size: int | None = None, threshold: float, complex_ok: bool = True,
             confirmed: np.ndarray | None = None) -> Diagnosis:
    """Name the bug behind a wrong gradient ``ev`` (see the module docstring for the order).

    ``others``: the other parameters' evidence, for "swapped". ``batch_size``: the m of "missing
    1/m" hints. ``complex_ok`` False: the check has no complex step to suggest. ``confirmed``: the
    elements whose disagreement the judge confirmed, shown when no pattern fits.
    """
    v = ev.valid
    a, n, noise = ev.analytic[v], ev.numerical[v], ev.noise[v]
    if a.size == 0:
        return Diagnosis("mismatch", None, "wrong where checked: " + _confirmed_text(ev, confirmed))
    if (confirmed is None or not confirmed.any()) and _fits(a, n, noise, threshold):
        rerun = "another eps or method='complex'" if complex_ok else "another eps or other inputs"
        return Diagnosis("mismatch", None, "close to the numerical gradient (within 10x the threshold): a "
                         "numerical limit (eps, float32 arithmetic inside the cost) or a real but tiny "
                         f"error; rerun with {rerun}: a numerical limit moves with them, a bug does not")
    informative = int(np.count_nonzero(np.abs(n) > noise))
    if np.all(ev.analytic == 0) and informative:
        return Diagnosis("zero", 0.0, "the analytic gradient is all zeros: it is never written or "
                         "the upstream gradient does not reach it")
    # zero to within the error bars, and negligible next to the true gradient: an analytic gradient a
    # thousand times too small may also hide below a coarse error bar, and that is a factor, not a zero
    if informative and np.all(np.abs(a) <= noise) and not _fits(n, np.zeros_like(n), noise, threshold) \
            and np.linalg.norm(a) <= NEGLIGIBLE * np.linalg.norm(n):
        return Diagnosis("zero", 0.0, f"the analytic gradient is zero to within the error bar (largest "
                         f"|element| {float(np.max(np.abs(a))):.2g}) where the numerical one is not: it is "
                         "never written, or the upstream gradient does not reach it")
    if informative:
        found = _swapped(ev, others, threshold)
        if found:
            return found
    scaled = _factor(ev, threshold, batch_size) if informative else None
    if scaled is not None:
        c, k = scaled
        if c == -1:
            return Diagnosis("sign", -1.0, "analytic = -numerical: the sign is flipped (a minus sign "
                             "missing or extra, e.g. y - a instead of a - y)" + _few(k, ev.analytic.size))
        return Diagnosis("scaled", c, _scale_hint(c, batch_size) + _few(k, ev.analytic.size))
    if ev.analytic.ndim == 2 and ev.analytic.shape[0] == ev.analytic.shape[1] and a.size >= 2:
        # parameter-free: every checked element must find its value at the mirrored place
        at = ev.analytic.T[v]
        if _fits_each(at, n, noise, threshold) and _covered(
                ev, int(np.count_nonzero(_discriminating(a, n, noise, threshold)))):
            return Diagnosis("transposed", None, "the analytic gradient equals the numerical one "
                             "transposed: a transpose too many or too few (x.T @ dout vs dout.T @ x)")
    found = _missing_mean(ev, threshold)
    if found:
        return found
    found = _masked(ev, context, threshold)
    if found:
        return found
    if context:
        for label, cand in context.candidates.items():
            cand = cand[v]
            # the candidate fits every element and differs from a correct gradient on at least two
            if _fits_each(a, cand, noise, threshold) and np.count_nonzero(
                    _discriminating(cand, n, noise, threshold)) >= 2:
                hint = context.hints.get(label, f"the backward uses the derivative of {label} instead of "
                                         "this layer's own activation")
                return Diagnosis(context.patterns.get(label, "activation"), None, hint, label)
    factor = float(a[0] / n[0]) if a.size == 1 and n[0] != 0 else None
    return Diagnosis("mismatch", factor, _mismatch_hint(ev, factor, threshold))


def _few(k: int, size: int) -> str:
    """The evidence behind a factor, when it rests on one or two elements of ``size``."""
    if size == 1:
        return " (one number, this ratio to within its error bar: a simple factor is rarely a coincidence)"
    if k > 2:
        return ""
    return (f" (shown by {k} element{'s' * (k > 1)} beyond the error bars; the others are zero or within "
            "their error bars of any factor)")


def _swapped(ev: Evidence, others: dict[str, Evidence], threshold: float) -> Diagnosis | None:
    """Both directions: this analytic gradient is another parameter's numerical one AND that one's
    analytic gradient is this numerical one, on every element checked in both, with at least one
    element where the two numerical gradients differ beyond their error bars."""
    for other in others.values():
        if other.name == ev.name or other.numerical.shape != ev.analytic.shape:
            continue
        both = ev.valid & other.valid
        if not both.any():
            continue
        mine, theirs = np.nan_to_num(ev.numerical[both]), np.nan_to_num(other.numerical[both])
        differ = np.abs(mine - theirs) > _allowed(mine, theirs, ev.noise[both] + other.noise[both], threshold)
        if differ.any() and _covered(ev, int(differ.sum())) and _covered(other, int(differ.sum())) \
                and _fits_each(ev.analytic[both], theirs, other.noise[both], threshold) \
                and _fits_each(other.analytic[both], mine, ev.noise[both], threshold):
            return Diagnosis("swapped", None, f"the values are the gradient of {other.name!r}: "
                             f"the gradients of {ev.name!r} and {other.name!r} are exchanged", other.name)
    return None


def _missing_mean(ev: Evidence, threshold: float) -> Diagnosis | None:
    """The error a - n is the same along every row (or column, or the whole vector) and not zero: the
    signature of a missing mean or sum term, e.g. the -mean(dout) of a normalization's backward."""
    if not ev.valid.all() or ev.analytic.size < 3:
        return None
    e = ev.analytic - ev.numerical
    shapes = [(None, "every element")]
    if ev.analytic.ndim == 2:
        shapes = [(1, "row"), (0, "column")] + ([] if min(ev.analytic.shape) > 1 else shapes)
    for axis, what in shapes:
        length = ev.analytic.size if axis is None else ev.analytic.shape[axis]
        if length < 3:
            continue
        offset = np.mean(e) if axis is None else np.mean(e, axis=axis, keepdims=True)
        offset = np.broadcast_to(offset, e.shape)
        if _fits_each(e, offset, ev.noise, threshold) and not _fits(offset, np.zeros_like(offset),
                                                                      ev.noise, threshold):
            if axis is None:
                where = f"the same error {float(offset.flat[0]):.4g} on every element"
            else:
                where = f"one constant error per {what} (each {what} of the error is a single number)"
            return Diagnosis("missing-mean", None,
                             f"{where}: a mean or sum term is missing or extra (e.g. the -mean(dout) term "
                             f"of a normalization's backward, or a softmax's -sum(dout * y)), summed over "
                             "each "
                             f"{'vector' if axis is None else what}", what)
    return None


def _confirmed_text(ev: Evidence, confirmed: np.ndarray | None) -> str:
    if confirmed is None or not confirmed.any():
        return "the elements disagree beyond their error bars"
    where = [str(tuple(int(i) for i in idx)) for idx in np.argwhere(confirmed)[:5]]
    return (f"{int(confirmed.sum())} element(s) disagree beyond their error bars at any step: "
            f"{', '.join(where)}")


def _mismatch_hint(ev: Evidence, factor: float | None, threshold: float) -> str:
    """What can be said without a pattern: a lone element's ratio, a cost that ignores the
    parameter, or which few elements are wrong."""
    v = ev.valid
    a, n = ev.analytic, np.nan_to_num(ev.numerical)
    if a[v].size == 1 and factor is not None:
        rest = a.size - 1
        which = "a single element" if not rest else f"a single element checked (the other {rest} on kinks)"
        return (f"{which}, analytic/numerical = {factor:.6g}: one number cannot tell a constant factor "
                "that is not a simple number from any other error" + (
                    ", nor speak for elements left unchecked" if rest else ""))
    if _fits_each(n[v], np.zeros(int(v.sum())), ev.noise[v], threshold):
        return (f"the numerical gradient is zero: the cost does not change with {ev.name!r} here, yet the "
                "analytic gradient is not zero (is it used in the forward pass? is this another "
                "parameter's gradient?)")
    wrong = v & (np.abs(a - n) > FIT * element_tolerance(a, n, ev.noise, threshold))
    k, total = int(wrong.sum()), int(v.sum())
    if 0 < k and (k <= 3 and 2 * k < total or k <= total // 4):
        where = [str(tuple(int(i) for i in idx)) for idx in np.argwhere(wrong)[:5]]
        shown = ", ".join(where) + (", ..." if k > 5 else "")
        how = _describe_wrong(a[wrong], n[wrong], ev.noise[wrong], threshold, mask=False)
        return f"correct on {total - k} elements, wrong on {k}: {shown}; {how}"
    return "no simple pattern explains the difference (the worst elements show where it is largest)"


def diagnose_shape(name: str, analytic: np.ndarray, numerical: np.ndarray, noise: np.ndarray,
                   others: dict[str, Evidence], threshold: float, batch_size: int | None = None) -> Diagnosis:
    """A gradient of the wrong shape: transposed, another parameter's, or just the wrong shape.
    ``batch_size`` (m) names an axis of length m that a parameter's gradient must not have."""
    valid = ~np.isnan(numerical)
    if analytic.shape == numerical.shape[::-1] and analytic.ndim == 2:
        at = analytic.T[valid]
        if _fits_each(at, numerical[valid], noise[valid], threshold):
            return Diagnosis("transposed", None, f"the gradient has shape {analytic.shape} but "
                             f"{name!r} has shape {numerical.shape}; its transpose matches the "
                             "numerical gradient: a transpose too many or too few")
    if analytic.size == numerical.size and _fits_each(analytic.reshape(numerical.shape)[valid],
                                                      numerical[valid], noise[valid], threshold):
        if analytic.ndim < numerical.ndim:
            how = "an axis was dropped (np.sum(..., keepdims=True) forgotten?)"
        elif analytic.ndim > numerical.ndim and all(d == 1 for d in analytic.shape[:-numerical.ndim or None]):
            how = (f"an extra axis of length 1: keepdims=True (e.g. sum(0, keepdims=True) gives "
                   f"{analytic.shape}) where the parameter has shape {numerical.shape}; drop keepdims")
        else:
            how = "the axes differ (a reshape, or a tuple or list around the value?)"
        return Diagnosis("shape", None, f"the values are right but the gradient has shape {analytic.shape}, "
                         f"not {numerical.shape} like {name!r}: {how}")
    for other in others.values():
        if other.name != name and other.numerical.shape == analytic.shape:
            both = other.valid
            if np.count_nonzero(both) >= 1 and _fits_each(analytic[both], other.numerical[both],
                                                     other.noise[both], threshold):
                return Diagnosis("swapped", None, f"the gradient has the shape and the values of "
                                 f"{other.name!r}'s gradient: the two are exchanged", other.name)
    hint = f"the gradient for {name!r} must have shape {numerical.shape}, got {analytic.shape}"
    if batch_size and batch_size in analytic.shape and batch_size not in numerical.shape:
        hint += (f": it keeps an axis of length {batch_size} = the batch size, so it was summed over the "
                 "wrong axis (a parameter's gradient sums over the examples, axis 0 in row layout)")
    return Diagnosis("shape", None, hint)
