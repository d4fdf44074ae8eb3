"""The two contracts every part of chainrule builds on: ``Layer`` and ``Loss``.

A layer maps ``x`` of shape (N, ...) to ``y`` and back::

    y  = layer.forward(x)        # caches what backward needs
    dx = layer.backward(dy)      # dy = dL/dy; fills layer.grads[name] = dL/dparams[name]

``params`` and ``grads`` are dicts name -> array with matching shapes and dtypes (a ``Sequential``'s
are live views over its layers' dicts). Optimizers update ``params`` arrays in place, so references
to them stay valid. Subclass a layer and override
``backward`` to test your own derivation: the gradient checker compares it with the numbers.

Inputs and gradients are float32 or float64 and keep their dtype: a dout of another dtype than the
forward output is an error, not a silent upcast. ``backward`` returns a new array and never writes
into ``dout``. ``backward_params(dy)`` fills ``grads`` only, for a first layer whose input is data.

Every call returns new arrays and copies what it caches, so nothing a caller holds changes behind its
back. ``reuse_buffers(model, loss)`` is the training fast path ``fit`` runs its steps in: the same
forward and backward code, writing into arrays the layer owns instead of new ones (see there).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

from .._validate import check_float_array, check_float_dtype, check_mapping, to_array

# The dtypes layers accept; arrays of them carry these very objects, so ``is`` is a quick first test.
_FLOAT32, _FLOAT64 = np.dtype(np.float32), np.dtype(np.float64)

__all__ = ["Layer", "Loss", "buffers_of", "check_float_dtype", "mode", "reuse_buffers", "sublayers"]


class Layer:
    """Base class: a differentiable map with its own parameters and cached forward state.

    The contract a layer (built-in or your own subclass) keeps:

    - ``forward(x) -> y``: x is (N, ...) float32/float64; cache on ``self`` what backward needs.
    - ``backward(dout) -> dx``: ``dout`` = dL/dy has y's shape and dtype; return dL/dx with x's
      shape and store ``self.grads[name] = dL/dparams[name]``. Return a new array and never modify
      ``dout`` in place (the caller may still use it).
    - ``params``: dict name -> array (``{"W": ..., "b": ...}``; empty for a parameter-free layer).
      Optimizers update these arrays in place, so keep the same array objects.
    - ``grads``: keyed exactly like ``params`` ("W", not "dW"), each with its parameter's shape and
      dtype. ``zero_grad()`` sets them to zeros; call it at the end of ``__init__`` so ``grads`` is
      complete before the first backward.
    - ``buffers``: dict name -> array of state that is saved but not trained (BatchNorm1d's
      ``running_mean``/``running_var``); empty for most layers. ``state_dict()`` holds params and
      buffers; a composite exposes its children's buffers as it does their params.
    - ``training``: True in training mode; ``train()``/``eval()`` set it on the layer and every
      layer it holds. A layer whose forward depends on the mode (Dropout, BatchNorm1d) reads it.

    ``fit`` runs its steps inside ``reuse_buffers``, where built-in layers write their results into
    arrays they own instead of new ones (the same forward and backward code; see there).

    A composite layer (one built from other layers) exposes its children's parameters rather than
    copies: make ``params``/``grads`` read-only properties that read the children on every access,
    with prefixed names, and forward ``zero_grad`` to the children::

        class Residual(Layer):                       # y = x + inner(x)
            def __init__(self, inner):
                super().__init__()
                self.inner = inner
            params = property(lambda self: {f"inner.{k}": v for k, v in self.inner.params.items()})
            grads = property(lambda self: {f"inner.{k}": v for k, v in self.inner.grads.items()})
            def zero_grad(self):
                self.inner.zero_grad()
            def forward(self, x):
                return x + self.inner.forward(x)
            def backward(self, dout):
                return dout + self.inner.backward(dout)

    Copying a child's dict once (``self.grads = dict(child.grads)``) goes stale, because every
    ``backward`` stores new gradient arrays; ``fit`` warns when a step leaves gradients unchanged.
    ``Sequential.params``/``grads`` are live views, so ``self.params = seq.params`` also works.
    Check a layer with ``chainrule.assert_gradients(layer, x)``; give autodiff its forward with
    ``chainrule.autodiff.register_layer`` so ``check_model(..., autodiff=True)`` can use it.
    """

    #: True in training mode (the default), False in evaluation mode: see ``train``/``eval``.
    training: bool = True

    # True inside ``reuse_buffers`` (fit's steps): ``_scratch`` then hands out the layer's own arrays.
    _reuse: bool = False
    # Set by ``reuse_buffers`` in a Sequential chain: the previous layer hands over its output (the
    # next layer its dx) as an array it owns and never reads again, so this layer may write into it.
    _takes_input: bool = False
    _takes_dout: bool = False
    # A class whose forward output and backward dx are, inside ``reuse_buffers``, its own arrays that
    # it never reads again (Linear) sets this; a subclass overriding forward or backward loses it.
    _hands_over: bool = False

    def __new__(cls, *args, **kwargs):
        # The constructor's arguments are the layer's architecture: chainrule.save records them
        # (``config``) so that chainrule.load can rebuild a custom layer without pickling it.
        self = super().__new__(cls)
        self._init_args = (args, kwargs)
        return self

    def __init__(self) -> None:
        # A composite may define params/grads/buffers as read-only properties over its children.
        for name in ("params", "grads", "buffers"):
            if not isinstance(getattr(type(self), name, None), property):
                setattr(self, name, {})
        self.training = True

    # ---- train/eval modes (PyTorch's semantics) ---------------------------------------------
    def train(self, mode: bool = True) -> Layer:
        """Set training mode (``mode=True``) or evaluation mode on this layer and every layer it
        holds (in attributes, lists or tuples); return ``self``. Dropout drops and BatchNorm1d uses
        batch statistics only in training mode. Layers are created in training mode."""
        if not isinstance(mode, bool):
            raise TypeError(f"train(mode): mode must be a bool, got {type(mode).__name__}")
        for layer in sublayers(self):
            layer.training = mode
        return self

    def eval(self) -> Layer:
        """Set evaluation mode on this layer and its sublayers (``train(False)``); return ``self``."""
        return self.train(False)

    def summary(self, input_shape: tuple[int, ...] | None = None):
        """A table of the layers, their output shapes and parameter counts: see
        ``chainrule.nn.summary``. ``print(model.summary())``; in Jupyter it displays as is."""
        from .summary import summary

        return summary(self, input_shape)

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must implement forward(x)")

    def backward(self, dout: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must implement backward(dout)")

    def backward_params(self, dout: np.ndarray) -> None:
        """Fill ``grads`` from ``dout`` when dL/dx is not needed (a network's first layer).

        The default runs ``backward`` and drops dx, so a subclass that overrides only ``backward`` is
        still the code that fills ``grads``; layers that can skip the dx work override this.
        """
        self.backward(dout)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    # Opt-in to the batched gradient check (``chainrule.gradcheck.batched``), which evaluates the
    # perturbed costs of many parameter elements at once. A layer that keeps these defaults is
    # checked element by element, as before. A subclass that overrides ``forward`` is checked element
    # by element too, unless it also defines these methods in its own class body (its forward may
    # compute something else than the one they were written for).

    #: True when output element (n, i) depends on input element (n, i) alone (the activations), so a
    #: perturbation confined to some elements stays confined to them.
    elementwise: bool = False

    def forward_rows(self, x: np.ndarray) -> np.ndarray:
        """``forward`` of a stack of inputs, caching nothing: x (K, M, ...) -> (K, M, ...).

        ``x[k]`` holds M rows (the batch, or a single perturbed row), so override it only when each
        output row depends on its own input row and the parameters alone (Linear, the activations,
        Softmax; not a batch normalisation in training mode). ``out[k]`` must equal
        ``forward(x[k])`` to rounding. The default raises: the layer is not batched.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement forward_rows")

    def perturbed_columns(self, name: str, flat: np.ndarray, delta: np.ndarray, x: np.ndarray,
                          y: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """The outputs for K perturbations of ``params[name]`` when each one changes a single
        output column: element ``flat[k]`` moved by ``delta[k]``, at input x (N, D) whose output is
        y (N, C). Returns (cols (K,), values (K, N)): output column cols[k] becomes values[k].
        None (the default): the batched check perturbs the parameter element by element and runs
        ``forward_rows`` on the cached input."""
        return None

    def taylor(self, x: np.ndarray, y: np.ndarray, order: int) -> list[np.ndarray] | None:
        """For an elementwise layer: the Taylor coefficients f^(p)(x) / p! for p = 1..order at input
        x with output y (each x's shape), so that f(x + d) = y + sum_p c_p d^p + O(d^(order+1)),
        where a ReLU-family layer is exact away from its kink. None (the default): not provided, and
        the batched check evaluates the layer on every perturbed copy instead."""
        return None

    def input_change(self, cols: np.ndarray, dv: np.ndarray) -> np.ndarray:
        """For a layer affine in its input: the output change when input feature ``cols[k]``
        changes by ``dv[k]`` (shape (K,) for one example, (K, N) for every example): (K, C) or
        (K, N, C). The default raises: the layer is not affine."""
        raise NotImplementedError(f"{type(self).__name__} does not implement input_change")

    def zero_grad(self) -> None:
        """Set every gradient to zeros of its parameter's shape and dtype."""
        for name, p in self.params.items():
            zeros = np.zeros(p.shape, p.dtype)  # calloc: no page is touched until written
            self.grads[name] = zeros
            if self.grads.get(name) is not zeros:
                raise TypeError(f"{type(self).__name__}.zero_grad: writing into self.grads did not reach "
                                "the layer's gradients (its grads builds a new dict on every access); a "
                                "composite layer must override zero_grad to call its children's zero_grad")

    def get_extra_state(self) -> object:
        """State that is neither a parameter nor a buffer (Dropout's mask generator), as JSON data
        that ``chainrule.save`` records with the architecture; None (the default): there is none."""
        return None

    def set_extra_state(self, state: object) -> None:
        """Restore what ``get_extra_state`` returned (``chainrule.load`` calls it)."""
        if state is not None:
            raise ValueError(f"{type(self).__name__} keeps no extra state, got {state!r:.80}")

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter and buffer (state that is not trained, such as BatchNorm1d's
        running statistics), keyed like ``params`` and ``buffers``."""
        return {k: v.copy() for k, v in (*self.params.items(), *buffers_of(self).items())}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy ``state`` into the parameters in place; names, shapes and dtypes must match.

        Everything is checked before anything is written, so a bad ``state`` leaves the layer as it was.
        """
        check_mapping(state, "load_state_dict: state")
        own = {**self.params, **buffers_of(self)}
        missing, extra = sorted(set(own) - set(state)), sorted(set(state) - set(own))
        if missing or extra:
            raise ValueError(f"load_state_dict: parameter and buffer names differ; missing {missing}, "
                             f"unexpected {extra}")
        arrays = {k: np.asarray(v) for k, v in state.items()}
        for k, v in arrays.items():
            if v.shape != own[k].shape or v.dtype != own[k].dtype:
                raise ValueError(f"load_state_dict: {k!r} must have shape {own[k].shape} and dtype "
                                 f"{own[k].dtype}, got shape {v.shape} and dtype {v.dtype}")
        for k, v in arrays.items():
            own[k][...] = v

    def _scratch(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray | None:
        """Where a result goes: None (a new array, NumPy's ``out=None``) unless the layer is in
        ``reuse_buffers``, where it is the layer's own array ``name`` of that shape and dtype."""
        if not self._reuse:
            return None
        buf = self._scratch_arrays.get(name)  # the dict reuse_buffers gave the layer
        if buf is not None and buf.shape == shape and buf.dtype == dtype:
            return buf
        return _owned_array(self, name, shape, dtype)

    def _check_input(self, x: np.ndarray) -> np.ndarray:
        """``x`` as an array of float32/float64; other dtypes are refused rather than silently cast."""
        if x.__class__ is np.ndarray and (x.dtype is _FLOAT32 or x.dtype is _FLOAT64):
            return x  # already what the full check would return: a training step's common case
        return check_float_array(x, f"{type(self).__name__}.forward: x")

    def _require(self, cached: object, what: str = "forward") -> None:
        if cached is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before {what}(): "
                               "there is no cached input to differentiate at")

    def _check_dout(self, dout: np.ndarray, expected: tuple[int, ...],
                    dtype: np.dtype | None = None) -> np.ndarray:
        """``dout`` as an array of the forward output's shape (and, if given, dtype).

        A dtype mismatch is an error rather than a silent promotion, so float32 training stays float32.
        """
        if dout.__class__ is np.ndarray and dout.shape == expected and (dtype is None or dout.dtype == dtype):
            return dout  # the common case, checked in one line
        dout = to_array(dout, f"{type(self).__name__}.backward: dout")
        if dout.shape != expected:
            raise ValueError(f"{type(self).__name__}.backward: dout must have the forward output's "
                             f"shape {expected}, got {dout.shape}")
        if dtype is not None and dout.dtype != dtype:
            raise TypeError(f"{type(self).__name__}.backward: dout must have the forward output's "
                            f"dtype {np.dtype(dtype)}, got {dout.dtype}")
        return dout

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


@contextlib.contextmanager
def mode(model: object, training: bool) -> Iterator[None]:
    """Run the block with ``model`` (and every layer in it) in training or evaluation mode, then
    restore each layer's own previous mode. A duck-typed model without ``train`` is left alone."""
    if not isinstance(model, Layer):
        yield
        return
    before = [(layer, layer.training) for layer in sublayers(model)]
    model.train(training)
    try:
        yield
    finally:
        for layer, was in before:
            layer.training = was


def _owned_array(owner: Layer | Loss, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """``owner``'s array ``name`` for a result of ``shape``/``dtype``, kept across calls. One with more
    rows serves a smaller batch as its first rows (a contiguous view), so an epoch's last, partial
    batch does not reallocate."""
    store = owner._scratch_arrays
    buf = store.get(name)
    if buf is not None and buf.dtype == dtype:
        if buf.shape == shape:
            return buf
        if shape and buf.ndim == len(shape) and buf.shape[1:] == shape[1:] and buf.shape[0] > shape[0]:
            return buf[:shape[0]]
    buf = store[name] = np.empty(shape, dtype)
    return buf


def _reused_chain(model: object) -> list:
    """The layers whose inputs and outputs ``reuse_buffers`` controls: ``model`` and, when it is a
    ``Sequential`` (its own forward/backward), each of its layers, recursively. A composite layer's
    inner layers are left alone: it may call them in any order, or keep what they return."""
    from .sequential import Sequential  # the chain's type; sequential imports this module

    found = [model]
    if isinstance(model, Sequential) and type(model).forward is Sequential.forward \
            and type(model).backward is Sequential.backward:
        for layer in model.layers:
            found += _reused_chain(layer)
    return found


@contextlib.contextmanager
def reuse_buffers(model: object, loss: Loss | None = None, enabled: bool = True) -> Iterator[list]:
    """Run the block with ``model``'s layers (and ``loss``) writing their results into arrays they
    own and reuse from call to call: ``fit``'s training steps, which then allocate nothing.

    The forward and backward code is the same as outside; what changes is the contract, which the
    block's code must keep (``fit`` does):

    - an array a layer or the loss returns (an output, dL/dx, dL/dlogits) is read-only (the next
      layer may keep it as its input) and, like a layer's ``grads`` entries, may be overwritten by
      that object's next call of the same kind: use it before then;
    - a layer keeps a reference to its input instead of a copy: leave the input unchanged until
      the layer's backward has run;
    - between two layers of a ``Sequential``, an array passed on belongs to its receiver when the
      sender hands it over (``_hands_over``: Linear's output and dx, arrays it owns and never reads
      again): ReLU then computes max(x, 0) in its input and dout * mask in its dout, in place, as a
      hand-written NumPy step does (it finds the mask in backward from its output, y > 0 exactly
      where x > 0).

    Applies to ``model`` and, through a ``Sequential`` (not a subclass with its own forward or
    backward), to its layers; a composite's inner layers are left alone, since it may call them
    twice or keep what they return. Built-in layers honour it (Linear, ReLU, Sigmoid, Tanh,
    Softmax, CrossEntropyLoss); other layers, custom ones included, keep allocating, which is
    always safe. A layer takes part by passing ``out=self._scratch(name, shape, dtype)`` to the
    NumPy calls that make its results (None, a new array, outside the block). ``enabled=False``
    turns it off for a nested block (fit's validation pass and its callbacks). On exit every object
    is back to its previous setting and, when that is off, frees its arrays. The block gets the
    list of those objects (see ``owned_arrays``).
    """
    from .regularization import base_loss

    owners = _reused_chain(model) + ([base_loss(loss)] if loss is not None else [])
    owners = [o for o in owners if isinstance(o, (Layer, Loss))]
    before = [(o, o._reuse, getattr(o, "_takes_input", False), getattr(o, "_takes_dout", False))
              for o in owners]
    takes = _hand_overs(owners) if enabled else {}
    for o in owners:
        if enabled:
            o.__dict__.setdefault("_scratch_arrays", {})
        o._reuse = enabled
        if isinstance(o, Layer):
            o._takes_input, o._takes_dout = takes.get(id(o), (False, False))
    try:
        yield owners
    finally:
        for o, was, took_input, took_dout in before:
            o._reuse = was
            if isinstance(o, Layer):
                o._takes_input, o._takes_dout = took_input, took_dout
            if not was:
                o.__dict__.pop("_scratch_arrays", None)


def _hands_over(layer: object) -> bool:
    """Whether ``layer``'s forward output and backward dx are, inside ``reuse_buffers``, arrays it
    owns and never reads again: its class, or the class that declared ``_hands_over``, defines both
    methods (a subclass with its own forward or backward may keep what it returns)."""
    cls = type(layer)
    if not getattr(cls, "_hands_over", False):
        return False
    owner = next(c for c in cls.__mro__ if c.__dict__.get("_hands_over"))
    return cls.forward is owner.forward and cls.backward is owner.backward


def _hand_overs(owners: list) -> dict[int, tuple[bool, bool]]:
    """{id(layer): (takes_input, takes_dout)} for the layers of every plain Sequential among
    ``owners``: a layer takes its input when the layer before it hands its output over, and its dout
    when the layer after it hands its dx over (see ``_hands_over``)."""
    from .sequential import Sequential

    takes: dict[int, tuple[bool, bool]] = {}
    for seq in owners:
        if isinstance(seq, Sequential) and type(seq).forward is Sequential.forward:
            layers = seq.layers
            for i, layer in enumerate(layers):
                takes[id(layer)] = (i > 0 and _hands_over(layers[i - 1]),
                                    i + 1 < len(layers) and _hands_over(layers[i + 1]))
    return takes


def owned_arrays(owners: list) -> dict[int, np.ndarray]:
    """{id: array} of the arrays ``owners`` (from ``reuse_buffers``) hold: what a layer hands out
    from them (a gradient, an output) belongs to the layer, which rewrites it at its next call."""
    return {id(a): a for o in owners for a in getattr(o, "_scratch_arrays", {}).values()}


def buffers_of(layer: object) -> dict[str, np.ndarray]:
    """``layer.buffers``, or ``{}`` for a layer that has none (a duck-typed or older layer)."""
    return getattr(layer, "buffers", None) or {}


def sublayers(layer: Layer) -> list[Layer]:
    """``layer`` and every Layer reachable from it through attributes, lists, tuples and dict
    values, each once, parents before children (a ``Sequential``'s ``layers``, a composite's
    ``inner``)."""
    found: list[Layer] = []
    seen: set[int] = set()

    def visit(obj: object) -> None:
        if isinstance(obj, Layer):
            if id(obj) in seen:
                return
            seen.add(id(obj))
            found.append(obj)
            for value in vars(obj).values():
                visit(value)
        elif isinstance(obj, (list, tuple)):
            for item in obj:
                visit(item)
        elif isinstance(obj, dict):
            for item in obj.values():
                if isinstance(item, (Layer, list, tuple)):
                    visit(item)

    visit(layer)
    return found


class Loss:
    """Base class for a scalar loss of ``(logits, target)``; ``backward()`` returns dL/dlogits."""

    # True inside ``reuse_buffers`` (fit's steps): see ``Layer._scratch``.
    _reuse: bool = False
    _scratch = Layer._scratch

    def __init__(self) -> None:
        self.cache: tuple | np.ndarray | None = None

    def _cached(self):
        if self.cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward()")
        return self.cache

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float:
        raise NotImplementedError(f"{type(self).__name__} must implement forward(logits, target)")

    def backward(self) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must implement backward()")

    def __call__(self, logits: np.ndarray, target: np.ndarray) -> float:
        return self.forward(logits, target)

    def row_losses(self, logits: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Opt-in to the batched gradient check: the loss of a stack of logits, split by rows.

        ``logits`` (K, M, ...): K stacked arrays of M rows; ``target`` (1, M, ...) the M matching
        target rows shared by every k, or (K, M, ...) one set per k. Returns (K, M): each row's summed
        terms, so that ``forward(z, t) == row_losses(z[None], t[None]).sum() / row_normaliser(z.shape)``
        to rounding.
        The default raises: the loss is not batched. A subclass that overrides ``forward`` is not
        batched unless it defines this method in its own class body.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement row_losses")

    def row_normaliser(self, shape: tuple[int, ...]) -> float:
        """What the summed row losses of logits of ``shape`` are divided by (the batch size for a
        mean over examples, the element count for a mean over elements)."""
        return float(shape[0])

    def row_changes(self, logits: np.ndarray, delta: np.ndarray, target: np.ndarray) -> np.ndarray:
        """How each row's loss changes when logits (M, ...) move by ``delta[k]`` (delta (K, M, ...)):
        (K, M). The default evaluates ``row_losses`` at the moved logits."""
        base = self.row_losses(logits[None], target[None])
        return self.row_losses(logits[None] + delta, target[None]) - base

    def row_changes_outer(self, logits: np.ndarray, a: np.ndarray, b: np.ndarray,
                          target: np.ndarray) -> np.ndarray:
        """How each row's loss changes when logits (M, C) move by the outer product a[k] b[k]
        (a (K, M), b (K, C): a Linear's output after one of its inputs moved): (K, M).

        The default evaluates ``row_losses`` at the moved logits; a loss may compute the change
        directly (cheaper, and free of the cancellation of two nearly equal losses)."""
        z = logits[None] + a[:, :, None] * b[:, None, :]
        base = self.row_losses(logits[None], target[None])
        return self.row_losses(z, target[None]) - base

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
