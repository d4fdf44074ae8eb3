"""MNIST (or Fashion-MNIST, EMNIST...) from the standard IDX files you already have; no download.

>>> X, y = load_mnist("~/data/mnist")               # doctest: +SKIP
>>> X.shape, X.dtype, y[:5]                        # doctest: +SKIP
((60000, 784), dtype('float64'), array([5, 0, 4, 1, 9]))
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from .._validate import check_bool, check_choice, check_float_dtype, check_path, expand_user

# IDX type codes (http://yann.lecun.com/exdb/mnist/): data is big-endian
_IDX_TYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
              0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_PREFIX = {"train": "train", "test": "t10k"}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (gzip-compressed or not: detected from its first bytes, not its name).

    Returns an array of the file's shape and type in native byte order. A file that is not IDX,
    is truncated or has trailing bytes is a ``ValueError`` naming the file and what is wrong; the
    header is checked against the data length before anything is allocated."""
    path = expand_user(check_path(path))
    if not path.is_file():
        raise FileNotFoundError(f"no IDX file at path {str(path)!r}")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise ValueError(f"path {str(path)!r} is a damaged gzip file ({exc})") from None
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] not in _IDX_TYPES or raw[3] == 0:
        raise ValueError(f"path {str(path)!r} is not an IDX file: it must start with 0x00 0x00, a type code "
                         f"({', '.join(hex(c) for c in _IDX_TYPES)}) and a number of dimensions; got "
                         f"{raw[:4].hex(' ') or 'an empty file'}")
    dtype, ndim = _IDX_TYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"path {str(path)!r} is truncated: its header announces {ndim} dimensions but "
                         f"the file has {len(raw)} bytes")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        what = "truncated" if len(raw) - header < expected else "longer than its header says"
        raise ValueError(f"path {str(path)!r} is {what}: shape {shape} of {dtype.name} needs {expected} "
                         f"bytes of data, the file has {len(raw) - header}")
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _find(folder: Path, split: str, kind: str) -> Path:
    """The file for ``split`` ("train"/"test") and ``kind`` ("images"/"labels") in ``folder``: the
    usual names, with or without .gz, with a dash or a dot before idx (as some mirrors ship them)."""
    rank = 3 if kind == "images" else 1
    stems = [f"{_PREFIX[split]}-{kind}-idx{rank}-ubyte", f"{_PREFIX[split]}-{kind}.idx{rank}-ubyte"]
    candidates = [folder / (stem + ext) for stem in stems for ext in ("", ".gz")]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no MNIST {split} {kind} in {str(folder)!r}: expected one of "
                            f"{', '.join(c.name for c in candidates)}")


def load_mnist(path: str | os.PathLike, split: str = "train", *, flatten: bool = True,
               dtype: type = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """MNIST from the four standard IDX files in the folder ``path`` (``train-images-idx3-ubyte``,
    ``train-labels-idx1-ubyte``, ``t10k-...``, each optionally ``.gz``). Nothing is downloaded.

    ``split``: "train" (60,000 images) or "test" (10,000). Returns ``X`` of ``dtype`` scaled to
    [0, 1] (pixels / 255), shape (N, 784) (``flatten=False``: (N, 28, 28)), and ``y`` (N,) int64.
    Fashion-MNIST and other sets in the same format load the same way. Files that do not match
    (not IDX, truncated, images that are not uint8 N x H x W, labels not one per image) raise a
    ``ValueError`` naming the file.
    """
    folder = expand_user(check_path(path))
    check_choice(split, tuple(_PREFIX), "split")
    flatten = check_bool(flatten, "flatten")
    dtype = check_float_dtype(dtype)
    if not folder.is_dir():
        why = " (a file: give its folder)" if folder.is_file() else " (no such folder)"
        raise FileNotFoundError(f"load_mnist: path must be the folder holding the IDX files, got "
                                f"{str(folder)!r}{why}")
    images_path, labels_path = _find(folder, split, "images"), _find(folder, split, "labels")
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"{str(images_path)!r} must hold uint8 images of shape (N, height, width), got "
                         f"{images.dtype} of shape {images.shape}")
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise ValueError(f"{str(labels_path)!r} must hold uint8 labels of shape (N,), got {labels.dtype} of "
                         f"shape {labels.shape}")
    if len(labels) != len(images):
        raise ValueError(f"{labels_path.name} has {len(labels)} labels but {images_path.name} has "
                         f"{len(images)} images")
    X = images.astype(dtype) / dtype.type(255)
    return (X.reshape(len(X), -1) if flatten else X), labels.astype(np.int64)
