"""The fuzzer's verdict on one call: what counts as a clean refusal, and the pool of bad values."""

from __future__ import annotations

import math
import re
import traceback
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import autodiff as ad

PACKAGE = Path(cr.__file__).resolve().parent


def _readonly():
    a = np.ones((6, 2))
    a.flags.writeable = False
    return a


class Weird:
    """An object of no type chainrule knows."""

    def __repr__(self):
        return "Weird()"


def bad_values() -> list[tuple[str, object]]:
    """Labelled bad values, rebuilt on each call (some are mutable)."""
    return [
        ("None", None), ("-1", -1), ("0", 0), ("2**32", 2**32), ("2**63", 2**63), ("1.5", 1.5),
        ("nan", float("nan")), ("inf", float("inf")), ("-inf", float("-inf")), ("True", True),
        ("''", ""), ("'23'", "23"), ("'abc'", "abc"), ("1j", 1j), ("[]", []), ("()", ()),
        ("ragged", [[1.0, 2.0], [3.0]]), ("ragged3", [[[1.0]], [[2.0, 3.0]]]), ("list2x2", [[1, 2], [3, 4]]),
        ("{}", {}), ("{1: arr}", {1: np.zeros(2)}), ("{'W1': ragged}", {"W1": [[1.0], [2.0, 3.0]]}),
        ("Weird()", Weird()), ("empty", np.array([])), ("zeros(0,2)", np.zeros((0, 2))),
        ("zeros(0,3)", np.zeros((0, 3))), ("zeros(2,0)", np.zeros((2, 0))), ("zeros(1,0)", np.zeros((1, 0))),
        ("nan-array", np.array([[np.nan, 1.0], [2.0, 3.0]])), ("inf-array", np.full((6, 2), np.inf)),
        ("object-array", np.array([1, "a", None], dtype=object)), ("str-array", np.array(["a", "b"])),
        ("complex-array", np.ones((6, 2)) * (1 + 1j)), ("bool-array", np.ones((6, 2), dtype=bool)),
        ("int-array", np.ones((6, 2), dtype=np.int64)), ("uint8-array", np.ones((6, 2), dtype=np.uint8)),
        ("float16-array", np.ones((6, 2), dtype=np.float16)), ("readonly", _readonly()),
        ("3-D", np.ones((2, 3, 4))), ("scalar-array", np.array(3.0)), ("huge-shape", (10**6, 10**6)),
        ("tensor", ad.Tensor(np.ones(3))), ("np.nan64", np.float64("nan")), ("negative-float", -0.5),
        ("big-float", 1e300), ("generator", np.random.default_rng(0)), ("lambda", lambda *a: None),
        ("dict-of-None", {"W": None}), ("layer", cr.ReLU()), ("1e-320", 1e-320),
    ]


def message_names(message: str, words: tuple[str, ...]) -> bool:
    return any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(w)}(?![A-Za-z0-9_])", message) for w in words)


def has_nan(obj, depth: int = 0) -> bool:
    if depth > 6:
        return False
    if isinstance(obj, ad.Tensor):
        obj = obj.data
    if isinstance(obj, float):
        return math.isnan(obj)
    if isinstance(obj, np.ndarray) and obj.dtype.kind in "fc":
        return bool(np.isnan(obj).any())
    if isinstance(obj, np.floating):
        return bool(np.isnan(obj))
    if isinstance(obj, dict):
        return any(has_nan(v, depth + 1) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return any(has_nan(v, depth + 1) for v in obj[:50])
    return False


def has_nonfinite_input(value) -> bool:
    try:
        arr = np.asarray(value, dtype=float)
    except Exception:
        return False
    return not bool(np.all(np.isfinite(arr)))


def verdict(entry, arg: str, value, call) -> str | None:
    """None if ``call()`` behaves (returns a NaN-free result, or refuses cleanly); else a problem."""
    try:
        result = call()
    except (ValueError, TypeError, OSError, RuntimeError, IndexError, KeyError, ZeroDivisionError,
            AttributeError, OverflowError, MemoryError, RecursionError, NotImplementedError,
            ArithmeticError, LookupError) as exc:
        frames = traceback.extract_tb(exc.__traceback__)
        last = Path(frames[-1].filename).resolve() if frames else None
        inside = last is not None and PACKAGE in last.parents
        if isinstance(exc, cr.TrainingDiverged) and arg in entry.diverges:
            return None  # the training run's own verdict, raised by fit (its message names the epoch)
        allowed = isinstance(exc, (ValueError, TypeError)) \
            or (isinstance(exc, OSError) and arg == "path") \
            or (isinstance(exc, IndexError) and entry.name == "ad.getitem")  # Python's error for indices
        if not allowed:
            return f"{type(exc).__name__}: {exc}"[:300]
        if not inside:
            return f"raised outside chainrule ({last}:{frames[-1].lineno}): {type(exc).__name__}: {exc}"[:300]
        if "inhomogeneous" in str(exc):
            return f"NumPy's message: {exc}"[:300]
        if not message_names(str(exc), entry.words(arg)):
            return f"message does not name {arg!r}: {type(exc).__name__}: {exc}"[:300]
        return None
    if has_nan(result) and not has_nonfinite_input(value) and not entry.domain_nan:
        return "returned NaN silently"
    return None
