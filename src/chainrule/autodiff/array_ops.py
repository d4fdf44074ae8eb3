"""Reductions, shape operations, indexing and the softmax family, each with its VJP beside it.

Reductions take ``axis`` (None, an int or a tuple of ints, negative allowed) and ``keepdims`` as in
NumPy. ``cross_entropy`` is a fused op (softmax + negative log-likelihood, mean over the batch)
whose VJP costs one subtraction: the fast path for training classifiers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._validate import check_bool, to_array
from ..nn import functional as F
from ..nn.losses import check_cross_entropy_target
from .ops import ArrayLike, as_tensor, exp
from .tensor import Tensor

Axis = int | tuple[int, ...] | None


def _axes(axis: Axis, ndim: int, op: str, *, unique: bool = True) -> tuple[int, ...]:
    """``axis`` as sorted non-negative ints, checked against ``ndim`` (and for repeats)."""
    if axis is None:
        return tuple(range(ndim))
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    for ax in axes:
        if isinstance(ax, bool) or not isinstance(ax, (int, np.integer)):
            raise TypeError(f"{op}: axis must be None, an int or a tuple of ints, got {axis!r}")
        if not -ndim <= ax < ndim:
            raise ValueError(f"{op}: axis {ax} is out of range for a tensor with {ndim} dimension(s)")
    normalised = tuple(sorted(int(ax) % ndim for ax in axes))
    if unique and len(set(normalised)) != len(normalised):
        raise ValueError(f"{op}: axis {axis!r} names the same axis twice (a tensor with {ndim} dimension(s))")
    return normalised


def _expand_reduced(g: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    """Give a reduction's gradient back its reduced axes (length 1), ready to broadcast."""
    return g if keepdims else np.expand_dims(g, axes)


# ---- reductions -------------------------------------------------------------------------------
def sum(a: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Sum over ``axis``; every summed element receives the upstream gradient unchanged."""
    a = as_tensor(a)
    keepdims = check_bool(keepdims, "sum: keepdims")
    axes = _axes(axis, a.ndim, "sum")
    out = np.sum(a.data, axis=axes, keepdims=keepdims)

    def vjp(g):
        return (np.broadcast_to(_expand_reduced(g, axes, keepdims), a.shape),)
    return Tensor._from_op(np.asarray(out), (a,), vjp, "sum")


def mean(a: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Mean over ``axis``; each element receives g / (number of elements averaged)."""
    a = as_tensor(a)
    keepdims = check_bool(keepdims, "mean: keepdims")
    axes = _axes(axis, a.ndim, "mean")
    count = int(np.prod([a.shape[ax] for ax in axes]))
    if count == 0:  # NumPy would return NaN with a warning: the mean of nothing is undefined
        raise ValueError(f"mean: a of shape {a.shape} has no elements along axis {axis!r}; the mean of "
                         "an empty set is undefined")
    out = np.mean(a.data, axis=axes, keepdims=keepdims)

    def vjp(g):
        return (np.broadcast_to(_expand_reduced(g, axes, keepdims) / count, a.shape),)
    return Tensor._from_op(np.asarray(out), (a,), vjp, "mean")


def logsumexp(a: ArrayLike, axis: Axis = -1, keepdims: bool = False) -> Tensor:
    """log(sum(exp(a))) over ``axis`` (an int, a tuple or None for all), max-shifted so it never
    overflows; d/da = exp(a - logsumexp(a)), the softmax over those axes."""
    a = as_tensor(a)
    keepdims = check_bool(keepdims, "logsumexp: keepdims")
    axes = _axes(axis, a.ndim, "logsumexp")
    if any(a.shape[ax] == 0 for ax in axes):
        raise ValueError(f"logsumexp: a of shape {a.shape} is empty along axis {axis!r}")
    out = F.logsumexp(a.data, axis=axes, keepdims=True)

    def vjp(g):
        return (_expand_reduced(g, axes, keepdims) * np.exp(a.data - out),)
    return Tensor._from_op(out if keepdims else np.squeeze(out, axis=axes), (a,), vjp, "logsumexp")


def log_softmax(a: ArrayLike, axis: int = -1) -> Tensor:
    """a - logsumexp(a) along ``axis`` (one axis, as in PyTorch); VJP: g - softmax(a) * sum(g)."""
    a = as_tensor(a)
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"log_softmax: axis must be a single int, got {axis!r}")
    (ax,) = _axes(axis, a.ndim, "log_softmax")
    if a.shape[ax] == 0:
        raise ValueError(f"log_softmax: a of shape {a.shape} is empty along axis {axis}")
    out = F.log_softmax(a.data, axis=ax)

    def vjp(g):
        return (g - np.exp(out) * g.sum(axis=ax, keepdims=True),)
    return Tensor._from_op(out, (a,), vjp, "log_softmax")


def softmax(a: ArrayLike, axis: int = -1) -> Tensor:
    """exp(log_softmax(a)) along ``axis``: rows are positive and sum to 1."""
    return exp(log_softmax(a, axis=axis))


def cross_entropy(logits: ArrayLike, target: np.ndarray) -> Tensor:
    """Mean over the batch of -log softmax(logits)[target], fused into one op.

    logits: (N, C). target: integer labels (N,) in [0, C) or class probabilities (N, C) in [0, 1]
    (checked as ``CrossEntropyLoss`` checks them).
    VJP: (softmax(logits) * sum(t) - t) / N, i.e. (softmax - onehot) / N for labels.
    """
    z = as_tensor(logits, name="logits")
    if z.ndim != 2:
        raise ValueError(f"cross_entropy: logits must have shape (N, C), got {z.shape}")
    n, c = z.shape
    if n == 0 or c == 0:  # the mean over no examples is undefined: NumPy would give NaN
        raise ValueError(f"cross_entropy: logits must have at least one row and one class, got shape "
                         f"{z.shape}")
    t = check_cross_entropy_target(target.data if isinstance(target, Tensor) else target, n, c, z.dtype,
                                   "cross_entropy")
    # The vjp closes over t: keep our own copy, not the caller's label array (changed in place later,
    # it would change the gradient silently).
    t = t.copy()
    logp = F.log_softmax(z.data, axis=1)
    if t.ndim == 1:
        rows = np.arange(n)
        out = -logp[rows, t].sum() / n

        def vjp(g):
            d = np.exp(logp) * (g / n)
            d[rows, t] -= g / n
            return (d,)
    else:
        out = -np.sum(t * logp) / n

        def vjp(g):
            return ((np.exp(logp) * t.sum(axis=1, keepdims=True) - t) * (g / n),)
    return Tensor._from_op(np.asarray(out, dtype=z.dtype), (z,), vjp, "cross_entropy")


# ---- shape and indexing -----------------------------------------------------------------------
def reshape(a: ArrayLike, shape: int | Sequence[int]) -> Tensor:
    """A view with a new shape (same number of elements); the gradient is reshaped back."""
    a = as_tensor(a)
    dims = (shape,) if isinstance(shape, (int, np.integer)) else shape
    if isinstance(shape, bool) or isinstance(dims, (str, bytes)) or not isinstance(dims, (tuple, list)) \
            or any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) for d in dims):
        raise TypeError(f"reshape: shape must be an int or a tuple of ints, got {type(shape).__name__} "
                        f"{shape!r:.60}")
    try:
        out = a.data.reshape(shape)
    except ValueError as err:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {a.shape} ({a.size} elements) "
                         f"into shape {shape}") from err
    return Tensor._from_op(out, (a,), lambda g: (g.reshape(a.shape),), "reshape")


def transpose(a: ArrayLike, axes: Sequence[int] | None = None) -> Tensor:
    """Permute axes (reverse them when ``axes`` is None); the gradient is permuted back."""
    a = as_tensor(a)
    inverse = None
    if axes is not None:
        if isinstance(axes, (str, bytes)) or not isinstance(axes, (tuple, list)):
            raise TypeError(f"transpose: axes must be None or a tuple of ints, got {type(axes).__name__} "
                            f"{axes!r:.60}")
        axes = tuple(axes)
        if any(isinstance(ax, bool) or not isinstance(ax, (int, np.integer)) for ax in axes):
            raise TypeError(f"transpose: axes must be a tuple of ints, got {axes!r:.60}")
        if len(axes) != a.ndim or \
                _axes(axes, a.ndim, "transpose: axes", unique=False) != tuple(range(a.ndim)):
            raise ValueError(f"transpose: axes must be a permutation of {tuple(range(a.ndim))}, "
                             f"got {axes}")
        inverse = tuple(int(i) for i in np.argsort([int(ax) % a.ndim for ax in axes]))
    out = np.transpose(a.data, axes)
    return Tensor._from_op(out, (a,), lambda g: (np.transpose(g, inverse),), "transpose")


def _has_integer_array(index: object) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, (list, np.ndarray)) and np.asarray(p).dtype.kind in "iu"
                        for p in parts)


def getitem(a: ArrayLike, index: object) -> Tensor:
    """``a[index]`` with NumPy semantics (slices, integers, boolean masks, integer arrays).

    VJP: scatter g into zeros of a's shape; with integer arrays an element picked k times
    receives k contributions (``np.add.at``)."""
    a = as_tensor(a)
    if isinstance(index, Tensor):
        index = index.data
    elif isinstance(index, tuple):
        index = tuple(p.data if isinstance(p, Tensor) else p for p in index)
    if isinstance(index, list):
        index = to_array(index, "getitem: index")
    # The vjp closes over the index: copy index arrays, which the caller may change in place later.
    if isinstance(index, np.ndarray):
        index = index.copy()
    elif isinstance(index, tuple):
        index = tuple(p.copy() if isinstance(p, np.ndarray) else p for p in index)
    try:
        out = a.data[index]
    except (IndexError, OverflowError, TypeError, ValueError) as err:
        raise IndexError(f"getitem: index {index!r} is invalid for a tensor of shape {a.shape}: "
                         f"{err}") from err
    fancy = _has_integer_array(index)

    def vjp(g):
        d = np.zeros_like(a.data)
        if fancy:
            np.add.at(d, index, g)
        else:
            d[index] = g
        return (d,)
    return Tensor._from_op(np.asarray(out), (a,), vjp, "getitem")


def concatenate(tensors: Sequence[ArrayLike], axis: int = 0) -> Tensor:
    """Join tensors along ``axis``; the gradient is split back into the pieces."""
    if isinstance(tensors, (str, bytes, Tensor, np.ndarray)) or not isinstance(tensors, Sequence):
        raise TypeError(f"concatenate: tensors must be a list or tuple of tensors/arrays, got "
                        f"{type(tensors).__name__}")
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"concatenate: axis must be an int, got {type(axis).__name__} {axis!r:.40} "
                        "(NumPy's axis=None, flattening first, is not supported: reshape the tensors)")
    parts = tuple(as_tensor(t, name=f"tensors[{i}]") for i, t in enumerate(tensors))
    if not parts:
        raise ValueError("concatenate: tensors must hold at least one tensor, got an empty sequence")
    if any(p.ndim == 0 for p in parts):
        raise ValueError(f"concatenate: tensors must have at least one axis, got shapes "
                         f"{[p.shape for p in parts]}")
    if not -parts[0].ndim <= axis < parts[0].ndim:
        raise ValueError(f"concatenate: axis {axis} is out of range for tensors with {parts[0].ndim} "
                         "dimension(s)")
    try:
        out = np.concatenate([p.data for p in parts], axis=axis)
    except ValueError as err:
        raise ValueError(f"concatenate: tensors of shapes {[p.shape for p in parts]} cannot be joined along "
                         f"axis {axis}: {err}") from err
    bounds = np.cumsum([p.shape[axis] for p in parts])[:-1]

    def vjp(g):
        return tuple(np.split(g, bounds, axis=axis))
    return Tensor._from_op(out, parts, vjp, "concatenate")
