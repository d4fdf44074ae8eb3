# ruff: noqa: E501  (tables of cases: one case per line reads best)
"""Validation at the door: each case the reliability issue (#13) lists, refused with a ValueError or
TypeError raised by chainrule itself, whose message names the argument, the expected and the
actual. (The fuzz suite, tests/fuzz, throws generated bad input at every public entry point.)"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import autodiff as ad
from chainrule import dlai

PACKAGE = Path(cr.__file__).resolve().parent


def refused(call, error, *words):
    """Run ``call``; check the error type, that it was raised inside chainrule, and the words."""
    with pytest.raises(error) as info:
        call()
    last = Path(info.traceback[-1].path).resolve()
    assert PACKAGE in last.parents, f"raised from {last}, outside chainrule"
    message = str(info.value)
    assert "inhomogeneous" not in message
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    return message


def _model():
    return cr.Sequential(cr.Linear(2, 3, rng=0), cr.ReLU(), cr.Linear(3, 2, rng=1))


RAGGED = [[1.0, 2.0], [3.0]]


@pytest.mark.parametrize("call,name", [
    (lambda: cr.predict(_model(), RAGGED), "X"),
    (lambda: cr.evaluate(_model(), cr.CrossEntropyLoss(), RAGGED, [0, 1]), "X"),
    (lambda: cr.fit(_model(), cr.CrossEntropyLoss(), [[1.0, 2], [3, 4]], RAGGED, optimizer=cr.SGD(0.1), epochs=1),
     "y"),
    (lambda: cr.Linear(2, 3, rng=0).forward(RAGGED), "x"),
    (lambda: cr.CrossEntropyLoss().forward(np.zeros((2, 2)), RAGGED), "target"),
    (lambda: ad.Tensor(RAGGED), "data"),
    (lambda: ad.add(np.ones(2), RAGGED), "b"),
    (lambda: dlai.compute_cost(RAGGED, [[1.0, 0]]), "AL"),
    (lambda: dlai.linear_forward(RAGGED, np.ones((2, 2)), np.zeros((2, 1))), "A"),
    (lambda: cr.data.train_test_split(RAGGED, [0, 1]), "X"),
    (lambda: cr.check_layer(cr.Linear(2, 3, rng=0), RAGGED), "x"),
])
def test_ragged_input_names_the_argument(call, name):
    message = refused(call, ValueError, "must be a rectangular array", "ragged nested sequence (row lengths 2, 1)")
    assert name in message


@pytest.mark.parametrize("call,words", [
    (lambda: cr.mlp([2, 3], rng=-1), ("rng must be a seed in >= 0, got -1",)),
    (lambda: cr.Linear(2, 3, rng=1.5), ("rng must be a numpy.random.Generator, an int seed or None, got float",)),
    (lambda: cr.Linear(2, 3, rng="0"), ("got str '0'",)),
    (lambda: dlai.initialize_parameters(3, 2, 1, rng=2**32), ("rng must be a seed in [0, 4294967295]", "2**32 - 1")),
    (lambda: dlai.initialize_parameters_deep([3, 2, 1], rng=-1), ("rng must be a seed in [0, 4294967295]", "got -1")),
    (lambda: dlai.L_layer_model(np.ones((3, 2)), [[1.0, 0]], [3, 1], num_iterations=1, rng=2**40), ("rng",)),
    (lambda: cr.data.make_moons(20, rng=-5), ("rng must be a seed in >= 0, got -5",)),
])
def test_bad_seeds(call, words):
    refused(call, (ValueError, TypeError), *words)


@pytest.mark.parametrize("path,error,words", [
    (None, TypeError, ("path must be a str or os.PathLike file path, got NoneType",)),
    (3, TypeError, ("got int 3",)),
    ("", ValueError, ("path must be a non-empty path, got ''",)),
])
def test_bad_paths(path, error, words):
    refused(lambda: cr.save(_model(), path), error, *words)
    refused(lambda: cr.load(path), error, *words)


@pytest.mark.parametrize("call,words", [
    (lambda: dlai.compute_cost(np.zeros((1, 0)), np.zeros((1, 0))), ("compute_cost: AL has no examples", "(1, 0)")),
    (lambda: dlai.L_layer_model(np.zeros((3, 0)), np.zeros((1, 0)), [3, 2, 1], num_iterations=2),
     ("L_layer_model: X has no examples",)),
    (lambda: dlai.gradient_check_n(dlai.initialize_parameters_deep([3, 1]), {"dW1": np.zeros((1, 3)),
                                                                           "db1": np.zeros((1, 1))},
                                   np.zeros((3, 0)), np.zeros((1, 0))), ("gradient_check_n: X has no examples",)),
    (lambda: dlai.accuracy(np.zeros((1, 0)), np.zeros((1, 0))), ("accuracy: p has no examples",)),
    (lambda: dlai.linear_backward(np.zeros((2, 0)), (np.zeros((3, 0)), np.ones((2, 3)), np.zeros((2, 1)))),
     ("linear_backward: A_prev (in the cache) has no examples",)),
    (lambda: ad.mean(np.zeros((0, 3))), ("mean: a of shape (0, 3) has no elements",)),
    (lambda: ad.mean(np.zeros((2, 0)), axis=1), ("no elements along axis 1",)),
    (lambda: ad.cross_entropy(np.zeros((0, 3)), np.zeros(0, dtype=int)),
     ("cross_entropy: logits must have at least one row", "(0, 3)")),
])
def test_empty_batches_are_refused_not_nan(call, words):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not a NumPy "mean of empty slice" warning either
        refused(call, ValueError, *words)


def test_non_string_keys_read_only_parameters_and_wrong_types():
    refused(lambda: cr.SGD(0.1).step(None, {}), TypeError, "params must be a dict", "NoneType")
    refused(lambda: cr.SGD(0.1).step({1: np.ones(2)}, {1: np.ones(2)}), TypeError, "params must have str keys",
            "key 1 of type int")
    p = np.ones(2)
    p.flags.writeable = False
    refused(lambda: cr.Adam(0.1).step({"W": p}, {"W": np.ones(2)}), ValueError, "params['W'] is read-only")
    refused(lambda: dlai.gradients_to_vector(None), TypeError, "gradients must be a dict", "NoneType")
    refused(lambda: cr.save(_model(), "/tmp/x.npz", metadata={1: 2}), TypeError, "metadata has a key of type int")
    refused(lambda: ad.concatenate([np.ones(2), np.ones(2)], axis=None), TypeError,
            "concatenate: axis must be an int, got NoneType")
    refused(lambda: ad.reshape(ad.Tensor(np.ones(6)), "23"), TypeError,
            "reshape: shape must be an int or a tuple of ints, got str '23'")
    refused(lambda: cr.mlp([2, 3], activation=np.array(["relu"])), TypeError, "activation must be a str")
    refused(lambda: ad.Tensor(np.ones(2), requires_grad="yes"), TypeError, "requires_grad must be True or False")


def test_backward_propagation_n_with_a_1d_al():
    params = dlai.initialize_parameters_deep([4, 5, 3, 1], rng=1)
    X = np.random.default_rng(0).standard_normal((4, 3))
    Y = np.array([[1.0, 1, 0]])
    _, cache = dlai.forward_propagation_n(X, Y, params)
    cache = cache[:-3] + (cache[-3].ravel(),) + cache[-2:]  # AL (1, m) -> (m,)
    refused(lambda: dlai.backward_propagation_n(X, Y, cache), ValueError,
            "cache must hold a 2-D AL (1, m)", "AL of shape (3,)")


def test_complex_upstream_gradient_is_refused_not_truncated():
    x = ad.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * 3.0
    refused(lambda: y.backward(np.array([1 + 2j, 1j])), TypeError, "gradient must be real, got dtype complex128",
            "imaginary part")
    assert x.grad is None


def test_bool_labels_are_refused_by_the_loss_as_by_fit():
    logits = np.zeros((3, 2))
    labels = np.array([True, False, True])
    refused(lambda: cr.CrossEntropyLoss().forward(logits, labels), TypeError,
            "target labels must be integers, got dtype bool", "astype(int)")
    refused(lambda: ad.cross_entropy(logits, labels), TypeError, "dtype bool")
    refused(lambda: cr.fit(cr.Sequential(cr.Linear(2, 2, rng=0)), cr.CrossEntropyLoss(), np.ones((3, 2)), labels,
                           optimizer=cr.SGD(0.1), epochs=1), TypeError, "y", "dtype bool")
    # and integer labels still work, with the same value in both
    a = cr.CrossEntropyLoss().forward(logits, labels.astype(int))
    assert a == pytest.approx(np.log(2)) and float(ad.cross_entropy(logits, labels.astype(int)).data) == a


def test_update_parameters_refuses_non_finite_results():
    params = {"W1": np.ones((1, 2)), "b1": np.zeros((1, 1))}
    grads = {"dW1": np.full((1, 2), 1e308), "db1": np.zeros((1, 1))}
    refused(lambda: dlai.update_parameters(params, grads, 1e10), ValueError,
            "the step made W1 non-finite", "learning_rate=10000000000.0 is too large")
    assert np.array_equal(params["W1"], np.ones((1, 2)))  # the caller's parameters are untouched


def test_course_loop_stops_at_divergence_with_a_warning_and_finite_parameters():
    X = np.random.default_rng(0).standard_normal((3, 8))
    Y = (X[:1] > 0).astype(float)
    with pytest.warns(RuntimeWarning, match="learning_rate"):
        params, _ = dlai.two_layer_model(X, Y, (3, 4, 1), learning_rate=1e300, num_iterations=5)
    assert all(np.all(np.isfinite(v)) for v in params.values())


def test_messages_name_x_and_y_not_the_layers_words():
    model = cr.Sequential(cr.Linear(3, 2, rng=0))
    X = np.ones((4, 2))
    for call in (lambda: cr.predict(model, X), lambda: cr.evaluate(model, cr.CrossEntropyLoss(), X, np.zeros(4, int)),
                 lambda: cr.check_model(model, cr.CrossEntropyLoss(), X, np.zeros(4, int))):
        message = refused(call, ValueError, "X of shape (4, 2) does not fit the model")
        assert message.startswith("X")
    message = refused(lambda: cr.check_model(model, cr.MSELoss(), np.ones((4, 3)), np.zeros((5, 2))), ValueError,
                      "y does not fit the loss", "MSELoss: y must have the logits' shape (4, 2), got (5, 2)")
    assert "target" not in message


def test_overlong_architecture_says_what_is_wrong(tmp_path):
    import io
    import zipfile
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": (17825874,)})
    with zipfile.ZipFile(tmp_path / "m.npz", "w") as zf:
        zf.writestr("__architecture__.npy", header.getvalue() + b"{}")
    message = refused(lambda: cr.load(tmp_path / "m.npz"), ValueError,
                      "architecture entry is 17825874 bytes long; expected at most 16777216 (16 MiB)")
    assert "dtype uint8" not in message


def test_sizes_beyond_memory_are_refused_before_allocating():
    refused(lambda: cr.Linear(2**32, 2**32), ValueError, "Linear(in_features=4294967296, out_features=4294967296)",
            "GB), more than the")
    refused(lambda: dlai.initialize_parameters(2**32, 4, 1), ValueError, "W1 of shape (n_h, n_x)")
    refused(lambda: cr.data.make_spiral(2**40), ValueError, "n_samples=1099511627776")
