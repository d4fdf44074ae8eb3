"""Step 1 of a check: the numbers. Perturbed costs, and the numerical gradients made from them.

Every estimate of the central-difference family goes through one interface, the perturbed costs
of single elements::

    element_costs(name, indices, steps) -> (f_plus, f_minus, crossed)

``indices`` (K,) int64 are flat indices into parameter ``name``, ``steps`` (K,) float64 the step of
each; ``f_plus[k]`` is the cost with element ``indices[k]`` increased by ``steps[k]`` (everything
else at θ), ``f_minus[k]`` the same decreased, and ``crossed[k]`` is True when either evaluation
changed the cost's kink state (the sign pattern of a ReLU-family input) relative to θ. ``loop_costs``
is the default, one element at a time; a batched implementation (``gradcheck.batched``) is passed in
its place and nothing downstream changes.

The complex step (``Im f(θ + ih) / h``) and random directions are estimates of their own kind
(``complex_step``, ``directional``); they call ``evaluate`` directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: Default step per method. Central: 1e-6 puts a correct float64 network around 1e-9..1e-10 relative
#: difference; the noise step (``noise``) replaces it where the measured noise makes it meaningless,
#: and the judge re-checks at other steps where it cannot decide. Complex step has no subtraction, so
#: its step can be tiny. Directional uses the central quotient along a direction.
DEFAULT_EPS = {"central": 1e-6, "complex": 1e-20, "directional": 1e-6}
METHODS = tuple(DEFAULT_EPS)

Evaluate = Callable[[dict[str, np.ndarray]], complex]
ElementCosts = Callable[[str, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]


def loop_costs(evaluate: Evaluate, values: dict[str, np.ndarray],
               probe: Callable[[], bytes] | None = None, state0: bytes | None = None) -> ElementCosts:
    """The default ``element_costs``: perturb one element of ``values`` (owned float64 arrays) in
    place, evaluate, restore it exactly. ``probe`` returns the kink state of the last evaluation and
    ``state0`` is the state at θ (both None: nothing is known about kinks, ``crossed`` is all False).
    """

    def element_costs(name: str, indices: np.ndarray, steps: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        arr = values[name]
        flat_idx = np.asarray(indices, dtype=np.int64)
        steps = np.asarray(steps, dtype=np.float64)
        fp, fm = np.empty(len(flat_idx)), np.empty(len(flat_idx))
        crossed = np.zeros(len(flat_idx), bool)
        for k, flat in enumerate(flat_idx):
            idx = np.unravel_index(int(flat), arr.shape)
            old = arr[idx]
            arr[idx] = old + steps[k]
            fp[k] = float(evaluate(values).real)
            moved = probe is not None and probe() != state0
            arr[idx] = old - steps[k]
            fm[k] = float(evaluate(values).real)
            crossed[k] = moved or (probe is not None and probe() != state0)
            arr[idx] = old
        return fp, fm, crossed

    return element_costs


@dataclass
class Estimate:
    """Elementwise estimate for one parameter; arrays have the parameter's shape.

    ``numerical`` is NaN where the element was not sampled; ``step`` the step each element used;
    ``f_plus``/``f_minus`` the perturbed costs (NaN where unsampled); ``jump`` the one-sided slope
    difference |d+ - d-| (zeros for the complex step); ``crossed`` marks elements whose perturbation
    changed the cost's kink state. ``noise`` (the error bar) is filled in by the noise step.
    """

    numerical: np.ndarray
    step: np.ndarray
    jump: np.ndarray
    crossed: np.ndarray
    f_plus: np.ndarray | None = None
    f_minus: np.ndarray | None = None
    noise: np.ndarray | None = None


@dataclass
class Projections:
    """Directional estimate for one parameter: ``directions`` (k, *shape) unit vectors,
    ``numerical`` (k,) directional derivatives, and (after the noise step) their ``noise`` (k,)."""

    directions: np.ndarray
    numerical: np.ndarray
    step: float
    noise: np.ndarray | None = None


def sample_indices(size: int, sample: int | None, rng: np.random.Generator) -> np.ndarray:
    """Flat indices to check: all of them, or ``sample`` of them drawn without replacement."""
    if sample is None or sample >= size:
        return np.arange(size, dtype=np.int64)
    return np.sort(rng.choice(size, size=sample, replace=False)).astype(np.int64)


def central(element_costs: ElementCosts, name: str, shape: tuple[int, ...], indices: np.ndarray,
            eps: float, f0: float) -> Estimate:
    """Central differences ``(f(θ+ε) - f(θ-ε)) / 2ε`` for the elements ``indices`` (flat) of ``name``.

    ``jump = |d+ - d-|``, the one-sided slopes ``(f(θ+ε) - f(θ)) / ε`` and ``(f(θ) - f(θ-ε)) / ε``
    apart: about ε|f''| on a smooth stretch, about the slope's jump where a kink lies within ε."""
    numerical = np.full(shape, np.nan)
    step = np.full(shape, float(eps))
    jump = np.zeros(shape)
    crossed = np.zeros(shape, bool)
    f_plus, f_minus = np.full(shape, np.nan), np.full(shape, np.nan)
    if len(indices):
        steps = np.full(len(indices), float(eps))
        fp, fm, cr = element_costs(name, indices, steps)
        numerical.reshape(-1)[indices] = (fp - fm) / (2 * steps)
        jump.reshape(-1)[indices] = np.abs((fp - f0) / steps - (f0 - fm) / steps)
        crossed.reshape(-1)[indices] = cr
        f_plus.reshape(-1)[indices], f_minus.reshape(-1)[indices] = fp, fm
    return Estimate(numerical, step, jump, crossed, f_plus, f_minus)


def complex_step(evaluate: Evaluate, values: dict[str, np.ndarray], name: str, indices: np.ndarray,
                 h: float) -> Estimate:
    """Complex-step derivative ``Im f(θ + i h e_k) / h``: no subtraction, so no cancellation.

    ``values`` must hold complex arrays, and the cost must carry the imaginary part through
    (analytic operations only: no abs, comparisons or casts to float on the parameters).
    """
    arr = values[name]
    numerical = np.full(arr.shape, np.nan)
    numerical.reshape(-1)[indices] = complex_sides(evaluate, values, name, indices, h, both=False)[0]
    return Estimate(numerical, np.full(arr.shape, float(h)), np.zeros(arr.shape), np.zeros(arr.shape, bool))


def complex_sides(evaluate: Evaluate, values: dict[str, np.ndarray], name: str, indices: np.ndarray,
                  h: float = 1e-20, both: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """The complex-step derivative of elements ``indices`` (flat) of ``name`` from both sides:
    ``Im f(θ + ih e_k) / h`` and ``-Im f(θ - ih e_k) / h`` (K,) each (``both`` False: the first
    only, and None). ``values`` holds complex arrays (perturbed in place, restored). The two are
    equal for an analytic cost; at a ReLU input exactly 0 they are its two one-sided slopes (complex
    numbers order by their real part first, then the imaginary part picks the side)."""
    arr = values[name]
    signs = (1.0, -1.0) if both else (1.0,)
    slopes = np.empty((len(signs), len(indices)))
    for k, flat in enumerate(indices):
        idx = np.unravel_index(int(flat), arr.shape)
        old = arr[idx]
        for j, sign in enumerate(signs):
            arr[idx] = old + sign * 1j * h
            slopes[j, k] = sign * complex(evaluate(values)).imag / h
        arr[idx] = old
    return slopes[0], (slopes[1] if both else None)


def directional(evaluate: Evaluate, values: dict[str, np.ndarray], name: str, k: int, eps: float,
                rng: np.random.Generator) -> Projections:
    """Central differences along ``k`` random unit directions in the space of ``values[name]``:
    2 cost evaluations per direction, whatever the parameter's size."""
    arr = values[name]
    original = arr.copy()
    dirs = rng.standard_normal((k, *arr.shape))
    norms = np.sqrt(np.sum(dirs.reshape(k, -1) ** 2, axis=1))
    dirs /= norms.reshape((k,) + (1,) * arr.ndim)
    numerical = np.empty(k)
    for j in range(k):
        arr[...] = original + eps * dirs[j]
        fp = float(evaluate(values).real)
        arr[...] = original - eps * dirs[j]
        fm = float(evaluate(values).real)
        numerical[j] = (fp - fm) / (2 * eps)
    arr[...] = original
    return Projections(dirs, numerical, float(eps))

