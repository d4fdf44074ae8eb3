"""The functional face: ``grad(f)`` and ``value_and_grad(f)`` over plain NumPy inputs.

``f`` is an ordinary Python function written with ``chainrule.autodiff`` operations (or plain
operators on its arguments) that returns a one-element result. The differentiated arguments may be
floating arrays, Python floats, or dicts name -> floating array (the course's parameter dicts).
Gradients come back as NumPy arrays with the argument's structure, shape and dtype (a float for
a Python float, a dict for a dict).

An argument that does not influence the output gets a gradient of zeros (the exact answer, not
an error). Integer arguments cannot be differentiated and raise ``TypeError``, and so does an
``f`` that returns a plain number instead of a Tensor: that almost always means the graph was cut
(``float(t)``, ``t.item()``), and zeros would be a silent wrong answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import wraps
from typing import Any

import numpy as np

from .tensor import Tensor, enable_grad, grad_or_zeros


def _leaf(value: object, where: str) -> Tensor:
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, bool) or (isinstance(value, (int, np.integer))):
        raise TypeError(f"{where} is the integer {value!r}; only floating values can be differentiated "
                        f"(pass {float(value)!r})")
    arr = np.asarray(value)
    if arr.dtype.kind != "f":
        raise TypeError(f"{where} has dtype {arr.dtype}; only floating arrays can be differentiated "
                        "(convert with .astype(np.float64))")
    return Tensor(arr, requires_grad=True)


def _leaves(value: object, where: str) -> Tensor | dict[str, Tensor]:
    if isinstance(value, Mapping):  # a dict, or a live view such as Sequential.params
        return {k: _leaf(v, f"{where}[{k!r}]") for k, v in value.items()}
    return _leaf(value, where)


def _gradient(original: object, leaf: Tensor) -> Any:
    g = grad_or_zeros(leaf)
    return float(g) if isinstance(original, float) else g


def _argnums(argnums: int | Sequence[int], nargs: int) -> tuple[int, ...]:
    if isinstance(argnums, (int, np.integer)):
        argnums = (argnums,)
    elif not isinstance(argnums, (tuple, list)):
        raise TypeError(f"argnums must be an int or a tuple of ints, got {argnums!r}")
    nums = tuple(argnums)
    if not nums:
        raise ValueError("argnums must name at least one argument, got ()")
    for i in nums:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not -nargs <= i < nargs:
            raise ValueError(f"argnums: {i!r} is not a valid position for a call with {nargs} "
                             "positional argument(s)")
    return tuple(int(i) % nargs for i in nums)


def value_and_grad(f: Callable[..., Any],
                   argnums: int | Sequence[int] = 0) -> Callable[..., tuple[float, Any]]:
    """Return a function computing ``(f(*args), gradient)`` for the arguments at ``argnums``.

    With an int ``argnums`` the gradient has the structure of that argument; with a tuple it is a
    tuple of such gradients. ``f`` must return a one-element Tensor; its value is returned as a
    float.
    """
    if not callable(f):
        raise TypeError(f"f must be a function returning a one-element Tensor, got {type(f).__name__}")
    if isinstance(argnums, bool) or not isinstance(argnums, (int, np.integer, tuple, list)):
        raise TypeError(f"argnums must be an int or a tuple of ints, got {type(argnums).__name__} "
                        f"{argnums!r:.40}")
    @wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> tuple[float, Any]:
        nums = _argnums(argnums, len(args))
        call_args = list(args)
        for i in nums:
            call_args[i] = _leaves(args[i], f"argument {i} of {getattr(f, '__name__', 'f')}")
        name = getattr(f, "__name__", "f")
        with enable_grad():
            try:
                out = f(*call_args, **kwargs)
            except TypeError as exc:
                if exc.__traceback__ is not None and exc.__traceback__.tb_next is None:
                    # Raised by the call itself (wrong number of arguments), not inside f.
                    raise TypeError(f"f ({name}) cannot be called with {len(args)} argument(s): "
                                    f"{exc}") from exc
                raise
            if not isinstance(out, Tensor):
                # A number here most often means the graph was cut (float(t), t.item(), t.data,
                # np.sum(t.data)); answering zeros would be a silent wrong gradient.
                raise TypeError(f"f ({name}) must return a Tensor computed from its arguments, got "
                                f"{type(out).__name__}; float(), .item() or .data cut the graph (for a "
                                "constant function return Tensor(value), whose gradient is zeros)")
            if out.size != 1:
                raise ValueError(f"{name} must return a single number to be differentiated, got "
                                 f"shape {out.shape}")
            if out.requires_grad:
                out.backward()
        value = float(out)
        grads = []
        for i in nums:
            leaves = call_args[i]
            if isinstance(leaves, dict):
                grads.append({k: _gradient(args[i][k], t) for k, t in leaves.items()})
            else:
                grads.append(_gradient(args[i], leaves))
        return value, (grads[0] if isinstance(argnums, (int, np.integer)) else tuple(grads))

    return wrapper


def grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """Return a function computing the gradient of ``f`` w.r.t. the arguments at ``argnums``
    (see ``value_and_grad``)."""
    vg = value_and_grad(f, argnums)

    @wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return vg(*args, **kwargs)[1]

    return wrapper
