"""Numerical estimates of a gradient: central differences, complex step, random directions.

Every estimator works on a dict ``values`` name -> float64 (or complex128) array that the checker
owns; it perturbs one element (or one direction) at a time in place, calls ``evaluate(values)``,
and restores the element exactly. Besides the estimate each one returns an error bar, so the
checker can tell a real disagreement from the limits of finite differences.

Error model of the central difference ``(f(θ+ε) - f(θ-ε)) / 2ε``:

* truncation ``ε² f''' / 6`` (negligible at the default ε = 1e-6 for the smooth costs of neural
  networks: about 1e-12 relative);
* rounding: each cost evaluation carries an error ``δ ≲ NOISE_ULPS · u · |f|`` (u = 2.2e-16), which
  the quotient turns into ``δ / ε``: this is the ``noise`` array;
* kinks: if a non-differentiable point (ReLU at 0, a max tie) lies within ε of θ, the quotient
  mixes two slopes. The one-sided slopes ``d+ = (f(θ+ε) - f(θ)) / ε`` and ``d- = (f(θ) - f(θ-ε)) / ε``
  then differ by about the jump in slope, and the central quotient is off by up to that much; on a
  smooth stretch ``|d+ - d-| ≈ ε |f''|`` is tiny. ``jump = |d+ - d-|`` is recorded for every element.

A cost computed in float32 rounds to 1.2e-7 instead of 2.2e-16: the checker recognises one (every value
it returns is a float32 number, ``rounded_to_float32``) and widens the error bars by that ratio.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

U = float(np.finfo(np.float64).eps)
U32 = float(np.finfo(np.float32).eps)
# Rounding error allowed for one evaluation of the cost, in multiples of u·|f|. A cost is a long
# chain of sums, exps and logs (the course's log(1 - sigmoid(z)) loses digits to cancellation);
# 100 ulp covers what was measured on the course's test case with room to spare.
NOISE_ULPS = 100.0

# Default step per method. Central: the total error ε²|f'''|/6 + NOISE_ULPS·u·|f|/ε is smallest
# near ε ≈ 1e-5..1e-6; 1e-6 puts a correct float64 network around 1e-9..1e-10 relative
# difference, two to three orders below the default threshold 2e-7. Complex step has no
# subtraction, so its step can be tiny. Directional uses the central quotient along a direction.
DEFAULT_EPS = {"central": 1e-6, "complex": 1e-20, "directional": 1e-6}
METHODS = tuple(DEFAULT_EPS)

Evaluate = Callable[[dict[str, np.ndarray]], complex]


@dataclass
class Estimate:
    """Elementwise estimate for one parameter; arrays have the parameter's shape.

    ``numerical`` is NaN where the element was not sampled; ``noise`` is the rounding error bar of
    each entry; ``jump`` the one-sided slope difference (zeros for the complex step); ``crossed``
    marks elements whose perturbation changed the cost's kink state (see ``central``'s ``probe``).
    """

    numerical: np.ndarray
    noise: np.ndarray
    jump: np.ndarray
    crossed: np.ndarray | None = None


@dataclass
class Projections:
    """Directional estimate for one parameter: ``directions`` (k, *shape) unit vectors,
    ``numerical`` (k,) directional derivatives and their ``noise`` (k,)."""

    directions: np.ndarray
    numerical: np.ndarray
    noise: np.ndarray


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


def sample_indices(size: int, sample: int | None, rng: np.random.Generator) -> np.ndarray:
    """Flat indices to check: all of them, or ``sample`` of them drawn without replacement."""
    if sample is None or sample >= size:
        return np.arange(size)
    return np.sort(rng.choice(size, size=sample, replace=False))


def central(evaluate: Evaluate, values: dict[str, np.ndarray], name: str, indices: np.ndarray,
            eps: float, f0: float, probe: Callable[[], bytes] | None = None,
            state0: bytes | None = None, scale: float = 0.0) -> Estimate:
    """Central differences for the elements ``indices`` (flat) of ``values[name]``.

    ``probe``, if given, returns the kink state of the last evaluation (e.g. the signs of every
    ReLU input); an element whose +ε or -ε evaluation differs from ``state0`` (the state at θ) has
    crossed a kink, which one-sided slopes cannot always reveal (two kinks crossed at once can
    leave them equal while backprop's choice of subgradient differs from both). ``scale`` is the
    size of the largest terms the cost adds up (0: |f| itself), see ``noise_scale``.
    """
    arr = values[name]
    numerical = np.full(arr.shape, np.nan)
    noise = np.zeros(arr.shape)
    jump = np.zeros(arr.shape)
    crossed = np.zeros(arr.shape, bool)
    for flat in indices:
        idx = np.unravel_index(int(flat), arr.shape)
        old = arr[idx]
        arr[idx] = old + eps
        fp = float(evaluate(values).real)
        moved = probe is not None and probe() != state0
        arr[idx] = old - eps
        fm = float(evaluate(values).real)
        crossed[idx] = moved or (probe is not None and probe() != state0)
        arr[idx] = old
        numerical[idx] = (fp - fm) / (2 * eps)
        jump[idx] = abs((fp - f0) / eps - (f0 - fm) / eps)
        noise[idx] = NOISE_ULPS * U * max(abs(fp), abs(fm), abs(f0), scale) / eps
    return Estimate(numerical, noise, jump, crossed)


ElementCosts = Callable[[str, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]


def central_from_costs(element_costs: ElementCosts, shape: tuple[int, ...], name: str, indices: np.ndarray,
                       eps: float, f0: float, scale: float = 0.0,
                       tick: Callable[[int], None] | None = None) -> tuple[Estimate, np.ndarray]:
    """``central`` from perturbed costs computed elsewhere (``gradcheck.batched``): the same
    quotient, jump and error bar per element, and the cost values seen (for ``rounded_to_float32``).
    ``element_costs(name, indices, steps) -> (f_plus, f_minus, crossed)``, see ``gradcheck.batched``;
    ``tick(n)`` is called after every n elements (a progress bar)."""
    indices = np.asarray(indices, dtype=np.int64)
    fp, fm = np.empty(len(indices)), np.empty(len(indices))
    moved = np.zeros(len(indices), bool)
    step = max(len(indices), 1) if tick is None else 16384
    for lo in range(0, len(indices), step):
        part = slice(lo, lo + step)
        fp[part], fm[part], moved[part] = element_costs(name, indices[part], np.full(len(indices[part]),
                                                                                    float(eps)))
        if tick is not None:
            tick(len(indices[part]))
    numerical = np.full(shape, np.nan)
    noise = np.zeros(shape)
    jump = np.zeros(shape)
    crossed = np.zeros(shape, bool)
    numerical.flat[indices] = (fp - fm) / (2 * eps)
    jump.flat[indices] = np.abs((fp - f0) / eps - (f0 - fm) / eps)
    largest = np.maximum(np.maximum(np.abs(fp), np.abs(fm)), max(abs(f0), scale))
    noise.flat[indices] = NOISE_ULPS * U * largest / eps
    crossed.flat[indices] = moved
    return Estimate(numerical, noise, jump, crossed), np.concatenate([fp, fm])


def complex_step(evaluate: Evaluate, values: dict[str, np.ndarray], name: str, indices: np.ndarray,
                 h: float) -> Estimate:
    """Complex-step derivative ``Im f(θ + i h e_k) / h``: no subtraction, so no cancellation.

    ``values`` must hold complex arrays, and the cost must carry the imaginary part through
    (analytic operations only: no abs, comparisons or casts to float on the parameters).
    """
    arr = values[name]
    numerical = np.full(arr.shape, np.nan)
    for flat in indices:
        idx = np.unravel_index(int(flat), arr.shape)
        old = arr[idx]
        arr[idx] = old + 1j * h
        numerical[idx] = complex(evaluate(values)).imag / h
        arr[idx] = old
    noise = np.where(np.isnan(numerical), 0.0, NOISE_ULPS * U * np.abs(np.nan_to_num(numerical)))
    return Estimate(numerical, noise, np.zeros(arr.shape))


def directional(evaluate: Evaluate, values: dict[str, np.ndarray], name: str, k: int, eps: float,
                f0: float, rng: np.random.Generator, scale: float = 0.0) -> Projections:
    """Central differences along ``k`` random unit directions in the space of ``values[name]``:
    2 cost evaluations per direction, whatever the parameter's size."""
    arr = values[name]
    original = arr.copy()
    dirs = rng.standard_normal((k, *arr.shape))
    norms = np.sqrt(np.sum(dirs.reshape(k, -1) ** 2, axis=1))
    dirs /= norms.reshape((k,) + (1,) * arr.ndim)
    numerical = np.empty(k)
    noise = np.empty(k)
    for j in range(k):
        arr[...] = original + eps * dirs[j]
        fp = float(evaluate(values).real)
        arr[...] = original - eps * dirs[j]
        fm = float(evaluate(values).real)
        numerical[j] = (fp - fm) / (2 * eps)
        noise[j] = NOISE_ULPS * U * max(abs(fp), abs(fm), abs(f0), scale) / eps
    arr[...] = original
    return Projections(dirs, numerical, noise)
