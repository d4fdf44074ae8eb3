"""The built-in datasets: shapes, class balance, seeding, and the published formulas."""

import numpy as np
import pytest

from chainrule.data import DATASETS, load_dataset, make_circles, make_flower, make_moons, make_spiral

GENERATORS = [make_spiral, make_moons, make_circles, make_flower]


@pytest.mark.parametrize("make", GENERATORS)
@pytest.mark.parametrize("n", [7, 100, 301])
def test_shapes_dtypes_and_balance(make, n):
    X, y = make(n, rng=3)
    assert X.shape == (n, 2) and X.dtype == np.float64
    assert y.shape == (n,) and y.dtype == np.int64
    counts = np.bincount(y)
    assert counts.sum() == n and counts.max() - counts.min() <= 1
    assert np.all(np.isfinite(X))


@pytest.mark.parametrize("make", GENERATORS)
def test_same_seed_same_data_different_seed_different_data(make):
    X1, y1 = make(200, rng=5)
    X2, y2 = make(200, rng=5)
    X3, _ = make(200, rng=6)
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)
    assert not np.allclose(X1, X3)


@pytest.mark.parametrize("make", GENERATORS)
def test_global_numpy_rng_untouched_and_generator_accepted(make):
    state = np.random.get_state()[1].copy()  # noqa: NPY002 - checking the legacy global RNG itself
    X1, _ = make(50, rng=np.random.default_rng(9))
    assert np.array_equal(np.random.get_state()[1], state)  # noqa: NPY002
    X2, _ = make(50, rng=9)
    assert np.array_equal(X1, X2)


def test_spiral_is_cs231n_formula():
    N, K = 100, 3
    gen = np.random.default_rng(11)
    X_ref = np.zeros((N * K, 2))
    y_ref = np.zeros(N * K, dtype="uint8")
    for j in range(K):  # CS231n, "Putting it together: minimal neural network case study"
        ix = range(N * j, N * (j + 1))
        r = np.linspace(0.0, 1, N)
        t = np.linspace(j * 4, (j + 1) * 4, N) + gen.standard_normal(N) * 0.2
        X_ref[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        y_ref[ix] = j
    X, y = make_spiral(N * K, n_classes=K, noise=0.2, rng=11)
    np.testing.assert_allclose(X, X_ref, rtol=0, atol=1e-15)
    assert np.array_equal(y, y_ref)


def test_flower_is_the_course_load_planar_dataset_in_row_layout():
    gen = np.random.default_rng(1)
    m = 400  # the course's planar_utils.load_planar_dataset, with randn drawn from a Generator
    N = int(m / 2)
    D = 2
    X_c = np.zeros((m, D))
    Y_c = np.zeros((m, 1), dtype="uint8")
    a = 4
    for j in range(2):
        ix = range(N * j, N * (j + 1))
        t = np.linspace(j * 3.12, (j + 1) * 3.12, N) + gen.standard_normal(N) * 0.2
        r = a * np.sin(4 * t) + gen.standard_normal(N) * 0.2
        X_c[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        Y_c[ix] = j
    X_c, Y_c = X_c.T, Y_c.T  # the course returns X (2, 400), Y (1, 400)
    X, y = make_flower(rng=1)
    assert X_c.shape == (2, 400) and X.shape == (400, 2)
    np.testing.assert_allclose(X, X_c.T, rtol=0, atol=1e-14)
    assert np.array_equal(y, Y_c.ravel())
    assert np.abs(X).max() <= 4 + 5 * 0.2


def test_noise_free_moons_and_circles_lie_on_their_curves():
    X, y = make_moons(101, noise=0.0)
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0, atol=1e-12)
    assert np.all(upper[:, 1] >= -1e-12)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0, atol=1e-12)
    assert np.all(lower[:, 1] <= 0.5 + 1e-12)
    X, y = make_circles(60, noise=0.0, factor=0.3)
    radius = np.hypot(*X.T)
    np.testing.assert_allclose(radius[y == 0], 1.0, atol=1e-12)
    np.testing.assert_allclose(radius[y == 1], 0.3, atol=1e-12)


def test_noise_scales_the_spread():
    X0, y = make_circles(400, noise=0.0, rng=2)
    X1, _ = make_circles(400, noise=0.1, rng=2)
    assert 0.08 < np.std(X1 - X0) < 0.12


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "10", None])
def test_bad_n_samples(bad):
    with pytest.raises(ValueError, match="n_samples"):
        make_moons(bad)


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match=r"n_samples must be at least the number of classes \(n_classes=3\)"):
        make_spiral(2)
    with pytest.raises(ValueError, match=r"noise must be a finite number in \[0, 1e100\], got -0.1"):
        make_moons(10, noise=-0.1)
    with pytest.raises(ValueError, match="noise"):
        make_flower(10, noise=float("nan"))
    with pytest.raises(TypeError, match="noise must be a real number"):
        make_spiral(10, noise="0.2")
    with pytest.raises(ValueError, match="factor must lie strictly between 0 and 1, got 1.5"):
        make_circles(10, factor=1.5)
    with pytest.raises(ValueError, match="n_classes must be at least 2"):
        make_spiral(10, n_classes=1)
    with pytest.raises(TypeError, match="rng"):
        make_spiral(10, rng="seed")


def test_load_dataset_registry():
    assert set(DATASETS) == {"spiral", "moons", "circles", "flower"}
    X, y = load_dataset("spiral", n_samples=90, n_classes=5, rng=4)
    X_ref, y_ref = make_spiral(90, n_classes=5, rng=4)
    assert np.array_equal(X, X_ref) and np.array_equal(y, y_ref)
    assert set(np.unique(y)) == set(range(5))
    with pytest.raises(ValueError, match=r"unknown dataset 'spirals'; expected one of 'spiral', 'moons'"):
        load_dataset("spirals")
    with pytest.raises(TypeError, match="factor"):
        load_dataset("moons", factor=0.5)
