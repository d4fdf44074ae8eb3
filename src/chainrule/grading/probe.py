"""Which derivative does a learner's activation step apply? Asked of the function itself.

A gradient check sees the step only at the network's own point, where the evidence can be thin:
under the course's ``randn * 0.01`` initialisation the output layer's Z is within 1e-3 of 0, where
sigmoid' is 1/4 and relu' is 0 or 1, so seed 001's swap (relu's derivative in the sigmoid branch)
reads as "scaled by 4" when every Z > 0, and as "zero" when every Z <= 0. The step is a function
of (dA, Z) alone, so ``derivative_used`` calls it once more on a probe of its own: Z spread over
both signs and away from 0, dA random. There every candidate derivative gives different numbers,
and the one the learner's dZ equals (to rounding) is the answer, not a guess from a factor.

Candidates are the derivatives of the course's activations at Z, and the course's formulas that
need A = g(Z) written with Z instead (``dA * Z * (1 - Z)``, ``dA * (1 - Z ** 2)``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # stable for any z


#: dZ / dA of each derivative a learner may have used, as a function of Z.
DERIVATIVES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sigmoid": lambda z: _sigmoid(z) * (1 - _sigmoid(z)),
    "relu": lambda z: (z > 0).astype(np.float64),
    "tanh": lambda z: 1 - np.tanh(z) ** 2,
    "leaky_relu": lambda z: np.where(z > 0, 1.0, 0.01),
    "identity": lambda z: np.ones_like(z),
}

#: The course's derivative formulas in terms of A = g(Z), evaluated on Z by mistake.
ON_Z: dict[str, tuple[Callable[[np.ndarray], np.ndarray], str, str]] = {
    "sigmoid": (lambda z: z * (1 - z), "dA * Z * (1 - Z)", "dA * A * (1 - A) with A = sigmoid(Z)"),
    "tanh": (lambda z: 1 - z ** 2, "dA * (1 - Z ** 2)", "dA * (1 - A ** 2) with A = tanh(Z)"),
}



def probe_point(shape: tuple[int, int], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(dA, Z) of ``shape`` (at least 8 columns, so both signs appear in every row): |Z| in
    [0.3, 2.5] with random signs, away from relu's kink and where the derivatives all differ; dA
    standard normal away from 0."""
    n, m = shape
    r = np.random.default_rng(seed)
    m = max(m, 8)
    signs = r.choice([-1.0, 1.0], (n, m))
    signs[:, :2] = [1.0, -1.0]
    Z = signs * r.uniform(0.3, 2.5, (n, m))
    dA = r.standard_normal((n, m))
    dA = np.where(np.abs(dA) < 0.2, np.copysign(0.2, dA), dA)
    return dA, Z


def _equal(got: np.ndarray, want: np.ndarray) -> bool:
    scale = float(np.max(np.abs(want), initial=0.0))
    return got.shape == want.shape and bool(np.allclose(got, want, rtol=1e-6, atol=1e-9 * max(scale, 1e-300)))


def derivative_used(dZ_of: Callable[[np.ndarray, np.ndarray], np.ndarray], activation: str,
                    shape: tuple[int, int]) -> tuple[str, str] | None:
    """What ``dZ_of(dA, Z)`` (course layout, (n, m)) computes on a probe point, when it is the
    derivative of another activation than ``activation`` or a formula written on Z instead of A:
    ``(label, explanation)``, label e.g. "relu" or "sigmoid on Z" ("masked" for relu's mask left
    out). None when it computes the right
    derivative, something no candidate explains, or fails on the probe (the check at the network's
    own point has then said what it could)."""
    dA, Z = probe_point(shape)
    try:
        with np.errstate(all="ignore"):
            got = np.asarray(dZ_of(dA.copy(), Z.copy()), dtype=np.float64)
    except Exception:  # the learner's code: any failure here leaves the ordinary verdict standing
        return None
    if got.shape != Z.shape or not np.all(np.isfinite(got)):
        return None
    own = DERIVATIVES.get(activation)
    if own is not None and _equal(got, dA * own(Z)):
        return None
    if activation == "relu" and _equal(got, dA):
        return "masked", "dZ = dA where Z <= 0 too: relu's mask is not applied (dZ[Z <= 0] = 0)"
    for name, derivative in DERIVATIVES.items():
        if name != activation and _equal(got, dA * derivative(Z)):
            return name, f"dZ uses the derivative of {name} where the layer is {activation}"
    for name, (formula, written, right) in ON_Z.items():
        if _equal(got, dA * formula(Z)):
            which = "the" if name == activation else f"{name}'s, not {activation}'s,"
            return (f"{name} on Z", f"dZ = {written}: {which} derivative written on Z instead of A; "
                    f"it must be {right}")
    return None
