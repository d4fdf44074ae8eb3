"""load_digits (shipped, compared with scikit-learn's copy) and load_mnist/read_idx on IDX files
written here."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from chainrule.data import load_digits, load_mnist, read_idx


def test_digits_equal_scikit_learns_copy():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    theirs = sklearn_datasets.load_digits()
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64 and y.dtype == np.int64
    np.testing.assert_array_equal(X, theirs.data)
    np.testing.assert_array_equal(y, theirs.target)
    images, _ = load_digits(images=True, dtype=np.float32)
    assert images.shape == (1797, 8, 8) and images.dtype == np.float32
    np.testing.assert_array_equal(images, theirs.images)
    X3, y3 = load_digits(n_class=3)
    assert set(np.unique(y3)) == {0, 1, 2} and len(y3) == int(np.sum(theirs.target < 3)) == len(X3)
    with pytest.raises(ValueError, match="n_class must be an int in \\[2, 10\\], got 11"):
        load_digits(n_class=11)


def test_digits_ship_with_their_licence():
    from importlib import resources

    text = resources.files("chainrule.data").joinpath("DIGITS_LICENSE.txt").read_text()
    assert "CC BY 4.0" in text and "10.24432/C50P49" in text
    assert "CC BY 4.0" in load_digits.__doc__


def _idx(array: np.ndarray, code: int) -> bytes:
    big = array.astype(array.dtype.newbyteorder(">"))
    return bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + big.tobytes()


def _write_mnist(folder, n=5, gz=False, split="train", dotted=False):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 28, 28)).astype(np.uint8)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    prefix = "train" if split == "train" else "t10k"
    sep = "." if dotted else "-"
    for kind, arr, rank in (("images", images, 3), ("labels", labels, 1)):
        data = _idx(arr, 0x08)
        name = f"{prefix}-{kind}{sep}idx{rank}-ubyte" + (".gz" if gz else "")
        (folder / name).write_bytes(gzip.compress(data) if gz else data)
    return images, labels


@pytest.mark.parametrize(("gz", "dotted"), [(False, False), (True, False), (False, True)])
def test_load_mnist_reads_idx_files(tmp_path, gz, dotted):
    images, labels = _write_mnist(tmp_path, gz=gz, dotted=dotted)
    X, y = load_mnist(tmp_path)
    assert X.shape == (5, 784) and X.dtype == np.float64 and y.dtype == np.int64
    np.testing.assert_array_equal(X, images.reshape(5, -1) / 255.0)
    np.testing.assert_array_equal(y, labels)
    X3, _ = load_mnist(tmp_path, flatten=False, dtype=np.float32)
    assert X3.shape == (5, 28, 28) and X3.dtype == np.float32 and X3.max() <= 1


def test_read_idx_types_and_byte_order(tmp_path):
    a = np.arange(12, dtype=np.int32).reshape(3, 4) - 5
    (tmp_path / "a.idx").write_bytes(_idx(a, 0x0C))
    got = read_idx(tmp_path / "a.idx")
    assert got.dtype == np.dtype("int32") and got.dtype.isnative
    np.testing.assert_array_equal(got, a)
    f = np.linspace(-1, 1, 6).reshape(2, 3)
    (tmp_path / "f.gz").write_bytes(gzip.compress(_idx(f, 0x0E)))  # gzip detected from the bytes
    np.testing.assert_array_equal(read_idx(tmp_path / "f.gz"), f)


def test_mnist_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such folder"):
        load_mnist(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match=r"no MNIST test images in .*one of t10k-images-idx3-ubyte"):
        load_mnist(tmp_path, split="test")
    with pytest.raises(ValueError, match="unknown split 'valid'"):
        load_mnist(tmp_path, split="valid")
    images, _ = _write_mnist(tmp_path, n=4)
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(_idx(np.zeros(3, np.uint8), 0x08))
    with pytest.raises(ValueError, match="has 3 labels but train-images-idx3-ubyte has 4 images"):
        load_mnist(tmp_path)
    path.write_bytes(_idx(np.zeros(4, np.uint8), 0x08)[:-2])
    with pytest.raises(ValueError, match=r"truncated: shape \(4,\) of uint8 needs 4 bytes of data, .* has 2"):
        load_mnist(tmp_path)
    path.write_bytes(b"PK\x03\x04 not idx")
    with pytest.raises(ValueError, match="is not an IDX file: it must start with 0x00 0x00"):
        load_mnist(tmp_path)
    path.write_bytes(b"\x1f\x8b broken gzip")
    with pytest.raises(ValueError, match="damaged gzip file"):
        load_mnist(tmp_path)
    path.write_bytes(_idx(np.zeros((4, 2), np.uint8), 0x08))
    with pytest.raises(ValueError, match=r"must hold uint8 labels of shape \(N,\), got uint8 of shape \(4"):
        load_mnist(tmp_path)
