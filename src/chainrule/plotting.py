"""Learning curves and decision boundaries with matplotlib (the optional extra ``chainrule[plot]``).

Figures are built with ``matplotlib.figure.Figure`` rather than pyplot, so plotting never changes
the user's backend or global state; files are rendered by Agg and written atomically. A returned
Figure displays inline in Jupyter.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np

from ._validate import as_float_array
from .io import atomic_write
from .training import History, _model_dtype, predict


def _matplotlib():
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError('plotting needs matplotlib; install it with: '
                          'pip install "chainrule[plot]"') from None
    return Figure


def _finish(fig, path: str | os.PathLike | None):
    if path is not None:
        with atomic_write(path) as f:
            fig.savefig(f, format="png", dpi=100, metadata={"Software": None})
    return fig


def plot_learning_curve(history: History | Mapping[str, Sequence[float]],
                        path: str | os.PathLike | None = None, ax=None):
    """Plot loss (and accuracy, when recorded) per epoch, training and validation side by side.

    ``history``: a ``History`` or a dict like ``History.history``. ``ax``: draw into this Axes
    (accuracy goes on a twin y-axis); otherwise a new figure with one panel per metric.
    ``path``: also write the figure there as PNG. Returns the matplotlib Figure.
    """
    Figure = _matplotlib()
    curves = history.history if isinstance(history, History) else history
    if not isinstance(curves, Mapping) or not curves.get("loss"):
        keys = sorted(curves) if isinstance(curves, Mapping) else []
        raise ValueError("history must be a History or a dict with a non-empty 'loss' list, got "
                         f"{type(history).__name__} with keys {keys}")
    metrics = ["loss"] + (["accuracy"] if curves.get("accuracy") else [])
    epochs = np.arange(1, len(curves["loss"]) + 1)
    if ax is None:
        fig = Figure(figsize=(5.5 * len(metrics), 4), layout="constrained")
        axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    else:
        fig = ax.figure
        axes = [ax] + ([ax.twinx()] if len(metrics) == 2 else [])
    for axis, metric in zip(axes, metrics, strict=True):
        axis.plot(epochs, curves[metric], label=f"train {metric}", color="C0" if metric == "loss" else "C2")
        if curves.get(f"val_{metric}"):
            axis.plot(epochs, curves[f"val_{metric}"], label=f"validation {metric}", linestyle="--",
                      color="C1" if metric == "loss" else "C3")
        axis.set_xlabel("epoch")
        axis.set_ylabel(metric)
        axis.grid(alpha=0.3)
        axis.legend(loc="best")
    axes[0].set_title("learning curve")
    return _finish(fig, path)


def plot_decision_boundary(model, X: np.ndarray, y: np.ndarray, path: str | os.PathLike | None = None,
                           ax=None, *, resolution: int = 300):
    """Colour the plane by the model's predicted class and scatter the points (X (N, 2), y (N,))
    on top. Predictions use ``chainrule.predict`` on a ``resolution`` x ``resolution`` grid in the
    model's dtype (X may have either float dtype). ``path``: also write a PNG. Returns the
    matplotlib Figure."""
    Figure = _matplotlib()
    X = as_float_array(X, "X", ndim=2)
    if X.shape[1] != 2 or X.shape[0] == 0:
        raise ValueError(f"X must have shape (N, 2) with N >= 1 to draw a decision boundary, got {X.shape}")
    y = np.asarray(y).reshape(-1) if np.ndim(y) == 2 and np.shape(y)[1] == 1 else np.asarray(y)
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},) to match X, got {y.shape}")
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"resolution must be an int >= 2, got {resolution!r}")
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.1 * np.maximum(hi - lo, 1e-9)
    gx = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    gy = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    xx, yy = np.meshgrid(gx, gy)
    # The grid is ours, not the user's data: build it in the model's dtype so a float32 model can
    # be drawn over float64 points.
    grid = np.column_stack([xx.ravel(), yy.ravel()]).astype(_model_dtype(model) or X.dtype)
    zz = predict(model, grid).reshape(xx.shape)
    classes = np.union1d(np.unique(y), np.unique(zz))
    if ax is None:
        fig = Figure(figsize=(5.5, 5), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    levels = np.append(classes, classes[-1] + 1) - 0.5
    ax.contourf(xx, yy, zz, levels=levels, cmap="Spectral", alpha=0.35)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="Spectral", vmin=levels[0], vmax=levels[-1], s=12,
               edgecolors="k", linewidths=0.3)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title("decision boundary")
    return _finish(fig, path)


__all__ = ["plot_decision_boundary", "plot_learning_curve"]
