"""``Tensor``: a NumPy array that remembers how it was computed, and reverse mode over that record.

Every operation (``ops.py``, ``array_ops.py``) returns a new ``Tensor`` holding its result, its operands
(``parents``) and a vector-Jacobian product ``vjp(g) -> one gradient per parent``. ``backward()``
sorts the graph topologically with an explicit stack (so a chain of any depth works, no recursion)
and walks it once in reverse, adding each node's contributions into its parents' gradients: a
tensor used twice simply receives two contributions.

Gradients accumulate into ``.grad`` of the leaves (tensors created with ``requires_grad=True``)
across calls, as in PyTorch; call ``zero_grad()`` between steps. A leaf the result does not depend
on keeps ``grad = None`` (``grad()``/``value_and_grad()`` report zeros for it). Intermediate
results keep a gradient only after ``retain_grad()``. Operations never modify their operands'
arrays, so wrapping an array in a Tensor never copies it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from .._validate import check_bool, to_array

Vjp = Callable[[np.ndarray], Sequence["np.ndarray | None"]]

_grad_enabled = True


@contextlib.contextmanager
def _grad_mode(enabled: bool) -> Iterator[None]:
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, enabled
    try:
        yield
    finally:
        _grad_enabled = previous


def no_grad() -> contextlib.AbstractContextManager[None]:
    """Context manager (or decorator) in which operations record no graph: results are constants.

    Use it for evaluation and for parameter updates, where building a graph only costs time.
    """
    return _grad_mode(False)


def enable_grad() -> contextlib.AbstractContextManager[None]:
    """Context manager that records graphs again, even inside ``no_grad()``."""
    return _grad_mode(True)


def is_grad_enabled() -> bool:
    """True unless inside ``no_grad()``."""
    return _grad_enabled


class Tensor:
    """A NumPy array plus what reverse-mode differentiation needs.

    ``Tensor(data, requires_grad=False, name=None)`` wraps ``data`` without copying it when it is
    already an ndarray: updating the array in place (as optimizers do) updates the tensor.
    Only floating arrays can require a gradient; an integer array raises ``TypeError``.

    Comparisons (``t > 0``, ``<``, ``>=``, ``<=``, ``==``, ``!=``) return plain boolean ndarrays with
    no gradient, to build masks (``(t > 0) * t``). A tensor is immutable in the graph: ``t[i] = v``
    is a ``TypeError``; NumPy ufuncs without a recorded counterpart (``np.exp(t)``) are a
    ``TypeError`` naming the one to use (``ad.exp``).

    Attributes: ``data`` (the ndarray), ``grad`` (ndarray of ``data``'s shape and dtype, or None),
    ``requires_grad``, ``parents`` (operand tensors), ``op`` (the operation's name, "" for a leaf),
    ``name`` (an optional label shown by ``to_dot``).
    """

    __slots__ = ("data", "grad", "requires_grad", "parents", "op", "name", "_vjp", "_retain", "_saved",
                 "__weakref__")
    # Tensors are compared by identity in containers; `==` itself compares values (see __eq__).
    __hash__ = object.__hash__

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: object, **kwargs: object) -> object:
        """NumPy's ufuncs on tensors. ``ndarray + Tensor`` (and -, *, /, **, @, unary -) reach here
        as ``np.add(ndarray, tensor)`` and are recorded like ``Tensor + ndarray``; comparisons give
        plain boolean arrays (see ``__gt__``). Every other ufunc (``np.exp(t)``) is a TypeError
        naming the recorded counterpart (``ad.exp``), since running it on the values would lose the
        gradient; so is writing a result into an array (``out=``, ``a += t``)."""
        if "out" in kwargs:
            raise TypeError(f"numpy.{ufunc.__name__} cannot write a Tensor's result into an array (out= or "
                            "an in-place operator such as a += t); tensors are immutable in the graph: "
                            "write a = a + t, which gives a new Tensor")
        if method == "__call__" and not kwargs:
            recorded = _UFUNC_OPS.get(ufunc)
            if recorded is not None:
                return getattr(ops, recorded)(*inputs)
            if ufunc in _COMPARISONS:
                return ufunc(*_values(inputs))
        from . import __all__ as recorded_names

        name = ufunc.__name__
        use = f"use ad.{name}(t)" if name in recorded_names else \
            "use the operations of chainrule.autodiff (ad.exp, ad.log, ad.tanh, ad.sqrt, ...)"
        raise TypeError(f"numpy.{name}{'' if method == '__call__' else '.' + method} does not record "
                        f"gradients on a Tensor; {use}, or pass t.data to work on the values without "
                        "a gradient")

    def __init__(self, data: object, requires_grad: bool = False, name: str | None = None) -> None:
        if isinstance(data, Tensor):
            data = data.data
        arr = data if isinstance(data, np.ndarray) else to_array(data, "Tensor: data")
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"Tensor: data must be a real numeric array, got dtype {arr.dtype}")
        requires_grad = check_bool(requires_grad, "Tensor: requires_grad")
        if requires_grad and arr.dtype.kind != "f":
            raise TypeError(f"Tensor: data must be a floating array to require a gradient, got dtype "
                            f"{arr.dtype}; convert with .astype(np.float64) first")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Tensor: name must be a str or None, got {type(name).__name__}")
        self.data: np.ndarray = arr
        self.grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)
        self.parents: tuple[Tensor, ...] = ()
        self.op = ""
        self.name = name
        self._vjp: Vjp | None = None
        self._retain = False
        self._saved: tuple[tuple[Tensor, int], ...] = ()

    @classmethod
    def _from_op(cls, data: np.ndarray, parents: tuple[Tensor, ...], vjp: Vjp, op: str) -> Tensor:
        """The result of an operation: records parents and vjp only when a gradient can flow."""
        out = cls.__new__(cls)
        out.data, out.grad, out.name, out.op, out._retain = data, None, None, op, False
        if _grad_enabled and any(p.requires_grad for p in parents):
            out.requires_grad, out.parents, out._vjp = True, parents, vjp
            # Leaves hold the caller's arrays (no copy): remember what their values were, so that
            # backward() can refuse to differentiate at values changed in place since (see _check_saved).
            out._saved = tuple((p, _fingerprint(p.data)) for i, p in enumerate(parents)
                               if p._vjp is None and all(q is not p for q in parents[:i])
                               and _values_needed(op, parents, i))
        else:
            out.requires_grad, out.parents, out._vjp, out._saved = False, (), None, ()
        return out

    # ---- array-like surface -------------------------------------------------------------------
    shape = property(lambda self: self.data.shape, doc="Shape of ``data``.")
    dtype = property(lambda self: self.data.dtype, doc="dtype of ``data``.")
    ndim = property(lambda self: self.data.ndim, doc="Number of dimensions of ``data``.")
    size = property(lambda self: self.data.size, doc="Number of elements of ``data``.")

    def __len__(self) -> int:
        return len(self.data)

    def __array_function__(self, func, types, args, kwargs):
        """NumPy functions called on tensors: the ones with a recorded counterpart are recorded
        (``np.sum``, ``np.mean``, ``np.dot``, ``np.reshape``, ``np.transpose``, ``np.concatenate``);
        any other runs on the plain values, unless a gradient would flow through it, where it
        would be lost silently: that is a ``TypeError`` naming the function."""
        recorded = _NUMPY_COUNTERPARTS.get(func)
        if recorded is not None:
            return recorded(*args, **kwargs)
        tensors = [t for t in _tensors_in((args, kwargs)) if t.requires_grad]
        if tensors and _grad_enabled and func not in _NO_GRADIENT:
            raise TypeError(f"numpy.{func.__name__} is not recorded by chainrule.autodiff, so the "
                            "gradient would be lost; use the operations of chainrule.autodiff "
                            "(ad.sum, ad.exp, @, ...), or pass t.data to work on the values")
        return func(*_values(args), **_values(kwargs))

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        # np.asarray(t) gives the values, detached from the graph (as PyTorch's t.numpy()).
        if copy:
            return np.array(self.data, dtype=dtype, copy=True)
        return self.data if dtype is None else self.data.astype(dtype, copy=False)

    def __bool__(self) -> bool:
        # NumPy's rule: only a one-element tensor has a truth value, so `if t:` on more fails loudly.
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous; "
                             "use t.data.any() or t.data.all()")
        return bool(self.data.reshape(()))

    def __float__(self) -> float:
        """The value of a one-element tensor, detached from the graph (as ``item()``)."""
        if self.data.size != 1:
            raise TypeError(f"float(): only a one-element tensor converts to a float, got shape {self.shape}")
        return float(self.data.reshape(()))

    def numpy(self) -> np.ndarray:
        """The underlying array (no copy, no graph)."""
        return self.data

    def item(self) -> float:
        """The value of a one-element tensor as a Python number."""
        return self.data.item()

    def detach(self) -> Tensor:
        """A constant tensor sharing ``data``: gradients do not flow through it."""
        return Tensor(self.data)

    def __repr__(self) -> str:
        extra = f", op={self.op!r}" if self.op else (", requires_grad=True" if self.requires_grad else "")
        body = np.array2string(self.data, precision=6, threshold=20, separator=", ", prefix="Tensor(")
        return f"Tensor({body}{extra})"

    # ---- reverse mode -------------------------------------------------------------------------
    def zero_grad(self) -> None:
        """Forget the accumulated gradient."""
        self.grad = None

    def retain_grad(self) -> Tensor:
        """Keep this intermediate result's gradient in ``.grad`` after ``backward()``."""
        self._retain = True
        return self

    def backward(self, gradient: object = None) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires a gradient.

        ``gradient`` is the upstream gradient dL/d(self), of ``self``'s exact shape; it may be
        omitted only for a one-element tensor (then it is 1).
        """
        if not self.requires_grad:
            raise RuntimeError("backward(): this tensor does not depend on any tensor with "
                               "requires_grad=True (or was computed under no_grad())")
        if gradient is None:
            if self.data.size != 1:
                raise ValueError(f"backward(): the tensor has shape {self.shape}, not a scalar; pass "
                                 f"the upstream gradient, backward(gradient) with shape {self.shape}")
            seed = np.ones_like(self.data)
        else:
            given = to_array(gradient.data if isinstance(gradient, Tensor) else gradient,
                             "backward(): gradient")
            if given.dtype.kind == "c":
                raise TypeError(f"backward(): gradient must be real, got dtype {given.dtype}; a complex "
                                "gradient would lose its imaginary part")
            if given.dtype.kind not in "biuf":
                raise TypeError(f"backward(): gradient must be a real numeric array, got dtype {given.dtype}")
            seed = np.array(given, dtype=self.dtype)
            if seed.shape != self.shape:
                raise ValueError(f"backward(): gradient must have the tensor's shape {self.shape}, "
                                 f"got {seed.shape}")
        _run_backward(self, seed)

    # ---- operators (defined in ops.py and array_ops.py) ----------------------------------------
    def __add__(self, other: object) -> Tensor: return ops.add(self, other)
    def __radd__(self, other: object) -> Tensor: return ops.add(other, self)
    def __sub__(self, other: object) -> Tensor: return ops.sub(self, other)
    def __rsub__(self, other: object) -> Tensor: return ops.sub(other, self)
    def __mul__(self, other: object) -> Tensor: return ops.mul(self, other)
    def __rmul__(self, other: object) -> Tensor: return ops.mul(other, self)
    def __truediv__(self, other: object) -> Tensor: return ops.div(self, other)
    def __rtruediv__(self, other: object) -> Tensor: return ops.div(other, self)
    def __pow__(self, other: object) -> Tensor: return ops.power(self, other)
    def __rpow__(self, other: object) -> Tensor: return ops.power(other, self)
    def __matmul__(self, other: object) -> Tensor: return ops.matmul(self, other)
    def __rmatmul__(self, other: object) -> Tensor: return ops.matmul(other, self)
    def __neg__(self) -> Tensor: return ops.neg(self)
    def __getitem__(self, index: object) -> Tensor: return array_ops.getitem(self, index)

    def __setitem__(self, index: object, value: object) -> None:
        raise TypeError("Tensor does not support item assignment: tensors are immutable in the graph "
                        "(a gradient needs the values each operation saw); build a new tensor, e.g. with "
                        "ad.concatenate or masks (t * mask, ad.maximum)")

    # Comparisons give plain boolean arrays, with no gradient, to build masks: (t > 0) * t.
    def __gt__(self, other: object) -> np.ndarray: return self.data > _values(other)
    def __ge__(self, other: object) -> np.ndarray: return self.data >= _values(other)
    def __lt__(self, other: object) -> np.ndarray: return self.data < _values(other)
    def __le__(self, other: object) -> np.ndarray: return self.data <= _values(other)
    def __eq__(self, other: object) -> np.ndarray: return self.data == _values(other)  # type: ignore[override]
    def __ne__(self, other: object) -> np.ndarray: return self.data != _values(other)  # type: ignore[override]

    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False, *,
            dtype: object = None, out: object = None) -> Tensor:
        """Sum over ``axis`` (all axes by default); the result drops them unless ``keepdims``.
        ``np.sum(t)`` lands here too; its ``dtype``/``out`` are accepted only as their defaults."""
        self._reduction_options("sum", dtype, out)
        return array_ops.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False, *,
             dtype: object = None, out: object = None) -> Tensor:
        """Mean over ``axis`` (all axes by default); the result drops them unless ``keepdims``.
        ``np.mean(t)`` lands here too; its ``dtype``/``out`` are accepted only as their defaults."""
        self._reduction_options("mean", dtype, out)
        return array_ops.mean(self, axis=axis, keepdims=keepdims)

    def _reduction_options(self, name: str, dtype: object, out: object) -> None:
        """Refuse what a recorded reduction cannot honour: writing into ``out`` or changing dtype."""
        if out is not None:
            raise TypeError(f"Tensor.{name}: out= is not supported; the result is a new Tensor "
                            f"(write ad.{name}(t, axis=...) or t.{name}(axis=...))")
        if dtype is not None and np.dtype(dtype) != self.data.dtype:  # type: ignore[arg-type]
            raise TypeError(f"Tensor.{name}: dtype must be None or the tensor's dtype {self.data.dtype}, "
                            f"got {np.dtype(dtype)}")  # type: ignore[arg-type]

    def reshape(self, *shape: int | tuple[int, ...]) -> Tensor:
        """``t.reshape(4, 3)`` or ``t.reshape((4, 3))``: same elements, new shape (-1 infers one)."""
        return array_ops.reshape(self, shape[0] if len(shape) == 1 else shape)

    def transpose(self, *axes) -> Tensor:
        """``t.transpose()``, ``t.transpose(1, 0)`` or ``t.transpose((1, 0))``, as in NumPy."""
        if len(axes) == 1 and not isinstance(axes[0], (int, np.integer)):
            axes = axes[0]
        return array_ops.transpose(self, None if axes is None or len(axes) == 0 else tuple(axes))

    @property
    def T(self) -> Tensor:  # noqa: N802 - NumPy's name
        """The tensor with its axes reversed (the matrix transpose for 2-D)."""
        return array_ops.transpose(self)

    def exp(self) -> Tensor: return ops.exp(self)
    def log(self) -> Tensor: return ops.log(self)
    def sqrt(self) -> Tensor: return ops.sqrt(self)
    def tanh(self) -> Tensor: return ops.tanh(self)
    def sigmoid(self) -> Tensor: return ops.sigmoid(self)
    def relu(self) -> Tensor: return ops.relu(self)
    def abs(self) -> Tensor: return ops.abs(self)


def grad_or_zeros(t: Tensor) -> np.ndarray:
    """``t.grad`` after a backward pass, or zeros of ``t``'s shape and dtype when the result did not
    depend on ``t`` (the exact gradient then, not a missing one)."""
    return t.grad if t.grad is not None else np.zeros_like(t.data)


def _topological_order(root: Tensor) -> list[Tensor]:
    """Nodes that need a gradient, each after all of its parents (depth-first, explicit stack)."""
    order: list[Tensor] = []
    visited: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        stack.extend((p, False) for p in node.parents if p.requires_grad and id(p) not in visited)
    return order


def _run_backward(root: Tensor, seed: np.ndarray) -> None:
    # A vjp may return its input gradient itself or a view of it (the gradient of `+` is g), so
    # the engine writes in place only into sums it allocated itself ("owned", keyed by node).
    grads: dict[int, np.ndarray] = {id(root): seed}
    owned: set[int] = {id(root)}
    handed_out: set[int] = set()
    for node in reversed(_topological_order(root)):
        g = grads.pop(id(node))
        if node._vjp is None or node._retain:
            _store_grad(node, g, handed_out)
        if node._vjp is None:
            continue
        _check_saved(node)
        for parent, pg in zip(node.parents, node._vjp(g), strict=True):
            if pg is None or not parent.requires_grad:
                continue
            if pg.shape != parent.shape:
                raise RuntimeError(f"internal error: the vjp of {node.op!r} returned a gradient of "
                                   f"shape {pg.shape} for an operand of shape {parent.shape}")
            key = id(parent)
            if key not in grads:
                grads[key] = pg
            elif key in owned:
                np.add(grads[key], pg, out=grads[key], casting="unsafe")
            else:
                grads[key] = np.asarray(grads[key] + pg)  # 0-d sums come back as NumPy scalars
                owned.add(key)


# Operations whose vjp uses only shapes, never operand values; and those (products) whose vjp uses
# one operand's values only for the *other* operand's gradient. Skipping their checksums is what
# keeps the check to a few percent of a training step (the first layer's W is never needed).
_SHAPE_ONLY_OPS = frozenset({"+", "sum", "mean", "reshape", "transpose", "getitem", "concatenate"})
_PRODUCT_OPS = frozenset({"*", "@"})


def _values_needed(op: str, parents: tuple[Tensor, ...], i: int) -> bool:
    if op in _SHAPE_ONLY_OPS:
        return False
    if op in _PRODUCT_OPS:
        return any(p.requires_grad for j, p in enumerate(parents) if j != i)
    return True


def _fingerprint(arr: np.ndarray) -> int:
    """A one-pass checksum of ``arr``'s bytes (the wrapping sum of its 8-, 4-, 2- or 1-byte words).
    Any in-place change of the values changes it, except a pure rearrangement of the same values
    (an in-place sort or shuffle), which a sum cannot see. It costs one read of the array, about a
    third of a copy, which is why it is used instead of copying every caller array."""
    if not arr.flags.c_contiguous:
        arr = np.ascontiguousarray(arr)
    size = arr.dtype.itemsize
    words = arr.reshape(-1).view({8: np.uint64, 4: np.uint32, 2: np.uint16}.get(size, np.uint8)) \
        if size in (1, 2, 4, 8) else arr.reshape(-1).view(np.uint8)
    return int(np.add.reduce(words, dtype=np.uint64))


def _check_saved(node: Tensor) -> None:
    """``RuntimeError`` if an operand array of ``node`` was modified in place after it was recorded
    (NumPy arrays have no version counter; this is chainrule's equivalent of PyTorch's check)."""
    for leaf, fingerprint in node._saved:
        if _fingerprint(leaf.data) != fingerprint:
            kind = "leaf" if leaf.requires_grad else "constant"
            what = f"tensor {leaf.name!r}" if leaf.name else \
                f"a {kind} tensor of shape {leaf.shape} and dtype {leaf.dtype}"
            raise RuntimeError(
                f"backward(): the array of {what}, an operand of {node.op!r}, was modified in place after "
                "the forward pass recorded it, so its gradient would be computed from the new values. "
                "Redo the forward pass after changing the array, or wrap a copy (Tensor(a.copy()))")


def _store_grad(node: Tensor, g: np.ndarray, handed_out: set[int]) -> None:
    if node.grad is not None:
        node.grad += g
        return
    # .grad must be a private, writable array: copy views and arrays already given to another node.
    if g.dtype != node.dtype or not g.flags.writeable or g.base is not None or id(g) in handed_out:
        g = np.array(g, dtype=node.dtype)
    handed_out.add(id(g))
    node.grad = g


from . import array_ops, ops  # noqa: E402  (the ops build on Tensor; Tensor's operators are those ops)

# NumPy functions whose results carry no gradient (shapes, comparisons, indices): always allowed.
_NO_GRADIENT = frozenset({np.shape, np.ndim, np.size, np.allclose, np.isclose, np.array_equal,
                          np.argmax, np.argmin, np.argsort, np.count_nonzero})


# The ufuncs behind Python's operators, recorded as the operators are (ndarray + Tensor lands here).
# (Named, not bound: ops is still being imported when this module runs.)
_UFUNC_OPS: dict[np.ufunc, str] = {np.add: "add", np.subtract: "sub", np.multiply: "mul",
                                   np.true_divide: "div", np.power: "power", np.matmul: "matmul",
                                   np.negative: "neg"}
_COMPARISONS = frozenset({np.greater, np.greater_equal, np.less, np.less_equal, np.equal, np.not_equal})


def _tensors_in(obj: object) -> Iterator[Tensor]:
    if isinstance(obj, Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            yield from _tensors_in(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _tensors_in(item)


def _values(obj):
    """``obj`` with every Tensor replaced by its array (inside lists, tuples and dicts)."""
    if isinstance(obj, Tensor):
        return obj.data
    if isinstance(obj, (list, tuple)):
        return type(obj)(_values(item) for item in obj)
    if isinstance(obj, dict):
        return {k: _values(v) for k, v in obj.items()}
    return obj


def _as_tensor(a: object) -> Tensor:
    return a if isinstance(a, Tensor) else Tensor(a)


def _dot(a: object, b: object) -> Tensor:
    # np.dot is matmul for 1-D and 2-D operands, and a product when one side is a scalar.
    if np.ndim(_values(a)) == 0 or np.ndim(_values(b)) == 0:
        return ops.mul(a, b)
    if max(np.ndim(_values(a)), np.ndim(_values(b))) > 2:
        raise TypeError("numpy.dot of arrays with more than 2 dimensions is not recorded; use @ (matmul)")
    return ops.matmul(a, b)


_NUMPY_COUNTERPARTS: dict[Callable, Callable] = {
    np.sum: lambda a, axis=None, dtype=None, out=None, keepdims=False: Tensor.sum(
        _as_tensor(a), axis=axis, keepdims=keepdims, dtype=dtype, out=out),
    np.mean: lambda a, axis=None, dtype=None, out=None, keepdims=False: Tensor.mean(
        _as_tensor(a), axis=axis, keepdims=keepdims, dtype=dtype, out=out),
    np.dot: _dot,
    np.reshape: lambda a, shape=None, **kw: array_ops.reshape(a, kw.get("newshape", shape)),
    np.transpose: lambda a, axes=None: array_ops.transpose(a, axes),
    np.concatenate: lambda arrays, axis=0: array_ops.concatenate(arrays, axis=axis),
}
