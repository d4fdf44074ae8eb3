"""Seeded train/test split, optionally stratified by class."""

from __future__ import annotations

import math

import numpy as np

from .._validate import as_rng, check_bool, to_array


def n_test_samples(test_size: object, n: int) -> int:
    """The test part's size for ``test_size`` (a fraction or a count) of ``n`` samples; a ValueError
    when either part would be empty."""
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float, np.integer, np.floating)):
        raise TypeError(f"test_size must be a float in (0, 1) or an int count, "
                        f"got {type(test_size).__name__}")
    if isinstance(test_size, (int, np.integer)):
        if not 1 <= test_size <= n - 1:
            raise ValueError(f"test_size as a count must lie in [1, {n - 1}] for {n} samples, "
                             f"got {test_size}")
        return int(test_size)
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size as a fraction must lie strictly between 0 and 1, got {test_size!r}")
    k = math.ceil(test_size * n)
    if not 1 <= k <= n - 1:
        raise ValueError(f"test_size={test_size!r} of {n} samples gives {k} test samples; both the train "
                         "and the test part must be non-empty")
    return k


def stratified_test_counts(counts: np.ndarray, n_test: int) -> np.ndarray:
    """How many of each class (``counts`` per class, in class order) a stratified split puts in the
    test part of ``n_test``: each class's share as close to its overall share as possible
    (largest-remainder rounding, so the total is exact). Pure arithmetic: the CLI uses it to find a
    workable sample count without generating any data."""
    counts = np.asarray(counts, dtype=np.int64)
    quota = counts * n_test / counts.sum()
    take = np.floor(quota).astype(np.int64)
    order = np.argsort(-(quota - take), kind="stable")
    take[order[: n_test - int(take.sum())]] += 1
    return take


def _stratified_test_indices(y: np.ndarray, n_test: int, gen: np.random.Generator) -> np.ndarray:
    """Pick ``n_test`` indices, ``stratified_test_counts`` of each class."""
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    take = stratified_test_counts(counts, n_test)
    picked = [gen.permutation(np.flatnonzero(inverse == c))[: take[c]] for c in range(len(classes))]
    return np.concatenate(picked)


def train_test_split(X: np.ndarray, y: np.ndarray, *, test_size: float | int = 0.25,
                     rng: np.random.Generator | int | None = 0,
                     stratify: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split ``(X, y)`` at random into ``X_train, X_test, y_train, y_test`` (scikit-learn's order).

    X: (N, ...) and y: (N, ...) with the same first dimension. ``test_size`` is a fraction in (0, 1)
    (the test part gets ``ceil(test_size * N)`` samples) or an integer count. With
    ``stratify=True`` each class of ``y`` keeps its proportion in both parts. Both parts come out
    shuffled; dtypes are kept. Same ``rng`` seed, same split.
    """
    X, y = to_array(X, "X"), to_array(y, "y")
    stratify = check_bool(stratify, "stratify")
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError(f"X and y must have a sample axis, got shapes {X.shape} and {y.shape}")
    n = X.shape[0]
    if y.shape[0] != n:
        raise ValueError(f"y must have one entry per row of X: expected {n} (X.shape={X.shape}), "
                         f"got {y.shape[0]} (y.shape={y.shape})")
    if n < 2:
        raise ValueError(f"need at least 2 samples to split, got {n}")
    n_test = n_test_samples(test_size, n)
    gen = as_rng(rng)
    if stratify:
        if y.ndim != 1:
            raise ValueError(f"stratify=True needs 1-D class labels y, got shape {y.shape}")
        test = _stratified_test_indices(y, n_test, gen)
    else:
        test = gen.permutation(n)[:n_test]
    is_test = np.zeros(n, dtype=bool)
    is_test[test] = True
    test = gen.permutation(test)
    train = gen.permutation(np.flatnonzero(~is_test))
    return X[train], X[test], y[train], y[test]
