"""Argument checks in the course's column layout, with messages in the course's names."""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

from .._validate import as_float_array


def as_course_array(value: object, name: str, *, ndim: int | None = 2) -> np.ndarray:
    """``value`` as a finite float32/float64 array (other numeric dtypes become float64)."""
    return as_float_array(value, name, ndim=ndim)


def common_float(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """The arrays in one floating dtype (float32 only if all are float32), as NumPy would promote."""
    dtype = np.result_type(*arrays)
    return tuple(a.astype(dtype, copy=False) for a in arrays)


_PARAM = re.compile(r"^([Wb])([1-9][0-9]*)$")


def layer_keys(L: int, prefix: str = "") -> list[str]:
    """``W1, b1, ..., WL, bL`` in the course's order (``prefix="d"``: the gradients' names)."""
    return [f"{prefix}{p}{layer}" for layer in range(1, L + 1) for p in "Wb"]


def num_layers(parameters: Mapping[str, np.ndarray], name: str = "parameters") -> int:
    """L for a dict holding exactly ``W1, b1, ..., WL, bL``; ValueError naming what is wrong."""
    if not isinstance(parameters, Mapping):
        raise TypeError(f"{name} must be a dict with keys 'W1', 'b1', ..., got {type(parameters).__name__}")
    unknown = sorted((k for k in parameters if not (isinstance(k, str) and _PARAM.match(k))), key=repr)
    if unknown:
        raise ValueError(f"{name} may only hold 'W<l>' and 'b<l>' entries (l = 1, 2, ...), got {unknown}")
    L = max((int(_PARAM.match(k).group(2)) for k in parameters), default=0)
    missing = [k for k in layer_keys(L) if k not in parameters]
    if L == 0 or missing:
        raise ValueError(f"{name} must hold W1, b1, ..., WL, bL; missing {missing or ['W1', 'b1']}")
    return L


def check_layer(W: np.ndarray, b: np.ndarray, layer: int | str, name: str) -> None:
    """b has shape (n_l, 1) for W (n_l, n_{l-1}); W is already known to be 2-D."""
    if b.shape != (W.shape[0], 1):
        raise ValueError(f"{name}: b{layer} must have shape ({W.shape[0]}, 1) to match W{layer} {W.shape}, "
                         f"got {b.shape}")


def course_parameters(parameters: Mapping[str, np.ndarray], name: str = "parameters"
                      ) -> tuple[int, dict[str, np.ndarray]]:
    """Validated ``(L, {W1: .., b1: .., ...})``: 2-D floating arrays whose shapes chain layer to layer."""
    L = num_layers(parameters, name)
    out: dict[str, np.ndarray] = {}
    for layer in range(1, L + 1):
        W = as_course_array(parameters[f"W{layer}"], f"{name}['W{layer}']")
        b = as_course_array(parameters[f"b{layer}"], f"{name}['b{layer}']", ndim=None)
        check_layer(W, b, layer, name)
        rows = out[f"W{layer - 1}"].shape[0] if layer > 1 else W.shape[1]
        if W.shape[1] != rows:
            raise ValueError(f"{name}: W{layer} must have {rows} columns (the rows of W{layer - 1}), "
                             f"got shape {W.shape}")
        out[f"W{layer}"], out[f"b{layer}"] = W, b
    return L, out


def check_examples(A: np.ndarray, name: str) -> np.ndarray:
    """``A`` (rows, m) if it has at least one example (column): the course's 1/m averages are
    undefined for m = 0, and would give a ZeroDivisionError or a silent NaN."""
    if A.ndim == 2 and A.shape[1] == 0:
        raise ValueError(f"{name} has no examples: expected shape (n, m) with m >= 1 columns, got {A.shape}")
    return A


def labels(Y: object, m: int, name: str = "Y", of: str = "X") -> np.ndarray:
    """Y as a float (1, m) array of 0/1 labels; a 1-D (m,) vector is accepted and made a row.
    ``of`` names the array whose m columns (examples) Y must match."""
    Y = as_course_array(Y, name, ndim=(1, 2))
    if Y.ndim == 1:
        Y = Y.reshape(1, -1)
    if Y.shape != (1, m):
        raise ValueError(f"{name} must have shape (1, {m}) (one label per example: {of} has {m} "
                         f"column(s)), got {Y.shape}")
    if not np.all((Y == 0) | (Y == 1)):
        raise ValueError(f"{name} must hold 0/1 labels, got values {np.unique(Y)[:10].tolist()}")
    return Y
