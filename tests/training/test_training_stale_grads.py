"""fit refuses classes where instances are needed and warns when a step leaves gradients unchanged
(a composite layer holding a stale copy of its children's grads, whose parameters never train)."""

import warnings

import numpy as np
import pytest

from chainrule import autodiff as ad
from chainrule import nn
from chainrule.optim import SGD, Adam
from chainrule.training import fit


def _data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((10, 4)), rng.integers(0, 2, 10)


class CopiedGrads(nn.Layer):
    """Copies its child's dicts once: the params arrays are shared, the grads go stale."""

    def __init__(self, child):
        super().__init__()
        self.child = child
        self.params = dict(child.params)
        self.grads = dict(child.grads)

    def forward(self, x):
        return self.child.forward(x)

    def backward(self, dout):
        return self.child.backward(dout)


def test_stale_gradients_warn_naming_the_parameters_that_do_not_train():
    X, y = _data()
    hidden = nn.Linear(4, 4, rng=0)
    model = nn.Sequential(CopiedGrads(hidden), nn.Tanh(), nn.Linear(4, 2, rng=1))
    W0 = hidden.params["W"].copy()
    named = r"\['0\.W', '0\.b'\], so those parameters are not trained"
    with pytest.warns(RuntimeWarning, match=named) as rec:
        fit(model, nn.CrossEntropyLoss(), X, y, optimizer=SGD(0.1), epochs=3)
    assert len(rec) == 1 and "help(chainrule.Layer)" in str(rec[0].message)
    assert np.array_equal(hidden.params["W"], W0)  # what the warning is about: nothing moved
    assert not np.array_equal(model[2].params["W"], nn.Linear(4, 2, rng=1).params["W"])


@pytest.mark.parametrize("make", [lambda: nn.mlp([4, 5, 2], rng=0), lambda: ad.MLP([4, 5, 2], rng=0),
                                  lambda: nn.Linear(4, 2, rng=0)])
def test_models_that_train_do_not_warn(make):
    X, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit(make(), nn.CrossEntropyLoss(), X, y, optimizer=Adam(0.01), epochs=2, batch_size=5)


def test_classes_instead_of_instances_are_named():
    X, y = _data()
    model = nn.mlp([4, 2], rng=0)
    with pytest.raises(TypeError, match=r"optimizer must be an optimizer instance such as Adam\(lr=0\.01\), "
                                        r"got the class Adam"):
        fit(model, nn.CrossEntropyLoss(), X, y, optimizer=Adam, epochs=1)
    with pytest.raises(TypeError, match=r"got the class SGD"):
        fit(model, nn.CrossEntropyLoss(), X, y, optimizer=SGD, epochs=1)
    with pytest.raises(TypeError, match=r"loss must be a loss instance such as CrossEntropyLoss\(\), got the "
                                        r"class CrossEntropyLoss"):
        fit(model, nn.CrossEntropyLoss, X, y, optimizer=Adam(), epochs=1)
