"""What ``check_gradients`` accepts: the cost's return value, ``params`` and ``grads`` in their three
structures (a dict, an array, a number), and the shared options. Every refusal names the argument
and shows what was expected next to what was given."""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np

from .._validate import check_choice, check_positive_int, check_real
from . import estimate as num

#: Non-dict params (an array or a number) are reported under this name.
SCALAR_NAME = "theta"


class PrecisionWarning(UserWarning):
    """Gradients of float32 parameters are checked in float64: finite differences in float32 lose
    about half their digits to rounding. Also the class of ``StepWarning``."""


class StepWarning(PrecisionWarning):
    """An ``eps`` that the cost's measured noise makes meaningless was replaced by a larger step."""


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


def real_array(value: object, label: str, cause: str = "") -> np.ndarray:
    """``value`` as a finite real (not bool) array of its own dtype; ``cause`` ends the NaN message."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf" or arr.dtype == bool:
        raise TypeError(f"{label} must be a real numeric array, got dtype {arr.dtype}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{label} contains non-finite values (NaN or inf){cause}")
    return arr


def float_values(params: object, *, complex_step: bool) -> tuple[dict[str, np.ndarray], str, list[str]]:
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
        arr = real_array(v, f"params[{k!r}]" if kind == "dict" else "params")
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


def match_grads(grads: object, values: dict[str, np.ndarray],
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
        arr = real_array(g, f"grads[{k!r}]" if kind == "dict" else "grads",
                          ": the backward overflowed or divided by zero")
        out[k] = arr.astype(np.float64)
    return out, ignored


def resolve_options(method: str, eps: float | None, threshold: float, sample: int | None,
                    directions: int) -> float:
    """Validate the shared options; returns the step ``eps`` to use."""
    check_choice(method, num.METHODS, "method")
    if eps is None:
        eps = num.DEFAULT_EPS[method]
    eps = check_real(eps, "eps", 0.0, 1.0, low_open=True, expected="be a number in (0, 1)")
    check_real(threshold, "threshold", 0.0, 1.0, low_open=True, expected="be a number in (0, 1)")
    if sample is not None:
        check_positive_int(sample, "sample")
    check_positive_int(directions, "directions")
    return eps
