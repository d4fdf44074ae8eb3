"""200 random correct networks: check_model must report zero failures.

Sizes, depths, activations, losses and batch sizes vary; a quarter of the ReLU networks get an
all-zero input row with zero biases, so pre-activations sit exactly on ReLU's kink and the central
difference straddles it. Those elements must be reported as kinks, never as failures.
"""

import numpy as np

from chainrule.gradcheck import check_model
from chainrule.nn import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, Softmax, mlp

ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid", "identity")


def _random_problem(rng):
    n_in, n = int(rng.integers(1, 6)), int(rng.integers(1, 11))
    hidden = [int(h) for h in rng.integers(1, 9, size=rng.integers(0, 4))]
    activation = str(rng.choice(ACTIVATIONS))
    kind = str(rng.choice(["cross_entropy", "bce", "mse", "softmax_mse"]))
    X = rng.standard_normal((n, n_in)) * rng.choice([0.1, 1.0, 3.0])
    kinked = activation in ("relu", "leaky_relu") and rng.random() < 0.25 and hidden
    if kinked:
        X[0] = 0.0  # with mlp's zero biases, every first-layer pre-activation of example 0 is exactly 0
    if kind == "cross_entropy":
        c = int(rng.integers(2, 5))
        model = mlp([n_in, *hidden, c], activation, rng=rng)
        return model, CrossEntropyLoss(), X, rng.integers(0, c, n), kinked
    if kind == "bce":
        return mlp([n_in, *hidden, 1], activation, rng=rng), BCEWithLogitsLoss(), X, \
            rng.integers(0, 2, (n, 1)).astype(float), kinked
    k = int(rng.integers(1, 4))
    output = "softmax" if kind == "softmax_mse" else None
    model = mlp([n_in, *hidden, k], activation, output=output, rng=rng)
    if output:
        assert isinstance(model.layers[-1], Softmax)
    return model, MSELoss(), X, rng.standard_normal((n, k)), kinked


def test_two_hundred_random_correct_networks_pass():
    rng = np.random.default_rng(2024)
    kinks_on_kinked_nets, kinked_nets, failures, on_kinks = 0, 0, [], 0
    for i in range(200):
        model, loss, X, y, kinked = _random_problem(rng)
        report = check_model(model, loss, X, y, rng=i)
        # undecided only where a whole parameter sits exactly on kinks (an all-zero input row with zero
        # biases, or a dead layer): no step can check it there, and it is never called wrong
        undecided = [p for p in report.parameters.values() if p.outcome == "undecided"]
        if report.outcome == "undecided" and all(p.status == "unchecked" for p in undecided):
            on_kinks += 1
        elif not report.passed:
            failures.append(f"net {i}: {model!r} {loss!r}\n{report}")
        if kinked:
            kinked_nets += 1
            kinks_on_kinked_nets += report.kinks + sum(lr.kinks for lr in report.layers)
        assert report.failed == [] and report.blame is None
    assert not failures, "\n\n".join(failures[:3])
    assert kinked_nets >= 5 and kinks_on_kinked_nets > 0
    assert on_kinks <= 10
