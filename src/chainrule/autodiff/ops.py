"""Arithmetic and elementwise operations: each forward next to its vector-Jacobian product (VJP).

Each function takes tensors, NumPy arrays or Python numbers and returns a ``Tensor``. The VJP
``vjp(g)`` receives g = dL/d(out) and returns dL/d(operand) for each operand (None for operands
that need no gradient, so no work is spent on them). Broadcasting follows NumPy; ``_unbroadcast``
sums a gradient back to its operand's shape.

The primitives are ``add``, ``mul``, ``power``, ``matmul`` and the elementwise functions;
``neg``, ``sub``, ``div`` and ``leaky_relu`` are built from them, so their derivatives come for
free (negation is exact; a * b ** -1 differs from a / b by at most one rounding). Reductions,
shape operations and the softmax family live in ``array_ops.py``.
"""

from __future__ import annotations

import numpy as np

from .._validate import check_real
from ..nn import functional as F
from .tensor import Tensor

ArrayLike = Tensor | np.ndarray | float | int


def as_tensor(x: ArrayLike, like: Tensor | None = None, name: str = "a") -> Tensor:
    """``x`` as a Tensor (constant unless it already is one). A Python number takes the floating
    dtype of ``like``, so ``2 * w`` stays float32 for a float32 ``w`` (as in NumPy). ``name`` is the
    operand's name in error messages."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (int, float)) and not isinstance(x, bool) and like is not None \
            and like.dtype.kind == "f":
        return Tensor(np.asarray(x, dtype=like.dtype))
    try:
        return Tensor(x)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{name} must be a Tensor, a real numeric array or a number: "
                        f"{str(exc).replace('Tensor: data', name)}") from None


def _lift2(a: ArrayLike, b: ArrayLike) -> tuple[Tensor, Tensor]:
    a_t = a if isinstance(a, Tensor) else None
    b_t = b if isinstance(b, Tensor) else None
    return as_tensor(a, b_t, "a"), as_tensor(b, a_t, "b")


def _broadcast(op: str, fn, a: Tensor, b: Tensor) -> np.ndarray:
    try:
        return fn(a.data, b.data)
    except ValueError as err:
        if op == "matmul" and (a.ndim == 0 or b.ndim == 0):
            raise ValueError(f"matmul: a and b must have at least one axis, got shapes a {a.shape} "
                             f"and b {b.shape} (use * to scale by a number)") from err
        if op == "matmul":
            raise ValueError(f"matmul: a of shape {a.shape} and b of shape {b.shape} are not aligned "
                             f"(the last axis of a must equal the "
                             f"{'only' if b.ndim == 1 else 'second-to-last'} axis of b)") from err
        try:
            np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            raise ValueError(f"{op}: a of shape {a.shape} and b of shape {b.shape} do not broadcast "
                             "together (NumPy rules: trailing axes must be equal or 1)") from err
        raise ValueError(f"{op}: {err} (a has dtype {a.dtype}, b has dtype {b.dtype})") from err


def _unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``g`` over the axes that broadcasting added to or stretched in an operand of ``shape``."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    stretched = tuple(lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1)
    axes = tuple(range(lead)) + stretched
    return g.sum(axis=axes, keepdims=True).reshape(shape) if axes else g.reshape(shape)


# ---- arithmetic -------------------------------------------------------------------------------
def add(a: ArrayLike, b: ArrayLike) -> Tensor:
    """a + b (broadcasting)."""
    a, b = _lift2(a, b)
    out = _broadcast("add", np.add, a, b)

    def vjp(g):
        return (_unbroadcast(g, a.shape) if a.requires_grad else None,
                _unbroadcast(g, b.shape) if b.requires_grad else None)
    return Tensor._from_op(out, (a, b), vjp, "+")


def mul(a: ArrayLike, b: ArrayLike) -> Tensor:
    """a * b (broadcasting)."""
    a, b = _lift2(a, b)
    out = _broadcast("mul", np.multiply, a, b)

    def vjp(g):
        return (_unbroadcast(g * b.data, a.shape) if a.requires_grad else None,
                _unbroadcast(g * a.data, b.shape) if b.requires_grad else None)
    return Tensor._from_op(out, (a, b), vjp, "*")


def power(a: ArrayLike, b: ArrayLike) -> Tensor:
    """a ** b. d/da = b a^(b-1), taken as 0 where b == 0 (a^0 is the constant 1, even at a = 0,
    where the formula would give 0 * inf). The exponent's gradient a^b log(a) is defined for a > 0;
    it is 0 where a == 0 and NaN where a < 0. Both conventions are PyTorch's."""
    a, b = _lift2(a, b)
    out = _broadcast("pow", np.power, a, b)

    def vjp(g):
        ga = gb = None
        if a.requires_grad:
            with np.errstate(invalid="ignore", divide="ignore"):
                local = np.where(b.data == 0, 0, b.data * np.power(a.data, b.data - 1))
            ga = _unbroadcast(g * local.astype(out.dtype, copy=False), a.shape)
        if b.requires_grad:
            with np.errstate(invalid="ignore", divide="ignore"):
                log_a = np.where(a.data == 0, 0.0, np.log(a.data)).astype(out.dtype, copy=False)
            gb = _unbroadcast(g * out * log_a, b.shape)
        return ga, gb
    return Tensor._from_op(out, (a, b), vjp, "**")


def matmul(a: ArrayLike, b: ArrayLike) -> Tensor:
    """a @ b with NumPy's rules (1-D operands are promoted and the added axis removed; leading
    axes broadcast). For 2-D: dA = g @ B.T, dB = A.T @ g."""
    a, b = _lift2(a, b)
    out = _broadcast("matmul", np.matmul, a, b)

    def vjp(g):
        if a.ndim == 2 and b.ndim == 2:
            return (g @ b.data.T if a.requires_grad else None,
                    a.data.T @ g if b.requires_grad else None)
        a2 = a.data if a.ndim > 1 else a.data[None, :]
        b2 = b.data if b.ndim > 1 else b.data[:, None]
        g2 = g if b.ndim > 1 else g[..., None]
        g2 = g2 if a.ndim > 1 else np.expand_dims(g2, -2)
        ga = gb = None
        if a.requires_grad:
            ga = _unbroadcast(g2 @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        if b.requires_grad:
            gb = _unbroadcast(np.swapaxes(a2, -1, -2) @ g2, b2.shape).reshape(b.shape)
        return ga, gb
    return Tensor._from_op(out, (a, b), vjp, "@")


def neg(a: ArrayLike) -> Tensor:
    """-a, as a * -1."""
    return mul(a, -1)


def sub(a: ArrayLike, b: ArrayLike) -> Tensor:
    """a - b, as a + (-b)."""
    a, b = _lift2(a, b)
    return add(a, neg(b))


def div(a: ArrayLike, b: ArrayLike) -> Tensor:
    """a / b, as a * b ** -1."""
    a, b = _lift2(a, b)
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"div: a of shape {a.shape} and b of shape {b.shape} do not broadcast together "
                         "(NumPy rules: trailing axes must be equal or 1)") from None
    if b.dtype.kind != "f":  # integers to the power -1 are an error in NumPy; a / b is a float anyway
        b = Tensor(b.data.astype(np.result_type(a.dtype, np.float64) if a.dtype.kind != "f" else a.dtype))
    return mul(a, power(b, -1))


# ---- elementwise functions --------------------------------------------------------------------
def _unary(op: str, a: ArrayLike, out: np.ndarray, local_grad) -> Tensor:
    """Elementwise op whose VJP is g * local_grad(), with local_grad computed only when needed."""
    a = as_tensor(a)
    return Tensor._from_op(out, (a,), lambda g: (g * local_grad(),), op)


def exp(a: ArrayLike) -> Tensor:
    """e^a; d/da = e^a."""
    a = as_tensor(a)
    out = np.exp(a.data)
    return _unary("exp", a, out, lambda: out)


def log(a: ArrayLike) -> Tensor:
    """Natural logarithm; d/da = 1/a."""
    a = as_tensor(a)
    return _unary("log", a, np.log(a.data), lambda: 1 / a.data)


def sqrt(a: ArrayLike) -> Tensor:
    """Square root; d/da = 1 / (2 sqrt(a))."""
    a = as_tensor(a)
    out = np.sqrt(a.data)
    return _unary("sqrt", a, out, lambda: 0.5 / out)


def tanh(a: ArrayLike) -> Tensor:
    """Hyperbolic tangent; d/da = 1 - tanh(a)^2."""
    a = as_tensor(a)
    out = np.tanh(a.data)
    return _unary("tanh", a, out, lambda: 1 - out * out)


def sin(a: ArrayLike) -> Tensor:
    """Sine; d/da = cos(a)."""
    a = as_tensor(a)
    return _unary("sin", a, np.sin(a.data), lambda: np.cos(a.data))


def cos(a: ArrayLike) -> Tensor:
    """Cosine; d/da = -sin(a)."""
    a = as_tensor(a)
    return _unary("cos", a, np.cos(a.data), lambda: -np.sin(a.data))


def sigmoid(a: ArrayLike) -> Tensor:
    """Logistic function (overflow-free, from ``chainrule.nn.functional``); d/da = s (1 - s)."""
    a = as_tensor(a)
    out = F.sigmoid(a.data)
    return _unary("sigmoid", a, out, lambda: out * (1 - out))


def softplus(a: ArrayLike) -> Tensor:
    """log(1 + e^a) without overflow (from ``chainrule.nn.functional``); d/da = sigmoid(a)."""
    a = as_tensor(a)
    return _unary("softplus", a, F.softplus(a.data), lambda: F.sigmoid(a.data))


def relu(a: ArrayLike) -> Tensor:
    """max(a, 0); d/da = 1 where a > 0, else 0 (subgradient 0 at 0, as in PyTorch)."""
    a = as_tensor(a)
    return _unary("relu", a, np.maximum(a.data, 0), lambda: a.data > 0)


def abs(a: ArrayLike) -> Tensor:  # noqa: A001 - the NumPy/PyTorch name
    """|a|; d/da = sign(a) (0 at 0, as in PyTorch)."""
    a = as_tensor(a)
    return _unary("abs", a, np.abs(a.data), lambda: np.sign(a.data))


def maximum(a: ArrayLike, b: ArrayLike) -> Tensor:
    """Elementwise max(a, b) (broadcasting). The gradient goes to the larger operand; at ties it
    is split evenly between both (as in PyTorch)."""
    a, b = _lift2(a, b)
    out = _broadcast("maximum", np.maximum, a, b)

    def vjp(g):
        share = np.where(a.data > b.data, 1.0, np.where(a.data == b.data, 0.5, 0.0)).astype(g.dtype)
        return (_unbroadcast(g * share, a.shape) if a.requires_grad else None,
                _unbroadcast(g * (1 - share), b.shape) if b.requires_grad else None)
    return Tensor._from_op(out, (a, b), vjp, "maximum")


def leaky_relu(a: ArrayLike, negative_slope: float = 0.01) -> Tensor:
    """a for a > 0, else negative_slope * a; built as relu(a) - negative_slope * relu(-a)."""
    negative_slope = check_real(negative_slope, "leaky_relu: negative_slope")
    return sub(relu(a), mul(negative_slope, relu(neg(a))))
