"""``Sequential``: layers applied in order, backward in reverse, parameters named ``"i.name"``."""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, MutableMapping, Sequence, ValuesView

import numpy as np

from .._validate import as_rng, check_allocation, check_choice, check_float_dtype, check_positive_int
from .activations import ACTIVATIONS, get_activation
from .init import Initializer
from .linear import Linear
from .module import Layer, buffers_of


class _LayerArrays(MutableMapping):
    """A live view of a ``Sequential``'s ``params`` or ``grads`` keyed ``"<index>.<name>"``.

    Every access reads the layers' current dicts, so a reference kept to it never goes stale: a
    composite layer may alias ``self.grads = inner.grads`` although each ``backward`` stores new
    gradient arrays. Assigning an entry assigns it in the owning layer; entries cannot be removed.
    ``dict(view)`` takes a snapshot.
    """

    __slots__ = ("_attr", "_seq")

    def __init__(self, seq: Sequential, attr: str) -> None:
        self._seq, self._attr = seq, attr

    def _locate(self, key: object) -> tuple[Layer, str]:
        if isinstance(key, str):
            head, dot, rest = key.partition(".")
            if dot and head.isdigit() and int(head) < len(self._seq.layers):
                return self._seq.layers[int(head)], rest
        raise KeyError(key)

    def _dict(self, layer: Layer) -> dict:
        return buffers_of(layer) if self._attr == "buffers" else getattr(layer, self._attr)

    def __getitem__(self, key: str) -> np.ndarray:
        layer, name = self._locate(key)
        return self._dict(layer)[name]

    def __setitem__(self, key: str, value: np.ndarray) -> None:
        layer, name = self._locate(key)
        own = buffers_of(layer) if self._attr == "buffers" else layer.params
        if name not in own:
            raise KeyError(f"{key!r}: {type(layer).__name__} has no {self._attr[:-1]} {name!r}")
        self._dict(layer)[name] = value

    def __delitem__(self, key: str) -> None:
        raise TypeError(f"Sequential.{self._attr} is derived from its layers; entries cannot be removed")

    def __iter__(self) -> Iterator[str]:
        for i, layer in enumerate(self._seq.layers):
            for name in self._dict(layer):
                yield f"{i}.{name}"

    def __len__(self) -> int:
        return sum(len(self._dict(layer)) for layer in self._seq.layers)

    def _pairs(self) -> Iterator[tuple[str, np.ndarray]]:
        if self._attr == "buffers":
            return iter([(f"{i}.{name}", value) for i, layer in enumerate(self._seq.layers)
                         for name, value in buffers_of(layer).items()])
        attr = self._attr
        return iter([(f"{i}.{name}", value) for i, layer in enumerate(self._seq.layers)
                     for name, value in getattr(layer, attr).items()])

    def copy(self) -> dict[str, np.ndarray]:
        """A plain dict of the current entries (a snapshot of the names, not of the arrays)."""
        return dict(self._pairs())

    # fit, the optimizers and the gradient checks walk these every step: one pass over the layers'
    # dicts instead of a name lookup per entry.
    def items(self) -> ItemsView[str, np.ndarray]:
        return _PairsItems(self)

    def values(self) -> ValuesView[np.ndarray]:
        return _PairsValues(self)

    def __repr__(self) -> str:
        return repr(dict(self.items()))


class _PairsItems(ItemsView):
    def __iter__(self) -> Iterator[tuple[str, np.ndarray]]:
        return self._mapping._pairs()


class _PairsValues(ValuesView):
    def __iter__(self) -> Iterator[np.ndarray]:
        return (value for _, value in self._mapping._pairs())


class Sequential(Layer):
    """A chain of layers. ``params``/``grads`` are flat mappings keyed ``"<index>.<name>"``
    (``"0.W"``, ``"2.b"``) whose values are the layers' own arrays, so updating one in place updates
    the layer. They are live views (``_LayerArrays``): a reference kept to ``seq.grads`` shows the
    gradients of the latest ``backward``. ``state_dict()``/``load_state_dict()`` use the same names.

    forward: x -> the last layer's output; backward: dout of that output's shape -> dx.
    """

    def __init__(self, *layers: Layer) -> None:
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential: layers[{i}] (argument {i}) must be a chainrule Layer, "
                                f"got {type(layer).__name__}")
        seen: dict[int, int] = {}
        for i, layer in enumerate(layers):
            # A layer caches its last input, so a second use would overwrite what the first use's
            # backward needs and silently give wrong gradients.
            if id(layer) in seen:
                raise ValueError(f"Sequential: argument {i} is the same {type(layer).__name__} object as "
                                 f"argument {seen[id(layer)]}; pass a separate instance for each position")
            seen[id(layer)] = i
        self.layers: list[Layer] = list(layers)

    @property
    def params(self) -> MutableMapping[str, np.ndarray]:  # type: ignore[override]
        return _LayerArrays(self, "params")

    @params.setter
    def params(self, value: dict) -> None:
        if value:
            raise AttributeError("Sequential.params is derived from its layers; use load_state_dict")

    @property
    def buffers(self) -> MutableMapping[str, np.ndarray]:  # type: ignore[override]
        """The layers' buffers (BatchNorm1d's running statistics), keyed like ``params``."""
        return _LayerArrays(self, "buffers")

    @buffers.setter
    def buffers(self, value: dict) -> None:
        if value:
            raise AttributeError("Sequential.buffers is derived from its layers")

    @property
    def grads(self) -> MutableMapping[str, np.ndarray]:  # type: ignore[override]
        return _LayerArrays(self, "grads")

    @grads.setter
    def grads(self, value: dict) -> None:
        if value:
            raise AttributeError("Sequential.grads is derived from its layers")

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """Backpropagate ``dout`` through every layer, filling their ``grads``; return dL/dx.

        With ``input_grad=False`` (a training step, where x is data) the first layer only computes
        its parameter gradients (``Layer.backward_params``) and ``None`` is returned.
        """
        if not self.layers:  # the empty chain is the identity
            return np.array(dout, copy=True) if input_grad else None
        first, *rest = self.layers
        for layer in reversed(rest):
            dout = layer.backward(dout)
        if input_grad:
            return first.backward(dout)
        first.backward_params(dout)
        return None

    def backward_params(self, dout: np.ndarray) -> None:
        if type(self).backward is not Sequential.backward:
            super().backward_params(dout)  # a subclass's own backward may not take input_grad
        else:
            self.backward(dout, input_grad=False)

    def zero_grad(self) -> None:
        for layer in self.layers:
            layer.zero_grad()

    def __getitem__(self, i: int) -> Layer:
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __repr__(self) -> str:
        inner = "\n".join(f"  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential(\n{inner}\n)"


def mlp(sizes: Sequence[int], activation: str = "relu", *, output: str | None = None,
        init: str | Initializer = "auto", rng: np.random.Generator | int | None = None,
        dtype: type = np.float64) -> Sequential:
    """Build ``[Linear -> activation] x (L-1) -> Linear [-> output]`` from layer sizes.

    ``sizes`` = [n_input, n_hidden_1, ..., n_output], e.g. ``[2, 100, 3]``. ``output`` names an
    optional final activation (``"sigmoid"`` gives the course's L-layer network); leave it ``None``
    to emit logits for ``CrossEntropyLoss``/``BCEWithLogitsLoss``. ``init="auto"`` picks He for the
    ReLU family and Xavier otherwise; ``"he"``, ``"xavier"``/``"glorot"``, ``"course"`` (randn * 0.01)
    or an initializer callable force one. All weights are drawn from ``rng`` in layer order, so the
    same seed gives the same network; ``dtype`` (float32/float64) applies to every parameter.
    The model maps x (N, sizes[0]) to (N, sizes[-1]).
    """
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__") or \
            (isinstance(sizes, np.ndarray) and sizes.ndim != 1):
        raise TypeError(f"sizes must be a sequence of layer sizes such as [2, 100, 3], got {sizes!r}")
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least an input and an output size, got {sizes}")
    for i, size in enumerate(sizes):
        check_positive_int(size, f"sizes[{i}]")
    check_choice(activation, tuple(ACTIVATIONS), "activation")
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        check_allocation((fan_in, fan_out), check_float_dtype(dtype),
                         f"sizes[{i}:{i + 2}] = [{fan_in}, {fan_out}]")
    if output is not None and (not isinstance(output, str) or output not in ACTIVATIONS):
        raise ValueError(f"unknown output activation {output!r}; expected None or one of "
                         f"{', '.join(map(repr, ACTIVATIONS))}")
    if isinstance(init, str) and init == "auto":
        init = "he" if activation in ("relu", "leaky_relu") else "xavier"
    dtype = check_float_dtype(dtype)
    gen = as_rng(rng)
    layers: list[Layer] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(Linear(fan_in, fan_out, init=init, rng=gen, dtype=dtype))
        if i < len(sizes) - 2:
            layers.append(get_activation(activation))
    if output is not None:
        layers.append(get_activation(output))
    return Sequential(*layers)
