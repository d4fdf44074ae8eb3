"""A hostile-file set for ``load``: every file is refused with a clear chainrule ``ValueError`` (or the
model it loads is exactly the original one), nothing is ever unpickled, and no file makes ``load``
allocate more than a small multiple of its own size, whatever its headers announce."""

from __future__ import annotations

import io
import json
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from chainrule import nn
from chainrule.io import load, load_metadata, save


def _model():
    inner = nn.Sequential(nn.Linear(5, 4, rng=2), nn.Sigmoid())
    return nn.Sequential(nn.Linear(3, 5, rng=1), nn.LeakyReLU(0.2), inner, nn.Tanh(), nn.Linear(4, 3, rng=3))


def _npy(arr, version=None):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=True, version=version)
    return buf.getvalue()


def _entries(model=None):
    """The entries (name -> bytes) of a file written by ``save``."""
    with tempfile.TemporaryDirectory() as tmp:
        save(model or _model(), f"{tmp}/m.npz")
        with zipfile.ZipFile(f"{tmp}/m.npz") as zf:
            return {n: zf.read(n) for n in zf.namelist()}


def _zip(entries, compression=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _arch(doc):
    return _npy(np.frombuffer(json.dumps(doc).encode(), np.uint8))


def _doc():
    return json.loads(np.load(io.BytesIO(_entries()["__architecture__.npy"])).tobytes())


def _with(**changes):
    entries = _entries()
    for name, data in changes.items():
        name = name.replace("__", ".") if name != "arch" else "__architecture__"
        if data is None:
            entries.pop(f"{name}.npy")
        else:
            entries[f"{name}.npy"] = data
    return _zip(entries)


def _edit(edit):
    doc = _doc()
    edit(doc)
    return _with(arch=_arch(doc))


def _header_lie(shape, dtype="<f8", name="4.b"):
    """A .npy whose header announces ``shape`` but carries 24 bytes of data."""
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    return _zip({**_entries(), f"{name}.npy": buf.getvalue() + b"\0" * 24})


def _nested(depth):
    """The model plus a ReLU wrapped in ``depth`` Sequentials (built as text: json.dumps would recurse)."""
    spec = '{"type": "Sequential", "layers": [' * depth + '{"type": "ReLU"}' + "]}" * depth
    text = json.dumps(_doc())
    text = text[: text.rindex("]")] + ", " + spec + text[text.rindex("]"):]
    return _with(arch=_npy(np.frombuffer(text.encode(), np.uint8)))


def _raw_deep_arch(depth):
    text = '{"format": "chainrule.model", "version": 1, "metadata": {"x": ' + "[" * depth + "]" * depth + \
        '}, "layers": []}'
    return _zip({"__architecture__.npy": _npy(np.frombuffer(text.encode(), np.uint8))})


def _bomb_zip(megabytes, name="4.b.npy"):
    """The model's zip with entry ``name`` replaced by a deflate bomb: a .npy header announcing
    ``megabytes`` MB of float64 zeros, compressed about 1000x. Written by hand, since zipfile would
    have to hold the inflated data to write it."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (megabytes << 17,)})
    comp, zero = zlib.compressobj(9, zlib.DEFLATED, -15), bytes(1 << 20)
    body, crc = comp.compress(header.getvalue()), zlib.crc32(header.getvalue())
    for _ in range(megabytes):
        body += comp.compress(zero)
        crc = zlib.crc32(zero, crc)
    body += comp.flush()
    entries = _entries()
    entries.pop(name)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n, d in entries.items():
            zf.writestr(n, d)
    with zipfile.ZipFile(buf, "a") as zf:
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.CRC, info.compress_size = crc, len(body)
        info.file_size = (megabytes << 20) + len(header.getvalue())
        zf.fp.seek(zf.start_dir)
        info.header_offset = zf.start_dir
        zf.fp.write(info.FileHeader(zip64=False))
        zf.fp.write(body)
        zf.start_dir = zf.fp.tell()
        zf.filelist.append(info)
        zf.NameToInfo[name] = info
        zf._didModify = True
    return buf.getvalue()


def _patch_central_size(data, name, new_size):
    """Rewrite the uncompressed size that the central directory announces for ``name``."""
    data = bytearray(data)
    pos = data.index(b"PK\x01\x02" + data[data.index(b"PK\x01\x02") + 4:][:0])
    while True:
        pos = data.index(b"PK\x01\x02", pos)
        name_len = struct.unpack_from("<H", data, pos + 28)[0]
        if bytes(data[pos + 46:pos + 46 + name_len]) == name.encode():
            struct.pack_into("<I", data, pos + 24, new_size)
            struct.pack_into("<I", data, pos + 20, new_size)
            return bytes(data)
        pos += 4


def _flag_encrypted(data):
    data = bytearray(data)
    pos = data.index(b"PK\x01\x02")
    data[pos + 8] |= 1
    return bytes(data)


def _cases():
    good = _zip(_entries())
    cases = {}
    # Truncated at 24 places, from empty to one byte short.
    for k, cut in enumerate(sorted({0, 1, 4, 21, 22, 30, 64, 100, 200, 400, 600, 800, 1000, 1200, 1500, 1800,
                                    len(good) // 2, len(good) - 200, len(good) - 100, len(good) - 50,
                                    len(good) - 22, len(good) - 10, len(good) - 2, len(good) - 1})):
        cases[f"truncated-{k}-at-{cut}"] = good[:cut]
    # Foreign files and wrong magic.
    cases["text"] = b"hello, I am not a model"
    cases["png"] = b"\x89PNG\r\n\x1a\n" + bytes(100)
    cases["pickle"] = pickle.dumps({"W": [1, 2, 3]})
    cases["npy-not-npz"] = _npy(np.zeros(3))
    cases["empty-zip"] = _zip({})
    cases["plain-npz"] = _zip({"W.npy": _npy(np.zeros(3))})
    cases["bad-npy-magic"] = _with(**{"4__b": b"\x93NUMPX" + _npy(np.zeros(3))[6:]})
    cases["npy-version-9"] = _with(**{"4__b": b"\x93NUMPY\x09\x00" + _npy(np.zeros(3))[8:]})
    cases["arch-bad-magic"] = _with(arch=b"GARBAGE" * 20)
    # Python objects (pickles) anywhere.
    cases["object-param"] = _with(**{"4__b": _npy(np.array([{"a": 1}, 2, 3], dtype=object))})
    cases["object-arch"] = _with(arch=_npy(np.array([_doc()], dtype=object)))
    cases["structured-param"] = _with(**{"4__b": _npy(np.zeros(3, dtype=[("a", "<f8")]))})
    # Headers announcing huge or impossible shapes.
    for shape in [(10**12,), (2**62, 2**62), (3, 10**15), (-1,), (3, -3), (), (1, 3)]:
        cases[f"header-shape-{shape}"] = _header_lie(shape)
    cases["arch-header-2**40"] = _header_lie((2**40,), "|u1", "__architecture__")
    cases["arch-2d"] = _with(arch=_npy(np.zeros((2, 2), np.uint8)))
    cases["arch-float"] = _with(arch=_npy(np.zeros(4)))
    cases["arch-17MB"] = _header_lie((17825874,), "|u1", "__architecture__")
    cases["big-endian"] = _with(**{"4__b": _npy(np.zeros(3, ">f8"))})
    cases["float32-for-float64"] = _with(**{"4__b": _npy(np.zeros(3, np.float32))})
    cases["int-params"] = _with(**{"4__b": _npy(np.zeros(3, np.int64))})
    cases["fortran-W"] = _with(**{"0__W": _npy(np.asfortranarray(np.zeros((3, 5))))})
    for sizes in [(10**6, 10**6), (2**62, 2), (0, 5), (-3, 5), (True, 5), (3.0, 5), ("3", 5), (None, 5)]:
        cases[f"linear-{sizes}"] = _edit(lambda d, s=sizes: d["layers"][0].update(in_features=s[0],
                                                                                  out_features=s[1]))
    # Zip bombs and zip directory lies.
    cases["deflated-arch"] = _zip(_entries(), zipfile.ZIP_DEFLATED)
    cases["bzip2"] = _zip(_entries(), zipfile.ZIP_BZIP2)
    cases["lzma"] = _zip(_entries(), zipfile.ZIP_LZMA)
    cases["bomb-200MB"] = _bomb_zip(200)
    cases["central-size-lie"] = _patch_central_size(good, "4.b.npy", 10**9)
    cases["encrypted"] = _flag_encrypted(good)
    cases["duplicate-entry"] = good[:good.index(b"PK\x01\x02")] + _zip({"4.b.npy": _entries()["4.b.npy"]})
    # Deep nesting.
    cases["nested-600"] = _nested(600)
    cases["nested-70"] = _nested(70)
    cases["metadata-list-100000-deep"] = _raw_deep_arch(100_000)
    cases["metadata-list-5000-deep"] = _raw_deep_arch(5000)
    cases["metadata-list-130-deep"] = _raw_deep_arch(130)
    # Wrong key names.
    e = _entries()
    cases["renamed-W"] = _zip({("0.w.npy" if n == "0.W.npy" else n): d for n, d in e.items()})
    cases["missing-b"] = _zip({n: d for n, d in e.items() if n != "4.b.npy"})
    cases["extra-npy"] = _zip({**e, "evil.npy": _npy(np.zeros(2))})
    cases["extra-txt"] = _zip({**e, "readme.txt": b"hi"})
    cases["traversal"] = _zip({**e, "../../etc/x.npy": _npy(np.zeros(2))})
    cases["no-npy-suffix"] = _zip({(n[:-4] if n == "0.W.npy" else n): d for n, d in e.items()})
    cases["arch-missing"] = _zip({n: d for n, d in e.items() if not n.startswith("__")})
    # Non-finite parameters.
    for name, value in [("4__b", np.nan), ("4__b", np.inf), ("0__W", -np.inf), ("0__W", np.nan)]:
        shape = (3,) if name == "4__b" else (3, 5)
        arr = np.zeros(shape)
        arr.flat[1] = value
        cases[f"nonfinite-{name}-{value}"] = _with(**{name: _npy(arr)})
    # Architecture documents that are wrong in content.
    for label, raw in [("not-utf8", b"\xff\xfe\x00"), ("not-json", b"{layers:"), ("json-list", b"[]"),
                       ("json-number", b"3"), ("empty", b"")]:
        cases[f"arch-{label}"] = _with(arch=_npy(np.frombuffer(raw, np.uint8)))
    for label, edit in [
        ("no-format", lambda d: d.pop("format")), ("version-str", lambda d: d.update(version="1")),
        ("version-2", lambda d: d.update(version=2)), ("layers-dict", lambda d: d.update(layers={})),
        ("metadata-list", lambda d: d.update(metadata=[])), ("no-type", lambda d: d["layers"][1].pop("type")),
        ("extra-field", lambda d: d["layers"][1].update(bias=True)),
        ("unknown-type", lambda d: d["layers"][1].update(type="os.system")),
        ("type-int", lambda d: d["layers"][1].update(type=3)),
        ("dtype-float16", lambda d: d["layers"][0].update(dtype="float16")),
        ("dtype-object", lambda d: d["layers"][0].update(dtype="object")),
        ("slope-nan", lambda d: d["layers"][1].update(negative_slope=float("nan"))),
        ("slope-str", lambda d: d["layers"][1].update(negative_slope="x")),
        ("slope-none", lambda d: d["layers"][1].update(negative_slope=None)),
        ("layer-list", lambda d: d["layers"].__setitem__(1, ["ReLU"])),
        ("sequential-layers-str", lambda d: d["layers"][2].update(layers="ReLU")),
    ]:
        cases[f"doc-{label}"] = _edit(edit)
    return cases


CASES = _cases()


def test_the_hostile_set_is_large():
    assert len(CASES) >= 87


@pytest.fixture
def no_unpickling(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("load tried to unpickle")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_file_is_refused_clearly(tmp_path, name, no_unpickling):
    path = tmp_path / f"{name}.npz"
    path.write_bytes(CASES[name])
    for reader in (load, load_metadata):
        tracemalloc.start()
        try:
            result = reader(path)
        except ValueError as exc:
            message = str(exc)
            assert message.startswith(f"cannot load model from {str(path)!r}: "), message
            assert "Traceback" not in message and len(message) < 2000
            result = None
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        # Never more than a small multiple of the file: no header makes us allocate what it announces.
        assert peak < 4 * len(CASES[name]) + (2 << 20), f"{reader.__name__} peaked at {peak} bytes"
        if result is not None and reader is load:
            # Only harmless damage may load (e.g. a flipped timestamp), and then it is the original model.
            original = _model()
            assert all(np.array_equal(result.params[k], original.params[k]) for k in original.params)
            assert result.params.keys() == original.params.keys()
        if result is not None and reader is load_metadata:
            assert isinstance(result, dict)


@pytest.mark.parametrize("seed", range(3))
def test_random_byte_flips_are_refused_or_harmless(tmp_path, seed, no_unpickling):
    good = _zip(_entries())
    rng = np.random.default_rng(seed)
    original = _model()
    for k in range(20):
        data = bytearray(good)
        for pos in rng.integers(0, len(data), size=int(rng.integers(1, 4))):
            data[pos] ^= int(rng.integers(1, 256))
        path = tmp_path / f"flip{k}.npz"
        path.write_bytes(bytes(data))
        try:
            back = load(path)
        except ValueError as exc:
            assert str(exc).startswith("cannot load model from")
            continue
        assert back.params.keys() == original.params.keys()
        assert all(np.array_equal(back.params[k2], original.params[k2]) for k2 in original.params)


def test_specific_messages(tmp_path):
    def refused(name):
        path = tmp_path / f"{name}.npz"
        path.write_bytes(CASES[name])
        with pytest.raises(ValueError) as info:
            load(path)
        return str(info.value)

    assert "is compressed (method 8); chainrule writes uncompressed entries only" in refused("bomb-200MB")
    assert "is compressed (method 12)" in refused("bzip2")
    assert "announces 1000000000 bytes but the file holds" in refused("central-size-lie")
    assert "is encrypted" in refused("encrypted")
    assert "architecture entry is 17825874 bytes long; expected at most 16777216" in refused("arch-17MB")
    assert "nested 1203 levels deep; expected at most 128" in refused("nested-600")
    assert "nested 100002 levels deep; expected at most 128" in refused("metadata-list-100000-deep")
    assert "never unpickles" in refused("object-param")
    assert "Fortran order" in refused("fortran-W")
    assert "parameter '4.b' contains non-finite values" in refused("nonfinite-4__b-nan")
    assert "unknown layer type 'os.system'" in refused("doc-unknown-type")
    assert "layer 0 is a Linear but the file has no entry '0.W.npy'" in refused("renamed-W")
    assert "missing [], unexpected ['evil']" in refused("extra-npy")
    assert "Linear(1000000, 1000000) (8000000000000 bytes of weights)" in refused("linear-(1000000, 1000000)")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads the peak RSS from /proc (Linux)")
def test_load_memory_is_about_one_model(tmp_path):
    """Peak resident memory of a fresh process loading a 48 MB model: about 1x the model (it was 3x)."""
    model = nn.Sequential(nn.Linear(2000, 2000, rng=0), nn.ReLU(), nn.Linear(2000, 1000, rng=1))
    save(model, tmp_path / "big.npz")
    del model
    # VmHWM (the peak RSS of this process image) restarts at exec, unlike ru_maxrss, which a child
    # inherits from pytest.
    script = ("import sys\nimport chainrule as cr\n"
              "def peak():\n"
              "    line = [x for x in open('/proc/self/status') if x.startswith('VmHWM')][0]\n"
              "    return int(line.split()[1]) * 1024\n"
              "before = peak()\n"
              "m = cr.load(sys.argv[1])\n"
              "print((peak() - before) / sum(p.nbytes for p in m.params.values()))\n")
    src = Path(__file__).resolve().parents[2] / "src"
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "big.npz")], capture_output=True,
                         text=True, env={"PYTHONPATH": str(src), "OPENBLAS_NUM_THREADS": "1"}, check=True)
    ratio = float(out.stdout)
    assert 0.9 < ratio < 1.35, ratio
