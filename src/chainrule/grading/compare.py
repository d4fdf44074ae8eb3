"""Comparing what a learner's function returned with chainrule's reference, in words.

Every check of ``chainrule grade`` ends here: ``difference`` says nothing when the values agree
(to 1e-6 relative: another correct formula, not another answer) and otherwise what kind of
difference it is, as a learner would fix it: a wrong shape (transposed, ``keepdims`` forgotten),
NaN/inf, a constant factor (the batch size m: "the 1/m is missing"), a flipped sign, a transpose,
or the worst element. ``Call`` runs a learner's function on deep copies of its arguments and names
each argument it wrote into; ``returned`` checks the form of what came back.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

RTOL = 1e-6


def _numeric(value: object) -> np.ndarray | None:
    try:
        arr = np.asarray(value)
    except Exception:
        return None
    return arr if arr.dtype.kind in "biuf" else None


def _factor_words(c: float, m: int | None) -> str:
    if abs(c + 1) < 1e-6:
        return "has the wrong sign (a minus sign missing or extra)"
    if m is not None and m > 1 and abs(c - m) < 1e-6 * m:
        return f"is m = {m} times too large: the 1/m average is missing"
    if m is not None and m > 1 and abs(c * m - 1) < 1e-6:
        return f"is m = {m} times too small: 1/m is applied twice"
    return f"is {c:.6g} times the expected value (a stray factor)"


def difference(label: str, got: object, want: object, m: int | None = None) -> str | None:
    """None when ``got`` equals ``want`` (same shape, values to ``RTOL``); otherwise one sentence
    starting with ``label`` saying how it differs. ``m``: the batch size, to name a missing 1/m."""
    w = np.asarray(want, dtype=np.float64)
    g = _numeric(got)
    if g is None:
        return f"{label} is not a number or an array of numbers (got {type(got).__name__})"
    g = g.astype(np.float64)
    if g.shape != w.shape:
        why = ""
        if g.ndim == 2 and g.shape == w.shape[::-1]:
            why = " (transposed)"
        elif g.size == w.size and w.ndim == 2 and g.ndim == 1:
            why = " (keepdims=True forgotten in np.sum?)"
        elif g.size == w.size:
            why = " (same values, another shape: np.squeeze or a reshape missing or extra?)"
        return f"{label} has shape {g.shape}; expected {w.shape}{why}"
    if not np.all(np.isfinite(g)):
        bad = g.size - int(np.count_nonzero(np.isfinite(g)))
        return f"{label} has {bad} non-finite element(s) (NaN or inf) of {g.size}"
    scale = float(np.max(np.abs(w), initial=0.0))
    if np.allclose(g, w, rtol=RTOL, atol=RTOL * 1e-3 * scale + 1e-300):
        return None
    if scale > 0 and not np.any(g):
        return f"{label} is all zeros"
    if scale > 0 and g.size >= 2:
        c = float(np.vdot(g, w) / np.vdot(w, w))
        if c != 0 and np.allclose(g, c * w, rtol=RTOL, atol=RTOL * 1e-3 * scale * abs(c)):
            return f"{label} {_factor_words(c, m)}"
    if g.ndim == 2 and g.shape[0] == g.shape[1] and g.size >= 4 and np.allclose(g.T, w, rtol=RTOL):
        return f"{label} is the expected value transposed"
    i = np.unravel_index(int(np.argmax(np.abs(g - w))), g.shape) if g.ndim else ()
    rel = float(np.linalg.norm(g - w) / (np.linalg.norm(g) + np.linalg.norm(w)))
    where = f" element {tuple(int(k) for k in i)}" if g.ndim else ""
    return (f"{label} differs from the expected value (relative difference {rel:.3g}; worst{where}: "
            f"{g[i]:.8g} where {w[i]:.8g} is expected)")


def _same(a: object, b: object) -> bool:
    """Whether ``b`` is still what ``a`` was (arrays by value, containers element by element)."""
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return True


@dataclass
class Call:
    """Calls learner functions on deep copies of their arguments; ``problems`` collects, once per
    function and argument, each argument a function wrote into."""

    problems: list[str] = field(default_factory=list)

    def __call__(self, fn: Callable, function: str, names: tuple[str, ...], *args: object) -> object:
        copies = copy.deepcopy(args)
        out = fn(*copies)
        for name, original, given in zip(names, args, copies, strict=False):
            if not _same(original, given):
                message = (f"modifies its argument {name} in place: the caller's array changes too; work "
                           f"on a copy (np.array({name.split(' ')[0]}, copy=True) or copy.deepcopy)")
                if message not in self.problems:
                    self.problems.append(message)
        return out


def describe(value: object) -> str:
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} value(s)"
    if value is None:
        return "None (is the return statement missing?)"
    if isinstance(value, np.ndarray):
        return f"one array of shape {value.shape}"
    return f"a {type(value).__name__}"


def returned(out: object, names: tuple[str, ...]) -> tuple | None:
    """``out`` as a tuple of len(names) values, or None when it is not one."""
    if isinstance(out, (tuple, list)) and len(out) == len(names):
        return tuple(out)
    return None


def form_problem(function: str, out: object, names: tuple[str, ...]) -> str:
    return f"must return ({', '.join(names)}); it returned {describe(out)}"


def dict_difference(label: str, got: object, want: Mapping[str, np.ndarray], m: int | None = None
                    ) -> list[str]:
    """The differences of a dict of arrays (parameters, grads), key by key in ``want``'s order."""
    if not isinstance(got, Mapping):
        return [f"{label} must be a dict with keys {', '.join(want)}; it is {describe(got)}"]
    missing = [k for k in want if k not in got]
    out = [f"{label} has no key {k!r}" for k in missing]
    for k in want:
        if k in got:
            found = difference(f"{label}[{k!r}]", got[k], want[k], m)
            if found:
                out.append(found)
    return out
