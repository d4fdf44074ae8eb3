"""Built-in datasets (generated in code, or shipped: the UCI digits), MNIST from files you have, and
a seeded train/test split.

>>> from chainrule.data import load_dataset, train_test_split
>>> X, y = load_dataset("spiral", n_samples=300, rng=0)     # X (300, 2) float64, y (300,) int64
>>> X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, rng=0)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._validate import check_choice
from .digits import load_digits
from .mnist import load_mnist, read_idx
from .split import train_test_split
from .synthetic import make_circles, make_flower, make_moons, make_spiral

DATASETS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "spiral": make_spiral,
    "moons": make_moons,
    "circles": make_circles,
    "flower": make_flower,
}


def load_dataset(name: str, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """Generate the built-in dataset ``name`` (a key of ``DATASETS``) with the generator's keyword
    arguments (``n_samples``, ``noise``, ``rng``, ...). Returns X (N, 2) float64, y (N,) int64."""
    if not isinstance(name, str):
        raise TypeError(f"dataset name must be a str, got {type(name).__name__}")
    check_choice(name, list(DATASETS), "dataset")
    return DATASETS[name](**kwargs)


__all__ = ["DATASETS", "load_dataset", "load_digits", "load_mnist", "make_circles", "make_flower",
           "make_moons", "make_spiral", "read_idx", "train_test_split"]
