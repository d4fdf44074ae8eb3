"""Argument checks shared by every public entry point.

Each check raises a ``ValueError`` or ``TypeError`` whose message names the argument and shows
what was expected next to what was received, so a user never has to decode a NumPy traceback.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def as_float_array(value: object, name: str, *, ndim: int | Sequence[int] | None = None,
                   finite: bool = True) -> np.ndarray:
    """Return ``value`` as a floating NumPy array (float32 stays float32, the rest float64).

    Raises ``TypeError`` for non-numeric input, ``ValueError`` for a wrong number of dimensions
    or (with ``finite=True``) NaN/inf entries.
    """
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    if arr.dtype not in FLOAT_DTYPES:
        arr = arr.astype(np.float64)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"{name} must be {want}, got shape {arr.shape} ({arr.ndim}-D)")
    if finite and not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} contains {bad} non-finite value(s) (NaN or inf)")
    return arr


def check_shape(arr: np.ndarray, expected: tuple[int | None, ...], name: str) -> None:
    """Raise ``ValueError`` unless ``arr.shape`` matches ``expected`` (``None`` = any size)."""
    ok = arr.ndim == len(expected) and all(
        e is None or e == a for e, a in zip(expected, arr.shape, strict=False)
    )
    if not ok:
        shown = "(" + ", ".join("N" if e is None else str(e) for e in expected)
        shown += ",)" if len(expected) == 1 else ")"
        raise ValueError(f"{name} must have shape {shown}, got {arr.shape}")


def check_positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_choice(value: str, choices: Sequence[str], name: str) -> str:
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; expected one of {', '.join(map(repr, choices))}")
    return value


def as_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    """Return a ``numpy.random.Generator``: pass one through, seed one from an int, or make a fresh
    unseeded one for ``None``. NumPy's global RNG is never touched."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be a numpy.random.Generator, an int seed or None, got {type(rng).__name__}")
