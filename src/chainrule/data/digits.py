"""The UCI optical digits (1,797 8x8 images, 10 classes), shipped inside the package.

Data: "Optical Recognition of Handwritten Digits", E. Alpaydin and C. Kaynak (1998), UCI Machine
Learning Repository, https://doi.org/10.24432/C50P49, licensed under CC BY 4.0
(https://creativecommons.org/licenses/by/4.0/). ``digits.npz`` beside this module is scikit-learn's
bundled copy (the test part of the UCI set) stored as uint8 arrays, values unchanged; see
``DIGITS_LICENSE.txt`` next to it.
"""

from __future__ import annotations

from importlib import resources

import numpy as np

from .._validate import check_bool, check_float_dtype

N_SAMPLES, IMAGE_SHAPE = 1797, (8, 8)


def load_digits(*, n_class: int = 10, images: bool = False,
                dtype: type = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 UCI digits, without any download (as scikit-learn's ``load_digits``).

    Returns ``X`` (N, 64) of ``dtype`` with pixel counts 0..16 (``images=True``: (N, 8, 8)) and
    ``y`` (N,) int64 digits, in the data set's order (shuffle with ``train_test_split``).
    ``n_class``: keep only the digits 0..n_class-1 (2..10). Scale before training (``X / 16``, or
    standardize with the training part's mean and standard deviation).

    Licence: CC BY 4.0. Cite: Alpaydin, E. & Kaynak, C. (1998). Optical Recognition of Handwritten
    Digits. UCI Machine Learning Repository. https://doi.org/10.24432/C50P49
    """
    if isinstance(n_class, bool) or not isinstance(n_class, (int, np.integer)) or not 2 <= n_class <= 10:
        raise ValueError(f"n_class must be an int in [2, 10], got {n_class!r}")
    images = check_bool(images, "images")
    dtype = check_float_dtype(dtype)
    with resources.files(__package__).joinpath("digits.npz").open("rb") as f, \
            np.load(f, allow_pickle=False) as data:
        pixels, target = data["images"], data["target"]
    if pixels.shape != (N_SAMPLES, *IMAGE_SHAPE) or target.shape != (N_SAMPLES,):
        raise RuntimeError(f"chainrule's digits.npz is damaged: images {pixels.shape}, target "
                           f"{target.shape}; reinstall chainrule")
    keep = target < n_class
    X = pixels[keep].astype(dtype)
    return (X if images else X.reshape(len(X), -1)), target[keep].astype(np.int64)
