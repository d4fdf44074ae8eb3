"""save/load: exact round trips, deterministic bytes, atomic writes, clear errors for bad files."""

import io
import json
import os
import zipfile

import numpy as np
import pytest

import chainrule
from chainrule import nn
from chainrule.autodiff import MLP
from chainrule.io import load, load_metadata, save


def _model(dtype=np.float64):
    inner = nn.Sequential(nn.Linear(5, 4, rng=2, dtype=dtype), nn.Sigmoid())
    model = nn.Sequential(nn.Linear(3, 5, rng=1, dtype=dtype), nn.LeakyReLU(0.2), inner, nn.Tanh(),
                          nn.Linear(4, 3, rng=3, dtype=dtype), nn.ReLU(), nn.Identity(), nn.Softmax())
    for p in model.params.values():  # non-zero biases so that b is checked too
        p += np.linspace(-1, 1, p.size, dtype=dtype).reshape(p.shape)
    return model


def _rewrite(src, dst, change):
    """Copy the zip at src to dst, passing every (name, bytes) through ``change``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            for new_name, data in change(name, zin.read(name)):
                zout.writestr(new_name, data)


def _npy(arr):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=False)
    return buf.getvalue()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip_is_exact(tmp_path, dtype):
    model = _model(dtype)
    path = save(model, tmp_path / "m.npz", metadata={"note": "hi", "sizes": [3, 5]})
    back = load(path)
    assert [type(layer) for layer in back] == [type(layer) for layer in model]
    assert type(back[2][0]) is nn.Linear and type(back[2][1]) is nn.Sigmoid
    assert back[1].negative_slope == 0.2
    assert back.params.keys() == model.params.keys()
    for k, v in model.params.items():
        assert back.params[k].dtype == dtype and np.array_equal(back.params[k], v)
    x = np.random.default_rng(0).standard_normal((7, 3)).astype(dtype)
    assert np.array_equal(back.forward(x), model.forward(x))
    assert load_metadata(path) == {"note": "hi", "sizes": [3, 5]}
    assert chainrule.load is load and chainrule.save is save


def test_file_is_a_plain_npz_readable_without_pickle(tmp_path):
    model = _model()
    save(model, tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as z:
        assert set(z.files) == {"__architecture__", *model.params}
        assert np.array_equal(z["0.W"], model.params["0.W"])
        arch = json.loads(z["__architecture__"].tobytes())
    assert arch["format"] == "chainrule.model" and arch["version"] == 1
    assert arch["layers"][0] == {"type": "Linear", "in_features": 3, "out_features": 5, "dtype": "float64"}
    assert arch["layers"][1] == {"type": "LeakyReLU", "negative_slope": 0.2}


def test_same_model_same_bytes(tmp_path):
    save(_model(), tmp_path / "a.npz", metadata={"seed": 1})
    os.utime(tmp_path / "a.npz", (0, 0))
    save(_model(), tmp_path / "b.npz", metadata={"seed": 1})
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    save(_model(), tmp_path / "c.npz", metadata={"seed": 2})
    assert (tmp_path / "a.npz").read_bytes() != (tmp_path / "c.npz").read_bytes()


def test_overwrite_is_atomic_and_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    save(_model(), path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", boom)
    with pytest.raises(OSError, match="disk full"):
        save(_model(np.float32), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def test_save_rejects_what_it_cannot_describe(tmp_path):
    class Holder(nn.Layer):
        def __init__(self, table):
            super().__init__()
            self.table = table

        def forward(self, x):
            return x

        def backward(self, dout):
            return dout

    with pytest.raises(TypeError, match=r"layer 1 \(Holder\): argument 0 is a ndarray, which cannot be"):
        save(nn.Sequential(nn.ReLU(), Holder(np.zeros(2))), tmp_path / "m.npz")
    with pytest.raises(TypeError, match="model must be a chainrule Layer .*, got dict"):
        save({"W": np.zeros(2)}, tmp_path / "m.npz")
    with pytest.raises(TypeError, match="metadata must be JSON-serialisable"):
        save(_model(), tmp_path / "m.npz", metadata={"x": np.zeros(2)})
    assert not (tmp_path / "m.npz").exists()


def test_save_names_a_bad_destination_and_saves_an_autodiff_model(tmp_path, monkeypatch):
    with pytest.raises(IsADirectoryError, match=r"cannot write '.*': it is a directory"):
        save(_model(), tmp_path)
    with pytest.raises(FileNotFoundError, match=r"directory '.*missing' does not exist"):
        save(_model(), tmp_path / "missing" / "m.npz")
    assert list(tmp_path.iterdir()) == []
    net = MLP([2, 3, 2], rng=0)  # chainrule's own class: rebuilt without custom_layers
    save(net, tmp_path / "mlp.npz")
    back = load(tmp_path / "mlp.npz")
    assert type(back) is MLP and back.sizes == [2, 3, 2]
    for k, v in net.params.items():
        np.testing.assert_array_equal(back.params[k], v)
    (tmp_path / "mlp.npz").unlink()

    def read_only(*args, **kwargs):  # what os.open raises in a directory we may not write to
        raise PermissionError(13, "Permission denied", str(tmp_path / ".m.npz.1-abcdef01.tmp"))

    monkeypatch.setattr(chainrule.io, "_create_temp", read_only)
    with pytest.raises(PermissionError, match=r"cannot write '.*m\.npz': Permission denied"):
        save(_model(), tmp_path / "m.npz")


@pytest.mark.parametrize("keep", [0, 10, 0.5, -22, -1])
def test_truncated_file(tmp_path, keep):
    save(_model(), tmp_path / "m.npz")
    data = (tmp_path / "m.npz").read_bytes()
    cut = int(len(data) * keep) if isinstance(keep, float) else (keep if keep >= 0 else len(data) + keep)
    (tmp_path / "t.npz").write_bytes(data[:cut])
    with pytest.raises(ValueError, match=r"cannot load model from '.*t\.npz': .*(truncated|damaged)"):
        load(tmp_path / "t.npz")


def test_foreign_files(tmp_path):
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ValueError, match=r"'.*text\.npz': it is not a zip/.npz archive"):
        load(tmp_path / "text.npz")
    np.savez(tmp_path / "plain.npz", W=np.zeros(3))
    with pytest.raises(ValueError, match=r"'.*plain\.npz': it has no architecture entry.*plain NumPy"):
        load(tmp_path / "plain.npz")
    with pytest.raises(FileNotFoundError, match="no model file at"):
        load(tmp_path / "missing.npz")


def _edit_architecture(edit):
    def change(name, data):
        if name != "__architecture__.npy":
            return [(name, data)]
        doc = json.loads(np.load(io.BytesIO(data)).tobytes())
        edit(doc)
        return [(name, _npy(np.frombuffer(json.dumps(doc).encode(), np.uint8)))]
    return change


@pytest.mark.parametrize("edit,match", [
    (lambda d: d.update(version=2), "format version 2; this chainrule reads version 1"),
    (lambda d: d.update(format="other"), "is not a 'chainrule.model' document"),
    (lambda d: d["layers"][0].update(out_features=6),
     r"parameter '0.W' has shape \(3, 5\) .* says shape \(3, 6\)"),
    (lambda d: d["layers"][0].update(dtype="float32"),
     "dtype float64; the architecture says .* dtype float32"),
    (lambda d: d["layers"][1].update(type="Swish"), "layer 1: unknown layer type 'Swish'"),
    (lambda d: d["layers"][1].update(negative_slope="x"), "negative_slope must be a finite number"),
    (lambda d: d["layers"].pop(), None),
    (lambda d: d["layers"].append({"type": "Linear", "in_features": 3, "out_features": 1,
                                   "dtype": "float64"}),
     r"layer 8 is a Linear but the file has no entry '8.W.npy'"),
    (lambda d: d["layers"][4].update(in_features=4000, out_features=3000),
     r"layer 4: the architecture says Linear\(4000, 3000\) \(96000000 bytes .* holds only 224 bytes"),
])
def test_tampered_architecture(tmp_path, edit, match):
    save(_model(), tmp_path / "m.npz")
    _rewrite(tmp_path / "m.npz", tmp_path / "t.npz", _edit_architecture(edit))
    if match is None:  # dropping the parameter-free Softmax still describes every stored array
        assert type(load(tmp_path / "t.npz")[-1]) is nn.Identity
        return
    with pytest.raises(ValueError, match=match):
        load(tmp_path / "t.npz")


def test_tampered_parameters(tmp_path):
    save(_model(), tmp_path / "m.npz")
    data = bytearray((tmp_path / "m.npz").read_bytes())
    start = data.index(b"\x93NUMPY", data.index(b"4.b.npy"))  # the last Linear's bias entry
    data[start + 128 + 5] ^= 0xFF  # a byte of its values, after the 128-byte .npy header
    (tmp_path / "flip.npz").write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"entry '4.b.npy' is damaged \(BadZipFile.*CRC"):
        load(tmp_path / "flip.npz")

    def nan(name, data):
        return [(name, _npy(np.full((3,), np.nan)) if name == "4.b.npy" else data)]

    _rewrite(tmp_path / "m.npz", tmp_path / "nan.npz", nan)
    with pytest.raises(ValueError, match="parameter '4.b' contains non-finite values"):
        load(tmp_path / "nan.npz")

    def extra(name, data):
        return [(name, data)] + ([("evil.npy", _npy(np.zeros(2)))] if name == "0.W.npy" else [])

    _rewrite(tmp_path / "m.npz", tmp_path / "extra.npz", extra)
    with pytest.raises(ValueError, match=r"missing \[\], unexpected \['evil'\]"):
        load(tmp_path / "extra.npz")

    def pickled(name, data):
        return [(name, _npy(np.array([{"a": 1}], dtype=object)) if name == "4.b.npy" else data)]

    with pytest.raises(ValueError):
        np.lib.format.write_array(io.BytesIO(), np.array([{}], dtype=object), allow_pickle=False)
    obj = io.BytesIO()
    np.lib.format.write_array(obj, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    _rewrite(tmp_path / "m.npz", tmp_path / "pickle.npz",
             lambda n, d: [(n, obj.getvalue() if n == "4.b.npy" else d)])
    with pytest.raises(ValueError, match=r"entry '4.b.npy': it holds Python objects \(a pickle\); chainrule "
                                         "never unpickles"):
        load(tmp_path / "pickle.npz")


def test_entry_shorter_than_its_header_says(tmp_path):
    save(_model(), tmp_path / "m.npz")
    _rewrite(tmp_path / "m.npz", tmp_path / "short.npz",
             lambda n, d: [(n, d[:-8] if n == "4.b.npy" else d)])  # a valid zip, one value short
    with pytest.raises(ValueError, match=r"entry '4.b.npy': its header announces shape \(3,\) and dtype "
                                         r"float64 but 16 bytes of data follow"):
        load(tmp_path / "short.npz")
