"""Layers whose forward is written with autodiff ops and whose backward is reverse mode.

An ``AutodiffModule`` follows the ``chainrule.nn.Layer`` protocol (``forward``/``backward``,
``params``/``grads``), so ``Sequential``, the optimizers, ``chainrule.training.fit`` and the
gradient checker all take it as they take a hand-written layer. Write only the forward::

    class Affine(AutodiffModule):
        def __init__(self, n_in, n_out, rng=0):
            super().__init__()
            self.params = {"W": np.random.default_rng(rng).standard_normal((n_in, n_out)),
                           "b": np.zeros(n_out)}

        def graph(self, x, p):
            return x @ p["W"] + p["b"]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._validate import check_choice
from ..nn import ACTIVATIONS, Layer, Sequential, mlp
from ..nn.init import Initializer, zeros
from .layers import graph, register_layer
from .tensor import Tensor, grad_or_zeros


class AutodiffModule(Layer):
    """Base class: implement ``graph(x, params) -> Tensor``; forward and backward come for free.

    ``forward(x)`` wraps ``x`` and each parameter array (without copying, so optimizers' in-place
    updates are seen) as tensors, runs ``graph`` and returns the output array. ``backward(dout)``
    runs reverse mode from the output with upstream gradient ``dout`` (the output's shape),
    fills ``grads`` and returns dL/dx.
    """

    def __init__(self) -> None:
        super().__init__()
        self._x: Tensor | None = None
        self._tensors: dict[str, Tensor] = {}
        self._out: Tensor | None = None

    def graph(self, x: Tensor, params: dict[str, Tensor]) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement graph(x, params) -> Tensor")

    def forward(self, x: np.ndarray) -> np.ndarray:
        # Named, so that backward's in-place check says which array changed after forward.
        self._x = Tensor(self._check_input(x), requires_grad=True, name=f"{type(self).__name__}.forward: x")
        self._tensors = {k: Tensor(v, requires_grad=True, name=f"{type(self).__name__}.params[{k!r}]")
                         for k, v in self.params.items()}
        self._out = self.graph(self._x, self._tensors)
        # A copy: the output's vjp may read it (tanh, exp), so the caller must not get the graph's array.
        return self._out.data.copy()

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self._backprop(dout)
        return grad_or_zeros(self._x)

    def backward_params(self, dout: np.ndarray) -> None:
        """Fill ``grads`` without forming dL/dx (x is data in a training step): with x marked
        constant, reverse mode skips every product that only x would need."""
        if type(self).backward is not AutodiffModule.backward:
            super().backward_params(dout)  # a subclass's own backward stays the code that runs
            return
        self._require(self._out)
        self._x.requires_grad = False
        try:
            self._backprop(dout)
        finally:
            self._x.requires_grad = True

    def _backprop(self, dout: np.ndarray) -> None:
        self._require(self._out)
        dout = self._check_dout(dout, self._out.shape, self._out.dtype)
        for t in (self._x, *self._tensors.values()):
            t.zero_grad()
        if self._out.requires_grad:
            self._out.backward(dout)
        for k, t in self._tensors.items():
            self.grads[k] = grad_or_zeros(t)


register_layer(AutodiffModule, lambda layer, x, params: layer.graph(x, params))


class MLP(AutodiffModule):
    """``[Linear -> activation] x (L-1) -> Linear [-> output]`` written with autodiff ops.

    Same arguments, same parameter names (``"0.W"``, ``"0.b"``, ``"2.W"``, ...) and, for the same
    ``rng``, the same initial weights as ``chainrule.nn.mlp``: the two are interchangeable through
    ``params``. x: (N, sizes[0]) -> logits (N, sizes[-1]).
    """

    def __init__(self, sizes: Sequence[int], activation: str = "relu", *, output: str | None = None,
                 init: str | Initializer = "auto", rng: np.random.Generator | int | None = None,
                 dtype: type = np.float64) -> None:
        super().__init__()
        if output is not None:
            check_choice(output, tuple(ACTIVATIONS), "output")
        # nn.mlp validates the arguments and draws the weights: one initialisation for both. Its
        # layers also describe the graph: each one's autodiff rule (layers.py) is its forward.
        self._network = mlp(sizes, activation, output=output, init=init, rng=rng, dtype=dtype)
        self.params = self._network.params
        self.zero_grad()
        self.sizes = list(sizes)
        self.activation, self.output = activation, output

    def graph(self, x: Tensor, params: dict[str, Tensor]) -> Tensor:
        return graph(self._network, x, params)

    def to_sequential(self) -> Sequential:
        """The same network as hand-written layers (``nn.mlp``) holding a copy of the current
        weights: for ``chainrule.save``, or to compare the two implementations step by step."""
        dtype = next(iter(self.params.values())).dtype
        seq = mlp(self.sizes, self.activation, output=self.output, dtype=dtype,
                  init=zeros)
        seq.load_state_dict(self.params)
        return seq

    def extra_repr(self) -> str:
        return f"{self.sizes}, activation={self.activation!r}, output={self.output!r}"
