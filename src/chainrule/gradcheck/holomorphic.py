"""The complex step as a second witness: ``Im f(θ + i h e_k) / h`` is the derivative of the cost to
rounding, with no subtraction, so no cancellation, and no kink crossed (the real part never moves).

It is only the derivative when every operation the cost applies to the parameters is analytic:
``np.abs``, ``.real``, ``np.conj``, ``np.linalg.norm`` and casts to float drop or flip the imaginary
part, and the "derivative" then silently misses a term. So the parameters are handed to the cost as
``Watched`` arrays: complex arrays that pass every NumPy operation through unchanged, and note any of
those operations applied while they carry an imaginary part. A cost that does one, raises on complex
input, casts to float (a ``ComplexWarning``) or returns a real number gives no witness
(``NotHolomorphic``), and the check falls back on finite differences alone.

Comparisons and ``np.maximum``/``np.where`` order complex numbers by their real part first, so a ReLU
written the usual ways keeps its slope on each side; at an input exactly 0 the sign of the imaginary
step picks the side, which is how the check reads both one-sided slopes there (``+ih`` and ``-ih``).
What the watch cannot see: arrays stripped to plain ndarrays (``np.asarray``) before such an
operation, and Python-level branching on values.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

_ComplexWarning = getattr(np, "exceptions", np).ComplexWarning

#: ufuncs that are not complex-analytic but accept complex input: they drop or flip the imaginary part
_DROPPING_UFUNCS = {np.absolute, np.conjugate, np.sign}
#: array functions that do the same (names, to stay independent of where NumPy defines them)
_DROPPING_FUNCTIONS = {"real", "imag", "angle", "conj", "conjugate", "norm", "vdot", "absolute", "abs",
                       "real_if_close", "iscomplex", "isreal", "sort_complex", "round", "around"}


class NotHolomorphic(Exception):
    """The cost gives no complex-step derivative (why: ``args[0]``)."""


class Watched(np.ndarray):
    """A complex array that records operations dropping its imaginary part (see the module docstring).
    Results of NumPy operations on it are ``Watched`` again, so the watch follows the computation."""

    log: list[str] | None = None  # set for the duration of one evaluation

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if ufunc in _DROPPING_UFUNCS and _carries(inputs):
            _note(f"np.{ufunc.__name__}")
        raw = tuple(_plain(x) for x in inputs)
        if "out" in kwargs:
            kwargs["out"] = tuple(_plain(x) for x in kwargs["out"])
        result = getattr(ufunc, method)(*raw, **kwargs)
        return _watch(result)

    def __array_function__(self, func, types, args, kwargs):
        if func.__name__ in _DROPPING_FUNCTIONS and _carries(args):
            _note(f"np.{func.__name__}")
        result = func(*_plain(args), **_plain(kwargs))
        return _watch(result)

    @property
    def real(self):  # noqa: D102 - ndarray's attribute, watched
        if np.any(np.asarray(self).imag):
            _note(".real")
        return np.asarray(self).real

    @property
    def imag(self):  # noqa: D102
        if np.any(np.asarray(self).imag):
            _note(".imag")
        return np.asarray(self).imag

    def conj(self):  # noqa: D102
        _note(".conj()")
        return _watch(np.asarray(self).conj())

    conjugate = conj

    def __float__(self):
        if np.any(np.asarray(self).imag):
            _note("float()")
        return float(np.asarray(self).real)


def _note(what: str) -> None:
    if Watched.log is not None:
        Watched.log.append(what)


def _carries(args: object) -> bool:
    """Whether any Watched array among ``args`` holds a nonzero imaginary part."""
    if isinstance(args, Watched):
        return bool(np.any(np.asarray(args).imag))
    if isinstance(args, (list, tuple)):
        return any(_carries(a) for a in args)
    if isinstance(args, dict):
        return any(_carries(a) for a in args.values())
    return False


def _plain(x: object) -> object:
    if isinstance(x, Watched):
        return x.view(np.ndarray)
    if isinstance(x, list):
        return [_plain(y) for y in x]
    if isinstance(x, tuple):
        return tuple(_plain(y) for y in x)
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    return x


def _watch(result: object) -> object:
    if isinstance(result, np.ndarray) and not isinstance(result, Watched) and result.dtype.kind == "c":
        return result.view(Watched)
    if isinstance(result, np.complexfloating):  # a reduction's scalar: keep watching it
        return np.asarray(result).view(Watched)
    if isinstance(result, tuple):
        return tuple(_watch(r) for r in result)
    if isinstance(result, list):
        return [_watch(r) for r in result]
    return result


def _complex_kind(v: np.ndarray) -> type:
    """complex128, or clongdouble for parameters given in extended precision (kept so)."""
    return np.clongdouble if v.dtype == np.clongdouble else np.complex128


def watched_cost(call: Callable[[dict[str, np.ndarray]], object],
                 value_of: Callable[[object], object]) -> Callable[[dict[str, np.ndarray]], complex]:
    """``evaluate(values) -> complex`` for complex ``values`` (name -> complex128 array, or clongdouble
    for extended precision, kept): ``call`` receives them as fresh ``Watched`` copies and ``value_of``
    turns its return value into the cost (a ``np.clongdouble`` when the cost kept extended precision).
    Raises ``NotHolomorphic`` when the cost cannot give a complex-step derivative."""

    def evaluate(values: dict[str, np.ndarray]) -> complex:
        log: list[str] = []
        previous, Watched.log = Watched.log, log
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("error", _ComplexWarning)
                out = call({k: np.array(v, dtype=_complex_kind(v)).view(Watched) for k, v in values.items()})
                value = value_of(out)
        except NotHolomorphic:
            raise
        except Exception as e:  # any failure on complex input: the cost is not one for the complex step
            raise NotHolomorphic(f"it raised {type(e).__name__} on complex parameters") from e
        finally:
            Watched.log = previous
        if log:
            raise NotHolomorphic(f"it applies {', '.join(sorted(set(log)))} to the parameters, which drops "
                                 "the imaginary part")
        if not isinstance(value, (complex, np.clongdouble)):
            raise NotHolomorphic("it returns a real number for complex parameters")
        return value  # np.clongdouble when extended parameters stayed extended to the end

    return evaluate
