"""Mutation suite for Dropout, BatchNorm1d and LayerNorm: a bug injected into one layer's backward
inside a small Sequential must be caught, blamed on that layer and named by check_model.

Each mutant overrides only ``backward``, as a learner's would; the wrong derivatives are written here
from their formulas (the statistics recomputed from the layer's input), independently of chainrule.
Dropout mutants read the mask from the forward's output: check_model freezes the masks of its copy,
so every perturbed evaluation and the backward see the same mask (asserted below).
"""

import numpy as np
import pytest

from chainrule.gradcheck import check_model
from chainrule.nn import BatchNorm1d, CrossEntropyLoss, Dropout, LayerNorm, Linear, Sequential, Tanh

N = D = 4  # batch and width: dx is square and can be transposed
P = 0.5


def _stats(x, axis, eps):
    mu = x.mean(axis=axis, keepdims=True)
    inv = 1 / np.sqrt(((x - mu) ** 2).mean(axis=axis, keepdims=True) + eps)
    return (x - mu) * inv, inv


def _norm_dx(layer, x, dout, axis, terms=("mean", "var")):
    """dx of weight * normalize(x) + bias over ``axis`` keeping only the listed terms."""
    xhat, inv = _stats(x, axis, layer.eps)
    g = dout * layer.params["weight"]
    dx = g.copy()
    if "mean" in terms:
        dx = dx - g.mean(axis=axis, keepdims=True)
    if "var" in terms:
        dx = dx - xhat * (g * xhat).mean(axis=axis, keepdims=True)
    return inv * dx


def _mutant(base, bug):
    class Mutant(base):
        def forward(self, x):
            self.seen = x
            self.out = super().forward(x)
            return self.out

        def backward(self, dout):
            return bug(self, self.seen, dout, super().backward(dout))

    Mutant.__name__ = f"Buggy{base.__name__}"
    return Mutant


def _dx(fn):
    return lambda layer, x, d, dx: fn(layer, x, d, dx)


def _grad(name, fn):
    def bug(layer, x, d, dx):
        layer.grads[name] = fn(layer.grads[name])
        return dx
    return bug


def _running(layer):
    rm, rv = layer.buffers["running_mean"], layer.buffers["running_var"]
    return rm, 1 / np.sqrt(rv + layer.eps)


COMMON = [
    ("factor", _dx(lambda lay, x, d, dx: 2 * dx), "scaled", 2.0),
    ("sign", _dx(lambda lay, x, d, dx: -dx), "sign", -1.0),
    ("zero", _dx(lambda lay, x, d, dx: np.zeros_like(dx)), "zero", None),
    ("transpose", _dx(lambda lay, x, d, dx: dx.T.copy()), "transposed", None),
]
AFFINE = [
    ("weight-factor", _grad("weight", lambda g: 3 * g), "scaled", 3.0),
    ("bias-sign", _grad("bias", lambda g: -g), "sign", -1.0),
    ("weight-zero", _grad("weight", np.zeros_like), "zero", None),
]
# (id, layer factory, training mode, bug, pattern, factor or detail)
CASES = (
    [(f"BatchNorm1d-train-{c[0]}", BatchNorm1d, True, *c[1:]) for c in COMMON + AFFINE]
    + [(f"BatchNorm1d-eval-{c[0]}", BatchNorm1d, False, *c[1:]) for c in COMMON + AFFINE]
    + [
        ("BatchNorm1d-train-missing-mean", BatchNorm1d, True,
         _dx(lambda lay, x, d, dx: _norm_dx(lay, x, d, 0, ("var",))), "missing-mean", None),
        ("BatchNorm1d-train-missing-variance", BatchNorm1d, True,
         _dx(lambda lay, x, d, dx: _norm_dx(lay, x, d, 0, ("mean",))), "term", "missing-variance"),
        # train/eval mix-ups: the other mode's formula
        ("BatchNorm1d-train-eval-formula", BatchNorm1d, True,
         _dx(lambda lay, x, d, dx: _norm_dx(lay, x, d, 0, ())), "mode", "eval-formula"),
        ("BatchNorm1d-eval-train-formula", BatchNorm1d, False,
         _dx(lambda lay, x, d, dx: _norm_dx(lay, x, d, 0)), "mode", "train-formula"),
    ]
    + [(f"LayerNorm-{c[0]}", LayerNorm, True, *c[1:]) for c in COMMON + AFFINE]
    + [
        ("LayerNorm-missing-mean", LayerNorm, True,
         _dx(lambda lay, x, d, dx: _norm_dx(lay, x, d, -1, ("var",))), "missing-mean", None),
        ("LayerNorm-missing-variance", LayerNorm, True,
         _dx(lambda lay, x, d, dx: _norm_dx(lay, x, d, -1, ("mean",))), "term", "missing-variance"),
        ("LayerNorm-missing-both", LayerNorm, True,
         _dx(lambda lay, x, d, dx: _norm_dx(lay, x, d, -1, ())), "term", "missing-both"),
    ]
    + [(f"Dropout-{c[0]}", Dropout, True, *c[1:]) for c in COMMON]
    + [
        # the mask forgotten: dropped elements get a gradient (the kept ones are right)
        ("Dropout-no-mask", Dropout, True, _dx(lambda lay, x, d, dx: d / (1 - P)), "masked",
         "elements the dropout mask drops"),
        # the mask applied without its 1/(1 - p) scale
        ("Dropout-no-scale", Dropout, True, _dx(lambda lay, x, d, dx: d * (lay.out != 0)), "scaled", 1 - P),
        # the complement of the mask: the kept elements get nothing, the dropped ones a gradient
        ("Dropout-inverted-mask", Dropout, True,
         _dx(lambda lay, x, d, dx: d * (lay.out == 0) / (1 - P)), "masked", None),
        # train/eval mix-up: evaluation mode's identity backward in training mode
        ("Dropout-eval-backward", Dropout, True, _dx(lambda lay, x, d, dx: d.copy()), "mode",
         "eval-backward"),
    ]
)


def _layer(cls, mutant=None):
    klass = mutant or cls
    if cls is Dropout:
        return klass(P, rng=3)
    return klass(D)


def _model(cls, training, bug=None):
    layer = _layer(cls, None if bug is None else _mutant(cls, bug))
    model = Sequential(Linear(3, D, rng=0), layer, Tanh(), Linear(D, 4, rng=2))
    if cls is BatchNorm1d:
        rng = np.random.default_rng(11)
        layer.params["weight"][...] = rng.uniform(0.5, 1.5, D)
        layer.params["bias"][...] = rng.standard_normal(D) * 0.1
        for _ in range(3):  # running statistics away from their initial 0 and 1
            model.forward(rng.standard_normal((8, 3)) * 2 + 0.5)
    if cls is LayerNorm:
        layer.params["weight"][...] = np.random.default_rng(12).uniform(0.5, 1.5, D)
    return model.train(training)


@pytest.mark.parametrize(("cls", "training", "bug", "pattern", "expected"),
                         [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_mutant_is_caught_blamed_and_named(cls, training, bug, pattern, expected):
    rng = np.random.default_rng(7)
    X, y = rng.standard_normal((N, 3)), rng.integers(0, 4, N)
    model = _model(cls, training, bug)
    report = check_model(model, CrossEntropyLoss(), X, y)
    assert not report.passed
    assert report.blame == 1, str(report)
    result = report.layers[1]
    assert not result.passed and result.pattern == pattern, str(report)
    failing = next(p for p in result.parameters.values() if not p.passed)
    if pattern in ("scaled", "sign"):
        assert failing.factor == pytest.approx(expected, rel=1e-4)
    elif expected is not None:
        assert failing.detail == expected
    assert report.layers[0].passed


@pytest.mark.parametrize("cls", [BatchNorm1d, LayerNorm, Dropout])
@pytest.mark.parametrize("training", [True, False])
def test_correct_layers_pass_with_three_witnesses(cls, training):
    rng = np.random.default_rng(8)
    X, y = rng.standard_normal((6, 3)), rng.integers(0, 4, 6)
    model = _model(cls, training)
    report = check_model(model, CrossEntropyLoss(), X, y, autodiff=True)
    assert report.passed, str(report)
    assert not [n for n in report.notes if "autodiff" in n and "no autodiff rule" in n]
    for lr in report.layers:
        assert lr.passed
    # autodiff agrees wherever the gradient is not zero by construction (BatchNorm removes the mean,
    # so the bias before it has an exactly-zero gradient, compared relatively as noise)
    diffs = {k: r.autodiff_difference for k, r in report.parameters.items()
             if np.linalg.norm(r.analytic) > 1e-12}
    assert diffs and max(diffs.values()) < 1e-10, diffs


def test_dropout_check_is_deterministic_and_leaves_the_model_alone():
    rng = np.random.default_rng(9)
    X, y = rng.standard_normal((6, 3)), rng.integers(0, 4, 6)
    model = Sequential(Linear(3, 8, rng=0), Dropout(0.5, rng=4), Tanh(), Linear(8, 4, rng=2))
    state = model[1].rng.bit_generator.state
    first = check_model(model, CrossEntropyLoss(), X, y)
    second = check_model(model, CrossEntropyLoss(), X, y)
    assert first.passed and second.passed
    assert first.difference == second.difference
    assert model[1].rng.bit_generator.state == state and not model[1].frozen


@pytest.mark.parametrize("make", [lambda: BatchNorm1d(5), lambda: BatchNorm1d(5).eval(), lambda: LayerNorm(5),
                                  lambda: LayerNorm((2, 5)), lambda: Dropout(0.4, rng=1)])
def test_check_layer_passes_each_layer_alone(make):
    from chainrule.gradcheck import check_layer

    layer = make()
    shape = (6, 2, 5) if isinstance(layer, LayerNorm) and len(layer.normalized_shape) == 2 else (6, 5)
    x = np.random.default_rng(10).standard_normal(shape) * 2 + 1
    result = check_layer(layer, x)
    assert result.passed, result
    assert set(result.parameters) == {"x", *layer.params}
