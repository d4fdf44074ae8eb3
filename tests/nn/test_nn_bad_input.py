"""Bad input: each error names the argument and shows what was expected next to what was received."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import nn

X = np.zeros((4, 3))


# --- Linear -----------------------------------------------------------------------------------

@pytest.mark.parametrize("x, message", [
    (np.zeros((4, 5)), r"Linear.forward: x must have shape \(N, 3\), got \(4, 5\)"),
    (np.zeros(3), r"Linear.forward: x must have shape \(N, 3\), got \(3,\)"),
    (np.zeros((2, 4, 3)), r"x must have shape \(N, 3\), got \(2, 4, 3\)"),
])
def test_linear_rejects_wrong_input_shape(x, message):
    with pytest.raises(ValueError, match=message):
        nn.Linear(3, 2, rng=0).forward(x)


@pytest.mark.parametrize("x, message", [
    (np.zeros((4, 3), np.float32), r"x must have the layer's dtype float64, got float32"),
    (np.zeros((4, 3), np.int64), r"x must be a float32 or float64 array, got dtype int64"),
    (np.array([["a", "b", "c"]]), r"x must be a float32 or float64 array, got dtype <U1"),
])
def test_linear_rejects_wrong_input_dtype(x, message):
    with pytest.raises(TypeError, match=message):
        nn.Linear(3, 2, rng=0).forward(x)


def test_float32_layer_rejects_float64_input_instead_of_upcasting():
    with pytest.raises(TypeError, match=r"dtype float32, got float64.*astype\(np.float32\)"):
        nn.Linear(3, 2, rng=0, dtype=np.float32).forward(X)


@pytest.mark.parametrize("dout, error, message", [
    (np.zeros((4, 3)), ValueError, r"Linear.backward: dout must have the forward output's shape \(4, 2\), "
                                   r"got \(4, 3\)"),
    (np.zeros(8), ValueError, r"shape \(4, 2\), got \(8,\)"),
    (np.zeros((2, 4)), ValueError, r"shape \(4, 2\), got \(2, 4\)"),
    (np.zeros((4, 2), np.float32), TypeError,
     r"dout must have the forward output's dtype float64, got float32"),
])
def test_linear_rejects_wrong_dout(dout, error, message):
    layer = nn.Linear(3, 2, rng=0)
    layer.forward(X)
    with pytest.raises(error, match=message):
        layer.backward(dout)


@pytest.mark.parametrize("args, kwargs, error, message", [
    ((0, 2), {}, ValueError, r"in_features must be a positive integer, got 0"),
    ((3, -1), {}, ValueError, r"out_features must be a positive integer, got -1"),
    ((2.5, 2), {}, ValueError, r"in_features must be a positive integer, got 2.5"),
    ((True, 2), {}, ValueError, r"in_features must be a positive integer, got True"),
    ((3, 2), {"dtype": np.int32}, TypeError, r"dtype must be float32 or float64, got <class 'numpy.int32'>"),
    ((3, 2), {"dtype": np.float16}, TypeError, r"dtype must be float32 or float64"),
    ((3, 2), {"dtype": "bogus"}, TypeError, r"dtype must be float32 or float64, got 'bogus'"),
    ((3, 2), {"dtype": None}, TypeError, r"dtype must be float32 or float64, got None"),
    ((3, 2), {"init": "kaiming"}, ValueError, r"unknown init 'kaiming'; expected one of 'course', 'xavier', "
                                              r"'glorot', 'he'"),
    ((3, 2), {"rng": 1.5}, TypeError,
     r"rng must be a numpy.random.Generator, an int seed or None, got float"),
    ((3, 2), {"init": lambda fi, fo, rng, dt: np.zeros((fo, fi))}, ValueError,
     r"init returned W of shape \(2, 3\), expected \(3, 2\)"),
    ((3, 2), {"init": lambda fi, fo, rng, dt: np.full((fi, fo), np.nan)}, ValueError, r"non-finite"),
])
def test_linear_constructor_rejects_bad_arguments(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        nn.Linear(*args, **kwargs)


# --- backward before forward, activations -----------------------------------------------------

@pytest.mark.parametrize("layer", [nn.Linear(3, 2, rng=0), nn.ReLU(), nn.LeakyReLU(), nn.Sigmoid(), nn.Tanh(),
                                   nn.Softmax(), nn.Identity(), nn.mlp([3, 2], rng=0)],
                         ids=lambda layer: type(layer).__name__)
def test_backward_before_forward_is_a_clear_runtime_error(layer):
    with pytest.raises(RuntimeError, match=r"\w+\.backward called before forward\(\)"):
        layer.backward(np.zeros((4, 2)))


@pytest.mark.parametrize("loss", [nn.CrossEntropyLoss(), nn.BCEWithLogitsLoss(), nn.MSELoss()],
                         ids=lambda loss: type(loss).__name__)
def test_loss_backward_before_forward_is_a_clear_runtime_error(loss):
    with pytest.raises(RuntimeError, match=rf"{type(loss).__name__}.backward called before forward\(\)"):
        loss.backward()


@pytest.mark.parametrize("cls", [nn.ReLU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.Softmax, nn.Identity])
def test_activations_check_input_dtype_and_dout(cls):
    layer = cls()
    with pytest.raises(TypeError, match=rf"{cls.__name__}.forward: x must be a float32 or float64 array, "
                                        r"got dtype int64"):
        layer.forward(np.arange(6).reshape(2, 3))
    layer.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=rf"{cls.__name__}.backward: dout must have the forward output's "
                                         r"shape \(2, 3\), got \(3, 2\)"):
        layer.backward(np.ones((3, 2)))
    with pytest.raises(TypeError, match=r"dout must have the forward output's dtype float64, got float32"):
        layer.backward(np.ones((2, 3), np.float32))


@pytest.mark.parametrize("slope", [float("nan"), float("inf"), "0.1", None, True])
def test_leaky_relu_rejects_bad_slope(slope):
    with pytest.raises(ValueError, match=r"negative_slope must be a finite number, got"):
        nn.LeakyReLU(slope)


def test_get_activation_rejects_unknown_name():
    with pytest.raises(ValueError, match=r"unknown activation 'gelu'; expected one of 'relu', 'leaky_relu', "
                                         r"'sigmoid', 'tanh', 'softmax', 'identity'"):
        nn.get_activation("gelu")


# --- Sequential and mlp -----------------------------------------------------------------------

def test_sequential_rejects_non_layers_and_reused_instances():
    with pytest.raises(TypeError,
                       match=r"Sequential: layers\[1\] \(argument 1\) must be a chainrule Layer, got str"):
        nn.Sequential(nn.Linear(2, 2, rng=0), "relu")
    relu = nn.ReLU()
    with pytest.raises(ValueError, match=r"argument 3 is the same ReLU object as argument 1"):
        nn.Sequential(nn.Linear(2, 2, rng=0), relu, nn.Linear(2, 2, rng=0), relu)


def test_sequential_params_cannot_be_replaced():
    model = nn.mlp([2, 2], rng=0)
    with pytest.raises(AttributeError, match=r"use load_state_dict"):
        model.params = {"0.W": np.zeros((2, 2))}


def test_sequential_reports_the_failing_layer_shape():
    model = nn.mlp([3, 4, 2], rng=0)
    with pytest.raises(ValueError, match=r"x must have shape \(N, 3\), got \(5, 4\)"):
        model.forward(np.zeros((5, 4)))


@pytest.mark.parametrize("kwargs, error, message", [
    ({"sizes": [3]}, ValueError, r"sizes must list at least an input and an output size, got \[3\]"),
    ({"sizes": []}, ValueError, r"sizes must list at least an input and an output size, got \[\]"),
    ({"sizes": [3, 0, 2]}, ValueError, r"sizes\[1\] must be a positive integer, got 0"),
    ({"sizes": [3, 4, -2]}, ValueError, r"sizes\[2\] must be a positive integer, got -2"),
    ({"sizes": [3, 4.0, 2]}, ValueError, r"sizes\[1\] must be a positive integer, got 4.0"),
    ({"sizes": 5}, TypeError, r"sizes must be a sequence of layer sizes such as \[2, 100, 3\], got 5"),
    ({"sizes": [2, 2], "activation": "gelu"}, ValueError,
     r"unknown activation 'gelu'; expected one of 'relu'"),
    ({"sizes": [2, 2], "output": "softmx"}, ValueError,
     r"unknown output activation 'softmx'; expected None or one of 'relu'"),
    ({"sizes": [2, 2], "init": "normal"}, ValueError, r"unknown init 'normal'"),
    ({"sizes": [2, 2], "dtype": np.int64}, TypeError, r"dtype must be float32 or float64"),
])
def test_mlp_rejects_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        nn.mlp(**kwargs)


def test_mlp_accepts_numpy_sizes():
    assert nn.mlp(np.array([3, 4, 2]), rng=0).forward(np.zeros((1, 3))).shape == (1, 2)


# --- losses -----------------------------------------------------------------------------------

Z = np.zeros((4, 3))


@pytest.mark.parametrize("target, message", [
    (np.array([0, 1, 3, 2]), r"target labels must lie in \[0, 2\], got values in \[0, 3\]"),
    (np.array([0, -1, 2, 2]), r"target labels must lie in \[0, 2\], got values in \[-1, 2\]"),
    (np.array([0, 1, 2]), r"integer target must have shape \(4,\) for logits of shape \(4, 3\), got \(3,\)"),
    (np.array([[0], [1], [2], [0]]), r"target must be integer labels of shape \(4,\) or class "
                                     r"probabilities of shape \(4, 3\) for logits of shape \(4, 3\); "
                                     r"got dtype int64, shape \(4, 1\); "
                                     r"for labels of shape \(N, 1\) pass target.ravel\(\)"),
    (np.array([0.0, 1.0, 2.0, 0.0]), r"got dtype float64, shape \(4,\); for float class labels pass "
                                     r"target.astype\(int\)"),
    (np.full((4, 2), 0.5), r"class probabilities of shape \(4, 3\) for logits of shape \(4, 3\); got dtype "
                           r"float64, shape \(4, 2\)"),
    (np.full((3, 3), 0.5), r"got dtype float64, shape \(3, 3\)"),
    (np.full((4, 3), 1.5), r"probability target values must lie in \[0, 1\], got values in \[1.5, 1.5\]"),
    (np.full((4, 3), np.nan), r"probability target values must lie in \[0, 1\], got values in \[nan, nan\]"),
    (np.array(["a", "b", "c", "d"]), r"got dtype <U1, shape \(4,\)"),
])
def test_cross_entropy_rejects_bad_targets(target, message):
    with pytest.raises(ValueError, match=r"^CrossEntropyLoss: .*" + message):
        nn.CrossEntropyLoss().forward(Z, target)


@pytest.mark.parametrize("logits, error, message", [
    (np.zeros(4), ValueError, r"CrossEntropyLoss: logits must have shape \(N, C\), got \(4,\)"),
    (np.zeros((0, 3)), ValueError, r"CrossEntropyLoss: logits is empty \(shape \(0, 3\)\)"),
    (np.zeros((4, 3), np.int64), TypeError, r"logits must be a float32 or float64 array, got dtype int64"),
    (np.zeros((4, 3), np.float16), TypeError,
     r"logits must be a float32 or float64 array, got dtype float16"),
])
def test_cross_entropy_rejects_bad_logits(logits, error, message):
    with pytest.raises(error, match=message):
        nn.CrossEntropyLoss().forward(logits, np.zeros(4, np.int64))


@pytest.mark.parametrize("logits, target, error, message", [
    (np.zeros(4), np.array([0, 1, 2, 1]), ValueError,
     r"target values must lie in \[0, 1\], got values in \[0\.0, 2\.0\]"),
    (np.zeros(4), np.array([0.5, -0.1, 0, 1]), ValueError, r"got values in \[-0.1, 1.0\]"),
    (np.zeros(4), np.array([0.5, np.nan, 0, 1]), ValueError, r"target values must lie in \[0, 1\]"),
    (np.zeros(4), np.zeros((4, 1)), ValueError,
     r"BCEWithLogitsLoss: target must have the logits' shape \(4,\), got \(4, 1\)"),
    (np.zeros((4, 1)), np.zeros(4), ValueError, r"target must have the logits' shape \(4, 1\), got \(4,\)"),
    (np.zeros(4), np.array(["1", "0", "1", "0"]), TypeError, r"BCEWithLogitsLoss: target must be numeric, "
                                                             r"got dtype <U1"),
    (np.zeros(4, np.int64), np.zeros(4), TypeError, r"BCEWithLogitsLoss: logits must be a float32 or float64 "
                                                    r"array, got dtype int64"),
])
def test_bce_rejects_bad_input(logits, target, error, message):
    with pytest.raises(error, match=message):
        nn.BCEWithLogitsLoss().forward(logits, target)


@pytest.mark.parametrize("logits, target, error, message", [
    (np.zeros((4, 2)), np.zeros((4, 1)), ValueError, r"MSELoss: target must have the logits' shape \(4, 2\), "
                                                     r"got \(4, 1\)"),
    (np.zeros(4), np.zeros((4, 1)), ValueError, r"shape \(4,\), got \(4, 1\)"),
    (np.zeros(4), np.array(list("abcd")), TypeError, r"MSELoss: target must be numeric, got dtype <U1"),
    (np.zeros(0), np.zeros(0), ValueError, r"MSELoss: logits is empty"),
])
def test_mse_rejects_bad_input(logits, target, error, message):
    with pytest.raises(error, match=message):
        nn.MSELoss().forward(logits, target)
