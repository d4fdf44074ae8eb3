"""Mutation suite: a bug injected into one layer's or loss's backward, inside a small Sequential.

For every mutant, check_model must fail, blame the mutated layer (or "loss"), and name the bug
kind. Each mutant is a user subclass that overrides only ``backward``, as a learner's would; the
wrong derivatives are written here from their formulas, independently of chainrule.
"""

import numpy as np
import pytest

from chainrule.gradcheck import check_model
from chainrule.nn import (
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    Identity,
    LeakyReLU,
    Linear,
    MSELoss,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)

N = 4  # batch size; hidden width 4 too, so elementwise gradients are square and can be transposed


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


DERIVATIVES = {
    "sigmoid": lambda x: _sigmoid(x) * (1 - _sigmoid(x)),
    "tanh": lambda x: 1 - np.tanh(x) ** 2,
    "relu": lambda x: (x > 0).astype(float),
    "identity": np.ones_like,
}


def _layer_mutant(base, bug):
    """A subclass of ``base`` whose backward applies ``bug(self, x, dout, dx) -> dx``."""

    class Mutant(base):
        def forward(self, x):
            self.seen = x
            return super().forward(x)

        def backward(self, dout):
            return bug(self, self.seen, dout, super().backward(dout))

    Mutant.__name__ = f"Buggy{base.__name__}"
    return Mutant


def _grad_bug(name, fn):
    def bug(layer, x, dout, dx):
        layer.grads[name] = fn(layer.grads[name], x, dout)
        return dx
    return bug


def _dx_bug(fn):
    return lambda layer, x, dout, dx: fn(dx, x, dout)


LINEAR_TRANSPOSE_SHAPE = _grad_bug("W", lambda g, x, d: d.T @ x)
# (id, bug, expected pattern, expected factor or detail)
LINEAR = [
    ("factor", _grad_bug("W", lambda g, x, d: 3 * g), "scaled", 3.0),
    ("sign", _grad_bug("b", lambda g, x, d: -g), "sign", -1.0),
    ("zero", _grad_bug("W", lambda g, x, d: np.zeros_like(g)), "zero", None),
    ("transpose", _grad_bug("W", lambda g, x, d: g.T.copy()), "transposed", None),
    ("transpose-shape", LINEAR_TRANSPOSE_SHAPE, "transposed", None),
    ("extra-1/m", _grad_bug("W", lambda g, x, d: g / len(x)), "scaled", 1 / N),
    ("dx-factor", _dx_bug(lambda dx, x, d: 2 * dx), "scaled", 2.0),
]


def _activation(name):
    return _dx_bug(lambda dx, x, d: d * DERIVATIVES[name](x))


COMMON = [
    ("factor", _dx_bug(lambda dx, x, d: 2 * dx), "scaled", 2.0),
    ("sign", _dx_bug(lambda dx, x, d: -dx), "sign", -1.0),
    ("zero", _dx_bug(lambda dx, x, d: np.zeros_like(dx)), "zero", None),
    ("transpose", _dx_bug(lambda dx, x, d: dx.T.copy()), "transposed", None),
]
ACTIVATIONS = {
    ReLU: COMMON + [
        ("no-mask", _dx_bug(lambda dx, x, d: d.copy()), "masked", "elements where the input is <= 0"),
        ("sigmoid-derivative", _activation("sigmoid"), "activation", "sigmoid"),
        ("tanh-derivative", _activation("tanh"), "activation", "tanh"),
    ],
    LeakyReLU: COMMON + [
        ("slope-dropped", _activation("relu"), "masked", "elements where the input is <= 0"),
        ("slope-sign", _dx_bug(lambda dx, x, d: np.where(x > 0, d, -0.01 * d)), "masked",
         "elements where the input is <= 0"),
        ("sigmoid-derivative", _activation("sigmoid"), "activation", "sigmoid"),
        ("tanh-derivative", _activation("tanh"), "activation", "tanh"),
    ],
    Sigmoid: COMMON + [
        ("relu-derivative", _activation("relu"), "activation", "relu"),  # seed 001's swap
        ("tanh-derivative", _activation("tanh"), "activation", "tanh"),
        ("identity-derivative", _activation("identity"), "activation", "identity"),
    ],
    Tanh: COMMON + [
        ("sigmoid-derivative", _activation("sigmoid"), "activation", "sigmoid"),
        ("relu-derivative", _activation("relu"), "activation", "relu"),
        ("identity-derivative", _activation("identity"), "activation", "identity"),
    ],
    Softmax: COMMON + [
        ("identity-derivative", _activation("identity"), "activation", "identity"),
        ("diagonal-only", _dx_bug(lambda dx, x, d: d * _softmax(x) * (1 - _softmax(x))), "activation",
         "softmax-diagonal"),
    ],
    Identity: COMMON + [
        ("relu-mask", _activation("relu"), "masked", "elements where the input is <= 0"),
        ("sigmoid-derivative", _activation("sigmoid"), "activation", "sigmoid"),
        ("tanh-derivative", _activation("tanh"), "activation", "tanh"),
    ],
}


def _loss_mutant(base, fn):
    class Mutant(base):
        def backward(self):
            return fn(super().backward())

    Mutant.__name__ = f"Buggy{base.__name__}"
    return Mutant


LOSS_COMMON = [
    ("factor", lambda g: 2 * g, "scaled", 2.0),
    ("sign", lambda g: -g, "sign", -1.0),
    ("zero", np.zeros_like, "zero", None),
    ("missing-1/m", lambda g: g * len(g), "scaled", float(N)),
]
# (N, 1) logits: the transposed gradient has the wrong shape, (1, N), and is diagnosed from it
TRANSPOSE = ("transpose", lambda g: g.T.copy(), "transposed", None)
LOSSES = {
    CrossEntropyLoss: LOSS_COMMON + [TRANSPOSE],
    BCEWithLogitsLoss: LOSS_COMMON + [TRANSPOSE],
    MSELoss: LOSS_COMMON + [TRANSPOSE],
}

CASES = (
    [pytest.param("layer", Linear, *case[1:], id=f"Linear-{case[0]}") for case in LINEAR]
    + [pytest.param("layer", cls, *case[1:], id=f"{cls.__name__}-{case[0]}")
       for cls, cases in ACTIVATIONS.items() for case in cases]
    + [pytest.param("loss", cls, *case[1:], id=f"{cls.__name__}-{case[0]}")
       for cls, cases in LOSSES.items() for case in cases]
)


def _data(loss_cls, rng):
    X = rng.standard_normal((N, 3))
    if loss_cls is CrossEntropyLoss:
        return X, rng.integers(0, 4, N), 4
    if loss_cls is BCEWithLogitsLoss:
        return X, rng.integers(0, 2, (N, 1)).astype(float), 1
    return X, rng.standard_normal((N, 1)), 1


@pytest.mark.parametrize(("where", "cls", "bug", "pattern", "expected"), CASES)
def test_mutant_is_caught_blamed_and_named(where, cls, bug, pattern, expected):
    rng = np.random.default_rng(7)
    if where == "layer":
        loss = CrossEntropyLoss()
        X, y, out = _data(CrossEntropyLoss, rng)
        if cls is Linear:
            # a transposed gradient of a non-square W has the wrong shape: diagnosed from the shape
            width = 5 if bug is LINEAR_TRANSPOSE_SHAPE else 4
            mutant = _layer_mutant(Linear, bug)(4, width, rng=1)
            model = Sequential(Linear(3, 4, rng=0), Tanh(), mutant, Tanh(), Linear(width, out, rng=2))
            index = 2
        else:
            model = Sequential(Linear(3, 4, rng=0), _layer_mutant(cls, bug)(), Linear(4, out, rng=2))
            index = 1
    else:
        loss = _loss_mutant(cls, bug)()
        X, y, out = _data(cls, rng)
        model = Sequential(Linear(3, 4, rng=0), Tanh(), Linear(4, out, rng=2))
        index = "loss"
    report = check_model(model, loss, X, y)
    assert not report.passed
    assert report.blame == index
    result = report.loss if index == "loss" else report.layers[index]
    assert not result.passed and result.pattern == pattern, str(report)
    failing = next(p for p in result.parameters.values() if not p.passed)
    if pattern in ("scaled", "sign"):
        assert failing.factor == pytest.approx(expected, rel=1e-4)
    elif pattern in ("masked", "activation"):
        assert failing.detail == expected
    if pattern == "scaled" and expected in (float(N), 1 / N):
        assert "1/m" in failing.hint and f"m = {N}" in failing.hint
    # every layer before the blamed one passes its own check
    for lr in report.layers[: index if isinstance(index, int) else None]:
        assert lr.passed
