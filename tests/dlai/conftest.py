"""The data point the learner-function checks share."""

import numpy as np
import pytest

from chainrule import dlai


@pytest.fixture(scope="module")
def point():
    """(parameters, X, Y) of a 4-5-3-1 course network where every pre-activation has both signs, so
    relu' and sigmoid' can be told apart and a missing ReLU mask changes the result."""
    rng = np.random.default_rng(11)
    X = rng.standard_normal((4, 8))
    Y = np.array([[1, 0, 1, 1, 0, 0, 1, 0]])
    parameters = dlai.initialize_parameters_deep([4, 5, 3, 1], init="he", rng=13)
    _, caches = dlai.L_model_forward(X, parameters)
    for _, Z in caches:
        assert (Z > 0).any() and (Z < 0).any()
    return parameters, X, Y
