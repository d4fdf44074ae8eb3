"""Weight initializers. Each takes ``(fan_in, fan_out, rng, dtype)`` and returns W of shape
(fan_in, fan_out); all randomness comes from the ``numpy.random.Generator`` passed in.

Draws are made in float64 and then cast, so a float32 and a float64 model built from the same seed
hold the same weights up to rounding.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Initializer = Callable[[int, int, np.random.Generator, np.dtype], np.ndarray]


def course(fan_in: int, fan_out: int, rng: np.random.Generator,
           dtype: np.dtype | type = np.float64) -> np.ndarray:
    """The deep-learning course's ``randn * 0.01``."""
    return (rng.standard_normal((fan_in, fan_out)) * 0.01).astype(dtype, copy=False)


def xavier(fan_in: int, fan_out: int, rng: np.random.Generator,
           dtype: np.dtype | type = np.float64) -> np.ndarray:
    """Glorot/Xavier normal: N(0, 2 / (fan_in + fan_out)); suited to tanh and sigmoid."""
    std = np.sqrt(2.0 / (fan_in + fan_out))
    return (rng.standard_normal((fan_in, fan_out)) * std).astype(dtype, copy=False)


def he(fan_in: int, fan_out: int, rng: np.random.Generator,
       dtype: np.dtype | type = np.float64) -> np.ndarray:
    """He/Kaiming normal: N(0, 2 / fan_in); suited to ReLU."""
    return (rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)).astype(dtype, copy=False)


def zeros(fan_in: int, fan_out: int, rng: np.random.Generator,
          dtype: np.dtype | type = np.float64) -> np.ndarray:
    """All-zero W, for a layer whose weights are about to be loaded (``chainrule.load``); draws nothing.
    Not in ``INITIALIZERS``: a network trained from zeros never breaks its symmetry."""
    return np.zeros((fan_in, fan_out), dtype)


INITIALIZERS: dict[str, Initializer] = {"course": course, "xavier": xavier, "glorot": xavier, "he": he}


def get_initializer(init: str | Initializer) -> Initializer:
    """The initializer named ``init`` (see ``INITIALIZERS``), or ``init`` itself if it is callable."""
    if callable(init) and not hasattr(init, "forward"):  # a layer is callable too, but not an initializer
        return init
    if not isinstance(init, str) or init not in INITIALIZERS:
        raise ValueError(f"unknown init {init!r}; expected one of {', '.join(map(repr, INITIALIZERS))} "
                         "or a callable (fan_in, fan_out, rng, dtype) -> array")
    return INITIALIZERS[init]
