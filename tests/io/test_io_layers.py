"""save/load for every layer whose state is in its params and buffers: the new built-in layers,
your own layers and composites (rebuilt from class path and constructor arguments, only with the
caller's consent), and a single layer as the model."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


class Swish(nn.Layer):
    """y = x * sigmoid(beta * x), beta (D,)."""

    def __init__(self, n_features, *, init=1.0):
        super().__init__()
        self.params = {"beta": np.full(n_features, init)}
        self.zero_grad()

    def forward(self, x):
        self.x, self.s = x, nn.functional.sigmoid(self.params["beta"] * x)
        return x * self.s

    def backward(self, dout):
        x, s, beta = self.x, self.s, self.params["beta"]
        dz = dout * x * s * (1 - s)
        self.grads["beta"] = (dz * x).sum(axis=0)
        return dout * s + dz * beta


class Residual(nn.Layer):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    params = property(lambda self: {f"inner.{k}": v for k, v in self.inner.params.items()})
    grads = property(lambda self: {f"inner.{k}": v for k, v in self.inner.grads.items()})
    buffers = property(lambda self: {f"inner.{k}": v for k, v in self.inner.buffers.items()})

    def zero_grad(self):
        self.inner.zero_grad()

    def forward(self, x):
        return x + self.inner.forward(x)

    def backward(self, dout):
        return dout + self.inner.backward(dout)


class Configured(nn.Linear):
    """A subclass with its own get_config (its constructor takes a Generator)."""

    def __init__(self, n, *, rng=None, scale=2.0):
        super().__init__(n, n, rng=rng)
        self.scale = scale

    def get_config(self):
        return {"n": self.in_features, "scale": self.scale}


def _trained_net():
    rng = np.random.default_rng(0)
    net = nn.Sequential(nn.Linear(3, 4, rng=0), nn.BatchNorm1d(4), Swish(4, init=0.5),
                        Residual(nn.Sequential(nn.Linear(4, 4, rng=1), nn.LayerNorm(4), nn.Tanh())),
                        nn.Dropout(0.25, rng=0), Configured(4, rng=np.random.default_rng(3), scale=3.0),
                        nn.Linear(4, 2, rng=2))
    cr.fit(net, cr.CrossEntropyLoss(), rng.standard_normal((40, 3)), rng.integers(0, 2, 40),
           optimizer=cr.Adam(lr=0.01), epochs=3, batch_size=8, rng=0)
    return net


def test_custom_and_new_layers_round_trip_with_consent(tmp_path):
    net = _trained_net()
    path = cr.save(net, tmp_path / "net.npz")
    with pytest.raises(ValueError, match=r"needs the custom layer class '.*:Swish'.*custom_layers=\[Swish\]"):
        cr.load(path)
    back = cr.load(path, custom_layers=[Swish, Residual, Configured])
    assert [type(layer).__name__ for layer in back] == [type(layer).__name__ for layer in net]
    assert back[5].scale == 3.0 and back[4].p == 0.25 and back[1].momentum == 0.1
    state, loaded = net.state_dict(), back.state_dict()
    assert set(state) == set(loaded) and "1.running_var" in state and "3.inner.1.weight" in state
    for k, v in state.items():
        np.testing.assert_array_equal(loaded[k], v)
        assert loaded[k].dtype == v.dtype
    X = np.random.default_rng(5).standard_normal((7, 3))
    np.testing.assert_array_equal(cr.predict_proba(back, X), cr.predict_proba(net, X))
    # by class name when the module differs (a class defined in a notebook, loaded from a script)
    named = {"Swish": Swish, "Residual": Residual, "elsewhere:Configured": Configured}
    again = cr.load(path, custom_layers=named)
    np.testing.assert_array_equal(cr.predict_proba(again, X), cr.predict_proba(net, X))


def test_the_file_records_class_paths_and_arguments_never_pickles(tmp_path):
    path = cr.save(nn.Sequential(Swish(3, init=0.25), nn.BatchNorm1d(3, momentum=None)), tmp_path / "m.npz")
    with zipfile.ZipFile(path) as zf:
        doc = json.loads(np.load(zf.open("__architecture__.npy"), allow_pickle=False).tobytes())
    swish, bn = doc["layers"]
    assert swish == {"type": "custom", "class": f"{__name__}:Swish", "args": [3], "kwargs": {"init": 0.25}}
    assert bn["type"] == "BatchNorm1d" and bn["momentum"] is None
    arrays = np.load(path, allow_pickle=False)
    assert sorted(arrays.files) == sorted(["__architecture__", "0.beta", "1.weight", "1.bias",
                                          "1.running_mean", "1.running_var", "1.num_batches_tracked"])


def test_a_single_layer_is_a_model(tmp_path):
    bn = nn.BatchNorm1d(5)
    bn.forward(np.random.default_rng(0).standard_normal((9, 5)) * 3)
    back = cr.load(cr.save(bn, tmp_path / "bn.npz"))
    assert type(back) is nn.BatchNorm1d
    np.testing.assert_array_equal(back.buffers["running_mean"], bn.buffers["running_mean"])
    lone = cr.load(cr.save(nn.Linear(2, 3, rng=0, dtype=np.float32), tmp_path / "lin.npz"))
    assert lone.params["W"].dtype == np.float32


def _tampered(path, tmp_path, edit):
    """A copy of the saved model at ``path`` whose architecture document went through ``edit(doc)``."""
    import io

    with zipfile.ZipFile(path) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
        doc = json.loads(np.load(zf.open("__architecture__.npy")).tobytes())
    edit(doc)
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.frombuffer(json.dumps(doc).encode(), np.uint8))
    entries["__architecture__.npy"] = buf.getvalue()
    bad = tmp_path / "bad.npz"
    with zipfile.ZipFile(bad, "w") as zf:
        for n, data in entries.items():
            zf.writestr(n, data)
    return bad


def test_tampered_new_layer_fields_are_refused(tmp_path):
    path = cr.save(nn.Sequential(nn.Dropout(0.5), nn.LayerNorm((2, 3))), tmp_path / "m.npz")
    bad = _tampered(path, tmp_path, lambda doc: doc["layers"][0].update(p=7))
    with pytest.raises(ValueError, match=r"layer 0: invalid Dropout description \(p must lie in"):
        cr.load(bad)


@pytest.mark.parametrize("state,message", [
    ({"bit_generator": "os.system", "state": {}}, "Dropout state must name one of NumPy's bit generators"),
    ({"bit_generator": "PCG64", "state": {"state": "x", "inc": 1}}, "invalid PCG64 state"),
    (7, "Dropout state must name one of NumPy's bit generators"),
])
def test_tampered_dropout_state_is_refused(tmp_path, state, message):
    path = cr.save(nn.Sequential(nn.Dropout(0.5, rng=0)), tmp_path / "m.npz")

    def edit(doc):
        assert doc["layers"][0]["extra_state"]["bit_generator"] == "PCG64"
        doc["layers"][0]["extra_state"] = state

    with pytest.raises(ValueError, match=rf"layer 0 \(Dropout\): its extra_state was refused: {message}"):
        cr.load(_tampered(path, tmp_path, edit))


def test_a_layer_without_extra_state_refuses_one():
    with pytest.raises(ValueError, match="ReLU keeps no extra state"):
        nn.ReLU().set_extra_state({"a": 1})
    assert nn.ReLU().get_extra_state() is None
