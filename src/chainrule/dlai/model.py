"""The course's models: ``two_layer_model``, ``L_layer_model``, ``predict`` and ``plot_costs``.

Each training loop is the course's: forward, cost, backward, update, full batch, cost printed and
recorded every 100 iterations. If the cost becomes NaN/inf, or the sigmoid output saturates at
exactly 0 or 1 (where the course's dAL is undefined), training stops with a warning naming the
iteration, and the last parameters that gave a finite cost are returned.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from .._validate import as_float_array, check_bool, check_positive_int
from ._arrays import as_course_array, check_examples, labels
from .backward import NonFiniteUpdate, model_backward, update_parameters
from .forward import L_model_forward, compute_cost, model_forward
from .init import RandomSource, initialize_parameters, initialize_parameters_deep

if TYPE_CHECKING:  # matplotlib is an optional extra: imported only where a figure is drawn
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def _saturated(AL: np.ndarray) -> bool:
    return bool(np.any((AL == 0) | (AL == 1)))


def _data(X: object, Y: object, layers_dims: Sequence[int], name: str) -> tuple[np.ndarray, np.ndarray]:
    X = check_examples(as_course_array(X, f"{name}: X"), f"{name}: X")
    Y = labels(Y, X.shape[1], f"{name}: Y")
    if isinstance(layers_dims, (str, bytes)) or not isinstance(layers_dims, Sequence):
        raise TypeError(f"{name}: layers_dims must be a list of layer sizes [n_x, ..., 1], got "
                        f"{type(layers_dims).__name__}")
    dims = list(layers_dims)
    if len(dims) < 2 or dims[0] != X.shape[0] or dims[-1] != 1:
        raise ValueError(f"{name}: layers_dims must start with n_x = {X.shape[0]} (the rows of X) and end "
                         f"with 1 (one sigmoid output), got {dims}")
    return X, Y.astype(X.dtype, copy=False)


def _train(X: np.ndarray, Y: np.ndarray, parameters: dict[str, np.ndarray], learning_rate: float,
           num_iterations: int, print_cost: bool) -> tuple[dict[str, np.ndarray], list[float]]:
    """Both models' loop: forward, cost, backward, update; (parameters, costs every 100 iterations)."""
    num_iterations = check_positive_int(num_iterations, "num_iterations")
    print_cost = check_bool(print_cost, "print_cost")
    costs: list[float] = []
    last_good = parameters
    for i in range(num_iterations):
        try:
            AL, caches = model_forward(X, parameters)
        except ValueError as exc:
            if i == 0 or "non-finite" not in str(exc):
                raise
            warnings.warn(f"iteration {i}: the forward pass overflowed ({exc}): learning_rate="
                          f"{learning_rate!r} is too large; training stopped and the last finite "
                          "parameters are returned", RuntimeWarning, stacklevel=3)
            return last_good, costs
        cost = compute_cost(AL, Y)
        if not np.isfinite(cost):
            warnings.warn(f"the cost became {cost} at iteration {i}; training stopped and the parameters "
                          "of the last finite cost are returned (try a smaller learning_rate)",
                          RuntimeWarning, stacklevel=3)
            return last_good, costs
        if _saturated(AL):
            warnings.warn(f"the sigmoid output reached exactly 0 or 1 at iteration {i}, where the course's "
                          "dAL = -(Y/AL - (1-Y)/(1-AL)) is undefined; training stopped and the current "
                          "parameters are returned (try a smaller learning_rate)",
                          RuntimeWarning, stacklevel=3)
            return parameters, costs
        if i % 100 == 0:
            costs.append(cost)
            if print_cost:
                print(f"Cost after iteration {i}: {cost:f}")
        grads = model_backward(AL, Y, caches)
        try:
            last_good, parameters = parameters, update_parameters(parameters, grads, learning_rate)
        except NonFiniteUpdate as exc:
            warnings.warn(f"iteration {i}: {exc}; training stopped and the last finite parameters are "
                          "returned", RuntimeWarning, stacklevel=3)
            return parameters, costs
    return parameters, costs


def two_layer_model(X: np.ndarray, Y: np.ndarray, layers_dims: Sequence[int], learning_rate: float = 0.0075,
                    num_iterations: int = 3000, print_cost: bool = False, *,
                    rng: int | RandomSource | None = 1, plot: bool | str | os.PathLike = False
                    ) -> tuple[dict[str, np.ndarray], list[float]]:
    """LINEAR -> RELU -> LINEAR -> SIGMOID trained by gradient descent, as in the application assignment.

    X (n_x, m), Y (1, m) of 0/1 labels, ``layers_dims = (n_x, n_h, n_y)`` with n_y = 1. Parameters
    start from ``initialize_parameters`` (``randn * 0.01``, seed ``rng``). Returns the trained
    parameters and the costs recorded every 100 iterations; ``plot`` draws them (see ``L_layer_model``).
    """
    X, Y = _data(X, Y, layers_dims, "two_layer_model")
    if len(layers_dims) != 3:
        raise ValueError(f"two_layer_model: layers_dims must be (n_x, n_h, n_y), got {list(layers_dims)}")
    n_x, n_h, n_y = layers_dims
    parameters = initialize_parameters(n_x, n_h, n_y, rng=rng, dtype=X.dtype)
    result = _train(X, Y, parameters, learning_rate, num_iterations, print_cost)
    return _plotted(result, learning_rate, plot)


def L_layer_model(X: np.ndarray, Y: np.ndarray, layers_dims: Sequence[int], learning_rate: float = 0.0075,
                  num_iterations: int = 3000, print_cost: bool = False, *, init: str = "lecun",
                  rng: int | RandomSource | None = 1, plot: bool | str | os.PathLike = False
                  ) -> tuple[dict[str, np.ndarray], list[float]]:
    """[LINEAR -> RELU] x (L-1) -> LINEAR -> SIGMOID trained by gradient descent.

    X (n_x, m), Y (1, m) of 0/1 labels, ``layers_dims = [n_x, n_1, ..., 1]``. The defaults are the
    application assignment's: ``randn / sqrt(n_{l-1})`` seeded with 1, learning rate 0.0075. With
    ``print_cost`` the cost is printed every 100 iterations. Returns the trained parameters and the
    costs recorded every 100 iterations. ``plot=True`` shows the cost curve as the course does (inline
    in Jupyter, through pyplot); a path writes it there as PNG instead; ``plot_costs`` draws it later.
    """
    X, Y = _data(X, Y, layers_dims, "L_layer_model")
    parameters = initialize_parameters_deep(layers_dims, init=init, rng=rng, dtype=X.dtype)
    result = _train(X, Y, parameters, learning_rate, num_iterations, print_cost)
    return _plotted(result, learning_rate, plot)


def _plotted(result: tuple[dict[str, np.ndarray], list[float]], learning_rate: float,
             plot: bool | str | os.PathLike) -> tuple[dict[str, np.ndarray], list[float]]:
    if plot is True:
        from ..plotting import import_matplotlib

        plt = import_matplotlib("matplotlib.pyplot", what="plot=True")
        fig, ax = plt.subplots(figsize=(5, 4))
        plot_costs(result[1], learning_rate, ax=ax)
        plt.show()
    elif plot is not False:
        plot_costs(result[1], learning_rate, path=plot)
    return result


def predict(X: np.ndarray, y: np.ndarray, parameters: Mapping[str, np.ndarray]) -> np.ndarray:
    """Predict 0/1 labels (AL > 0.5) for X (n_x, m), print the accuracy against y (1, m), and return
    the predictions p (1, m), as the course's ``predict`` does (``print_mislabeled_images`` takes p)."""
    X = check_examples(as_course_array(X, "predict: X"), "predict: X")
    y = labels(y, X.shape[1], "predict: y")
    AL, _ = L_model_forward(X, parameters)
    p = (AL > 0.5).astype(np.float64)
    print("Accuracy: " + str(accuracy(p, y)))
    return p


def accuracy(p: np.ndarray, y: np.ndarray) -> float:
    """Fraction of the m predictions p (1, m) equal to the labels y (1, m)."""
    p = as_course_array(p, "accuracy: p", ndim=(1, 2)).reshape(1, -1)
    check_examples(p, "accuracy: p")
    y = labels(y, p.shape[1], "accuracy: y", of="p")
    return float(np.mean(p == y))


def plot_costs(costs: Sequence[float], learning_rate: float = 0.0075, *, every: int = 100,
               path: str | os.PathLike | None = None, ax: Axes | None = None) -> Figure:
    """The course's cost curve: cost against iterations (one point per ``every`` iterations).

    Draws into ``ax`` if given, else a new matplotlib Figure (shown inline in Jupyter); ``path``
    also writes it as PNG (atomically). Returns the Figure. Needs ``chainrule[plot]``.
    """
    from ..plotting import figure_axes, save_figure

    values = as_float_array(costs, "costs", ndim=1, finite=False)
    every = check_positive_int(every, "every")
    fig, ax = figure_axes(ax, (5, 4), what="plot_costs")
    ax.plot(np.arange(len(values)) * every, values)
    ax.set_ylabel("cost")
    ax.set_xlabel("iterations")
    ax.set_title("Learning rate =" + str(learning_rate))
    return save_figure(fig, path)
