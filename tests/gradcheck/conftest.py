"""The course's gradient-checking case (seed 000), written out independently of chainrule.

Column layout, exactly as the seed: LINEAR->RELU->LINEAR->RELU->LINEAR->SIGMOID, the course's
cross-entropy cost, and ``backward_propagation_n`` with the two planted bugs (dW2 * 2, db1 * 4).
"""

from types import SimpleNamespace

import numpy as np
import pytest


def course_forward(X, Y, parameters):
    m = X.shape[1]
    W1, b1, W2, b2, W3, b3 = (parameters[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    Z1 = np.dot(W1, X) + b1
    A1 = np.maximum(0, Z1)
    Z2 = np.dot(W2, A1) + b2
    A2 = np.maximum(0, Z2)
    Z3 = np.dot(W3, A2) + b3
    A3 = 1 / (1 + np.exp(-Z3))
    logprobs = np.multiply(-np.log(A3), Y) + np.multiply(-np.log(1 - A3), 1 - Y)
    cost = 1.0 / m * np.sum(logprobs)
    return cost, (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3)


def course_backward(X, Y, cache, bugs=True):
    m = X.shape[1]
    (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = cache
    dZ3 = A3 - Y
    dW3 = 1.0 / m * np.dot(dZ3, A2.T)
    db3 = 1.0 / m * np.sum(dZ3, axis=1, keepdims=True)
    dA2 = np.dot(W3.T, dZ3)
    dZ2 = np.multiply(dA2, np.int64(A2 > 0))
    dW2 = 1.0 / m * np.dot(dZ2, A1.T) * (2 if bugs else 1)
    db2 = 1.0 / m * np.sum(dZ2, axis=1, keepdims=True)
    dA1 = np.dot(W2.T, dZ2)
    dZ1 = np.multiply(dA1, np.int64(A1 > 0))
    dW1 = 1.0 / m * np.dot(dZ1, X.T)
    db1 = (4.0 if bugs else 1.0) / m * np.sum(dZ1, axis=1, keepdims=True)
    return {"dZ3": dZ3, "dW3": dW3, "db3": db3, "dA2": dA2, "dZ2": dZ2, "dW2": dW2, "db2": db2,
            "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1}


@pytest.fixture
def course():
    """The course's test case, drawn like its np.random.seed(1) case from a local RandomState:
    ``course.x`` (4, 3), ``course.y`` [1, 1, 0], ``course.params`` W1..b3, and the seed's
    ``course.forward(X, Y, params)`` and ``course.backward(X, Y, cache, bugs=True)``."""
    r = np.random.RandomState(1)
    x = r.randn(4, 3)
    y = np.array([1, 1, 0])
    params = {}
    for name, shape in (("W1", (5, 4)), ("b1", (5, 1)), ("W2", (3, 5)), ("b2", (3, 1)), ("W3", (1, 3)),
                        ("b3", (1, 1))):
        params[name] = r.randn(*shape)
    return SimpleNamespace(x=x, y=y, params=params, forward=course_forward, backward=course_backward)
