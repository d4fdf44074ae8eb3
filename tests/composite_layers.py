"""A composite layer written as Layer's docstring recommends, shared by the nn and gradcheck tests.

(tests/ is on sys.path because tests/conftest.py lives there.)"""

from chainrule import nn


class PropertyResidual(nn.Layer):
    """y = x + inner(x); params/grads are properties over the inner layer with prefixed names."""

    def __init__(self, inner: nn.Layer) -> None:
        super().__init__()
        self.inner = inner

    params = property(lambda self: {f"inner.{k}": v for k, v in self.inner.params.items()})
    grads = property(lambda self: {f"inner.{k}": v for k, v in self.inner.grads.items()})

    def zero_grad(self) -> None:
        self.inner.zero_grad()

    def forward(self, x):
        return x + self.inner.forward(x)

    def backward(self, dout):
        return dout + self.inner.backward(dout)
