"""The course's parameter initialization, with its exact random draws.

The course calls ``np.random.seed(s)`` and then ``np.random.randn(n_l, n_{l-1})`` layer by layer.
``np.random.RandomState(s)`` produces the same stream without touching NumPy's global RNG, so an
int ``rng`` here reproduces the course's numbers digit for digit while leaving the caller's random
state alone. A ``numpy.random.Generator`` (or ``RandomState``) may be passed instead; ``None``
draws from a fresh unseeded generator.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._validate import check_allocation, check_choice, check_float_dtype, check_positive_int, check_seed

RandomSource = np.random.Generator | np.random.RandomState

#: init name -> how the standard-normal draw W (n_l, n_{l-1}) is scaled, written exactly as each
#: assignment writes it (``x / s`` and ``x * (1 / s)`` can differ in the last bit): the
#: step-by-step assignment's ``* 0.01``, the application assignment's ``/ sqrt(n_{l-1})`` (LeCun
#: normal), the initialization assignment's He ``* sqrt(2 / n_{l-1})``.
SCALES = {
    "course": lambda W, n_prev: W * 0.01,
    "lecun": lambda W, n_prev: W / np.sqrt(n_prev),
    "he": lambda W, n_prev: W * np.sqrt(2.0 / n_prev),
}


def random_source(rng: int | RandomSource | None) -> RandomSource:
    """An int seeds a legacy ``RandomState`` (the course's stream); generators pass through."""
    if isinstance(rng, (np.random.Generator, np.random.RandomState)):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.RandomState(check_seed(rng, "rng", limit=2**32))
    raise TypeError(f"rng must be an int seed, a numpy.random.Generator, a RandomState or None, "
                    f"got {type(rng).__name__}")


def _layer(rs: RandomSource, n: int, n_prev: int, scale, dtype: np.dtype) -> tuple[np.ndarray, ...]:
    W = scale(rs.standard_normal((n, n_prev)), n_prev)
    return W.astype(dtype, copy=False), np.zeros((n, 1), dtype)


def initialize_parameters(n_x: int, n_h: int, n_y: int, *, rng: int | RandomSource | None = 1,
                          dtype: type = np.float64) -> dict[str, np.ndarray]:
    """Parameters of the 2-layer net: W1 (n_h, n_x) and W2 (n_y, n_h) as ``randn * 0.01``, b1 (n_h, 1)
    and b2 (n_y, 1) zeros. ``rng=1`` is the course's ``np.random.seed(1)``."""
    sizes = [check_positive_int(v, k) for v, k in ((n_x, "n_x"), (n_h, "n_h"), (n_y, "n_y"))]
    check_allocation((sizes[1], sizes[0]), check_float_dtype(dtype), f"W1 of shape (n_h, n_x) = {(n_h, n_x)}")
    check_allocation((sizes[2], sizes[1]), check_float_dtype(dtype), f"W2 of shape (n_y, n_h) = {(n_y, n_h)}")
    return initialize_parameters_deep(sizes, init="course", rng=rng, dtype=dtype)


def initialize_parameters_deep(layer_dims: Sequence[int], *, init: str = "course",
                               rng: int | RandomSource | None = 3,
                               dtype: type = np.float64) -> dict[str, np.ndarray]:
    """Parameters ``W1, b1, ..., WL, bL`` for ``layer_dims = [n_x, n_1, ..., n_L]``.

    Wl has shape (n_l, n_{l-1}), bl (n_l, 1) zeros. ``init``: ``"course"`` (``randn * 0.01``, the
    step-by-step assignment, default seed 3), ``"lecun"`` (``randn / sqrt(n_{l-1})``, the
    application assignment's ``dnn_app_utils``, which seeds 1: pass ``rng=1``) or ``"he"``.
    """
    if isinstance(layer_dims, (str, bytes)) or not isinstance(layer_dims, Sequence):
        raise TypeError(f"layer_dims must be a list of layer sizes, got {type(layer_dims).__name__}")
    dims = [check_positive_int(v, f"layer_dims[{i}]") for i, v in enumerate(layer_dims)]
    if len(dims) < 2:
        raise ValueError("layer_dims must list the input size and at least one layer, "
                         f"got {list(layer_dims)}")
    scale = SCALES[check_choice(init, tuple(SCALES), "init")]
    dtype = check_float_dtype(dtype)
    for layer in range(1, len(dims)):
        check_allocation((dims[layer], dims[layer - 1]), dtype,
                         f"W{layer} of layer_dims[{layer - 1}:{layer + 1}] = {dims[layer - 1:layer + 1]}")
    rs = random_source(rng)
    parameters: dict[str, np.ndarray] = {}
    for layer in range(1, len(dims)):
        W, b = _layer(rs, dims[layer], dims[layer - 1], scale, dtype)
        parameters[f"W{layer}"], parameters[f"b{layer}"] = W, b
    return parameters
