"""The course's seeded test cases (``testCases_v2``/``v4``, ``gc_utils``), with the same draws.

Each case draws from a local ``np.random.RandomState(seed)`` in the course's order, so it returns
exactly the course's arrays without touching NumPy's global RNG. Feed them to your own functions
and compare with the expected outputs printed in the assignment (or with ``chainrule.dlai``'s).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "L_model_backward_test_case", "L_model_forward_test_case", "L_model_forward_test_case_2hidden",
    "compute_cost_test_case", "gradient_check_n_test_case", "linear_activation_backward_test_case",
    "linear_activation_forward_test_case", "linear_backward_test_case", "linear_forward_test_case",
    "print_grads", "update_parameters_test_case",
]

_rs = np.random.RandomState


def linear_forward_test_case() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A (3, 2), W (1, 3), b (1, 1). Course output: Z = [[ 3.26295337 -1.23429987]]."""
    r = _rs(1)
    return r.randn(3, 2), r.randn(1, 3), r.randn(1, 1)


def linear_activation_forward_test_case() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A_prev (3, 2), W (1, 3), b (1, 1). Course output: sigmoid A = [[ 0.96890023  0.11013289]],
    relu A = [[ 3.43896131  0.        ]]."""
    r = _rs(2)
    return r.randn(3, 2), r.randn(1, 3), r.randn(1, 1)


def L_model_forward_test_case() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """X (4, 2) and a 2-layer net (3 hidden units). Course output: AL = [[ 0.17007265  0.2524272 ]]."""
    r = _rs(1)
    X = r.randn(4, 2)
    parameters = {"W1": r.randn(3, 4), "b1": r.randn(3, 1), "W2": r.randn(1, 3), "b2": r.randn(1, 1)}
    return X, parameters


def L_model_forward_test_case_2hidden() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """X (5, 4) and a 3-layer net 5-4-3-1. Course output:
    AL = [[ 0.03921668  0.70498921  0.19734387  0.04728177]], 3 caches."""
    r = _rs(6)
    X = r.randn(5, 4)
    names_shapes = [("W1", (4, 5)), ("b1", (4, 1)), ("W2", (3, 4)), ("b2", (3, 1)),
                    ("W3", (1, 3)), ("b3", (1, 1))]
    return X, {k: r.randn(*s) for k, s in names_shapes}


def compute_cost_test_case() -> tuple[np.ndarray, np.ndarray]:
    """Y = [[1, 1, 1]], AL = [[.8, .9, .4]]. Course output: cost = 0.41493159961539694."""
    return np.array([[1, 1, 1]]), np.array([[0.8, 0.9, 0.4]])


def linear_backward_test_case() -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """dZ (1, 2) and ``linear_cache = (A (3, 2), W (1, 3), b (1, 1))``."""
    r = _rs(1)
    dZ = r.randn(1, 2)
    A, W, b = r.randn(3, 2), r.randn(1, 3), r.randn(1, 1)
    return dZ, (A, W, b)


def linear_activation_backward_test_case() -> tuple[np.ndarray, tuple]:
    """dA (1, 2) and ``cache = ((A (3, 2), W (1, 3), b (1, 1)), Z (1, 2))``."""
    r = _rs(2)
    dA = r.randn(1, 2)
    A, W, b = r.randn(3, 2), r.randn(1, 3), r.randn(1, 1)
    Z = r.randn(1, 2)
    return dA, ((A, W, b), Z)


def L_model_backward_test_case() -> tuple[np.ndarray, np.ndarray, list]:
    """AL (1, 2), Y = [[1, 0]] and the caches of a 4-3-1 net (relu then sigmoid)."""
    r = _rs(3)
    AL = r.randn(1, 2)
    Y = np.array([[1, 0]])
    A1, W1, b1, Z1 = r.randn(4, 2), r.randn(3, 4), r.randn(3, 1), r.randn(3, 2)
    A2, W2, b2, Z2 = r.randn(3, 2), r.randn(1, 3), r.randn(1, 1), r.randn(1, 2)
    return AL, Y, [((A1, W1, b1), Z1), ((A2, W2, b2), Z2)]


def update_parameters_test_case() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Parameters drawn after seed 2 and gradients after seed 3, as the course does, for a 4-3-1 net."""
    r = _rs(2)
    parameters = {"W1": r.randn(3, 4), "b1": r.randn(3, 1), "W2": r.randn(1, 3), "b2": r.randn(1, 1)}
    r = _rs(3)
    grads = {"dW1": r.randn(3, 4), "db1": r.randn(3, 1), "dW2": r.randn(1, 3), "db2": r.randn(1, 1)}
    return parameters, grads


def gradient_check_n_test_case() -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """X (4, 3), Y = [1, 1, 0] (1-D, as in the course) and a 4-5-3-1 net, drawn after seed 1 in the
    order x, W1, b1, ..., b3.

    With the course's planted bugs (dW2 doubled, db1 times 4) ``gradient_check_n`` prints
    difference = 0.285093156781; without them 1.18904178766e-07.
    """
    r = _rs(1)
    X = r.randn(4, 3)
    Y = np.array([1, 1, 0])
    names_shapes = [("W1", (5, 4)), ("b1", (5, 1)), ("W2", (3, 5)), ("b2", (3, 1)),
                    ("W3", (1, 3)), ("b3", (1, 1))]
    return X, Y, {k: r.randn(*s) for k, s in names_shapes}


def print_grads(grads: dict[str, np.ndarray]) -> None:
    """Print dW1, db1 and dA1, as the course's ``print_grads`` does after ``L_model_backward``."""
    for key in ("dW1", "db1", "dA1"):
        print(f"{key} = {grads[key]}")
