"""Calling a learner's own backward functions: on copies of their arguments, checking what they return.

A function that writes into an argument (``dZ = dA; dZ[Z <= 0] = 0``) changes its caller's array.
The parameter gradients can still be right, so a gradient check alone cannot see it, but the
course's ``L_model_backward`` stores each dA in ``grads`` before the next layer's backward runs, so
``grads['dA1']`` comes out wrong and the course's grader fails it. ``Watched`` hands the function
copies, compares them with the originals after the call and records each argument it changed.

A function returning the wrong thing (two values where three are unpacked, ``(dZ, cache)`` where
``dZ`` is expected) is named with what it must return instead of Python's unpacking error.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

#: The course's parameter names of each function a learner may hand to ``check_backward``.
SIGNATURES: dict[str, tuple[str, ...]] = {
    "linear_backward": ("dZ", "cache"),
    "linear_activation_backward": ("dA", "cache", "activation"),
    "L_model_backward": ("AL", "Y", "caches"),
    "relu_backward": ("dA", "cache"),
    "sigmoid_backward": ("dA", "cache"),
}

# Where the course keeps each array inside a cache: argument position, then tuple indices.
_CACHE_PARTS: dict[str, dict[tuple[int, ...], str]] = {
    "linear_backward": {(1, 0): "A_prev", (1, 1): "W", (1, 2): "b"},
    "linear_activation_backward": {(1, 0, 0): "A_prev", (1, 0, 1): "W", (1, 0, 2): "b", (1, 1): "Z"},
    "relu_backward": {(1,): "Z"},
    "sigmoid_backward": {(1,): "Z"},
}


@dataclass(frozen=True)
class Mutation:
    """A learner's ``function`` wrote into its ``argument`` (course name, e.g. "dA" or "Z (cache[1])"),
    seen at ``layer`` l's ``step`` ("linear", "relu", "sigmoid"; both None for L_model_backward)."""

    function: str
    argument: str
    layer: int | None = None
    step: str | None = None

    @property
    def fix(self) -> str:
        if self.argument == "dA":
            return ("the caller's dA changes with it (the course's L_model_backward stores it as "
                    "grads['dA<l>']); copy it first: dZ = np.array(dA, copy=True), as the course does")
        name = self.argument.split(" ")[0].split("[")[0]
        return f"the caller's array changes with it; work on a copy: {name} = np.array({name}, copy=True)"

    def describe(self) -> str:
        where = self.function if self.layer is None else f"layer {self.layer} {self.step} ({self.function})"
        return f"{where} modified its argument {self.argument} in place: {self.fix}"

    def to_dict(self) -> dict:
        return asdict(self) | {"fix": self.fix}


def _copy(value: object) -> object:
    if isinstance(value, np.ndarray):
        return value.copy()
    if type(value) in (tuple, list):
        return type(value)(_copy(v) for v in value)
    return value


def _changed(original: object, given: object, path: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
    """The paths (argument position, then indices) where ``given`` no longer equals ``original``."""
    if isinstance(original, np.ndarray):
        same = (isinstance(given, np.ndarray) and given.shape == original.shape
                and np.array_equal(given, original, equal_nan=original.dtype.kind in "fc"))
        if not same:
            yield path
    elif type(original) in (tuple, list):
        if type(given) is not type(original) or len(given) != len(original):
            yield path
        else:
            for i, (o, g) in enumerate(zip(original, given, strict=True)):
                yield from _changed(o, g, path + (i,))


def _label(function: str, path: tuple[int, ...]) -> str:
    """The course's name of the array at ``path``: "dA", "Z (cache[1])", "Z2 (caches[1][1])"."""
    where = SIGNATURES[function][path[0]] + "".join(f"[{i}]" for i in path[1:])
    known = _CACHE_PARTS.get(function, {}).get(path)
    if function == "L_model_backward" and path[0] == 2 and len(path) > 2:
        layer = path[1] + 1
        known = {(0, 0): f"A{layer - 1}", (0, 1): f"W{layer}", (0, 2): f"b{layer}",
                 (1,): f"Z{layer}"}.get(path[2:])
    return f"{known} ({where})" if known else where


def _returned(out: object) -> str:
    if isinstance(out, (tuple, list)):
        return f"{len(out)} values"
    if out is None:
        return "None (is the return statement missing?)"
    if isinstance(out, np.ndarray):
        return f"one array of shape {out.shape}"
    return f"a {type(out).__name__}"


class NonFinite(ValueError):
    """A learner's function returned NaN or inf from finite arguments."""


def _finite(value: object) -> bool:
    if isinstance(value, np.ndarray):
        return value.dtype.kind not in "fc" or bool(np.all(np.isfinite(value)))
    if type(value) in (tuple, list):
        return all(_finite(v) for v in value)
    return True


def _check_finite(function: str, out: object, args: tuple) -> None:
    """NonFinite naming ``function``, the returned value (course name) and its count of NaN/inf
    elements, when ``function`` made them from finite arguments (a division by zero, an overflow)."""
    if not _finite(args):
        return
    names = ("dA_prev", "dW", "db") if function in ("linear_backward", "linear_activation_backward") \
        else ("dZ",)
    values = out if function in ("linear_backward", "linear_activation_backward") else (out,)
    for name, value in zip(names, values, strict=True):
        arr = np.asarray(value)
        if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
            bad = arr.size - int(np.count_nonzero(np.isfinite(arr)))
            raise NonFinite(f"your {function} returned {name} with {bad} non-finite element(s) (NaN or inf) "
                            f"of {arr.size}, from finite arguments: a division by zero, an overflow or a "
                            "log/sqrt of a negative number in it")


def checked_return(function: str, out: object, args: tuple) -> object:
    """``out`` if it has the form the course's ``function`` returns; TypeError/ValueError otherwise
    (``NonFinite`` for NaN/inf made from finite arguments)."""
    if function in ("linear_backward", "linear_activation_backward"):
        if not isinstance(out, (tuple, list)) or len(out) != 3:
            raise TypeError(f"your {function} must return (dA_prev, dW, db); it returned {_returned(out)}")
    elif function == "L_model_backward":
        if not isinstance(out, Mapping):
            raise TypeError("your L_model_backward must return the dict grads (keys dA0, dW1, db1, ...); "
                            f"it returned {_returned(out)}")
    else:
        if out is None or isinstance(out, (tuple, list)):
            alone = " (return dZ alone, not (dZ, cache))" if isinstance(out, (tuple, list)) else ""
            raise TypeError(f"your {function} must return dZ, one array of dA's shape; it returned "
                            f"{_returned(out)}{alone}")
        if np.shape(out) != np.shape(args[0]):
            raise ValueError(f"your {function} returned dZ of shape {np.shape(out)}; it must have dA's "
                             f"shape {np.shape(args[0])}")
    if function != "L_model_backward":  # its grads are checked by name in bad_gradients
        _check_finite(function, out, args)
    return out


class Watched:
    """A learner's ``function``, called on copies of its arguments; each argument it changes is
    added to ``found`` (shared by every ``Watched`` of one check) once per layer step."""

    def __init__(self, fn: Callable, function: str, found: list[Mutation]) -> None:
        self.fn, self.function, self.found = fn, function, found

    def __deepcopy__(self, memo: dict) -> Watched:
        # check_model checks deep copies of the layers holding this; their findings must land here
        return self

    def __call__(self, where: tuple[int, str] | None, *args: object) -> object:
        try:
            inspect.signature(self.fn).bind(*args)
        except TypeError as e:
            takes = ", ".join(SIGNATURES[self.function])
            raise TypeError(f"your {self.function} must take ({takes}): {e}") from e
        except ValueError:  # no signature to inspect (some builtins): the call itself will tell
            pass
        copies = tuple(_copy(a) for a in args)
        try:
            out = self.fn(*copies)
        finally:
            layer, step = where if where is not None else (None, None)
            for i, (a, c) in enumerate(zip(args, copies, strict=True)):
                for path in _changed(a, c, (i,)):
                    found = Mutation(self.function, _label(self.function, path), layer, step)
                    if found not in self.found:
                        self.found.append(found)
        return checked_return(self.function, out, args)


def wrong_dA(grads: Mapping, reference: Mapping[str, np.ndarray], caches: Sequence) -> dict[str, str]:
    """The dA<l> entries of a learner's ``grads`` that differ from ``reference`` (chainrule's grads
    from the same caches, with dA<L> = dAL), key -> how, in layer order. A dA the learner leaves out
    is not reported: only the course's grader needs them, and it names the missing key itself."""
    from ..gradcheck import relative_difference

    def close(a: np.ndarray, b: np.ndarray) -> bool:
        tolerance = 1e-7 if b.dtype == np.float64 else 1e-4
        return a.shape == b.shape and \
            relative_difference(a.astype(np.float64), b.astype(np.float64)) <= tolerance

    out: dict[str, str] = {}
    dAs = sorted((k for k in reference if k.startswith("dA")), key=lambda k: int(k[2:]))
    for key in (k for k in dAs if k in grads):
        ref, got = reference[key], np.asarray(grads[key])
        if got.dtype.kind not in "biuf":
            out[key] = f"is not a numeric array (dtype {got.dtype})"
            continue
        if close(got, ref):
            continue
        layer = int(key[2:])
        shifted = next((k for k in dAs if k != key and close(got, reference[k])), None)
        if shifted is not None:
            out[key] = (f"holds the course's {shifted}: the dA keys are shifted (layer l's dA_prev is "
                        "grads['dA' + str(l - 1)])")
        elif got.shape != ref.shape:
            out[key] = f"has shape {got.shape}; the course's {key} has shape {ref.shape}"
        elif 1 <= layer < len(caches) and close(got, np.where(np.asarray(caches[layer - 1][1]) > 0, ref, 0)):
            out[key] = (f"is the course's {key} with the elements where Z{layer} <= 0 set to 0: layer "
                        f"{layer}'s relu backward wrote dZ into the dA it was given after grads['{key}'] "
                        "was stored (dZ = dA; dZ[Z <= 0] = 0 changes dA too); copy it first: "
                        "dZ = np.array(dA, copy=True), as the course does")
        else:
            difference = relative_difference(got.astype(np.float64), ref.astype(np.float64))
            out[key] = (f"differs from the course's {key} (relative difference {difference:.3g}); the "
                        "course's grader compares it")
    return out


_OPTIONS = ("method", "threshold", "sample", "rng")


def check_arguments(yours: dict[str, Callable | None], options: dict) -> None:
    """``check_backward``'s keywords: the learner's functions (callables, named as in SIGNATURES)
    and the gradient-check options; TypeError naming check_backward and what it accepts otherwise."""
    unknown = [k for k in options if k not in _OPTIONS]
    if unknown:
        close = difflib.get_close_matches(unknown[0], [*SIGNATURES, "eps", *_OPTIONS], n=1)
        maybe = f" (did you mean {close[0]!r}?)" if close else ""
        raise TypeError(f"check_backward() got an unexpected keyword argument {unknown[0]!r}{maybe}; it "
                        f"checks your functions passed as {', '.join(f'{n}=' for n in SIGNATURES)} and takes "
                        f"the options {', '.join(f'{o}=' for o in ('eps', *_OPTIONS))}")
    for name, fn in yours.items():
        if fn is not None and not callable(fn):
            raise TypeError(f"check_backward: {name} must be your function "
                            f"{name}({', '.join(SIGNATURES[name])}), got {type(fn).__name__}")
    own = [n for n in ("relu_backward", "sigmoid_backward") if yours[n] is not None]
    if own and yours["linear_activation_backward"] is not None:
        raise TypeError(f"check_backward: pass {' and '.join(own)} or linear_activation_backward, not both: "
                        "your linear_activation_backward calls its own activation backward, which "
                        f"check_backward cannot replace; check {own[0]} first ({own[0]}=...), then "
                        "linear_activation_backward")


def bad_gradients(grads: Mapping, keys: list[str], source: str) -> str | None:
    """What is wrong with the values of the gradients (non-numeric, NaN/inf), in the learner's keys."""
    bad = []
    for k in keys:
        arr = np.asarray(grads[k])
        if arr.dtype.kind not in "biuf":
            bad.append(f"grads['{k}'] is not a numeric array (dtype {arr.dtype})")
        elif not np.all(np.isfinite(arr)):
            bad.append(f"grads['{k}'] has {arr.size - np.count_nonzero(np.isfinite(arr))} non-finite "
                       "value(s) (NaN or inf)")
    if not bad:
        return None
    return f"{source} returned {'; '.join(bad)}: the backward overflowed, divided by zero or wrote no number"
