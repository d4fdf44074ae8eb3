"""``model.summary()``: a plain-text table of layers, output shapes and parameter counts (like
Keras' ``summary`` and torchinfo)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .._validate import check_allocation
from .module import Layer, buffers_of
from .sequential import Sequential


@dataclass(frozen=True)
class SummaryRow:
    name: str            # "0", "2.1": the prefix of the layer's parameters in the model
    layer: str           # the layer's repr, e.g. "Linear(64, 10, dtype=float64)"
    output_shape: tuple[int | None, ...] | None  # None: unknown; the batch axis shown as None
    params: int          # trained values
    buffers: int         # saved, untrained values (running statistics)


class ModelSummary:
    """The rows of a summary and their totals; ``str()`` (and the repr, so it prints in Jupyter)
    is the table."""

    def __init__(self, model_name: str, rows: list[SummaryRow]) -> None:
        self.model_name, self.rows = model_name, rows
        self.trainable_params = sum(r.params for r in rows)
        self.non_trainable_params = sum(r.buffers for r in rows)
        self.total_params = self.trainable_params + self.non_trainable_params

    def __str__(self) -> str:
        def shape(s: tuple | None) -> str:
            return "?" if s is None else "(" + ", ".join("N" if d is None else str(d) for d in s) + ")"

        table = [("#", "Layer (type)", "Output shape", "Param #")]
        table += [(r.name, r.layer, shape(r.output_shape), f"{r.params + r.buffers:,}") for r in self.rows]
        widths = [max(len(row[i]) for row in table) for i in range(4)]
        line = "-" * (sum(widths) + 6)

        def fmt(row: tuple[str, ...]) -> str:
            return "  ".join([row[0].ljust(widths[0]), row[1].ljust(widths[1]), row[2].ljust(widths[2]),
                              row[3].rjust(widths[3])])

        out = [f"{self.model_name}", line, fmt(table[0]), line, *map(fmt, table[1:]), line,
               f"Total params: {self.total_params:,}",
               f"Trainable params: {self.trainable_params:,}",
               f"Non-trainable params (buffers): {self.non_trainable_params:,}"]
        return "\n".join(out)

    __repr__ = __str__


def _count(arrays: dict) -> int:
    """Values in the floating arrays (a counter such as num_batches_tracked is not a parameter)."""
    return int(sum(np.size(a) for a in arrays.values() if np.asarray(a).dtype.kind == "f"))


def _leaves(model: Layer, prefix: str = "") -> list[tuple[str, Layer]]:
    """(name, layer) in forward order; plain Sequentials are expanded, everything else is one row."""
    if type(model) is Sequential:
        return [leaf for i, sub in enumerate(model.layers) for leaf in _leaves(sub, f"{prefix}{i}.")]
    return [(prefix.rstrip(".") or "0", model)]


def _input_shape(model: Layer) -> tuple[int, ...] | None:
    first = _leaves(model)[0][1] if _leaves(model) else None
    for attr in ("in_features", "num_features"):
        if isinstance(getattr(first, attr, None), int):
            return (getattr(first, attr),)
    return None


def summary(model: Layer, input_shape: Sequence[int] | None = None) -> ModelSummary:
    """Summarize ``model``: one row per layer (a nested ``Sequential`` is expanded) with its type,
    output shape and parameter count, then the totals.

    ``input_shape``: the shape of one example, without the batch axis (e.g. ``(64,)``); by default
    it is read from a first ``Linear`` (``in_features``) or ``BatchNorm1d``. Output shapes come from
    a forward pass of a 2-row zero batch through a copy of the model in evaluation mode (the model
    itself is untouched); they are "?" when the input shape is unknown or a layer refuses it."""
    if not isinstance(model, Layer):
        raise TypeError(f"model must be a chainrule Layer, got {type(model).__name__}")
    leaves = _leaves(model)
    if input_shape is not None and (isinstance(input_shape, (str, bytes))
                                    or not isinstance(input_shape, Sequence)):
        raise TypeError(f"input_shape must be a tuple of positive ints (one example, no batch axis), "
                        f"got {type(input_shape).__name__} {input_shape!r:.60}")
    shape = tuple(input_shape) if input_shape is not None else _input_shape(model)
    if shape is not None and not all(isinstance(d, (int, np.integer)) and d > 0 for d in shape):
        raise ValueError(f"input_shape must be a tuple of positive ints (one example, no batch axis), "
                         f"got {input_shape!r}")
    if shape is not None:
        check_allocation((2, *shape), np.float64, "input_shape")
    outputs: list[tuple | None] = [None] * len(leaves)
    if shape is not None:
        work = copy.deepcopy(model).eval()
        dtypes = {np.asarray(p).dtype for p in work.params.values()}
        x = np.zeros((2, *shape), dtypes.pop() if len(dtypes) == 1 else np.float64)
        try:
            for i, (_, layer) in enumerate(_leaves(work)):
                x = np.asarray(layer.forward(x))
                outputs[i] = (None, *x.shape[1:])
        except (ValueError, TypeError):
            pass  # the shapes after the refusing layer stay unknown
    rows = [SummaryRow(name, repr(layer), out, _count(layer.params), _count(buffers_of(layer)))
            for (name, layer), out in zip(leaves, outputs, strict=True)]
    return ModelSummary(type(model).__name__, rows)
