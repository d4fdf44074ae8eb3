"""Toy classification sets generated in code (no download), in row layout.

Every generator has the signature ``(n_samples, *, noise, rng=0, ...) -> (X, y)`` with ``X`` float64
of shape (n_samples, 2) and ``y`` int64 of shape (n_samples,). Points are ordered by class (class 0
first); ``train_test_split`` and ``fit`` shuffle. Classes get ``n_samples // n_classes`` points each,
the first ``n_samples % n_classes`` classes one more. All randomness comes from ``rng`` (a
``numpy.random.Generator`` or an int seed); NumPy's global RNG is never touched.
"""

from __future__ import annotations

import numpy as np

from .._validate import as_rng, check_allocation, check_positive_int, check_real

Generator = np.random.Generator | int | None


def _class_sizes(n_samples: object, n_classes: int) -> list[int]:
    n = check_positive_int(n_samples, "n_samples")
    if n < n_classes:
        raise ValueError(f"n_samples must be at least the number of classes (n_classes={n_classes}) so that "
                         f"every class has a point, got {n}")
    check_allocation((n, 2), np.float64, f"n_samples={n}")
    return [n // n_classes + (j < n % n_classes) for j in range(n_classes)]


def _check_noise(noise: object) -> float:
    # Bounded so that the points stay finite (noise * randn, then sin/cos, never overflow).
    return check_real(noise, "noise", 0.0, 1e100, high_open=False,
                      expected="be a finite number in [0, 1e100]")


def _stack(parts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    X = np.concatenate(parts).astype(np.float64, copy=False)
    y = np.concatenate([np.full(len(p), j, dtype=np.int64) for j, p in enumerate(parts)])
    return X, y


def make_spiral(n_samples: int = 300, *, n_classes: int = 3, noise: float = 0.2,
                rng: Generator = 0) -> tuple[np.ndarray, np.ndarray]:
    """CS231n's spiral: ``n_classes`` arms, radius 0 -> 1, angle noise ``noise``.

    For class j with N points: r = linspace(0, 1, N), t = linspace(4j, 4(j+1), N) + noise * randn(N),
    x = (r sin t, r cos t). Returns X (n_samples, 2) float64 and y (n_samples,) int64.
    """
    k = check_positive_int(n_classes, "n_classes")
    if k < 2:
        raise ValueError(f"n_classes must be at least 2, got {k}")
    sizes, noise, gen = _class_sizes(n_samples, k), _check_noise(noise), as_rng(rng)
    parts = []
    for j, n in enumerate(sizes):
        r = np.linspace(0.0, 1.0, n)
        t = np.linspace(j * 4.0, (j + 1) * 4.0, n) + gen.standard_normal(n) * noise
        parts.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
    return _stack(parts)


def make_moons(n_samples: int = 200, *, noise: float = 0.1,
               rng: Generator = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (as scikit-learn's ``make_moons``) plus Gaussian noise.

    Class 0: (cos s, sin s), class 1: (1 - cos s, 0.5 - sin s), s evenly spaced in [0, pi].
    Returns X (n_samples, 2) float64 and y (n_samples,) int64.
    """
    sizes, noise, gen = _class_sizes(n_samples, 2), _check_noise(noise), as_rng(rng)
    s0, s1 = np.linspace(0.0, np.pi, sizes[0]), np.linspace(0.0, np.pi, sizes[1])
    X, y = _stack([np.column_stack([np.cos(s0), np.sin(s0)]),
                   np.column_stack([1.0 - np.cos(s1), 0.5 - np.sin(s1)])])
    return X + gen.standard_normal(X.shape) * noise, y


def make_circles(n_samples: int = 200, *, noise: float = 0.05, factor: float = 0.5,
                 rng: Generator = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two concentric circles (as scikit-learn's ``make_circles``) plus Gaussian noise.

    Class 0 lies on the unit circle, class 1 on the circle of radius ``factor`` (0 < factor < 1).
    Returns X (n_samples, 2) float64 and y (n_samples,) int64.
    """
    factor = check_real(factor, "factor", 0.0, 1.0, low_open=True, expected="lie strictly between 0 and 1")
    sizes, noise, gen = _class_sizes(n_samples, 2), _check_noise(noise), as_rng(rng)
    parts = []
    for radius, n in zip((1.0, factor), sizes, strict=True):
        s = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
        parts.append(radius * np.column_stack([np.cos(s), np.sin(s)]))
    X, y = _stack(parts)
    return X + gen.standard_normal(X.shape) * noise, y


def make_flower(n_samples: int = 400, *, noise: float = 0.2, radius: float = 4.0,
                rng: Generator = 0) -> tuple[np.ndarray, np.ndarray]:
    """The deep-learning course's planar "flower" (``load_planar_dataset``), in row layout.

    For class j with N points: t = linspace(3.12 j, 3.12 (j+1), N) + noise * randn(N),
    r = radius * sin(4t) + noise * randn(N), x = (r sin t, r cos t): a four-petal rose whose
    petals alternate between the classes. The course uses n_samples=400, noise=0.2, radius=4 and
    returns X (2, 400), Y (1, 400); here X is (n_samples, 2) float64 and y (n_samples,) int64.
    """
    radius = check_real(radius, "radius", 0.0, low_open=True, expected="be a finite number > 0")
    sizes, noise, gen = _class_sizes(n_samples, 2), _check_noise(noise), as_rng(rng)
    parts = []
    for j, n in enumerate(sizes):
        t = np.linspace(j * 3.12, (j + 1) * 3.12, n) + gen.standard_normal(n) * noise
        r = radius * np.sin(4 * t) + gen.standard_normal(n) * noise
        parts.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
    return _stack(parts)
