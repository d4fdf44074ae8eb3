"""Step 2 of a check: measure the cost's rounding noise at the checked point, rather than assume it.

A finite difference ``(f(θ+h) - f(θ-h)) / 2h`` carries the error of each cost evaluation divided by
h. That error is not a fixed number of ulps of |f|: a cost computed in float32 rounds to 1e-7, a
saturated ``log(1 - AL)`` (AL within 1e-10 of 1) is a staircase of steps of 1e-16 / (1 - AL), a
confident softmax cancels two large terms. So it is measured, with Moré & Wild's ECnoise ("Estimating
computational noise", SIAM J. Sci. Comput. 33, 2011): the cost at seven equally spaced points along a
random direction, whose difference table of order j, scaled by ``γ_j = (j!)² / (2j)!``, levels off at
the noise's standard deviation once the smooth part has been differenced away. Two one-sided tables
(θ itself is not on them: a kink exactly at θ, as behind a dead ReLU layer, does not pollute them) in
three random directions; the median level is kept, since a kink crossed by one table inflates it.

The result is an error bar per evaluation, ``Noise.per_eval``: ``SIGMAS`` standard deviations of the
measured noise, and never less than ``FLOOR_ULPS`` ulps of the cost's largest terms. ``check_step``
refuses (replaces, with a warning) a step that the noise makes meaningless.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .estimate import Evaluate

U = float(np.finfo(np.float64).eps)
U32 = float(np.finfo(np.float32).eps)
#: The error bar per evaluation, in standard deviations of the measured noise.
SIGMAS = 10.0
#: The least error per evaluation assumed, in ulps of the cost's largest terms: what a long chain of
#: sums, exps and logs loses when the measurement sees nothing (a cost exactly linear along its
#: directions, or a difference table too short to level off).
FLOOR_ULPS = 100.0
#: Noise above this many ulps of |f| (in float64 arithmetic) is cancellation inside the cost.
CANCELLATION_ULPS = 1e4
#: A step whose noise bar exceeds this fraction of the typical gradient element is meaningless: it
#: cannot resolve a typical gradient at all (the resolution the judge asks of a decided gradient).
MEANINGLESS = 0.1
POINTS = 7
DIRECTIONS = 3


@dataclass
class Noise:
    """The cost's measured rounding noise at θ.

    ``sigma``: standard deviation of one evaluation's error (0 when the difference table saw none);
    ``floor``: the least error assumed per evaluation; ``slope``: the typical gradient element seen
    along the random directions (RMS of ∇f, as E[(∇f·p)²] = |∇f|²/n for a unit p); ``float32``: the
    cost computes in float32; ``f0``: the cost at θ."""

    sigma: float
    floor: float
    slope: float
    f0: float
    float32: bool = False
    detected: bool = True
    scale: float = 0.0
    staircase: float = 0.0  # rounding of a saturated log(1 - AL) per evaluation (``staircase``)
    saturation: float = 1.0  # the smallest 1 - AL seen (1: none)

    @property
    def per_eval(self) -> float:
        """The error bar of one cost evaluation."""
        return max(SIGMAS * self.sigma, self.floor, self.staircase)

    def bar(self, step: np.ndarray | float) -> np.ndarray:
        """Error bar of a central difference with ``step``: |e+ - e-| / 2h <= per_eval / h."""
        return self.per_eval / np.asarray(step, dtype=np.float64)

    @property
    def cancellation(self) -> bool:
        """The noise is far above the cost's own rounding: digits are lost to cancellation inside it."""
        return self.staircase > 0 or (not self.float32 and self.detected
                and self.sigma > CANCELLATION_ULPS * U * max(abs(self.f0), self.scale, np.finfo(float).tiny))

    def describe(self) -> str:
        """The noise in words, for notes and hints."""
        rel = self.sigma / abs(self.f0) if self.f0 else float("nan")
        text = f"the cost's measured rounding noise is {self.sigma:.2g}"
        if math.isfinite(rel) and self.sigma:
            text += f" ({rel:.2g} of |cost|)"
        if self.staircase:
            text = (f"the cost's sigmoid output AL comes within {self.saturation:.2g} of 1, where 1 - AL "
                    f"holds a few ulps: log(1 - AL) is a staircase whose steps (about {self.staircase:.2g} "
                    "in the cost) finite differences cannot see through")
        elif self.float32:
            text += ": the cost computes in float32"
        elif self.cancellation:
            text += (": far above float64 rounding, so the cost loses digits to cancellation (a saturated "
                     "log(1 - AL) with AL within 1e-8 of 1, a confident softmax, large constant terms)")
        return text


def ecnoise(fvals: np.ndarray) -> tuple[float, str]:
    """Moré & Wild's noise level from costs at equally spaced points: (sigma, "ok"), or (0,
    "too small") when the values barely change (the step is below the noise's grain), or (0,
    "too large") when the smooth part still dominates every difference order."""
    f = np.asarray(fvals, dtype=np.float64)
    n = f.size
    levels, signs = np.zeros(n - 1), np.zeros(n - 1, bool)
    d, gamma = f.copy(), 1.0
    for j in range(1, n):
        d = np.diff(d)
        gamma *= j / (2.0 * (2 * j - 1))  # (j!)² / (2j)!
        levels[j - 1] = math.sqrt(gamma * float(np.mean(d * d)))
        signs[j - 1] = bool(d.min() < 0 < d.max())
    for k in range(n - 3):
        lo, hi = levels[k:k + 3].min(), levels[k:k + 3].max()
        if lo > 0 and hi <= 4 * lo and signs[k]:
            return float(levels[k]), "ok"
    if np.unique(f).size <= n // 2:
        return 0.0, "too small"
    return 0.0, "too large"


def measure(evaluate: Evaluate, values: dict[str, np.ndarray], f0: float, rng: np.random.Generator, *,
            scale: float = 0.0, float32: bool = False, spacing: float = 1e-6) -> Noise:
    """Measure the noise of ``evaluate`` at ``values`` (perturbed in place, restored exactly).

    ``scale`` is the size of the cost's largest terms (``noise_scale``; 0: |f0|), which sets the floor.
    ``spacing`` is the first spacing of the tables: the check's own step, since the noise that matters
    is the one seen at that scale (a saturated log(1 - AL) is a staircase whose steps a much finer
    table would not meet).
    """
    names = [k for k, v in values.items() if v.size]
    originals = {k: values[k].copy() for k in names}
    size = sum(originals[k].size for k in names)
    theta = np.sqrt(sum(float(np.sum(np.abs(originals[k]) ** 2)) for k in names) / max(size, 1))
    found: list[float] = []
    slopes: list[float] = []
    try:
        for j in range(DIRECTIONS):
            p = {k: rng.standard_normal(originals[k].shape) for k in names}
            norm = math.sqrt(sum(float(np.sum(v * v)) for v in p.values())) or 1.0
            sign = 1.0 if j % 2 == 0 else -1.0
            h = spacing * max(1.0, float(theta))
            for _ in range(3):
                fv = np.empty(POINTS)
                for i in range(POINTS):
                    t = sign * h * (i + 1) / norm
                    for k in names:
                        values[k][...] = originals[k] + t * p[k]
                    fv[i] = float(evaluate(values).real)
                sigma, status = ecnoise(fv)
                if status == "ok":
                    found.append(sigma)
                    slopes.append(abs(fv[-1] - fv[0]) / (h * (POINTS - 1)))
                    break
                h = h * 100 if status == "too small" else h / 100
            else:
                slopes.append(abs(fv[-1] - fv[0]) / (h * (POINTS - 1)))
    finally:
        for k in names:
            values[k][...] = originals[k]
    unit = U32 if float32 else U
    floor = FLOOR_ULPS * unit * max(abs(f0), scale)
    slope = float(np.median(slopes)) if slopes else float("nan")
    return Noise(float(np.median(found)) if found else 0.0, floor, slope, f0, float32, bool(found), scale)


def staircase(out: object) -> tuple[float, float]:
    """The rounding steps of a saturated ``log(1 - AL)`` in a cost that returns its cache (the course's
    ``(cost, cache)``): (error per evaluation, smallest 1 - AL), or (0, 1) when nothing is saturated.

    Near 1, AL is a multiple of u/2 = 1.1e-16 away from 1, so ``log(1 - AL)`` moves in steps of about
    u / (1 - AL) as the parameters move, however smooth the true cost is: an example with 1 - AL = 1e-14
    puts steps of 1e-2 / m into the cost. Every array of the cache that lies in [0, 1) is taken for a
    sigmoid output averaged over its elements (a ReLU layer's output holds exact zeros and is not).
    The bound is the rounding of AL itself, so it is negligible unless AL nears 1."""
    if not isinstance(out, tuple) or len(out) < 2:
        return 0.0, 1.0
    arrays: list[np.ndarray] = []

    def walk(x: object, depth: int) -> None:
        if isinstance(x, np.ndarray) and x.dtype.kind == "f" and x.size:
            arrays.append(x)
        elif depth < 3 and isinstance(x, (tuple, list)):
            for y in x:
                walk(y, depth + 1)
        elif depth < 3 and isinstance(x, dict):
            for y in x.values():
                walk(y, depth + 1)

    walk(out[1:], 0)
    error, closest = 0.0, 1.0
    for arr in arrays:
        v = np.asarray(arr, dtype=np.float64)
        if not (np.all(v > 0) and np.all(v < 1)):  # a ReLU output holds exact zeros: not a sigmoid's
            continue
        gap = 1.0 - v[v > 0.5]
        if gap.size:
            error += float(np.sum(U / gap)) / v.size
            closest = min(closest, float(gap.min()))
    return (error, closest) if closest < 1e-4 else (0.0, 1.0)


def noise_scale(terms: np.ndarray) -> float:
    """The magnitude a cost's rounding error scales with when it is computed from ``terms``.

    A cost's rounding error follows its largest intermediate terms, not its final value: a confident
    softmax cross-entropy is log-sum-exp(z) - z_y, a difference of two numbers of size |z| that
    leaves 1e-10, with an error of u·|z|; ``sum(dout * y)`` over random signs cancels the same way.
    The largest |term| (per example, as losses average over rows) is that size."""
    t = np.abs(np.asarray(terms, dtype=np.float64))
    return float(np.max(t)) if t.size and np.all(np.isfinite(t)) else 0.0


def rounded_to_float32(values: list[float]) -> bool:
    """True when every cost value is exactly a float32 number: the cost computes in float32 (a float32
    model or data inside it), so its rounding error is ``U32 / U`` (about 5e8) times float64's.

    A float64 computation lands on a float32 number with probability about 2^-29 per value, so three
    distinct values are already conclusive, unless they are short binary fractions (a cost counting
    0/1 outcomes: integers, or values that even float16 holds exactly).
    """
    v = np.asarray(values, dtype=np.float64)
    if v.size < 3 or np.unique(v).size < 3 or not np.all(np.isfinite(v)):
        return False
    with np.errstate(over="ignore"):
        short = np.all(v == np.round(v)) or np.all(v.astype(np.float16).astype(np.float64) == v)
    return bool(not short and np.all(v.astype(np.float32).astype(np.float64) == v))


def typical_gradient(noise: Noise, analytic: dict[str, np.ndarray], scale: float = 0.0) -> float:
    """The size of a typical gradient element: the larger of the analytic gradients' RMS and the
    slope the noise measurement saw (a wrong, all-zero analytic gradient must not make every step
    look meaningless). When both are zero (a cost that does not change at all), the cost's own size
    (|f0|, or its largest terms ``scale``) stands in, so that a gradient can be vouched for as zero."""
    parts = [np.asarray(a, dtype=np.float64).ravel() for a in analytic.values()]
    flat = np.concatenate(parts) if parts else np.zeros(0)
    flat = flat[np.isfinite(flat)]
    rms = float(np.sqrt(np.mean(flat * flat))) if flat.size else 0.0
    value = max(rms, noise.slope if math.isfinite(noise.slope) else 0.0)
    return value if value > 0 else max(abs(noise.f0), scale)


def check_step(eps: float, noise: Noise, gradient: float, default: float) -> tuple[float, str | None]:
    """The step to use for central differences, and a warning when ``eps`` had to be replaced.

    ``eps`` is meaningless when its noise bar exceeds ``MEANINGLESS`` times the typical gradient
    element ``gradient``: every element would then be decided by noise, a wrong one passing as
    easily as a right one. It is replaced by the smallest of ``default`` x 10^k (k = 0..3) whose bar
    is small enough (the largest, if none is), and only when that is an improvement."""
    if gradient <= 0 or not math.isfinite(gradient):
        return eps, None
    if noise.bar(eps) <= MEANINGLESS * gradient:
        return eps, None
    candidates = [default * 10.0 ** k for k in range(4)]
    better = next((h for h in candidates if noise.bar(h) <= MEANINGLESS * gradient), candidates[-1])
    # replace only with a step that is good enough, or an eps whose noise exceeds the gradient itself
    if better <= eps or (noise.bar(better) > MEANINGLESS * gradient and noise.bar(eps) <= gradient):
        return eps, None
    return better, (f"eps = {eps:g} is meaningless for this cost: its measured rounding noise "
                    f"({noise.per_eval:.2g} per evaluation) divided by eps is {noise.bar(eps):.2g}, "
                    f"against gradients of about {gradient:.2g}; checked with eps = {better:g} instead")
