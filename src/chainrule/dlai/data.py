"""The cat / non-cat data of the application assignment: HDF5 files read with h5py (``chainrule[hdf5]``).

The course ships ``datasets/train_catvnoncat.h5`` (``train_set_x`` (m, 64, 64, 3) uint8 images,
``train_set_y`` (m,) 0/1 labels, ``list_classes``) and ``datasets/test_catvnoncat.h5``
(``test_set_x``, ``test_set_y``, ``list_classes``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .._validate import check_positive_int
from ._arrays import as_course_array, labels

if TYPE_CHECKING:  # matplotlib is an optional extra: imported only where a figure is drawn
    from matplotlib.figure import Figure

TRAIN_FILE = "train_catvnoncat.h5"
TEST_FILE = "test_catvnoncat.h5"


def _h5py():
    try:
        import h5py
    except ImportError:
        raise ImportError("load_data reads HDF5 files with h5py; install it with: "
                          'pip install "chainrule[hdf5]"') from None
    return h5py


def _read(h5py, file: Path, keys: Sequence[str]) -> list[np.ndarray]:
    if not file.is_file():
        raise FileNotFoundError(f"load_data: {file} does not exist (expected the course's {file.name})")
    try:
        handle = h5py.File(file, "r")
    except OSError as e:
        raise ValueError(f"load_data: {file} is not a readable HDF5 file ({e})") from None
    with handle:
        missing = [k for k in keys if k not in handle]
        if missing:
            raise ValueError(f"load_data: {file} has no dataset {missing[0]!r}; it holds "
                             f"{sorted(handle.keys())}, expected {list(keys)}")
        return [np.asarray(handle[k][()]) for k in keys]


def _split(x: np.ndarray, y: np.ndarray, file: Path, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    if x.ndim < 2 or x.shape[0] == 0:
        raise ValueError(f"load_data: {file}: {prefix}_x must have shape (m, ...) with m >= 1, got {x.shape}")
    if y.size != x.shape[0] or y.ndim > 2:
        raise ValueError(f"load_data: {file}: {prefix}_y must hold one label per image ({x.shape[0]}), "
                         f"got shape {y.shape}")
    return x, y.reshape(1, -1)


def load_data(path: str | os.PathLike | tuple[str | os.PathLike, str | os.PathLike] = "datasets", *,
              flatten: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read the cat data: ``train_x, train_y, test_x, test_y, classes``.

    ``path``: the directory holding ``train_catvnoncat.h5`` and ``test_catvnoncat.h5`` (the course's
    ``datasets``), or a pair ``(train_file, test_file)``. With ``flatten=True`` (default) the images
    are flattened and scaled as the application assignment does: x (n_x, m) float64 =
    ``x_orig.reshape(m, -1).T / 255``; with ``flatten=False`` the raw (m, 64, 64, 3) images are
    returned, as the course's ``load_data``. Labels are (1, m); ``classes`` holds the class names
    as bytes (``[b'non-cat', b'cat']``). Raises FileNotFoundError for a missing file and
    ValueError for a missing dataset or inconsistent shapes.
    """
    if isinstance(path, tuple):
        if len(path) != 2:
            raise ValueError("load_data: path must be a directory or a (train_file, test_file) pair, "
                             f"got {path!r}")
        train_file, test_file = Path(path[0]), Path(path[1])
    else:
        root = Path(path)
        if not root.is_dir():
            raise FileNotFoundError(f"load_data: {root} is not a directory; pass the folder holding "
                                    f"{TRAIN_FILE} and {TEST_FILE}, or a (train_file, test_file) pair")
        train_file, test_file = root / TRAIN_FILE, root / TEST_FILE
    h5py = _h5py()
    train_x, train_y = _read(h5py, train_file, ("train_set_x", "train_set_y"))
    train_x, train_y = _split(train_x, train_y, train_file, "train_set")
    test_x, test_y, classes = _read(h5py, test_file, ("test_set_x", "test_set_y", "list_classes"))
    test_x, test_y = _split(test_x, test_y, test_file, "test_set")
    if train_x.shape[1:] != test_x.shape[1:]:
        raise ValueError(f"load_data: train images have shape {train_x.shape[1:]} but test images "
                         f"{test_x.shape[1:]}")
    if flatten:
        train_x = train_x.reshape(train_x.shape[0], -1).T / 255.0
        test_x = test_x.reshape(test_x.shape[0], -1).T / 255.0
    return train_x, train_y, test_x, test_y, classes


def _class_name(classes: np.ndarray, label: float) -> str:
    name = classes[int(label)]
    return name.decode("utf-8") if isinstance(name, bytes) else str(name)


def print_mislabeled_images(classes: Sequence, X: np.ndarray, y: np.ndarray, p: np.ndarray, *,
                            image_shape: tuple[int, ...] | None = None, max_images: int | None = None,
                            path: str | os.PathLike | None = None) -> Figure:
    """Print and plot the images where the prediction p (1, m) differs from the label y (1, m).

    X (n_x, m) holds the flattened images (as from ``load_data``); ``image_shape`` defaults to a
    square RGB image (64, 64, 3 for the course's n_x = 12288). Each panel is titled with the
    prediction and the true class. Returns the matplotlib Figure (``path`` also writes a PNG);
    needs ``chainrule[plot]``.
    """
    X = as_course_array(X, "print_mislabeled_images: X")
    y = labels(y, X.shape[1], "print_mislabeled_images: y")
    p = labels(p, X.shape[1], "print_mislabeled_images: p")
    if image_shape is None:
        side = int(round(np.sqrt(X.shape[0] / 3)))
        if 3 * side * side != X.shape[0]:
            raise ValueError("print_mislabeled_images: cannot infer a square RGB image from "
                             f"n_x = {X.shape[0]}; pass image_shape")
        image_shape = (side, side, 3)
    if int(np.prod(image_shape)) != X.shape[0]:
        raise ValueError(f"print_mislabeled_images: image_shape {tuple(image_shape)} does not hold "
                         f"n_x = {X.shape[0]} values")
    mislabeled = np.flatnonzero(p[0] != y[0])
    if max_images is not None:
        mislabeled = mislabeled[:check_positive_int(max_images, "max_images")]
    for index in mislabeled:
        print(f"index {index}: predicted {_class_name(classes, p[0, index])}, "
              f"true class {_class_name(classes, y[0, index])}")
    from ..plotting import import_matplotlib, save_figure

    Figure = import_matplotlib(what="print_mislabeled_images").Figure
    n = max(len(mislabeled), 1)
    fig = Figure(figsize=(2.2 * n, 2.6), layout="constrained")
    axes = fig.subplots(1, n, squeeze=False)[0]
    for ax in axes:
        ax.axis("off")
    for ax, index in zip(axes, mislabeled, strict=False):
        ax.imshow(np.clip(X[:, index].reshape(image_shape), 0, 1), interpolation="nearest")
        predicted, true = _class_name(classes, p[0, index]), _class_name(classes, y[0, index])
        ax.set_title(f"Prediction: {predicted}\nClass: {true}", fontsize=8)
    return save_figure(fig, path)
