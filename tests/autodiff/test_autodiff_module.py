"""AutodiffModule and MLP: layers written with autodiff ops, trained through the Layer protocol."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import autodiff as ad
from chainrule import nn


class Affine(ad.AutodiffModule):
    def __init__(self, n_in: int, n_out: int, rng: int = 0) -> None:
        super().__init__()
        g = np.random.default_rng(rng)
        self.params = {"W": g.standard_normal((n_in, n_out)), "b": g.standard_normal(n_out)}
        self.zero_grad()

    def graph(self, x, p):
        return ad.sin(x @ p["W"] + p["b"]) * ad.sigmoid(x.sum(axis=1, keepdims=True))


def test_autodiff_module_backward_matches_pytorch():
    layer = Affine(3, 2)
    x = np.random.default_rng(1).standard_normal((5, 3))
    dout = np.random.default_rng(2).standard_normal((5, 2))
    out = layer.forward(x)
    dx = layer.backward(dout)
    tx, tW, tb = (torch.tensor(a, requires_grad=True) for a in (x, layer.params["W"], layer.params["b"]))
    tout = torch.sin(tx @ tW + tb) * torch.sigmoid(tx.sum(dim=1, keepdim=True))
    (tout * torch.tensor(dout)).sum().backward()
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(layer.grads["W"], tW.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(layer.grads["b"], tb.grad.numpy(), rtol=1e-10)
    # A second backward after a new forward does not accumulate the first one's gradients.
    layer.forward(x)
    layer.backward(dout)
    np.testing.assert_allclose(layer.grads["W"], tW.grad.numpy(), rtol=1e-10)


def test_backward_params_fills_the_same_grads_without_forming_dx():
    layer, x = Affine(3, 2), np.random.default_rng(1).standard_normal((5, 3))
    dout = np.random.default_rng(2).standard_normal((5, 2))
    layer.forward(x)
    dx = layer.backward(dout)
    expected = {k: g.copy() for k, g in layer.grads.items()}
    layer.forward(x)
    layer.backward_params(dout)
    assert layer._x.grad is None  # reverse mode never reached x
    for k, g in expected.items():
        np.testing.assert_array_equal(layer.grads[k], g)
    np.testing.assert_array_equal(layer.backward(dout), dx)  # x is an input again afterwards


def test_autodiff_module_protocol_errors():
    layer = Affine(3, 2)
    with pytest.raises(RuntimeError, match="backward called before forward"):
        layer.backward(np.ones((1, 2)))
    layer.forward(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"dout must have the forward output's shape \(4, 2\), got \(2, 4\)"):
        layer.backward(np.ones((2, 4)))
    with pytest.raises(TypeError, match="dout must have the forward output's dtype float64, got float32"):
        layer.backward(np.ones((4, 2), np.float32))
    with pytest.raises(TypeError, match="Affine.forward: x must be a float32 or float64 array, got dtype"):
        layer.forward(np.ones((4, 3), dtype=np.int64))

    class Unfinished(ad.AutodiffModule):
        pass

    with pytest.raises(NotImplementedError, match="Unfinished must implement graph"):
        Unfinished().forward(np.ones((1, 1)))


@pytest.mark.parametrize("activation,output",
                         [("relu", None), ("tanh", "sigmoid"), ("leaky_relu", "softmax")])
def test_mlp_has_the_same_weights_outputs_and_gradients_as_nn_mlp(activation, output):
    ours = ad.MLP([4, 7, 5, 3], activation, output=output, rng=11)
    ref = nn.mlp([4, 7, 5, 3], activation, output=output, rng=11)
    assert list(ours.params) == list(ref.params) == ["0.W", "0.b", "2.W", "2.b", "4.W", "4.b"]
    for k in ref.params:
        np.testing.assert_array_equal(ours.params[k], ref.params[k])
    rng = np.random.default_rng(3)
    for k in ref.params:  # nonzero biases, identical in both
        ref.params[k][...] = ours.params[k][...] = rng.standard_normal(ref.params[k].shape)
    x, dout = rng.standard_normal((6, 4)), rng.standard_normal((6, 3))
    np.testing.assert_allclose(ours.forward(x), ref.forward(x), rtol=1e-13)
    np.testing.assert_allclose(ours.backward(dout), ref.backward(dout), rtol=1e-12, atol=1e-14)
    for k in ref.grads:
        np.testing.assert_allclose(ours.grads[k], ref.grads[k], rtol=1e-12, atol=1e-14, err_msg=k)
    assert isinstance(ours, nn.Layer) and "activation='" in repr(ours)


def test_mlp_trains_with_fit_to_the_layer_versions_accuracy():
    X, y = cr.data.make_spiral(240, rng=0)
    X_train, X_test, y_train, y_test = cr.data.train_test_split(X, y, rng=0)
    results = []
    for model in (nn.mlp([2, 32, 32, 3], "relu", rng=4), ad.MLP([2, 32, 32, 3], "relu", rng=4)):
        history = cr.fit(model, nn.CrossEntropyLoss(), X_train, y_train, optimizer=cr.SGD(0.1, momentum=0.9),
                         epochs=100, batch_size=32, rng=0)
        results.append((history.history, cr.evaluate(model, nn.CrossEntropyLoss(), X_test, y_test), model))
    (h_ref, test_ref, ref), (h_ad, test_ad, ours) = results
    assert h_ad["accuracy"][-1] == h_ref["accuracy"][-1] > 0.95
    assert test_ad["accuracy"] == test_ref["accuracy"] > 0.95
    np.testing.assert_allclose(h_ad["loss"], h_ref["loss"], rtol=1e-8)
    for k in ref.params:
        np.testing.assert_allclose(ours.params[k], ref.params[k], rtol=1e-7, atol=1e-9)
    np.testing.assert_array_equal(cr.predict(ours, X_test), cr.predict(ref, X_test))


def test_mlp_to_sequential_copies_the_current_weights(tmp_path):
    ours = ad.MLP([3, 4, 2], "leaky_relu", output="softmax", rng=0, dtype=np.float32)
    for p in ours.params.values():
        p += 0.5
    seq = ours.to_sequential()
    x = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
    # float32: softmax as exp(log_softmax) and as e / sum(e) differ in the last bit.
    np.testing.assert_allclose(seq.forward(x), ours.forward(x), rtol=1e-6)
    assert isinstance(seq[-1], nn.Softmax) and seq[0].params["W"].dtype == np.float32
    seq.params["0.W"][...] = 0
    assert np.all(ours.params["0.W"] != 0)
    fresh = ours.to_sequential()
    path = cr.save(fresh, tmp_path / "mlp.npz")
    np.testing.assert_array_equal(cr.load(path).forward(x), fresh.forward(x))


def test_mlp_in_float32_stays_float32_through_training():
    X, y = cr.data.make_moons(64, rng=1)
    model = ad.MLP([2, 8, 2], "tanh", rng=0, dtype=np.float32)
    cr.fit(model, nn.CrossEntropyLoss(), X.astype(np.float32), y, optimizer=cr.SGD(0.1), epochs=3)
    assert all(p.dtype == np.float32 for p in model.params.values())
    assert all(g.dtype == np.float32 for g in model.grads.values())


def test_autodiff_modules_mix_with_hand_written_layers():
    model = nn.Sequential(nn.Linear(3, 3, rng=0), Affine(3, 4, rng=1), nn.Tanh(), ad.MLP([4, 5, 2], rng=2))
    X, y = np.random.default_rng(0).standard_normal((6, 3)), np.array([0, 1, 1, 0, 1, 0])
    loss = nn.CrossEntropyLoss()
    loss.forward(model.forward(X), y)
    model.backward(loss.backward())
    auto = ad.model_gradients(model, nn.CrossEntropyLoss(), X, y)
    assert list(auto) == list(model.params)
    for k, g in model.grads.items():
        np.testing.assert_allclose(auto[k], g, rtol=1e-12, atol=1e-14, err_msg=k)


def test_mlp_rejects_bad_arguments():
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        ad.MLP([2, 3], "gelu")
    with pytest.raises(ValueError, match="unknown output 'max'"):
        ad.MLP([2, 3], output="max")
    with pytest.raises(ValueError, match="at least an input and an output size"):
        ad.MLP([2])
