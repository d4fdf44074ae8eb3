"""Argument checks shared by every public entry point.

Each check raises a ``ValueError`` or ``TypeError`` whose message names the argument and shows
what was expected next to what was received, so a user never has to decode a NumPy traceback.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def to_array(value: object, name: str) -> np.ndarray:
    """``np.asarray(value)``, with NumPy's failures turned into messages naming ``name``: a ragged
    nested list ("inhomogeneous shape"), and anything NumPy can only hold as Python objects."""
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:
        shape = _ragged_shape(value)
        raise ValueError(f"{name} must be a rectangular array (every row the same length), got a ragged "
                         f"nested sequence{shape}") from exc
    if arr.dtype.kind == "O":
        raise TypeError(f"{name} must be a real numeric array, got {type(value).__name__} {_short(value)} "
                        "(NumPy can only hold it as Python objects)")
    return arr


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _ragged_shape(value: object) -> str:
    """" (row lengths 2, 1)" for a ragged list of lists, to show what differs."""
    try:
        lengths = [len(row) for row in value]  # type: ignore[union-attr]
    except TypeError:
        return ""
    return f" (row lengths {', '.join(map(str, lengths[:8]))}{', ...' if len(lengths) > 8 else ''})"


def as_float_array(value: object, name: str, *, ndim: int | Sequence[int] | None = None,
                   finite: bool = True) -> np.ndarray:
    """Return ``value`` as a floating NumPy array (float32 stays float32, the rest float64).

    Raises ``TypeError`` for non-numeric input, ``ValueError`` for a ragged list, a wrong number of
    dimensions or (with ``finite=True``) NaN/inf entries.
    """
    arr = to_array(value, name)
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


def check_float_array(value: object, name: str) -> np.ndarray:
    """``value`` as an array that must already be float32 or float64: layers and losses refuse other
    dtypes rather than cast them, so a training run never changes precision behind the user's back."""
    arr = to_array(value, name)
    if arr.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be a float32 or float64 array, got dtype {arr.dtype}")
    return arr


def check_float_dtype(dtype: object, name: str = "dtype") -> np.dtype:
    """``dtype`` as ``np.dtype`` if it is float32 or float64; ``TypeError`` naming ``name`` otherwise."""
    try:
        # np.dtype(None) means float64; an explicit None is more likely a mistake than a request.
        resolved = None if dtype is None else np.dtype(dtype)  # type: ignore[arg-type]
    except (TypeError, ValueError, SyntaxError):  # np.dtype({1: ...}) is a ValueError
        resolved = None
    # Test for None first: ``np.dtype("float64") == None`` is True, so ``in`` alone would accept it.
    if resolved is None or resolved not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be float32 or float64, got {dtype!r}")
    return resolved


def check_real(value: object, name: str, low: float = -math.inf, high: float = math.inf, *,
               low_open: bool = False, high_open: bool = True, expected: str | None = None) -> float:
    """``value`` as a finite Python float within ``low``..``high`` (each end open or closed).

    ``TypeError`` for a non-number (bool included); ``ValueError`` otherwise, saying "<name> must
    <expected>" (default: "lie in [low, high)") next to the value given.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    try:
        v = float(value)
    except OverflowError:  # an int beyond float range (10**400): out of any finite range
        v = math.inf
    ok = math.isfinite(v) and (v > low if low_open else v >= low) and (v < high if high_open else v <= high)
    if not ok:
        if expected is None:
            expected = f"lie in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise ValueError(f"{name} must {expected}, got {_short(value)}")
    return v


def check_positive_int(value: object, name: str) -> int:
    """``value`` as an int >= 1 (NumPy integers accepted, bool refused); ``ValueError`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_choice(value: str, choices: Sequence[str], name: str) -> str:
    """``value`` if it is one of ``choices``; ``TypeError`` for a non-string, ``ValueError`` listing
    the choices otherwise."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, one of {', '.join(map(repr, choices))}; got "
                        f"{type(value).__name__} {_short(value)}")
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; expected one of {', '.join(map(repr, choices))}")
    return value


def check_seed(seed: object, name: str = "rng", *, limit: int | None = None) -> int:
    """``seed`` as a Python int >= 0 (below ``limit`` when given: the course's legacy ``RandomState``
    takes seeds below 2**32); bool, floats and strings are a ``TypeError``."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{name} must be an int seed, got {type(seed).__name__} {_short(seed)}")
    if seed < 0 or (limit is not None and seed >= limit):
        bound = f"[0, {limit - 1}] (2**32 - 1 is the largest seed NumPy's RandomState takes)" \
            if limit == 2**32 else f"[0, {limit - 1}]" if limit is not None else ">= 0"
        raise ValueError(f"{name} must be a seed in {bound}, got {seed}")
    return int(seed)


def as_rng(rng: np.random.Generator | int | None, name: str = "rng") -> np.random.Generator:
    """Return a ``numpy.random.Generator``: pass one through, seed one from an int >= 0, or make a
    fresh unseeded one for ``None``. NumPy's global RNG is never touched."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(check_seed(rng, name))
    raise TypeError(f"{name} must be a numpy.random.Generator, an int seed or None, got "
                    f"{type(rng).__name__} {_short(rng)}")


def check_bool(value: object, name: str) -> bool:
    """``value`` if it is a bool (or NumPy bool); a ``TypeError`` otherwise, rather than Python's
    truth value of whatever was passed (an array's is an error, a string's is always True)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {_short(value)}")
    return bool(value)


def check_mapping(value: object, name: str, *, keys: str = "parameter names") -> Mapping:
    """``value`` if it is a dict-like mapping with str keys; ``TypeError`` naming ``name`` otherwise."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a dict of {keys} -> arrays, got {type(value).__name__} "
                        f"{_short(value)}")
    bad = [k for k in value if not isinstance(k, str)]
    if bad:
        raise TypeError(f"{name} must have str keys ({keys}), got key {bad[0]!r} of type "
                        f"{type(bad[0]).__name__}")
    return value


def check_layer_like(value: object, name: str, *, what: str = "a chainrule Layer (or a model)") -> object:
    """``value`` if it has what a layer or model needs (forward, backward, params, grads)."""
    missing = [a for a in ("forward", "backward", "params", "grads") if not hasattr(value, a)]
    if missing:
        raise TypeError(f"{name} must be {what} with forward/backward/params/grads, got "
                        f"{type(value).__name__} {_short(value)} (missing {', '.join(missing)})")
    return value


def check_array_tree(value: object, name: str) -> None:
    """Refuse ragged or object-holding arrays in ``value`` (an array, or a dict of arrays), naming
    the entry, before a deeper function hands them to NumPy."""
    if isinstance(value, Mapping):
        check_mapping(value, name)
        for key, item in value.items():
            if not isinstance(item, (int, float)):
                to_array(item, f"{name}[{key!r}]")
    elif not isinstance(value, (int, float)):
        to_array(value, name)


def check_loss_like(value: object, name: str = "loss") -> object:
    """``value`` if it is a loss: an object with ``forward(logits, target)`` and ``backward()`` (and
    not a layer, whose forward takes one argument)."""
    if not (callable(getattr(value, "forward", None)) and callable(getattr(value, "backward", None))) \
            or isinstance(value, type) or hasattr(value, "params"):
        raise TypeError(f"{name} must be a chainrule Loss instance (e.g. CrossEntropyLoss()), got "
                        f"{type(value).__name__} {_short(value)}")
    return value


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux: MemAvailable), or None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def check_allocation(shape: Sequence[int], dtype: object, name: str) -> None:
    """``ValueError`` naming ``name`` when an array of ``shape`` and ``dtype`` would not fit in the
    memory available now, checked before NumPy is asked (which would raise ``MemoryError`` or its
    "maximum allowed dimension exceeded")."""
    nbytes = math.prod(int(d) for d in shape) * np.dtype(dtype).itemsize  # type: ignore[arg-type]
    available = available_memory()
    limit = available if available is not None else 2**62
    if nbytes > limit:
        raise ValueError(f"{name} asks for an array of shape {tuple(int(d) for d in shape)} "
                         f"({nbytes / 1e9:.3g} GB), more than the {limit / 1e9:.3g} GB of memory available")


def expand_user(path: Path, name: str = "path") -> Path:
    """``path.expanduser()``, with Python's RuntimeError for an unknown user ('~nobody-here/x')
    turned into a ``ValueError`` naming ``name``."""
    try:
        return path.expanduser()
    except RuntimeError as exc:
        raise ValueError(f"{name} {str(path)!r} starts with '~' but its home directory is unknown "
                         f"({exc}); expected an existing user's '~' or a plain path") from None


def check_path(value: object, name: str = "path") -> Path:
    """``value`` as a ``Path``: a non-empty ``str`` or ``os.PathLike`` without NUL bytes.

    ``TypeError`` for anything else (None, an int, bytes); ``ValueError`` for '' (which would mean
    the current directory) or an embedded NUL."""
    if isinstance(value, bool) or not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a str or os.PathLike file path, got {type(value).__name__} "
                        f"{value!r:.80}")
    text = os.fspath(value)
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a text path, got a {type(text).__name__} path {text!r:.80}")
    if text == "":
        raise ValueError(f"{name} must be a non-empty path, got ''")
    if "\0" in text:
        raise ValueError(f"{name} must not contain a NUL character, got {text!r:.80}")
    return Path(text)


MAX_NESTING = 64  # JSON documents (architectures, metadata): deeper is a mistake or an attack


def check_json_tree(value: object, name: str, max_depth: int = MAX_NESTING) -> None:
    """Check that ``value`` is plain JSON data: dicts with str keys, lists/tuples, str, int, finite
    float, bool, None, nested at most ``max_depth`` deep. Walks iteratively, so a structure
    nested 100,000 deep is refused with a ``ValueError`` rather than a ``RecursionError``. The
    message names the offending place, e.g. ``metadata['a'][3]``."""
    stack: list[tuple[object, str, int]] = [(value, name, 1)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, (dict, list, tuple)):
            if depth > max_depth:
                raise ValueError(f"{name} is nested more than {max_depth} levels deep (at {where:.200}); "
                                 f"expected at most {max_depth}")
            if isinstance(item, dict):
                for k, v in item.items():
                    if not isinstance(k, str):
                        raise TypeError(f"{where:.200} has a key of type {type(k).__name__} ({k!r:.40}); "
                                        "expected str keys only (JSON objects)")
                    stack.append((v, f"{where}[{k!r}]", depth + 1))
            else:
                stack.extend((v, f"{where}[{i}]", depth + 1) for i, v in enumerate(item))
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValueError(f"{where:.200} is {item!r}; expected a finite number (strict JSON)")
        elif item is not None and not isinstance(item, (str, int, float, bool)):
            raise TypeError(f"{where:.200} has type {type(item).__name__}; expected JSON data "
                            "(str, int, float, bool, None, list, dict)")


def json_depth(value: object) -> int:
    """How deeply ``value`` (parsed JSON) nests lists and dicts, computed without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


@contextlib.contextmanager
def refused_as(message: str, rename: tuple[str, str] | None = None) -> Iterator[None]:
    """Re-raise a plain ValueError/TypeError from the block as the same type, prefixed with
    ``message`` (the caller's argument and its shape: a layer deep inside only saw its own input),
    with ``rename`` applied to the inner text. A user's own error type passes through untouched."""
    try:
        yield
    except (ValueError, TypeError) as exc:
        if type(exc) not in (ValueError, TypeError):
            raise
        text = str(exc) if rename is None else str(exc).replace(*rename)
        raise type(exc)(f"{message}: {text}") from exc

