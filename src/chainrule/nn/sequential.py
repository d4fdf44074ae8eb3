"""``Sequential``: layers applied in order, backward in reverse, parameters named ``"i.name"``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from .._validate import as_rng
from .activations import ACTIVATIONS, get_activation
from .linear import Linear
from .module import Layer


class Sequential(Layer):
    """A chain of layers. ``params``/``grads`` are flat dicts keyed ``"<index>.<name>"``
    (``"0.W"``, ``"2.b"``) whose values are the layers' own arrays, so updating one updates the
    layer."""

    def __init__(self, *layers: Layer) -> None:
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential: argument {i} must be a chainrule Layer, "
                                f"got {type(layer).__name__}")
        self.layers: list[Layer] = list(layers)

    @property
    def params(self) -> dict[str, np.ndarray]:  # type: ignore[override]
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.params.items()}

    @params.setter
    def params(self, value: dict) -> None:
        if value:
            raise AttributeError("Sequential.params is derived from its layers; use load_state_dict")

    @property
    def grads(self) -> dict[str, np.ndarray]:  # type: ignore[override]
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.grads.items()}

    @grads.setter
    def grads(self, value: dict) -> None:
        if value:
            raise AttributeError("Sequential.grads is derived from its layers")

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout: np.ndarray) -> np.ndarray:
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def zero_grad(self) -> None:
        for layer in self.layers:
            layer.zero_grad()

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter, keyed like ``params``."""
        return {k: v.copy() for k, v in self.params.items()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy ``state`` into the parameters in place; names, shapes and dtypes must match."""
        own = self.params
        missing, extra = sorted(set(own) - set(state)), sorted(set(state) - set(own))
        if missing or extra:
            raise ValueError(f"load_state_dict: parameter names differ; missing {missing}, "
                             f"unexpected {extra}")
        for k, v in state.items():
            v = np.asarray(v)
            if v.shape != own[k].shape or v.dtype != own[k].dtype:
                raise ValueError(f"load_state_dict: {k!r} must have shape {own[k].shape} and dtype "
                                 f"{own[k].dtype}, got shape {v.shape} and dtype {v.dtype}")
        for k, v in state.items():
            own[k][...] = v

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
        init: str = "auto", rng: np.random.Generator | int | None = None,
        dtype: type = np.float64) -> Sequential:
    """Build ``[Linear -> activation] x (L-1) -> Linear [-> output]`` from layer sizes.

    ``sizes`` = [n_input, n_hidden_1, ..., n_output], e.g. ``[2, 100, 3]``. ``output`` names an
    optional final activation (``"sigmoid"`` gives the course's L-layer network); leave it ``None``
    to emit logits for ``CrossEntropyLoss``/``BCEWithLogitsLoss``. ``init="auto"`` picks He for the
    ReLU family and Xavier otherwise. All weights are drawn from ``rng`` in layer order.
    """
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least an input and an output size, got {sizes}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; expected one of "
                         f"{', '.join(map(repr, ACTIVATIONS))}")
    if init == "auto":
        init = "he" if activation in ("relu", "leaky_relu") else "xavier"
    gen = as_rng(rng)
    layers: list[Layer] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(Linear(fan_in, fan_out, init=init, rng=gen, dtype=dtype))
        if i < len(sizes) - 2:
            layers.append(get_activation(activation))
    if output is not None:
        layers.append(get_activation(output))
    return Sequential(*layers)
