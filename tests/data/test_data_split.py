"""train_test_split: a seeded partition, optionally stratified."""

import math

import numpy as np
import pytest

from chainrule.data import train_test_split


def _ids(n):
    X = np.arange(n, dtype=np.float32).reshape(n, 1) * np.ones((1, 3), np.float32)
    return X, np.arange(n)


@pytest.mark.parametrize("n,test_size", [(10, 0.25), (100, 0.2), (7, 0.5), (50, 13)])
def test_partition_sizes_and_pairing(n, test_size):
    X, y = _ids(n)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=test_size, rng=0)
    n_test = test_size if isinstance(test_size, int) else math.ceil(test_size * n)
    assert len(y_te) == n_test and len(y_tr) == n - n_test
    assert sorted(np.concatenate([y_tr, y_te]).tolist()) == list(range(n))
    assert np.array_equal(X_tr[:, 0], y_tr) and np.array_equal(X_te[:, 2], y_te)
    assert X_tr.dtype == np.float32 and y_tr.dtype == y.dtype


def test_seeded_and_shuffled():
    X, y = _ids(200)
    a = train_test_split(X, y, rng=3)
    b = train_test_split(X, y, rng=np.random.default_rng(3))
    c = train_test_split(X, y, rng=4)
    assert all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))
    assert not np.array_equal(a[3], c[3])
    assert not np.all(np.diff(a[2]) > 0)


def test_stratified_keeps_class_proportions_exactly():
    y = np.repeat([0, 1, 2], [60, 30, 10])
    X = np.arange(100.0).reshape(-1, 1)
    _, _, y_tr, y_te = train_test_split(X, y, test_size=0.2, rng=1, stratify=True)
    assert np.bincount(y_te).tolist() == [12, 6, 2]
    assert np.bincount(y_tr).tolist() == [48, 24, 8]


def test_stratified_total_is_exact_with_remainders():
    y = np.repeat([0, 1, 2], [7, 7, 7])
    X = np.zeros((21, 2))
    _, _, _, y_te = train_test_split(X, y, test_size=0.25, rng=0, stratify=True)
    assert len(y_te) == math.ceil(0.25 * 21)
    assert np.bincount(y_te, minlength=3).max() - np.bincount(y_te, minlength=3).min() <= 1


def test_bad_input():
    X, y = _ids(10)
    with pytest.raises(ValueError, match=r"y must have one entry per row of X: expected 10 .* got 9"):
        train_test_split(X, y[:9])
    for bad in (0.0, 1.0, 1.5, -0.1):
        with pytest.raises(ValueError, match="test_size as a fraction"):
            train_test_split(X, y, test_size=bad)
    for bad in (0, 10, 11):
        with pytest.raises(ValueError, match=r"test_size as a count must lie in \[1, 9\]"):
            train_test_split(X, y, test_size=bad)
    with pytest.raises(TypeError, match="test_size"):
        train_test_split(X, y, test_size=True)
    with pytest.raises(ValueError, match="at least 2 samples"):
        train_test_split(X[:1], y[:1])
    with pytest.raises(ValueError, match="stratify=True needs 1-D class labels"):
        train_test_split(X, np.zeros((10, 2)), stratify=True)
