"""Learning curves, decision boundaries, confusion matrices and sample predictions with matplotlib
(the optional extra ``chainrule[plot]``).

Figures are built with ``matplotlib.figure.Figure`` rather than pyplot, so plotting never changes
the user's backend or global state; files are rendered by Agg and written atomically. A returned
Figure displays inline in Jupyter.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from ._validate import as_float_array
from .io import atomic_write
from .training import History, Model, _model_dtype, predict

if TYPE_CHECKING:  # matplotlib is an optional extra: imported only where a figure is drawn
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def import_matplotlib(module: str = "matplotlib.figure", what: str = "plotting") -> ModuleType:
    """Import ``module`` of matplotlib, the optional extra, with an ``ImportError`` that says how to
    install it (``what`` names the feature that needs it)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f'{what} needs matplotlib; install it with: '
                          'pip install "chainrule[plot]"') from None


def figure_axes(ax: Axes | None, figsize: tuple[float, float], what: str = "plotting") -> tuple[Figure, Axes]:
    """``ax`` and its figure, or a new ``Figure`` with one Axes (a Figure, not pyplot: no global state)."""
    Figure = import_matplotlib(what=what).Figure
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def save_figure(fig: Figure, path: str | os.PathLike | None) -> Figure:
    """Write ``fig`` to ``path`` as PNG, atomically and byte-reproducibly (no software stamp); a
    ``None`` path writes nothing. Returns ``fig``."""
    if path is not None:
        with atomic_write(path) as f:
            fig.savefig(f, format="png", dpi=100, metadata={"Software": None})
    return fig


#: Runs of at most this many epochs get a marker on every epoch's point (a 5-epoch curve is 5 points).
MARKERS_UP_TO = 30


def plot_learning_curve(history: History | Mapping[str, Sequence[float]],
                        path: str | os.PathLike | None = None, ax: Axes | None = None, *,
                        validation_label: str = "validation", title: str | None = None) -> Figure:
    """Plot loss (and accuracy, when recorded) per epoch, training and validation side by side.

    ``history``: a ``History`` or a dict like ``History.history``. ``ax``: draw into this Axes
    (accuracy goes on a twin y-axis); otherwise a new figure with one panel per metric.
    ``validation_label`` names the ``val_*`` curves in the legend ("test" when the validation data
    is the test split). The loss axis is logarithmic when every loss is positive, so one early
    spike does not flatten the rest of the curve. Epochs are whole numbers on the x axis, and a
    short run (at most ``MARKERS_UP_TO`` epochs) marks every epoch's point. ``title``: what was
    trained (e.g. "spiral, MLP 2-64-64-3 (relu)"), shown after "learning curve".
    ``path``: also write the figure there as PNG. Returns the matplotlib Figure.
    """
    Figure = import_matplotlib().Figure
    curves = history.history if isinstance(history, History) else history
    if not isinstance(curves, Mapping) or not curves.get("loss"):
        keys = sorted(curves) if isinstance(curves, Mapping) else []
        raise ValueError("history must be a History or a dict with a non-empty 'loss' list, got "
                         f"{type(history).__name__} with keys {keys}")
    if not isinstance(validation_label, str) or not validation_label:
        raise ValueError(f"validation_label must be a non-empty string, got {validation_label!r}")
    metrics = ["loss"] + (["accuracy"] if curves.get("accuracy") else [])
    epochs = np.arange(1, len(curves["loss"]) + 1)
    if ax is None:
        fig = Figure(figsize=(5.5 * len(metrics), 4), layout="constrained")
        axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    else:
        fig = ax.figure
        axes = [ax] + ([ax.twinx()] if len(metrics) == 2 else [])
    ticker = import_matplotlib("matplotlib.ticker")
    marker = {"marker": "o", "markersize": 3.5} if len(epochs) <= MARKERS_UP_TO else {}
    for axis, metric in zip(axes, metrics, strict=True):
        axis.plot(epochs, curves[metric], label=f"train {metric}", color="C0" if metric == "loss" else "C2",
                  **marker)
        if curves.get(f"val_{metric}"):
            axis.plot(epochs, curves[f"val_{metric}"], label=f"{validation_label} {metric}", linestyle="--",
                      color="C1" if metric == "loss" else "C3", **marker)
        axis.xaxis.set_major_locator(ticker.MaxNLocator(integer=True, min_n_ticks=1))  # no epoch 2.5
        if len(epochs) == 1:  # a lone point spans no range: give the locator one epoch either side
            axis.set_xlim(0.5, 1.5)
        axis.set_xlabel("epoch")
        axis.set_ylabel(metric)
        axis.grid(alpha=0.3)
        axis.legend(loc="best")
    losses = np.concatenate([np.asarray(curves["loss"], float),
                             np.asarray(curves.get("val_loss") or [], float)])
    if np.all(np.isfinite(losses)) and np.all(losses > 0):
        axes[0].set_yscale("log")
        axes[0].set_ylabel("loss (log scale)")
        axes[0].grid(alpha=0.3, which="both")
    if title is not None and (not isinstance(title, str) or not title):
        raise ValueError(f"title must be a non-empty string or None, got {title!r}")
    axes[0].set_title("learning curve" + (f": {title}" if title else ""))
    return save_figure(fig, path)


def _labels_1d(X: np.ndarray, y: object, name: str, x_name: str = "X") -> np.ndarray:
    """``y`` as (N,) matching ``X`` (N, 2); a (N, 1) column is accepted."""
    y = np.asarray(y).reshape(-1) if np.ndim(y) == 2 and np.shape(y)[1] == 1 else np.asarray(y)
    if y.shape != (X.shape[0],):
        raise ValueError(f"{name} must have shape ({X.shape[0]},) to match {x_name}, got {y.shape}")
    return y


def _points(X: object, name: str) -> np.ndarray:
    X = as_float_array(X, name, ndim=2)
    if X.shape[1] != 2 or X.shape[0] == 0:
        raise ValueError(f"{name} must have shape (N, 2) with N >= 1 to draw a decision boundary, "
                         f"got {X.shape}")
    return X


def plot_decision_boundary(model: Model, X: np.ndarray, y: np.ndarray, path: str | os.PathLike | None = None,
                           ax: Axes | None = None, *, resolution: int = 300,
                           test: tuple[np.ndarray, np.ndarray] | None = None,
                           title: str | None = None) -> Figure:
    """Colour the plane by the model's predicted class and scatter the points (X (N, 2), y (N,))
    on top, filled circles with dark edges; ``test=(X_test, y_test)`` adds held-out points as
    hollow triangles. A legend names each class's colour and the train/test markers. Predictions
    use ``chainrule.predict`` on a ``resolution`` x ``resolution`` grid in the model's dtype (X may
    have either float dtype). ``title``: what is shown (e.g. "spiral, MLP 2-64-64-3 (relu)"), after
    "decision boundary". ``path``: also write a PNG. Returns the matplotlib Figure."""
    X = _points(X, "X")
    y = _labels_1d(X, y, "y")
    if test is not None:
        if not isinstance(test, (tuple, list)) or len(test) != 2:
            raise TypeError(f"test must be a pair (X_test, y_test), got {type(test).__name__}")
        X_test = _points(test[0], "test[0]")
        y_test = _labels_1d(X_test, test[1], "test[1]", "test[0]")
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"resolution must be an int >= 2, got {resolution!r}")
    every = X if test is None else np.concatenate([X, X_test])
    lo, hi = every.min(axis=0), every.max(axis=0)
    pad = 0.1 * np.maximum(hi - lo, 1e-9)
    gx = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    gy = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    xx, yy = np.meshgrid(gx, gy)
    # The grid is ours, not the user's data: build it in the model's dtype so a float32 model can
    # be drawn over float64 points.
    grid = np.column_stack([xx.ravel(), yy.ravel()]).astype(_model_dtype(model) or X.dtype)
    zz = predict(model, grid).reshape(xx.shape)
    classes = np.union1d(np.union1d(np.unique(y), np.unique(zz)), [] if test is None else np.unique(y_test))
    fig, ax = figure_axes(ax, (5.5, 5))
    colors = import_matplotlib("matplotlib.colors", "plotting")
    lines = import_matplotlib("matplotlib.lines", "plotting")
    # tab10/tab20: saturated, clearly distinct colours (no pale yellow lost on its own region).
    colormaps = import_matplotlib("matplotlib", "plotting").colormaps
    palette = colormaps["tab10" if len(classes) <= 10 else "tab20"]
    class_colors = [palette(i % palette.N) for i in range(len(classes))]
    cmap = colors.ListedColormap(class_colors)
    index = np.searchsorted(classes, zz)
    ax.contourf(xx, yy, index, levels=np.arange(len(classes) + 1) - 0.5, cmap=cmap, alpha=0.25)
    ax.scatter(X[:, 0], X[:, 1], c=np.searchsorted(classes, y), cmap=cmap, vmin=-0.5,
               vmax=len(classes) - 0.5, s=16, marker="o", edgecolors="0.15", linewidths=0.5)
    if test is not None:
        ax.scatter(X_test[:, 0], X_test[:, 1], marker="^", s=30, facecolors="white", linewidths=1.3,
                   edgecolors=[class_colors[i] for i in np.searchsorted(classes, y_test)])
    handles = [lines.Line2D([], [], linestyle="none", marker="s", markersize=8, color=class_colors[i],
                            label=f"class {c:g}") for i, c in enumerate(classes)]
    if test is not None:
        handles += [lines.Line2D([], [], linestyle="none", marker="o", markersize=5, color="0.5",
                                 markeredgecolor="0.15", label="train"),
                    lines.Line2D([], [], linestyle="none", marker="^", markersize=6, color="0.3",
                                 markerfacecolor="white", markeredgewidth=1.3, label="test")]
    ax.legend(handles=handles, loc="best", fontsize="small", framealpha=0.85)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title("decision boundary" + (f": {title}" if title else ""))
    return save_figure(fig, path)


def _class_labels(y: object, name: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or y.size == 0 or y.dtype.kind not in "iub":
        raise ValueError(f"{name} must be a non-empty 1-D array of integer class labels, got dtype {y.dtype} "
                         f"and shape {y.shape}")
    return y.astype(np.int64)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int | None = None) -> np.ndarray:
    """Counts C (n_classes, n_classes) int64: C[i, j] = how many samples of true class i were
    predicted as class j (scikit-learn's convention: rows are the truth). Labels are 0..n_classes-1;
    ``n_classes`` defaults to the largest label + 1."""
    t, p = _class_labels(y_true, "y_true"), _class_labels(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred must have the same shape, got {t.shape} and {p.shape}")
    k = int(max(t.max(), p.max())) + 1 if n_classes is None else int(n_classes)
    if min(t.min(), p.min()) < 0 or max(t.max(), p.max()) >= k:
        raise ValueError(f"labels must lie in [0, {k - 1}], got values in [{min(t.min(), p.min())}, "
                         f"{max(t.max(), p.max())}]")
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k)


def plot_confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, path: str | os.PathLike | None = None,
                          ax: Axes | None = None, *, n_classes: int | None = None,
                          title: str = "confusion matrix") -> Figure:
    """Draw ``confusion_matrix(y_true, y_pred)`` (rows: true class, columns: predicted) with every
    count written in its cell, the diagonal (correct) in the colour scale and the accuracy in the
    title. ``path``: also write a PNG. Returns the matplotlib Figure."""
    counts = confusion_matrix(y_true, y_pred, n_classes)
    k = counts.shape[0]
    fig, ax = figure_axes(ax, (0.45 * k + 2.6, 0.45 * k + 2.2))
    image = ax.imshow(counts, cmap="Blues", vmin=0)
    fig.colorbar(image, ax=ax, shrink=0.8, label="samples")
    high = counts.max() / 2 if counts.max() else 1
    for i in range(k):
        for j in range(k):
            if counts[i, j] or i == j:
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize="small",
                        color="white" if counts[i, j] > high else ("0.1" if i == j else "C3"))
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    accuracy = np.trace(counts) / counts.sum()
    ax.set_title(f"{title} (accuracy {accuracy:.2%}, {counts.sum()} samples)", fontsize="medium")
    return save_figure(fig, path)


def plot_sample_predictions(images: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray,
                            path: str | os.PathLike | None = None, *,
                            image_shape: tuple[int, int] | None = None, n: int = 24, columns: int = 8,
                            title: str = "sample predictions") -> Figure:
    """A grid of ``n`` images with their predicted and true labels: the misclassified ones first (in
    red, "3 (true 5)"), then correctly classified ones (in the order given). ``images``: (N, H, W), or
    (N, H*W) with ``image_shape=(H, W)`` (a square is assumed when omitted). ``path``: also write a
    PNG. Returns the matplotlib Figure."""
    images = as_float_array(images, "images", ndim=(2, 3))
    t, p = _class_labels(y_true, "y_true"), _class_labels(y_pred, "y_pred")
    if not len(images) == len(t) == len(p):
        raise ValueError(f"images, y_true and y_pred must have one entry per sample, got {len(images)}, "
                         f"{len(t)} and {len(p)}")
    if images.ndim == 2:
        side = int(round(np.sqrt(images.shape[1])))
        shape = image_shape or (side, side)
        if shape[0] * shape[1] != images.shape[1]:
            raise ValueError(f"images of {images.shape[1]} pixels do not fit image_shape {shape}; pass "
                             "image_shape=(height, width)")
        images = images.reshape(len(images), *shape)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    wrong, right = np.flatnonzero(t != p), np.flatnonzero(t == p)
    shown = np.concatenate([wrong[: n], right[: max(n - len(wrong), 0)]])[:n]
    cols = min(columns, len(shown))
    rows = -(-len(shown) // cols)
    Figure = import_matplotlib().Figure
    fig = Figure(figsize=(1.1 * cols, 1.3 * rows + 0.4), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, i in zip(axes.flat, list(shown) + [None] * (rows * cols - len(shown)), strict=True):
        ax.set_axis_off()
        if i is None:
            continue
        ax.imshow(images[i], cmap="gray_r", interpolation="nearest")
        ok = t[i] == p[i]
        ax.set_title(f"{p[i]}" if ok else f"{p[i]} (true {t[i]})", fontsize="small",
                     color="0.1" if ok else "C3")
    fig.suptitle(f"{title}: {len(wrong)} of {len(t)} misclassified; shown first, in red", fontsize="medium")
    return save_figure(fig, path)


__all__ = ["confusion_matrix", "plot_confusion_matrix", "plot_decision_boundary", "plot_learning_curve",
           "plot_sample_predictions"]
